"""The Suppression table: read for a whole batch with one ``BatchGetItem`` (the sender),
written one address at a time (the feedback processor; unsubscribes are in ``unsubscribes``).

One item per address (key ``email``): ``reason``, the address-wide suppression, absent when the
address only left some topics; ``unsubscribedTopics``, a string set of the topics it left."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.statuses import Suppression, SuppressionReason, replaceable_by
from . import clients
from .errors import condition_met, translate

MAX_KEYS = 100
UNPROCESSED_ROUNDS = 3
UNSUBSCRIBED_TOPICS = "unsubscribedTopics"
"""The item's string set of topics the address unsubscribed from."""


class SuppressionLookup:
    __slots__ = ("suppressions", "unresolved")

    def __init__(self) -> None:
        self.suppressions: dict[str, Suppression] = {}
        """Lower-cased address -> its suppression, for the suppressed ones."""
        self.unresolved: set[str] = set()
        """Addresses DynamoDB did not answer for (throttled); their records must be retried."""


class SuppressionList:
    def __init__(
        self,
        table_name: str,
        client: Callable[[], Any] = lambda: clients.client("dynamodb"),
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.table_name = table_name
        self._client = client
        self._sleep = sleep

    def lookup(self, addresses: Iterable[str]) -> SuppressionLookup:
        """Raises Throttled/TransientError (or the unexpected error) if the call fails."""
        wanted = sorted({address.lower() for address in addresses})
        found = SuppressionLookup()
        for start in range(0, len(wanted), MAX_KEYS):
            self._lookup_chunk(wanted[start : start + MAX_KEYS], found)
        return found

    def _lookup_chunk(self, addresses: list[str], found: SuppressionLookup) -> None:
        request: dict[str, Any] = {
            self.table_name: {
                "Keys": [{"email": {"S": address}} for address in addresses],
                "ConsistentRead": True,
                "ProjectionExpression": "#email, #reason, #topics",
                "ExpressionAttributeNames": {
                    "#email": "email",
                    "#reason": "reason",
                    "#topics": UNSUBSCRIBED_TOPICS,
                },
            }
        }
        for attempt in range(UNPROCESSED_ROUNDS):
            try:
                response = self._client().batch_get_item(RequestItems=request)
            except (ClientError, BotoCoreError) as error:
                raise translate(error) from error
            for item in response.get("Responses", {}).get(self.table_name, []):
                found.suppressions[item["email"]["S"]] = suppression_of(item)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return
            self._sleep(0.05 * 2**attempt)
        found.unresolved.update(
            key["email"]["S"] for key in request.get(self.table_name, {}).get("Keys", [])
        )

    def suppress(
        self, address: str, reason: SuppressionReason, now: str, email_id: str | None = None
    ) -> bool:
        """Suppress ``address``; True when this call wrote it (new, or a stronger reason).

        Idempotent: one conditional ``UpdateItem`` that creates the item or replaces a weaker
        reason (:func:`~handlers.core.statuses.replaceable_by`) and otherwise changes nothing.
        ``createdAt`` is kept from the first suppression; ``updatedAt`` and ``emailId`` (the
        email whose feedback caused it) describe the last write. Raises Throttled or
        TransientError (or the unexpected error) when the call fails.
        """
        weaker = replaceable_by(reason)
        values: dict[str, Any] = {
            ":reason": {"S": reason.value},
            ":now": {"S": now},
            **{f":w{index}": {"S": value.value} for index, value in enumerate(weaker)},
        }
        sets = [
            "#reason = :reason",
            "createdAt = if_not_exists(createdAt, :now)",
            "updatedAt = :now",
        ]
        if email_id:
            values[":eid"] = {"S": email_id}
            sets.append("emailId = :eid")
        # No reason yet: a new item, or one holding only topic unsubscribes (kept: they still
        # apply if the address-wide suppression is ever lifted).
        condition = "attribute_not_exists(#reason)"
        if weaker:
            condition += f" OR #reason IN ({', '.join(f':w{i}' for i in range(len(weaker)))})"
        return condition_met(
            lambda: self._client().update_item(
                TableName=self.table_name,
                Key={"email": {"S": address.lower()}},
                UpdateExpression=f"SET {', '.join(sets)}",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#reason": "reason"},
                ExpressionAttributeValues=values,
            )
        )


def suppression_of(item: dict[str, Any]) -> Suppression:
    """A Suppression item (DynamoDB's attribute-value form) as the domain reads it."""
    return Suppression(
        reason=item.get("reason", {}).get("S") or None,
        topics=frozenset(item.get(UNSUBSCRIBED_TOPICS, {}).get("SS", ())),
    )
