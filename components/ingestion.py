"""Ingestion: the event bus producers publish to, and the queue that buffers Email Requests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .handlers.core.events import EMAIL_REQUEST
from .naming import child_options, component_type
from .policies import policy_document
from .queues import allow_only_source_to_send, durable_queue

MAX_RECEIVE_COUNT = 3
LONG_POLL_SECONDS = 20


@dataclass
class IngestionArgs:
    bus_name: str
    """Name of the custom EventBridge bus."""
    visibility_timeout_seconds: int
    """EmailQueue visibility timeout: at least six times the sender's timeout."""
    allowed_sources: Sequence[str] = ()
    """Event `source` values routed to the queue; empty routes every source."""
    allowed_source_accounts: Sequence[str] = ()
    """Other AWS accounts allowed to put Email Request events on the bus."""
    rule_retry_attempts: int = 185
    """How often EventBridge retries delivering to the queue before using its DLQ."""
    rule_max_event_age_seconds: int = 86400
    """How long EventBridge keeps retrying."""


class Ingestion(pulumi.ComponentResource):
    """EventBridge bus → rule → EmailQueue, with a dead-letter queue at each hop."""

    bus_name: pulumi.Output[str]
    bus_arn: pulumi.Output[str]
    rule_arn: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_url: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    dead_letter_queue_url: pulumi.Output[str]
    dead_letter_queue_arn: pulumi.Output[str]
    dead_letter_queue_name: pulumi.Output[str]
    rule_dead_letter_queue_url: pulumi.Output[str]
    rule_dead_letter_queue_arn: pulumi.Output[str]
    rule_dead_letter_queue_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: IngestionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("Ingestion"), name, {}, opts)
        self._name = name
        self._args = args

        bus = aws.cloudwatch.EventBus(f"{name}-bus", name=args.bus_name, opts=child_options(self))
        if args.allowed_source_accounts:
            self._cross_account_policy(bus)
        rule = aws.cloudwatch.EventRule(
            f"{name}-email-request",
            event_bus_name=bus.name,
            description="Routes Email Request events to the email queue",
            event_pattern=json.dumps(email_request_pattern(args.allowed_sources)),
            opts=child_options(self),
        )
        dead_letter_queue = durable_queue(f"{name}-email-dlq", self)
        queue = durable_queue(
            f"{name}-email-queue",
            self,
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            redrive_policy=dead_letter_queue.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
                )
            ),
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-email-dlq-redrive-allow",
            queue_url=dead_letter_queue.url,
            redrive_allow_policy=queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child_options(self),
        )
        rule_dead_letter_queue = durable_queue(f"{name}-rule-dlq", self)
        policies = [
            allow_only_source_to_send(
                f"{name}-{role}-policy",
                self,
                target,
                service="events.amazonaws.com",
                source_arn=rule.arn,
            )
            for role, target in (("email-queue", queue), ("rule-dlq", rule_dead_letter_queue))
        ]
        aws.cloudwatch.EventTarget(
            f"{name}-email-request-target",
            rule=rule.name,
            event_bus_name=bus.name,
            arn=queue.arn,
            dead_letter_config={"arn": rule_dead_letter_queue.arn},
            retry_policy={
                "maximum_retry_attempts": args.rule_retry_attempts,
                "maximum_event_age_in_seconds": args.rule_max_event_age_seconds,
            },
            # Without the queue policies the first deliveries would be refused.
            opts=child_options(self, depends_on=policies),
        )

        self.bus_name = bus.name
        self.bus_arn = bus.arn
        self.rule_arn = rule.arn
        self.queue_arn = queue.arn
        self.queue_url = queue.url
        self.queue_name = queue.name
        self.dead_letter_queue_url = dead_letter_queue.url
        self.dead_letter_queue_arn = dead_letter_queue.arn
        self.dead_letter_queue_name = dead_letter_queue.name
        self.rule_dead_letter_queue_url = rule_dead_letter_queue.url
        self.rule_dead_letter_queue_arn = rule_dead_letter_queue.arn
        self.rule_dead_letter_queue_name = rule_dead_letter_queue.name
        self.register_outputs(
            {
                "bus_name": self.bus_name,
                "bus_arn": self.bus_arn,
                "queue_url": self.queue_url,
                "dead_letter_queue_url": self.dead_letter_queue_url,
                "rule_dead_letter_queue_url": self.rule_dead_letter_queue_url,
            }
        )

    def _cross_account_policy(self, bus: aws.cloudwatch.EventBus) -> None:
        accounts = list(self._args.allowed_source_accounts)
        policy = bus.arn.apply(
            lambda arn: policy_document(
                {
                    "Sid": "AllowProducerAccountsToRequestEmail",
                    "Effect": "Allow",
                    "Principal": {"AWS": accounts},
                    "Action": "events:PutEvents",
                    "Resource": arn,
                    # Other accounts may request email, not inject status events.
                    "Condition": {"StringEquals": {"events:detail-type": EMAIL_REQUEST}},
                }
            )
        )
        aws.cloudwatch.EventBusPolicy(
            f"{self._name}-bus-policy",
            event_bus_name=bus.name,
            policy=policy,
            opts=child_options(self),
        )


def email_request_pattern(allowed_sources: Sequence[str] = ()) -> dict[str, list[str]]:
    """The EventBridge pattern that selects Email Request events."""
    pattern = {"detail-type": [EMAIL_REQUEST]}
    if allowed_sources:
        pattern["source"] = list(allowed_sources)
    return pattern
