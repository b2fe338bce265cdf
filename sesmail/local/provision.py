"""Create, in the emulator, exactly the resources the Pulumi program declares.

The input is the resource graph `sesmailengine.testing.run_program` records: there is no
second description of the infrastructure. Each supported AWS type has one small function
that turns its recorded inputs into the emulator's API calls; types that change nothing a
handler can observe locally (IAM, alarms, dashboards) are listed as skipped.

Lambda functions are not run by the emulator (that needs Docker): they are recorded here and
run in-process by `sesmail.local.runtime`. Their SQS triggers exist in the emulator (so the
sending brake can pause them) but are driven by that runtime, and their SNS subscriptions are
replaced by a queue subscribed to the same topic, which the runtime turns into SNS records.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sesmailengine.handlers.core.environment import SenderEnvironment
from sesmailengine.testing import DeclaredResource, ResourceGraph

SKIPPED_TYPES = {
    "aws:iam/role:Role": "IAM is not enforced locally",
    "aws:iam/rolePolicy:RolePolicy": "IAM is not enforced locally",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "IAM is not enforced locally",
    "aws:lambda/layerVersion:LayerVersion": "handlers run in-process with this environment",
    "aws:lambda/permission:Permission": "IAM is not enforced locally",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "read by the runtime",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "no metrics locally",
    "aws:lambda/functionUrl:FunctionUrl": "no public endpoint locally",
    "aws:cloudwatch/dashboard:Dashboard": "no metrics locally",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "one local account",
    "aws:sqs/queuePolicy:QueuePolicy": "IAM is not enforced locally",
    "aws:sns/topicPolicy:TopicPolicy": "IAM is not enforced locally",
    "aws:s3/bucketPolicy:BucketPolicy": "IAM is not enforced locally",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "nothing is public locally",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "one local account",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "no encryption at rest locally"
    ),
}


@dataclass
class LocalFunction:
    """A Lambda function the runtime runs in-process."""

    name: str
    handler: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int = 128  # Lambda's default
    dead_letter_queue_arn: str | None = None
    async_retries: int = 2  # Lambda's default for asynchronous invocations


@dataclass
class QueueTrigger:
    """An SQS event source mapping."""

    uuid: str
    queue_url: str
    queue_arn: str
    function: LocalFunction
    batch_size: int
    reports_batch_item_failures: bool
    maximum_concurrency: int | None = None
    """The mapping's ScalingConfig: at most this many instances at once (None: no limit)."""
    visibility_timeout_seconds: int = 30
    """The queue's: how long a received record stays hidden (SQS's default is 30 s)."""


@dataclass
class StreamTrigger:
    """A DynamoDB stream event source mapping, polled shard by shard like Lambda's poller."""

    stream_arn: str
    function: LocalFunction
    batch_size: int
    reports_batch_item_failures: bool
    maximum_retry_attempts: int
    on_failure_queue_url: str | None
    iterators: dict[str, str | None] = field(default_factory=dict)
    """Shard id → the next iterator (None once a closed shard is read to its end)."""
    failed_attempts: int = 0


@dataclass
class TopicTrigger:
    """A Lambda subscription to an SNS topic, delivered through a local tap queue."""

    topic_arn: str
    subscription_arn: str
    tap_queue_url: str
    function: LocalFunction


@dataclass
class LocalDeployment:
    """What the runtime needs to drive the handlers, and the stack's outputs."""

    functions: dict[str, LocalFunction] = field(default_factory=dict)
    queue_triggers: list[QueueTrigger] = field(default_factory=list)
    topic_triggers: list[TopicTrigger] = field(default_factory=list)
    stream_triggers: list[StreamTrigger] = field(default_factory=list)
    # configuration set name → (event types, topic ARN) that SES would publish to
    event_destinations: dict[str, list[tuple[list[str], str]]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    time_scale: float = 1
    """Deployed seconds per local second of the durations in the functions' environments
    (the runtime sets it when it scales them)."""


def provision(graph: ResourceGraph, client: Callable[[str], Any]) -> LocalDeployment:
    """Create the graph's resources through `client(service)` (clients of the emulator)."""
    builder = _Builder(graph, client)
    return builder.build()


class _Builder:
    def __init__(self, graph: ResourceGraph, client: Callable[[str], Any]) -> None:
        self.graph = graph
        self.client = client
        self.deployment = LocalDeployment(outputs=dict(graph.outputs))
        self.queue_urls: dict[str, str] = {}  # queue ARN → URL
        self.functions_by_arn: dict[str, LocalFunction] = {}
        self.stream_arns: dict[str, str] = {}  # declared stream ARN → the emulator's

    def build(self) -> LocalDeployment:
        # Dependency order: storage, queues, routing, SES, then functions and their triggers.
        steps: list[tuple[str, Callable[[DeclaredResource], None]]] = [
            ("aws:s3/bucket:Bucket", self._bucket),
            ("aws:s3/bucketVersioning:BucketVersioning", self._bucket_versioning),
            ("aws:s3/bucketObjectv2:BucketObjectv2", self._bucket_object),
            ("aws:dynamodb/table:Table", self._table),
            ("aws:sqs/queue:Queue", self._queue),
            ("aws:sqs/queue:Queue", self._queue_redrive),
            ("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", self._redrive_allow_policy),
            ("aws:cloudwatch/logGroup:LogGroup", self._log_group),
            ("aws:cloudwatch/eventBus:EventBus", self._event_bus),
            ("aws:cloudwatch/eventArchive:EventArchive", self._event_archive),
            ("aws:cloudwatch/eventRule:EventRule", self._event_rule),
            ("aws:cloudwatch/eventTarget:EventTarget", self._event_target),
            ("aws:sns/topic:Topic", self._topic),
            ("aws:ssm/parameter:Parameter", self._parameter),
            ("aws:sesv2/configurationSet:ConfigurationSet", self._configuration_set),
            ("aws:sesv2/emailIdentity:EmailIdentity", self._email_identity),
            (
                "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination",
                self._event_destination,
            ),
            ("aws:lambda/function:Function", self._function),
            (
                "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
                self._invoke_config,
            ),
            ("aws:lambda/eventSourceMapping:EventSourceMapping", self._event_source_mapping),
            ("aws:sns/topicSubscription:TopicSubscription", self._subscription),
        ]
        handled = {type_ for type_, _ in steps}
        for type_, step in steps:
            for resource in self.graph.of_type(type_):
                step(resource)
        for resource in self.graph:
            if resource.type.startswith("aws:") and resource.type not in handled:
                self.deployment.skipped[resource.name] = SKIPPED_TYPES.get(
                    resource.type, f"{resource.type} is not emulated"
                )
        self._verify_sender_domains()
        return self.deployment

    def _created(self, resource: DeclaredResource) -> None:
        self.deployment.created.append(f"{resource.type.split(':')[-1]} {resource.name}")

    # -- storage ------------------------------------------------------------------------------

    def _bucket(self, resource: DeclaredResource) -> None:
        self.client("s3").create_bucket(Bucket=resource.outputs["bucket"])
        self._created(resource)

    def _bucket_versioning(self, resource: DeclaredResource) -> None:
        status = resource.inputs["versioningConfiguration"]["status"]
        self.client("s3").put_bucket_versioning(
            Bucket=resource.inputs["bucket"], VersioningConfiguration={"Status": status}
        )

    def _bucket_object(self, resource: DeclaredResource) -> None:
        source = resource.inputs.get("source")
        if source is not None:
            data = Path(source.path).read_bytes()
        else:
            data = str(resource.inputs.get("content", "")).encode()
        extra = (
            {"ContentType": resource.inputs["contentType"]}
            if "contentType" in resource.inputs
            else {}
        )
        self.client("s3").put_object(
            Bucket=resource.inputs["bucket"], Key=resource.inputs["key"], Body=data, **extra
        )

    def _table(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        name = resource.outputs["name"]
        request: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]}
                for a in inputs["attributes"]
            ],
            "KeySchema": [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
            + (
                [{"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"}]
                if inputs.get("rangeKey")
                else []
            ),
        }
        indexes = inputs.get("globalSecondaryIndexes") or []
        if indexes:
            request["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index["name"],
                    "KeySchema": [
                        {"AttributeName": key["attributeName"], "KeyType": key["keyType"]}
                        for key in index["keySchemas"]
                    ],
                    "Projection": {"ProjectionType": index["projectionType"]},
                }
                for index in indexes
            ]
        if inputs.get("streamEnabled"):
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": inputs["streamViewType"],
            }
        dynamodb = self.client("dynamodb")
        created = dynamodb.create_table(**request)["TableDescription"]
        if "LatestStreamArn" in created:
            # The program names the stream by its deployed ARN; the emulator's has its own label.
            self.stream_arns[resource.outputs["streamArn"]] = created["LatestStreamArn"]
        ttl = inputs.get("ttl")
        if ttl and ttl.get("enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
            )
        self._created(resource)

    # -- queues -------------------------------------------------------------------------------

    _QUEUE_ATTRIBUTES: ClassVar[dict[str, str]] = {
        "messageRetentionSeconds": "MessageRetentionPeriod",
        "visibilityTimeoutSeconds": "VisibilityTimeout",
        "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
        "delaySeconds": "DelaySeconds",
        "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    }

    def _queue(self, resource: DeclaredResource) -> None:
        attributes = {
            attribute: _text(resource.inputs[key])
            for key, attribute in self._QUEUE_ATTRIBUTES.items()
            if key in resource.inputs
        }
        url = self.client("sqs").create_queue(
            QueueName=resource.outputs["name"], Attributes=attributes
        )["QueueUrl"]
        self.queue_urls[resource.outputs["arn"]] = url
        self._created(resource)

    def _queue_redrive(self, resource: DeclaredResource) -> None:
        # After every queue exists: a redrive policy names its DLQ by ARN.
        if "redrivePolicy" in resource.inputs:
            self.client("sqs").set_queue_attributes(
                QueueUrl=self.queue_urls[resource.outputs["arn"]],
                Attributes={"RedrivePolicy": resource.inputs["redrivePolicy"]},
            )

    def _redrive_allow_policy(self, resource: DeclaredResource) -> None:
        self.client("sqs").set_queue_attributes(
            QueueUrl=self._local_queue_url(resource.inputs["queueUrl"]),
            Attributes={"RedriveAllowPolicy": resource.inputs["redriveAllowPolicy"]},
        )

    def _local_queue_url(self, url: str) -> str:
        name = url.rsplit("/", 1)[-1]
        return next(u for u in self.queue_urls.values() if u.rsplit("/", 1)[-1] == name)

    # -- routing ------------------------------------------------------------------------------

    def _event_bus(self, resource: DeclaredResource) -> None:
        self.client("events").create_event_bus(Name=resource.inputs["name"])
        self._created(resource)

    def _log_group(self, resource: DeclaredResource) -> None:
        # Handlers log to .sesmail/lambda.log; a rule's log group receives its events.
        logs = self.client("logs")
        name = resource.outputs["name"]
        logs.create_log_group(logGroupName=name)
        if resource.inputs.get("retentionInDays"):
            logs.put_retention_policy(
                logGroupName=name, retentionInDays=int(resource.inputs["retentionInDays"])
            )
        self._created(resource)

    def _event_archive(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        self.client("events").create_archive(
            ArchiveName=inputs["name"],
            EventSourceArn=inputs["eventSourceArn"],
            EventPattern=inputs["eventPattern"],
            RetentionDays=int(inputs.get("retentionDays", 0)),
        )
        self._created(resource)

    def _event_rule(self, resource: DeclaredResource) -> None:
        self.client("events").put_rule(
            Name=resource.outputs["name"],
            EventBusName=resource.inputs["eventBusName"],
            EventPattern=resource.inputs["eventPattern"],
            State="ENABLED",
        )
        self._created(resource)

    def _event_target(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        target: dict[str, Any] = {"Id": resource.name[-64:], "Arn": inputs["arn"]}
        if inputs.get("deadLetterConfig"):
            target["DeadLetterConfig"] = {"Arn": inputs["deadLetterConfig"]["arn"]}
        if inputs.get("retryPolicy"):
            policy = inputs["retryPolicy"]
            target["RetryPolicy"] = {
                "MaximumRetryAttempts": int(policy["maximumRetryAttempts"]),
                "MaximumEventAgeInSeconds": int(policy["maximumEventAgeInSeconds"]),
            }
        self.client("events").put_targets(
            Rule=inputs["rule"], EventBusName=inputs["eventBusName"], Targets=[target]
        )
        self._created(resource)

    def _topic(self, resource: DeclaredResource) -> None:
        self.client("sns").create_topic(Name=resource.outputs["name"])
        self._created(resource)

    def _parameter(self, resource: DeclaredResource) -> None:
        self.client("ssm").put_parameter(
            Name=resource.inputs["name"],
            Value=_text(_unsecret(resource.inputs["value"])),
            Type=resource.inputs.get("type", "String"),
            Overwrite=True,
        )
        self._created(resource)

    # -- SES ----------------------------------------------------------------------------------

    def _configuration_set(self, resource: DeclaredResource) -> None:
        self.client("sesv2").create_configuration_set(
            ConfigurationSetName=resource.inputs["configurationSetName"]
        )
        self._created(resource)

    def _email_identity(self, resource: DeclaredResource) -> None:
        identity = resource.inputs["emailIdentity"]
        self.client("sesv2").create_email_identity(EmailIdentity=identity)
        self._verify(identity)
        self._created(resource)

    def _event_destination(self, resource: DeclaredResource) -> None:
        destination = resource.inputs["eventDestination"]
        if not destination.get("enabled") or "snsDestination" not in destination:
            return
        self.deployment.event_destinations.setdefault(
            resource.inputs["configurationSetName"], []
        ).append(
            (list(destination["matchingEventTypes"]), destination["snsDestination"]["topicArn"])
        )

    def _verify(self, identity: str) -> None:
        # The emulator, like SES outside the sandbox, sends only from verified identities.
        ses = self.client("ses")
        if "@" in identity:
            ses.verify_email_identity(EmailAddress=identity)
        else:
            ses.verify_domain_identity(Domain=identity)

    def _verify_sender_domains(self) -> None:
        for function in self.deployment.functions.values():
            sender = function.environment.get(
                SenderEnvironment.variable_name("default_sender_email")
            )
            if sender:
                self._verify(sender.rsplit("@", 1)[1])

    # -- functions ----------------------------------------------------------------------------

    def _function(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        function = LocalFunction(
            name=resource.outputs["name"],
            handler=inputs["handler"],
            environment={
                k: _text(v)
                for k, v in (inputs.get("environment") or {}).get("variables", {}).items()
            },
            timeout_seconds=int(inputs.get("timeout", 3)),
            memory_mb=int(inputs.get("memorySize", 128)),
            dead_letter_queue_arn=(inputs.get("deadLetterConfig") or {}).get("targetArn"),
        )
        # The emulator knows the function too, so its SQS trigger exists for the brake.
        self.client("lambda").create_function(
            FunctionName=function.name,
            Runtime=inputs.get("runtime", "python3.12"),
            Role=self._execution_role(),
            Handler=function.handler,
            Code={"ZipFile": _placeholder_zip()},
            Timeout=function.timeout_seconds,
            MemorySize=function.memory_mb,
        )
        self.deployment.functions[resource.name] = function
        self.functions_by_arn[resource.outputs["arn"]] = function
        self._created(resource)

    def _execution_role(self) -> str:
        iam = self.client("iam")
        try:
            return iam.get_role(RoleName="sesmail-local")["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            return iam.create_role(
                RoleName="sesmail-local",
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
            )["Role"]["Arn"]

    def _invoke_config(self, resource: DeclaredResource) -> None:
        for function in self.deployment.functions.values():
            if function.name == resource.inputs["functionName"]:
                function.async_retries = int(resource.inputs.get("maximumRetryAttempts", 2))

    def _event_source_mapping(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        function = self.functions_by_arn[inputs["functionName"]]
        if inputs["eventSourceArn"] in self.stream_arns:
            self._stream_mapping(resource, function)
            return
        queue_arn = inputs["eventSourceArn"]
        request: dict[str, Any] = {
            "EventSourceArn": queue_arn,
            "FunctionName": function.name,
            "BatchSize": int(inputs.get("batchSize", 10)),
            "FunctionResponseTypes": list(inputs.get("functionResponseTypes") or []),
        }
        scaling = inputs.get("scalingConfig") or {}
        if scaling.get("maximumConcurrency"):
            request["ScalingConfig"] = {"MaximumConcurrency": int(scaling["maximumConcurrency"])}
        mapping = self.client("lambda").create_event_source_mapping(**request)
        _detach_from_emulator_queue(queue_arn, mapping["UUID"])
        # The runtime polls as the mapping the emulator holds says, not as the program asked.
        self.deployment.queue_triggers.append(
            QueueTrigger(
                uuid=mapping["UUID"],
                queue_url=self.queue_urls[queue_arn],
                queue_arn=queue_arn,
                function=function,
                batch_size=int(mapping["BatchSize"]),
                reports_batch_item_failures="ReportBatchItemFailures"
                in (mapping.get("FunctionResponseTypes") or []),
                maximum_concurrency=(mapping.get("ScalingConfig") or {}).get("MaximumConcurrency"),
                visibility_timeout_seconds=self._visibility_timeout(queue_arn),
            )
        )
        # The program's outputs and environments name the mapping by its deployed id.
        declared = resource.outputs.get("uuid")
        for each in self.deployment.functions.values():
            for key, value in each.environment.items():
                if value == declared:
                    each.environment[key] = mapping["UUID"]
        for key, value in self.deployment.outputs.items():
            if value == declared:
                self.deployment.outputs[key] = mapping["UUID"]
        self._created(resource)

    def _stream_mapping(self, resource: DeclaredResource, function: LocalFunction) -> None:
        """Not created in the emulator (moto would invoke the function in Docker): the runtime
        reads the stream itself, from its start, as a mapping created with the table would."""
        inputs = resource.inputs
        on_failure = ((inputs.get("destinationConfig") or {}).get("onFailure") or {}).get(
            "destinationArn"
        )
        self.deployment.stream_triggers.append(
            StreamTrigger(
                stream_arn=self.stream_arns[inputs["eventSourceArn"]],
                function=function,
                batch_size=int(inputs.get("batchSize", 100)),
                reports_batch_item_failures="ReportBatchItemFailures"
                in (inputs.get("functionResponseTypes") or []),
                maximum_retry_attempts=int(inputs.get("maximumRetryAttempts", -1)),
                on_failure_queue_url=self.queue_urls.get(on_failure) if on_failure else None,
            )
        )
        self._created(resource)

    def _visibility_timeout(self, queue_arn: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_urls[queue_arn], AttributeNames=["VisibilityTimeout"]
        )["Attributes"]
        return int(attributes["VisibilityTimeout"])

    def _subscription(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        if inputs.get("protocol") != "lambda":
            self.deployment.skipped[resource.name] = (
                f"{inputs.get('protocol')} delivery is not emulated"
            )
            return
        topic_arn = inputs["topic"]
        sqs = self.client("sqs")
        tap_name = f"{topic_arn.rsplit(':', 1)[-1]}-local-tap"[-80:]
        tap_url = sqs.create_queue(QueueName=tap_name)["QueueUrl"]
        tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        subscription = self.client("sns").subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=tap_arn, ReturnSubscriptionArn=True
        )
        self.deployment.topic_triggers.append(
            TopicTrigger(
                topic_arn=topic_arn,
                subscription_arn=subscription["SubscriptionArn"],
                tap_queue_url=tap_url,
                function=self.functions_by_arn[inputs["endpoint"]],
            )
        )
        self._created(resource)


def _detach_from_emulator_queue(queue_arn: str, uuid: str) -> None:
    """moto would invoke the function itself (in Docker) on every message; the local runtime
    polls instead, so the mapping stays in the Lambda API (its state) but off the queue."""
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = queue_arn.split(":")
    queue = sqs_backends[account][region].queues[name]
    for key in [k for k, esm in queue.lambda_event_source_mappings.items() if esm.uuid == uuid]:
        del queue.lambda_event_source_mappings[key]


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "sesmail local mode runs the real handlers in-process")
    return buffer.getvalue()


# How Pulumi marks a secret value in recorded inputs.
_SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def _unsecret(value: Any) -> Any:
    if isinstance(value, dict) and _SECRET_SIGNATURE in value:
        return value["value"]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
