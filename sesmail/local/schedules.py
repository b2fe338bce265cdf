"""EventBridge Scheduler's part in local mode: moto stores schedules but never fires them.

Each pass, every one-time schedule whose `at()` time has come puts its input on its SQS target
and is deleted (`ActionAfterCompletion: DELETE`, what the sender asks for). Schedule times are
wall-clock times, not scaled by `LOCAL_TIME_SCALE`: a request with `sendAt` two minutes ahead
is sent two real minutes later, as a producer would expect when trying it out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

AT_EXPRESSION = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")


def fire_due_schedules(client: Callable[[str], Any]) -> int:
    """Fire every due one-time schedule with an SQS target; returns how many fired."""
    scheduler, sqs = client("scheduler"), client("sqs")
    now = _now()
    fired = 0
    for group in _names(scheduler.list_schedule_groups(), "ScheduleGroups"):
        for name in _names(scheduler.list_schedules(GroupName=group), "Schedules"):
            schedule = scheduler.get_schedule(GroupName=group, Name=name)
            due = _due_at(schedule)
            target = schedule["Target"]
            if due is None or due > now or ":sqs:" not in target["Arn"]:
                continue
            sqs.send_message(QueueUrl=_queue_url(sqs, target["Arn"]), MessageBody=target["Input"])
            if schedule.get("ActionAfterCompletion") == "DELETE":
                scheduler.delete_schedule(GroupName=group, Name=name)
            fired += 1
    return fired


def _now() -> datetime:
    return datetime.now(UTC)


def _names(page: dict[str, Any], key: str) -> list[str]:
    return [entry["Name"] for entry in page.get(key, [])]


def _due_at(schedule: dict[str, Any]) -> datetime | None:
    """When a one-time schedule fires (None for a rate or cron schedule)."""
    match = AT_EXPRESSION.fullmatch(schedule.get("ScheduleExpression", ""))
    if match is None:
        return None
    zone = ZoneInfo(schedule.get("ScheduleExpressionTimezone") or "UTC")
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=zone)


def _queue_url(sqs: Any, arn: str) -> str:
    _, _, _, _, account, name = arn.split(":")
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
