"""The EmailTracking table: claims and status writes, batched in transactions.

Every write is conditional. A *claim* creates or takes over the item for an ``emailId``; it
succeeds only when the item does not exist or holds an abandoned ``processing`` claim (its
``claimExpiresAt`` has passed). A claim may also write a final status directly (``failed``,
``suppressed``) under the same condition, so an invalid duplicate can never overwrite an email
that was sent. *Finishing* writes need the claim token of this invocation, so a late writer can
never overwrite a status written by the feedback path or by another invocation.

Writes for a batch go in one ``TransactWriteItems`` call (one condition per item). When items
fail their condition the transaction is cancelled and DynamoDB says which items failed
(``CancellationReasons``, with the existing item thanks to ``ALL_OLD``); those items get their
answer and the transaction is sent again without them. Items cancelled by contention
(``TransactionConflict``) are retried for a few rounds, then written one by one with the same
condition. A single item is always written with a plain ``UpdateItem`` (same condition, half
the write cost).

The feedback processor adds its own writes (:meth:`TrackingTable.apply_feedback`): one
``UpdateItem`` per SES event, conditional on the status it read and on the event's key not
being in ``feedbackIds`` yet; a soft bounce increments the recipients' streak items in the same
``TransactWriteItems``, so a replayed event can never count twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.errors import TransientError
from ..core.events import iso
from ..core.statuses import Status
from . import clients
from .errors import error_code, error_message, translate

MAX_TRANSACTION_ITEMS = 100
SES_MESSAGE_ID_INDEX = "ses-message-id-index"
TRANSACTION_ROUNDS = 3
_RETRYABLE_REASONS = frozenset(
    {"None", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
_NAMES = {"#status": "status", "#ts": "timestamp", "#ttl": "ttl"}
_CLAIMABLE = (
    "attribute_not_exists(emailId) OR (#status = :processing AND "
    "(attribute_not_exists(claimExpiresAt) OR claimExpiresAt < :nowEpoch))"
)
_HELD = "#status = :processing AND claimToken = :token"


@dataclass(frozen=True)
class Claim:
    """Take ``email_id`` for this invocation, as ``processing`` or straight into a final status."""

    email_id: str
    status: Status
    to_email: str | None
    template_name: str | None
    metadata: dict[str, Any] | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Finish:
    """End this invocation's claim: ``sent`` (with ``ses_message_id``), ``failed`` (with
    ``reason``) or ``None`` to release it so a later attempt can send."""

    email_id: str
    status: Status | None
    ses_message_id: str | None = None
    reason: str | None = None


class Written:
    """The write happened."""

    __slots__ = ()


class ConditionFailed:
    """The item's state did not allow the write; ``item`` is what was there (may be None)."""

    __slots__ = ("item",)

    def __init__(self, item: dict[str, Any] | None = None):
        self.item = item

    @property
    def status(self) -> str | None:
        return None if self.item is None else self.item.get("status")


class WriteError:
    """The write could not be made; ``error`` is the translated exception."""

    __slots__ = ("error",)

    def __init__(self, error: Exception):
        self.error = error


WriteResult = Written | ConditionFailed | WriteError


@dataclass(frozen=True)
class StreakIncrement:
    """Add one soft bounce to the streak item of ``address``."""

    key: str
    """The streak item's key (``address#...``)."""
    entry: str
    """``<timestamp> <feedback key>``, added to the ``softBounces`` set."""
    occurred_at: str
    """The bounce's time; refused when the streak saw a later delivery."""
    expires_at: int
    """Epoch seconds for the streak item's ``ttl``."""


@dataclass(frozen=True)
class FeedbackUpdate:
    """Apply one SES event to one tracking item, once."""

    email_id: str
    key: str
    """The event's idempotency key, added to ``feedbackIds``; the write requires its absence."""
    expected_status: str | None
    """The status the update was computed from; the write requires it still."""
    ses_message_id: str
    status: Status | None = None
    """The new status, or None to keep it."""
    changed_at: str | None = None
    """The item's ``timestamp`` when the status changes."""
    first_seen: dict[str, str] = field(default_factory=dict)
    """Attributes set only when absent (``deliveredAt``...)."""
    attributes: dict[str, str] = field(default_factory=dict)
    """Attributes set (``bounceType``, ``statusReason``...)."""
    counters: dict[str, int] = field(default_factory=dict)
    """Numbers to add to (``opens``, ``clicks``)."""
    pending_event: str | None = None
    """The status event, added to the ``pendingEvents`` outbox in the same write."""
    streak: tuple[StreakIncrement, ...] = ()


class FeedbackWritten(Written):
    """The event was applied; ``refused`` holds the streak keys whose increment was refused
    because the streak had seen a later delivery (that bounce is not consecutive)."""

    __slots__ = ("refused",)

    def __init__(self, refused: tuple[str, ...] = ()):
        self.refused = refused


class TrackingTable:
    def __init__(
        self, table_name: str, client: Callable[[], Any] = lambda: clients.client("dynamodb")
    ):
        self.table_name = table_name
        self._client = client

    # -- claims -------------------------------------------------------------------------------

    def claim(
        self,
        claims: Sequence[Claim],
        token: str,
        now: datetime,
        claim_timeout_seconds: int,
        ttl_days: int,
    ) -> dict[str, WriteResult]:
        """Claim every item; a ConditionFailed whose item holds ``token`` counts as Written
        (our own earlier attempt of the same call)."""
        ops = {
            c.email_id: self._claim_op(c, token, now, claim_timeout_seconds, ttl_days)
            for c in claims
        }
        results = self._write_all(ops)
        for email_id, result in results.items():
            if (
                isinstance(result, ConditionFailed)
                and result.item
                and result.item.get("claimToken") == token
            ):
                results[email_id] = Written()
        return results

    def _claim_op(
        self, claim: Claim, token: str, now: datetime, timeout: int, ttl_days: int
    ) -> dict[str, Any]:
        stamp = iso(now)
        values: dict[str, Any] = {
            ":status": {"S": claim.status.value},
            ":processing": {"S": Status.PROCESSING.value},
            ":now": {"S": stamp},
            ":nowEpoch": {"N": str(int(now.timestamp()))},
            ":dp": {"S": stamp[:10]},
            ":ttl": {"N": str(int((now + timedelta(days=ttl_days)).timestamp()))},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
        }
        sets = [
            "#status = :status",
            "#ts = :now",
            "createdAt = if_not_exists(createdAt, :now)",
            "datePartition = if_not_exists(datePartition, :dp)",
            "#ttl = if_not_exists(#ttl, :ttl)",
            "attempts = if_not_exists(attempts, :zero) + :one",
        ]
        if claim.to_email:
            sets.append("toEmail = :to")
            values[":to"] = {"S": claim.to_email}
        if claim.template_name:
            sets.append("templateName = :tpl")
            values[":tpl"] = {"S": claim.template_name}
        if claim.metadata is not None:
            sets.append("metadata = :md")
            values[":md"] = _serialize(claim.metadata)
        if claim.status is Status.PROCESSING:
            sets += ["claimToken = :token", "claimExpiresAt = :exp"]
            values[":token"] = {"S": token}
            values[":exp"] = {"N": str(int(now.timestamp()) + timeout)}
            removes = ["statusReason"]
        else:
            sets.append("statusReason = :reason")
            values[":reason"] = {"S": claim.reason or claim.status.value}
            removes = ["claimToken", "claimExpiresAt"]
        return self._update(
            claim.email_id,
            f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            _CLAIMABLE,
            values,
        )

    # -- finishing ----------------------------------------------------------------------------

    def finish(self, writes: Sequence[Finish], token: str, now: datetime) -> dict[str, WriteResult]:
        ops = {w.email_id: self._finish_op(w, token, now) for w in writes}
        return self._write_all(ops)

    def _finish_op(self, write: Finish, token: str, now: datetime) -> dict[str, Any]:
        values: dict[str, Any] = {":token": {"S": token}}
        if write.status is None:
            values[":zero"] = {"N": "0"}
            values[":err"] = {"S": write.reason or "released"}
            return self._update(
                write.email_id,
                "SET claimExpiresAt = :zero, lastError = :err REMOVE claimToken",
                "claimToken = :token",
                values,
            )
        values |= {
            ":status": {"S": write.status.value},
            ":processing": {"S": Status.PROCESSING.value},
            ":now": {"S": iso(now)},
        }
        if write.status is Status.SENT:
            values[":mid"] = {"S": write.ses_message_id or ""}
            expression = (
                "SET #status = :status, #ts = :now, sesMessageId = :mid, sentAt = :now "
                "REMOVE claimToken, claimExpiresAt, lastError"
            )
        else:
            values[":reason"] = {"S": write.reason or write.status.value}
            expression = (
                "SET #status = :status, #ts = :now, statusReason = :reason "
                "REMOVE claimToken, claimExpiresAt"
            )
        return self._update(write.email_id, expression, _HELD, values)

    def backfill_message_id(self, email_id: str, ses_message_id: str, now: datetime) -> WriteResult:
        """Record ``sesMessageId`` on an item the feedback path already moved past ``sent``."""
        op = self._update(
            email_id,
            "SET sesMessageId = :mid, sentAt = :now",
            "attribute_exists(emailId) AND attribute_not_exists(sesMessageId)",
            {":mid": {"S": ses_message_id}, ":now": {"S": iso(now)}},
        )
        return self._write_one(op)

    # -- the feedback path --------------------------------------------------------------------

    def get(self, email_id: str) -> dict[str, Any] | None:
        """The item, strongly consistent (numbers as int/float, sets as sets)."""
        try:
            response = self._client().get_item(
                TableName=self.table_name, Key={"emailId": {"S": email_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise translate(error) from error
        return _python(response.get("Item"))

    def find_by_message_id(self, ses_message_id: str) -> dict[str, Any] | None:
        """The item whose ``sesMessageId`` this is, through the ``ses-message-id-index``
        (eventually consistent: a miss may only mean the index has not caught up)."""
        try:
            response = self._client().query(
                TableName=self.table_name,
                IndexName=SES_MESSAGE_ID_INDEX,
                KeyConditionExpression="sesMessageId = :mid",
                ExpressionAttributeValues={":mid": {"S": ses_message_id}},
                Limit=1,
            )
        except (ClientError, BotoCoreError) as error:
            raise translate(error) from error
        items = response.get("Items") or []
        return _python(items[0]) if items else None

    def apply_feedback(
        self, update: FeedbackUpdate
    ) -> FeedbackWritten | ConditionFailed | WriteError:
        """Write ``update``; with streak increments, all in one transaction.

        ConditionFailed (with the item as it is) when the status moved on or the event was
        applied already. A streak increment refused by its own condition is dropped and the
        rest written again."""
        ops = [self._feedback_op(update)]
        streaks = list(update.streak)
        refused: list[str] = []
        for _ in range(TRANSACTION_ROUNDS + 1):
            if not streaks:
                result = self._write_one(ops[0], convert=_python)
                return FeedbackWritten(tuple(refused)) if isinstance(result, Written) else result
            items = [{"Update": ops[0]}] + [{"Update": self._streak_op(s)} for s in streaks]
            try:
                self._client().transact_write_items(TransactItems=items)
            except ClientError as error:
                reasons = error.response.get("CancellationReasons") or []
                if error_code(error) != "TransactionCanceledException" or len(reasons) != len(
                    items
                ):
                    return WriteError(translate(error))
                codes = [reason.get("Code") or "None" for reason in reasons]
                if codes[0] == "ConditionalCheckFailed":
                    return ConditionFailed(_python(reasons[0].get("Item")))
                kept = []
                for streak, code in zip(streaks, codes[1:], strict=True):
                    if code == "ConditionalCheckFailed":
                        refused.append(streak.key)
                    else:
                        kept.append(streak)
                expected = _RETRYABLE_REASONS | {"ConditionalCheckFailed"}
                if any(code not in expected for code in codes):
                    return WriteError(RuntimeError(f"transaction cancelled: {', '.join(codes)}"))
                streaks = kept
                continue
            except BotoCoreError as error:
                return WriteError(translate(error))
            return FeedbackWritten(tuple(refused))
        return WriteError(TransientError("the feedback transaction kept conflicting"))

    def _feedback_op(self, update: FeedbackUpdate) -> dict[str, Any]:
        names: dict[str, str] = {"#status": "status"}
        values: dict[str, Any] = {
            ":mid": {"S": update.ses_message_id},
            ":key": {"S": update.key},
            ":keys": {"SS": [update.key]},
        }
        sets = ["sesMessageId = if_not_exists(sesMessageId, :mid)"]
        adds = ["feedbackIds :keys"]
        if update.status is not None:
            names["#ts"] = "timestamp"
            values[":status"] = {"S": update.status.value}
            values[":changed"] = {"S": update.changed_at or ""}
            sets += ["#status = :status", "#ts = :changed"]
        for index, (name, value) in enumerate(update.first_seen.items()):
            names[f"#f{index}"] = name
            values[f":f{index}"] = {"S": value}
            sets.append(f"#f{index} = if_not_exists(#f{index}, :f{index})")
        for index, (name, value) in enumerate(update.attributes.items()):
            names[f"#a{index}"] = name
            values[f":a{index}"] = {"S": value}
            sets.append(f"#a{index} = :a{index}")
        for index, (name, amount) in enumerate(update.counters.items()):
            names[f"#c{index}"] = name
            values[f":c{index}"] = {"N": str(amount)}
            adds.append(f"#c{index} :c{index}")
        if update.pending_event is not None:
            values[":pending"] = {"SS": [update.pending_event]}
            adds.append("pendingEvents :pending")
        if update.expected_status is None:
            expected = "attribute_not_exists(#status)"
        else:
            values[":expected"] = {"S": update.expected_status}
            expected = "#status = :expected"
        return {
            "TableName": self.table_name,
            "Key": {"emailId": {"S": update.email_id}},
            "UpdateExpression": f"SET {', '.join(sets)} ADD {', '.join(adds)}",
            "ConditionExpression": (
                f"attribute_exists(emailId) AND NOT contains(feedbackIds, :key) AND {expected}"
            ),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _streak_op(self, streak: StreakIncrement) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Key": {"emailId": {"S": streak.key}},
            "UpdateExpression": "SET #ttl = :ttl ADD softBounces :entry",
            "ConditionExpression": "attribute_not_exists(lastDeliveryAt) OR lastDeliveryAt < :at",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {
                ":ttl": {"N": str(streak.expires_at)},
                ":entry": {"SS": [streak.entry]},
                ":at": {"S": streak.occurred_at},
            },
        }

    def end_streak(
        self, key: str, delivered_at: str, expires_at: int
    ) -> dict[str, Any] | ConditionFailed | WriteError:
        """Record a delivery on the streak item of an address (creating it): soft bounces up to
        ``delivered_at`` stop counting. Returns the item as written; ConditionFailed when the
        streak already saw a later delivery (nothing to do)."""
        op = {
            "TableName": self.table_name,
            "Key": {"emailId": {"S": key}},
            "UpdateExpression": "SET lastDeliveryAt = :at, #ttl = :ttl",
            "ConditionExpression": "attribute_not_exists(lastDeliveryAt) OR lastDeliveryAt < :at",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {
                ":at": {"S": delivered_at},
                ":ttl": {"N": str(expires_at)},
            },
            "ReturnValues": "ALL_NEW",
        }
        try:
            response = self._client().update_item(**op)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return ConditionFailed()
            return WriteError(translate(error))
        except BotoCoreError as error:
            return WriteError(translate(error))
        return _python(response.get("Attributes")) or {}

    def forget_soft_bounces(self, key: str, entries: Iterable[str]) -> WriteResult:
        """Remove soft bounces a delivery ended from a streak item (they no longer count
        anyway; this only keeps the set small)."""
        op = {
            "TableName": self.table_name,
            "Key": {"emailId": {"S": key}},
            "UpdateExpression": "DELETE softBounces :ended",
            "ConditionExpression": "attribute_exists(emailId)",
            "ExpressionAttributeValues": {":ended": {"SS": sorted(set(entries))}},
        }
        return self._write_one(op)

    def clear_pending(self, email_id: str, elements: Iterable[str]) -> WriteResult:
        """Remove published events from the item's ``pendingEvents`` outbox."""
        op = {
            "TableName": self.table_name,
            "Key": {"emailId": {"S": email_id}},
            "UpdateExpression": "DELETE pendingEvents :done",
            "ConditionExpression": "attribute_exists(emailId)",
            "ExpressionAttributeValues": {":done": {"SS": sorted(set(elements))}},
        }
        return self._write_one(op)

    # -- the transactional writer -------------------------------------------------------------

    def _update(self, email_id: str, expression: str, condition: str, values: dict) -> dict:
        text = f"{expression} {condition}"
        used = {name: attr for name, attr in _NAMES.items() if _mentions(text, name)}
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"emailId": {"S": email_id}},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {
                key: value for key, value in values.items() if _mentions(text, key)
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if used:
            update["ExpressionAttributeNames"] = used
        return update

    def _write_all(self, ops: dict[str, dict]) -> dict[str, WriteResult]:
        results: dict[str, WriteResult] = {}
        pending = dict(ops)
        for _ in range(TRANSACTION_ROUNDS):
            if not pending:
                return results
            again: dict[str, dict] = {}
            for chunk in _chunks(list(pending.items()), MAX_TRANSACTION_ITEMS):
                if len(chunk) == 1:
                    email_id, op = chunk[0]
                    results[email_id] = self._write_one(op)
                    continue
                again |= self._transact(chunk, results)
            pending = again
        # Contention outlasted the rounds: the same conditional writes, one item at a time.
        for email_id, op in pending.items():
            results[email_id] = self._write_one(op)
        return results

    def _transact(self, chunk: list[tuple[str, dict]], results: dict[str, WriteResult]) -> dict:
        """Write ``chunk`` in one transaction; fill ``results``; return the ops to send again."""
        try:
            self._client().transact_write_items(TransactItems=[{"Update": op} for _, op in chunk])
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if error_code(error) != "TransactionCanceledException" or len(reasons) != len(chunk):
                failure = WriteError(translate(error))
                results.update((email_id, failure) for email_id, _ in chunk)
                return {}
            again = {}
            for (email_id, op), reason in zip(chunk, reasons, strict=True):
                code = reason.get("Code") or "None"
                if code == "ConditionalCheckFailed":
                    results[email_id] = ConditionFailed(_plain(reason.get("Item")))
                elif code in _RETRYABLE_REASONS:
                    again[email_id] = op
                else:
                    results[email_id] = WriteError(
                        RuntimeError(f"{code}: {reason.get('Message') or error_message(error)}")
                    )
            return again
        except BotoCoreError as error:
            failure = WriteError(translate(error))
            results.update((email_id, failure) for email_id, _ in chunk)
            return {}
        results.update((email_id, Written()) for email_id, _ in chunk)
        return {}

    def _write_one(self, op: dict, convert: Callable[[Any], Any] | None = None) -> WriteResult:
        try:
            self._client().update_item(**op)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return ConditionFailed((convert or _plain)(error.response.get("Item")))
            return WriteError(translate(error))
        except BotoCoreError as error:
            return WriteError(translate(error))
        return Written()


def _mentions(text: str, placeholder: str) -> bool:
    """Whether ``text`` uses ``placeholder`` (``:now`` is not used by ``:nowEpoch``)."""
    return re.search(rf"{re.escape(placeholder)}(?![A-Za-z0-9_])", text) is not None


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _plain(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """The scalar string and number attributes of a low-level item (enough to classify it)."""
    if not item:
        return None
    plain: dict[str, Any] = {}
    for name, value in item.items():
        if "S" in value:
            plain[name] = value["S"]
        elif "N" in value:
            plain[name] = Decimal(value["N"])
    return plain


def _serialize(value: Any) -> dict[str, Any]:
    """JSON data as a DynamoDB attribute value (floats become Decimals)."""
    from boto3.dynamodb.types import TypeSerializer  # only requests with metadata need it

    safe = json.loads(json.dumps(value, default=str), parse_float=Decimal)
    return TypeSerializer().serialize(safe)


def _python(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """A low-level item as plain Python: numbers as int or float, sets as sets."""
    if not item:
        return None
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: _undecimal(deserializer.deserialize(value)) for name, value in item.items()}


def _undecimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _undecimal(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_undecimal(inner) for inner in value]
    if isinstance(value, set | frozenset):
        return {_undecimal(inner) for inner in value}
    return value
