"""The resource graph `__main__.py` declares for the dev and prod stacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sesmailengine.storage import TRACKING_INDEXES
from sesmailengine.testing import ACCOUNT_ID, ResourceGraph

PROJECT_DIR = Path(__file__).resolve().parents[2]

BUCKET = "aws:s3/bucket:Bucket"
TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
BUS = "aws:cloudwatch/eventBus:EventBus"
BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
FUNCTION = "aws:lambda/function:Function"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
IDENTITY = "aws:sesv2/emailIdentity:EmailIdentity"
CONFIGURATION_SET = "aws:sesv2/configurationSet:ConfigurationSet"


def arn(graph: ResourceGraph, type_: str, name: str) -> str:
    return graph.one(type_, name).outputs["arn"]


def sender_policy(graph: ResourceGraph) -> dict[str, dict]:
    statements = graph.one(ROLE_POLICY, "sender").json_input("policy")["Statement"]
    return {statement["Sid"]: statement for statement in statements}


# --- The harness itself -------------------------------------------------------------------


def test_the_graph_holds_resolved_inputs_and_fails_loudly_on_a_missing_resource(dev):
    # GIVEN the dev graph  THEN values that only exist after outputs resolve are visible ...
    redrive = dev.one(QUEUE, "email-queue").json_input("redrivePolicy")
    assert redrive["deadLetterTargetArn"] == arn(dev, QUEUE, "email-dlq")
    # ... and asking for something that is not there raises instead of passing silently.
    with pytest.raises(LookupError):
        dev.one(QUEUE, "no-such-queue")


def test_a_config_change_reaches_the_graph(run_stack):
    # GIVEN the dev stack out of the sandbox, with a different batch size WHEN it runs
    graph = run_stack("dev", batchSize="3", maximumConcurrency="7", sesSandbox="false")
    # THEN the event source mapping carries the new values: the assertions see real inputs.
    mapping = graph.one(MAPPING, "sender-trigger")
    assert mapping.inputs["batchSize"] == 3
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 7}


# --- Components -----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_resource_sits_inside_the_engine_and_is_named_from_it(stack, request):
    graph: ResourceGraph = request.getfixturevalue(stack)
    # A URN names only the direct parent: AWS resources sit in one of our components, and
    # every component but the engine sits in another one, so all chains end at the engine.
    top_level = [r.type for r in graph if r.parent_type == "pulumi:pulumi:Stack"]
    assert top_level == ["sesmailengine:index:EmailEngine"]
    for resource in graph:
        if resource.type != "sesmailengine:index:EmailEngine":
            assert resource.parent_type.startswith("sesmailengine:index:"), resource.urn
        assert resource.name.startswith("sesmailengine"), resource.name


def test_components_are_the_documented_subsystems(dev):
    components = {r.type for r in dev if r.type.startswith("sesmailengine:")}
    assert components == {
        "sesmailengine:index:EmailEngine",
        "sesmailengine:index:Storage",
        "sesmailengine:index:Ingestion",
        "sesmailengine:index:Sending",
        "sesmailengine:index:Feedback",
        "sesmailengine:index:Monitoring",
        "sesmailengine:index:Unsubscribe",
        "sesmailengine:index:StatusEvents",
        "sesmailengine:index:StuckEmailSweep",
        "sesmailengine:index:ScheduledSends",
        "sesmailengine:index:TopicKey",
        "sesmailengine:index:LambdaFunction",
    }


# --- Storage --------------------------------------------------------------------------------


def test_template_bucket_is_versioned_encrypted_private_and_tls_only(dev):
    versioning = dev.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    encryption = dev.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "templates",
    )
    rule = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule == {"sseAlgorithm": "AES256"}
    block = dev.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "templates").inputs
    for setting in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert block[setting] is True, setting
    ownership = dev.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "templates")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    bucket_arn = arn(dev, BUCKET, "templates")
    policy = dev.one("aws:s3/bucketPolicy:BucketPolicy", "templates")
    (statement,) = policy.json_input("policy")["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == [bucket_arn, f"{bucket_arn}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_tracking_table_has_ttl_pitr_on_demand_and_the_three_indexes(dev):
    table = dev.one(TABLE, "tracking").inputs
    assert table["hashKey"] == "emailId"
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["ttl"] == {"attributeName": "ttl", "enabled": True}
    assert table["pointInTimeRecovery"] == {"enabled": True}
    indexes = {
        index["name"]: [(k["attributeName"], k["keyType"]) for k in index["keySchemas"]]
        for index in table["globalSecondaryIndexes"]
    }
    assert indexes == {
        "to-email-timestamp-index": [("toEmail", "HASH"), ("timestamp", "RANGE")],
        "ses-message-id-index": [("sesMessageId", "HASH")],
        "date-partition-index": [("datePartition", "HASH"), ("timestamp", "RANGE")],
    }
    assert all(index["projectionType"] == "ALL" for index in table["globalSecondaryIndexes"])
    assert {a["name"]: a["type"] for a in table["attributes"]} == {
        "emailId": "S",
        "toEmail": "S",
        "timestamp": "S",
        "sesMessageId": "S",
        "datePartition": "S",
    }


def test_index_contract_constant_matches_the_documented_indexes():
    assert TRACKING_INDEXES["ses-message-id-index"] == ("sesMessageId", None)


def test_suppression_table_is_keyed_by_address_on_demand_with_pitr(dev):
    table = dev.one(TABLE, "suppression").inputs
    assert table["hashKey"] == "email"
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert not table.get("globalSecondaryIndexes")


def test_prod_protects_data_and_dev_lets_it_go(dev, prod):
    for table in prod.of_type(TABLE):
        assert table.inputs["deletionProtectionEnabled"] is True
    for bucket in prod.of_type(BUCKET):
        assert bucket.inputs["forceDestroy"] is False
    for table in dev.of_type(TABLE):
        assert table.inputs["deletionProtectionEnabled"] is False
    for bucket in dev.of_type(BUCKET):
        assert bucket.inputs["forceDestroy"] is True


def test_every_starter_template_file_is_uploaded_under_templates(dev):
    expected = {
        "templates/" + path.relative_to(PROJECT_DIR / "templates").as_posix()
        for path in (PROJECT_DIR / "templates").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.name != "__init__.py"
    }
    assert any(key.endswith("/metadata.json") for key in expected)
    uploaded = dev.of_type(OBJECT)
    assert {o.inputs["key"] for o in uploaded} == expected
    bucket_name = dev.one(BUCKET, "templates").outputs["bucket"]
    assert {o.inputs["bucket"] for o in uploaded} == {bucket_name}
    html = next(o for o in uploaded if o.inputs["key"].endswith(".html"))
    assert html.inputs["contentType"] == "text/html; charset=utf-8"


def test_starter_templates_are_not_uploaded_when_config_says_so(run_stack):
    graph = run_stack("dev", uploadStarterTemplates="false")
    assert graph.of_type(OBJECT) == []


# --- Ingestion ------------------------------------------------------------------------------


def test_bus_name_comes_from_config_or_the_stack(dev, run_stack):
    assert dev.one(BUS).inputs["name"] == "sesmailengine-dev"
    assert run_stack("dev", eventBusName="orders-mail").one(BUS).inputs["name"] == "orders-mail"


def test_rule_matches_email_requests_from_any_source_in_dev_and_listed_sources_in_prod(dev, prod):
    own = ACCOUNT_ID
    assert dev.one(RULE, "email-request").json_input("eventPattern") == {
        "detail-type": ["Email Request"],
        "account": [own],
    }
    assert prod.one(RULE, "email-request").json_input("eventPattern") == {
        "detail-type": ["Email Request"],
        "source": ["com.example.accounts", "com.example.orders"],
        "account": [own, "111122223333"],
    }


@pytest.mark.parametrize(("stack", "timeout"), [("dev", 30), ("prod", 60)])
def test_email_queue_buffers_a_week_long_polls_encrypts_and_outlasts_the_sender(
    stack, timeout, request
):
    graph: ResourceGraph = request.getfixturevalue(stack)
    queue = graph.one(QUEUE, "email-queue").inputs
    assert queue["messageRetentionSeconds"] == 7 * 24 * 3600
    assert queue["receiveWaitTimeSeconds"] == 20
    assert queue["sqsManagedSseEnabled"] is True
    assert graph.one(FUNCTION, "sender").inputs["timeout"] == timeout
    assert queue["visibilityTimeoutSeconds"] >= 6 * timeout


def test_only_the_email_queue_may_redrive_to_its_dlq(dev):
    allow = dev.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
    assert allow.inputs["queueUrl"] == dev.one(QUEUE, "email-dlq").outputs["url"]
    assert json.loads(allow.inputs["redriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [arn(dev, QUEUE, "email-queue")],
    }
    for dlq in ("email-dlq", "rule-dlq"):
        assert dev.one(QUEUE, dlq).inputs["messageRetentionSeconds"] == 14 * 24 * 3600


def test_rule_target_is_the_queue_with_its_own_dlq_and_retry_policy(dev, run_stack):
    target = dev.one(TARGET, "email-request").inputs
    assert target["arn"] == arn(dev, QUEUE, "email-queue")
    assert target["deadLetterConfig"] == {"arn": arn(dev, QUEUE, "rule-dlq")}
    assert target["retryPolicy"] == {"maximumRetryAttempts": 185, "maximumEventAgeInSeconds": 86400}
    tuned = run_stack("dev", ruleRetryAttempts="10", ruleMaxEventAgeSeconds="3600")
    assert tuned.one(TARGET, "email-request").inputs["retryPolicy"] == {
        "maximumRetryAttempts": 10,
        "maximumEventAgeInSeconds": 3600,
    }


@pytest.mark.parametrize("queue", ["email-queue", "rule-dlq"])
def test_only_the_email_request_rule_may_send_to_the_queues(dev, queue):
    policy = dev.one(QUEUE_POLICY, f"{queue}-policy")
    assert policy.inputs["queueUrl"] == dev.one(QUEUE, queue).outputs["url"]
    allow, deny = policy.json_input("policy")["Statement"]
    assert allow == {
        "Sid": "AllowOnlyItsSource",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": arn(dev, QUEUE, queue),
        "Condition": {"ArnEquals": {"aws:SourceArn": arn(dev, RULE, "email-request")}},
    }
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_cross_account_producers_exist_only_when_configured(dev, prod):
    assert dev.of_type(BUS_POLICY) == []
    (statement,) = prod.one(BUS_POLICY).json_input("policy")["Statement"]
    assert statement == {
        "Sid": "AllowAccount111122223333ToRequestEmail",
        "Effect": "Allow",
        "Principal": {"AWS": "111122223333"},
        "Action": "events:PutEvents",
        "Resource": arn(prod, BUS, "bus"),
        # The list form lets the account use every allowedSources value.
        "Condition": {
            "ForAllValues:StringEquals": {
                "events:detail-type": "Email Request",
                "events:source": ["com.example.accounts", "com.example.orders"],
            }
        },
    }


# --- Sending --------------------------------------------------------------------------------


def test_configuration_set_tracks_reputation(dev):
    configuration_set = dev.one(CONFIGURATION_SET).inputs
    assert configuration_set["configurationSetName"] == "sesmailengine-dev"
    assert configuration_set["reputationOptions"] == {"reputationMetricsEnabled": True}


def test_domain_identity_with_easy_dkim_only_when_a_domain_is_configured(dev, prod):
    assert dev.of_type(IDENTITY) == []
    identity = prod.one(IDENTITY).inputs
    assert identity["emailIdentity"] == "mail.example.com"
    assert identity["dkimSigningAttributes"] == {"nextSigningKeyLength": "RSA_2048_BIT"}
    assert identity["configurationSetName"] == "sesmailengine-prod"
    assert prod.outputs["dkimTokens"] == ["token1", "token2", "token3"]


@pytest.mark.parametrize(("stack", "retention"), [("dev", 7), ("prod", 365)])
def test_sender_function_is_arm64_python_with_its_own_log_group(
    stack, retention, request, run_stack
):
    graph: ResourceGraph = request.getfixturevalue(stack)
    function = graph.one(FUNCTION, "sender").inputs
    assert function["handler"] == "handlers.email_sender.handler"
    assert function["runtime"] == "python3.12"
    assert function["architectures"] == ["arm64"]
    assert function["memorySize"] == 512
    assert function["layers"] == [arn(graph, "aws:lambda/layerVersion:LayerVersion", "dep")]
    log_group = graph.one(LOG_GROUP, "sender")
    assert log_group.inputs["retentionInDays"] == retention
    assert function["loggingConfig"]["logGroup"] == log_group.outputs["name"]
    assert function["loggingConfig"]["logFormat"] == "JSON"
    assert function["sourceCodeHash"] == run_stack.artifacts.code_hash
    layer = graph.one("aws:lambda/layerVersion:LayerVersion").inputs
    assert layer["sourceCodeHash"] == run_stack.artifacts.layer_hash
    assert layer["compatibleArchitectures"] == ["arm64"]
    assert layer["compatibleRuntimes"] == ["python3.12"]


def test_sender_environment_names_the_real_resources(dev):
    env = dev.one(FUNCTION, "sender").inputs["environment"]["variables"]
    assert env["TRACKING_TABLE"] == dev.one(TABLE, "tracking").outputs["name"]
    assert env["SUPPRESSION_TABLE"] == dev.one(TABLE, "suppression").outputs["name"]
    assert env["TEMPLATE_BUCKET"] == dev.one(BUCKET, "templates").outputs["bucket"]
    assert env["CONFIGURATION_SET"] == "sesmailengine-dev"
    assert env["DEFAULT_SENDER_EMAIL"] == "noreply@dev.example.com"
    assert env["DEFAULT_SENDER_NAME"] == "Example (dev)"
    assert env["TEMPLATE_CACHE_TTL_SECONDS"] == "300"
    assert env["TRACKING_TTL_DAYS"] == "14"
    assert env["MAX_SEND_RATE"] == "0.5"
    assert env["EVENT_BUS_NAME"] == dev.one(BUS).outputs["name"]  # for rejections only
    assert env["CLAIM_TIMEOUT_SECONDS"] == "1800"
    assert env["AMBIGUOUS_SEND_POLICY"] == "resend"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "SESMailEngine"


def test_a_claim_outlives_the_queue_visibility_timeout_so_redeliveries_wait_for_it(dev):
    # GIVEN the dev stack with default claim settings
    visibility = dev.one(QUEUE, "email-queue").inputs["visibilityTimeoutSeconds"]
    # WHEN the sender reads its claim timeout
    env = dev.one(FUNCTION, "sender").inputs["environment"]["variables"]
    # THEN a redelivered request meets the live claim, several visibility timeouts later
    assert int(env["CLAIM_TIMEOUT_SECONDS"]) >= 6 * visibility


@pytest.mark.parametrize(("stack", "concurrency"), [("dev", 2), ("prod", 10)])
def test_sender_reads_the_queue_in_batches_with_partial_failures(stack, concurrency, request):
    graph: ResourceGraph = request.getfixturevalue(stack)
    mapping = graph.one(MAPPING, "sender-trigger").inputs
    assert mapping["eventSourceArn"] == arn(graph, QUEUE, "email-queue")
    assert mapping["functionName"] == arn(graph, FUNCTION, "sender")
    assert mapping["batchSize"] == 10
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["scalingConfig"] == {"maximumConcurrency": concurrency}


def test_sender_may_send_only_through_its_identity_and_configuration_set(dev, prod):
    assert sender_policy(dev)["SendThroughConfigurationSet"] == {
        "Sid": "SendThroughConfigurationSet",
        "Effect": "Allow",
        "Action": "ses:SendEmail",
        "Resource": [
            arn(dev, CONFIGURATION_SET, ""),
            "arn:aws:ses:us-east-1:123456789012:identity/dev.example.com",
            "arn:aws:ses:us-east-1:123456789012:identity/noreply@dev.example.com",
        ],
    }
    prod_resources = sender_policy(prod)["SendThroughConfigurationSet"]["Resource"]
    assert "arn:aws:ses:us-east-1:123456789012:identity/mail.example.com" in prod_resources


def test_sender_policy_grants_each_service_only_on_its_own_resources(dev):
    policy = sender_policy(dev)
    tracking, suppression = arn(dev, TABLE, "tracking"), arn(dev, TABLE, "suppression")
    bucket = arn(dev, BUCKET, "templates")
    assert policy["ClaimAndTrackEmails"]["Resource"] == tracking
    assert policy["ReadSuppressionList"]["Resource"] == suppression
    assert policy["ReadSuppressionList"]["Action"] == "dynamodb:BatchGetItem"
    assert policy["ReadTemplates"] == {
        "Sid": "ReadTemplates",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": f"{bucket}/templates/*",
    }
    assert policy["TellMissingTemplatesApart"]["Condition"] == {
        "StringLike": {"s3:prefix": "templates/*"}
    }
    assert policy["ConsumeEmailQueue"]["Resource"] == arn(dev, QUEUE, "email-queue")
    assert policy["DelayRetriedRecords"]["Resource"] == arn(dev, QUEUE, "email-queue")
    assert "PublishStatusEvents" not in policy  # the status-events function puts them
    log_group = arn(dev, LOG_GROUP, "sender")
    assert policy["WriteOwnLogs"]["Resource"] == f"{log_group}:*"


# Actions IAM authorizes on no resource but "*" (the Service Authorization Reference lists no
# resource type for them).
ACCOUNT_WIDE_ACTIONS = {"ses:GetAccount"}


def test_no_policy_grants_a_wildcard_action_or_anything_but_this_stacks_resources(prod):
    for policy in prod.of_type(ROLE_POLICY):
        for statement in policy.json_input("policy")["Statement"]:
            actions = _as_list(statement["Action"])
            for action in actions:
                assert "*" not in action, statement
            if set(actions) <= ACCOUNT_WIDE_ACTIONS:
                assert statement["Resource"] == "*", statement
                continue
            for resource in _as_list(statement["Resource"]):
                # Every resource ARN names one of ours, by physical name or identity.
                assert resource.startswith("arn:aws:"), resource
                assert "sesmailengine" in resource or "example.com" in resource, resource


def _as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


# --- Outputs --------------------------------------------------------------------------------


def test_stack_exports_the_names_a_producer_and_an_operator_need(dev):
    assert dev.outputs == {
        "eventBusName": "sesmailengine-dev",
        "eventBusArn": arn(dev, BUS, "bus"),
        "emailRequestRuleArn": arn(dev, RULE, "email-request"),
        "emailRequestArchiveArn": arn(dev, "aws:cloudwatch/eventArchive:EventArchive", "archive"),
        "unmatchedLogGroupName": "/aws/events/sesmailengine-dev-unmatched",
        "emailQueueUrl": dev.one(QUEUE, "email-queue").outputs["url"],
        "emailDeadLetterQueueUrl": dev.one(QUEUE, "email-dlq").outputs["url"],
        "ruleDeadLetterQueueUrl": dev.one(QUEUE, "rule-dlq").outputs["url"],
        "trackingTableName": dev.one(TABLE, "tracking").outputs["name"],
        "suppressionTableName": dev.one(TABLE, "suppression").outputs["name"],
        "templateBucketName": dev.one(BUCKET, "templates").outputs["bucket"],
        "attachmentBucketName": dev.one(BUCKET, "attachments").outputs["bucket"],
        "scheduleGroupName": "sesmailengine-dev",
        "region": "us-east-1",
        "configurationSetName": "sesmailengine-dev",
        "senderFunctionName": dev.one(FUNCTION, "sender").outputs["name"],
        "dkimTokens": [],
        "feedbackTopicArn": arn(dev, "aws:sns/topic:Topic", "ses-events"),
        "feedbackFunctionName": dev.one(FUNCTION, "processor").outputs["name"],
        "feedbackDeadLetterQueueUrl": dev.one(QUEUE, "feedback-dlq").outputs["url"],
        "statusEventsDeadLetterQueueUrl": dev.one(QUEUE, "status-events-dlq").outputs["url"],
        "alarmTopicArn": arn(dev, "aws:sns/topic:Topic", "alarms"),
        "dashboardName": "sesmailengine-monitoring-dev",
        "brakeFunctionName": None,
        "senderEventSourceMappingUuid": dev.one(MAPPING, "sender-trigger").outputs["uuid"],
        "unsubscribeUrl": dev.one("aws:lambda/functionUrl:FunctionUrl").outputs["functionUrl"],
        "mailFromDomain": None,
    }
