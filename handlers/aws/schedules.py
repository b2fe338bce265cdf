"""One-time EventBridge Scheduler schedules that hold a request until its ``sendAt``, and
cancelling a scheduled email (the one place ``sesmail cancel`` and ``EmailClient.cancel`` use).

A schedule is named after its ``emailId`` (:func:`~handlers.core.schedule.schedule_name`) in
the engine's group, so a redelivered request cannot create a second one (``ConflictException``
means it exists: fine). Its target is EmailQueue, its input the request's SQS body unchanged:
when it fires, the sender receives the request again, finds its ``scheduled`` item and sends.
It deletes itself after firing (``ActionAfterCompletion``), and what it cannot deliver goes to
the email DLQ.

Order, so that nothing is lost or sent twice: the sender writes ``scheduled`` first and creates
the schedule second. A crash between the two leaves the record unconsumed; its redelivery finds
the ``scheduled`` item and creates the schedule again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.environment import ScheduledSends
from ..core.schedule import at_expression, schedule_name
from ..core.statuses import Status
from ..core.tracking import ConditionFailed, WriteError
from . import clients
from .errors import error_code, translate
from .tracking import TrackingTable

SCHEDULE_RETRY_ATTEMPTS = 185
SCHEDULE_MAX_EVENT_AGE_SECONDS = 86_400
"""Scheduler's longest retry: a day of EmailQueue trouble, then the email DLQ (alarmed)."""
CANCEL_REASON = "cancelled before its sendAt"


class OneTimeSchedules:
    """The schedule group's one-time schedules, one per scheduled ``emailId``."""

    def __init__(
        self,
        group: str,
        target: ScheduledSends | None = None,
        client: Callable[[], Any] = lambda: clients.client("scheduler"),
    ) -> None:
        """``target`` is needed to create schedules (the sender), not to delete them."""
        self.group = group
        self._target = target
        self._client = client

    def create(self, email_id: str, at: datetime, body: str) -> None:
        """Schedule ``body`` onto EmailQueue at ``at``; an existing schedule of ``email_id``
        counts as created. Raises the translated error otherwise."""
        assert self._target is not None, "creating a schedule needs its target"
        target: dict[str, Any] = {
            "Arn": self._target.queue_arn,
            "RoleArn": self._target.role_arn,
            "Input": body,
            "RetryPolicy": {
                "MaximumRetryAttempts": SCHEDULE_RETRY_ATTEMPTS,
                "MaximumEventAgeInSeconds": SCHEDULE_MAX_EVENT_AGE_SECONDS,
            },
        }
        if self._target.dead_letter_queue_arn:
            target["DeadLetterConfig"] = {"Arn": self._target.dead_letter_queue_arn}
        try:
            self._client().create_schedule(
                Name=schedule_name(email_id),
                GroupName=self.group,
                Description=f"sesmailengine: send {email_id}"[:512],
                ScheduleExpression=at_expression(at),
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target=target,
            )
        except ClientError as error:
            if error_code(error) != "ConflictException":
                raise translate(error) from error
        except BotoCoreError as error:
            raise translate(error) from error

    def delete(self, email_id: str) -> None:
        """Delete the schedule of ``email_id``; one already gone (fired, or deleted) is fine."""
        try:
            self._client().delete_schedule(Name=schedule_name(email_id), GroupName=self.group)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise translate(error) from error
        except BotoCoreError as error:
            raise translate(error) from error


class NotCancellable(Exception):
    """The email is not ``scheduled`` (any more): the message says what it is."""


@dataclass(frozen=True)
class Cancelled:
    email_id: str
    status: str = Status.CANCELLED.value


def cancel_scheduled(
    tracking: TrackingTable, schedules: OneTimeSchedules, email_id: str, now: datetime
) -> Cancelled:
    """Cancel a scheduled email: ``scheduled`` → ``cancelled`` (conditional, so it cannot race
    its schedule: whichever writes first wins), then delete its schedule. Should the schedule
    still fire (the delete failed), the sender finds ``cancelled`` and sends nothing; calling
    this again finishes the delete."""
    result = tracking.cancel(email_id, CANCEL_REASON, now)
    if isinstance(result, WriteError):
        raise result.error
    if isinstance(result, ConditionFailed):
        if result.item is None:
            raise NotCancellable(f"no email {email_id!r} is tracked (not found)")
        status = result.status
        if status != Status.CANCELLED:
            state = "being sent" if status == Status.PROCESSING else "already " + str(status)
            raise NotCancellable(f"email {email_id!r} is not scheduled: {state}")
    schedules.delete(email_id)
    return Cancelled(email_id)
