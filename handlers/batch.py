"""The sender's batch loop: from an SQS batch of Email Request events to sent, tracked email.

One pass per batch, each phase batched where AWS allows it:

1. parse every record (pydantic, once, at the edge);
2. collapse records that share an ``emailId`` (the first one wins, the others are consumed);
   hold a request whose ``sendAt`` is ahead (claimed ``scheduled``, then a one-time schedule
   brings it back when due: :mod:`.aws.schedules`); fail one whose ``sendAt`` cannot be kept;
3. look up every recipient in the suppression list (one ``BatchGetItem``);
4. load templates (compiled-template cache) and render; check attachments (sizes only);
5. claim every ``emailId`` (one ``TransactWriteItems``, a condition per item); invalid and
   suppressed requests are written straight to ``failed`` / ``suppressed`` in the same call;
6. send concurrently on a small thread pool, paced by ``MAX_SEND_RATE``, or, unset, by the
   rate the instance finds from the account's SES quota and SES's throttling (:mod:`.core.pacing`);
7. finish the claims (one ``TransactWriteItems``): ``sent``, ``failed``, or released for a retry.

The ``Email Status Changed`` events are not put here: every status written is announced from
the tracking table's stream (:mod:`.status_stream`), so none is lost when EventBridge fails.

Retry versus consume is decided here and only here, from the domain exceptions the adapters
raise: throttling and transient AWS errors, a live claim of another attempt, and anything
unexpected, put the record in ``batchItemFailures`` (its claim released), after setting its
visibility so the retry backs off (:mod:`.core.backoff`); everything that would fail the same
way again is recorded as ``failed`` or ``suppressed`` and consumed. Records that can never
succeed skip the receive budget: a body that cannot be tracked (not JSON, no usable id) is
moved to the email DLQ with its reason; a request whose ``emailId`` already names a different
request is refused with an ``Email Request Rejected`` event. Either is reported for retry when
that move or event fails, never dropped. An expired claim of an attempt that may have sent
follows the ambiguous-send policy: ``resend`` takes it over, ``hold`` writes ``unknown``.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from .aws import clients
from .aws.attachments import AttachmentStore
from .aws.events import EventPublisher
from .aws.parameters import SigningKey
from .aws.queue import RecordQueue
from .aws.schedules import OneTimeSchedules
from .aws.ses import SesSender
from .aws.suppression import SuppressionList
from .aws.templates import TemplateStore
from .aws.tracking import TrackingTable
from .core.addresses import redact_addresses
from .core.attachments import AttachmentContent, message_size, oversize_reason
from .core.backoff import retry_delay
from .core.brand import engine_variables
from .core.compose import OutgoingEmail, compose
from .core.environment import SenderEnvironment
from .core.errors import NotFound, Rejected, TemplateInvalid, Throttled, TransientError
from .core.events import EMAIL_REQUEST_REJECTED, RequestRejectedDetail, iso
from .core.fingerprint import RequestFingerprint
from .core.metrics import (
    EMAIL_ID_CONFLICTS,
    EMAILS_HELD,
    EMAILS_SCHEDULED,
    RECORDS_DEAD_LETTERED,
    SEND_RATE,
    SES_THROTTLES,
)
from .core.models import EmailRequest, InvalidRequest, SqsEvent, SqsRecord, Untrackable, parse_body
from .core.pacing import FALLBACK_QUOTA, AdaptiveRate, Pacer
from .core.ratelimit import TokenBucket
from .core.rendering import RenderFailed, render
from .core.schedule import Refused, SendLater, timing
from .core.statuses import (
    AmbiguousSendPolicy,
    Category,
    Outcome,
    Status,
    Suppression,
    failure_kind,
)
from .core.tracking import (
    Claim,
    ConditionFailed,
    Finish,
    SenderTracking,
    WriteError,
    WriteResult,
    Written,
)
from .core.unsubscribe_tokens import list_unsubscribe_headers, sign, unsubscribe_link

if TYPE_CHECKING:
    from .core.compiling import CompiledTemplate

# The entry point's logger, whatever the environment held when this module was imported
# (a child named after an unset service would log nowhere).
logger = Logger(service=SenderEnvironment.powertools(os.environ).service_name, child=True)

MAX_SEND_THREADS = 10
HOLD_REASON = "previous attempt ended without a result; not resent (ambiguousSendPolicy=hold)"
DEADLINE_MARGIN_MS = 5_000
"""A send does not start with less than this left before the Lambda timeout."""


class Adapters:
    """Everything the batch talks to, built from the settings once per container."""

    def __init__(self, settings: SenderEnvironment):
        self.tracking: SenderTracking = TrackingTable(settings.tracking_table)
        self.suppression = SuppressionList(settings.suppression_table)
        self.templates = TemplateStore(
            settings.template_bucket, settings.template_cache_ttl_seconds
        )
        self.ses = SesSender(settings.configuration_set)
        self.attachments = (
            AttachmentStore(settings.attachment_bucket) if settings.attachment_bucket else None
        )
        self.rate = _pacer(settings, self.ses)
        self.queue = RecordQueue(settings.email_dead_letter_queue_url)
        scheduling = settings.scheduling
        self.schedules = OneTimeSchedules(scheduling.group, scheduling) if scheduling else None
        self.rejections = EventPublisher(
            settings.event_bus_name, settings.status_event_source, EMAIL_REQUEST_REJECTED
        )
        self.signing_key = (
            SigningKey(settings.unsubscribe.key_parameter) if settings.unsubscribe else None
        )


def _pacer(settings: SenderEnvironment, ses: SesSender) -> Pacer:
    """An explicit ``MAX_SEND_RATE`` is kept whatever SES answers; unset, the instance finds
    its rate from the account's quota and SES's throttling."""
    if settings.max_send_rate is not None:
        return TokenBucket(settings.max_send_rate)

    def quota() -> float | None:
        try:
            return ses.max_send_rate()
        except Exception as error:  # the documented fallback: pace from FALLBACK_QUOTA
            logger.warning(
                "the account's SES quota is unavailable (GetAccount); pacing from the "
                "fallback quota and SES's throttling",
                extra={"fallbackQuota": FALLBACK_QUOTA, "error": repr(error)},
            )
            return None

    return AdaptiveRate(quota, settings.maximum_concurrency or 1)


@functools.cache
def adapters_for(settings: SenderEnvironment) -> Adapters:
    """Adapters live as long as the container (caches, rate bucket, clients)."""
    return Adapters(settings)


def reset(session: Any = None) -> None:
    """Forget cached adapters, compiled templates and boto3 clients (for tests); new clients
    come from ``session`` when given."""
    adapters_for.cache_clear()
    clients.reset(session)


def process_event(event: dict[str, Any], context: Any, metrics: Any) -> dict[str, list]:
    """Handle one SQS event; returns the partial batch response."""
    settings = SenderEnvironment.from_env(os.environ)
    records = SqsEvent.model_validate(event).Records
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    run = BatchRun(records, settings, adapters_for(settings), remaining)
    run.execute()
    run.report(metrics)
    return {
        "batchItemFailures": [{"itemIdentifier": entry.record.messageId} for entry in run.failures]
    }


@dataclass
class Untracked:
    """A record whose body names no usable ``emailId``: nothing can record its failure, so it
    is moved to the email DLQ (``dead_lettered``), or reported while that fails."""

    record: SqsRecord
    reason: str
    outcome: Outcome = Outcome.UNTRACKABLE
    email_id: ClassVar[None] = None


@dataclass(frozen=True)
class Parsed:
    """What parsing established about a record whose body names a usable ``emailId``."""

    record: SqsRecord
    email_id: str
    to_email: str | None
    template_name: str | None
    request: EmailRequest | None
    """None when the request is invalid (``invalid`` says why)."""
    invalid: str | None = None
    source: str | None = None
    """The envelope's ``source`` (valid requests)."""
    fingerprint: RequestFingerprint | None = None
    """What the request is, to tell a redelivery from another request reusing the id."""
    requested_at: datetime | None = None
    """When the bus took the request (the envelope's ``time``), for ``sendAt``."""

    @classmethod
    def of(cls, record: SqsRecord) -> Parsed | Untracked:
        parsed = parse_body(record.body)
        if isinstance(parsed, Untrackable):
            return Untracked(record, parsed.reason)
        if isinstance(parsed, InvalidRequest):
            return cls(
                record, parsed.email_id, parsed.to_email, parsed.template_name, None, parsed.reason
            )
        request = parsed.request
        return cls(
            record,
            parsed.email_id,
            request.to.lower(),
            request.template_name,
            request,
            source=parsed.source,
            fingerprint=RequestFingerprint.of(parsed.source, request),
            requested_at=parsed.requested_at,
        )


class Item:
    """One tracked record on its way through the batch: what parsing found, and progress."""

    __slots__ = (
        "claimed",
        "email",
        "intended",
        "outcome",
        "parsed",
        "reason",
        "send_at",
        "ses_message_id",
        "suppression",
        "template",
    )

    def __init__(self, parsed: Parsed):
        self.parsed = parsed
        self.intended = Status.FAILED if parsed.request is None else Status.PROCESSING
        """The status this record is heading for: processing, failed or suppressed."""
        self.reason: str | None = parsed.invalid
        self.suppression: Suppression | None = None
        self.template: CompiledTemplate | None = None
        self.email: OutgoingEmail | None = None
        self.claimed = False
        self.ses_message_id: str | None = None
        self.outcome: Outcome | None = None
        self.send_at: datetime | None = None
        """When a ``scheduled`` record is due."""

    @property
    def record(self) -> SqsRecord:
        return self.parsed.record

    @property
    def email_id(self) -> str:
        return self.parsed.email_id

    @property
    def to_email(self) -> str | None:
        return self.parsed.to_email

    @property
    def template_name(self) -> str | None:
        return self.parsed.template_name

    @property
    def request(self) -> EmailRequest | None:
        return self.parsed.request

    @property
    def fingerprint(self) -> RequestFingerprint | None:
        return self.parsed.fingerprint

    @property
    def open(self) -> bool:
        return self.outcome is None

    def fail(self, reason: str) -> None:
        self.intended, self.reason = Status.FAILED, reason


class BatchRun:
    """One invocation's batch, phase by phase."""

    def __init__(
        self,
        records: list[SqsRecord],
        settings: SenderEnvironment,
        adapters: Adapters,
        remaining_ms: Callable[[], int] | None = None,
    ):
        self.settings = settings
        self.adapters = adapters
        self.remaining_ms = remaining_ms
        self.token = uuid.uuid4().hex
        """The claim token of this invocation."""
        self.records = records
        self.entries: list[Item | Untracked] = []
        """Every record, in order, once parsed."""
        self.items: list[Item] = []
        """The records that can be tracked."""
        self.render_ms: list[float] = []
        self.ses_ms: list[float] = []
        self.ses_throttled: list[str] = []
        """The emailIds SES refused for the account's sending rate (retried)."""
        self.tracking_write_failures = 0
        self.rejections: dict[str, RequestRejectedDetail] = {}
        """emailId → the rejection to put for the item concluded ``conflict``."""
        self.to_schedule: list[tuple[Item, bool]] = []
        """Records claimed ``scheduled`` whose schedule to create: (item, claimed just now)."""

    @property
    def failures(self) -> list[Item | Untracked]:
        return [entry for entry in self.entries if entry.outcome and not entry.outcome.consumed]

    # -- phases -------------------------------------------------------------------------------

    def execute(self) -> None:
        self._parse()
        self._dead_letter()
        self._collapse_duplicates()
        self._check_send_at()
        self._check_suppression()
        self._load_templates()
        self._render()
        self._check_attachments()
        self._claim()
        self._schedule()
        self._send()
        self._finish()
        self._reject_conflicts()
        self._back_off()

    def _parse(self) -> None:
        for record in self.records:
            parsed = Parsed.of(record)
            if isinstance(parsed, Untracked):
                self.entries.append(parsed)
                continue
            item = Item(parsed)
            self.entries.append(item)
            self.items.append(item)

    def _dead_letter(self) -> None:
        """Untrackable records would fail the same way on every receive: they go to the DLQ
        now, with their reason, instead of using up the receive budget."""
        for entry in self.entries:
            if not isinstance(entry, Untracked):
                continue
            keys = {"sqsMessageId": entry.record.messageId, "reason": entry.reason}
            try:
                self.adapters.queue.dead_letter(entry.record, entry.reason)
            except Exception as error:
                logger.error(
                    "record cannot be tracked nor moved to the DLQ; reporting it for retry",
                    extra={**keys, "outcome": entry.outcome.value, "error": str(error)},
                )
                continue
            entry.outcome = Outcome.DEAD_LETTERED
            logger.error(
                "record cannot be tracked; moved to the DLQ",
                extra={**keys, "outcome": entry.outcome.value},
            )

    def _collapse_duplicates(self) -> None:
        first: dict[str, Item] = {}
        for item in self._open():
            earlier = first.setdefault(item.email_id, item)
            if earlier is item:
                continue
            conflict = _conflict(item, earlier.fingerprint)
            if conflict:
                self._reject(item, conflict)
            else:
                self._conclude(item, Outcome.DUPLICATE, "same emailId earlier in this batch")

    def _check_send_at(self) -> None:
        """A request whose ``sendAt`` is ahead is held ``scheduled``; one too far in the past
        or the future fails (:mod:`.core.schedule`). The rest is checked when it is sent."""
        now = _now()
        for item in self._open(Status.PROCESSING):
            assert item.request is not None
            decision = timing(item.request.send_at, item.parsed.requested_at, now)
            if isinstance(decision, Refused):
                item.fail(decision.reason)
            elif isinstance(decision, SendLater):
                if self.adapters.schedules is None:
                    item.fail("sendAt is ahead but scheduled sends are off (no SCHEDULE_GROUP)")
                else:
                    item.intended, item.send_at = Status.SCHEDULED, decision.at

    def _check_suppression(self) -> None:
        candidates = self._open(Status.PROCESSING)
        if not candidates:
            return
        try:
            found = self.adapters.suppression.lookup(item.to_email or "" for item in candidates)
        except Exception as error:
            for item in candidates:
                self._retry(item, error)
            return
        for item in candidates:
            address = item.to_email or ""
            if address in found.unresolved:
                self._retry(item, Throttled("suppression look-up unprocessed"))
            elif address in found.suppressions:
                item.suppression = found.suppressions[address]
                # Before the template is known: only what stops every email applies now.
                _suppress_if_blocked(item, Category.TRANSACTIONAL)

    def _load_templates(self) -> None:
        loaded: dict[str, CompiledTemplate | Exception] = {}
        for item in self._open(Status.PROCESSING):
            assert item.request is not None
            name = item.request.template_name
            if name not in loaded:
                try:
                    loaded[name] = self.adapters.templates.get(name)
                except Exception as error:
                    loaded[name] = error
            result = loaded[name]
            if isinstance(result, NotFound):
                item.fail(str(result))
            elif isinstance(result, TemplateInvalid):
                item.fail(f"template invalid: {result}")
            elif isinstance(result, Exception):
                self._retry(item, result)
            else:
                item.template = result
                _suppress_if_blocked(item, result.category, result.topic)

    def _render(self) -> None:
        now = _now()
        for item in self._open(Status.PROCESSING):
            assert item.request is not None and item.template is not None
            started = time.perf_counter()
            try:
                unsubscribe_url, headers = self._unsubscribe(item, now)
                rendered = render(
                    item.template,
                    item.request.template_data,
                    engine_variables(self.settings.brand, now, unsubscribe_url),
                )
                item.email = compose(
                    item.email_id,
                    item.request,
                    rendered,
                    self.settings.default_sender_email,
                    self.settings.default_sender_name,
                    headers,
                )
            except RenderFailed as error:
                item.fail(error.reason)
            except Exception as error:
                self._retry(item, error)
            finally:
                self.render_ms.append((time.perf_counter() - started) * 1000)

    def _check_attachments(self) -> None:
        """What SES would refuse about an email's attachments fails it before the claim: an
        object missing from the attachment bucket, or a message over SES's size limit. Only
        sizes are read here; the content is read when the email is sent."""
        for item in self._open(Status.PROCESSING):
            assert item.request is not None and item.email is not None
            if not item.request.attachments:
                continue
            if self.adapters.attachments is None:
                item.fail("attachments are not enabled: ATTACHMENT_BUCKET is not set")
                continue
            try:
                sizes = [self.adapters.attachments.size(a.key) for a in item.request.attachments]
            except NotFound as error:
                item.fail(str(error))
                continue
            except Exception as error:
                self._retry(item, error)
                continue
            body = (item.email.subject, item.email.html, item.email.text)
            too_large = oversize_reason(message_size(body, sizes))
            if too_large:
                item.fail(too_large)

    def _unsubscribe(
        self, item: Item, now: datetime
    ) -> tuple[str | None, tuple[tuple[str, str], ...]]:
        """For marketing mail: the signed unsubscribe link and the RFC 8058 headers."""
        assert item.template is not None
        if item.template.category is not Category.MARKETING:
            return None, ()
        config = self.settings.unsubscribe
        if config is None or self.adapters.signing_key is None:
            raise RenderFailed(
                "marketing templates need the unsubscribe endpoint (UNSUBSCRIBE_URL is not set)"
            )
        token = sign(
            self.adapters.signing_key.get(),
            item.to_email or "",
            item.template.topic,
            now + timedelta(days=config.token_days),
        )
        headers = list_unsubscribe_headers(config.url, config.mailto, token)
        return unsubscribe_link(config.url, token), headers

    def _claim(self) -> None:
        items = self._open()
        if not items:
            return
        claims = [
            Claim(
                email_id=item.email_id,
                status=item.intended,
                to_email=item.to_email,
                template_name=item.template_name,
                metadata=item.request.metadata if item.request else None,
                reason=item.reason,
                fingerprint=item.fingerprint,
                scheduled_at=item.send_at,
            )
            for item in items
        ]
        now = _now()
        results = self.adapters.tracking.claim(
            claims,
            self.token,
            now,
            self.settings.claim_timeout_seconds,
            self.settings.tracking_ttl_days,
            take_over_expired=self.settings.ambiguous_send_policy is AmbiguousSendPolicy.RESEND,
        )
        for item in items:
            result = results.get(item.email_id)
            if isinstance(result, Written):
                if item.intended is Status.PROCESSING:
                    item.claimed = True
                elif item.intended is Status.SCHEDULED:
                    self.to_schedule.append((item, True))
                else:
                    self._record_final(item, item.intended)
            elif isinstance(result, ConditionFailed):
                self._taken(item, result, now)
            else:
                error = (
                    result.error if isinstance(result, WriteError) else RuntimeError("no result")
                )
                self._retry(item, error)

    def _taken(self, item: Item, taken: ConditionFailed, now: datetime) -> None:
        """The claim found the ``emailId`` taken: by a different request (refused), by this
        request in a final status (a duplicate), by a live attempt (retried: with a claim that
        outlives the visibility timeout this is often a send waiting for its SES event), or,
        under ``hold``, by an attempt whose claim expired without a result."""
        conflict = _conflict(item, taken.fingerprint)
        if conflict:
            self._reject(item, conflict)
        elif item.intended is Status.SCHEDULED and taken.status == Status.SCHEDULED:
            # Redelivered: the first attempt may have died before creating the schedule.
            self.to_schedule.append((item, False))
        elif taken.status not in (None, Status.PROCESSING):
            self._conclude(item, Outcome.DUPLICATE, f"already {taken.status}")
        elif (
            self.settings.ambiguous_send_policy is AmbiguousSendPolicy.HOLD
            and taken.claim_token is not None
            and not taken.claim_live(now)
        ):
            self._hold(item, taken.claim_token, now)
        else:
            self._retry(item, TransientError("emailId is claimed by another attempt"))

    def _hold(self, item: Item, claim_token: str, now: datetime) -> None:
        result = self.adapters.tracking.hold(item.email_id, claim_token, HOLD_REASON, now)
        if isinstance(result, Written):
            item.reason = HOLD_REASON
            self._conclude(item, Outcome.HELD, HOLD_REASON)
        elif isinstance(result, ConditionFailed):
            # Another attempt held or took it first: the next receive sees what it wrote.
            self._retry(item, TransientError("the expired claim changed before it was held"))
        else:
            self._retry(item, result.error)

    def _schedule(self) -> None:
        """Create the one-time schedule of each record claimed ``scheduled`` (its body is the
        schedule's input); an existing one is fine. A failure retries the record, whose
        redelivery finds the ``scheduled`` item and creates the schedule again."""
        schedules = self.adapters.schedules
        for item, claimed_now in self.to_schedule:
            assert schedules is not None and item.send_at is not None
            try:
                schedules.create(item.email_id, item.send_at, item.record.body)
            except Exception as error:
                self._retry(item, error)
                continue
            if claimed_now:
                self._conclude(item, Outcome.SCHEDULED, None, scheduledAt=iso(item.send_at))
            else:
                self._conclude(item, Outcome.DUPLICATE, "already scheduled")

    def _send(self) -> None:
        items = [item for item in self._open(Status.PROCESSING) if item.claimed]
        if not items:
            return
        if len(items) == 1:
            results = [self._send_one(items[0])]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(MAX_SEND_THREADS, len(items))) as pool:
                results = list(pool.map(self._send_one, items))
        for item, result in zip(items, results, strict=True):
            if isinstance(result, str):
                item.ses_message_id = result
            elif isinstance(result, Rejected):
                item.fail(f"rejected by SES: {result}")
            elif isinstance(result, NotFound):  # an attachment deleted since it was checked
                item.fail(str(result))
            else:
                self._retry(item, result)

    def _send_one(self, item: Item) -> str | Exception:
        """Runs on a pool thread: returns the message id or the error, never raises."""
        assert item.email is not None
        try:
            attachments = self._read_attachments(item)
        except Exception as error:
            return error
        self.adapters.rate.acquire()
        if self.remaining_ms is not None and self.remaining_ms() < DEADLINE_MARGIN_MS:
            return TransientError("not enough time left before the Lambda timeout")
        started = time.perf_counter()
        try:
            accepted = self.adapters.ses.send(item.email, attachments)
        except Throttled as error:
            self.ses_throttled.append(item.email_id)
            self.adapters.rate.throttled()
            return error
        except Exception as error:
            return error
        finally:
            self.ses_ms.append((time.perf_counter() - started) * 1000)
        if accepted.retries:
            # The SDK's own retry got it through, but SES said slow down all the same.
            self.ses_throttled.append(item.email_id)
            self.adapters.rate.throttled()
        else:
            self.adapters.rate.sent()
        return accepted.message_id

    def _read_attachments(self, item: Item) -> list[AttachmentContent]:
        references = item.request.attachments if item.request else []
        if not references:
            return []
        assert self.adapters.attachments is not None  # else _check_attachments failed the email
        return [self.adapters.attachments.read(reference) for reference in references]

    def _finish(self) -> None:
        items = [item for item in self.items if item.claimed]
        if not items:
            return
        writes = []
        for item in items:
            if item.ses_message_id:
                writes.append(Finish(item.email_id, Status.SENT, item.ses_message_id))
            elif item.open and item.intended is Status.FAILED:
                writes.append(Finish(item.email_id, Status.FAILED, reason=item.reason))
            else:
                writes.append(Finish(item.email_id, None, reason=item.reason or "retry"))
        now = _now()
        results = self.adapters.tracking.finish(writes, self.token, now)
        for item in items:
            result = results.get(item.email_id)
            if item.ses_message_id:
                self._finish_sent(item, item.ses_message_id, result, now)
            elif item.open and item.intended is Status.FAILED:
                if isinstance(result, Written):
                    self._record_final(item, Status.FAILED)
                elif isinstance(result, ConditionFailed):
                    self._conclude(item, Outcome.FAILED, item.reason)
                else:
                    self._retry(item, result.error if isinstance(result, WriteError) else None)
            elif isinstance(result, WriteError):
                self.tracking_write_failures += 1
                logger.error(
                    "could not release the claim; the retry waits for it to expire",
                    extra={"emailId": item.email_id, "error": str(result.error)},
                )

    def _finish_sent(
        self, item: Item, ses_message_id: str, result: WriteResult | None, now: datetime
    ) -> None:
        # The email has left: whatever happens to the tracking write, the message is consumed,
        # because a retry could send it twice.
        if isinstance(result, Written):
            self._record_final(item, Status.SENT)
            return
        if isinstance(result, ConditionFailed):
            logger.info(
                "status moved on before the sent write; keeping it",
                extra={"emailId": item.email_id, "currentStatus": result.status},
            )
            self.adapters.tracking.backfill_message_id(item.email_id, ses_message_id, now)
        else:
            self.tracking_write_failures += 1
            logger.error(
                "email sent but its tracking item could not be updated",
                extra={
                    "emailId": item.email_id,
                    "sesMessageId": ses_message_id,
                    "error": str(getattr(result, "error", result)),
                },
            )
        self._conclude(item, Outcome.SENT, None, sesMessageId=ses_message_id)

    def _reject_conflicts(self) -> None:
        """Put an ``Email Request Rejected`` event for every request refused as a conflict;
        one that cannot be put is retried, so no conflict goes unannounced."""
        rejected = [item for item in self.items if item.outcome is Outcome.CONFLICT]
        if not rejected:
            return
        details = [
            RequestRejectedDetail(
                emailId=item.email_id, source=item.parsed.source, reason=item.reason or ""
            )
            for item in rejected
        ]
        try:
            errors = self.adapters.rejections.put([detail.model_dump() for detail in details])
        except Exception as error:
            errors = [str(error)] * len(details)
        for item, error in zip(rejected, errors, strict=True):
            if error is not None:
                self._retry(item, TransientError(f"could not put the rejection: {error}"))

    def _back_off(self) -> None:
        """Keep every record to retry out of sight for a delay that grows with its receives,
        so transient trouble does not use up ``maxReceiveCount`` in a few seconds. Best
        effort: a record whose visibility cannot be changed returns after the queue's
        visibility timeout, as it would anyway."""
        delays = [
            (entry.record, retry_delay(entry.record.receive_count)) for entry in self.failures
        ]
        if not delays:
            return
        try:
            refused = self.adapters.queue.delay(delays)
        except Exception as error:
            refused = {record.messageId: str(error) for record, _ in delays}
        for message_id, error in refused.items():
            logger.warning(
                "could not delay the retry; it returns after the visibility timeout",
                extra={"sqsMessageId": message_id, "error": error},
            )

    # -- outcomes -----------------------------------------------------------------------------

    def _open(self, intended: Status | None = None) -> list[Item]:
        return [
            item
            for item in self.items
            if item.open and (intended is None or item.intended is intended)
        ]

    def _record_final(self, item: Item, status: Status) -> None:
        """A final status was written: conclude the record."""
        outcome = {Status.SENT: Outcome.SENT, Status.SUPPRESSED: Outcome.SUPPRESSED}
        self._conclude(
            item, outcome.get(status, Outcome.FAILED), item.reason, sesMessageId=item.ses_message_id
        )

    def _reject(self, item: Item, reason: str) -> None:
        """Refuse the request without sending or tracking it (:meth:`_reject_conflicts` puts
        the event)."""
        item.reason = reason
        self._conclude(item, Outcome.CONFLICT, reason, source=item.parsed.source)

    def _retry(self, item: Item, error: Exception | None) -> None:
        expected = isinstance(error, Throttled | TransientError)
        # An unexpected ClientError's text is AWS's message, which may name addresses.
        reason = (
            f"{type(error).__name__}: {redact_addresses(str(error))}" if error else "unknown error"
        )
        item.reason = reason
        if expected:
            self._conclude(item, Outcome.RETRY, reason)
        else:
            item.outcome = Outcome.RETRY
            logger.error(
                "unexpected error; the record will be retried",
                extra=self._log_keys(item, outcome=Outcome.RETRY.value, reason=reason),
                exc_info=error,
            )

    def _conclude(self, item: Item, outcome: Outcome, reason: str | None, **keys: Any) -> None:
        item.outcome = outcome
        extra = self._log_keys(item, outcome=outcome.value, reason=reason, **keys)
        if outcome is Outcome.RETRY:
            logger.warning("record will be retried", extra=extra)
        else:
            logger.info(f"email {outcome.value}", extra=extra)
        logger.debug("recipient", extra={"emailId": item.email_id, "toEmail": item.to_email})

    def _log_keys(self, item: Item, **keys: Any) -> dict[str, Any]:
        return {
            "emailId": item.email_id,
            "sqsMessageId": item.record.messageId,
            "receiveCount": item.record.receive_count,
            "templateName": item.template_name,
            **{key: value for key, value in keys.items() if value is not None},
        }

    # -- reporting ----------------------------------------------------------------------------

    def report(self, metrics: Any) -> None:
        counts = {outcome: 0 for outcome in Outcome}
        for entry in self.entries:
            if entry.outcome is not None:
                counts[entry.outcome] += 1
        for name, value in (
            ("EmailsSent", counts[Outcome.SENT]),
            ("EmailsFailed", counts[Outcome.FAILED]),
            ("EmailsSuppressed", counts[Outcome.SUPPRESSED]),
            ("EmailsRetried", counts[Outcome.RETRY]),
            ("EmailsDuplicate", counts[Outcome.DUPLICATE]),
            ("RecordsUntrackable", counts[Outcome.UNTRACKABLE] + counts[Outcome.DEAD_LETTERED]),
            (RECORDS_DEAD_LETTERED, counts[Outcome.DEAD_LETTERED]),
            (EMAIL_ID_CONFLICTS, counts[Outcome.CONFLICT]),
            (EMAILS_HELD, counts[Outcome.HELD]),
            (EMAILS_SCHEDULED, counts[Outcome.SCHEDULED]),
            ("TrackingWriteFailures", self.tracking_write_failures),
            (SES_THROTTLES, len(self.ses_throttled)),
        ):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        metrics.add_metric(
            name=SEND_RATE, unit=MetricUnit.CountPerSecond, value=self.adapters.rate.rate
        )
        for name, values in (("RenderTime", self.render_ms), ("SesLatency", self.ses_ms)):
            for value in values[:100]:  # EMF takes at most 100 values per metric
                metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)
        failed_kinds = Counter(
            failure_kind(item.reason) for item in self.items if item.outcome is Outcome.FAILED
        )
        for kind, count in failed_kinds.items():
            # Its own EMF document: `reason` is a dimension of this metric only. single_metric
            # skips the entry point's default dimensions (the engine) unless given them.
            with single_metric(
                name="EmailsFailedByReason",
                unit=MetricUnit.Count,
                value=count,
                default_dimensions=metrics.default_dimensions,
            ) as metric:
                metric.add_dimension(name="service", value=logger.service)
                metric.add_dimension(name="reason", value=kind)
        logger.info(
            "batch done",
            extra={
                "emailIds": [entry.email_id for entry in self.entries],
                "records": len(self.entries),
                **{outcome.value: count for outcome, count in counts.items() if count},
            },
        )


def _conflict(item: Item, first: RequestFingerprint | None) -> str | None:
    """Why ``item`` may not use its ``emailId``, already taken by the request ``first``
    identifies; None when it is the same request (or either is not known)."""
    return item.fingerprint.conflict(first) if item.fingerprint else None


def _suppress_if_blocked(item: Item, category: Category, topic: str | None = None) -> None:
    """Head ``item`` for ``suppressed`` if its recipient's suppression stops this email."""
    why = item.suppression.blocking(category, topic) if item.suppression else None
    if why:
        item.intended, item.reason = Status.SUPPRESSED, f"recipient suppressed: {why}"


def _now() -> datetime:
    return datetime.now(UTC)
