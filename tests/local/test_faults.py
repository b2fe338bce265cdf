"""Faults reach real boto3 calls as the service's own errors, at the given rate, seeded."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from sesmail.local import faults

CALLS = 200


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any):
        yield self.content


def succeed(request: Any, **_: Any) -> AWSResponse:
    """A stand-in service: an empty success for every call that gets through."""
    return AWSResponse(request.url, 200, {}, _Body(json.dumps({}).encode()))


def answering_client(service: str, attempts: int = 1) -> Any:
    """A client with faults installed, `attempts` HTTP attempts per call, and a stand-in
    service that answers every call that gets through with an empty success (nothing leaves
    the process)."""
    session = faults.instrumented_session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    client = session.client(
        service,
        endpoint_url="http://127.0.0.1:1",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )
    client.meta.events.register("before-send", succeed)  # after the faults: they answer first
    return client


def failures(client: Any, **fault: Any) -> list[int]:
    """The indexes of the calls that failed with the injected code."""
    failed = []
    with faults.inject("events", "PutEvents", **fault) as injected:
        for index in range(CALLS):
            try:
                client.put_events(Entries=[{"Source": "t", "DetailType": "t", "Detail": "{}"}])
            except ClientError as error:
                assert error.response["Error"]["Code"] == fault["error_code"]
                assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 500
                failed.append(index)
    assert (injected.calls, injected.injected) == (CALLS, len(failed))
    return failed


def test_an_injected_fault_fails_the_given_share_of_calls_with_the_service_error() -> None:
    # GIVEN a real EventBridge client  WHEN PutEvents fails 30 % with InternalException
    client = answering_client("events")
    failed = failures(client, error_code="InternalException", rate=0.3, seed=7)
    # THEN about 30 % of the calls raise ClientError with that code and a 500
    assert 0.2 * CALLS <= len(failed) <= 0.4 * CALLS
    # AND the same seed fails the same calls, another seed others
    assert failures(client, error_code="InternalException", rate=0.3, seed=7) == failed
    assert failures(client, error_code="InternalException", rate=0.3, seed=8) != failed


def test_a_fault_reaches_only_its_operation_and_ends_with_its_block() -> None:
    client = answering_client("events")
    with faults.inject("events", "PutEvents", "InternalException", rate=1, seed=1):
        client.list_event_buses()  # another operation: untouched
        with pytest.raises(ClientError):
            client.put_events(Entries=[{"Source": "t", "DetailType": "t", "Detail": "{}"}])
    client.put_events(Entries=[{"Source": "t", "DetailType": "t", "Detail": "{}"}])


def test_a_crash_after_the_call_is_not_an_exception_handlers_catch() -> None:
    client = answering_client("events")
    with faults.die_after("events", "PutEvents", rate=1, seed=1, limit=1) as crash:
        with pytest.raises(faults.InvocationDied):
            try:
                client.put_events(Entries=[{"Source": "t", "DetailType": "t", "Detail": "{}"}])
            except Exception:  # what a handler's catch-all would do
                pytest.fail("a crash must get past `except Exception`")
        client.put_events(Entries=[{"Source": "t", "DetailType": "t", "Detail": "{}"}])
    assert (crash.calls, crash.injected) == (2, 1)


def test_a_fault_per_attempt_is_retried_by_the_sdk_as_the_services_error_would_be() -> None:
    # GIVEN a client that makes up to two attempts per call
    client = answering_client("events", attempts=2)
    # WHEN every HTTP attempt of PutEvents is throttled
    with (
        faults.inject(
            "events", "PutEvents", "ThrottlingException", 1, seed=1, per="attempt"
        ) as fault,
        pytest.raises(ClientError) as raised,
    ):
        client.put_events(Entries=[{"Source": "t", "DetailType": "t", "Detail": "{}"}])
    # THEN the SDK retried it once before raising the service's error
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert fault.calls == 2


def test_an_s3_fault_per_attempt_is_parsed_from_s3s_own_error_format() -> None:
    client = answering_client("s3")
    with (
        faults.inject("s3", "GetObject", "ServiceUnavailable", rate=1, seed=1, per="attempt"),
        pytest.raises(ClientError) as raised,
    ):
        client.get_object(Bucket="b", Key="k")
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_clients_of_other_sessions_are_untouched() -> None:
    # GIVEN a client from a session the faults were never installed on
    plain = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    ).client("events", endpoint_url="http://127.0.0.1:1")
    plain.meta.events.register("before-send", succeed)
    # WHEN every PutEvents call is meant to fail  THEN its calls still succeed
    with faults.inject("events", "PutEvents", "InternalException", rate=1, seed=1) as fault:
        plain.put_events(Entries=[{"Source": "t", "DetailType": "t", "Detail": "{}"}])
    assert fault.calls == 0
