"""Sending through SESv2 ``SendEmail`` (Simple content: subject, HTML and text parts, custom
headers such as ``List-Unsubscribe``, and attachments)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.attachments import AttachmentContent
from ..core.compose import OutgoingEmail
from ..core.errors import Rejected
from . import clients
from .errors import error_code, error_message, translate

# SES refuses this message for good; sending it again would fail the same way.
_REJECTED_CODES = frozenset({"MessageRejected", "BadRequestException", "InvalidParameterValue"})


@dataclass(frozen=True)
class Accepted:
    """SES took the message."""

    message_id: str
    retries: int
    """Attempts the SDK made before this one (its retry of a throttle or a transient error):
    SES asking for fewer sends, though the send went through."""


class SesSender:
    def __init__(
        self, configuration_set: str, client: Callable[[], Any] = lambda: clients.client("sesv2")
    ):
        self.configuration_set = configuration_set
        self._client = client

    def request(
        self, email: OutgoingEmail, attachments: Sequence[AttachmentContent] = ()
    ) -> dict[str, Any]:
        """The SendEmail parameters for ``email``."""
        params: dict[str, Any] = {
            "FromEmailAddress": email.from_header,
            "Destination": {"ToAddresses": [email.to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Html": {"Data": email.html, "Charset": "UTF-8"},
                        "Text": {"Data": email.text, "Charset": "UTF-8"},
                    },
                }
            },
            "EmailTags": [dict(tag) for tag in email.tags],
            "ConfigurationSetName": self.configuration_set,
        }
        if email.headers:
            params["Content"]["Simple"]["Headers"] = [
                {"Name": name, "Value": value} for name, value in email.headers
            ]
        if email.reply_to:
            params["ReplyToAddresses"] = list(email.reply_to)
        if attachments:
            params["Content"]["Simple"]["Attachments"] = [
                {
                    "RawContent": attachment.content,
                    "FileName": attachment.filename,
                    "ContentType": attachment.content_type,
                    "ContentDisposition": "ATTACHMENT",
                    # SES's default, SEVEN_BIT, would mangle binary files.
                    "ContentTransferEncoding": "BASE64",
                }
                for attachment in attachments
            ]
        return params

    def send(self, email: OutgoingEmail, attachments: Sequence[AttachmentContent] = ()) -> Accepted:
        """SES's message id, and the SDK's retries; raises Throttled, Rejected, TransientError
        or the unexpected."""
        try:
            response = self._client().send_email(**self.request(email, attachments))
        except ClientError as error:
            if error_code(error) in _REJECTED_CODES:
                raise Rejected(f"{error_code(error)}: {error_message(error)}") from None
            raise translate(error) from error
        except BotoCoreError as error:
            raise translate(error) from error
        return Accepted(
            str(response["MessageId"]),
            int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0)),
        )

    def max_send_rate(self) -> float:
        """The account's SES sending quota in emails per second (``GetAccount``'s
        ``SendQuota.MaxSendRate``), which every sender of the account and region shares.
        Raises whatever the call raises: the caller paces without it."""
        return float(self._client().get_account()["SendQuota"]["MaxSendRate"])
