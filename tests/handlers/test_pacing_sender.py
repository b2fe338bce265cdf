"""Zero-config pacing through ``handler(event, context)`` against moto: the quota from
``GetAccount``, SES's throttling injected into the real ``SendEmail`` calls."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from sender_support import (
    Aws,
    FakeContext,
    email_request,
    error_response,
    send_quota,
    sqs_event,
)
from sesmailengine.handlers.aws import clients
from sesmailengine.handlers.core.metrics import SEND_RATE, SES_THROTTLES
from sesmailengine.handlers.core.pacing import FALLBACK_QUOTA
from sesmailengine.handlers.email_sender import handler

QUOTA = 40.0
"""The account's SES quota (emails/s) GetAccount answers in these tests."""


def answer_get_account(reads: list[str], answer: Any = None) -> None:
    """GetAccount answers ``answer`` (else a quota of :data:`QUOTA`) on the handler's own
    client, before the harness's answer."""

    def get_account(**_: Any) -> Any:
        reads.append("GetAccount")
        return answer or send_quota(QUOTA)

    events = clients.client("sesv2").meta.events
    events.register_first("before-call.sesv2.GetAccount", get_account)


def throttle_share(share: float, seed: int = 7):
    """SES answers ``share`` of the sends as it does above the account's sending rate."""
    draw = random.Random(seed)

    def hook(body: dict[str, Any]) -> Any:
        if draw.random() < share:
            return error_response(429, "TooManyRequestsException", "Maximum sending rate exceeded.")
        return None

    return hook


def emf(output: str) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return [document for document in documents if SEND_RATE in document]


def run_until_sent(messages: list[dict[str, Any]], most: int = 50) -> None:
    """Hand the messages to the sender as SQS would, the failed ones again, until none is
    left."""
    pending = messages
    for _ in range(most):
        response = handler(sqs_event(*pending), FakeContext())
        failed = {int(f["itemIdentifier"].split("-")[1]) for f in response["batchItemFailures"]}
        pending = [message for index, message in enumerate(pending) if index in failed]
        if not pending:
            return
    raise AssertionError(f"{len(pending)} records still failing after {most} invocations")


@pytest.fixture
def adaptive(monkeypatch: pytest.MonkeyPatch) -> None:
    """MAX_SEND_RATE unset (the default), two instances sharing the quota."""
    monkeypatch.setenv("MAXIMUM_CONCURRENCY", "2")


def test_an_instance_paces_to_its_share_of_the_account_quota(
    aws: Aws, invoke, adaptive, capsys
) -> None:
    # GIVEN an account quota of 40 emails/s, two instances, MAX_SEND_RATE unset
    reads: list[str] = []
    answer_get_account(reads)
    aws.put_template()
    # WHEN two batches are handled by one instance
    invoke(*[email_request() for _ in range(3)])
    invoke(*[email_request() for _ in range(3)])
    # THEN it read the quota once and paces to about half of it (a little more, after sends
    # SES accepted)
    assert reads == ["GetAccount"]
    rates = [document[SEND_RATE][0] for document in emf(capsys.readouterr().out)]
    assert QUOTA / 2 <= rates[0] <= rates[1] < QUOTA / 2 * 1.1


def test_throttled_sends_lower_the_rate_and_are_retried_never_failed_nor_doubled(
    aws: Aws, adaptive, capsys
) -> None:
    # GIVEN the quota read from SES, and SES throttling a third of the sends
    answer_get_account([])
    aws.put_template()
    aws.send_hooks.append(throttle_share(1 / 3))
    messages = [email_request(emailId=f"paced-{n}", to=f"r{n}@example.org") for n in range(30)]
    # WHEN SQS hands the batch to the sender, and the failed records again, until none is left
    run_until_sent(messages)
    # THEN every email was sent exactly once and is tracked as sent
    sent = [request["Destination"]["ToAddresses"][0] for request in aws.send_requests]
    accepted = len(aws.sent_mail())
    assert accepted == 30
    assert {item["emailId"]: item["status"] for item in aws.items()} == {
        f"paced-{n}": "sent" for n in range(30)
    }
    assert len(sent) > accepted  # some attempts were throttled
    # AND the throttles were counted, and brought the rate below the instance's share
    documents = emf(capsys.readouterr().out)
    assert sum(document[SES_THROTTLES][0] for document in documents) == len(sent) - accepted
    assert documents[0][SEND_RATE][0] < QUOTA / 2


def test_without_the_quota_an_instance_falls_back_and_says_so(
    aws: Aws, invoke, capsys, caplog
) -> None:
    # GIVEN a role that may not read the account's quota, one instance
    answer_get_account([], error_response(400, "AccessDeniedException", "not authorized"))
    aws.put_template()
    # WHEN a batch is handled
    response = invoke(email_request())
    # THEN it is sent, paced from the fallback quota, and a warning says why
    assert response == {"batchItemFailures": []}
    output = capsys.readouterr().out
    assert [document[SEND_RATE] for document in emf(output)] == [
        [pytest.approx(FALLBACK_QUOTA + 0.25, rel=0.01)]
    ]
    [warning] = [record for record in caplog.records if "GetAccount" in record.getMessage()]
    assert warning.levelname == "WARNING"
    assert warning.fallbackQuota == FALLBACK_QUOTA
    assert "AccessDeniedException" in warning.error


def test_an_explicit_max_send_rate_is_kept_and_reads_no_quota(
    aws: Aws, invoke, monkeypatch, capsys
) -> None:
    # GIVEN MAX_SEND_RATE=25 and SES throttling every other send
    monkeypatch.setenv("MAX_SEND_RATE", "25")
    reads: list[str] = []
    answer_get_account(reads)
    aws.put_template()
    aws.send_hooks.append(throttle_share(0.5))
    # WHEN a batch is handled
    invoke(*[email_request() for _ in range(6)])
    # THEN the instance keeps the configured rate and never asked SES for its quota
    assert [document[SEND_RATE] for document in emf(capsys.readouterr().out)] == [[25.0]]
    assert reads == []


class _Body:
    """The raw body of a response botocore reads (`stream()`)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any):
        yield self._data


def throttle_first_attempt(count: list[int]):
    """SES answers the first SendEmail attempt with its rate error over HTTP, so the SDK's own
    retry (standard mode) sends it again, and the retry goes through."""
    from botocore.awsrequest import AWSResponse

    def before_send(request: Any, **_: Any) -> Any:
        count[0] += 1
        if count[0] > 1:
            return None
        body = json.dumps({"message": "Maximum sending rate exceeded."}).encode()
        headers = {
            "x-amzn-ErrorType": "TooManyRequestsException",
            "Content-Type": "application/json",
        }
        return AWSResponse(request.url, 429, headers, _Body(body))

    clients.client("sesv2").meta.events.register_first("before-send.sesv2.SendEmail", before_send)


def test_a_throttle_the_sdk_retried_through_still_slows_the_instance(
    aws: Aws, invoke, adaptive, capsys
) -> None:
    # GIVEN SES throttling the first attempt of a send, which the SDK retries by itself
    answer_get_account([])
    aws.put_template()
    attempts = [0]
    throttle_first_attempt(attempts)
    # WHEN a batch of one is handled
    response = invoke(email_request(emailId="retried-1"))
    # THEN the email was sent on the SDK's second attempt and tracked as sent, once (moto also
    # answers the attempt the hook answered, so its outbox is no count here: botocore calls
    # every before-send handler and keeps the first answer, the hook's 429)
    assert response == {"batchItemFailures": []}
    assert attempts == [2]
    [item] = aws.items()
    assert item["status"] == "sent" and item["emailId"] == "retried-1"
    # AND the throttle counted, and lowered the instance below its share of the quota
    [document] = emf(capsys.readouterr().out)
    assert document[SES_THROTTLES] == [1.0]
    assert document[SEND_RATE][0] < QUOTA / 2
