"""Conditional ``UpdateItem`` requests, written one by one or together in transactions.

Each request carries its own ``ConditionExpression``; this module only decides how they travel
and turns what DynamoDB answers into :class:`~handlers.core.tracking.WriteResult` values.

Independent writes (:meth:`ConditionalWriter.write_all`) go in ``TransactWriteItems`` calls of
up to 100 items (one condition per item). When items fail their condition the transaction is
cancelled and DynamoDB says which items failed (``CancellationReasons``, with the existing item
thanks to ``ALL_OLD``); those items get their answer and the transaction is sent again without
them. Items cancelled by contention or throttling (``TransactionConflict``, ``ThrottlingError``)
and whole calls that failed transiently (throttled, 5xx, timeouts) are sent again for a few
rounds after a short jittered pause; what still has no answer is then written one item at a time
with the same condition, so no single item (nor a bad moment of the table) fails the others.
A call refused for any other reason (one item DynamoDB cannot take) is split at once. A single
item is always written with a plain ``UpdateItem`` (same condition, half the write cost).

A write with companions (:meth:`ConditionalWriter.write_with_companions`) is all or nothing:
the primary write and its companions in one transaction. The primary failing its condition
ends it; a companion failing its own condition is dropped and the rest sent again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.errors import Throttled, TransientError
from ..core.tracking import ConditionFailed, WriteError, WriteResult, Written
from .attributes import plain
from .errors import error_code, error_message, translate

MAX_TRANSACTION_ITEMS = 100
TRANSACTION_ROUNDS = 3
PAUSE_SECONDS = 0.05
"""Before round ``n`` (from 1) a pause drawn from ``[0, PAUSE_SECONDS * 2**n]``: 0.1 s, 0.2 s."""
RETRYABLE_REASONS = frozenset(
    {"None", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
"""Cancellation reason codes of items that were fine but went down with the transaction."""

Convert = Callable[[dict[str, Any] | None], dict[str, Any] | None]
"""Turns the low-level item of a failed condition into what ConditionFailed carries."""


@dataclass(frozen=True)
class Cancelled:
    """Why DynamoDB cancelled one item of a transaction."""

    code: str
    item: dict[str, Any] | None
    """The item as it was (low-level), when the request asked for ``ALL_OLD``."""
    message: str

    @property
    def condition_failed(self) -> bool:
        return self.code == "ConditionalCheckFailed"

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE_REASONS


class ConditionalWriter:
    """Conditional writes through the DynamoDB client ``client()`` returns."""

    def __init__(self, client: Callable[[], Any], sleep: Callable[[float], None] = time.sleep):
        self._client = client
        self._sleep = sleep

    def update(
        self, op: dict[str, Any], convert: Convert = plain
    ) -> dict[str, Any] | ConditionFailed | WriteError:
        """One ``UpdateItem``: its response, ConditionFailed (with the item as ``convert``
        makes it), or WriteError with the translated exception."""
        try:
            return self._client().update_item(**op)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return ConditionFailed(convert(error.response.get("Item")))
            return WriteError(translate(error))
        except BotoCoreError as error:
            return WriteError(translate(error))

    def write_one(self, op: dict[str, Any], convert: Convert = plain) -> WriteResult:
        result = self.update(op, convert)
        return result if isinstance(result, ConditionFailed | WriteError) else Written()

    def write_all(self, ops: dict[str, dict[str, Any]]) -> dict[str, WriteResult]:
        """Write every op (keyed by whatever the caller likes); the answer for each key."""
        results: dict[str, WriteResult] = {}
        pending = dict(ops)
        for round_number in range(TRANSACTION_ROUNDS):
            if not pending:
                return results
            if round_number:
                self._sleep(random.uniform(0, PAUSE_SECONDS * 2**round_number))
            again: dict[str, dict[str, Any]] = {}
            for chunk in _chunks(list(pending.items()), MAX_TRANSACTION_ITEMS):
                if len(chunk) == 1:
                    key, op = chunk[0]
                    results[key] = self.write_one(op)
                    continue
                outcome = self._transact([op for _, op in chunk])
                if isinstance(outcome, Written):
                    results.update((key, outcome) for key, _ in chunk)
                    continue
                if isinstance(outcome, WriteError):
                    if isinstance(outcome.error, Throttled | TransientError):
                        again.update(chunk)
                    else:
                        results.update((key, self.write_one(op)) for key, op in chunk)
                    continue
                for (key, op), reason in zip(chunk, outcome, strict=True):
                    if reason.condition_failed:
                        results[key] = ConditionFailed(plain(reason.item))
                    elif reason.retryable:
                        again[key] = op
                    else:
                        results[key] = WriteError(RuntimeError(f"{reason.code}: {reason.message}"))
            pending = again
        # Contention or trouble outlasted the rounds: the same conditional writes, one at a time.
        for key, op in pending.items():
            results[key] = self.write_one(op)
        return results

    def write_with_companions(
        self,
        primary: dict[str, Any],
        companions: Sequence[tuple[str, dict[str, Any]]],
        convert: Convert = plain,
        conflict: str = "the transaction kept conflicting",
    ) -> tuple[WriteResult, tuple[str, ...]]:
        """Write ``primary`` and its ``companions`` together; the primary's answer and the
        keys of the companions refused by their own condition (dropped, the rest written).
        A transaction that keeps conflicting ends in WriteError(TransientError(conflict))."""
        pending = list(companions)
        refused: list[str] = []
        for _ in range(TRANSACTION_ROUNDS + 1):
            if not pending:
                return self.write_one(primary, convert), tuple(refused)
            outcome = self._transact([primary, *(op for _, op in pending)])
            if not isinstance(outcome, list):
                return outcome, tuple(refused)
            if outcome[0].condition_failed:
                return ConditionFailed(convert(outcome[0].item)), tuple(refused)
            kept = []
            for (key, op), reason in zip(pending, outcome[1:], strict=True):
                if reason.condition_failed:
                    refused.append(key)
                else:
                    kept.append((key, op))
            if any(not (reason.condition_failed or reason.retryable) for reason in outcome):
                codes = ", ".join(reason.code for reason in outcome)
                return WriteError(RuntimeError(f"transaction cancelled: {codes}")), tuple(refused)
            pending = kept
        return WriteError(TransientError(conflict)), tuple(refused)

    def _transact(self, ops: list[dict[str, Any]]) -> Written | WriteError | list[Cancelled]:
        """One ``TransactWriteItems``: Written, WriteError for the whole call, or why each
        item was cancelled (in order)."""
        try:
            self._client().transact_write_items(TransactItems=[{"Update": op} for op in ops])
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if error_code(error) != "TransactionCanceledException" or len(reasons) != len(ops):
                return WriteError(translate(error))
            return [
                Cancelled(
                    code=reason.get("Code") or "None",
                    item=reason.get("Item"),
                    message=reason.get("Message") or error_message(error),
                )
                for reason in reasons
            ]
        except BotoCoreError as error:
            return WriteError(translate(error))
        return Written()


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
