"""The Monitoring component: which alarms exist, exactly, and the dashboard and brake."""

from __future__ import annotations

import json

import pytest
from sesmailengine.testing import ResourceGraph

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"


def alarms(graph: ResourceGraph) -> dict[str, dict]:
    prefix = "sesmailengine-monitoring-"
    return {a.name.removeprefix(prefix): a.inputs for a in graph.of_type(ALARM)}


def alarm_topic(graph: ResourceGraph) -> str:
    return graph.one("aws:sns/topic:Topic", "alarms").outputs["arn"]


def name_of(graph: ResourceGraph, type_: str, name: str) -> str:
    return graph.one(type_, name).outputs["name"]


def test_exactly_the_documented_alarms_exist(dev):
    assert set(alarms(dev)) == {
        "bounce-rate",
        "complaint-rate",
        "email-sender-errors",
        "feedback-processor-errors",
        "status-events-errors",
        "unsubscribe-endpoint-errors",
        "rule-dlq-messages",
        "email-dlq-messages",
        "feedback-dlq-messages",
        "status-events-dlq-messages",
        "email-queue-age",
        "unmatched-events",
        "stuck-email-sweep-errors",
        "stuck-emails",
        "tracking-write-failures",
    }


@pytest.mark.parametrize(
    ("alarm", "metric", "threshold"),
    [
        ("bounce-rate", "Reputation.BounceRate", 0.03),
        ("complaint-rate", "Reputation.ComplaintRate", 0.0005),
    ],
)
def test_reputation_alarms_fire_at_the_threshold_for_two_hours(dev, alarm, metric, threshold):
    spec = alarms(dev)[alarm]
    assert spec["namespace"] == "AWS/SES"
    assert spec["metricName"] == metric
    assert spec["statistic"] == "Maximum"
    assert spec["period"] == 3600
    assert spec["evaluationPeriods"] == 2
    assert spec["datapointsToAlarm"] == 2
    assert spec["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert spec["threshold"] == pytest.approx(threshold)
    assert spec["treatMissingData"] == "ignore"
    assert spec["alarmActions"] == [alarm_topic(dev)]
    assert spec["okActions"] == [alarm_topic(dev)]


def test_the_prod_stack_sets_its_own_thresholds(prod):
    specs = alarms(prod)
    assert specs["bounce-rate"]["threshold"] == pytest.approx(0.02)
    assert specs["complaint-rate"]["threshold"] == pytest.approx(0.0003)
    assert specs["email-queue-age"]["threshold"] == 600
    assert specs["email-sender-errors"]["threshold"] == 50


def test_thresholds_come_from_stack_config(run_stack):
    tuned = alarms(
        run_stack(
            "dev",
            bounceRateAlarmPercent="2",
            complaintRateAlarmPercent="0.03",
            lambdaErrorsAlarmThreshold="5",
            queueAgeAlarmSeconds="120",
        )
    )
    assert tuned["bounce-rate"]["threshold"] == pytest.approx(0.02)
    assert tuned["complaint-rate"]["threshold"] == pytest.approx(0.0003)
    assert tuned["email-sender-errors"]["threshold"] == 5
    assert tuned["email-queue-age"]["threshold"] == 120


@pytest.mark.parametrize(
    ("alarm", "function"),
    [
        ("email-sender-errors", "sender"),
        ("feedback-processor-errors", "processor"),
        ("status-events-errors", "status-events-publisher"),
    ],
)
def test_lambda_error_alarms_count_errors_per_five_minutes_twice(dev, alarm, function):
    spec = alarms(dev)[alarm]
    assert spec["namespace"] == "AWS/Lambda"
    assert spec["metricName"] == "Errors"
    assert spec["statistic"] == "Sum"
    assert spec["period"] == 300
    assert spec["evaluationPeriods"] == 2
    assert spec["comparisonOperator"] == "GreaterThanThreshold"
    assert spec["threshold"] == 50
    assert spec["treatMissingData"] == "notBreaching"
    assert spec["dimensions"] == {"FunctionName": name_of(dev, FUNCTION, function)}


@pytest.mark.parametrize("queue", ["rule-dlq", "email-dlq", "feedback-dlq", "status-events-dlq"])
def test_each_dlq_alarms_on_any_visible_message(dev, queue):
    spec = alarms(dev)[f"{queue}-messages"]
    assert spec["namespace"] == "AWS/SQS"
    assert spec["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert spec["statistic"] == "Maximum"
    assert spec["evaluationPeriods"] == 1
    assert spec["comparisonOperator"] == "GreaterThanThreshold"
    assert spec["threshold"] == 0
    assert spec["dimensions"] == {"QueueName": name_of(dev, QUEUE, queue)}
    assert spec["alarmActions"] == [alarm_topic(dev)]


def test_a_stuck_queue_alarms_on_the_age_of_its_oldest_message(dev):
    spec = alarms(dev)["email-queue-age"]
    assert spec["metricName"] == "ApproximateAgeOfOldestMessage"
    assert spec["threshold"] == 900
    assert spec["dimensions"] == {"QueueName": name_of(dev, QUEUE, "email-queue")}


def test_admin_email_is_subscribed_only_when_configured(dev, prod):
    subscriptions = [
        s for s in dev.of_type("aws:sns/topicSubscription:TopicSubscription") if "alarms" in s.name
    ]
    assert subscriptions == []
    admin = prod.one("aws:sns/topicSubscription:TopicSubscription", "alarms-admin").inputs
    assert admin == {
        **admin,
        "protocol": "email",
        "endpoint": "ops@example.com",
        "topic": alarm_topic(prod),
    }


def test_dashboard_is_valid_json_naming_the_real_resources(dev):
    body = json.loads(dev.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    text = json.dumps(body)
    for queue in ("email-queue", "rule-dlq", "email-dlq", "feedback-dlq"):
        assert name_of(dev, QUEUE, queue) in text
    for function in ("sender", "processor"):
        assert name_of(dev, FUNCTION, function) in text
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "Bounce rate" in titles and "Complaint rate" in titles
    assert "EmailsFailedByReason" in text and "SesLatency" in text
    bounce = next(w for w in body["widgets"] if w["properties"]["title"] == "Bounce rate")
    lines = {a["label"]: a["value"] for a in bounce["properties"]["annotations"]["horizontal"]}
    assert lines == {"our alarm": 0.03, "AWS review": 0.05, "AWS pause": 0.10}
    assert all(w["properties"]["region"] == "us-east-1" for w in body["widgets"])


def our_metrics(graph: ResourceGraph) -> list[list]:
    """Every dashboard metric line in the SESMailEngine namespace, `"."` repeats resolved."""
    body = json.loads(graph.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    lines = []
    for widget in body["widgets"]:
        previous: list = []
        for line in widget["properties"].get("metrics", []):
            fields = [f for f in line if not isinstance(f, dict)]
            resolved = [previous[i] if f == "." else f for i, f in enumerate(fields)]
            previous = resolved
            if resolved and resolved[0] == "SESMailEngine":
                lines.append(resolved)
    return lines


def dimensions(line: list) -> dict[str, str]:
    """A metric line's dimensions: namespace, metric, then name, value pairs."""
    return dict(zip(line[2::2], line[3::2], strict=True))


def searches(graph: ResourceGraph) -> list[str]:
    body = json.loads(graph.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    return [
        field["expression"]
        for widget in body["widgets"]
        for line in widget["properties"].get("metrics", [])
        for field in line
        if isinstance(field, dict) and "expression" in field
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_dashboard_charts_only_this_engines_own_metrics(stack, request):
    graph: ResourceGraph = request.getfixturevalue(stack)
    engine = f"sesmailengine-{stack}"
    lines = our_metrics(graph)
    assert len(lines) >= 8  # outcomes, render time and SES latency
    for line in lines:
        # THEN each metric selects the engine dimension, by this engine's name
        assert dimensions(line).get("engine") == engine, line
    [search] = searches(graph)
    assert "{SESMailEngine,engine,reason,service}" in search
    assert f'engine="{engine}"' in search


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_alarms_on_our_metrics_select_this_engine(stack, request):
    graph: ResourceGraph = request.getfixturevalue(stack)
    ours = {k: a for k, a in alarms(graph).items() if a["namespace"] == "SESMailEngine"}
    assert set(ours) == {"stuck-emails", "tracking-write-failures"}
    for key, alarm in ours.items():
        # THEN the alarm's dimensions are exactly the set the handlers emit
        assert set(alarm["dimensions"]) == {"service", "engine"}, key
        assert alarm["dimensions"]["engine"] == f"sesmailengine-{stack}", key


def test_two_engines_in_one_account_select_different_engine_values(dev, prod):
    # GIVEN two engines (dev and prod) sharing the namespace and services
    # THEN neither one's alarms or dashboard select the other's metrics
    def engines(graph: ResourceGraph) -> set[str]:
        values = {
            a["dimensions"]["engine"]
            for a in alarms(graph).values()
            if "engine" in (a.get("dimensions") or {})
        }
        return values | {dimensions(line)["engine"] for line in our_metrics(graph)}

    assert engines(dev) == {"sesmailengine-dev"}
    assert engines(prod) == {"sesmailengine-prod"}


def test_brake_is_off_in_dev_and_wired_to_the_reputation_alarms_in_prod(dev, prod):
    assert not [f for f in dev.of_type(FUNCTION) if "brake" in f.name]
    brake = prod.one(FUNCTION, "brake")
    assert brake.inputs["handler"] == "handlers.sending_brake.handler"
    env = brake.inputs["environment"]["variables"]
    mapping = prod.one("aws:lambda/eventSourceMapping:EventSourceMapping", "sender-trigger")
    assert env["SENDER_EVENT_SOURCE_MAPPING_UUID"] == mapping.outputs["uuid"]
    assert env["CONFIGURATION_SET"] == "sesmailengine-prod"
    specs = alarms(prod)
    for alarm in ("bounce-rate", "complaint-rate"):
        assert specs[alarm]["alarmActions"] == [alarm_topic(prod), brake.outputs["arn"]]
    for alarm in ("email-sender-errors", "email-dlq-messages"):
        assert specs[alarm]["alarmActions"] == [alarm_topic(prod)]
    permissions = [
        p.inputs for p in prod.of_type("aws:lambda/permission:Permission") if "brake" in p.name
    ]
    assert {p["principal"] for p in permissions} == {"lambda.alarms.cloudwatch.amazonaws.com"}
    assert {p["sourceArn"] for p in permissions} == {
        prod.one(ALARM, "bounce-rate").outputs["arn"],
        prod.one(ALARM, "complaint-rate").outputs["arn"],
    }
    statements = {
        s["Sid"]: s
        for s in prod.one("aws:iam/rolePolicy:RolePolicy", "brake").json_input("policy")[
            "Statement"
        ]
    }
    assert (
        statements["ToggleSending"]["Resource"]
        == prod.one("aws:sesv2/configurationSet:ConfigurationSet").outputs["arn"]
    )
    assert statements["ToggleSenderTrigger"]["Resource"] == mapping.outputs["arn"]
