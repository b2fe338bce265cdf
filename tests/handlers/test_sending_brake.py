"""The sending brake: pauses SES sending and the sender's trigger, and what the sender does then."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from sender_support import CONFIGURATION_SET, REGION, Aws, FakeContext, email_request

from sesmail.local import ses_extensions

ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:sesmailengine-bounce-rate"


def alarm_event(state: str) -> dict:
    """The payload a CloudWatch alarm's Lambda action delivers (AWS documentation sample)."""
    return {
        "source": "aws.cloudwatch",
        "alarmArn": ALARM_ARN,
        "accountId": "123456789012",
        "time": "2026-01-01T12:36:15.490+0000",
        "region": REGION,
        "alarmData": {
            "alarmName": "sesmailengine-bounce-rate",
            "state": {"value": state, "reason": "Threshold Crossed", "timestamp": "..."},
            "previousState": {"value": "OK", "reason": "...", "timestamp": "..."},
            "configuration": {"metrics": []},
        },
    }


@pytest.fixture
def brake(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    """A configuration set, and a sender function whose SQS trigger is enabled."""
    ses_extensions.install()
    aws.client("sesv2").create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
    role = aws.client("iam").create_role(
        RoleName="sender", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context): return {}")
    aws.client("lambda").create_function(
        FunctionName="email-sender",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
    )
    queue_url = aws.client("sqs").create_queue(QueueName="EmailQueue")["QueueUrl"]
    queue_arn = aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    mapping = aws.client("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName="email-sender", BatchSize=10
    )["UUID"]
    monkeypatch.setenv("SENDER_EVENT_SOURCE_MAPPING_UUID", mapping)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sending-brake")
    from sesmailengine.handlers.sending_brake import handler

    def invoke(event: dict) -> dict:
        return handler(event, FakeContext())

    invoke.mapping = mapping
    return invoke


def sending_state(aws: Aws, mapping: str) -> tuple[bool, str]:
    configuration_set = aws.client("sesv2").get_configuration_set(
        ConfigurationSetName=CONFIGURATION_SET
    )
    trigger = aws.client("lambda").get_event_source_mapping(UUID=mapping)["State"]
    return configuration_set["SendingOptions"]["SendingEnabled"], trigger


def test_an_alarm_entering_alarm_disables_sending_and_pauses_the_sender(aws: Aws, brake) -> None:
    # GIVEN sending is on  WHEN the bounce-rate alarm fires
    assert sending_state(aws, brake.mapping) == (True, "Enabled")
    result = brake(alarm_event("ALARM"))
    # THEN SES sending is off and the sender no longer takes requests from EmailQueue
    assert sending_state(aws, brake.mapping) == (False, "Disabled")
    assert result["braked"] is True
    assert result["command"] == "engage"


def test_the_alarm_returning_to_ok_does_not_release_the_brake(aws: Aws, brake) -> None:
    brake(alarm_event("ALARM"))
    result = brake(alarm_event("OK"))
    assert result["command"] is None
    assert sending_state(aws, brake.mapping) == (False, "Disabled")


def test_a_person_releases_the_brake_with_a_release_command(aws: Aws, brake) -> None:
    # GIVEN the brake is on  WHEN someone invokes it with {"action": "release"}
    brake(alarm_event("ALARM"))
    result = brake({"action": "release"})
    # THEN sending and the trigger are back on
    assert sending_state(aws, brake.mapping) == (True, "Enabled")
    assert result == {
        "command": "release",
        "why": "requested by hand",
        "braked": False,
        "sesSendingEnabled": True,
        "senderTriggerState": "Enabled",
    }


def test_status_changes_nothing(aws: Aws, brake) -> None:
    brake({"action": "engage"})
    assert brake({"action": "status"})["braked"] is True
    assert sending_state(aws, brake.mapping) == (False, "Disabled")


def test_an_unknown_event_is_refused_with_what_is_expected(brake) -> None:
    expected = re.escape('{"action": "engage" | "release" | "status"}')
    with pytest.raises(ValueError, match=expected):
        brake({"action": "explode"})


def test_a_sender_meeting_paused_sending_retries_the_record_and_fails_nothing(
    aws: Aws, brake, invoke
) -> None:
    # GIVEN the brake paused the configuration set, and a request still reaches the sender
    aws.put_template()
    brake(alarm_event("ALARM"))
    # WHEN the sender handles it, SES (the emulator, like AWS) answers SendingPausedException
    response = invoke(email_request(emailId="held-1"), context=FakeContext())
    # THEN the record goes back to the queue, nothing is sent, nothing is marked failed
    assert response == {"batchItemFailures": [{"itemIdentifier": "record-0"}]}
    assert aws.sent_mail() == []
    item = aws.item("held-1")
    assert item["status"] == "processing"  # released: the next delivery may claim it
    assert item["claimExpiresAt"] == 0
    assert "SendingPausedException" in item["lastError"]
    assert [e for e in aws.status_events() if e["detail"]["status"] == "failed"] == []
    # AND once released, the retried record is sent
    brake({"action": "release"})
    assert invoke(email_request(emailId="held-1")) == {"batchItemFailures": []}
    assert len(aws.sent_mail()) == 1
    assert aws.item("held-1")["status"] == "sent"
