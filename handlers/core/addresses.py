"""Address syntax checks and header safety. ``email-validator`` is imported on first use."""

from __future__ import annotations

from email.utils import formataddr

_HEADER_BREAKERS = ("\r", "\n", "\x00")


class HeaderInjection(ValueError):
    """A value that becomes a mail header contains CR, LF or NUL."""


def reject_header_breaks(value: str, field: str) -> str:
    if any(char in value for char in _HEADER_BREAKERS):
        raise HeaderInjection(f"header injection: CR/LF in {field}")
    return value


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
    reject_header_breaks(name, "sender name")
    return formataddr((name, address), charset="utf-8")
