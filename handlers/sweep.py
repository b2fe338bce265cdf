"""The stuck-email sweep's run: find emails stuck in ``processing`` and resolve or report each.

1. read today's and yesterday's ``datePartition`` of the ``date-partition-index`` for items
   still ``processing`` whose last claim is older than ``STUCK_AFTER_MINUTES``
   (:mod:`.core.stuck` says why those two days are enough);
2. under ``hold``, write ``unknown`` on each abandoned one, conditional on its expired claim
   (an item the sender or an SES ``Send`` event moved on meanwhile keeps its status);
   everything else is only reported;
3. log each stuck ``emailId`` and emit ``StuckEmails`` (zero included: the alarm reads it).

A write that fails is retried by the next run (or the scheduler's retry, since the run then
raises): every step is idempotent.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from .aws.tracking import TrackingTable
from .core.environment import SweepEnvironment
from .core.metrics import EMAILS_HELD, STUCK_EMAILS
from .core.stuck import (
    Resolution,
    StuckEmail,
    hold_reason,
    partitions,
    resolution,
    stuck_before,
)
from .core.tracking import ConditionFailed, SweepTracking, Written

logger = Logger(service=SweepEnvironment.powertools(os.environ).service_name, child=True)


class SweepFailed(Exception):
    """Some holds could not be written; raised after every email was tried."""


def process_event(event: dict[str, Any], context: Any, metrics: Any) -> dict[str, int]:
    settings = SweepEnvironment.from_env(os.environ)
    return sweep(settings, TrackingTable(settings.tracking_table), datetime.now(UTC), metrics)


def sweep(
    settings: SweepEnvironment, tracking: SweepTracking, now: datetime, metrics: Any
) -> dict[str, int]:
    before = stuck_before(now, settings.stuck_after_minutes)
    found = [
        StuckEmail.from_item(item)
        for partition in partitions(now)
        for item in tracking.processing_before(partition, before)
    ]
    stuck = held = 0
    errors: list[str] = []
    for email in found:
        keys = {
            "emailId": email.email_id,
            "since": email.since,
            "attempts": email.attempts,
            "abandoned": email.abandoned,
        }
        action = resolution(email, settings.ambiguous_send_policy)
        if action is Resolution.REPORT:
            stuck += 1
            logger.warning("email stuck in processing; reported", extra=keys)
            continue
        assert email.claim_token is not None
        reason = hold_reason(settings.stuck_after_minutes)
        result = tracking.hold(email.email_id, email.claim_token, reason, now)
        if isinstance(result, ConditionFailed):
            logger.info(
                "stuck email moved on before the hold", extra=keys | {"status": result.status}
            )
            continue
        stuck += 1
        if isinstance(result, Written):
            held += 1
            logger.warning("email stuck in processing; held as unknown", extra=keys)
        else:
            errors.append(f"{email.email_id}: {result.error}")
            logger.error("could not hold a stuck email", extra=keys | {"error": str(result.error)})
    metrics.add_metric(name=STUCK_EMAILS, unit=MetricUnit.Count, value=stuck)
    metrics.add_metric(name=EMAILS_HELD, unit=MetricUnit.Count, value=held)
    if errors:
        raise SweepFailed(f"{len(errors)} holds failed: {'; '.join(errors)}")
    return {"stuck": stuck, "held": held}
