"""What makes two Email Requests the same request, so an ``emailId`` reused for a different
email is caught instead of silently deduplicated.

The sender stores, at claim time, a digest of every request field that changes the mail (or
who asked for it) on the tracking item (``requestFingerprint``), and one short digest per field
(``requestFieldDigests``, :attr:`RequestFingerprint.fields_text`) so a conflict can name what
differs without storing the data itself.
``metadata`` is left out: it travels with the status events but never reaches the recipient.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .models import EmailRequest

FIELD_DIGEST_LENGTH = 16
"""Hex characters kept of each field's sha256: enough to tell values apart, small on the item."""


def _fields(source: str | None, request: EmailRequest) -> dict[str, Any]:
    """The compared fields, by the names a conflict reason uses."""
    return {
        "source": source,
        "recipient": request.to.lower(),
        "templateName": request.template_name,
        "templateData": request.template_data,
        "subject": request.subject,
        "senderOverride": (
            request.sender_override.model_dump(mode="json") if request.sender_override else None
        ),
        "replyTo": request.reply_to,
        "tags": request.tags,
        # Only when present, so requests without sendAt keep the digests stored before.
        **({"sendAt": request.send_at.timestamp()} if request.send_at else {}),
        # Only when present, so requests without attachments keep the digests stored before.
        **(
            {"attachments": [a.model_dump(mode="json") for a in request.attachments]}
            if request.attachments
            else {}
        ),
    }


def _canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


@dataclass(frozen=True)
class RequestFingerprint:
    """The digest of a whole request and of each compared field."""

    digest: str
    """sha256 (hex) of the canonical JSON of every compared field."""
    fields: Mapping[str, str]
    """Compared field → the first :data:`FIELD_DIGEST_LENGTH` hex characters of its sha256."""

    @classmethod
    def of(cls, source: str | None, request: EmailRequest) -> RequestFingerprint:
        fields = _fields(source, request)
        return cls(
            digest=hashlib.sha256(_canonical(fields)).hexdigest(),
            fields={
                name: hashlib.sha256(_canonical(value)).hexdigest()[:FIELD_DIGEST_LENGTH]
                for name, value in fields.items()
            },
        )

    @property
    def fields_text(self) -> str:
        """The field digests as one string (``recipient=<hex> source=<hex> ...``), the form
        kept on the item: a plain string attribute comes back with a failed condition."""
        return " ".join(f"{name}={digest}" for name, digest in self.fields.items())

    @classmethod
    def stored(cls, digest: str, fields_text: str | None) -> RequestFingerprint:
        """The fingerprint kept on an item, from its two attributes."""
        pairs = (pair.partition("=") for pair in (fields_text or "").split())
        return cls(digest, {name: value for name, _, value in pairs})

    def conflict(self, first: RequestFingerprint | None) -> str | None:
        """None when the request that took the ``emailId`` first (``first``) is this same
        request, or is not known; otherwise the ``conflict: ...`` reason naming what differs."""
        if first is None or first.digest == self.digest:
            return None
        differing = [
            name for name, digest in self.fields.items() if first.fields.get(name) != digest
        ]
        verb = "differs" if len(differing) == 1 else "differ"
        detail = f" ({', '.join(differing)} {verb})" if first.fields and differing else ""
        return f"conflict: emailId already used for another request{detail}"
