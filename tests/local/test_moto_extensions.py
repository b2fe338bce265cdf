"""The emulator's TransactWriteItems: all or nothing, at the cost of the items it touches."""

from __future__ import annotations

import contextlib
import copy
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
