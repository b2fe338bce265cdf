"""Local mode end to end: EmailClient → bus → queue → sender → SES → feedback → tables."""

from __future__ import annotations

import email
import email.policy
import json

import sesmailengine.storage
from local_support import StatusEvents, sample_data
from sesmailengine.ingestion import EMAIL_QUEUE_RETENTION_SECONDS, MAX_RECEIVE_COUNT

from sesmail.client import EmailClient
from sesmail.local.demo import dead_letters, suppression_list
from sesmail.local.session import LocalSession

SIMULATOR = "simulator.amazonses.com"


def client_for(local: LocalSession) -> EmailClient:
    return EmailClient(
        local.outputs["eventBusName"], "tests.local", events_client=local.client("events")
    )


def status_of(local: LocalSession, email_id: str) -> dict:
    item = local.client("dynamodb").get_item(
        TableName=local.outputs["trackingTableName"],
        Key={"emailId": {"S": email_id}},
        ConsistentRead=True,
    )["Item"]
    return {key: next(iter(value.values())) for key, value in item.items()}


def test_emails_end_in_the_status_the_mailbox_simulator_implies(
    local: LocalSession, status_events: StatusEvents
) -> None:
    # GIVEN the dev stack running locally  WHEN a producer requests four emails
    dead_before = dead_letters(local)
    client = client_for(local)
    data = sample_data("welcome")
    ids = client.send_many(
        [
            client_email(f"success@{SIMULATOR}", "e2e-delivered", data),
            client_email(f"bounce@{SIMULATOR}", "e2e-bounced", data),
            client_email(f"complaint@{SIMULATOR}", "e2e-complained", data),
            client_email("ada@example.org", "e2e-plain", data),
        ]
    )
    assert local.runtime.run_until_idle(60)
    # THEN each is tracked with the status SES's feedback implies
    assert ids == ["e2e-delivered", "e2e-bounced", "e2e-complained", "e2e-plain"]
    statuses = {email_id: status_of(local, email_id)["status"] for email_id in ids}
    assert statuses == {
        "e2e-delivered": "delivered",
        "e2e-bounced": "bounced",
        "e2e-complained": "complained",
        "e2e-plain": "delivered",
    }
    # AND the hard bounce and the complaint are suppressed, nobody else
    suppressed = {entry["email"]: entry["reason"] for entry in suppression_list(local)}
    assert suppressed == {
        f"bounce@{SIMULATOR}": "hard_bounce",
        f"complaint@{SIMULATOR}": "complaint",
    }
    # AND producers heard about every change on the bus
    changes = {
        (e["detail"]["emailId"], e["detail"]["status"])
        for e in status_events.drain()
        if e["detail"]["emailId"].startswith("e2e-")
    }
    assert {
        ("e2e-bounced", "sent"),
        ("e2e-bounced", "bounced"),
        ("e2e-complained", "complained"),
    } <= changes
    # AND nothing of this went to a dead-letter queue
    assert dead_letters(local) == dead_before


def test_every_sent_email_is_in_the_outbox_as_real_mime(local: LocalSession) -> None:
    client_for(local).send(
        to="grace@example.org",
        template="welcome",
        data=sample_data("welcome"),
        email_id="outbox-check",
    )
    assert local.runtime.run_until_idle(60)
    [eml] = [p for p in local.outbox.messages() if p.stem.endswith("outbox-check")]
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "grace@example.org"
    assert message["X-SES-CONFIGURATION-SET"] == local.outputs["configurationSetName"]
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert (
        sample_data("welcome")["firstName"] in html and sample_data("welcome")["firstName"] in text
    )
    assert eml.with_suffix(".html").read_text() == html


def test_a_poison_message_reaches_the_dlq_at_once_with_its_reason(local: LocalSession) -> None:
    # GIVEN a message no sender can ever process, straight on EmailQueue
    sqs = local.client("sqs")
    queue_url = local.outputs["emailQueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="this is not an EventBridge event")
    # WHEN the runtime runs
    assert local.runtime.run_until_idle(60)
    # THEN it waits in the DLQ after one receive, saying why, and EmailQueue is empty
    messages = sqs.receive_message(
        QueueUrl=local.outputs["emailDeadLetterQueueUrl"],
        MessageAttributeNames=["All"],
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
    )["Messages"]
    [poison] = [m for m in messages if m["Body"] == "this is not an EventBridge event"]
    assert poison["MessageAttributes"]["reason"]["StringValue"]
    remaining = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert remaining["ApproximateNumberOfMessages"] == "0"


def client_email(to: str, email_id: str, data: dict):
    from sesmail.client import Email

    return Email(to=to, template="welcome", data=data, email_id=email_id)


def test_state_file_tells_other_processes_where_local_mode_is(local: LocalSession) -> None:
    state = json.loads((local.state_dir / "local.json").read_text())
    assert state["endpoint"] == local.emulator.endpoint
    assert state["outputs"]["eventBusName"] == "sesmailengine-dev"


def test_every_declared_table_queue_bus_and_topic_exists_with_its_settings(local) -> None:
    dynamodb, sqs = local.client("dynamodb"), local.client("sqs")
    tracking = dynamodb.describe_table(TableName=local.outputs["trackingTableName"])["Table"]
    assert {index["IndexName"] for index in tracking["GlobalSecondaryIndexes"]} == set(
        sesmailengine.storage.TRACKING_INDEXES
    )
    ttl = dynamodb.describe_time_to_live(TableName=local.outputs["trackingTableName"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "ttl"
    queue = sqs.get_queue_attributes(
        QueueUrl=local.outputs["emailQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert queue["MessageRetentionPeriod"] == str(EMAIL_QUEUE_RETENTION_SECONDS)
    assert json.loads(queue["RedrivePolicy"])["maxReceiveCount"] == MAX_RECEIVE_COUNT
    assert local.client("events").describe_event_bus(Name=local.outputs["eventBusName"])
    topics = {t["TopicArn"] for t in local.client("sns").list_topics()["Topics"]}
    assert local.outputs["feedbackTopicArn"] in topics
    objects = local.client("s3").list_objects_v2(
        Bucket=local.outputs["templateBucketName"], Prefix="templates/welcome/"
    )
    assert {o["Key"].rsplit("/", 1)[-1] for o in objects["Contents"]} >= {
        "metadata.json",
        "template.html",
    }
    assert "Role sesmailengine-sending-sender-role" in local.deployment.provisioned
