"""`sesmail dlq list|redrive`: the three dead-letter queues and how to replay them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import click
from rich.progress import Progress

from . import Context, aws_errors, main


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str
    url_output: str
    holds: str
    replay: str  # how a message goes back: "queue" (to EmailQueue) or "topic" (re-published)


DLQS = {
    dlq.name: dlq
    for dlq in (
        DeadLetterQueue(
            "rule-dlq",
            "ruleDeadLetterQueueUrl",
            "events EventBridge could not deliver to EmailQueue",
            "queue",
        ),
        DeadLetterQueue(
            "email-dlq",
            "emailDeadLetterQueueUrl",
            "Email Requests the sender failed 3 times",
            "queue",
        ),
        DeadLetterQueue(
            "feedback-dlq",
            "feedbackDeadLetterQueueUrl",
            "SES events the feedback processor failed",
            "topic",
        ),
    )
}


@main.group()
def dlq() -> None:
    """Dead-letter queues: what the pipeline could not process."""


@dlq.command("list")
@click.pass_obj
@aws_errors
def list_(ctx: Context) -> None:
    """How many messages each DLQ holds."""
    target = ctx.target()
    sqs = target.client("sqs")
    rows = []
    for queue in DLQS.values():
        attributes = sqs.get_queue_attributes(
            QueueUrl=target.name(queue.url_output),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        rows.append(
            {
                "dlq": queue.name,
                "messages": int(attributes["ApproximateNumberOfMessages"]),
                "inFlight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
                "holds": queue.holds,
            }
        )
    ctx.emit(rows, columns=("dlq", "messages", "inFlight", "holds"), title="Dead-letter queues")


@dlq.command()
@click.argument("name", type=click.Choice(sorted(DLQS)))
@click.option("--limit", type=int, help="Replay at most this many messages.")
@click.pass_obj
@aws_errors
def redrive(ctx: Context, name: str, limit: int | None) -> None:
    """Replay a DLQ: Email Requests go back to EmailQueue, SES events back to the feedback
    topic. A message is deleted from the DLQ only after it was replayed."""
    queue = DLQS[name]
    target = ctx.target()
    sqs = target.client("sqs")
    source_url = target.name(queue.url_output)
    replay = _to_email_queue(target, sqs) if queue.replay == "queue" else _to_topic(target)
    moved = 0
    with Progress(disable=ctx.as_json, transient=True) as progress:
        task = progress.add_task(f"Redriving {name}", total=limit)
        while limit is None or moved < limit:
            messages = sqs.receive_message(
                QueueUrl=source_url,
                MaxNumberOfMessages=min(10, (limit - moved) if limit else 10),
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                replay(message)
                sqs.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
                progress.advance(task)
    ctx.emit({"dlq": name, "redriven": moved}, columns=("dlq", "redriven"))


def _to_email_queue(target: Any, sqs: Any) -> Any:
    destination = target.name("emailQueueUrl")

    def replay(message: dict[str, Any]) -> None:
        sqs.send_message(QueueUrl=destination, MessageBody=message["Body"])

    return replay


def _to_topic(target: Any) -> Any:
    sns = target.client("sns")
    topic = target.name("feedbackTopicArn")

    def replay(message: dict[str, Any]) -> None:
        # The DLQ holds either SNS's envelope (undeliverable) or the Lambda event (failed after
        # retries); either way the SES event is the SNS message inside.
        body = json.loads(message["Body"])
        records = body.get("Records") or [{"Sns": body}]
        for record in records:
            sns.publish(TopicArn=topic, Message=record["Sns"]["Message"])

    return replay
