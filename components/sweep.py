"""StuckEmailSweep: an EventBridge Scheduler schedule runs a Lambda that reports (and under the
`hold` policy resolves) emails stuck in `processing`."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .function import FunctionDefaults, LambdaFunction, LambdaFunctionArgs, function_environment
from .handlers.core.environment import SweepEnvironment
from .handlers.core.statuses import AmbiguousSendPolicy
from .naming import Named, child_options, component_type, invoke_options
from .policies import assumed_by_scheduler, policy_document

SWEEP_HANDLER = "handlers.stuck_sweep.handler"
MEMORY_MB = 256
TIMEOUT_SECONDS = 120
SCHEDULE_RETRY_ATTEMPTS = 2
"""A missed run is made up by the next one: few retries, and none older than one interval."""


@dataclass
class StuckEmailSweepArgs:
    functions: FunctionDefaults
    """Code and log settings of the sweep function."""
    tracking_table: Named
    """EmailTracking, read through its `date-partition-index` and written under `hold`."""
    stuck_after_minutes: int
    """Age of the last claim after which a `processing` email is stuck."""
    ambiguous_send_policy: AmbiguousSendPolicy
    """`hold` writes stuck abandoned emails `unknown`; `resend` only reports them."""
    every_minutes: int
    """How often the schedule runs the sweep."""


class StuckEmailSweep(pulumi.ComponentResource):
    """Surfaces emails no attempt will finish: a `StuckEmails` metric and one log line each."""

    function_name: pulumi.Output[str]
    schedule_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: StuckEmailSweepArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("StuckEmailSweep"), name, {}, opts)
        self._name = name
        function = self._function(args)
        schedule = self._schedule(args, function)

        self.function_name = function.function_name
        self.schedule_arn = schedule.arn
        self.register_outputs(
            {"function_name": self.function_name, "schedule_arn": self.schedule_arn}
        )

    def _function(self, args: StuckEmailSweepArgs) -> LambdaFunction:
        table = args.tracking_table
        return LambdaFunction(
            f"{self._name}-sweeper",
            LambdaFunctionArgs(
                defaults=args.functions,
                handler=SWEEP_HANDLER,
                description="sesmailengine: reports emails stuck in processing",
                memory_mb=MEMORY_MB,
                timeout_seconds=TIMEOUT_SECONDS,
                environment=function_environment(
                    SweepEnvironment,
                    args.functions,
                    tracking_table=table.name,
                    stuck_after_minutes=args.stuck_after_minutes,
                    ambiguous_send_policy=args.ambiguous_send_policy,
                ),
                policy_statements=[
                    pulumi.Output.from_input(table.arn).apply(
                        lambda arn: {
                            "Sid": "FindStuckEmails",
                            "Effect": "Allow",
                            "Action": "dynamodb:Query",
                            "Resource": f"{arn}/index/date-partition-index",
                        }
                    ),
                    {
                        # `hold` writes `unknown` over an expired claim, conditionally.
                        "Sid": "HoldStuckEmails",
                        "Effect": "Allow",
                        "Action": "dynamodb:UpdateItem",
                        "Resource": table.arn,
                    },
                ],
            ),
            opts=child_options(self),
        )

    def _schedule(
        self, args: StuckEmailSweepArgs, function: LambdaFunction
    ) -> aws.scheduler.Schedule:
        account = aws.get_caller_identity_output(opts=invoke_options(self)).account_id
        role = aws.iam.Role(
            f"{self._name}-scheduler-role",
            assume_role_policy=account.apply(assumed_by_scheduler),
            opts=child_options(self),
        )
        aws.iam.RolePolicy(
            f"{self._name}-scheduler-policy",
            role=role.id,
            policy=function.function_arn.apply(
                lambda arn: policy_document(
                    {
                        "Sid": "RunTheSweep",
                        "Effect": "Allow",
                        "Action": "lambda:InvokeFunction",
                        "Resource": arn,
                    }
                )
            ),
            opts=child_options(self),
        )
        return aws.scheduler.Schedule(
            f"{self._name}-schedule",
            description="sesmailengine: find emails stuck in processing",
            schedule_expression=f"rate({args.every_minutes} "
            f"{'minute' if args.every_minutes == 1 else 'minutes'})",
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": function.function_arn,
                "role_arn": role.arn,
                "retry_policy": {
                    "maximum_retry_attempts": SCHEDULE_RETRY_ATTEMPTS,
                    "maximum_event_age_in_seconds": args.every_minutes * 60,
                },
            },
            opts=child_options(self),
        )
