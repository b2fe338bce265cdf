"""The SQS calls the sender makes about the records it was handed: delaying their retries, and
moving a record that can never succeed to the email DLQ.

Lambda deletes the records a batch does not report and leaves the reported ones in flight until
their visibility timeout ends; :meth:`RecordQueue.delay` sets that wait per record
(``ChangeMessageVisibilityBatch``), which is how retries back off. The queue URL is built from
the record's ``eventSourceARN`` and the client's endpoint (so it follows the partition and any
local endpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.models import SqsRecord
from . import clients
from .errors import translate

MAX_BATCH_ENTRIES = 10
"""``ChangeMessageVisibilityBatch`` takes at most ten entries."""


class RecordQueue:
    def __init__(
        self,
        dead_letter_queue_url: str | None,
        client: Callable[[], Any] = lambda: clients.client("sqs"),
    ):
        self.dead_letter_queue_url = dead_letter_queue_url
        self._client = client

    def delay(self, delays: Sequence[tuple[SqsRecord, int]]) -> dict[str, str]:
        """Keep each record out of sight for its seconds; ``messageId -> error`` for those
        whose visibility could not be changed (they come back after the visibility timeout)."""
        failed: dict[str, str] = {}
        for start in range(0, len(delays), MAX_BATCH_ENTRIES):
            chunk = delays[start : start + MAX_BATCH_ENTRIES]
            by_id = {str(index): record for index, (record, _) in enumerate(chunk)}
            entries = [
                {"Id": str(index), "ReceiptHandle": record.receiptHandle, "VisibilityTimeout": s}
                for index, (record, s) in enumerate(chunk)
            ]
            try:
                response = self._client().change_message_visibility_batch(
                    QueueUrl=self._queue_url(chunk[0][0]), Entries=entries
                )
            except (ClientError, BotoCoreError) as error:
                failed |= {record.messageId: str(translate(error)) for record, _ in chunk}
                continue
            for entry in response.get("Failed", []):
                record = by_id[entry["Id"]]
                failed[record.messageId] = f"{entry.get('Code')}: {entry.get('Message', '')}"
        return failed

    def dead_letter(self, record: SqsRecord, reason: str) -> None:
        """Put the record's body in the DLQ with ``reason`` and ``sourceMessageId`` attributes;
        raises the translated error when SQS refuses."""
        if self.dead_letter_queue_url is None:
            raise RuntimeError("EMAIL_DEAD_LETTER_QUEUE_URL is not set")
        try:
            self._client().send_message(
                QueueUrl=self.dead_letter_queue_url,
                MessageBody=record.body,
                MessageAttributes={
                    "reason": {"DataType": "String", "StringValue": reason},
                    "sourceMessageId": {"DataType": "String", "StringValue": record.messageId},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise translate(error) from error

    def _queue_url(self, record: SqsRecord) -> str:
        # arn:<partition>:sqs:<region>:<account>:<name>
        account, name = record.eventSourceARN.split(":")[4:6]
        return f"{self._client().meta.endpoint_url}/{account}/{name}"
