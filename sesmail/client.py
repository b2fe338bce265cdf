"""`EmailClient`: the typed way for a service to request email.

```python
client = EmailClient(bus_name="sesmailengine-prod", source="com.example.orders")
email_id = client.send(to="ada@example.org", template="welcome", data={"firstName": "Ada"})
```

Requests are validated here with the very model the sender uses, so a bad request fails in
the producer, not silently in the pipeline. Every request gets an `emailId` (yours, or a new
UUID) before it is put, so retrying a put can never send an email twice.
"""

from __future__ import annotations

import functools
import json
import random
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sesmailengine.handlers.aws.schedules import (
    Cancelled,
    NotCancellable,
    OneTimeSchedules,
    cancel_scheduled,
)
from sesmailengine.handlers.aws.tracking import TrackingTable
from sesmailengine.handlers.core.events import EMAIL_REQUEST
from sesmailengine.handlers.core.models import EmailRequest, describe

__all__ = ["Cancelled", "Email", "EmailClient", "NotCancellable"]

MAX_ENTRIES_PER_CALL = 10  # PutEvents' limit
MAX_REQUEST_BYTES = 256 * 1024  # PutEvents' limit for one call, and so for one entry


class InvalidEmailRequest(ValueError):
    """The request would be refused by the sender; the message says which field and why."""


class PutEventsFailed(RuntimeError):
    """Some requests were still refused by EventBridge after every retry."""

    def __init__(self, failures: Mapping[str, str], sent: Sequence[str]) -> None:
        self.failures = dict(failures)  # emailId → error code and message
        self.sent = list(sent)
        details = "; ".join(f"{email_id}: {error}" for email_id, error in failures.items())
        super().__init__(f"{len(failures)} email request(s) were not accepted: {details}")


@dataclass(frozen=True)
class Email:
    """One email request, as `send_many` takes it."""

    to: str
    template: str
    data: Mapping[str, Any] = field(default_factory=dict)
    email_id: str | None = None
    sender: str | Mapping[str, str] | None = None
    """A From address, or `{"email": ..., "name": ...}` (either part alone is fine)."""
    reply_to: str | Sequence[str] | None = None
    subject: str | None = None
    metadata: Mapping[str, Any] | None = None
    tags: Mapping[str, str] | None = None
    send_at: datetime | str | None = None
    """Hold the email until then: an aware datetime, or ISO-8601 text with an offset."""
    attachments: Sequence[Mapping[str, str]] | None = None
    """Objects of the attachment bucket, each `{"key", "filename", "contentType"}`."""

    def detail(self, email_id: str) -> dict[str, Any]:
        """The `Email Request` detail (SESMailEngine's schema), without empty fields."""
        sender = {"email": self.sender} if isinstance(self.sender, str) else self.sender
        detail = {
            "to": self.to,
            "templateName": self.template,
            "templateData": dict(self.data),
            "emailId": email_id,
            "senderOverride": dict(sender) if sender else None,
            "replyTo": self.reply_to
            if isinstance(self.reply_to, str)
            else (list(self.reply_to) if self.reply_to else None),
            "subject": self.subject,
            "metadata": dict(self.metadata) if self.metadata is not None else None,
            "tags": dict(self.tags) if self.tags else None,
            "sendAt": self.send_at.isoformat()
            if isinstance(self.send_at, datetime)
            else self.send_at,
            "attachments": [dict(a) for a in self.attachments] if self.attachments else None,
        }
        return {key: value for key, value in detail.items() if value is not None}


class EmailClient:
    """Puts `Email Request` events on the engine's bus, in AWS or in local mode."""

    def __init__(
        self,
        bus_name: str,
        source: str,
        *,
        events_client: Any | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        max_attempts: int = 5,
        base_delay_seconds: float = 0.2,
        tracking_table: str | None = None,
        schedule_group: str | None = None,
        dynamodb_client: Any | None = None,
        scheduler_client: Any | None = None,
    ) -> None:
        """`tracking_table` and `schedule_group` (stack outputs `trackingTableName`,
        `scheduleGroupName`) are needed only to `cancel`."""
        import boto3

        given = {
            "events": events_client,
            "dynamodb": dynamodb_client,
            "scheduler": scheduler_client,
        }

        @functools.cache
        def client(service: str) -> Any:
            return given[service] or boto3.client(
                service, endpoint_url=endpoint_url, region_name=region
            )

        self._events = client("events")
        self._cancelling = (
            (
                TrackingTable(tracking_table, lambda: client("dynamodb")),
                OneTimeSchedules(schedule_group, client=lambda: client("scheduler")),
            )
            if tracking_table and schedule_group
            else None
        )
        self.bus_name = bus_name
        self.source = source
        self._max_attempts = max_attempts
        self._base_delay = base_delay_seconds

    def send(
        self, to: str, template: str, data: Mapping[str, Any] | None = None, **options: Any
    ) -> str:
        """Request one email; returns its `emailId`. Options: email_id, sender, reply_to,
        subject, metadata, tags, send_at, attachments."""
        return self.send_many([Email(to=to, template=template, data=data or {}, **options)])[0]

    def cancel(self, email_id: str) -> Cancelled:
        """Cancel a scheduled email (status `cancelled`, its schedule deleted; never sent).
        Raises `NotCancellable` when it is not scheduled (already sent, not found...)."""
        if self._cancelling is None:
            raise ValueError("cancel needs tracking_table and schedule_group")
        tracking, schedules = self._cancelling
        return cancel_scheduled(tracking, schedules, email_id, datetime.now(UTC))

    def send_many(self, emails: Iterable[Email]) -> list[str]:
        """Request many emails: validated first (all or nothing), then put 10 per call within
        the 256 KB limit; entries EventBridge refuses are retried with backoff. Returns the
        `emailId`s in order; raises `PutEventsFailed` naming any that were never accepted."""
        entries = [self._entry(email) for email in emails]
        failures: dict[str, str] = {}
        for batch in _batches(entries):
            failures.update(self._put_with_retries(batch))
        sent = [email_id for email_id, _ in entries if email_id not in failures]
        if failures:
            raise PutEventsFailed(failures, sent)
        return [email_id for email_id, _ in entries]

    def validate(self, email: Email) -> None:
        """Raise InvalidEmailRequest if the sender would refuse `email`, as `send_many` does
        before it puts anything."""
        self._entry(email)

    def _entry(self, email: Email) -> tuple[str, dict[str, Any]]:
        email_id = email.email_id or str(uuid.uuid4())
        detail = email.detail(email_id)
        try:
            EmailRequest.model_validate(detail)
        except Exception as error:  # pydantic's ValidationError, from either install layout
            described = describe(error) if hasattr(error, "errors") else str(error)
            raise InvalidEmailRequest(f"email {email_id} to {email.to!r}: {described}") from error
        entry = {
            "Source": self.source,
            "DetailType": EMAIL_REQUEST,
            "Detail": json.dumps(detail, separators=(",", ":"), default=str),
            "EventBusName": self.bus_name,
        }
        if _entry_size(entry) > MAX_REQUEST_BYTES:
            raise InvalidEmailRequest(
                f"email {email_id}: the request is {_entry_size(entry)} bytes; EventBridge "
                f"accepts at most {MAX_REQUEST_BYTES} (send large data by reference)"
            )
        return email_id, entry

    def _put_with_retries(self, batch: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
        pending = batch
        errors: dict[str, str] = {}
        for attempt in range(self._max_attempts):
            if attempt:
                time.sleep(self._base_delay * 2 ** (attempt - 1) * (0.5 + random.random()))
            response = self._events.put_events(Entries=[entry for _, entry in pending])
            if not response.get("FailedEntryCount"):
                return {}
            retry = []
            errors = {}
            # Results come back in request order; only the failed entries are put again.
            for (email_id, entry), result in zip(pending, response["Entries"], strict=True):
                if "ErrorCode" in result:
                    retry.append((email_id, entry))
                    errors[email_id] = f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}"
            pending = retry
        return errors


def _entry_size(entry: Mapping[str, Any]) -> int:
    """PutEvents entry size as AWS computes it (Time would add 14 bytes; we never set it)."""
    return sum(
        len(str(entry.get(key, "")).encode("utf-8")) for key in ("Source", "DetailType", "Detail")
    ) + sum(len(r.encode("utf-8")) for r in entry.get("Resources", []))


def _batches(
    entries: list[tuple[str, dict[str, Any]]],
) -> Iterable[list[tuple[str, dict[str, Any]]]]:
    batch: list[tuple[str, dict[str, Any]]] = []
    size = 0
    for email_id, entry in entries:
        entry_size = _entry_size(entry)
        if batch and (len(batch) == MAX_ENTRIES_PER_CALL or size + entry_size > MAX_REQUEST_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((email_id, entry))
        size += entry_size
    if batch:
        yield batch
