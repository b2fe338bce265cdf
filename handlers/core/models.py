"""The records the sender reads, parsed once at the edge.

An SQS record's body is an EventBridge event (``detail-type`` ``Email Request``) whose
``detail`` is an :class:`EmailRequest`. :func:`parse_body` turns a body into one of three
results: a valid request, an invalid one that can still be tracked under an ``emailId``, or an
untrackable body (not JSON, or no usable id) that must be retried into the DLQ.

Patterns validate with ``fullmatch`` (never ``$``, which in Python's ``re`` also accepts a
trailing newline: ``"order-1\n"`` would otherwise be a usable ``emailId``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from .addresses import check_address, check_header_text
from .attachments import MAX_ATTACHMENTS, blocked_extension
from .events import EMAIL_REQUEST
from .nesting import MAX_NESTING_DEPTH, deeper_than, loads_bounded
from .tags import MAX_CALLER_TAGS, RESERVED_TAGS, TAG_PATTERN

EMAIL_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
TEMPLATE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
METADATA_MAX_BYTES = 4096
MAX_REPLY_TO = 50
MAX_SUBJECT_LENGTH = 998
# S3's "safe characters" for object keys, '/' only between non-empty segments.
ATTACHMENT_KEY_PATTERN = re.compile(r"[A-Za-z0-9!_.*'()-]+(?:/[A-Za-z0-9!_.*'()-]+)*")
MAX_ATTACHMENT_KEY_LENGTH = 1024  # S3's limit
MAX_FILENAME_LENGTH = 255  # SESv2's FileName
# RFC 6838 type/subtype, without parameters; SESv2's ContentType takes at most 78 characters.
CONTENT_TYPE_PATTERN = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)
MAX_CONTENT_TYPE_LENGTH = 78


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _none_is_empty(value: Any) -> Any:
    return {} if value is None else value


def matching(pattern: re.Pattern[str], shape: str) -> AfterValidator:
    """A validator accepting strings that ``pattern`` matches whole; ValueError names ``shape``."""

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"must be {shape}")
        return value

    return AfterValidator(check)


def _iso_text(value: Any) -> Any:
    # Only the ISO-8601 text the contract names: pydantic would also take epoch numbers.
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 time with an offset, e.g. 2026-01-01T09:00:00+01:00")
    return value


def _has_offset(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("malformed: needs an offset (Z or +HH:MM), e.g. 2026-01-01T09:00:00Z")
    return value


SendAt = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_has_offset)]


def _not_too_deep(value: Any) -> Any:
    # Checked before anything walks the value recursively (the size check's json.dumps, the
    # renderer, DynamoDB's serializer), which a deep enough value would crash.
    if deeper_than(value, MAX_NESTING_DEPTH):
        raise ValueError(f"nested deeper than {MAX_NESTING_DEPTH} levels")
    return value


Address = Annotated[str, AfterValidator(check_address)]
HeaderText = Annotated[str, AfterValidator(lambda value: check_header_text(value, "header"))]
Nested = AfterValidator(_not_too_deep)


class SenderOverride(BaseModel):
    """``senderOverride``: either part may be given alone."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    email: Address | None = None
    name: Annotated[HeaderText, Field(max_length=256)] | None = None


def _safe_key(key: str) -> str:
    if not ATTACHMENT_KEY_PATTERN.fullmatch(key):
        raise ValueError(
            "must be an S3 key of ASCII letters, digits and !_.*'()- in '/'-separated segments"
        )
    if any(segment in (".", "..") for segment in key.split("/")):
        raise ValueError("must not contain '.' or '..' segments")
    return key


def _plain_filename(filename: str) -> str:
    check_header_text(filename, "filename")
    if "/" in filename or "\\" in filename:
        raise ValueError("must be a file name, without '/' or '\\'")
    if not filename.strip(". "):
        raise ValueError("must name a file")
    extension = blocked_extension(filename)
    if extension:
        raise ValueError(f"file type {extension} is blocked by SES")
    return filename


class AttachmentReference(BaseModel):
    """One of ``attachments``: an object of the attachment bucket and how to present it."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    key: Annotated[
        str, Field(min_length=1, max_length=MAX_ATTACHMENT_KEY_LENGTH), AfterValidator(_safe_key)
    ]
    filename: Annotated[
        str, Field(min_length=1, max_length=MAX_FILENAME_LENGTH), AfterValidator(_plain_filename)
    ]
    content_type: Annotated[
        str,
        Field(max_length=MAX_CONTENT_TYPE_LENGTH),
        matching(CONTENT_TYPE_PATTERN, "a MIME type such as application/pdf"),
    ] = Field(alias="contentType")


class EmailRequest(BaseModel):
    """The ``detail`` of an ``Email Request`` event (SESMailEngine's published schema)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    to: Address
    template_name: Annotated[
        str, matching(TEMPLATE_NAME_PATTERN, "1 to 64 ASCII letters, digits, '_' or '-'")
    ] = Field(alias="templateName")
    template_data: Annotated[dict[str, Any], BeforeValidator(_none_is_empty), Nested] = Field(
        default_factory=dict, alias="templateData"
    )
    email_id: (
        Annotated[
            str, matching(EMAIL_ID_PATTERN, "1 to 128 ASCII letters, digits, '.', '_', ':' or '-'")
        ]
        | None
    ) = Field(default=None, alias="emailId")
    subject: Annotated[HeaderText, Field(min_length=1, max_length=MAX_SUBJECT_LENGTH)] | None = None
    sender_override: SenderOverride | None = Field(default=None, alias="senderOverride")
    reply_to: Annotated[list[Address], BeforeValidator(_one_or_many)] = Field(
        default_factory=list, alias="replyTo", max_length=MAX_REPLY_TO
    )
    metadata: Annotated[dict[str, Any], Nested] | None = None
    send_at: SendAt | None = Field(default=None, alias="sendAt")
    """Hold the request until then (:mod:`.schedule` says what is too early or too late)."""
    tags: Annotated[dict[str, str], BeforeValidator(_none_is_empty)] = Field(default_factory=dict)
    attachments: Annotated[
        list[AttachmentReference], BeforeValidator(lambda value: [] if value is None else value)
    ] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @field_validator("metadata")
    @classmethod
    def _metadata_fits(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(_compact_json(value).encode()) > METADATA_MAX_BYTES:
            raise ValueError(f"metadata is larger than {METADATA_MAX_BYTES} bytes")
        return value

    @field_validator("tags")
    @classmethod
    def _tags_are_ses_tags(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_CALLER_TAGS:
            raise ValueError(f"at most {MAX_CALLER_TAGS} tags")
        for name, tag_value in value.items():
            if name in RESERVED_TAGS:
                raise ValueError(f"tag name {name!r} is reserved")
            if not TAG_PATTERN.fullmatch(name) or not TAG_PATTERN.fullmatch(tag_value):
                raise ValueError(
                    "tag names and values may contain only ASCII letters, digits, '_' and '-'"
                    " (1 to 256 characters)"
                )
        return value


class EventBridgeEnvelope(BaseModel):
    """An EventBridge event as a rule delivers it to SQS. Local emulators may omit
    ``account``, ``region`` or ``time``; the ``detail`` is validated separately."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)

    id: str = Field(min_length=1)
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str | None = None
    region: str | None = None
    time: str | None = None
    detail: dict[str, Any]

    @field_validator("detail_type")
    @classmethod
    def _is_email_request(cls, value: str) -> str:
        if value != EMAIL_REQUEST:
            raise ValueError(f"detail-type must be {EMAIL_REQUEST!r}")
        return value


class SqsRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    messageId: str
    body: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    receiptHandle: str = ""
    eventSourceARN: str = ""
    """The queue the record came from (``arn:aws:sqs:<region>:<account>:<name>``)."""

    @property
    def receive_count(self) -> int:
        try:
            return int(self.attributes.get("ApproximateReceiveCount", 1))
        except (TypeError, ValueError):
            return 1


class SqsEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    Records: list[SqsRecord]


@dataclass(frozen=True)
class ValidRequest:
    email_id: str
    request: EmailRequest
    source: str
    """The envelope's ``source``: who asked for the email."""
    requested_at: datetime | None = None
    """The envelope's ``time`` (when the bus took the request), if it has a readable one."""


@dataclass(frozen=True)
class InvalidRequest:
    """A request that fails validation but can be tracked under ``email_id``."""

    email_id: str
    reason: str
    to_email: str | None
    template_name: str | None


@dataclass(frozen=True)
class Untrackable:
    """A body that names no usable ``emailId``: nothing can record its failure."""

    reason: str


ParsedBody = ValidRequest | InvalidRequest | Untrackable


def parse_body(body: str) -> ParsedBody:
    """Parse one SQS body. Never raises for bad input."""
    try:
        event = loads_bounded(body)
    except (TypeError, ValueError):
        return Untrackable("body is not JSON")
    if not isinstance(event, dict):
        return Untrackable("body is not a JSON object")
    detail = event.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    email_id = _usable_id(detail.get("emailId")) or _usable_id(event.get("id"))
    if email_id is None:
        return Untrackable("neither detail.emailId nor the event id is a usable emailId")

    def invalid(reason: str) -> InvalidRequest:
        return InvalidRequest(
            email_id=email_id,
            reason=reason,
            to_email=_loose_string(detail.get("to"), 320, lower=True),
            template_name=_loose_string(detail.get("templateName"), 128),
        )

    try:
        envelope = EventBridgeEnvelope.model_validate(event)
        request = EmailRequest.model_validate(detail)
    except ValidationError as error:
        return invalid(f"invalid request: {describe(error)}")
    return ValidRequest(
        email_id=email_id,
        request=request,
        source=envelope.source,
        requested_at=_moment(envelope.time),
    )


def describe(error: ValidationError, limit: int = 900) -> str:
    """A short, value-free description of a validation error for ``statusReason``."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "event"
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    text = "; ".join(parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _moment(text: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _usable_id(value: Any) -> str | None:
    return value if isinstance(value, str) and EMAIL_ID_PATTERN.fullmatch(value) else None


def _loose_string(value: Any, limit: int, lower: bool = False) -> str | None:
    """What to record of a field from an invalid request: a non-empty string, truncated."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()[:limit]
    return value.lower() if lower else value


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
