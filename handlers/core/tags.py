"""SES message tags, and the reversible encoding of ``emailId`` into a tag value.

SES tag names and values may contain only ASCII letters, digits, ``_`` and ``-`` (at most
256 characters). An ``emailId`` may also contain ``.`` and ``:``, so its tag value escapes
them with ``_`` as the escape character::

    _  ->  __        .  ->  _d        :  ->  _c

Letters, digits and ``-`` are kept, so ordinary ids (UUIDs, ``order-123``) read the same in
the tag. A 128-character ``emailId`` encodes to at most 256 characters.
"""

from __future__ import annotations

import re

EMAIL_ID_TAG = "emailId"
TEMPLATE_TAG = "templateName"
RESERVED_TAGS = frozenset({EMAIL_ID_TAG, TEMPLATE_TAG})
MAX_CALLER_TAGS = 48
TAG_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""A tag name or value, matched whole (``fullmatch``)."""

_ESCAPES = {"_": "__", ".": "_d", ":": "_c"}
_UNESCAPES = {"_": "_", "d": ".", "c": ":"}


def encode_email_id(email_id: str) -> str:
    """The SES tag value for ``email_id``."""
    return "".join(_ESCAPES.get(char, char) for char in email_id)


def decode_email_id(value: str) -> str:
    """The ``emailId`` a tag value was made from. Raises ValueError on a malformed value."""
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char != "_":
            out.append(char)
            continue
        escaped = next(chars, "")
        if escaped not in _UNESCAPES:
            raise ValueError(f"malformed emailId tag value: {value!r}")
        out.append(_UNESCAPES[escaped])
    return "".join(out)


def message_tags(email_id: str, template_name: str, caller_tags: dict[str, str]) -> list[dict]:
    """The ``EmailTags`` of a SendEmail request: ours first, then the caller's."""
    tags = [
        {"Name": EMAIL_ID_TAG, "Value": encode_email_id(email_id)},
        {"Name": TEMPLATE_TAG, "Value": template_name},
    ]
    tags.extend({"Name": name, "Value": value} for name, value in sorted(caller_tags.items()))
    return tags
