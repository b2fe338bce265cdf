"""Helpers and fixtures for the handler tests: every AWS resource the sender uses, in moto.

Tables are created with exactly the keys, indexes and stream the Storage component declares.
Status events come as in AWS: the tracking table's stream records go to the status-events
handler, whose events an EventBridge rule routes to an SQS queue, as a consumer receives them.
Requests are observed with botocore event hooks on the clients from the handler's own factory
(moto's stored mail cannot show tags, the text part or the configuration set).
"""

from __future__ import annotations

import base64
import functools
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

REGION = "us-east-1"
TRACKING = "EmailTracking"
SUPPRESSION = "Suppression"
BUCKET = "templates-bucket"
BUS = "email-bus"
CONFIGURATION_SET = "sesmailengine"
SENDER = "noreply@example.com"
SES_QUOTA = 200.0
"""The account's SES sending rate (emails/s) ``GetAccount`` answers, which moto lacks: high
enough that pacing never slows a test."""


ENGINE = "mail-test"
"""The engine the sender belongs to (`ENGINE_NAME`, its metrics' `engine` dimension)."""
SENDER_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "TRACKING_TABLE": TRACKING,
    "SUPPRESSION_TABLE": SUPPRESSION,
    "TEMPLATE_BUCKET": BUCKET,
    "DEFAULT_SENDER_EMAIL": SENDER,
    "CONFIGURATION_SET": CONFIGURATION_SET,
    "EVENT_BUS_NAME": BUS,
    "POWERTOOLS_SERVICE_NAME": "email-sender",
    "POWERTOOLS_METRICS_NAMESPACE": "SESMailEngine",
    "ENGINE_NAME": ENGINE,
    "BRAND_ADDRESS": "1 Test Road, Testville",  # marketing mail is refused without one
}
"""The sender's environment in every handler test (``UNSET_ENVIRONMENT`` is removed)."""
UNSET_ENVIRONMENT = (
    "AWS_PROFILE",
    "DEFAULT_SENDER_NAME",
    "MAX_SEND_RATE",
    "TEMPLATE_CACHE_TTL_SECONDS",
)


def set_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SENDER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for name in UNSET_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    set_environment(monkeypatch)


def create_tables(dynamodb: Any) -> None:
    """EmailTracking and Suppression with the keys, GSIs and TTL of the Storage component."""
    dynamodb.create_table(
        TableName=TRACKING,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "emailId", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("emailId", "toEmail", "timestamp", "sesMessageId", "datePartition")
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        GlobalSecondaryIndexes=[
            _index("to-email-timestamp-index", "toEmail", "timestamp"),
            _index("ses-message-id-index", "sesMessageId"),
            _index("date-partition-index", "datePartition", "timestamp"),
        ],
    )
    dynamodb.update_time_to_live(
        TableName=TRACKING, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    dynamodb.create_table(
        TableName=SUPPRESSION,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "email", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "email", "AttributeType": "S"}],
    )


def _index(name: str, hash_key: str, range_key: str | None = None) -> dict[str, Any]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return {"IndexName": name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}}


class FakeContext:
    function_name = "email-sender"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:email-sender"
    aws_request_id = "request-1"

    def __init__(self, remaining_ms: int = 60_000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def email_request(event_id: str | None = None, **detail: Any) -> dict[str, Any]:
    """An EventBridge ``Email Request`` event as a rule delivers it to SQS."""
    detail.setdefault("to", "user@example.org")
    detail.setdefault("templateName", "welcome")
    detail.setdefault("templateData", {"name": "Ada"})
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Email Request",
        "source": "app.orders",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def sqs_event(*bodies: dict[str, Any] | str) -> dict[str, Any]:
    """An SQS batch; record ``i`` has messageId ``record-i``."""
    records = []
    for index, body in enumerate(bodies):
        text = body if isinstance(body, str) else json.dumps(body)
        records.append(
            {
                "messageId": f"record-{index}",
                "receiptHandle": "handle",
                "body": text,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:EmailQueue",
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


# botocore now sends DynamoDB Streams calls to an account-based host
# (<account>.streams-ddb.<region>...), which moto does not route; the regional one it does.
_ENDPOINTS = {"dynamodbstreams": f"https://streams.dynamodb.{REGION}.amazonaws.com"}


@dataclass
class Aws:
    """The moto account the handler runs against, with helpers to arrange and observe it."""

    session: boto3.session.Session
    status_queue_url: str
    calls: list[str] = field(default_factory=list)
    send_requests: list[dict[str, Any]] = field(default_factory=list)
    send_hooks: list[Callable[[dict[str, Any]], Any]] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)
    _stream_iterator: str | None = None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, region_name=REGION, endpoint_url=_ENDPOINTS.get(service)
            )
        return self._clients[service]

    # -- arrange ------------------------------------------------------------------------------

    def put_template(
        self,
        name: str = "welcome",
        html: str = "<p>Hello {{ name }}</p>",
        text: str | None = "Hello {{ name }}",
        **metadata: Any,
    ) -> None:
        metadata.setdefault("subject", "Welcome {{ name }}")
        metadata.setdefault("requiredVariables", ["name"])
        s3 = self.client("s3")
        s3.put_object(Bucket=BUCKET, Key=f"templates/{name}/template.html", Body=html.encode())
        s3.put_object(
            Bucket=BUCKET, Key=f"templates/{name}/metadata.json", Body=json.dumps(metadata).encode()
        )
        if text is not None:
            s3.put_object(Bucket=BUCKET, Key=f"templates/{name}/template.txt", Body=text.encode())

    def suppress(self, email: str, reason: str = "hard_bounce") -> None:
        self.client("dynamodb").put_item(
            TableName=SUPPRESSION,
            Item={"email": {"S": email}, "reason": {"S": reason}, "createdAt": {"S": "2026-01-01"}},
        )

    def put_item(self, **item: Any) -> None:
        boto3_item = {key: _attribute(value) for key, value in item.items()}
        self.client("dynamodb").put_item(TableName=TRACKING, Item=boto3_item)
        self.stream_event()  # arranged state predates the test: its write is not announced

    # -- observe ------------------------------------------------------------------------------

    def item(self, email_id: str) -> dict[str, Any] | None:
        response = self.client("dynamodb").get_item(
            TableName=TRACKING, Key={"emailId": {"S": email_id}}, ConsistentRead=True
        )
        if "Item" not in response:
            return None
        deserializer = TypeDeserializer()
        return {key: deserializer.deserialize(value) for key, value in response["Item"].items()}

    def items(self) -> list[dict[str, Any]]:
        deserializer = TypeDeserializer()
        scanned = self.client("dynamodb").scan(TableName=TRACKING)["Items"]
        return [{k: deserializer.deserialize(v) for k, v in item.items()} for item in scanned]

    def sent_mail(self) -> list[Any]:
        return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)

    def stream_event(self) -> dict[str, Any]:
        """The Lambda event of the tracking stream's records written since the last call."""
        from sesmail.local.streams import lambda_event

        stream_arn = self.client("dynamodb").describe_table(TableName=TRACKING)["Table"][
            "LatestStreamArn"
        ]
        streams = self.client("dynamodbstreams")
        if self._stream_iterator is None:
            shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
            self._stream_iterator = streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        response = streams.get_records(ShardIterator=self._stream_iterator)
        self._stream_iterator = response["NextShardIterator"]
        return lambda_event(response["Records"], stream_arn)

    def announce(self) -> dict[str, Any]:
        """Run the status-events handler on the stream's new records, as Lambda would."""
        from sesmailengine.handlers.status_events import handler

        return handler(self.stream_event(), FakeContext())

    def status_events(self) -> list[dict[str, Any]]:
        """Every ``Email Status Changed`` event announced so far (runs the status-events
        handler on the stream's new records, then drains the queue the rule delivers to)."""
        assert self.announce() == {"batchItemFailures": []}
        sqs = self.client("sqs")
        events = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.status_queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.status_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def count(self, operation: str) -> int:
        return self.calls.count(operation)


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    return {"S": str(value)}


@pytest.fixture
def aws() -> Iterator[Aws]:
    with moto_account() as state:
        yield state


@contextmanager
def moto_account() -> Iterator[Aws]:
    """The moto account of :class:`Aws`, with the handler's clients observed; the ``aws``
    fixture per test, or once per module for tests that run many examples on it."""
    from sesmailengine.handlers import batch
    from sesmailengine.handlers.aws import clients

    with mock_aws():
        session = _shared_session()
        state = Aws(session=session, status_queue_url="")
        create_tables(state.client("dynamodb"))
        state.client("s3").create_bucket(Bucket=BUCKET)
        state.client("ses").verify_domain_identity(Domain="example.com")
        events, sqs = state.client("events"), state.client("sqs")
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="status-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name="status-changed",
            EventBusName=BUS,
            EventPattern=json.dumps({"detail-type": ["Email Status Changed"]}),
        )
        events.put_targets(
            Rule="status-changed", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )
        state.status_queue_url = queue_url
        batch.reset(session)
        _observe(state, clients)
        yield state
        batch.reset()


_SESSION: list[boto3.session.Session] = []


def _shared_session() -> boto3.session.Session:
    """One session for every test, so botocore parses each service model once."""
    if not _SESSION:
        _SESSION.append(boto3.session.Session(region_name=REGION))
    return _SESSION[0]


def _observe(state: Aws, clients: Any) -> None:
    """Record every call the handler makes, and let tests intercept SendEmail."""

    def count(model: Any, **_: Any) -> None:
        state.calls.append(model.name)

    def capture(params: dict[str, Any], **_: Any) -> None:
        state.send_requests.append(json.loads(json.dumps(params, default=_base64)))

    def intercept(params: dict[str, Any], **_: Any) -> Any:
        body = json.loads(params["body"])
        for hook in state.send_hooks:
            answer = hook(body)
            if answer is not None:
                return answer
        return None

    for service in ("dynamodb", "s3", "sesv2", "events"):
        clients.client(service).meta.events.register("before-call", count)
    ses = clients.client("sesv2").meta.events
    ses.register("provide-client-params.sesv2.SendEmail", capture)
    ses.register("before-call.sesv2.SendEmail", intercept)
    ses.register("before-call.sesv2.GetAccount", functools.partial(send_quota, SES_QUOTA))


def send_quota(quota: float, **_: Any) -> tuple[Any, dict[str, Any]]:
    """What a ``before-call`` hook returns to answer ``GetAccount`` with ``quota``."""
    return _Response(200), {
        "SendQuota": {"Max24HourSend": 50_000.0, "MaxSendRate": quota, "SentLast24Hours": 0.0},
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


def _base64(value: Any) -> str:
    """Blobs (attachments' ``RawContent``) as the JSON request carries them."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class _Response:
    def __init__(self, status_code: int):
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""
        self.raw = None


def error_response(status: int, code: str, message: str = "") -> tuple[Any, dict[str, Any]]:
    """What a ``before-call`` hook returns to make botocore raise ``code`` without a request."""
    return _Response(status), {
        "Error": {"Code": code, "Message": message or code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


@pytest.fixture
def invoke(aws: Aws) -> Callable[..., dict[str, Any]]:
    from sesmailengine.handlers import observability
    from sesmailengine.handlers.email_sender import handler

    observability.new_container()  # this test's environment, whoever imported the handler

    def run(*bodies: dict[str, Any] | str, context: FakeContext | None = None) -> dict[str, Any]:
        return handler(sqs_event(*bodies), context or FakeContext())

    return run
