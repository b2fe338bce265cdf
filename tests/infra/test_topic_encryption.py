"""The SES-events and alarm topics: encrypted with one customer-managed KMS key whose policy
lets only SES (for our configuration set) and CloudWatch (for our alarms) publish, and
reachable over TLS only."""

from __future__ import annotations

import pytest
from sesmailengine.testing import ACCOUNT_ID, ResourceGraph

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
TOPICS = ("ses-events", "alarms")
PUBLISH_WITH_THE_KEY = ["kms:GenerateDataKey*", "kms:Decrypt"]


def key_statements(graph: ResourceGraph) -> dict[str, dict]:
    return {s["Sid"]: s for s in graph.one(KEY).json_input("policy")["Statement"]}


def configuration_set_arn(graph: ResourceGraph) -> str:
    return graph.one("aws:sesv2/configurationSet:ConfigurationSet").outputs["arn"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("topic", TOPICS)
def test_both_topics_are_encrypted_with_the_one_customer_managed_key(request, stack, topic):
    graph = request.getfixturevalue(stack)
    key = graph.one(KEY)
    assert graph.one(TOPIC, topic).inputs["kmsMasterKeyId"] == key.outputs["arn"]


def test_the_key_rotates_and_survives_a_mistaken_deletion_for_a_month(dev):
    key = dev.one(KEY).inputs
    assert key["enableKeyRotation"] is True
    assert key["deletionWindowInDays"] == 30


def test_the_key_is_named_after_the_engine(dev, prod, run_stack):
    assert dev.one(ALIAS).inputs["name"] == "alias/sesmailengine-dev-topics"
    assert dev.one(ALIAS).inputs["targetKeyId"] == dev.one(KEY).outputs["arn"]
    assert prod.one(ALIAS).inputs["name"] == "alias/sesmailengine-prod-topics"
    named = run_stack("dev", eventBusName="orders-mail")
    assert named.one(ALIAS).inputs["name"] == "alias/orders-mail-topics"


def test_the_account_administers_the_key(dev):
    assert key_statements(dev)["AccountAdministersTheKey"] == {
        "Sid": "AccountAdministersTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_ses_may_encrypt_only_events_of_our_configuration_set(request, stack):
    graph = request.getfixturevalue(stack)
    assert key_statements(graph)["SesPublishesEventsOfItsConfigurationSet"] == {
        "Sid": "SesPublishesEventsOfItsConfigurationSet",
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": PUBLISH_WITH_THE_KEY,
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "aws:SourceAccount": ACCOUNT_ID,
                "aws:SourceArn": configuration_set_arn(graph),
            }
        },
    }


def test_cloudwatch_may_encrypt_only_alarms_of_our_account(dev):
    assert key_statements(dev)["CloudWatchPublishesAlarmsOfThisAccount"] == {
        "Sid": "CloudWatchPublishesAlarmsOfThisAccount",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": PUBLISH_WITH_THE_KEY,
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}},
    }


def test_nobody_else_is_named_in_the_key_policy(dev):
    assert set(key_statements(dev)) == {
        "AccountAdministersTheKey",
        "SesPublishesEventsOfItsConfigurationSet",
        "CloudWatchPublishesAlarmsOfThisAccount",
    }


def test_the_feedback_redrive_queue_needs_no_grant_on_the_key(dev):
    # SNS would need the key only to write to a KMS-encrypted queue: this one uses SSE-SQS.
    subscription = dev.one("aws:sns/topicSubscription:TopicSubscription", "processor")
    dlq = next(
        q
        for q in dev.of_type("aws:sqs/queue:Queue")
        if q.outputs["arn"] in subscription.inputs["redrivePolicy"]
    )
    assert dlq.inputs["sqsManagedSseEnabled"] is True
    assert "kmsMasterKeyId" not in dlq.inputs


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("topic", TOPICS)
def test_both_topics_refuse_requests_without_tls(request, stack, topic):
    graph = request.getfixturevalue(stack)
    topic_arn = graph.one(TOPIC, topic).outputs["arn"]
    policy = graph.one(TOPIC_POLICY, topic)
    assert policy.inputs["arn"] == topic_arn
    assert {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:*",
        "Resource": [topic_arn],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    } in policy.json_input("policy")["Statement"]


def test_only_cloudwatch_for_our_account_may_publish_alarms(dev):
    topic_arn = dev.one(TOPIC, "alarms").outputs["arn"]
    allow, _tls_only = dev.one(TOPIC_POLICY, "alarms").json_input("policy")["Statement"]
    assert allow == {
        "Sid": "AllowAlarmNotifications",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}},
    }


def test_encryption_is_on_unless_turned_off(run_stack):
    # prod says so explicitly; dev relies on the default.
    plain = run_stack("prod", encryptTopics="false")
    assert plain.of_type(KEY) == [] and plain.of_type(ALIAS) == []
    for topic in TOPICS:
        assert plain.one(TOPIC, topic).inputs.get("kmsMasterKeyId") is None
        assert plain.one(TOPIC_POLICY, topic)  # TLS-only holds either way
