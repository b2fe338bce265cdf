"""Turns sending on and off: the configuration set in SES and the sender's queue trigger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import clients


@dataclass(frozen=True)
class SendingState:
    ses_sending_enabled: bool
    sender_trigger_state: str
    """The event source mapping's state: `Enabled`, `Disabled`, `Enabling`, `Disabling`..."""

    @property
    def braked(self) -> bool:
        return not self.ses_sending_enabled or self.sender_trigger_state in (
            "Disabled",
            "Disabling",
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "braked": self.braked,
            "sesSendingEnabled": self.ses_sending_enabled,
            "senderTriggerState": self.sender_trigger_state,
        }


class SendingSwitch:
    """Both halves of the brake. Pausing the trigger keeps requests waiting in EmailQueue
    (up to its 14-day retention) instead of failing against a paused configuration set."""

    def __init__(
        self,
        configuration_set: str,
        sender_mapping_uuid: str,
        *,
        ses: Any | None = None,
        lambda_: Any | None = None,
    ) -> None:
        """`ses` and `lambda_` are clients to use instead of the container's (the CLI passes
        its own, for the deployment it targets)."""
        self._configuration_set = configuration_set
        self._mapping = sender_mapping_uuid
        self._ses = ses
        self._lambda = lambda_

    def _ses_client(self) -> Any:
        return self._ses or clients.client("sesv2")

    def _lambda_client(self) -> Any:
        return self._lambda or clients.client("lambda")

    def engage(self) -> SendingState:
        # Stop taking requests first, so none meets the paused configuration set.
        self._lambda_client().update_event_source_mapping(UUID=self._mapping, Enabled=False)
        self._set_ses_sending(False)
        return self.state()

    def release(self) -> SendingState:
        # SES first: the sender must not resume against a configuration set still paused.
        self._set_ses_sending(True)
        self._lambda_client().update_event_source_mapping(UUID=self._mapping, Enabled=True)
        return self.state()

    def state(self) -> SendingState:
        configuration_set = self._ses_client().get_configuration_set(
            ConfigurationSetName=self._configuration_set
        )
        mapping = self._lambda_client().get_event_source_mapping(UUID=self._mapping)
        return SendingState(
            ses_sending_enabled=configuration_set.get("SendingOptions", {}).get(
                "SendingEnabled", True
            ),
            sender_trigger_state=mapping["State"],
        )

    def _set_ses_sending(self, enabled: bool) -> None:
        self._ses_client().put_configuration_set_sending_options(
            ConfigurationSetName=self._configuration_set, SendingEnabled=enabled
        )
