"""Create, in the emulator, every resource the Pulumi program declares.

The input is the resource graph `sesmailengine.testing.run_program` records: there is no
second description of the infrastructure. Each resource type has one provisioner that turns
its recorded inputs into the emulator's API calls, in dependency order; a declared type without
one stops local mode before anything is created (`UnprovisionedResources`), so nothing the
program declares is silently missing locally.

The emulator holds what AWS would: IAM roles and their policies (moto validates the policy
documents), KMS keys, the Lambda functions from the real code archive with the layer and role
they name, their permissions, URLs and event source mappings, log groups, alarms, dashboards,
SSM parameters, SES identities, Route 53 records and the Scheduler's schedules.

It does not run them: Lambda would need Docker. `sesmail.local.runtime` runs the handlers
in-process, as the emulator's objects say: a function's memory, timeout and environment as
created, a queue trigger's batch size and concurrency as its mapping holds them, the SES event
destinations as the configuration set holds them. An SNS subscription of a function is made a
queue subscribed to the same topic, which the runtime turns into SNS records; an alarm's state
change runs its actions (`sesmail.local.alarms`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import takewhile
from pathlib import Path
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from sesmailengine.handlers.core.environment import SenderEnvironment
from sesmailengine.testing import DeclaredResource, ResourceGraph


class ProvisioningError(RuntimeError):
    """Local mode could not create what the program declares."""


class UnprovisionedResources(ProvisioningError):
    """The program declares resources local mode has no provisioner for."""

    def __init__(self, resources: list[DeclaredResource]) -> None:
        self.resources = resources
        listed = "\n".join(f"  {r.name} ({r.type})" for r in resources)
        super().__init__(
            f"local mode cannot create {len(resources)} declared resource(s) of a type it "
            f"does not provision:\n{listed}"
        )


class ProvisioningRefused(ProvisioningError):
    """The emulator refused a declared resource, as AWS would (a malformed policy, a role or
    layer that does not exist, a value out of range)."""

    def __init__(self, resource: DeclaredResource, error: Exception) -> None:
        self.resource = resource
        super().__init__(f"{resource.name} ({resource.type}) was refused: {error}")


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
    declared: int = 0
    """The program's resources (components aside): what `pulumi up` would create."""
    provisioned: list[str] = field(default_factory=list)
    """`<type> <logical name>` of each resource created in the emulator."""
    time_scale: float = 1
    """Deployed seconds per local second of the durations in the functions' environments
    (the runtime sets it when it scales them)."""

    @property
    def summary(self) -> str:
        return f"provisioned {len(self.provisioned)} of {self.declared} declared resources"

    def function_named(self, name: str) -> LocalFunction | None:
        """The function of this name or ARN (as alarm actions and mappings name it)."""
        name = name.rsplit(":function:", 1)[-1]
        return next((f for f in self.functions.values() if f.name == name), None)


def provision(graph: ResourceGraph, client: Callable[[str], Any]) -> LocalDeployment:
    """Create the graph's resources through `client(service)` (clients of the emulator).
    Raises `UnprovisionedResources` (creating nothing) if any type has no provisioner."""
    return _Builder(graph, client).build()


def declared_resources(graph: ResourceGraph) -> list[DeclaredResource]:
    """What `pulumi up` would create: the providers' resources, not the components grouping
    them nor the provider configurations."""
    return [r for r in graph if r.custom and not r.type.startswith("pulumi:")]


class _Builder:
    def __init__(self, graph: ResourceGraph, client: Callable[[str], Any]) -> None:
        self.graph = graph
        self.client = client
        self.deployment = LocalDeployment(outputs=dict(graph.outputs))
        self.queue_urls: dict[str, str] = {}  # queue ARN → URL
        self.functions_by_arn: dict[str, LocalFunction] = {}
        self.stream_arns: dict[str, str] = {}  # declared stream ARN → the emulator's
        # Declared identifiers the emulator gives values of its own (key ARNs, zone ids).
        self.local_ids: dict[str, str] = {}

    def steps(self) -> list[tuple[str, Callable[[DeclaredResource], None]]]:
        """Every provisioned type, in dependency order: what a resource names exists first."""
        return [
            ("random:index/randomPassword:RandomPassword", self._generated_value),
            ("aws:kms/key:Key", self._kms_key),
            ("aws:kms/alias:Alias", self._kms_alias),
            ("aws:iam/role:Role", self._role),
            ("aws:iam/rolePolicy:RolePolicy", self._role_policy),
            ("aws:s3/bucket:Bucket", self._bucket),
            ("aws:s3/bucketVersioning:BucketVersioning", self._bucket_versioning),
            (
                "aws:s3/bucketServerSideEncryptionConfiguration:"
                "BucketServerSideEncryptionConfiguration",
                self._bucket_encryption,
            ),
            ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", self._public_access),
            ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", self._ownership),
            ("aws:s3/bucketPolicy:BucketPolicy", self._bucket_policy),
            (
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                self._bucket_lifecycle,
            ),
            ("aws:s3/bucketObjectv2:BucketObjectv2", self._bucket_object),
            ("aws:dynamodb/table:Table", self._table),
            ("aws:sqs/queue:Queue", self._queue),
            ("aws:sqs/queue:Queue", self._queue_redrive),  # once every DLQ exists
            ("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", self._redrive_allow_policy),
            ("aws:sqs/queuePolicy:QueuePolicy", self._queue_policy),
            ("aws:cloudwatch/logGroup:LogGroup", self._log_group),
            ("aws:cloudwatch/logResourcePolicy:LogResourcePolicy", self._log_resource_policy),
            ("aws:cloudwatch/eventBus:EventBus", self._event_bus),
            ("aws:cloudwatch/eventBusPolicy:EventBusPolicy", self._event_bus_policy),
            ("aws:cloudwatch/eventArchive:EventArchive", self._event_archive),
            ("aws:cloudwatch/eventRule:EventRule", self._event_rule),
            ("aws:cloudwatch/eventTarget:EventTarget", self._event_target),
            ("aws:sns/topic:Topic", self._topic),
            ("aws:sns/topicPolicy:TopicPolicy", self._topic_policy),
            ("aws:ssm/parameter:Parameter", self._parameter),
            ("aws:sesv2/configurationSet:ConfigurationSet", self._configuration_set),
            ("aws:sesv2/emailIdentity:EmailIdentity", self._email_identity),
            (
                "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes",
                self._mail_from,
            ),
            (
                "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination",
                self._event_destination,
            ),
            ("aws:route53/record:Record", self._dns_record),
            ("aws:lambda/layerVersion:LayerVersion", self._layer),
            ("aws:lambda/function:Function", self._function),
            (
                "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
                self._invoke_config,
            ),
            ("aws:lambda/functionUrl:FunctionUrl", self._function_url),
            ("aws:lambda/permission:Permission", self._permission),
            ("aws:lambda/eventSourceMapping:EventSourceMapping", self._event_source_mapping),
            ("aws:sns/topicSubscription:TopicSubscription", self._subscription),
            ("aws:cloudwatch/metricAlarm:MetricAlarm", self._alarm),
            ("aws:cloudwatch/dashboard:Dashboard", self._dashboard),
            ("aws:scheduler/scheduleGroup:ScheduleGroup", self._schedule_group),
            ("aws:scheduler/schedule:Schedule", self._schedule),
        ]

    def build(self) -> LocalDeployment:
        steps = self.steps()
        declared = declared_resources(self.graph)
        provisioned_types = {type_ for type_, _ in steps}
        missing = [r for r in declared if r.type not in provisioned_types]
        if missing:
            raise UnprovisionedResources(missing)
        self.deployment.declared = len(declared)
        done: set[str] = set()
        for type_, step in steps:
            for resource in self.graph.of_type(type_):
                try:
                    step(resource)
                except ClientError as error:
                    raise ProvisioningRefused(resource, error) from error
                if resource.urn not in done:
                    done.add(resource.urn)
                    self.deployment.provisioned.append(f"{type_.split(':')[-1]} {resource.name}")
        self._verify_sender_domains()
        return self.deployment

    def _local(self, declared: str) -> str:
        """The emulator's identifier for one the program declared (most are the same)."""
        return self.local_ids.get(declared, declared)

    # -- values the program generates ---------------------------------------------------------

    def _generated_value(self, resource: DeclaredResource) -> None:
        """Made by Pulumi's random provider, not AWS: its value is already in the graph."""

    # -- keys and roles -----------------------------------------------------------------------

    def _kms_key(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        request: dict[str, Any] = {"Policy": inputs["policy"]} if inputs.get("policy") else {}
        if inputs.get("description"):
            request["Description"] = inputs["description"]
        key = self.client("kms").create_key(**request)["KeyMetadata"]
        if inputs.get("enableKeyRotation"):
            self.client("kms").enable_key_rotation(KeyId=key["KeyId"])
        self.local_ids[resource.outputs["arn"]] = key["Arn"]
        self.local_ids[resource.outputs.get("keyId", resource.outputs["name"])] = key["KeyId"]

    def _kms_alias(self, resource: DeclaredResource) -> None:
        self.client("kms").create_alias(
            AliasName=resource.inputs["name"],
            TargetKeyId=self._local(resource.inputs["targetKeyId"]),
        )

    def _role(self, resource: DeclaredResource) -> None:
        self.client("iam").create_role(
            RoleName=resource.outputs["name"],
            AssumeRolePolicyDocument=resource.inputs["assumeRolePolicy"],
        )

    def _role_policy(self, resource: DeclaredResource) -> None:
        # The emulator validates the document as IAM does: a malformed policy stops here.
        self.client("iam").put_role_policy(
            RoleName=resource.inputs["role"],
            PolicyName=resource.outputs["name"],
            PolicyDocument=resource.inputs["policy"],
        )

    # -- storage ------------------------------------------------------------------------------

    def _bucket(self, resource: DeclaredResource) -> None:
        self.client("s3").create_bucket(Bucket=resource.outputs["bucket"])

    def _bucket_versioning(self, resource: DeclaredResource) -> None:
        status = resource.inputs["versioningConfiguration"]["status"]
        self.client("s3").put_bucket_versioning(
            Bucket=resource.inputs["bucket"], VersioningConfiguration={"Status": status}
        )

    def _bucket_encryption(self, resource: DeclaredResource) -> None:
        self.client("s3").put_bucket_encryption(
            Bucket=resource.inputs["bucket"],
            ServerSideEncryptionConfiguration={"Rules": _aws_shape(resource.inputs["rules"])},
        )

    def _public_access(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        self.client("s3").put_public_access_block(
            Bucket=inputs["bucket"],
            PublicAccessBlockConfiguration={
                setting: bool(inputs.get(setting[0].lower() + setting[1:], False))
                for setting in (
                    "BlockPublicAcls",
                    "IgnorePublicAcls",
                    "BlockPublicPolicy",
                    "RestrictPublicBuckets",
                )
            },
        )

    def _ownership(self, resource: DeclaredResource) -> None:
        self.client("s3").put_bucket_ownership_controls(
            Bucket=resource.inputs["bucket"],
            OwnershipControls={"Rules": [_aws_shape(resource.inputs["rule"])]},
        )

    def _bucket_policy(self, resource: DeclaredResource) -> None:
        self.client("s3").put_bucket_policy(
            Bucket=resource.inputs["bucket"], Policy=resource.inputs["policy"]
        )

    def _bucket_lifecycle(self, resource: DeclaredResource) -> None:
        self.client("s3").put_bucket_lifecycle_configuration(
            Bucket=resource.inputs["bucket"],
            LifecycleConfiguration={"Rules": _aws_shape(resource.inputs["rules"])},
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

    # -- queues -------------------------------------------------------------------------------

    _QUEUE_ATTRIBUTES: ClassVar[dict[str, str]] = {
        "messageRetentionSeconds": "MessageRetentionPeriod",
        "visibilityTimeoutSeconds": "VisibilityTimeout",
        "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
        "delaySeconds": "DelaySeconds",
        "sqsManagedSseEnabled": "SqsManagedSseEnabled",
        "kmsMasterKeyId": "KmsMasterKeyId",
    }

    def _queue(self, resource: DeclaredResource) -> None:
        attributes = {
            attribute: self._local(_text(resource.inputs[key]))
            for key, attribute in self._QUEUE_ATTRIBUTES.items()
            if key in resource.inputs
        }
        url = self.client("sqs").create_queue(
            QueueName=resource.outputs["name"], Attributes=attributes
        )["QueueUrl"]
        self.queue_urls[resource.outputs["arn"]] = url

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

    def _queue_policy(self, resource: DeclaredResource) -> None:
        self.client("sqs").set_queue_attributes(
            QueueUrl=self._local_queue_url(resource.inputs["queueUrl"]),
            Attributes={"Policy": resource.inputs["policy"]},
        )

    def _local_queue_url(self, url: str) -> str:
        name = url.rsplit("/", 1)[-1]
        return next(u for u in self.queue_urls.values() if u.rsplit("/", 1)[-1] == name)

    # -- logs and routing ---------------------------------------------------------------------

    def _log_group(self, resource: DeclaredResource) -> None:
        # Handlers log to .sesmail/lambda.log; a rule's log group receives its events.
        logs = self.client("logs")
        name = resource.outputs["name"]
        logs.create_log_group(logGroupName=name)
        if resource.inputs.get("retentionInDays"):
            logs.put_retention_policy(
                logGroupName=name, retentionInDays=int(resource.inputs["retentionInDays"])
            )

    def _log_resource_policy(self, resource: DeclaredResource) -> None:
        self.client("logs").put_resource_policy(
            policyName=resource.inputs["policyName"],
            policyDocument=resource.inputs["policyDocument"],
        )

    def _event_bus(self, resource: DeclaredResource) -> None:
        self.client("events").create_event_bus(Name=resource.inputs["name"])

    def _event_bus_policy(self, resource: DeclaredResource) -> None:
        self.client("events").put_permission(
            EventBusName=resource.inputs["eventBusName"], Policy=resource.inputs["policy"]
        )

    def _event_archive(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        self.client("events").create_archive(
            ArchiveName=inputs["name"],
            EventSourceArn=inputs["eventSourceArn"],
            EventPattern=inputs["eventPattern"],
            RetentionDays=int(inputs.get("retentionDays", 0)),
        )

    def _event_rule(self, resource: DeclaredResource) -> None:
        self.client("events").put_rule(
            Name=resource.outputs["name"],
            EventBusName=resource.inputs["eventBusName"],
            EventPattern=resource.inputs["eventPattern"],
            State="ENABLED",
        )

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

    def _topic(self, resource: DeclaredResource) -> None:
        attributes = (
            {"KmsMasterKeyId": self._local(resource.inputs["kmsMasterKeyId"])}
            if resource.inputs.get("kmsMasterKeyId")
            else {}
        )
        self.client("sns").create_topic(Name=resource.outputs["name"], Attributes=attributes)

    def _topic_policy(self, resource: DeclaredResource) -> None:
        self.client("sns").set_topic_attributes(
            TopicArn=resource.inputs["arn"],
            AttributeName="Policy",
            AttributeValue=resource.inputs["policy"],
        )

    def _parameter(self, resource: DeclaredResource) -> None:
        self.client("ssm").put_parameter(
            Name=resource.inputs["name"],
            Value=_text(_unsecret(resource.inputs["value"])),
            Type=resource.inputs.get("type", "String"),
            Overwrite=True,
        )

    # -- SES and DNS --------------------------------------------------------------------------

    def _configuration_set(self, resource: DeclaredResource) -> None:
        self.client("sesv2").create_configuration_set(
            ConfigurationSetName=resource.inputs["configurationSetName"]
        )

    def _email_identity(self, resource: DeclaredResource) -> None:
        identity = resource.inputs["emailIdentity"]
        self.client("sesv2").create_email_identity(EmailIdentity=identity)
        self._verify(identity)

    def _mail_from(self, resource: DeclaredResource) -> None:
        # The emulator implements the custom MAIL FROM domain in SES's v1 API only.
        inputs = resource.inputs
        self.client("ses").set_identity_mail_from_domain(
            Identity=inputs["emailIdentity"],
            MailFromDomain=inputs["mailFromDomain"],
            BehaviorOnMXFailure=_v1_name(
                inputs.get("behaviorOnMxFailure", "USE_DEFAULT_VALUE"), capitalized=True
            ),
        )

    def _event_destination(self, resource: DeclaredResource) -> None:
        """Created through SES's v1 API (the emulator's v2 lacks it), and read back: the runtime
        publishes SES's events as the configuration set holds its destinations."""
        inputs = resource.inputs
        destination = inputs["eventDestination"]
        request: dict[str, Any] = {
            "Name": inputs["eventDestinationName"],
            "Enabled": bool(destination.get("enabled")),
            "MatchingEventTypes": [_v1_name(t) for t in destination["matchingEventTypes"]],
        }
        if "snsDestination" in destination:
            request["SNSDestination"] = {"TopicARN": destination["snsDestination"]["topicArn"]}
        ses = self.client("ses")
        configuration_set = inputs["configurationSetName"]
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=configuration_set, EventDestination=request
        )
        held = ses.describe_configuration_set(
            ConfigurationSetName=configuration_set,
            ConfigurationSetAttributeNames=["eventDestinations"],
        )["EventDestinations"]
        self.deployment.event_destinations[configuration_set] = [
            (
                [_v2_name(t) for t in each["MatchingEventTypes"]],
                each["SNSDestination"]["TopicARN"],
            )
            for each in held
            if each.get("Enabled") and "SNSDestination" in each
        ]

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

    def _dns_record(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        zone = self._hosted_zone(inputs["zoneId"])
        self.client("route53").change_resource_record_sets(
            HostedZoneId=zone,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": inputs["name"],
                            "Type": inputs["type"],
                            "TTL": int(inputs.get("ttl", 300)),
                            "ResourceRecords": [
                                {"Value": _record_value(inputs["type"], value)}
                                for value in inputs["records"]
                            ],
                        },
                    }
                ]
            },
        )

    def _hosted_zone(self, declared_zone_id: str) -> str:
        """The zone is the user's, made outside the program: locally one stands in for it,
        named after the longest domain all of the program's records in it share."""
        if declared_zone_id not in self.local_ids:
            names = [
                r.inputs["name"].rstrip(".").split(".")
                for r in self.graph.of_type("aws:route53/record:Record")
                if r.inputs["zoneId"] == declared_zone_id
            ]
            labels = zip(*(reversed(name) for name in names), strict=False)
            shared = [level[0] for level in takewhile(lambda level: len(set(level)) == 1, labels)]
            zone = self.client("route53").create_hosted_zone(
                Name=".".join(reversed(shared)) or "local.test",
                CallerReference=declared_zone_id,
            )["HostedZone"]["Id"]
            self.local_ids[declared_zone_id] = zone
        return self.local_ids[declared_zone_id]

    # -- functions ----------------------------------------------------------------------------

    def _layer(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        self.client("lambda").publish_layer_version(
            LayerName=inputs["layerName"],
            Description=inputs.get("description", ""),
            Content={"ZipFile": Path(inputs["code"].path).read_bytes()},
            CompatibleRuntimes=list(inputs.get("compatibleRuntimes") or []),
            CompatibleArchitectures=list(inputs.get("compatibleArchitectures") or []),
        )

    def _function(self, resource: DeclaredResource) -> None:
        """Created from the code archive the program deploys, with its role and layers (the
        emulator refuses a role or layer that does not exist); the runtime runs it with the
        memory, timeout and environment the emulator holds."""
        inputs = resource.inputs
        request: dict[str, Any] = {
            "FunctionName": resource.outputs["name"],
            "Runtime": inputs["runtime"],
            "Role": inputs["role"],
            "Handler": inputs["handler"],
            "Code": {"ZipFile": Path(inputs["code"].path).read_bytes()},
            "Timeout": int(inputs.get("timeout", 3)),
            "MemorySize": int(inputs.get("memorySize", 128)),
            "Architectures": list(inputs.get("architectures") or ["x86_64"]),
            "Layers": [self._local(arn) for arn in inputs.get("layers") or []],
            "Environment": {
                "Variables": {
                    k: _text(v)
                    for k, v in (inputs.get("environment") or {}).get("variables", {}).items()
                }
            },
        }
        if inputs.get("description"):
            request["Description"] = inputs["description"]
        if inputs.get("deadLetterConfig"):
            request["DeadLetterConfig"] = {"TargetArn": inputs["deadLetterConfig"]["targetArn"]}
        if inputs.get("loggingConfig"):
            request["LoggingConfig"] = _aws_shape(inputs["loggingConfig"])
        lambda_ = self.client("lambda")
        lambda_.create_function(**request)
        if inputs.get("reservedConcurrentExecutions") is not None:
            lambda_.put_function_concurrency(
                FunctionName=request["FunctionName"],
                ReservedConcurrentExecutions=int(inputs["reservedConcurrentExecutions"]),
            )
        held = lambda_.get_function_configuration(FunctionName=request["FunctionName"])
        function = LocalFunction(
            name=held["FunctionName"],
            handler=held["Handler"],
            environment=dict((held.get("Environment") or {}).get("Variables") or {}),
            timeout_seconds=int(held["Timeout"]),
            memory_mb=int(held["MemorySize"]),
            # The emulator does not keep a function's DLQ: the declared one.
            dead_letter_queue_arn=(request.get("DeadLetterConfig") or {}).get("TargetArn"),
        )
        self.deployment.functions[resource.name] = function
        self.functions_by_arn[resource.outputs["arn"]] = function

    def _invoke_config(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        request: dict[str, Any] = {"FunctionName": inputs["functionName"]}
        if "maximumRetryAttempts" in inputs:
            request["MaximumRetryAttempts"] = int(inputs["maximumRetryAttempts"])
        if "maximumEventAgeInSeconds" in inputs:
            request["MaximumEventAgeInSeconds"] = int(inputs["maximumEventAgeInSeconds"])
        lambda_ = self.client("lambda")
        lambda_.put_function_event_invoke_config(**request)
        held = lambda_.get_function_event_invoke_config(FunctionName=inputs["functionName"])
        function = self.deployment.function_named(inputs["functionName"])
        if function is not None and "MaximumRetryAttempts" in held:
            function.async_retries = int(held["MaximumRetryAttempts"])

    def _function_url(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        request: dict[str, Any] = {
            "FunctionName": inputs["functionName"],
            "AuthType": inputs["authorizationType"],
        }
        if inputs.get("invokeMode"):
            request["InvokeMode"] = inputs["invokeMode"]
        if inputs.get("cors"):
            request["Cors"] = _aws_shape(inputs["cors"])
        self.client("lambda").create_function_url_config(**request)

    _PERMISSION_INPUTS: ClassVar[dict[str, str]] = {
        "principal": "Principal",
        "sourceArn": "SourceArn",
        "sourceAccount": "SourceAccount",
        "functionUrlAuthType": "FunctionUrlAuthType",
        "invokedViaFunctionUrl": "InvokedViaFunctionUrl",
        "principalOrgId": "PrincipalOrgID",
        "qualifier": "Qualifier",
    }

    def _permission(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        self.client("lambda").add_permission(
            FunctionName=inputs["function"],
            StatementId=inputs.get("statementId") or resource.outputs["name"],
            Action=inputs["action"],
            **{
                parameter: inputs[key]
                for key, parameter in self._PERMISSION_INPUTS.items()
                if inputs.get(key) is not None
            },
        )

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
        self._rename_everywhere(resource.outputs.get("uuid"), mapping["UUID"])

    def _rename_everywhere(self, declared: Any, local: str) -> None:
        """The program's outputs and environments name the mapping by its deployed id: give
        them the emulator's, in the emulator's functions too (the brake's environment)."""
        for function in self.deployment.functions.values():
            changed = {k: local for k, v in function.environment.items() if v == declared}
            if changed:
                function.environment.update(changed)
                self.client("lambda").update_function_configuration(
                    FunctionName=function.name, Environment={"Variables": function.environment}
                )
        for key, value in self.deployment.outputs.items():
            if value == declared:
                self.deployment.outputs[key] = local

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

    def _visibility_timeout(self, queue_arn: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_urls[queue_arn], AttributeNames=["VisibilityTimeout"]
        )["Attributes"]
        return int(attributes["VisibilityTimeout"])

    def _subscription(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        topic_arn = inputs["topic"]
        sns = self.client("sns")
        if inputs.get("protocol") != "lambda":
            # An email address, say: subscribed (pending confirmation, as deployed), not sent to.
            sns.subscribe(
                TopicArn=topic_arn, Protocol=inputs["protocol"], Endpoint=inputs["endpoint"]
            )
            return
        sqs = self.client("sqs")
        tap_name = f"{topic_arn.rsplit(':', 1)[-1]}-local-tap"[-80:]
        tap_url = sqs.create_queue(QueueName=tap_name)["QueueUrl"]
        tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        subscription = sns.subscribe(
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

    # -- monitoring and schedules -------------------------------------------------------------

    _ALARM_INPUTS: ClassVar[dict[str, str]] = {
        "alarmDescription": "AlarmDescription",
        "comparisonOperator": "ComparisonOperator",
        "metricName": "MetricName",
        "namespace": "Namespace",
        "statistic": "Statistic",
        "extendedStatistic": "ExtendedStatistic",
        "treatMissingData": "TreatMissingData",
        "thresholdMetricId": "ThresholdMetricId",
        "unit": "Unit",
        "alarmActions": "AlarmActions",
        "okActions": "OKActions",
        "insufficientDataActions": "InsufficientDataActions",
        "actionsEnabled": "ActionsEnabled",
    }
    _ALARM_NUMBERS: ClassVar[dict[str, str]] = {
        "evaluationPeriods": "EvaluationPeriods",
        "datapointsToAlarm": "DatapointsToAlarm",
        "period": "Period",
    }

    def _alarm(self, resource: DeclaredResource) -> None:
        inputs = resource.inputs
        request: dict[str, Any] = {
            "AlarmName": resource.outputs["name"],
            **{p: inputs[k] for k, p in self._ALARM_INPUTS.items() if inputs.get(k) is not None},
            **{
                p: int(inputs[k])
                for k, p in self._ALARM_NUMBERS.items()
                if inputs.get(k) is not None
            },
        }
        if inputs.get("threshold") is not None:
            request["Threshold"] = float(inputs["threshold"])
        if inputs.get("dimensions"):
            request["Dimensions"] = [
                {"Name": k, "Value": str(v)} for k, v in inputs["dimensions"].items()
            ]
        if inputs.get("metricQueries"):
            request["Metrics"] = [_metric_query(query) for query in inputs["metricQueries"]]
        self.client("cloudwatch").put_metric_alarm(**request)

    def _dashboard(self, resource: DeclaredResource) -> None:
        json.loads(resource.inputs["dashboardBody"])  # CloudWatch refuses a body that is not JSON
        self.client("cloudwatch").put_dashboard(
            DashboardName=resource.inputs["dashboardName"],
            DashboardBody=resource.inputs["dashboardBody"],
        )

    def _schedule_group(self, resource: DeclaredResource) -> None:
        self.client("scheduler").create_schedule_group(
            Name=resource.inputs.get("name") or resource.outputs["name"]
        )

    def _schedule(self, resource: DeclaredResource) -> None:
        """Created, not run: `aws lambda invoke` runs a scheduled function by hand locally."""
        inputs = resource.inputs
        request: dict[str, Any] = {
            "Name": inputs.get("name") or resource.outputs["name"],
            "ScheduleExpression": inputs["scheduleExpression"],
            "FlexibleTimeWindow": _aws_shape(inputs["flexibleTimeWindow"]),
            "Target": _aws_shape(inputs["target"]),
        }
        for key, parameter in (
            ("groupName", "GroupName"),
            ("description", "Description"),
            ("state", "State"),
            ("scheduleExpressionTimezone", "ScheduleExpressionTimezone"),
        ):
            if inputs.get(key):
                request[parameter] = inputs[key]
        self.client("scheduler").create_schedule(**request)


def _detach_from_emulator_queue(queue_arn: str, uuid: str) -> None:
    """moto would invoke the function itself (in Docker) on every message; the local runtime
    polls instead, so the mapping stays in the Lambda API (its state) but off the queue."""
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = queue_arn.split(":")
    queue = sqs_backends[account][region].queues[name]
    for key in [k for k, esm in queue.lambda_event_source_mappings.items() if esm.uuid == uuid]:
        del queue.lambda_event_source_mappings[key]


# Inputs the provider names differently from the AWS API, where capitalising is not enough.
_AWS_NAMES = {"sseAlgorithm": "SSEAlgorithm", "id": "ID"}


def _aws_shape(value: Any) -> Any:
    """A nested input (camelCase, numbers as floats) as the AWS API takes it (PascalCase,
    whole numbers as ints)."""
    if isinstance(value, dict):
        return {
            _AWS_NAMES.get(key, key[0].upper() + key[1:]): _aws_shape(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_aws_shape(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _metric_query(query: dict[str, Any]) -> dict[str, Any]:
    shaped = _aws_shape(query)
    metric = shaped.get("Metric")
    if metric is not None:  # the provider flattens MetricStat
        shaped["MetricStat"] = {
            "Metric": {
                "Namespace": metric["Namespace"],
                "MetricName": metric["MetricName"],
                "Dimensions": [
                    {"Name": k, "Value": str(v)}
                    for k, v in (metric.get("Dimensions") or {}).items()
                ],
            },
            "Period": metric["Period"],
            "Stat": metric["Stat"],
        }
        del shaped["Metric"]
    return shaped


def _v1_name(code: str, *, capitalized: bool = False) -> str:
    """An SES v2 name (`DELIVERY_DELAY`) as SES's v1 API spells it: an event type
    `deliveryDelay`, a MAIL FROM behaviour (`capitalized`) `UseDefaultValue`."""
    words = [word.capitalize() for word in code.lower().split("_")]
    return "".join(words) if capitalized else words[0].lower() + "".join(words[1:])


def _v2_name(name: str) -> str:
    """`deliveryDelay` → `DELIVERY_DELAY`."""
    return "".join("_" + c if c.isupper() else c for c in name).upper()


def _record_value(type_: str, value: str) -> str:
    # Route 53 takes a TXT record's text quoted; the provider quotes it for the program.
    return f'"{value}"' if type_ == "TXT" and not value.startswith('"') else value


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
