"""The engine's EventBridge contract: the ``Email Request`` detail-type producers put, and the
``Email Status Changed`` event (put for every status change of a tracking item, by the
status-events function reading the table's stream: :mod:`.status_changes` builds the detail)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

EMAIL_REQUEST = "Email Request"
"""``detail-type`` of the events that ask for an email (the bus rule matches it)."""

STATUS_CHANGED = "Email Status Changed"
"""``detail-type`` of the events the engine puts when an email's status changes."""

EMAIL_REQUEST_REJECTED = "Email Request Rejected"
"""``detail-type`` of the event the sender puts when it refuses a request it cannot track
without harming another (its ``emailId`` already names a different request): ``detail`` is a
:class:`RequestRejectedDetail`."""

DEFAULT_STATUS_EVENT_SOURCE = "sesmailengine"
"""``source`` of the ``Email Status Changed`` events unless configured otherwise."""

# Always present in ``detail`` (``null`` when unknown), so consumers can rely on the keys.
_CORE_FIELDS = (
    "eventId",
    "emailId",
    "status",
    "previousStatus",
    "toEmail",
    "templateName",
    "sesMessageId",
    "timestamp",
)


def event_id(email_id: str, status: str) -> str:
    """The id of the event announcing that ``email_id`` reached ``status``: the same for every
    delivery of that change (statuses only move forward, so each is reached once), which lets
    consumers drop repeats (delivery is at least once)."""
    return hashlib.sha256(f"{email_id}\n{status}".encode()).hexdigest()


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, the format of every timestamp we write
    (on tracking items and in event details), so they sort as strings."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StatusChangedDetail(BaseModel):
    """``detail`` of an ``Email Status Changed`` event."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    eventId: str
    """:func:`event_id` of ``emailId`` and ``status``."""
    emailId: str
    status: str
    previousStatus: str | None = None
    toEmail: str | None = None
    templateName: str | None = None
    sesMessageId: str | None = None
    timestamp: str
    statusReason: str | None = None
    metadata: dict[str, Any] | None = None
    scheduledAt: str | None = None
    """Set for ``scheduled``: when the email is due."""
    # Set for bounced and soft_bounced.
    bounceType: str | None = None
    bounceSubType: str | None = None
    diagnosticCode: str | None = None

    def to_detail(self) -> dict[str, Any]:
        """The JSON object for PutEvents: core keys always, the others when set."""
        data = self.model_dump()
        return {
            key: value for key, value in data.items() if key in _CORE_FIELDS or value is not None
        }


class RequestRejectedDetail(BaseModel):
    """``detail`` of an ``Email Request Rejected`` event."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    emailId: str
    source: str | None
    """The rejected request's ``source``, so its producer can find it."""
    reason: str
    """Why, e.g. ``conflict: emailId already used for another request (recipient differs)``."""
