"""Putting ``Email Status Changed`` events on the bus, at most ten entries per ``PutEvents``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.events import STATUS_CHANGED, StatusChangedDetail
from . import clients
from .errors import translate

MAX_ENTRIES = 10
"""PutEvents' limit of entries per call."""


class EntryRefused(Exception):
    """EventBridge refused entry ``index`` of a ``PutEvents`` call (the first one it refused)."""

    def __init__(self, index: int, reason: str):
        super().__init__(f"entry {index}: {reason}")
        self.index = index
        self.reason = reason


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

    def put(self, details: Sequence[StatusChangedDetail]) -> None:
        """Put one event per detail (at most :data:`MAX_ENTRIES`), in one call.

        Raises :class:`EntryRefused` for the first entry EventBridge refused (the others may
        have been put), or the translated error when the call itself failed (none was put).
        """
        entries = [
            {
                "Source": self.source,
                "DetailType": STATUS_CHANGED,
                "Detail": json.dumps(detail.to_detail(), separators=(",", ":"), default=str),
                "EventBusName": self.bus_name,
            }
            for detail in details
        ]
        try:
            response = self._client().put_events(Entries=entries)
        except (ClientError, BotoCoreError) as error:
            raise translate(error) from error
        for index, entry in enumerate(response.get("Entries", [])):
            if entry.get("ErrorCode"):
                raise EntryRefused(index, f"{entry['ErrorCode']}: {entry.get('ErrorMessage', '')}")
        if response.get("FailedEntryCount"):
            # Counted but not named: the first entry is the earliest that may be missing.
            raise EntryRefused(0, f"{response['FailedEntryCount']} entries failed")
