"""ScheduledSends: the EventBridge Scheduler group whose one-time schedules hold requests with a
future `sendAt`, and the role those schedules put the request back on EmailQueue with."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .naming import child_options, component_type, invoke_options
from .policies import assumed_by_scheduler, policy_document


@dataclass
class ScheduledSendsArgs:
    group_name: str
    """Name of the schedule group (`<engine>-<stack>`)."""
    queue_arn: pulumi.Input[str]
    """EmailQueue: every schedule's target."""
    dead_letter_queue_arn: pulumi.Input[str]
    """EmailQueue's DLQ: where a schedule puts a request it could not deliver."""


class ScheduledSends(pulumi.ComponentResource):
    """Where requests wait for their `sendAt`; the sender creates the schedules."""

    group_name: pulumi.Output[str]
    schedules_arn: pulumi.Output[str]
    """The ARN pattern of every schedule in the group (`...:schedule/<group>/*`)."""
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ScheduledSendsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("ScheduledSends"), name, {}, opts)
        self._name = name
        group = aws.scheduler.ScheduleGroup(
            f"{name}-group", name=args.group_name, opts=child_options(self)
        )
        role = self._role(args)
        # Schedules are not under the group's ARN (`schedule-group/<group>`) but beside it.
        partition = aws.get_partition_output(opts=invoke_options(self)).partition
        region = aws.get_region_output(opts=invoke_options(self)).region
        account = aws.get_caller_identity_output(opts=invoke_options(self)).account_id

        self.group_name = group.name
        self.schedules_arn = pulumi.Output.concat(
            "arn:", partition, ":scheduler:", region, ":", account, ":schedule/", group.name, "/*"
        )
        self.role_arn = role.arn
        self.register_outputs(
            {
                "group_name": self.group_name,
                "schedules_arn": self.schedules_arn,
                "role_arn": self.role_arn,
            }
        )

    def _role(self, args: ScheduledSendsArgs) -> aws.iam.Role:
        account = aws.get_caller_identity_output(opts=invoke_options(self)).account_id
        role = aws.iam.Role(
            f"{self._name}-role",
            assume_role_policy=account.apply(assumed_by_scheduler),
            opts=child_options(self),
        )
        aws.iam.RolePolicy(
            f"{self._name}-policy",
            role=role.id,
            policy=pulumi.Output.all(args.queue_arn, args.dead_letter_queue_arn).apply(
                lambda arns: policy_document(
                    {
                        # The request comes back to the sender through EmailQueue (SQS-managed
                        # encryption: no key to grant).
                        "Sid": "PutDueRequestsOnEmailQueue",
                        "Effect": "Allow",
                        "Action": "sqs:SendMessage",
                        "Resource": arns[0],
                    },
                    {
                        # Scheduler's dead-letter queue is written with the schedule's role.
                        "Sid": "KeepUndeliveredRequests",
                        "Effect": "Allow",
                        "Action": "sqs:SendMessage",
                        "Resource": arns[1],
                    },
                )
            ),
            opts=child_options(self),
        )
        return role
