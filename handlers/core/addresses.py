"""Address syntax checks, header safety and address redaction. ``email-validator`` is imported
on first use."""

from __future__ import annotations

import re
from email.utils import formataddr

_HEADER_BREAKERS = ("\r", "\n", "\x00")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""C0 and C1 control characters and DEL: a mail client shows them as nothing, or as garbage."""
_BIDI_OVERRIDE = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Bidirectional embeddings, overrides and isolates: they make a subject or a sender's name
read as something else (``\u202egnp.exe`` shows as ``exe.png``)."""
_ADDRESS_LIKE = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")
_WHITESPACE = re.compile(r"\s+")
MAX_ERROR_MESSAGE_LENGTH = 200
"""An AWS error message kept in ``statusReason``, logs and events is cut to this length."""


class HeaderInjection(ValueError):
    """A value that becomes a mail header contains CR, LF or NUL."""


def reject_header_breaks(value: str, field: str) -> str:
    if any(char in value for char in _HEADER_BREAKERS):
        raise HeaderInjection(f"header injection: CR/LF in {field}")
    return value


def check_header_text(value: str, field: str) -> str:
    """Text a reader sees in a header (subject, display names): no CR/LF (header injection),
    no other control character, no bidirectional override; ValueError names the first found."""
    reject_header_breaks(value, field)
    for pattern, kind in ((_CONTROL, "control character"), (_BIDI_OVERRIDE, "bidi override")):
        found = pattern.search(value)
        if found:
            raise ValueError(f"{kind} U+{ord(found.group()):04X} in {field}")
    return value


def redact_addresses(message: str, limit: int = MAX_ERROR_MESSAGE_LENGTH) -> str:
    """``message`` (an AWS error text) fit for ``statusReason``, logs and events: every email
    address replaced by ``[address]``, whitespace runs (newlines) made one space, and cut to
    ``limit`` characters."""
    cleaned = _WHITESPACE.sub(" ", _ADDRESS_LIKE.sub("[address]", message)).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def check_address(value: str, field: str = "address") -> str:
    """The address as SES needs it (7-bit ASCII, domain in Punycode), or ValueError.

    Syntax only: no DNS look-up. Display names are not accepted here.
    """
    reject_header_breaks(value, field)
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise ValueError(f"invalid address in {field}: {error}") from None
    return result.ascii_email or result.normalized


def format_from(address: str, name: str | None) -> str:
    """The From header value: ``address``, or ``"Name" <address>`` with non-ASCII names
    MIME-encoded as SES requires."""
    if not name:
        return address
    check_header_text(name, "sender name")
    return formataddr((name, address), charset="utf-8")
