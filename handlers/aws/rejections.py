"""Putting ``Email Request Rejected`` events on the bus: the sender's answer to a request it
refuses without tracking it (see :data:`~handlers.core.events.EMAIL_REQUEST_REJECTED`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.events import EMAIL_REQUEST_REJECTED, RequestRejectedDetail
from . import clients
from .errors import translate
from .events import MAX_ENTRIES


class RejectionPublisher:
    def __init__(
        self,
        bus_name: str,
        source: str,
        client: Callable[[], Any] = lambda: clients.client("events"),
    ):
        self.bus_name = bus_name
        self.source = source
        self._client = client

    def publish(self, details: Sequence[RequestRejectedDetail]) -> list[str | None]:
        """Put one event per detail; for each, in order, None once put or why it was not."""
        errors: list[str | None] = []
        for start in range(0, len(details), MAX_ENTRIES):
            chunk = details[start : start + MAX_ENTRIES]
            entries = [
                {
                    "Source": self.source,
                    "DetailType": EMAIL_REQUEST_REJECTED,
                    "Detail": json.dumps(detail.model_dump(), separators=(",", ":")),
                    "EventBusName": self.bus_name,
                }
                for detail in chunk
            ]
            try:
                response = self._client().put_events(Entries=entries)
            except (ClientError, BotoCoreError) as error:
                errors += [str(translate(error))] * len(chunk)
                continue
            answers = response.get("Entries") or []
            for index in range(len(chunk)):
                answer = answers[index] if index < len(answers) else {"ErrorCode": "NoAnswer"}
                code = answer.get("ErrorCode")
                errors.append(f"{code}: {answer.get('ErrorMessage', '')}" if code else None)
        return errors
