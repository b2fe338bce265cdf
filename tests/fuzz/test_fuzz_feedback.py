"""Fuzzing the feedback processor: SNS records of SES notifications, valid and hostile.

Properties:

- ``parse_notification`` returns a Feedback or Ignored, or raises MalformedFeedback: nothing
  else, whatever the SNS ``Message`` holds;
- ``handler(event, context)`` either returns ``{"records": n}`` or raises FeedbackFailed (the
  designed retry: Lambda retries the event, then its DLQ keeps it), and only for the designed
  reasons (an unreadable notification, an email not visible yet, a transient error): an
  unexpected error type is a parser gap;
- a record whose notification cannot be read always fails the invocation (never dropped).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from feedback_support import sample, ses_event, sns_event, track
from fuzz_strategies import anything, deeply_nested, dumps, hostile_text, json_values, mutated
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sender_support import Aws, FakeContext
from sesmailengine.handlers.core.notifications import (
    Feedback,
    Ignored,
    MalformedFeedback,
    SnsMessage,
    parse_notification,
)

SAMPLES = [
    "bounce",
    "click",
    "complaint",
    "delivery-delay",
    "delivery",
    "open",
    "reject",
    "rendering-failure",
    "send",
    "notification-bounce-dsn",
    "notification-complaint",
    "notification-delivery",
]
DESIGNED = {"MalformedFeedback", "NotYetVisible", "TransientError"}
ERROR_TYPE = re.compile(r"(?:^|; )([A-Z]\w*(?:Error|Exception|Feedback|Visible|Failed)): ")
"""The exception types FeedbackFailed's message lists, one per failed record."""

timestamps = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-13-01"]),
    hostile_text,
)


@st.composite
def notifications(draw: st.DrawFn) -> Any:
    """A documented SES event (tagged with a known or hostile emailId), hostile somewhere."""
    event = ses_event(
        draw(st.sampled_from(SAMPLES)),
        email_id=draw(st.one_of(st.just("order-1"), st.none(), hostile_text)),
        recipients=draw(
            st.one_of(st.just(None), st.lists(st.one_of(st.emails(), hostile_text), min_size=1))
        ),
    )
    if draw(st.booleans()):
        event["mail"]["timestamp"] = draw(timestamps)
    return draw(mutated(event)) if draw(st.booleans()) else event


messages = st.one_of(
    notifications().map(dumps),
    notifications().map(dumps),
    notifications().map(dumps),
    hostile_text,
    json_values.map(dumps),
    anything.map(dumps),
    deeply_nested().map(lambda nested: nested.text),
)


@st.composite
def sns_records(draw: st.DrawFn) -> dict[str, Any]:
    event = sns_event(*[{} for _ in range(draw(st.integers(1, 3)))])
    for record in event["Records"]:
        record["Sns"]["Message"] = draw(messages)
        if draw(st.integers(0, 4)) == 0:
            record["Sns"]["Timestamp"] = draw(timestamps)
    return event


@pytest.fixture(scope="module")
def processor(account: Aws) -> Iterator[Aws]:
    from sesmailengine.handlers import feedback

    feedback.reset(account.session)
    yield account
    feedback.reset()


@given(message=messages)
def test_parse_notification_returns_feedback_or_raises_malformed_only(message: str):
    try:
        parsed = parse_notification(SnsMessage(MessageId="m-1", Message=message))
    except MalformedFeedback:
        return
    assert isinstance(parsed, Feedback | Ignored)


@given(event=sns_records())
def test_the_handler_returns_or_fails_the_event_for_designed_reasons_only(
    processor: Aws, event: dict[str, Any]
):
    from sesmailengine.handlers.feedback import FeedbackFailed
    from sesmailengine.handlers.feedback_processor import handler

    track(processor)  # a fresh order-1 (its feedbackIds would grow with every example)

    # GIVEN records whose envelope or notification cannot be read
    unreadable = 0
    for record in event["Records"]:
        try:
            parse_notification(SnsMessage.model_validate(record["Sns"]))
        except (ValidationError, MalformedFeedback):
            unreadable += 1
    # WHEN the handler runs
    try:
        result = handler(copy.deepcopy(event), FakeContext())
    except FeedbackFailed as failed:
        # THEN a failed invocation names only designed reasons
        if str(failed).startswith("not an SNS event"):
            assert unreadable, str(failed)
            return
        errors = ERROR_TYPE.findall(str(failed).split(": ", 1)[1])
        assert errors and all(error in DESIGNED for error in errors), str(failed)
        return
    # THEN a successful one read every record
    assert unreadable == 0
    assert result == {"records": len(event["Records"])}


def test_the_samples_are_all_read():
    # The mutations start from readable events (checked once, so a renamed sample shows).
    for name in SAMPLES:
        assert isinstance(parse_notification(_message(sample(name))), Feedback | Ignored)


def _message(notification: dict[str, Any]) -> SnsMessage:
    return SnsMessage(MessageId="m-1", Message=dumps(notification))
