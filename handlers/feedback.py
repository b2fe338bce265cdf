"""The feedback processor's loop: from SNS records of SES events to tracking and suppression.

For each record:

1. parse the SES notification (pydantic, once, at the edge); an unreadable one fails;
2. find the email: by the ``emailId`` message tag with a strongly consistent ``GetItem``, else
   through the ``ses-message-id-index``. Not found while the email is younger than
   :data:`~handlers.core.feedback_rules.LOOKUP_GRACE`: the record fails, to be retried (the
   sender may not have written the message id yet, and the index is eventually consistent).
   Older: an email we never sent, logged and counted (``UnknownEmail``);
3. apply it with one conditional write: the status it moves to (computed from the item as read,
   and required to be unchanged), the event's timestamps, the event's key added to
   ``feedbackIds`` (required absent: a replay changes nothing), and for a soft bounce the
   recipients' streak increments, in the same transaction. A concurrent change re-reads the
   item and computes again;
4. finish, idempotently (a replay does it again): suppress hard-bounced and complaining
   recipients and soft-bounce streaks at the threshold, end the streaks of delivered
   recipients.

The status change is announced from the tracking table's stream (:mod:`.status_stream`), not
here: the write in step 3 is all it takes.

Every record is processed; if any failed, the invocation raises at the end, so Lambda retries
it and then the DLQ keeps the event. Reprocessing the records that succeeded is safe: step 3
happens once per event key, step 4 is idempotent.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from .aws import clients
from .aws.suppression import SuppressionList
from .aws.tracking import TrackingTable
from .core.environment import FeedbackEnvironment
from .core.errors import TransientError
from .core.events import iso
from .core.feedback_rules import (
    COUNTERS,
    TIMESTAMP_ATTRIBUTES,
    NotYetVisible,
    immediate_suppressions,
    is_recent,
    next_status,
    status_attributes,
    uncounted,
)
from .core.metrics import (
    BOUNCED,
    CLICKED,
    COMPLAINED,
    DELIVERED,
    DELIVERY_DELAYED,
    ENGAGEMENT_UNCOUNTED,
    FEEDBACK_FAILED,
    OPENED,
    REJECTED,
    RENDERING_FAILED,
    SEND_EVENTS,
    SOFT_BOUNCED,
    SUPPRESSED,
    UNKNOWN_EMAIL,
)
from .core.models import describe
from .core.notifications import (
    Feedback,
    Ignored,
    Kind,
    MalformedFeedback,
    SnsEvent,
    SnsMessage,
    parse_notification,
)
from .core.statuses import SuppressionReason
from .core.streaks import (
    STREAK_TTL,
    entries_up_to,
    streak_entry,
    streak_key,
    streak_length,
    streak_reached,
)
from .core.tracking import (
    ConditionFailed,
    FeedbackUpdate,
    FeedbackWritten,
    StreakIncrement,
    WriteError,
)

# The entry point's logger, whatever the environment held when this module was imported
# (a child named after an unset service would log nowhere).
logger = Logger(service=FeedbackEnvironment.powertools(os.environ).service_name, child=True)

APPLY_ROUNDS = 4
"""Attempts at the tracking write when the item keeps changing under it."""

METRIC_OF: dict[Kind, str] = {
    Kind.SEND: SEND_EVENTS,
    Kind.DELIVERY: DELIVERED,
    Kind.HARD_BOUNCE: BOUNCED,
    Kind.SOFT_BOUNCE: SOFT_BOUNCED,
    Kind.COMPLAINT: COMPLAINED,
    Kind.REJECT: REJECTED,
    Kind.RENDERING_FAILURE: RENDERING_FAILED,
    Kind.DELIVERY_DELAY: DELIVERY_DELAYED,
    Kind.OPEN: OPENED,
    Kind.CLICK: CLICKED,
}
ALWAYS_REPORTED = (
    DELIVERED,
    BOUNCED,
    SOFT_BOUNCED,
    COMPLAINED,
    REJECTED,
    SUPPRESSED,
    UNKNOWN_EMAIL,
    DELIVERY_DELAYED,
)
"""Emitted by every invocation, zero included (a dashboard graphs them); the others only when
they happened: ``RenderingFailed``, ``Opened``, ``Clicked``, ``FeedbackFailed``."""


class FeedbackFailed(Exception):
    """Some records could not be processed; raised after all were tried, so Lambda retries the
    event and then sends it to the DLQ."""


class Adapters:
    """Everything the processor talks to, built from the settings once per container."""

    def __init__(self, settings: FeedbackEnvironment):
        self.tracking = TrackingTable(settings.tracking_table)
        self.suppression = SuppressionList(settings.suppression_table)


@functools.cache
def adapters_for(settings: FeedbackEnvironment) -> Adapters:
    """Adapters live as long as the container (caches, rate bucket, clients)."""
    return Adapters(settings)


def reset(session: Any = None) -> None:
    """Forget cached adapters and boto3 clients (for tests); new clients come from ``session``."""
    adapters_for.cache_clear()
    clients.reset(session)


def process_event(event: dict[str, Any], context: Any, metrics: Any) -> dict[str, int]:
    """Handle one SNS invocation; raises FeedbackFailed if any record failed."""
    settings = FeedbackEnvironment.from_env(os.environ)
    try:
        records = SnsEvent.model_validate(event).Records
    except ValidationError as error:
        raise FeedbackFailed(f"not an SNS event: {describe(error)}") from None
    run = FeedbackRun(settings, adapters_for(settings))
    for record in records:
        run.process(record.Sns)
    run.report(metrics)
    if run.failed:
        raise FeedbackFailed(
            f"{run.failed} of {len(records)} records failed: {'; '.join(run.errors)}"
        )
    return {"records": len(records)}


class FeedbackRun:
    """One invocation's records."""

    def __init__(
        self,
        settings: FeedbackEnvironment,
        adapters: Adapters,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.settings = settings
        self.adapters = adapters
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self.failed = 0
        self.errors: list[str] = []

    def process(self, message: SnsMessage) -> None:
        """Process one record; never raises (failures are counted and reported at the end)."""
        try:
            feedback = parse_notification(message)
        except MalformedFeedback as error:
            self._failed(error, {"snsMessageId": message.MessageId})
            return
        if isinstance(feedback, Ignored):
            logger.info(
                "notification ignored",
                extra={"snsMessageId": message.MessageId, "eventType": feedback.event_type},
            )
            return
        keys = _log_keys(feedback, message)
        try:
            self._handle(feedback, keys)
        except NotYetVisible as error:
            self._failed(error, keys, expected=True)
        except Exception as error:
            self._failed(error, keys)

    # -- steps --------------------------------------------------------------------------------

    def _handle(self, feedback: Feedback, keys: dict[str, Any]) -> None:
        item = self._locate(feedback)
        if item is None:
            self.counts[UNKNOWN_EMAIL] += 1
            logger.info("feedback for an email this engine did not send", extra=keys)
            self._suppress(feedback, email_id=None, keys=keys)
            return
        email_id = str(item["emailId"])
        keys["emailId"] = email_id
        applied = self._apply(feedback, item, keys)
        self._suppress(feedback, email_id, keys)
        if feedback.kind is Kind.SOFT_BOUNCE:
            self._check_streaks(feedback, email_id, keys)
        elif feedback.kind is Kind.DELIVERY:
            self._end_streaks(feedback)
        if applied:
            self.counts[METRIC_OF[feedback.kind]] += 1

    def _locate(self, feedback: Feedback) -> dict[str, Any] | None:
        tracking = self.adapters.tracking
        if feedback.email_id:
            # The sender writes the item before it sends: a strongly consistent miss is final.
            return tracking.get(feedback.email_id)
        item = tracking.find_by_message_id(feedback.ses_message_id)
        if item is None and is_recent(feedback, self.clock()):
            raise NotYetVisible("the email is not found yet; the event will be retried")
        return item

    def _apply(self, feedback: Feedback, item: dict[str, Any], keys: dict[str, Any]) -> bool:
        """Write the event once. Returns whether this call applied it (False: a replay)."""
        email_id = str(item["emailId"])
        for _ in range(APPLY_ROUNDS):
            applied_events = item.get("feedbackIds") or ()
            if feedback.key in applied_events:
                logger.info("feedback already applied (a replay)", extra=keys)
                return False
            if uncounted(feedback.kind, len(applied_events)):
                self.counts[ENGAGEMENT_UNCOUNTED] += 1
                logger.warning(
                    "open or click not counted: the email's item keeps no more event ids",
                    extra=keys | {"appliedEvents": len(applied_events)},
                )
                return False
            update = self._update_for(item, feedback)
            result = self.adapters.tracking.apply_feedback(update)
            if isinstance(result, FeedbackWritten):
                logger.info(
                    "feedback applied",
                    extra=keys
                    | {
                        "status": (update.status or item.get("status")),
                        "previousStatus": item.get("status"),
                        "notConsecutive": len(result.refused) or None,
                    },
                )
                return True
            if isinstance(result, ConditionFailed):
                item = result.item or self.adapters.tracking.get(email_id) or {}
                if not item:
                    raise TransientError("the tracking item disappeared")
                continue
            assert isinstance(result, WriteError)
            raise result.error
        raise TransientError("the tracking item kept changing; the event will be retried")

    def _update_for(self, item: dict[str, Any], feedback: Feedback) -> FeedbackUpdate:
        current = item.get("status")
        status = next_status(current, feedback.status)
        attributes = dict(feedback.attributes)
        if status is not None:
            attributes |= status_attributes(feedback)
        streak: tuple[StreakIncrement, ...] = ()
        if feedback.kind is Kind.SOFT_BOUNCE:
            expires = int((self.clock() + STREAK_TTL).timestamp())
            entry = streak_entry(feedback)
            streak = tuple(
                StreakIncrement(streak_key(address), entry, feedback.timestamp, expires)
                for address in feedback.recipients
            )
        return FeedbackUpdate(
            email_id=str(item["emailId"]),
            key=feedback.key,
            expected_status=current,
            ses_message_id=feedback.ses_message_id,
            status=status,
            changed_at=feedback.timestamp if status is not None else None,
            first_seen={TIMESTAMP_ATTRIBUTES[feedback.kind]: feedback.timestamp},
            attributes=attributes,
            counters={COUNTERS[feedback.kind]: 1} if feedback.kind in COUNTERS else {},
            streak=streak,
        )

    def _suppress(self, feedback: Feedback, email_id: str | None, keys: dict[str, Any]) -> None:
        for address, reason in immediate_suppressions(feedback):
            self._suppress_one(address, reason, email_id, keys)

    def _suppress_one(
        self,
        address: str,
        reason: SuppressionReason,
        email_id: str | None,
        keys: dict[str, Any],
    ) -> None:
        if self.adapters.suppression.suppress(address, reason, iso(self.clock()), email_id):
            self.counts[SUPPRESSED] += 1
            logger.info("recipient suppressed", extra=keys | {"reason": reason.value})
            logger.debug("suppressed address", extra={"emailId": email_id, "address": address})

    def _check_streaks(self, feedback: Feedback, email_id: str, keys: dict[str, Any]) -> None:
        threshold = self.settings.soft_bounce_threshold
        for address in feedback.recipients:
            streak = self.adapters.tracking.get(streak_key(address)) or {}
            length = streak_length(streak.get("softBounces") or (), streak.get("lastDeliveryAt"))
            if streak_reached(length, threshold):
                self._suppress_one(address, SuppressionReason.SOFT_BOUNCE, email_id, keys)

    def _end_streaks(self, feedback: Feedback) -> None:
        """A delivery ends the recipient's streak: soft bounces up to it no longer count. The
        delivery is recorded even without a streak yet, so an older soft bounce that arrives
        later is refused (the outcome does not depend on arrival order)."""
        tracking = self.adapters.tracking
        expires = int((self.clock() + STREAK_TTL).timestamp())
        for address in feedback.recipients:
            key = streak_key(address)
            result = tracking.end_streak(key, feedback.timestamp, expires)
            if isinstance(result, WriteError):
                raise result.error
            if isinstance(result, ConditionFailed):
                continue  # a later delivery is recorded already
            ended = entries_up_to(result.get("softBounces") or (), feedback.timestamp)
            if ended:
                tracking.forget_soft_bounces(key, ended)

    # -- outcomes -----------------------------------------------------------------------------

    def _failed(self, error: Exception, keys: dict[str, Any], expected: bool = False) -> None:
        self.failed += 1
        reason = f"{type(error).__name__}: {error}"
        self.errors.append(reason)
        if expected or isinstance(error, TransientError):
            logger.warning(
                "record failed; the event will be retried", extra=keys | {"reason": reason}
            )
        else:
            logger.error(
                "record failed; the event will be retried, then kept in the DLQ",
                extra=keys | {"reason": reason},
                exc_info=error,
            )

    def report(self, metrics: Any) -> None:
        self.counts[FEEDBACK_FAILED] += self.failed
        for name in ALWAYS_REPORTED:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=self.counts[name])
        for name, value in sorted(self.counts.items()):
            if name not in ALWAYS_REPORTED and value:
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _log_keys(feedback: Feedback, message: SnsMessage) -> dict[str, Any]:
    return {
        "emailId": feedback.email_id,
        "sesMessageId": feedback.ses_message_id,
        "snsMessageId": message.MessageId,
        "eventType": feedback.kind.value,
    }
