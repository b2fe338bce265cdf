"""The conditional writer's reading of cancelled transactions, against a scripted client."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from sesmailengine.handlers.aws.transactions import ConditionalWriter
from sesmailengine.handlers.core.tracking import ConditionFailed, Written


class ScriptedClient:
    """Answers each ``TransactWriteItems`` with the next cancellation codes (None: success);
    every ``UpdateItem`` succeeds. Records what was sent."""

    def __init__(self, *answers: list[str] | None):
        self.answers = list(answers)
        self.transactions: list[list[str]] = []
        self.updates: list[str] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict:
        self.transactions.append([item["Update"]["Key"] for item in TransactItems])
        codes = self.answers.pop(0)
        if codes is None:
            return {}
        reasons = [
            {"Code": code, "Item": {"status": {"S": "sent"}}}
            if code == "ConditionalCheckFailed"
            else {"Code": code}
            for code in codes
        ]
        response = {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": reasons,
        }
        raise ClientError(response, "TransactWriteItems")

    def update_item(self, **op: Any) -> dict:
        self.updates.append(op["Key"])
        return {}


def op(key: str) -> dict[str, Any]:
    return {"Key": key}


def test_independent_writes_answer_failed_conditions_and_send_the_others_again() -> None:
    # GIVEN a transaction of three in which the second fails its condition, then a success
    client = ScriptedClient(["None", "ConditionalCheckFailed", "None"], None)
    # WHEN the three are written
    results = ConditionalWriter(lambda: client).write_all({k: op(k) for k in ("a", "b", "c")})
    # THEN the second is answered with the item it met, and the others are sent again together
    assert results["b"] == ConditionFailed({"status": "sent"})
    assert results["a"] == results["c"] == Written()
    assert client.transactions == [["a", "b", "c"], ["a", "c"]]


def test_a_companion_refused_by_its_condition_is_dropped_and_the_rest_written() -> None:
    # GIVEN a primary write with two companions, the first of which is refused
    client = ScriptedClient(["None", "ConditionalCheckFailed", "None"], None)
    # WHEN they are written together
    result, refused = ConditionalWriter(lambda: client).write_with_companions(
        op("primary"), [("x", op("x")), ("y", op("y"))]
    )
    # THEN the primary is written with the other companion, and the refused one is named
    assert (result, refused) == (Written(), ("x",))
    assert client.transactions == [["primary", "x", "y"], ["primary", "y"]]


def test_a_primary_failing_its_condition_ends_the_write_with_its_companions() -> None:
    # GIVEN a primary write whose condition fails
    client = ScriptedClient(["ConditionalCheckFailed", "None"])
    # WHEN it is written with a companion
    result, refused = ConditionalWriter(lambda: client).write_with_companions(
        op("primary"), [("x", op("x"))]
    )
    # THEN nothing is sent again: the primary's answer is the item it met
    assert (result, refused) == (ConditionFailed({"status": "sent"}), ())
    assert client.transactions == [["primary", "x"]] and client.updates == []
