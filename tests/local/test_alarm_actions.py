"""Alarm actions run locally as CloudWatch runs them: an alarm put into ALARM from outside (as
`aws cloudwatch set-alarm-state` does) engages the sending brake through the real brake
function and the real sender mapping; `sesmail brake release` lifts it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from click.testing import CliRunner
from local_support import running_locally, sample_data

from sesmail.cli import main
from sesmail.client import EmailClient
from sesmail.local.session import LocalSession


@pytest.fixture(scope="module")
def braked(tmp_path_factory) -> Iterator[LocalSession]:
    """The dev stack with the sending brake, run locally from a temporary working folder."""
    with running_locally(tmp_path_factory.mktemp("alarms"), sendingBrake="true") as session:
        yield session


def aws_cli(session: LocalSession, service: str):
    """A client as the AWS CLI in another shell makes one: over HTTP, to the endpoint local
    mode printed."""
    return boto3.client(
        service,
        endpoint_url=session.emulator.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def alarm_named(session: LocalSession, suffix: str) -> str:
    alarms = session.client("cloudwatch").describe_alarms()["MetricAlarms"]
    return next(
        a["AlarmName"]
        for a in alarms
        if a["AlarmName"].startswith(f"sesmailengine-monitoring-{suffix}")
    )


def brake_status(session: LocalSession) -> dict:
    result = CliRunner().invoke(main, ["--local", "--json", "brake", "status"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def tracked(session: LocalSession, email_id: str) -> str | None:
    item = (
        session.client("dynamodb")
        .get_item(TableName=session.outputs["trackingTableName"], Key={"emailId": {"S": email_id}})
        .get("Item")
    )
    return item["status"]["S"] if item else None


def tap(session: LocalSession, topic_arn: str, name: str) -> str:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    session.client("sns").subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return url


def test_the_bounce_rate_alarm_engages_the_brake_and_sesmail_releases_it(
    braked: LocalSession,
) -> None:
    # GIVEN the engine running locally with the brake, and someone watching the alarm topic
    assert brake_status(braked)["braked"] is False
    alerts = tap(braked, braked.outputs["alarmTopicArn"], "alarm-watcher")
    # WHEN the bounce-rate alarm goes into ALARM, set from another shell
    aws_cli(braked, "cloudwatch").set_alarm_state(
        AlarmName=alarm_named(braked, "bounce-rate"),
        StateValue="ALARM",
        StateReason="bounce rate 6% (test)",
    )
    assert braked.runtime.run_until_idle(30)
    # THEN the brake function paused SES sending and the sender's real mapping
    assert brake_status(braked) == {
        "braked": True,
        "sesSendingEnabled": False,
        "senderTriggerState": "Disabled",
    }
    # AND the alarm topic got CloudWatch's notification
    notes = braked.client("sqs").receive_message(QueueUrl=alerts, MaxNumberOfMessages=10)
    states = [json.loads(m["Body"])["NewStateValue"] for m in notes.get("Messages", [])]
    assert states == ["ALARM"]
    # AND an email requested meanwhile waits in the queue, unsent
    client = EmailClient(
        braked.outputs["eventBusName"], "tests.local", events_client=braked.client("events")
    )
    email_id = client.send(
        "success@simulator.amazonses.com", "welcome", sample_data("welcome"), email_id="braked-1"
    )
    assert braked.runtime.run_until_idle(30)
    assert tracked(braked, email_id) is None
    # WHEN a person releases the brake
    released = CliRunner().invoke(main, ["--local", "--json", "brake", "release", "--yes"])
    assert released.exit_code == 0, released.output
    assert braked.runtime.run_until_idle(30)
    # THEN sending resumed and the waiting email went out
    assert brake_status(braked)["braked"] is False
    assert tracked(braked, email_id) == "delivered"


def test_an_alarm_without_permission_to_invoke_the_brake_cannot_engage_it(
    braked: LocalSession, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the complaint-rate alarm's permission to invoke the brake removed
    lambda_ = braked.client("lambda")
    brake = braked.outputs["brakeFunctionName"]
    policy = json.loads(lambda_.get_policy(FunctionName=brake)["Policy"])
    alarm = alarm_named(braked, "complaint-rate")
    for statement in policy["Statement"]:
        if json.dumps(statement).find(f"alarm:{alarm}") >= 0:
            lambda_.remove_permission(FunctionName=brake, StatementId=statement["Sid"])
    # WHEN the complaint-rate alarm goes into ALARM
    aws_cli(braked, "cloudwatch").set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="complaint rate (test)"
    )
    assert braked.runtime.run_until_idle(30)
    # THEN, as CloudWatch would, it could not invoke the brake: sending goes on, and the
    # failure is logged
    assert brake_status(braked)["braked"] is False
    assert f"alarm {alarm} could not invoke" in caplog.text
