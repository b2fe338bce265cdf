"""Ingestion's guards around the Email Request rule: per-account sources on the bus policy, the
capture of events no rule takes, and the archive replays come from."""

from __future__ import annotations

import json

import pytest
from sesmailengine.testing import ACCOUNT_ID, ResourceGraph

BUS = "aws:cloudwatch/eventBus:EventBus"
BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ARCHIVE = "aws:cloudwatch/eventArchive:EventArchive"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

SHOP, CRM = "com.example.shop", "com.example.crm"
PRODUCERS = json.dumps({"111122223333": [SHOP], "444455556666": [SHOP, CRM]})


def arn(graph: ResourceGraph, type_: str, name: str) -> str:
    return graph.one(type_, name).outputs["arn"]


@pytest.fixture(scope="module")
def mapped(run_stack) -> ResourceGraph:
    """dev with two producer accounts, each limited to its own sources."""
    return run_stack("dev", allowedSources=json.dumps([SHOP, CRM]), allowedSourceAccounts=PRODUCERS)


def test_each_producer_account_gets_a_statement_limited_to_its_sources(mapped):
    statements = mapped.one(BUS_POLICY).json_input("policy")["Statement"]
    assert [(s["Sid"], s["Principal"], s["Condition"]) for s in statements] == [
        (
            "AllowAccount111122223333ToRequestEmail",
            {"AWS": "111122223333"},
            {
                "ForAllValues:StringEquals": {
                    "events:detail-type": "Email Request",
                    "events:source": [SHOP],
                }
            },
        ),
        (
            "AllowAccount444455556666ToRequestEmail",
            {"AWS": "444455556666"},
            {
                "ForAllValues:StringEquals": {
                    "events:detail-type": "Email Request",
                    "events:source": [SHOP, CRM],
                }
            },
        ),
    ]
    assert {s["Resource"] for s in statements} == {arn(mapped, BUS, "bus")}
    assert {s["Action"] for s in statements} == {"events:PutEvents"}


def test_without_allowed_sources_an_account_may_use_any_source(run_stack):
    graph = run_stack("dev", allowedSourceAccounts='["111122223333"]')
    (statement,) = graph.one(BUS_POLICY).json_input("policy")["Statement"]
    assert statement["Condition"] == {
        "ForAllValues:StringEquals": {"events:detail-type": "Email Request"}
    }


def test_the_rule_routes_only_this_account_and_the_producer_accounts(mapped):
    assert mapped.one(RULE, "email-request").json_input("eventPattern") == {
        "detail-type": ["Email Request"],
        "source": [SHOP, CRM],
        "account": [ACCOUNT_ID, "111122223333", "444455556666"],
    }


def test_unmatched_events_are_every_other_detail_type_or_source_or_account(mapped):
    # GIVEN the complement of the Email Request rule, case by case
    pattern = mapped.one(RULE, "unmatched").json_input("eventPattern")
    # THEN a wrong detail-type, a source not allowed and a foreign account are each caught,
    # while the status events the engine publishes are left to their subscribers
    assert pattern == {
        "$or": [
            {"detail-type": [{"anything-but": ["Email Request", "Email Status Changed"]}]},
            {"detail-type": ["Email Request"], "source": [{"anything-but": [SHOP, CRM]}]},
            {
                "detail-type": ["Email Request"],
                "account": [{"anything-but": [ACCOUNT_ID, "111122223333", "444455556666"]}],
            },
        ]
    }


def test_without_allowed_sources_no_source_is_unmatched(dev):
    cases = dev.one(RULE, "unmatched").json_input("eventPattern")["$or"]
    assert not any("source" in case for case in cases)


def test_unmatched_events_go_to_their_own_log_group_kept_as_long_as_the_logs(dev, prod):
    for graph, days in ((dev, 7), (prod, 365)):
        bus = graph.one(BUS).inputs["name"]
        log_group = graph.one(LOG_GROUP, "unmatched").inputs
        assert log_group["name"] == f"/aws/events/{bus}-unmatched"
        assert log_group["retentionInDays"] == days
    target = dev.one(TARGET, "unmatched").inputs
    assert target["rule"] == dev.one(RULE, "unmatched").outputs["name"]
    assert target["arn"] == arn(dev, LOG_GROUP, "unmatched")
    assert "deadLetterConfig" not in target


def test_only_the_unmatched_rule_may_write_to_its_log_group(dev):
    policy = dev.one(LOG_POLICY, "unmatched")
    (statement,) = policy.json_input("policyDocument")["Statement"]
    assert statement == {
        "Sid": "AllowTheUnmatchedRuleToWrite",
        "Effect": "Allow",
        "Principal": {"Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]},
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"{arn(dev, LOG_GROUP, 'unmatched')}:*",
        "Condition": {"ArnEquals": {"aws:SourceArn": arn(dev, RULE, "unmatched")}},
    }


def test_any_unmatched_event_raises_an_alarm(dev):
    alarm = dev.one(ALARM, "unmatched-events").inputs
    assert alarm["namespace"] == "AWS/Events"
    assert alarm["metricName"] == "MatchedEvents"
    # A rule on a custom bus reports with both dimensions.
    assert alarm["dimensions"] == {
        "EventBusName": "sesmailengine-dev",
        "RuleName": dev.one(RULE, "unmatched").outputs["name"],
    }
    assert alarm["statistic"] == "Sum"
    assert alarm["comparisonOperator"] == "GreaterThanThreshold"
    assert alarm["threshold"] == 0
    assert alarm["treatMissingData"] == "notBreaching"
    assert alarm["alarmActions"] == [arn(dev, "aws:sns/topic:Topic", "alarms")]


def test_email_requests_are_archived_with_the_rules_pattern_for_a_month(dev, run_stack):
    archive = dev.one(ARCHIVE).inputs
    assert archive["name"] == "sesmailengine-dev-requests"
    assert archive["eventSourceArn"] == arn(dev, BUS, "bus")
    assert archive["eventPattern"] == dev.one(RULE, "email-request").inputs["eventPattern"]
    assert archive["retentionDays"] == 30
    assert run_stack("dev", archiveRetentionDays="0").one(ARCHIVE).inputs["retentionDays"] == 0


def test_the_archive_name_fits_eventbridges_limit_for_a_long_bus_name(run_stack):
    graph = run_stack("dev", eventBusName="b" * 64)
    name = graph.one(ARCHIVE).inputs["name"]
    assert len(name) == 48
    assert name.endswith("-requests")
