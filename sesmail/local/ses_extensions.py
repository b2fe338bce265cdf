"""What SES does and the emulator (moto) does not.

- A configuration set's sending switch: SES refuses to send under a configuration set whose
  sending is disabled, and the sending brake relies on that. moto neither stores the switch
  (`PutConfigurationSetSendingOptions`) nor enforces it.
- The whole SendEmail request: moto keeps only the HTML body (and drops attachments), but local
  mode's outbox and its emulated SES events need the text part, headers, attachments, tags and
  configuration set. The request is kept as it arrived: JSON, blobs such as an attachment's
  `RawContent` base64-encoded.

Local mode and the tests install this small extension.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.sesv2 import urls as sesv2_urls
from moto.sesv2.responses import SESV2Response

_installed = False
_lock = threading.Lock()
_sent: list[SentRequest] = []


@dataclass(frozen=True)
class SentRequest:
    """One accepted SESv2 SendEmail call: the id SES gave it and the request as sent."""

    message_id: str
    request: dict[str, Any]
    account: str
    region: str


def take_sent_requests() -> list[SentRequest]:
    """Every SendEmail accepted since the last call, oldest first."""
    with _lock:
        taken = list(_sent)
        _sent.clear()
    return taken


class SendingPausedException(JsonRESTError):
    code = 400

    def __init__(self, configuration_set: str) -> None:
        super().__init__(
            "SendingPausedException",
            f"Sending is paused for configuration set {configuration_set}.",
        )


def install() -> None:
    """Teach moto's SESv2 the sending switch (idempotent)."""
    global _installed
    if _installed:
        return
    original_send_email = SESV2Response.send_email
    original_get_configuration_set = SESV2Response.get_configuration_set

    def put_configuration_set_sending_options(self: SESV2Response) -> str:
        configuration_set = self.sesv2_backend.get_configuration_set(
            self._get_param("ConfigurationSetName")
        )
        configuration_set.sending_enabled = bool(self._get_param("SendingEnabled", False))
        return "{}"

    def send_email(self: SESV2Response) -> str:
        request = json.loads(self.body)
        name = request.get("ConfigurationSetName")
        if name and not _sending_enabled(self, name):
            raise SendingPausedException(name)
        answer = original_send_email(self)
        sent = SentRequest(
            json.loads(answer)["MessageId"], request, self.current_account, self.region
        )
        with _lock:
            _sent.append(sent)
        return answer

    def get_configuration_set(self: SESV2Response) -> str:
        body = json.loads(original_get_configuration_set(self))
        name = self._get_param("ConfigurationSetName")
        body["SendingOptions"] = {"SendingEnabled": _sending_enabled(self, name)}
        return json.dumps(body)

    SESV2Response.put_configuration_set_sending_options = put_configuration_set_sending_options
    # The server routes by these patterns (the in-process mock matches the catch-all).
    sesv2_urls.url_paths[
        "{0}/v2/email/configuration-sets/(?P<ConfigurationSetName>[^/]+)/sending$"
    ] = SESV2Response.dispatch
    SESV2Response.send_email = send_email
    SESV2Response.get_configuration_set = get_configuration_set
    _installed = True


def _sending_enabled(response: SESV2Response, name: str) -> bool:
    try:
        configuration_set: Any = response.sesv2_backend.get_configuration_set(name)
    except Exception:  # an unknown set: moto does not check it on send either
        return True
    return getattr(configuration_set, "sending_enabled", True)
