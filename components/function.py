"""One Python Lambda function with its own log group, role and least-privilege policy; the
settings every function of an engine shares (`FunctionDefaults`); and its environment, built
from the handler's own typed model (`function_environment`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .handlers.core.environment import FunctionEnvironment
from .naming import child_options, component_type
from .policies import policy_document


@dataclass(frozen=True)
class LambdaCode:
    """The deployable code shared by every function of an engine."""

    archive: pulumi.Archive
    """The function zip: the `handlers` package at its root."""
    source_code_hash: str
    """Base64 SHA-256 of the function zip, so an unchanged archive shows no diff."""
    layer_arn: pulumi.Input[str]
    """The layer that carries the handlers' third-party dependencies."""
    runtime: str
    """Lambda runtime, e.g. `python3.12`."""
    architecture: str
    """`arm64` or `x86_64`."""


@dataclass(frozen=True)
class FunctionDefaults:
    """What every function of an engine shares, set once from the engine's settings."""

    code: LambdaCode
    """Archive, layer and runtime."""
    log_level: str
    """Application log level (Lambda advanced logging controls; Powertools honours it)."""
    log_retention_days: int
    """Days CloudWatch keeps each function's logs."""
    engine_name: str
    """The engine every function belongs to, `<name>-<stack>` (the default resource prefix):
    written as `ENGINE_NAME`, the `engine` dimension of every metric the handlers emit, which
    the engine's dashboard and alarms select by."""


@dataclass
class LambdaFunctionArgs:
    defaults: FunctionDefaults
    """Code and log settings shared by every function of the engine."""
    handler: str
    """Entry point, e.g. `handlers.email_sender.handler`."""
    description: str
    """Shown in the Lambda console."""
    memory_mb: int
    """Memory size in MB."""
    timeout_seconds: int
    """Timeout in seconds."""
    environment: pulumi.Input[Mapping[str, str]]
    """Environment variables, from `function_environment`."""
    policy_statements: Sequence[pulumi.Input[Mapping[str, object]]] = ()
    """IAM statements the function needs beyond writing its own logs."""
    dead_letter_queue_arn: pulumi.Input[str] | None = None
    """Where an asynchronous invocation goes after Lambda's own retries fail."""
    reserved_concurrency: int | None = None
    """Caps concurrent executions (and reserves them), e.g. for a public endpoint."""


class LambdaFunction(pulumi.ComponentResource):
    """A Lambda function, its log group, and a role allowed exactly what the function needs."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("LambdaFunction"), name, {}, opts)
        defaults = args.defaults

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=defaults.log_retention_days, opts=child_options(self)
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=policy_document(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ),
            opts=child_options(self),
        )
        # The log group exists before the function, so the role needs no logs:CreateLogGroup.
        log_statement = log_group.arn.apply(
            lambda arn: {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{arn}:*",
            }
        )
        statements = [log_statement, *args.policy_statements]
        if args.dead_letter_queue_arn is not None:
            statements.append(
                {
                    "Sid": "KeepFailedInvocations",
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": args.dead_letter_queue_arn,
                }
            )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(*statements).apply(lambda all_: policy_document(*all_)),
            opts=child_options(self),
        )
        function = aws.lambda_.Function(
            f"{name}-function",
            description=args.description,
            runtime=defaults.code.runtime,
            architectures=[defaults.code.architecture],
            handler=args.handler,
            code=defaults.code.archive,
            source_code_hash=defaults.code.source_code_hash,
            layers=[defaults.code.layer_arn],
            role=role.arn,
            memory_size=args.memory_mb,
            reserved_concurrent_executions=args.reserved_concurrency,
            timeout=args.timeout_seconds,
            environment={"variables": args.environment},
            dead_letter_config=(
                {"target_arn": args.dead_letter_queue_arn}
                if args.dead_letter_queue_arn is not None
                else None
            ),
            logging_config={
                "log_format": "JSON",
                "log_group": log_group.name,
                "application_log_level": defaults.log_level,
                "system_log_level": "WARN",
            },
            # The policy must be in place before the function can run (and be subscribed).
            opts=child_options(self, depends_on=[policy]),
        )

        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = role.arn
        self.log_group_name = log_group.name
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "role_arn": self.role_arn,
                "log_group_name": self.log_group_name,
            }
        )


def function_environment(
    model: type[FunctionEnvironment], defaults: FunctionDefaults, **values: pulumi.Input[Any]
) -> pulumi.Output[dict[str, str]]:
    """A function's environment variables: `values` (keyed by the model's field names),
    validated by the model the handler reads them with, which also adds the Powertools
    service name and metrics namespace; the engine's name comes from `defaults`, so every
    function of an engine carries the same one. Unset (None or empty) values are left out."""
    values = {"engine_name": defaults.engine_name, **values}
    return pulumi.Output.all(**values).apply(lambda resolved: model(**resolved).variables())
