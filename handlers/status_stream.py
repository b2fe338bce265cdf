"""The status-events flow: from a batch of the tracking table's stream records to one
``Email Status Changed`` event per status change.

The guarantee is AWS's: every write to the table is a stream record (kept 24 hours), and Lambda
keeps invoking this function from the first record it did not confirm. So a status written by
the sender or the feedback processor is announced even when EventBridge fails at the time; no
writer puts events itself.

1. parse the records (pydantic, once, at the edge) and turn each one's old and new image into
   an event, or nothing (:func:`~handlers.core.status_changes.status_change`);
2. put the events in stream order, ten per ``PutEvents``;
3. at the first call or entry that fails, stop: its record's sequence number is the one
   ``batchItemFailures`` names, so Lambda retries from it (bisecting, then after
   ``maximumRetryAttempts`` sending the batch's description to the on-failure destination).

Order: the stream orders the records of one item, and this function puts them in that order
and never past a failure, so one email's events are put in the order its statuses were
written. A retry puts some events again (the ones after the failed entry in its call, already
accepted); they carry the same ``eventId``, by which consumers drop repeats.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from .aws import clients
from .aws.attributes import python
from .aws.events import MAX_ENTRIES, EventPublisher
from .core.environment import StatusEventsEnvironment
from .core.events import STATUS_CHANGED, StatusChangedDetail
from .core.metrics import STATUS_EVENT_FAILURES, STATUS_EVENTS_PUT
from .core.status_changes import StreamEvent, StreamRecord, status_change

# The entry point's logger, whatever the environment held when this module was imported
# (a child named after an unset service would log nowhere).
logger = Logger(service=StatusEventsEnvironment.powertools(os.environ).service_name, child=True)


@functools.cache
def publisher_for(settings: StatusEventsEnvironment) -> EventPublisher:
    """The publisher lives as long as the container (and its client)."""
    return EventPublisher(settings.event_bus_name, settings.status_event_source, STATUS_CHANGED)


def reset(session: Any = None) -> None:
    """Forget the cached publisher and boto3 clients (for tests); new clients come from
    ``session`` when given."""
    publisher_for.cache_clear()
    clients.reset(session)


def process_event(event: dict[str, Any], context: Any, metrics: Any) -> dict[str, list]:
    """Handle one batch of stream records; returns the partial batch response."""
    settings = StatusEventsEnvironment.from_env(os.environ)
    records = StreamEvent.model_validate(event).Records
    changes = [(record, detail) for record in records if (detail := _change(record))]
    put, failed = _put_in_order(publisher_for(settings), changes)
    metrics.add_metric(name=STATUS_EVENTS_PUT, unit=MetricUnit.Count, value=put)
    metrics.add_metric(
        name=STATUS_EVENT_FAILURES, unit=MetricUnit.Count, value=0 if failed is None else 1
    )
    logger.info(
        "stream batch done",
        extra={"records": len(records), "changes": len(changes), "put": put},
    )
    if failed is None:
        return {"batchItemFailures": []}
    return {"batchItemFailures": [{"itemIdentifier": failed.sequence_number}]}


def _change(record: StreamRecord) -> StatusChangedDetail | None:
    change = record.dynamodb
    return status_change(python(change.OldImage), python(change.NewImage), record.changed_at)


def _put_in_order(
    publisher: EventPublisher, changes: list[tuple[StreamRecord, StatusChangedDetail]]
) -> tuple[int, StreamRecord | None]:
    """Put the events in order, one call at a time, until an entry is not put. Returns how
    many were put before it, and the record of the first event that was not (None: all were).
    Entries of the same call after it may be on the bus already: their retry repeats them
    with the same eventId."""
    for start in range(0, len(changes), MAX_ENTRIES):
        chunk = changes[start : start + MAX_ENTRIES]
        errors = publisher.put([detail.to_detail() for _, detail in chunk])
        for index, error in enumerate(errors):
            if error is not None:
                return start + index, _failed(chunk[index], error)
    return len(changes), None


def _failed(change: tuple[StreamRecord, StatusChangedDetail], reason: str) -> StreamRecord:
    record, detail = change
    logger.warning(
        "could not put the Email Status Changed event; retrying the stream from its record",
        extra={
            "emailId": detail.emailId,
            "status": detail.status,
            "sequenceNumber": record.sequence_number,
            "reason": reason,
        },
    )
    return record
