"""SQS queues as every component here needs them: durable, encrypted, written to by one source."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .naming import child_options
from .policies import deny_insecure_transport, policy_document

MAX_RETENTION_SECONDS = 14 * 24 * 3600
"""SQS's longest retention, which every dead-letter queue here keeps. A standard queue's message
keeps its original enqueue time when SQS redrives it to a DLQ, so it expires there at the DLQ's
retention counted from when it first arrived: a queue that redrives to a DLQ must keep messages
for less than this, or what it moves late would expire in the DLQ before anyone could look."""


def durable_queue(
    name: str,
    parent: pulumi.Resource,
    *,
    retention_seconds: int = MAX_RETENTION_SECONDS,
    **settings: object,
) -> aws.sqs.Queue:
    """A queue encrypted with SQS-managed keys that keeps messages `retention_seconds`: by
    default as long as SQS allows, as a dead-letter queue must."""
    return aws.sqs.Queue(
        name,
        message_retention_seconds=retention_seconds,
        sqs_managed_sse_enabled=True,
        **settings,
        opts=child_options(parent),
    )


def allow_only_source_to_send(
    name: str,
    parent: pulumi.Resource,
    queue: aws.sqs.Queue,
    *,
    service: str,
    source_arn: pulumi.Input[str],
) -> aws.sqs.QueuePolicy:
    """A queue policy admitting messages from one AWS service acting for one resource."""
    policy = pulumi.Output.all(queue.arn, source_arn).apply(
        lambda arns: policy_document(
            {
                "Sid": "AllowOnlyItsSource",
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sqs:SendMessage",
                "Resource": arns[0],
                "Condition": {"ArnEquals": {"aws:SourceArn": arns[1]}},
            },
            deny_insecure_transport("sqs", [arns[0]]),
        )
    )
    return aws.sqs.QueuePolicy(name, queue_url=queue.url, policy=policy, opts=child_options(parent))
