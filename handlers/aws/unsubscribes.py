"""Unsubscribes in the Suppression table: per topic, or from all marketing, never weakening a
suppression that is already there. Written by the unsubscribe endpoint and by
``sesmail suppression add|remove --topic``.

A topic unsubscribe adds the topic to the item's ``unsubscribedTopics`` string set with an
``ADD``: idempotent, and it never touches ``reason``, so a hard bounce, a complaint or an
all-marketing unsubscribe stays what it was. Leaving all marketing sets ``reason`` to
``unsubscribe`` only where the address has no ``reason`` yet (every other reason blocks as much
or more).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.statuses import Suppression, SuppressionReason
from . import clients
from .errors import condition_met, translate
from .suppression import UNSUBSCRIBED_TOPICS, suppression_of

_NAMES = {"#email": "email", "#reason": "reason", "#topics": UNSUBSCRIBED_TOPICS}


class Unsubscribes:
    def __init__(
        self, table_name: str, client: Callable[[], Any] = lambda: clients.client("dynamodb")
    ):
        self.table_name = table_name
        self._client = client

    def read(self, address: str) -> Suppression | None:
        """The address's suppression (consistent read), None when it has none."""
        item = self._call(
            "get_item",
            TableName=self.table_name,
            Key=_key(address),
            ConsistentRead=True,
            ProjectionExpression="#reason, #topics",
            ExpressionAttributeNames={"#reason": "reason", "#topics": UNSUBSCRIBED_TOPICS},
        ).get("Item")
        return suppression_of(item) if item is not None else None

    def leave_topics(
        self, address: str, topics: Iterable[str], source: str, now: datetime
    ) -> set[str]:
        """Unsubscribe ``address`` from ``topics``; returns those it had not left before.
        ``createdAt`` is the first suppression's; ``updatedAt`` and ``source`` the last one's."""
        wanted = set(topics)
        old = self._call(
            "update_item",
            TableName=self.table_name,
            Key=_key(address),
            UpdateExpression=(
                "ADD #topics :topics SET createdAt = if_not_exists(createdAt, :now), "
                "updatedAt = :now, #source = :source"
            ),
            ExpressionAttributeNames={"#topics": UNSUBSCRIBED_TOPICS, "#source": "source"},
            ExpressionAttributeValues={
                ":topics": {"SS": sorted(wanted)},
                ":now": {"S": _stamp(now)},
                ":source": {"S": source},
            },
            ReturnValues="UPDATED_OLD",
        ).get("Attributes", {})
        return wanted - set(old.get(UNSUBSCRIBED_TOPICS, {}).get("SS", ()))

    def leave_marketing(self, address: str, source: str, now: datetime) -> bool:
        """Unsubscribe ``address`` from all marketing. True if written; False if it already had
        an address-wide suppression (an earlier unsubscribe keeps its date)."""
        return condition_met(
            lambda: self._client().update_item(
                TableName=self.table_name,
                Key=_key(address),
                UpdateExpression=(
                    "SET #reason = :reason, createdAt = if_not_exists(createdAt, :now), "
                    "updatedAt = :now, #source = :source"
                ),
                ConditionExpression="attribute_not_exists(#reason)",
                ExpressionAttributeNames={"#reason": "reason", "#source": "source"},
                ExpressionAttributeValues={
                    ":reason": {"S": SuppressionReason.UNSUBSCRIBE.value},
                    ":now": {"S": _stamp(now)},
                    ":source": {"S": source},
                },
            )
        )

    def rejoin_topic(self, address: str, topic: str) -> bool:
        """Take ``topic`` off the address's unsubscribes; False if it was not on them. An item
        left with neither a reason nor a topic is deleted (kept, it would block everything)."""
        if not condition_met(
            lambda: self._client().update_item(
                TableName=self.table_name,
                Key=_key(address),
                UpdateExpression="DELETE #topics :topic",
                ConditionExpression="contains(#topics, :name)",
                ExpressionAttributeNames={"#topics": UNSUBSCRIBED_TOPICS},
                ExpressionAttributeValues={":topic": {"SS": [topic]}, ":name": {"S": topic}},
            )
        ):
            return False
        # Only if still empty: an unsubscribe landing in between keeps the item.
        condition_met(
            lambda: self._client().delete_item(
                TableName=self.table_name,
                Key=_key(address),
                ConditionExpression=(
                    "attribute_exists(#email) AND attribute_not_exists(#reason) "
                    "AND attribute_not_exists(#topics)"
                ),
                ExpressionAttributeNames=_NAMES,
            )
        )
        return True

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return getattr(self._client(), operation)(**request)
        except (ClientError, BotoCoreError) as error:
            raise translate(error) from error


def _key(address: str) -> dict[str, Any]:
    return {"email": {"S": address.lower()}}


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
