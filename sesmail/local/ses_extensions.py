"""What SES does and the emulator (moto) does not: a configuration set's sending switch.

SES refuses to send under a configuration set whose sending is disabled; the sending brake
relies on that. moto neither stores the switch (`PutConfigurationSetSendingOptions`) nor
enforces it, so local mode and the tests install this small extension.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.sesv2.responses import SESV2Response

_installed = False


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
        name = json.loads(self.body).get("ConfigurationSetName")
        if name and not _sending_enabled(self, name):
            raise SendingPausedException(name)
        return original_send_email(self)

    def get_configuration_set(self: SESV2Response) -> str:
        body = json.loads(original_get_configuration_set(self))
        name = self._get_param("ConfigurationSetName")
        body["SendingOptions"] = {"SendingEnabled": _sending_enabled(self, name)}
        return json.dumps(body)

    SESV2Response.put_configuration_set_sending_options = put_configuration_set_sending_options
    SESV2Response.send_email = send_email
    SESV2Response.get_configuration_set = get_configuration_set
    _installed = True


def _sending_enabled(response: SESV2Response, name: str) -> bool:
    try:
        configuration_set: Any = response.sesv2_backend.get_configuration_set(name)
    except Exception:  # an unknown set: moto does not check it on send either
        return True
    return getattr(configuration_set, "sending_enabled", True)
