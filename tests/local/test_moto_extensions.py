"""The emulator's TransactWriteItems: all or nothing, at the cost of the items it touches."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from sesmail.local import moto_extensions

TABLE = "Tracking"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    moto_extensions.install()
    with mock_aws():
        client = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "emailId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "emailId", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def put(dynamodb: Any, email_id: str, status: str) -> None:
    dynamodb.put_item(TableName=TABLE, Item={"emailId": {"S": email_id}, "status": {"S": status}})


def all_items(dynamodb: Any) -> dict[str, dict[str, Any]]:
    items = dynamodb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return {item["emailId"]["S"]: item for item in items}


def stream_records() -> int:
    # (moto's in-process DynamoDB Streams API answers "not yet implemented": read its shard)
    table = dynamodb_backends[ACCOUNT_ID]["us-east-1"].get_table(TABLE)
    return len(table.stream_shard.items)


def transaction(condition_status: str) -> list[dict[str, Any]]:
    """Claim a new email, finish another, delete a third, if a fourth is `condition_status`."""
    return [
        {
            "Put": {
                "TableName": TABLE,
                "Item": {"emailId": {"S": "new"}, "status": {"S": "processing"}},
                "ConditionExpression": "attribute_not_exists(emailId)",
            }
        },
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"emailId": {"S": "claimed"}},
                "UpdateExpression": "SET #s = :sent",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":sent": {"S": "sent"}},
            }
        },
        {"Delete": {"TableName": TABLE, "Key": {"emailId": {"S": "old"}}}},
        {
            "ConditionCheck": {
                "TableName": TABLE,
                "Key": {"emailId": {"S": "guard"}},
                "ConditionExpression": "#s = :expected",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":expected": {"S": condition_status}},
            }
        },
    ]


def given_the_touched_items(dynamodb: Any) -> None:
    put(dynamodb, "claimed", "processing")
    put(dynamodb, "old", "delivered")
    put(dynamodb, "guard", "open")


def test_a_transaction_that_fails_a_condition_leaves_every_touched_item_unchanged(
    dynamodb,
) -> None:
    # GIVEN the items a transaction touches, and the stream so far
    given_the_touched_items(dynamodb)
    before, records_before = all_items(dynamodb), stream_records()
    # WHEN its last condition fails, after the put, update and delete ran
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=transaction(condition_status="closed"))
    # THEN it is cancelled with DynamoDB's reasons, one per operation
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    # AND no item changed, none appeared, and the stream shows none of its writes
    assert all_items(dynamodb) == before
    assert stream_records() == records_before


def test_a_transaction_whose_conditions_hold_writes_every_item(dynamodb) -> None:
    # GIVEN the items a transaction touches
    given_the_touched_items(dynamodb)
    # WHEN every condition holds
    dynamodb.transact_write_items(TransactItems=transaction(condition_status="open"))
    # THEN all its writes are there
    items = all_items(dynamodb)
    assert items["new"]["status"] == {"S": "processing"}
    assert items["claimed"]["status"] == {"S": "sent"}
    assert "old" not in items
    assert items["guard"]["status"] == {"S": "open"}


def test_two_operations_on_one_item_are_refused_and_nothing_is_written(dynamodb) -> None:
    # GIVEN a transaction that updates one item twice
    given_the_touched_items(dynamodb)
    before = all_items(dynamodb)
    twice = [*transaction(condition_status="open")[:2], transaction("open")[1]]
    # WHEN it is sent  THEN DynamoDB's validation error, and no write stays
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=twice)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert all_items(dynamodb) == before


@pytest.mark.parametrize("condition_status", ["open", "closed"])
def test_a_transaction_copies_only_what_it_touches_however_large_the_table(
    dynamodb, monkeypatch, condition_status: str
) -> None:
    # GIVEN the same transaction against a table of 10 items, then of 1,010
    given_the_touched_items(dynamodb)
    copies = {}
    for size in (10, 1_010):
        for n in range(len(all_items(dynamodb)), size):
            put(dynamodb, f"other-{n}", "delivered")
        given_the_touched_items(dynamodb)
        dynamodb.delete_item(TableName=TABLE, Key={"emailId": {"S": "new"}})
        # WHEN it runs, counting every object deep-copied (moto's update copies its item too)
        copied = _count_deep_copies(monkeypatch)
        with contextlib.suppress(ClientError):
            dynamodb.transact_write_items(TransactItems=transaction(condition_status))
        copies[size] = copied()
        monkeypatch.undo()
    # THEN the table's size does not change what it copies
    assert copies[10] == copies[1_010]
    assert copies[10] < 200


def _count_deep_copies(monkeypatch) -> Any:
    calls = 0
    original = copy.deepcopy

    def counting(value: Any, memo: Any = None, _nil: Any = []) -> Any:  # noqa: B006
        nonlocal calls
        calls += 1
        return original(value, memo, _nil)

    monkeypatch.setattr(copy, "deepcopy", counting)
    return lambda: calls


# -- update expressions, answers, SNS signatures ------------------------------------------------


def update_status_as(dynamodb: Any, name: str) -> None:
    dynamodb.update_item(
        TableName=TABLE,
        Key={"emailId": {"S": "e1"}},
        UpdateExpression="SET #k = :v",
        ExpressionAttributeNames={"#k": name},
        ExpressionAttributeValues={":v": {"S": "sent"}},
    )


def test_an_update_of_the_key_is_refused_every_time_even_after_the_same_text_passed(
    dynamodb,
) -> None:
    # GIVEN an update expression that passed with a name that is not the key
    put(dynamodb, "e1", "processing")
    update_status_as(dynamodb, "status")
    for _ in range(2):
        # WHEN the same text names the key
        with pytest.raises(ClientError) as refused:
            update_status_as(dynamodb, "emailId")
        # THEN it is refused, the second time as the first
        assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert all_items(dynamodb)["e1"]["status"] == {"S": "sent"}


def test_an_update_with_two_set_clauses_is_refused_every_time(dynamodb) -> None:
    put(dynamodb, "e1", "processing")
    for _ in range(2):
        with pytest.raises(ClientError, match="SET"):
            dynamodb.update_item(
                TableName=TABLE,
                Key={"emailId": {"S": "e1"}},
                UpdateExpression="SET a = :v SET b = :v",
                ExpressionAttributeValues={":v": {"S": "x"}},
            )


def test_get_item_answers_every_attribute_type_as_dynamodb_does(dynamodb) -> None:
    # GIVEN an item with strings, numbers, maps, lists, sets, booleans, nulls and binary
    item = {
        "emailId": {"S": "e1"},
        "count": {"N": "3"},
        "detail": {"M": {"to": {"L": [{"S": "a@example.com"}, {"NULL": True}]}}},
        "tags": {"SS": ["a", "b"]},
        "open": {"BOOL": False},
        "body": {"B": b"\x00\x01"},
    }
    dynamodb.put_item(TableName=TABLE, Item=item)
    # WHEN it is read, with and without its binary attribute
    whole = dynamodb.get_item(TableName=TABLE, Key={"emailId": {"S": "e1"}})["Item"]
    dynamodb.update_item(
        TableName=TABLE, Key={"emailId": {"S": "e1"}}, UpdateExpression="REMOVE body"
    )
    plain = dynamodb.get_item(TableName=TABLE, Key={"emailId": {"S": "e1"}})["Item"]
    # THEN it comes back as it was written
    assert whole == item
    assert plain == {k: v for k, v in item.items() if k != "body"}


def test_stream_records_come_back_with_their_images_and_creation_time(dynamodb) -> None:
    # GIVEN a routed streams client (moto's in-process mock has no Streams API) and a change
    from sesmail.local import in_process

    session = boto3.session.Session()
    in_process.route(session.events, "http://127.0.0.1:9")
    streams = session.client(
        "dynamodbstreams",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    put(dynamodb, "e1", "processing")
    arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    # WHEN the stream is read
    page = streams.get_records(ShardIterator=iterator)
    # THEN the record is the change, its time a timestamp
    (record,) = page["Records"]
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["NewImage"] == {
        "emailId": {"S": "e1"},
        "status": {"S": "processing"},
    }
    assert record["dynamodb"]["ApproximateCreationDateTime"].year >= 2024
    assert page["NextShardIterator"]


def test_sns_signs_every_message_with_one_certificate_that_verifies_it() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from moto.sns.models import sns_backends

    moto_extensions.install()
    with mock_aws():
        settings = {"region_name": "us-east-1"}
        sns, sqs = boto3.client("sns", **settings), boto3.client("sqs", **settings)
        topic = sns.create_topic(Name="feedback")["TopicArn"]
        queue = sqs.create_queue(QueueName="tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        # WHEN two messages are published
        for message in ("one", "two"):
            sns.publish(TopicArn=topic, Message=message)
        envelopes = [
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        ]
        keys = sns_backends[ACCOUNT_ID]["us-east-1"]._message_public_keys
    # THEN both name one certificate, and it verifies each signature
    assert len({e["SigningCertURL"] for e in envelopes}) == 1
    pem = keys[envelopes[0]["SigningCertURL"].rsplit("/", 1)[-1]]
    public_key = x509.load_pem_x509_certificate(pem).public_key()
    for e in envelopes:
        signed = "".join(
            f"{field}\n{e[field]}\n" for field in ("Message", "MessageId", "Timestamp", "TopicArn")
        )
        public_key.verify(  # raises if it does not verify
            base64.b64decode(e["Signature"]),
            (signed + "Type\nNotification\n").encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
