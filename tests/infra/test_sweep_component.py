"""The StuckEmailSweep component: the schedule, its role, the function, and the crash-window
alarms."""

from __future__ import annotations

import pytest
from sesmailengine.testing import ResourceGraph

SCHEDULE = "aws:scheduler/schedule:Schedule"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
TABLE = "aws:dynamodb/table:Table"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def sweeper(graph: ResourceGraph):
    return graph.one(FUNCTION, "stuck-email-sweep")


def test_the_schedule_runs_the_sweep_every_five_minutes_on_time(dev):
    # GIVEN the dev stack  WHEN its schedule is read
    schedule = dev.one(SCHEDULE, "stuck-email-sweep").inputs
    # THEN it invokes the sweep function every 5 minutes, with no flexible window
    assert schedule["scheduleExpression"] == "rate(5 minutes)"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    target = schedule["target"]
    assert target["arn"] == sweeper(dev).outputs["arn"]
    assert target["roleArn"] == dev.one(ROLE, "scheduler-role").outputs["arn"]
    assert target["retryPolicy"]["maximumEventAgeInSeconds"] == 300


def test_the_interval_comes_from_stack_config(run_stack):
    graph = run_stack("dev", stuckSweepMinutes="1")
    assert graph.one(SCHEDULE, "stuck-email-sweep").inputs["scheduleExpression"] == (
        "rate(1 minute)"
    )


def test_only_scheduler_for_this_account_may_assume_the_role_and_only_to_invoke_the_sweep(dev):
    # GIVEN the scheduler's role
    role = dev.one(ROLE, "scheduler-role")
    [trust] = role.json_input("assumeRolePolicy")["Statement"]
    # THEN only EventBridge Scheduler, for schedules of this account, may assume it
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert list(trust["Condition"]["StringEquals"]) == ["aws:SourceAccount"]
    # AND it may do nothing but invoke the sweep function
    [statement] = dev.one(ROLE_POLICY, "scheduler-policy").json_input("policy")["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == sweeper(dev).outputs["arn"]


def test_the_sweep_reads_the_date_index_and_may_only_update_tracking_items(dev):
    tracking = dev.one(TABLE, "tracking").outputs["arn"]
    policy = dev.one(ROLE_POLICY, "stuck-email-sweep-sweeper").json_input("policy")
    actions = {s["Sid"]: (s["Action"], s["Resource"]) for s in policy["Statement"]}
    assert actions["FindStuckEmails"] == (
        "dynamodb:Query",
        f"{tracking}/index/date-partition-index",
    )
    assert actions["HoldStuckEmails"] == ("dynamodb:UpdateItem", tracking)


def test_the_sweep_gets_the_stuck_age_and_the_policy(run_stack):
    env = sweeper(run_stack("dev", ambiguousSendPolicy="hold")).inputs["environment"]["variables"]
    assert env["STUCK_AFTER_MINUTES"] == "60"
    assert env["AMBIGUOUS_SEND_POLICY"] == "hold"
    assert env["POWERTOOLS_SERVICE_NAME"] == "stuck-email-sweep"


@pytest.mark.parametrize(
    ("alarm", "metric", "service", "statistic"),
    [
        ("stuck-emails", "StuckEmails", "stuck-email-sweep", "Maximum"),
        ("tracking-write-failures", "TrackingWriteFailures", "email-sender", "Sum"),
    ],
)
def test_an_unsettled_email_raises_an_alarm_at_once(dev, alarm, metric, service, statistic):
    spec = dev.one(ALARM, f"monitoring-{alarm}").inputs
    assert (spec["namespace"], spec["metricName"]) == ("SESMailEngine", metric)
    assert spec["dimensions"] == {"service": service, "engine": "sesmailengine-dev"}
    assert spec["statistic"] == statistic
    assert (spec["comparisonOperator"], spec["threshold"]) == ("GreaterThanThreshold", 0)
    assert spec["evaluationPeriods"] == 1
    assert spec["treatMissingData"] == "notBreaching"
