"""Every email local mode sends, as a person can open it: `.eml` (real MIME, attachments
included) and `.html`."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

from .ses_extensions import SentRequest


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, sent: SentRequest) -> Path:
        """Write the message as SES would send it; returns the `.eml` path."""
        message = mime_message(sent)
        stem = self.folder / _file_stem(sent)
        stem.with_suffix(".eml").write_bytes(bytes(message))
        html = message.get_body(("html",))
        if html is not None:
            stem.with_suffix(".html").write_text(html.get_content())
        return stem.with_suffix(".eml")

    def messages(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))


def mime_message(sent: SentRequest) -> EmailMessage:
    request = sent.request
    simple = request["Content"]["Simple"]
    destination = request.get("Destination", {})
    message = EmailMessage()
    message["From"] = request["FromEmailAddress"]
    message["To"] = ", ".join(destination.get("ToAddresses", []))
    if destination.get("CcAddresses"):
        message["Cc"] = ", ".join(destination["CcAddresses"])
    if request.get("ReplyToAddresses"):
        message["Reply-To"] = ", ".join(request["ReplyToAddresses"])
    message["Subject"] = simple["Subject"]["Data"]
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = f"<{sent.message_id}@email.amazonses.com>"
    for header in simple.get("Headers", []):
        message[header["Name"]] = header["Value"]
    tags = ", ".join(f"{t['Name']}={t['Value']}" for t in request.get("EmailTags", []))
    if tags:
        message["X-SES-MESSAGE-TAGS"] = tags
    if request.get("ConfigurationSetName"):
        message["X-SES-CONFIGURATION-SET"] = request["ConfigurationSetName"]
    body = simple.get("Body", {})
    if "Text" in body:
        message.set_content(body["Text"]["Data"])
    if "Html" in body:
        if "Text" in body:
            message.add_alternative(body["Html"]["Data"], subtype="html")
        else:
            message.set_content(body["Html"]["Data"], subtype="html")
    for attachment in simple.get("Attachments", []):
        _attach(message, attachment)
    return message


def _attach(message: EmailMessage, attachment: dict[str, Any]) -> None:
    """One SESv2 `Attachment` as SES adds it: a part of a `multipart/mixed` message (the
    request carries `RawContent` base64-encoded, as on the wire)."""
    maintype, _, subtype = attachment.get("ContentType", "application/octet-stream").partition("/")
    message.add_attachment(
        base64.b64decode(attachment["RawContent"]),
        maintype=maintype,
        subtype=subtype,
        filename=attachment["FileName"],
        disposition=attachment.get("ContentDisposition", "ATTACHMENT").lower(),
        cid=f"<{attachment['ContentId']}>" if attachment.get("ContentId") else None,
    )


def _file_stem(sent: SentRequest) -> str:
    # Sorted by send time; named by the emailId tag (as the sender encoded it) for finding.
    tag = {t["Name"]: t["Value"] for t in sent.request.get("EmailTags", [])}.get("emailId", "")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", tag or sent.message_id)[:80]
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{safe}"
