"""Writing ``unsubscribe`` suppressions: a conditional put that never weakens an existing one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..core.statuses import SuppressionReason
from . import clients
from .errors import condition_met


class UnsubscribeWriter:
    def __init__(
        self, table_name: str, client: Callable[[], Any] = lambda: clients.client("dynamodb")
    ):
        self.table_name = table_name
        self._client = client

    def unsubscribe(self, address: str, topic: str, source: str, now: datetime) -> bool:
        """Suppress ``address`` for marketing mail. True if written; False if the address was
        already suppressed (for any reason: a bounce or complaint blocks more, and an earlier
        unsubscribe keeps its date). Raises Throttled, TransientError or the unexpected."""
        item = {
            "email": {"S": address.lower()},
            "reason": {"S": SuppressionReason.UNSUBSCRIBE.value},
            "createdAt": {
                "S": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
            },
            "topic": {"S": topic},
            "source": {"S": source},
        }
        return condition_met(
            lambda: self._client().put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(#email)",
                ExpressionAttributeNames={"#email": "email"},
            )
        )
