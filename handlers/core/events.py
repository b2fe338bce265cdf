"""The engine's EventBridge contract: the ``Email Request`` detail-type producers put, and the
``Email Status Changed`` event (one schema for the sender and the feedback processor)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

EMAIL_REQUEST = "Email Request"
"""``detail-type`` of the events that ask for an email (the bus rule matches it)."""

STATUS_CHANGED = "Email Status Changed"
"""``detail-type`` of the events the engine puts when an email's status changes."""

DEFAULT_STATUS_EVENT_SOURCE = "sesmailengine"
"""``source`` of the ``Email Status Changed`` events unless configured otherwise."""

# Always present in ``detail`` (``null`` when unknown), so consumers can rely on the keys.
_CORE_FIELDS = (
    "emailId",
    "status",
    "previousStatus",
    "toEmail",
    "templateName",
    "sesMessageId",
    "timestamp",
)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, the format of every timestamp we write
    (on tracking items and in event details), so they sort as strings."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StatusChangedDetail(BaseModel):
    """``detail`` of an ``Email Status Changed`` event."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    emailId: str
    status: str
    previousStatus: str | None = None
    toEmail: str | None = None
    templateName: str | None = None
    sesMessageId: str | None = None
    timestamp: str
    statusReason: str | None = None
    metadata: dict[str, Any] | None = None
    # Set by the feedback processor for bounces.
    bounceType: str | None = None
    bounceSubType: str | None = None
    diagnosticCode: str | None = None

    def to_detail(self) -> dict[str, Any]:
        """The JSON object for PutEvents: core keys always, the others when set."""
        data = self.model_dump()
        return {
            key: value for key, value in data.items() if key in _CORE_FIELDS or value is not None
        }
