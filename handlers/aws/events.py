"""Putting ``Email Status Changed`` events on the bus, ten entries per ``PutEvents`` call."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.events import STATUS_CHANGED, StatusChangedDetail
from . import clients

MAX_ENTRIES = 10


class StatusEventPublisher:
    def __init__(
        self,
        bus_name: str,
        source: str,
        client: Callable[[], Any] = lambda: clients.client("events"),
    ):
        self.bus_name = bus_name
        self.source = source
        self._client = client

    def publish(self, details: Sequence[StatusChangedDetail]) -> dict[str, str]:
        """Put one event per detail; entries EventBridge refuses are sent once more.

        Returns ``emailId -> error`` for the events that could not be put (empty on success).
        """
        failed: dict[str, str] = {}
        for start in range(0, len(details), MAX_ENTRIES):
            chunk = list(details[start : start + MAX_ENTRIES])
            for _attempt in range(2):
                chunk, failed_now = self._put(chunk)
                if not chunk:
                    break
            failed |= failed_now
        return failed

    def _put(
        self, chunk: list[StatusChangedDetail]
    ) -> tuple[list[StatusChangedDetail], dict[str, str]]:
        """Put ``chunk``; return the entries to try again and the reasons they failed."""
        entries = [
            {
                "Source": self.source,
                "DetailType": STATUS_CHANGED,
                "Detail": json.dumps(detail.to_detail(), separators=(",", ":"), default=str),
                "EventBusName": self.bus_name,
            }
            for detail in chunk
        ]
        try:
            response = self._client().put_events(Entries=entries)
        except (ClientError, BotoCoreError) as error:
            return chunk, {detail.emailId: f"{type(error).__name__}: {error}" for detail in chunk}
        retry, reasons = [], {}
        for detail, entry in zip(chunk, response.get("Entries", []), strict=False):
            if entry.get("ErrorCode"):
                retry.append(detail)
                reasons[detail.emailId] = f"{entry['ErrorCode']}: {entry.get('ErrorMessage', '')}"
        return retry, reasons
