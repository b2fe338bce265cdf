"""Subscribing to the engine's status events in local mode, as a producer would: a rule on the
engine's bus copies every `Email Status Changed` event to a queue of its own."""

from __future__ import annotations

import json
from typing import Any

from sesmailengine.handlers.core.events import STATUS_CHANGED

from .session import LocalSession


class StatusEventCapture:
    """Every `Email Status Changed` event put on the bus since this capture was made."""

    def __init__(self, session: LocalSession, name: str = "sesmail-status-events") -> None:
        self._sqs = session.client("sqs")
        events = session.client("events")
        self.queue_url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        bus = session.outputs["eventBusName"]
        events.put_rule(
            Name=name, EventBusName=bus, EventPattern=json.dumps({"detail-type": [STATUS_CHANGED]})
        )
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        """Every event received so far (the queue is emptied into `received`)."""
        while messages := self._sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10
        ).get("Messages", []):
            for message in messages:
                self.received.append(json.loads(message["Body"]))
                self._sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return self.received
