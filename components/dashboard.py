"""The CloudWatch dashboard of an engine: reputation against AWS's limits, outcomes, latency,
backlog, dead-letter queues and every function's health, on one page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .handlers.core import metrics
from .handlers.core.metrics import (
    EMAILS_FAILED_BY_REASON,
    ENGINE_DIMENSION,
    FEEDBACK_SERVICE,
    METRICS_NAMESPACE,
    REASON_DIMENSION,
    RENDER_TIME,
    SENDER_SERVICE,
    SERVICE_DIMENSION,
    SES_LATENCY,
)

# AWS's own limits on an account's reputation rates, drawn next to ours.
AWS_BOUNCE_REVIEW, AWS_BOUNCE_PAUSE = 0.05, 0.10
AWS_COMPLAINT_REVIEW, AWS_COMPLAINT_PAUSE = 0.001, 0.005
PERIOD_SECONDS = 300
REPUTATION_PERIOD_SECONDS = 3600


@dataclass(frozen=True)
class DashboardResources:
    """The resolved names the dashboard's widgets select metrics by."""

    region: str
    configuration_set: str
    email_queue: str
    dead_letter_queues: Mapping[str, str]
    """Label → queue name."""
    functions: Mapping[str, str]
    """Label → function name."""
    engine: str
    """The engine's name, the `engine` dimension of every metric in our namespace: another
    engine in the account emits the same metrics under the same services."""


def dashboard_body(
    resources: DashboardResources, *, bounce_alarm_rate: float, complaint_alarm_rate: float
) -> dict[str, Any]:
    """The dashboard's JSON body; the alarm rates are fractions (0.03 for 3%)."""

    def widget(title: str, metrics: Sequence[list[Any]], **properties: Any) -> dict[str, Any]:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": resources.region,
                "metrics": list(metrics),
                "view": "timeSeries",
                **properties,
            },
        }

    return {
        "widgets": [
            widget(
                "Bounce rate",
                [_reputation_metric("Reputation.BounceRate")],
                annotations=_limits(bounce_alarm_rate, AWS_BOUNCE_REVIEW, AWS_BOUNCE_PAUSE),
            ),
            widget(
                "Complaint rate",
                [_reputation_metric("Reputation.ComplaintRate")],
                annotations=_limits(
                    complaint_alarm_rate, AWS_COMPLAINT_REVIEW, AWS_COMPLAINT_PAUSE
                ),
            ),
            widget(
                f"Emails by outcome ({resources.configuration_set})",
                [
                    [
                        METRICS_NAMESPACE,
                        metric,
                        SERVICE_DIMENSION,
                        service,
                        ENGINE_DIMENSION,
                        resources.engine,
                        {"stat": "Sum"},
                    ]
                    for metric, service in _OUTCOMES
                ],
                stacked=True,
                period=PERIOD_SECONDS,
            ),
            widget(
                "Failed emails by reason",
                [[{"expression": _failed_by_reason(resources.engine), "id": "failed"}]],
                stacked=True,
            ),
            widget(
                "Render time and SES latency (p95, ms)",
                [
                    [
                        METRICS_NAMESPACE,
                        RENDER_TIME,
                        SERVICE_DIMENSION,
                        SENDER_SERVICE,
                        ENGINE_DIMENSION,
                        resources.engine,
                        {"stat": "p95"},
                    ],
                    [".", SES_LATENCY, ".", ".", ".", ".", {"stat": "p95"}],
                ],
                period=PERIOD_SECONDS,
            ),
            widget(
                "EmailQueue depth and age",
                [
                    [
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        "QueueName",
                        resources.email_queue,
                    ],
                    [".", "ApproximateAgeOfOldestMessage", ".", ".", {"yAxis": "right"}],
                ],
                stat="Maximum",
                period=PERIOD_SECONDS,
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
                    for label, name in resources.dead_letter_queues.items()
                ],
                stat="Maximum",
                period=PERIOD_SECONDS,
            ),
            *(
                widget(
                    f"{label}: errors, throttles and duration",
                    [
                        ["AWS/Lambda", "Errors", "FunctionName", name, {"stat": "Sum"}],
                        [".", "Throttles", ".", ".", {"stat": "Sum"}],
                        [".", "Duration", ".", ".", {"stat": "p95", "yAxis": "right"}],
                    ],
                    period=PERIOD_SECONDS,
                )
                for label, name in resources.functions.items()
            ),
        ]
    }


# Every outcome metric, with the service that emits it, in the order the widget stacks them.
_OUTCOMES = (
    (metrics.EMAILS_SENT, SENDER_SERVICE),
    (metrics.EMAILS_FAILED, SENDER_SERVICE),
    (metrics.EMAILS_SUPPRESSED, SENDER_SERVICE),
    (metrics.DELIVERED, FEEDBACK_SERVICE),
    (metrics.BOUNCED, FEEDBACK_SERVICE),
    (metrics.COMPLAINED, FEEDBACK_SERVICE),
)


def _failed_by_reason(engine: str) -> str:
    """A search for every reason this engine's sender counts failures under."""
    schema = ",".join((METRICS_NAMESPACE, ENGINE_DIMENSION, REASON_DIMENSION, SERVICE_DIMENSION))
    terms = f'MetricName="{EMAILS_FAILED_BY_REASON}" {ENGINE_DIMENSION}="{engine}"'
    return f"SEARCH('{{{schema}}} {terms}', 'Sum', {PERIOD_SECONDS})"


def _reputation_metric(metric: str) -> list[Any]:
    return ["AWS/SES", metric, {"stat": "Maximum", "period": REPUTATION_PERIOD_SECONDS}]


def _limits(ours: float, review: float, pause: float) -> dict[str, Any]:
    return {
        "horizontal": [
            {"label": "our alarm", "value": ours},
            {"label": "AWS review", "value": review},
            {"label": "AWS pause", "value": pause},
        ]
    }
