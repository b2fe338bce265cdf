"""The Feedback component: SES events → SNS topic → feedback Lambda, with a DLQ."""

from __future__ import annotations

from sesmailengine.testing import ResourceGraph

TOPIC = "aws:sns/topic:Topic"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
DESTINATION = "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination"


def arn(graph: ResourceGraph, type_: str, name: str) -> str:
    return graph.one(type_, name).outputs["arn"]


def test_only_ses_for_our_configuration_set_and_account_may_publish(dev):
    policy = dev.one("aws:sns/topicPolicy:TopicPolicy", "ses-events")
    assert policy.inputs["arn"] == arn(dev, TOPIC, "ses-events")
    # The other statement refuses plain HTTP (test_topic_encryption.py).
    statement, _tls_only = policy.json_input("policy")["Statement"]
    assert statement == {
        "Sid": "AllowSesEventPublishing",
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": arn(dev, TOPIC, "ses-events"),
        "Condition": {
            "StringEquals": {
                "AWS:SourceAccount": "123456789012",
                "AWS:SourceArn": arn(
                    dev, "aws:sesv2/configurationSet:ConfigurationSet", "configuration-set"
                ),
            }
        },
    }


def test_configuration_set_publishes_feedback_events_but_not_opens_by_default(dev, run_stack):
    destination = dev.one(DESTINATION).inputs
    assert destination["configurationSetName"] == "sesmailengine-dev"
    event_destination = destination["eventDestination"]
    assert event_destination["enabled"] is True
    assert event_destination["snsDestination"] == {"topicArn": arn(dev, TOPIC, "ses-events")}
    assert sorted(event_destination["matchingEventTypes"]) == sorted(
        [
            "SEND",
            "BOUNCE",
            "COMPLAINT",
            "DELIVERY",
            "REJECT",
            "DELIVERY_DELAY",
            "RENDERING_FAILURE",
        ]
    )
    tracked = run_stack("dev", trackOpensAndClicks="true").one(DESTINATION).inputs
    assert {"OPEN", "CLICK"} <= set(tracked["eventDestination"]["matchingEventTypes"])


def test_feedback_function_is_subscribed_with_a_dead_letter_queue(dev):
    function = dev.one(FUNCTION, "processor")
    assert function.inputs["handler"] == "handlers.feedback_processor.handler"
    assert function.inputs["memorySize"] == 256
    dlq_arn = arn(dev, QUEUE, "feedback-dlq")
    assert function.inputs["deadLetterConfig"] == {"targetArn": dlq_arn}
    subscription = dev.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert subscription["protocol"] == "lambda"
    assert subscription["topic"] == arn(dev, TOPIC, "ses-events")
    assert subscription["endpoint"] == function.outputs["arn"]
    assert subscription["redrivePolicy"] == f'{{"deadLetterTargetArn": "{dlq_arn}"}}'
    permission = dev.one("aws:lambda/permission:Permission", "feedback").inputs
    assert permission["principal"] == "sns.amazonaws.com"
    assert permission["sourceArn"] == arn(dev, TOPIC, "ses-events")
    retries = dev.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs
    assert retries["maximumRetryAttempts"] == 2


def test_feedback_dlq_admits_only_the_topic(dev):
    policy = dev.one("aws:sqs/queuePolicy:QueuePolicy", "feedback-dlq")
    allow, deny = policy.json_input("policy")["Statement"]
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Resource"] == arn(dev, QUEUE, "feedback-dlq")
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": arn(dev, TOPIC, "ses-events")}}
    assert deny["Effect"] == "Deny"
    assert dev.one(QUEUE, "feedback-dlq").inputs["messageRetentionSeconds"] == 14 * 24 * 3600


def test_feedback_environment_and_least_privilege(dev, run_stack):
    env = dev.one(FUNCTION, "processor").inputs["environment"]["variables"]
    tracking = dev.one("aws:dynamodb/table:Table", "tracking")
    suppression = dev.one("aws:dynamodb/table:Table", "suppression")
    assert env["TRACKING_TABLE"] == tracking.outputs["name"]
    assert env["SUPPRESSION_TABLE"] == suppression.outputs["name"]
    assert "EVENT_BUS_NAME" not in env  # the status events come from the table's stream
    assert env["SOFT_BOUNCE_THRESHOLD"] == "3"
    tuned = run_stack("dev", softBounceThreshold="5").one(FUNCTION, "processor")
    assert tuned.inputs["environment"]["variables"]["SOFT_BOUNCE_THRESHOLD"] == "5"

    statements = {
        s["Sid"]: s
        for s in dev.one("aws:iam/rolePolicy:RolePolicy", "processor").json_input("policy")[
            "Statement"
        ]
    }
    assert statements["UpdateTracking"]["Resource"] == tracking.outputs["arn"]
    assert statements["FindEmailsBySesMessageId"]["Resource"] == (
        tracking.outputs["arn"] + "/index/ses-message-id-index"
    )
    assert statements["MaintainSuppressionList"]["Resource"] == suppression.outputs["arn"]
    assert statements["MaintainSuppressionList"]["Action"] == "dynamodb:UpdateItem"
    assert statements["KeepFailedInvocations"] == {
        "Sid": "KeepFailedInvocations",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": arn(dev, QUEUE, "feedback-dlq"),
    }
    assert set(statements) == {
        "WriteOwnLogs",
        "UpdateTracking",
        "FindEmailsBySesMessageId",
        "MaintainSuppressionList",
        "KeepFailedInvocations",
    }
