"""Putting the engine's own events on the bus (`Email Status Changed`, `Email Request
Rejected`), at most ten entries per ``PutEvents``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import clients
from .errors import translate

MAX_ENTRIES = 10
"""PutEvents' limit of entries per call."""


class EventPublisher:
    """Puts events of one detail-type, from one source, on one bus."""

    def __init__(
        self,
        bus_name: str,
        source: str,
        detail_type: str,
        client: Callable[[], Any] = lambda: clients.client("events"),
    ):
        self.bus_name = bus_name
        self.source = source
        self.detail_type = detail_type
        self._client = client

    def put(self, details: Sequence[Mapping[str, Any]]) -> list[str | None]:
        """Put one event per detail, in order, ten per call. For each detail: None once it is
        on the bus, else why it is not (a call that failed as a whole fails all its entries)."""
        errors: list[str | None] = []
        for start in range(0, len(details), MAX_ENTRIES):
            chunk = details[start : start + MAX_ENTRIES]
            entries = [
                {
                    "Source": self.source,
                    "DetailType": self.detail_type,
                    "Detail": json.dumps(detail, separators=(",", ":"), default=str),
                    "EventBusName": self.bus_name,
                }
                for detail in chunk
            ]
            try:
                response = self._client().put_events(Entries=entries)
            except (ClientError, BotoCoreError) as error:
                translated = translate(error)
                errors += [f"{type(translated).__name__}: {translated}"] * len(chunk)
                continue
            answers = response.get("Entries") or []
            for index in range(len(chunk)):
                # An entry EventBridge did not answer for counts as not put.
                answer = answers[index] if index < len(answers) else {"ErrorCode": "NoAnswer"}
                code = answer.get("ErrorCode")
                errors.append(f"{code}: {answer.get('ErrorMessage', '')}" if code else None)
        return errors
