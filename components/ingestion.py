"""Ingestion: the event bus producers publish to, the queue that buffers Email Requests, the
archive they can be replayed from, and the log that keeps the events no rule takes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .handlers.core.events import EMAIL_REQUEST, STATUS_CHANGED
from .naming import child_options, component_type, invoke_options
from .policies import policy_document
from .queues import allow_only_source_to_send, durable_queue

MAX_RECEIVE_COUNT = 10
"""Receives before EmailQueue's redrive moves a record to the DLQ. The sender backs each retry
off (``handlers.core.backoff``: 1-2 s after the first receive, doubling, 15 min at most), so
the nine waits before the tenth receive add up to 8.5 to 17 minutes: transient trouble shorter
than that (throttling, a brief S3 or DynamoDB outage) never reaches the DLQ. Records that can
never succeed do not use this budget: the sender moves them to the DLQ at once."""
EMAIL_QUEUE_RETENTION_SECONDS = 7 * 24 * 3600
"""How long EmailQueue keeps an Email Request: a week, half of SQS's 14 days. SQS counts its
DLQ's retention (`queues.MAX_RETENTION_SECONDS`) from the request's first arrival in EmailQueue, so
with both at 14 days a request that waited N days before failing would get only 14 - N days
in the DLQ; at 7 days in EmailQueue, every request the DLQ receives stays there a week or more.

The trade-off is the sending brake: while it is on, requests wait in EmailQueue, and one still
there after a week expires unsent, without reaching the DLQ or a final status. A week is the
time to clean the list and release the brake (the `email-queue-age` alarm reports the wait
long before). Longer would shorten the DLQ's guaranteed week; shorter would lose requests
sooner under the brake."""
LONG_POLL_SECONDS = 20
PUBLISHED_DETAIL_TYPES = (STATUS_CHANGED,)
"""detail-types the engine itself puts on its bus, for subscribers' own rules: not unmatched."""
ARCHIVE_NAME_LENGTH = 48
"""EventBridge's longest archive name."""


@dataclass
class IngestionArgs:
    bus_name: str
    """Name of the custom EventBridge bus."""
    visibility_timeout_seconds: int
    """EmailQueue visibility timeout: at least six times the sender's timeout."""
    log_retention_days: int
    """Days the unmatched-events log group keeps events."""
    allowed_sources: Sequence[str] = ()
    """Event `source` values routed to the queue; empty routes every source."""
    source_accounts: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Other AWS accounts allowed to put Email Request events on the bus → the sources each
    may use (empty: any source)."""
    archive_retention_days: int = 30
    """Days the archive keeps Email Requests for replays; 0 keeps them forever."""
    rule_retry_attempts: int = 185
    """How often EventBridge retries delivering to the queue before using its DLQ."""
    rule_max_event_age_seconds: int = 86400
    """How long EventBridge keeps retrying."""


class Ingestion(pulumi.ComponentResource):
    """EventBridge bus → rule → EmailQueue, with a dead-letter queue at each hop."""

    bus_name: pulumi.Output[str]
    bus_arn: pulumi.Output[str]
    rule_arn: pulumi.Output[str]
    archive_arn: pulumi.Output[str]
    unmatched_rule_name: pulumi.Output[str]
    unmatched_log_group_name: pulumi.Output[str]
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
        if args.source_accounts:
            self._cross_account_policy(bus)
        # This account and the allowed ones: the rule routes no other account's events.
        accounts = aws.get_caller_identity_output(opts=invoke_options(self)).account_id.apply(
            lambda own: [own, *args.source_accounts]
        )
        request_pattern = accounts.apply(
            lambda resolved: json.dumps(email_request_pattern(args.allowed_sources, resolved))
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-email-request",
            event_bus_name=bus.name,
            description="Routes Email Request events to the email queue",
            event_pattern=request_pattern,
            opts=child_options(self),
        )
        dead_letter_queue = durable_queue(f"{name}-email-dlq", self)
        queue = durable_queue(
            f"{name}-email-queue",
            self,
            retention_seconds=EMAIL_QUEUE_RETENTION_SECONDS,
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
        archive = aws.cloudwatch.EventArchive(
            f"{name}-email-request-archive",
            name=f"{args.bus_name[: ARCHIVE_NAME_LENGTH - len('-requests')]}-requests",
            description="Email Requests, for `sesmail replay`",
            event_source_arn=bus.arn,
            event_pattern=request_pattern,
            retention_days=args.archive_retention_days,
            opts=child_options(self),
        )
        unmatched_rule, unmatched_log = self._unmatched_events(bus, accounts)

        self.bus_name = bus.name
        self.bus_arn = bus.arn
        self.rule_arn = rule.arn
        self.archive_arn = archive.arn
        self.unmatched_rule_name = unmatched_rule.name
        self.unmatched_log_group_name = unmatched_log.name
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
                "archive_arn": self.archive_arn,
                "unmatched_log_group_name": self.unmatched_log_group_name,
                "queue_url": self.queue_url,
                "dead_letter_queue_url": self.dead_letter_queue_url,
                "rule_dead_letter_queue_url": self.rule_dead_letter_queue_url,
            }
        )

    def _cross_account_policy(self, bus: aws.cloudwatch.EventBus) -> None:
        """One statement per account: it may put Email Requests, with its own sources only."""
        source_accounts = self._args.source_accounts
        policy = bus.arn.apply(
            lambda arn: policy_document(
                *(
                    _producer_account_statement(account, sources, arn)
                    for account, sources in source_accounts.items()
                )
            )
        )
        aws.cloudwatch.EventBusPolicy(
            f"{self._name}-bus-policy",
            event_bus_name=bus.name,
            policy=policy,
            opts=child_options(self),
        )

    def _unmatched_events(
        self, bus: aws.cloudwatch.EventBus, accounts: pulumi.Output[list[str]]
    ) -> tuple[aws.cloudwatch.EventRule, aws.cloudwatch.LogGroup]:
        """A rule taking the events no other rule of the engine takes, into a log group (its
        MatchedEvents metric is what the monitoring alarm counts)."""
        name = self._name
        rule = aws.cloudwatch.EventRule(
            f"{name}-unmatched",
            event_bus_name=bus.name,
            description="Keeps events on the bus that no engine rule takes",
            event_pattern=accounts.apply(
                lambda resolved: json.dumps(unmatched_pattern(self._args.allowed_sources, resolved))
            ),
            opts=child_options(self),
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-unmatched-log",
            name=f"/aws/events/{self._args.bus_name}-unmatched",
            retention_in_days=self._args.log_retention_days,
            opts=child_options(self),
        )
        # EventBridge writes to CloudWatch Logs through the account's logs resource policy,
        # not a role; the condition keeps other rules (and accounts) out of this group.
        policy = aws.cloudwatch.LogResourcePolicy(
            f"{name}-unmatched-log-policy",
            policy_name=f"{self._args.bus_name}-unmatched-events",
            policy_document=pulumi.Output.all(log_group.arn, rule.arn).apply(
                lambda arns: policy_document(
                    {
                        "Sid": "AllowTheUnmatchedRuleToWrite",
                        "Effect": "Allow",
                        "Principal": {
                            "Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
                        },
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": f"{arns[0]}:*",
                        "Condition": {"ArnEquals": {"aws:SourceArn": arns[1]}},
                    }
                )
            ),
            opts=child_options(self),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-unmatched-target",
            rule=rule.name,
            event_bus_name=bus.name,
            arn=log_group.arn,
            opts=child_options(self, depends_on=[policy]),
        )
        return rule, log_group


def _producer_account_statement(
    account: str, sources: Sequence[str], bus_arn: str
) -> dict[str, Any]:
    # Another account may request email, not inject status events, and only as its own
    # producers (ForAllValues: every entry of one PutEvents call must qualify).
    conditions: dict[str, Any] = {"events:detail-type": EMAIL_REQUEST}
    if sources:
        conditions["events:source"] = list(sources)
    return {
        "Sid": f"AllowAccount{account}ToRequestEmail",
        "Effect": "Allow",
        "Principal": {"AWS": account},
        "Action": "events:PutEvents",
        "Resource": bus_arn,
        "Condition": {"ForAllValues:StringEquals": conditions},
    }


def email_request_pattern(allowed_sources: Sequence[str], accounts: Sequence[str]) -> dict:
    """The EventBridge pattern that selects Email Request events: from `accounts`, and with
    one of `allowed_sources` if any are given."""
    pattern: dict[str, list[str]] = {"detail-type": [EMAIL_REQUEST]}
    if allowed_sources:
        pattern["source"] = list(allowed_sources)
    pattern["account"] = list(accounts)
    return pattern


def unmatched_pattern(allowed_sources: Sequence[str], accounts: Sequence[str]) -> dict:
    """The events on the bus that `email_request_pattern` does not take, except the ones the
    engine publishes for subscribers. EventBridge cannot say "matched by no other rule", so
    this spells out the complement, one `$or` case each:

    - a detail-type that is neither `Email Request` nor one the engine publishes (a typo,
      another case: detail-types match exactly);
    - an `Email Request` whose source is not in `allowed_sources` (when any are given);
    - an `Email Request` from an account other than `accounts`.

    Events the bus policy refuses never reach the bus (the producer's PutEvents reports them).
    """
    cases: list[dict[str, list[Any]]] = [
        {"detail-type": [{"anything-but": [EMAIL_REQUEST, *PUBLISHED_DETAIL_TYPES]}]}
    ]
    if allowed_sources:
        cases.append(
            {"detail-type": [EMAIL_REQUEST], "source": [{"anything-but": list(allowed_sources)}]}
        )
    cases.append({"detail-type": [EMAIL_REQUEST], "account": [{"anything-but": list(accounts)}]})
    return {"$or": cases}
