"""EmailClient: local validation, batching within PutEvents' limits, retries of failed entries."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from sesmail.client import (
    MAX_REQUEST_BYTES,
    Email,
    EmailClient,
    InvalidEmailRequest,
    PutEventsFailed,
)


@pytest.fixture
def events():
    with mock_aws():
        client = boto3.client("events", region_name="us-east-1")
        client.create_event_bus(Name="mail")
        calls: list[int] = []
        client.meta.events.register(
            "provide-client-params.events.PutEvents",
            lambda params, **_: calls.append(len(params["Entries"])),
        )
        client.calls = calls
        yield client


def test_a_request_is_put_as_an_email_request_with_an_email_id(events) -> None:
    email_id = EmailClient("mail", "com.example.app", events_client=events).send(
        to="ada@example.org", template="welcome", data={"firstName": "Ada"}, tags={"kind": "x"}
    )
    assert len(email_id) == 36  # a UUID the caller can track before anything is sent
    assert events.calls == [1]


def test_twenty_five_requests_take_three_calls_of_at_most_ten(events) -> None:
    emails = [Email(to=f"u{i}@example.org", template="welcome") for i in range(25)]
    ids = EmailClient("mail", "app", events_client=events).send_many(emails)
    assert events.calls == [10, 10, 5]
    assert len(set(ids)) == 25


def test_large_requests_are_split_to_stay_under_256_kb_per_call(events) -> None:
    filler = "x" * (MAX_REQUEST_BYTES // 3)
    emails = [Email(to="a@example.org", template="t", data={"blob": filler}) for _ in range(4)]
    EmailClient("mail", "app", events_client=events).send_many(emails)
    assert events.calls == [2, 2]


@pytest.mark.parametrize(
    ("email", "named"),
    [
        (Email(to="not an address", template="welcome"), "to"),
        (Email(to="a@example.org", template="bad name!"), "templateName"),
        (Email(to="a@example.org", template="w", email_id="has spaces"), "emailId"),
        (Email(to="a@example.org", template="w", tags={"emailId": "x"}), "reserved"),
        (Email(to="a@example.org", template="w", subject="line\nbreak"), "subject"),
    ],
)
def test_an_invalid_request_is_refused_before_anything_is_put(events, email, named) -> None:
    valid = Email(to="ok@example.org", template="welcome")
    with pytest.raises(InvalidEmailRequest, match=named):
        EmailClient("mail", "app", events_client=events).send_many([valid, email])
    assert events.calls == []  # all or nothing


def test_a_request_over_256_kb_is_refused_with_the_limit() -> None:
    client = EmailClient("mail", "app", events_client=object())
    with pytest.raises(InvalidEmailRequest, match="at most 262144"):
        client.send(to="a@example.org", template="t", data={"blob": "x" * MAX_REQUEST_BYTES})


def _response(*errors: str | None) -> dict:
    entries = [
        {"ErrorCode": e, "ErrorMessage": "slow down"} if e else {"EventId": "id"} for e in errors
    ]
    return {"FailedEntryCount": sum(1 for e in errors if e), "Entries": entries}


def test_only_the_refused_entries_are_put_again() -> None:
    events = boto3.client("events", region_name="us-east-1")
    emails = [Email(to=f"u{i}@example.org", template="w", email_id=f"id-{i}") for i in range(3)]
    with Stubber(events) as stub:
        stub.add_response("put_events", _response(None, "ThrottlingException", None))
        retried = [
            {
                "Source": "app",
                "DetailType": "Email Request",
                "EventBusName": "mail",
                "Detail": json.dumps(emails[1].detail("id-1"), separators=(",", ":")),
            }
        ]
        stub.add_response("put_events", _response(None), {"Entries": retried})
        ids = EmailClient("mail", "app", events_client=events, base_delay_seconds=0).send_many(
            emails
        )
        stub.assert_no_pending_responses()
    assert ids == ["id-0", "id-1", "id-2"]


def test_entries_still_refused_after_every_attempt_are_named() -> None:
    events = boto3.client("events", region_name="us-east-1")
    client = EmailClient("mail", "app", events_client=events, max_attempts=2, base_delay_seconds=0)
    with Stubber(events) as stub:
        stub.add_response("put_events", _response(None, "InternalException"))
        stub.add_response("put_events", _response("InternalException"))
        with pytest.raises(PutEventsFailed) as raised:
            client.send_many(
                [
                    Email("a@example.org", "w", email_id="ok"),
                    Email("b@example.org", "w", email_id="bad"),
                ]
            )
    assert raised.value.failures == {"bad": "InternalException: slow down"}
    assert raised.value.sent == ["ok"]
