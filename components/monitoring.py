"""Monitoring: reputation, error, DLQ and backlog alarms, a dashboard, and the sending brake."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .function import LambdaCode, LambdaFunction, LambdaFunctionArgs
from .naming import METRICS_NAMESPACE, component_type
from .settings import EngineSettings

BRAKE_HANDLER = "handlers.sending_brake.handler"
# AWS's own limits, drawn on the dashboard next to ours.
AWS_BOUNCE_REVIEW, AWS_BOUNCE_PAUSE = 0.05, 0.10
AWS_COMPLAINT_REVIEW, AWS_COMPLAINT_PAUSE = 0.001, 0.005


@dataclass
class MonitoringArgs:
    settings: EngineSettings
    """Thresholds, admin email, brake flag."""
    code: LambdaCode
    """Function archive and dependency layer (for the brake)."""
    configuration_set_name: pulumi.Input[str]
    configuration_set_arn: pulumi.Input[str]
    email_queue_name: pulumi.Input[str]
    dead_letter_queue_names: Mapping[str, pulumi.Input[str]]
    """Label → name of every DLQ in the pipeline."""
    function_names: Mapping[str, pulumi.Input[str]]
    """Label → name of every Lambda function whose errors page someone."""
    sender_event_source_mapping_uuid: pulumi.Input[str]
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
        settings = args.settings

        topic = aws.sns.Topic(f"{name}-alarms", opts=self._child())
        if settings.admin_email:
            aws.sns.TopicSubscription(
                f"{name}-alarms-admin",
                topic=topic.arn,
                protocol="email",
                endpoint=settings.admin_email,
                opts=self._child(),
            )
        brake = self._brake(args) if settings.sending_brake else None

        alarms = {}
        for alarm in _alarms(args):
            actions: list[pulumi.Input[str]] = [topic.arn]
            if brake is not None and alarm.key in ("bounce-rate", "complaint-rate"):
                actions.append(brake.function_arn)
            alarms[alarm.key] = aws.cloudwatch.MetricAlarm(
                f"{name}-{alarm.key}",
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
                opts=self._child(),
            )
        if brake is not None:
            for key in ("bounce-rate", "complaint-rate"):
                aws.lambda_.Permission(
                    f"{name}-{key}-brake-invoke",
                    action="lambda:InvokeFunction",
                    function=brake.function_name,
                    principal="lambda.alarms.cloudwatch.amazonaws.com",
                    source_arn=alarms[key].arn,
                    opts=self._child(),
                )

        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{name}-{pulumi.get_stack()}",
            dashboard_body=pulumi.Output.all(
                region=aws.get_region_output().region,
                queue=args.email_queue_name,
                dlqs=args.dead_letter_queue_names,
                functions=args.function_names,
                configuration_set=args.configuration_set_name,
            ).apply(lambda values: json.dumps(_dashboard(settings, **values))),
            opts=self._child(),
        )

        self.alarm_topic_arn = topic.arn
        self.alarm_names = pulumi.Output.all(*(a.name for a in alarms.values()))
        self.dashboard_name = dashboard.dashboard_name
        self.brake_function_name = brake.function_name if brake else pulumi.Output.from_input(None)
        self.register_outputs(
            {
                "alarm_topic_arn": self.alarm_topic_arn,
                "dashboard_name": self.dashboard_name,
                "brake_function_name": self.brake_function_name,
            }
        )

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    def _brake(self, args: MonitoringArgs) -> LambdaFunction:
        settings = args.settings
        return LambdaFunction(
            f"{self._name}-brake",
            LambdaFunctionArgs(
                code=args.code,
                handler=BRAKE_HANDLER,
                description="sesmailengine: pauses sending when reputation alarms fire",
                memory_mb=128,
                timeout_seconds=30,
                log_retention_days=settings.log_retention_days,
                log_level=settings.log_level,
                environment={
                    "CONFIGURATION_SET": args.configuration_set_name,
                    "SENDER_EVENT_SOURCE_MAPPING_UUID": args.sender_event_source_mapping_uuid,
                    "POWERTOOLS_SERVICE_NAME": "sending-brake",
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
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
            opts=self._child(),
        )


def _alarms(args: MonitoringArgs) -> list[_Alarm]:
    settings = args.settings
    five_minutes = 300
    alarms = [
        _reputation_alarm("bounce", "BounceRate", settings.bounce_rate_alarm_percent, "5%", "10%"),
        _reputation_alarm(
            "complaint", "ComplaintRate", settings.complaint_rate_alarm_percent, "0.1%", "0.5%"
        ),
        # SQS stops publishing only for a queue that is empty and idle, so a missing point
        # is an empty queue: healthy ("notBreaching"). A queue holding messages always reports.
        _Alarm(
            key="email-queue-age",
            description=f"The oldest Email Request has waited over "
            f"{settings.queue_age_alarm_seconds} s: sending is stuck or paused",
            namespace="AWS/SQS",
            metric="ApproximateAgeOfOldestMessage",
            statistic="Maximum",
            period=five_minutes,
            evaluation_periods=2,
            comparison="GreaterThanThreshold",
            threshold=settings.queue_age_alarm_seconds,
            treat_missing_data="notBreaching",
            dimensions={"QueueName": args.email_queue_name},
        ),
    ]
    for label, queue in args.dead_letter_queue_names.items():
        alarms.append(
            _Alarm(
                key=f"{label}-messages",
                description=f"Messages are waiting in the {label}: something was not delivered",
                namespace="AWS/SQS",
                metric="ApproximateNumberOfMessagesVisible",
                statistic="Maximum",
                period=five_minutes,
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
                f"{settings.lambda_errors_alarm_threshold} times in 5 minutes, twice in a row",
                namespace="AWS/Lambda",
                metric="Errors",
                statistic="Sum",
                period=five_minutes,
                evaluation_periods=2,
                comparison="GreaterThanThreshold",
                threshold=settings.lambda_errors_alarm_threshold,
                treat_missing_data="notBreaching",
                dimensions={"FunctionName": function},
            )
        )
    return alarms


def _reputation_alarm(
    kind: str, metric: str, percent: float, aws_review: str, aws_pause: str
) -> _Alarm:
    return _Alarm(
        key=f"{kind}-rate",
        description=f"SES {kind} rate at or above {percent}% for 2 hours (AWS reviews "
        f"accounts at {aws_review} and may pause them at {aws_pause})",
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


def _dashboard(
    settings: EngineSettings,
    *,
    region: str,
    queue: str,
    dlqs: Mapping[str, str],
    functions: Mapping[str, str],
    configuration_set: str,
) -> dict[str, Any]:
    def widget(title: str, metrics: Sequence[list[Any]], **properties: Any) -> dict[str, Any]:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "metrics": list(metrics),
                "view": "timeSeries",
                **properties,
            },
        }

    def limits(ours: float, review: float, pause: float) -> dict[str, Any]:
        return {
            "horizontal": [
                {"label": "our alarm", "value": ours},
                {"label": "AWS review", "value": review},
                {"label": "AWS pause", "value": pause},
            ]
        }

    outcomes = ("EmailsSent", "EmailsFailed", "EmailsSuppressed", "Delivered", "Bounced")
    return {
        "widgets": [
            widget(
                "Bounce rate",
                [["AWS/SES", "Reputation.BounceRate", {"stat": "Maximum", "period": 3600}]],
                annotations=limits(
                    settings.bounce_rate_alarm_percent / 100, AWS_BOUNCE_REVIEW, AWS_BOUNCE_PAUSE
                ),
            ),
            widget(
                "Complaint rate",
                [["AWS/SES", "Reputation.ComplaintRate", {"stat": "Maximum", "period": 3600}]],
                annotations=limits(
                    settings.complaint_rate_alarm_percent / 100,
                    AWS_COMPLAINT_REVIEW,
                    AWS_COMPLAINT_PAUSE,
                ),
            ),
            widget(
                f"Emails by outcome ({configuration_set})",
                [
                    [METRICS_NAMESPACE, metric, "service", service, {"stat": "Sum"}]
                    for metric, service in (
                        *((m, "email-sender") for m in outcomes[:3]),
                        *((m, "feedback-processor") for m in outcomes[3:]),
                        ("Complained", "feedback-processor"),
                    )
                ],
                stacked=True,
                period=300,
            ),
            widget(
                "Failed emails by reason",
                [
                    [
                        {
                            "expression": f"SEARCH('{{{METRICS_NAMESPACE},reason,service}} "
                            "MetricName=\"EmailsFailedByReason\"', 'Sum', 300)",
                            "id": "failed",
                        }
                    ]
                ],
                stacked=True,
            ),
            widget(
                "Render time and SES latency (p95, ms)",
                [
                    [METRICS_NAMESPACE, "RenderTime", "service", "email-sender", {"stat": "p95"}],
                    [".", "SesLatency", ".", ".", {"stat": "p95"}],
                ],
                period=300,
            ),
            widget(
                "EmailQueue depth and age",
                [
                    ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue],
                    [".", "ApproximateAgeOfOldestMessage", ".", ".", {"yAxis": "right"}],
                ],
                stat="Maximum",
                period=300,
            ),
            widget(
                "Dead-letter queues",
                [
                    [
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        "QueueName",
                        name,
                        {"label": label},
                    ]
                    for label, name in dlqs.items()
                ],
                stat="Maximum",
                period=300,
            ),
            *(
                widget(
                    f"{label}: errors, throttles and duration",
                    [
                        ["AWS/Lambda", "Errors", "FunctionName", name, {"stat": "Sum"}],
                        [".", "Throttles", ".", ".", {"stat": "Sum"}],
                        [".", "Duration", ".", ".", {"stat": "p95", "yAxis": "right"}],
                    ],
                    period=300,
                )
                for label, name in functions.items()
            ),
        ]
    }
