"""StatusEvents: the EmailTracking table's stream → a Lambda → one `Email Status Changed` event
per status change, with an on-failure destination for batches Lambda gave up on."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .function import FunctionDefaults, LambdaFunction, LambdaFunctionArgs, function_environment
from .handlers.core.environment import StatusEventsEnvironment
from .handlers.core.events import STATUS_CHANGED
from .naming import Named, child_options, component_type
from .policies import only_events
from .queues import durable_queue

STATUS_EVENTS_HANDLER = "handlers.status_events.handler"
MEMORY_MB = 256
TIMEOUT_SECONDS = 60
BATCH_SIZE = 100
"""Stream records per invocation: ten `PutEvents` calls at most."""
MAXIMUM_RETRY_ATTEMPTS = 100
"""Retries of a failing batch (bisected on each error) before it goes to the DLQ: enough to
ride out an EventBridge incident, few enough that the DLQ still has hours to act on."""
MAXIMUM_RECORD_AGE_SECONDS = 6 * 3600
"""A record older than this goes to the DLQ instead: the stream keeps records 24 hours, so
the DLQ's shard and sequence numbers can still be read back for 18 more."""


@dataclass
class StatusEventsArgs:
    functions: FunctionDefaults
    """Code and log settings of the status-events function."""
    stream_arn: pulumi.Input[str]
    """The EmailTracking table's stream (new and old images)."""
    bus: Named
    """The bus that receives the events."""
    status_event_source: str
    """`source` of the events."""


class StatusEvents(pulumi.ComponentResource):
    """Announces every status change of a tracking item, whoever wrote it."""

    function_name: pulumi.Output[str]
    dead_letter_queue_url: pulumi.Output[str]
    dead_letter_queue_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: StatusEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("StatusEvents"), name, {}, opts)

        # Keeps the description of each batch Lambda stopped retrying (shard, first and last
        # sequence numbers), not the records: they stay readable in the stream for 24 hours.
        dead_letter_queue = durable_queue(f"{name}-dlq", self)
        function = LambdaFunction(
            f"{name}-publisher",
            LambdaFunctionArgs(
                defaults=args.functions,
                handler=STATUS_EVENTS_HANDLER,
                description="sesmailengine: announces tracking status changes on the bus",
                memory_mb=MEMORY_MB,
                timeout_seconds=TIMEOUT_SECONDS,
                environment=function_environment(
                    StatusEventsEnvironment,
                    args.functions,
                    event_bus_name=args.bus.name,
                    status_event_source=args.status_event_source,
                ),
                policy_statements=_statements(args, dead_letter_queue),
            ),
            opts=child_options(self),
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-trigger",
            event_source_arn=args.stream_arn,
            function_name=function.function_arn,
            # Changes made before the first deployment were never announced by this function.
            starting_position="LATEST",
            batch_size=BATCH_SIZE,
            function_response_types=["ReportBatchItemFailures"],
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=MAXIMUM_RETRY_ATTEMPTS,
            maximum_record_age_in_seconds=MAXIMUM_RECORD_AGE_SECONDS,
            destination_config={"on_failure": {"destination_arn": dead_letter_queue.arn}},
            opts=child_options(self),
        )

        self.function_name = function.function_name
        self.dead_letter_queue_url = dead_letter_queue.url
        self.dead_letter_queue_name = dead_letter_queue.name
        self.register_outputs(
            {
                "function_name": self.function_name,
                "dead_letter_queue_url": self.dead_letter_queue_url,
            }
        )


def _statements(
    args: StatusEventsArgs, dead_letter_queue: aws.sqs.Queue
) -> list[pulumi.Input[dict[str, object]]]:
    return [
        {
            # What Lambda's poller does with the function's role.
            "Sid": "ReadTrackingStream",
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            "Resource": args.stream_arn,
        },
        {
            "Sid": "PublishStatusEvents",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": args.bus.arn,
            "Condition": only_events(STATUS_CHANGED, args.status_event_source),
        },
        {
            # The on-failure destination is written with the function's role too.
            "Sid": "KeepAbandonedBatches",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": dead_letter_queue.arn,
        },
    ]
