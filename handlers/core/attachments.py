"""Attachments: SES's rules for them, checked before anything is claimed or sent.

A request names objects in the attachment bucket (``detail.attachments``); the sender sends
them through SESv2 ``SendEmail`` (``Content.Simple.Attachments``), base64-encoded. What SES
refuses is refused here first, with a reason a person can act on:

- a file type SES blocks (:data:`BLOCKED_EXTENSIONS`, checked when the request is validated);
- a message larger than :data:`MAX_MESSAGE_BYTES` once the attachments are base64-encoded
  (:func:`oversize_reason`, checked with the objects' sizes before the claim).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

# Amazon SES Developer Guide, "Amazon SES unsupported attachment types"
# (https://docs.aws.amazon.com/ses/latest/dg/mime-types.html): SES refuses any message with an
# attachment whose file name ends with one of these.
BLOCKED_EXTENSIONS = frozenset(
    # The guide's list as it reads, so comparing the two stays easy.
    """
    ade adp app asp bas bat cer chm cmd com cpl crt csh der exe fxp gadget hlp hta inf ins isp
    its js jse ksh lib lnk mad maf mag mam maq mar mas mat mau mav maw mda mdb mde mdt mdw mdz
    msc msh msh1 msh2 mshxml msh1xml msh2xml msi msp mst ops pcd pif plg prf prg reg scf scr sct
    shb shs sys ps1 ps1xml ps2 ps2xml psc1 psc2 tmp url vb vbe vbs vps vsmacros vss vst vsw vxd
    ws wsc wsf wsh xnk
    """.split()  # noqa: SIM905
)

MAX_MESSAGE_BYTES = 40_000_000
"""SES API v2 accepts messages of at most 40 MB, attachments included after base64 encoding
(SES Developer Guide, "Working with email attachments"); counted in decimal megabytes, the
lower reading, so a message this check passes is never too large for SES."""
MAX_ATTACHMENTS = 10
"""Attachments per request: a bound of ours (SES sets none besides the size)."""
BASE64_LINE = 76
"""Characters per line of base64 in MIME (RFC 2045), each line ended by CRLF."""


@dataclass(frozen=True)
class AttachmentContent:
    """One attachment as SES is given it."""

    filename: str
    content_type: str
    content: bytes


def blocked_extension(filename: str) -> str | None:
    """The extension (``.exe``) that makes SES refuse ``filename``, else None. Case and the
    trailing dots and spaces Windows ignores do not hide one (``Invoice.EXE.``)."""
    _, dot, extension = filename.rstrip(". ").lower().rpartition(".")
    return f".{extension}" if dot and extension in BLOCKED_EXTENSIONS else None


def encoded_size(raw_bytes: int) -> int:
    """Bytes of ``raw_bytes`` once base64-encoded for MIME, line breaks included."""
    characters = 4 * math.ceil(raw_bytes / 3)
    return characters + 2 * math.ceil(characters / BASE64_LINE)


def message_size(body_parts: Iterable[str], attachment_sizes: Iterable[int]) -> int:
    """An estimate of the sent message's size: the body parts (UTF-8) and every attachment
    base64-encoded. Headers and MIME boundaries add a few hundred bytes at most."""
    body = sum(len(part.encode()) for part in body_parts)
    return body + sum(encoded_size(size) for size in attachment_sizes)


def oversize_reason(size: int) -> str | None:
    """Why a message of ``size`` bytes cannot be sent, else None."""
    if size <= MAX_MESSAGE_BYTES:
        return None
    megabytes = math.ceil(size / 100_000) / 10  # rounded up: never shows "40.0" for 40.01
    return (
        f"message too large: {megabytes:.1f} MB with attachments;"
        f" SES accepts at most {MAX_MESSAGE_BYTES // 1_000_000} MB"
    )
