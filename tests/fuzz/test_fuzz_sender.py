"""Fuzzing the sender: Email Request bodies of every shape through ``handler(event, context)``.

Properties:

- ``parse_body`` never raises, and every ``emailId`` it accepts is one the contract allows;
- the handler never raises: it answers a partial batch response;
- every record ends sent, failed with a reason, or (untrackable) in the email DLQ; in this
  fault-free account none is reported for retry, since a retry of an input that fails the
  same way every time would only use up the receive budget;
- nothing invalid reaches SES: every SendEmail has valid addresses, valid tags, and no control
  or bidi characters in its subject or display names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.utils import parseaddr
from typing import Any

import pytest
from fuzz_strategies import (
    Nested,
    anything,
    deeply_nested,
    dumps,
    hostile_text,
    huge_text,
    json_values,
    mutated,
    sqs_safe,
    unsafe_characters,
)
from hypothesis import event, given
from hypothesis import strategies as st
from sender_support import Aws, FakeContext, email_request, sqs_event
from sesmailengine.handlers.core.addresses import check_address
from sesmailengine.handlers.core.models import (
    InvalidRequest,
    Untrackable,
    ValidRequest,
    parse_body,
)

CONTRACT_EMAIL_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""The published ``emailId`` syntax, written independently of the model's pattern."""
email_ids = st.from_regex(CONTRACT_EMAIL_ID, fullmatch=True)
near_email_ids = st.tuples(email_ids, st.sampled_from(["\n", "\r\n", " ", "\x00", "/"])).map(
    "".join
)
"""Valid ids with one bad character after them (``$`` in a pattern accepts a final newline)."""
TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")
KEY_PARAMETER = "/sesmailengine-fuzz/unsubscribe-key"
FINAL = {"sent", "failed", "suppressed"}

# -- requests ---------------------------------------------------------------------------------

addresses = st.one_of(
    st.just("user@example.org"),
    st.emails(),
    st.from_regex(r"[a-z0-9._+-]{1,20}@example\.com", fullmatch=True),
)
texts = st.one_of(hostile_text, st.text(max_size=20), huge_text())
data_values = st.one_of(texts, addresses, anything)


def mostly(valid: st.SearchStrategy, hostile: st.SearchStrategy) -> st.SearchStrategy:
    """``valid`` three times in four: enough requests get through to the send."""
    return st.one_of(valid, valid, valid, hostile)


details = st.fixed_dictionaries(
    {
        "to": mostly(addresses, st.one_of(texts, anything)),
        "templateName": mostly(
            st.sampled_from(["welcome", "news", "branded", "missing"]),
            st.one_of(texts, anything),
        ),
        "templateData": mostly(
            st.fixed_dictionaries(
                {name: mostly(hostile_text, data_values) for name in ("name", "title", "team")},
                optional={
                    name: data_values
                    for name in ("reply", "brand", "currentYear", "unsubscribeUrl")
                },
            ),
            st.one_of(st.dictionaries(hostile_text, data_values, max_size=3), anything),
        ),
    },
    optional={
        "emailId": mostly(email_ids, st.one_of(near_email_ids, texts, anything)),
        "subject": st.one_of(hostile_text, texts, anything),
        "senderOverride": mostly(
            st.fixed_dictionaries({}, optional={"email": addresses, "name": hostile_text}),
            anything,
        ),
        "replyTo": mostly(st.lists(addresses, max_size=3), st.one_of(addresses, anything)),
        "metadata": mostly(st.dictionaries(hostile_text, json_values, max_size=4), anything),
        "tags": mostly(
            st.dictionaries(
                st.from_regex(TAG, fullmatch=True), st.from_regex(TAG, fullmatch=True), max_size=3
            ),
            st.one_of(st.dictionaries(texts, texts, max_size=3), anything),
        ),
    },
)


header_text = st.one_of(
    hostile_text,
    st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=30),
)
"""Text bound for a header: hostile, or printable in any script."""
deliverable = st.fixed_dictionaries(
    {
        "to": st.just("user@example.org"),
        "templateName": st.sampled_from(["welcome", "news", "branded"]),
        "templateData": st.fixed_dictionaries(
            {"name": header_text, "title": header_text, "team": header_text},
            optional={"reply": st.just("help@example.org")},
        ),
    },
    optional={
        "subject": header_text,
        "senderOverride": st.fixed_dictionaries({"name": header_text}),
        "tags": st.dictionaries(st.from_regex(TAG, fullmatch=True), header_text, max_size=2),
    },
)
"""Requests that would be sent, but for the hostile text that ends up in headers."""


@st.composite
def envelopes(draw: st.DrawFn) -> Any:
    event = email_request(draw(st.one_of(st.none(), email_ids, near_email_ids)))
    event["detail"] = draw(st.one_of(deliverable, details))
    return draw(mutated(event)) if draw(st.integers(0, 5)) == 0 else event


bodies = st.one_of(
    envelopes().map(dumps),
    envelopes().map(dumps),
    envelopes().map(dumps),
    envelopes().map(dumps),
    envelopes().map(dumps),
    envelopes().map(dumps),
    texts,
    json_values.map(dumps),
    deeply_nested().map(lambda nested: nested.text),
).map(sqs_safe)
"""SQS bodies: Email Request events (valid, fuzzed detail, fuzzed envelope) and anything else
a queue can hold."""


# -- the account ------------------------------------------------------------------------------


class Sender:
    """The module's moto account, set up for the sender: templates of each kind, the email DLQ
    and the unsubscribe key; cleared of what an example wrote before the next."""

    def __init__(self, aws: Aws, dead_letter_queue_url: str):
        self.aws = aws
        self.dead_letter_queue_url = dead_letter_queue_url

    def clear(self) -> None:
        dynamodb = self.aws.client("dynamodb")
        for item in dynamodb.scan(TableName="EmailTracking", ProjectionExpression="emailId")[
            "Items"
        ]:
            dynamodb.delete_item(TableName="EmailTracking", Key={"emailId": item["emailId"]})
        self.dead_lettered()
        self.aws.send_requests.clear()

    def dead_lettered(self) -> dict[str, str]:
        """``sourceMessageId`` → reason of every message moved to the DLQ (drained)."""
        sqs, found = self.aws.client("sqs"), {}
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.dead_letter_queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                attributes = message["MessageAttributes"]
                found[attributes["sourceMessageId"]["StringValue"]] = attributes["reason"][
                    "StringValue"
                ]
                sqs.delete_message(
                    QueueUrl=self.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def statuses(self) -> dict[str, dict[str, Any]]:
        return {item["emailId"]: item for item in self.aws.items()}


@pytest.fixture(scope="module")
def sender(account: Aws) -> Iterator[Sender]:
    queue_url = account.client("sqs").create_queue(QueueName="email-dlq")["QueueUrl"]
    account.client("ssm").put_parameter(Name=KEY_PARAMETER, Value="k" * 64, Type="SecureString")
    account.put_template()
    account.put_template(name="news", category="marketing", topic="product-news")
    account.put_template(
        name="branded",
        subject="{{ title }}",
        senderName="{{ team }}",
        replyTo=["{{ reply }}"],
        requiredVariables=["title", "team", "reply"],
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("EMAIL_DEAD_LETTER_QUEUE_URL", queue_url)
        monkeypatch.setenv("UNSUBSCRIBE_URL", "https://abc.lambda-url.us-east-1.on.aws/")
        monkeypatch.setenv("UNSUBSCRIBE_KEY_PARAMETER", KEY_PARAMETER)
        yield Sender(account, queue_url)


# -- properties -------------------------------------------------------------------------------


@given(body=bodies)
def test_parse_body_never_raises_and_accepts_only_contract_email_ids(body: str):
    parsed = parse_body(body)
    assert isinstance(parsed, ValidRequest | InvalidRequest | Untrackable)
    if isinstance(parsed, ValidRequest | InvalidRequest):
        assert CONTRACT_EMAIL_ID.fullmatch(parsed.email_id), parsed.email_id
    if isinstance(parsed, InvalidRequest | Untrackable):
        assert parsed.reason


@given(batch=st.lists(bodies, min_size=1, max_size=3))
def test_every_record_ends_sent_failed_or_dead_lettered_and_ses_sees_only_valid_mail(
    sender: Sender, batch: list[str]
):
    # GIVEN an empty tracking table and DLQ  WHEN a batch of fuzzed bodies is handled
    from sesmailengine.handlers.email_sender import handler

    sender.clear()
    response = handler(sqs_event(*batch), FakeContext())
    # THEN no record is retried: each is tracked in a final status, or dead-lettered
    assert response == {"batchItemFailures": []}, response
    statuses, dead_lettered = sender.statuses(), sender.dead_lettered()
    for index, body in enumerate(batch):
        parsed = parse_body(body)
        if isinstance(parsed, Untrackable):
            assert f"record-{index}" in dead_lettered
            continue
        item = statuses[parsed.email_id]
        event(f"status {item['status']}")
        assert item["status"] in FINAL, item
        if item["status"] == "failed":
            assert item.get("statusReason"), item
    # AND every message SES was asked to send is well formed
    for request in sender.aws.send_requests:
        assert_well_formed(request)
    assert len(sender.aws.send_requests) == sum(i["status"] == "sent" for i in statuses.values())


def assert_well_formed(request: dict[str, Any]) -> None:
    simple = request["Content"]["Simple"]
    subject = simple["Subject"]["Data"]
    assert subject and not unsafe_characters(subject), subject
    name, address = parseaddr(request["FromEmailAddress"])
    assert check_address(address) == address
    display = str(make_header(decode_header(name))) if name else ""
    assert not unsafe_characters(display), display
    for to in request["Destination"]["ToAddresses"]:
        assert check_address(to) == to
    for reply_to in request.get("ReplyToAddresses", []):
        assert check_address(reply_to) == reply_to
    for tag in request["EmailTags"]:
        assert TAG.fullmatch(tag["Name"]) and TAG.fullmatch(tag["Value"]), tag
    for header in simple.get("Headers", []):
        assert not unsafe_characters(header["Name"] + header["Value"]), header


def test_deep_nesting_is_a_body_the_fuzzer_sends():
    # The strategy's nesting is deeper than json.loads's recursion limit (checked once).
    deep = Nested("[" * 20_000 + "1" + "]" * 20_000, 20_000)
    assert dumps({"detail": deep}).startswith('{"detail":[[[')
