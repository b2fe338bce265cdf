"""The EmailTracking table: claims and status writes, and the feedback processor's writes.

Every write is conditional. A *claim* creates or takes over the item for an ``emailId``; it
succeeds only when the item does not exist or is ``processing`` with no live claim: released by
an attempt that failed before sending (no ``claimToken``), or abandoned (``claimExpiresAt`` has
passed) when the caller takes over expired claims (the ``resend`` ambiguous-send policy: an
abandoned attempt may have sent). A valid request's claim stores its ``requestFingerprint``
(and ``requestFieldDigests``) and takes over a ``processing`` item only if it holds the same
fingerprint (or none), so a different request reusing the ``emailId`` is never sent under it.
A claim may also write a final status directly (``failed``, ``suppressed``) under the same
condition, so an invalid duplicate can never overwrite an email that was sent. A request whose
``sendAt`` is ahead is claimed ``scheduled`` (with ``scheduledAt``) only when the item does not
exist; when it is due, its ``processing`` claim takes over the ``scheduled`` item holding the
same fingerprint. *Cancelling* moves ``scheduled`` to ``cancelled``, so a cancelled email's
schedule finds nothing to take over. *Finishing*
writes need the claim token of this invocation, so a late writer can never overwrite a status
written by the feedback path or by another invocation. *Holding* (the ``hold`` policy) writes
``unknown`` over an expired claim, conditional on its token, so only one attempt does it.

Writes for a batch go in one ``TransactWriteItems`` call (one condition per item), through
:class:`~handlers.aws.transactions.ConditionalWriter`, which explains how cancelled items are
answered, retried and finally written one by one.

The feedback processor adds its own writes (:meth:`TrackingTable.apply_feedback`): one
``UpdateItem`` per SES event, conditional on the status it read and on the event's key not
being in ``feedbackIds`` yet; a soft bounce increments the recipients' streak items in the same
``TransactWriteItems``, so a replayed event can never count twice.

The value types and the protocols the flows depend on (:class:`SenderTracking` for the sender,
:class:`FeedbackTracking` for the feedback processor) are in :mod:`handlers.core.tracking`;
:class:`TrackingTable` implements both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.events import iso
from ..core.statuses import Status
from ..core.tracking import (
    Claim,
    ConditionFailed,
    FeedbackUpdate,
    FeedbackWritten,
    Finish,
    StreakIncrement,
    WriteError,
    WriteResult,
    Written,
)
from . import clients
from .attributes import python, serialize
from .errors import translate
from .transactions import ConditionalWriter

SES_MESSAGE_ID_INDEX = "ses-message-id-index"
DATE_PARTITION_INDEX = "date-partition-index"
_NAMES = {"#status": "status", "#ts": "timestamp", "#ttl": "ttl"}
_RELEASED = "attribute_not_exists(claimToken)"
_EXPIRED = "attribute_not_exists(claimExpiresAt) OR claimExpiresAt < :nowEpoch"
_SAME_REQUEST = "attribute_not_exists(requestFingerprint) OR requestFingerprint = :fp"
_HELD = "#status = :processing AND claimToken = :token"


class TrackingTable:
    """The DynamoDB adapter behind :class:`~handlers.core.tracking.SenderTracking` and
    :class:`~handlers.core.tracking.FeedbackTracking`."""

    def __init__(
        self, table_name: str, client: Callable[[], Any] = lambda: clients.client("dynamodb")
    ):
        self.table_name = table_name
        self._client = client
        self._writer = ConditionalWriter(client)

    # -- claims -------------------------------------------------------------------------------

    def claim(
        self,
        claims: Sequence[Claim],
        token: str,
        now: datetime,
        claim_timeout_seconds: int,
        ttl_days: int,
        take_over_expired: bool,
    ) -> dict[str, WriteResult]:
        """Claim every item; a ConditionFailed whose item holds ``token`` counts as Written
        (our own earlier attempt of the same call)."""
        claimable = _EXPIRED if take_over_expired else _RELEASED
        ops = {
            c.email_id: self._claim_op(c, token, now, claim_timeout_seconds, ttl_days, claimable)
            for c in claims
        }
        results = self._writer.write_all(ops)
        for email_id, result in results.items():
            if (
                isinstance(result, ConditionFailed)
                and result.item
                and result.item.get("claimToken") == token
            ):
                results[email_id] = Written()
        return results

    def _claim_op(
        self,
        claim: Claim,
        token: str,
        now: datetime,
        timeout: int,
        ttl_days: int,
        claimable: str,
    ) -> dict[str, Any]:
        stamp = iso(now)
        # A scheduled email is listed (date-partition-index) and kept (ttl) from when it is due.
        due = max(now, claim.scheduled_at or now)
        values: dict[str, Any] = {
            ":status": {"S": claim.status.value},
            ":processing": {"S": Status.PROCESSING.value},
            ":scheduled": {"S": Status.SCHEDULED.value},
            ":now": {"S": stamp},
            ":nowEpoch": {"N": str(int(now.timestamp()))},
            ":dp": {"S": iso(due)[:10]},
            ":ttl": {"N": str(int((due + timedelta(days=ttl_days)).timestamp()))},
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
            values[":md"] = serialize(claim.metadata)
        takeover = f"#status = :processing AND ({claimable})"
        if claim.fingerprint is not None:
            sets += ["requestFingerprint = :fp", "requestFieldDigests = :fds"]
            values[":fp"] = {"S": claim.fingerprint.digest}
            values[":fds"] = {"S": claim.fingerprint.fields_text}
            takeover += f" AND ({_SAME_REQUEST})"
            # Its schedule brought it back (or a redelivery found it due).
            takeover += " OR (#status = :scheduled AND requestFingerprint = :fp)"
        if claim.status is Status.SCHEDULED:
            sets.append("scheduledAt = :sat")
            values[":sat"] = {"S": iso(due)}
            return self._update(
                claim.email_id,
                f"SET {', '.join(sets)} REMOVE statusReason, claimToken, claimExpiresAt",
                "attribute_not_exists(emailId)",
                values,
            )
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
            f"attribute_not_exists(emailId) OR ({takeover})",
            values,
        )

    def cancel(self, email_id: str, reason: str, now: datetime) -> WriteResult:
        """``scheduled`` → ``cancelled``; ConditionFailed (with the item, None when there is
        none) when it is not scheduled."""
        op = self._update(
            email_id,
            "SET #status = :cancelled, #ts = :now, statusReason = :reason",
            "#status = :scheduled",
            {
                ":cancelled": {"S": Status.CANCELLED.value},
                ":scheduled": {"S": Status.SCHEDULED.value},
                ":now": {"S": iso(now)},
                ":reason": {"S": reason},
            },
        )
        return self._writer.write_one(op)

    def hold(self, email_id: str, claim_token: str, reason: str, now: datetime) -> WriteResult:
        op = self._update(
            email_id,
            "SET #status = :unknown, #ts = :now, statusReason = :reason "
            "REMOVE claimToken, claimExpiresAt",
            f"#status = :processing AND claimToken = :held AND ({_EXPIRED})",
            {
                ":unknown": {"S": Status.UNKNOWN.value},
                ":processing": {"S": Status.PROCESSING.value},
                ":now": {"S": iso(now)},
                ":nowEpoch": {"N": str(int(now.timestamp()))},
                ":reason": {"S": reason},
                ":held": {"S": claim_token},
            },
        )
        return self._writer.write_one(op)

    # -- finishing ----------------------------------------------------------------------------

    def finish(self, writes: Sequence[Finish], token: str, now: datetime) -> dict[str, WriteResult]:
        ops = {w.email_id: self._finish_op(w, token, now) for w in writes}
        return self._writer.write_all(ops)

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
        return self._writer.write_one(op)

    # -- the feedback path --------------------------------------------------------------------

    def get(self, email_id: str) -> dict[str, Any] | None:
        """The item, strongly consistent (numbers as int/float, sets as sets)."""
        try:
            response = self._client().get_item(
                TableName=self.table_name, Key={"emailId": {"S": email_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise translate(error) from error
        return python(response.get("Item"))

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
        return python(items[0]) if items else None

    def apply_feedback(
        self, update: FeedbackUpdate
    ) -> FeedbackWritten | ConditionFailed | WriteError:
        """Write ``update``; with streak increments, all in one transaction.

        ConditionFailed (with the item as it is) when the status moved on or the event was
        applied already. A streak increment refused by its own condition is dropped and the
        rest written again."""
        companions = [(streak.key, self._streak_op(streak)) for streak in update.streak]
        result, refused = self._writer.write_with_companions(
            self._feedback_op(update),
            companions,
            convert=python,
            conflict="the feedback transaction kept conflicting",
        )
        return FeedbackWritten(refused) if isinstance(result, Written) else result

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
        response = self._writer.update(op)
        if isinstance(response, ConditionFailed):
            return ConditionFailed()
        if isinstance(response, WriteError):
            return response
        return python(response.get("Attributes")) or {}

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
        return self._writer.write_one(op)

    # -- the stuck-email sweep ----------------------------------------------------------------

    def processing_before(self, date_partition: str, before: str) -> list[dict[str, Any]]:
        """The items created on ``date_partition`` still ``processing`` and last claimed before
        ``before``, through the ``date-partition-index``. Eventually consistent: whatever the
        sweep writes from this is conditional on the item as it really is."""
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": DATE_PARTITION_INDEX,
            "KeyConditionExpression": "datePartition = :dp AND #ts < :before",
            "FilterExpression": "#status = :processing",
            "ExpressionAttributeNames": {"#ts": "timestamp", "#status": "status"},
            "ExpressionAttributeValues": {
                ":dp": {"S": date_partition},
                ":before": {"S": before},
                ":processing": {"S": Status.PROCESSING.value},
            },
        }
        items: list[dict[str, Any]] = []
        while True:
            try:
                response = self._client().query(**query)
            except (ClientError, BotoCoreError) as error:
                raise translate(error) from error
            items += [python(item) for item in response.get("Items") or ()]
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # -- building requests -------------------------------------------------------------------

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


def _mentions(text: str, placeholder: str) -> bool:
    """Whether ``text`` uses ``placeholder`` (``:now`` is not used by ``:nowEpoch``)."""
    return re.search(rf"{re.escape(placeholder)}(?![A-Za-z0-9_])", text) is not None
