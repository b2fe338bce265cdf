"""Monitoring: reputation, error, DLQ and backlog alarms, the dashboard, and the sending brake."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .dashboard import (
    AWS_BOUNCE_PAUSE,
    AWS_BOUNCE_REVIEW,
    AWS_COMPLAINT_PAUSE,
    AWS_COMPLAINT_REVIEW,
    DashboardResources,
    dashboard_body,
)
from .function import FunctionDefaults, LambdaFunction, LambdaFunctionArgs, function_environment
from .handlers.core.environment import BrakeEnvironment
from .handlers.core.metrics import (
    ENGINE_DIMENSION,
    METRICS_NAMESPACE,
    SENDER_SERVICE,
    SERVICE_DIMENSION,
    STUCK_EMAILS,
    STUCK_SWEEP_SERVICE,
    TRACKING_WRITE_FAILURES,
)
from .naming import child_options, component_type, invoke_options
from .policies import deny_insecure_transport, policy_document

BRAKE_HANDLER = "handlers.sending_brake.handler"
BRAKE_MEMORY_MB = 128
BRAKE_TIMEOUT_SECONDS = 30
BRAKED_ALARMS = ("bounce-rate", "complaint-rate")
"""The alarms that also invoke the brake."""
FIVE_MINUTES = 300


@dataclass(frozen=True)
class AlarmThresholds:
    """When each alarm fires."""

    bounce_rate_percent: float
    """SES bounce rate, in percent, held for two hours."""
    complaint_rate_percent: float
    """SES complaint rate, in percent, held for two hours."""
    lambda_errors: int
    """Errors of one function in 5 minutes, twice in a row."""
    queue_age_seconds: int
    """Age of the oldest Email Request in EmailQueue, for 10 minutes."""


@dataclass(frozen=True)
class UnmatchedEventsRule:
    """The rule that takes the events on the bus no engine rule takes."""

    bus_name: pulumi.Input[str]
    rule_name: pulumi.Input[str]


@dataclass
class MonitoringArgs:
    functions: FunctionDefaults
    """Code and log settings of the brake function."""
    thresholds: AlarmThresholds
    """When each alarm fires (the reputation ones are drawn on the dashboard too)."""
    admin_email: str | None
    """Subscribed to the alarm topic; None subscribes no one."""
    topic_key_arn: pulumi.Input[str] | None
    """The KMS key that encrypts the alarm topic (`TopicKey`); None leaves it unencrypted."""
    sending_brake: bool
    """Pause sending (configuration set and sender trigger) when a reputation alarm fires."""
    configuration_set_name: pulumi.Input[str]
    """The configuration set the brake pauses and the dashboard names."""
    configuration_set_arn: pulumi.Input[str]
    email_queue_name: pulumi.Input[str]
    """EmailQueue, whose backlog is alarmed on."""
    unmatched_events_rule: UnmatchedEventsRule
    """Any event it matches raises an alarm: a producer's request went nowhere."""
    dead_letter_queue_names: Mapping[str, pulumi.Input[str]]
    """Label → name of every DLQ in the pipeline."""
    function_names: Mapping[str, pulumi.Input[str]]
    """Label → name of every Lambda function whose errors page someone."""
    sender_event_source_mapping_uuid: pulumi.Input[str]
    """The sender's queue trigger, which the brake disables."""
    sender_event_source_mapping_arn: pulumi.Input[str]


@dataclass(frozen=True)
class _Alarm:
    key: str
    description: str
    namespace: str
    metric: str
    statistic: str
    period: int
    evaluation_periods: int
    comparison: str
    threshold: float
    treat_missing_data: str
    dimensions: Mapping[str, pulumi.Input[str]] | None = None


class Monitoring(pulumi.ComponentResource):
    """Tells a person, and optionally the brake, before AWS acts on the account."""

    alarm_topic_arn: pulumi.Output[str]
    alarm_names: pulumi.Output[list[str]]
    dashboard_name: pulumi.Output[str]
    brake_function_name: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("Monitoring"), name, {}, opts)
        self._name = name

        topic = self._topic(args)
        if args.admin_email:
            aws.sns.TopicSubscription(
                f"{name}-alarms-admin",
                topic=topic.arn,
                protocol="email",
                endpoint=args.admin_email,
                opts=child_options(self),
            )
        brake = self._brake(args) if args.sending_brake else None
        alarms = self._alarms(args, topic, brake)
        dashboard = self._dashboard(args)

        self.alarm_topic_arn = topic.arn
        self.alarm_names = pulumi.Output.all(*(a.name for a in alarms))
        self.dashboard_name = dashboard.dashboard_name
        self.brake_function_name = brake.function_name if brake else pulumi.Output.from_input(None)
        self.register_outputs(
            {
                "alarm_topic_arn": self.alarm_topic_arn,
                "dashboard_name": self.dashboard_name,
                "brake_function_name": self.brake_function_name,
            }
        )

    def _topic(self, args: MonitoringArgs) -> aws.sns.Topic:
        """The alarm topic, which only this account's alarms may publish to, over TLS."""
        topic = aws.sns.Topic(
            f"{self._name}-alarms", kms_master_key_id=args.topic_key_arn, opts=child_options(self)
        )
        aws.sns.TopicPolicy(
            f"{self._name}-alarms-policy",
            arn=topic.arn,
            policy=topic.arn.apply(_only_this_accounts_alarms),
            opts=child_options(self),
        )
        return topic

    def _alarms(
        self, args: MonitoringArgs, topic: aws.sns.Topic, brake: LambdaFunction | None
    ) -> list[aws.cloudwatch.MetricAlarm]:
        """Every alarm, notifying the topic; the reputation ones also invoke the brake."""
        alarms = {}
        for alarm in _alarms(args):
            actions: list[pulumi.Input[str]] = [topic.arn]
            if brake is not None and alarm.key in BRAKED_ALARMS:
                actions.append(brake.function_arn)
            alarms[alarm.key] = aws.cloudwatch.MetricAlarm(
                f"{self._name}-{alarm.key}",
                alarm_description=alarm.description,
                namespace=alarm.namespace,
                metric_name=alarm.metric,
                statistic=alarm.statistic,
                period=alarm.period,
                evaluation_periods=alarm.evaluation_periods,
                datapoints_to_alarm=alarm.evaluation_periods,
                comparison_operator=alarm.comparison,
                threshold=alarm.threshold,
                treat_missing_data=alarm.treat_missing_data,
                dimensions=alarm.dimensions,
                alarm_actions=actions,
                ok_actions=[topic.arn],
                opts=child_options(self),
            )
        if brake is not None:
            for key in BRAKED_ALARMS:
                aws.lambda_.Permission(
                    f"{self._name}-{key}-brake-invoke",
                    action="lambda:InvokeFunction",
                    function=brake.function_name,
                    principal="lambda.alarms.cloudwatch.amazonaws.com",
                    source_arn=alarms[key].arn,
                    opts=child_options(self),
                )
        return list(alarms.values())

    def _dashboard(self, args: MonitoringArgs) -> aws.cloudwatch.Dashboard:
        thresholds = args.thresholds
        resources = pulumi.Output.all(
            region=aws.get_region_output(opts=invoke_options(self)).region,
            configuration_set=args.configuration_set_name,
            email_queue=args.email_queue_name,
            dead_letter_queues=args.dead_letter_queue_names,
            functions=args.function_names,
            engine=args.functions.engine_name,
        ).apply(lambda values: DashboardResources(**values))
        return aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=f"{self._name}-{pulumi.get_stack()}",
            dashboard_body=resources.apply(
                lambda resolved: json.dumps(
                    dashboard_body(
                        resolved,
                        bounce_alarm_rate=thresholds.bounce_rate_percent / 100,
                        complaint_alarm_rate=thresholds.complaint_rate_percent / 100,
                    )
                )
            ),
            opts=child_options(self),
        )

    def _brake(self, args: MonitoringArgs) -> LambdaFunction:
        return LambdaFunction(
            f"{self._name}-brake",
            LambdaFunctionArgs(
                defaults=args.functions,
                handler=BRAKE_HANDLER,
                description="sesmailengine: pauses sending when reputation alarms fire",
                memory_mb=BRAKE_MEMORY_MB,
                timeout_seconds=BRAKE_TIMEOUT_SECONDS,
                environment=function_environment(
                    BrakeEnvironment,
                    args.functions,
                    configuration_set=args.configuration_set_name,
                    sender_event_source_mapping_uuid=args.sender_event_source_mapping_uuid,
                ),
                policy_statements=[
                    {
                        "Sid": "ToggleSending",
                        "Effect": "Allow",
                        "Action": [
                            "ses:PutConfigurationSetSendingOptions",
                            "ses:GetConfigurationSet",
                        ],
                        "Resource": args.configuration_set_arn,
                    },
                    {
                        "Sid": "ToggleSenderTrigger",
                        "Effect": "Allow",
                        "Action": [
                            "lambda:UpdateEventSourceMapping",
                            "lambda:GetEventSourceMapping",
                        ],
                        "Resource": args.sender_event_source_mapping_arn,
                    },
                ],
            ),
            opts=child_options(self),
        )


def _only_this_accounts_alarms(topic_arn: str) -> str:
    account = topic_arn.split(":")[4]
    return policy_document(
        {
            "Sid": "AllowAlarmNotifications",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            # Confused-deputy guard: only CloudWatch acting for alarms of our account.
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        },
        deny_insecure_transport("sns", [topic_arn]),
    )


def _alarms(args: MonitoringArgs) -> list[_Alarm]:
    thresholds = args.thresholds
    alarms = [
        _reputation_alarm(
            "bounce",
            "BounceRate",
            thresholds.bounce_rate_percent,
            AWS_BOUNCE_REVIEW,
            AWS_BOUNCE_PAUSE,
        ),
        _reputation_alarm(
            "complaint",
            "ComplaintRate",
            thresholds.complaint_rate_percent,
            AWS_COMPLAINT_REVIEW,
            AWS_COMPLAINT_PAUSE,
        ),
        # SQS stops publishing only for a queue that is empty and idle, so a missing point
        # is an empty queue: healthy ("notBreaching"). A queue holding messages always reports.
        _Alarm(
            key="email-queue-age",
            description=f"The oldest Email Request has waited over "
            f"{thresholds.queue_age_seconds} s: sending is stuck or paused",
            namespace="AWS/SQS",
            metric="ApproximateAgeOfOldestMessage",
            statistic="Maximum",
            period=FIVE_MINUTES,
            evaluation_periods=2,
            comparison="GreaterThanThreshold",
            threshold=thresholds.queue_age_seconds,
            treat_missing_data="notBreaching",
            dimensions={"QueueName": args.email_queue_name},
        ),
        # EventBridge publishes MatchedEvents only for a rule that matched something.
        _Alarm(
            key="unmatched-events",
            description="Events reached the bus that no rule takes (a wrong detail-type, a "
            "source or account not allowed): see `sesmail unmatched`",
            namespace="AWS/Events",
            metric="MatchedEvents",
            statistic="Sum",
            period=FIVE_MINUTES,
            evaluation_periods=1,
            comparison="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            dimensions={
                "EventBusName": args.unmatched_events_rule.bus_name,
                "RuleName": args.unmatched_events_rule.rule_name,
            },
        ),
    ]
    alarms += _crash_window_alarms(args.functions.engine_name)
    for label, queue in args.dead_letter_queue_names.items():
        alarms.append(
            _Alarm(
                key=f"{label}-messages",
                description=f"Messages are waiting in the {label}: something was not delivered",
                namespace="AWS/SQS",
                metric="ApproximateNumberOfMessagesVisible",
                statistic="Maximum",
                period=FIVE_MINUTES,
                evaluation_periods=1,
                comparison="GreaterThanThreshold",
                threshold=0,
                treat_missing_data="notBreaching",
                dimensions={"QueueName": queue},
            )
        )
    for label, function in args.function_names.items():
        # A function that was not invoked had no errors: missing data is healthy.
        alarms.append(
            _Alarm(
                key=f"{label}-errors",
                description=f"The {label} failed more than "
                f"{thresholds.lambda_errors} times in 5 minutes, twice in a row",
                namespace="AWS/Lambda",
                metric="Errors",
                statistic="Sum",
                period=FIVE_MINUTES,
                evaluation_periods=2,
                comparison="GreaterThanThreshold",
                threshold=thresholds.lambda_errors,
                treat_missing_data="notBreaching",
                dimensions={"FunctionName": function},
            )
        )
    return alarms


def _crash_window_alarms(engine: str) -> list[_Alarm]:
    """Emails whose state no attempt will settle by itself, alarmed at the first one (of this
    engine: another engine's metrics share the namespace and services)."""
    return [
        _any_count(
            "stuck-emails",
            "Emails are still processing after stuckAfterMinutes: the sweep logs each emailId "
            "(under hold they are now `unknown`, never resent)",
            STUCK_EMAILS,
            STUCK_SWEEP_SERVICE,
            engine,
            "Maximum",
        ),
        _any_count(
            "tracking-write-failures",
            "The sender could not record an email's outcome (it may have been sent): its "
            "status waits for SES's Send event or the stuck-email sweep",
            TRACKING_WRITE_FAILURES,
            SENDER_SERVICE,
            engine,
            "Sum",
        ),
    ]


def _any_count(
    key: str, description: str, metric: str, service: str, engine: str, statistic: str
) -> _Alarm:
    # Our metrics are emitted only by a function that ran: a missing point is healthy.
    return _Alarm(
        key=key,
        description=description,
        namespace=METRICS_NAMESPACE,
        metric=metric,
        statistic=statistic,
        period=FIVE_MINUTES,
        evaluation_periods=1,
        comparison="GreaterThanThreshold",
        threshold=0,
        treat_missing_data="notBreaching",
        # Exactly the dimensions the handlers emit: CloudWatch matches the whole set.
        dimensions={SERVICE_DIMENSION: service, ENGINE_DIMENSION: engine},
    )


def _reputation_alarm(
    kind: str, metric: str, percent: float, aws_review: float, aws_pause: float
) -> _Alarm:
    return _Alarm(
        key=f"{kind}-rate",
        description=f"SES {kind} rate at or above {percent}% for 2 hours (AWS reviews "
        f"accounts at {_percent(aws_review)} and may pause them at {_percent(aws_pause)})",
        namespace="AWS/SES",
        metric=f"Reputation.{metric}",
        statistic="Maximum",
        period=3600,
        evaluation_periods=2,
        comparison="GreaterThanOrEqualToThreshold",
        threshold=percent / 100,
        # SES publishes reputation rates only when it has computed them: a gap says nothing
        # about the account, so it must neither clear nor raise the alarm.
        treat_missing_data="ignore",
    )


def _percent(rate: float) -> str:
    return f"{rate * 100:g}%"
