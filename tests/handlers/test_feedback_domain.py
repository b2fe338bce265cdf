"""The feedback processor's pure rules, without moto: parsing, status transitions, streaks,
suppression precedence and the environment."""

from __future__ import annotations

import itertools
import json

import pytest
from feedback_support import sample
from sesmailengine.handlers.core.environment import FeedbackEnvironment
from sesmailengine.handlers.core.errors import ConfigurationError
from sesmailengine.handlers.core.feedback_rules import next_status
from sesmailengine.handlers.core.notifications import (
    Feedback,
    Ignored,
    Kind,
    MalformedFeedback,
    SnsMessage,
    parse_notification,
)
from sesmailengine.handlers.core.statuses import Status, SuppressionReason, replaceable_by
from sesmailengine.handlers.core.streaks import entries_up_to, streak_length


def parse(event: dict, sns_id: str = "sns-1"):
    return parse_notification(SnsMessage(MessageId=sns_id, Message=json.dumps(event)))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("bounce", Kind.HARD_BOUNCE),
        ("complaint", Kind.COMPLAINT),
        ("delivery", Kind.DELIVERY),
        ("reject", Kind.REJECT),
        ("rendering-failure", Kind.RENDERING_FAILURE),
        ("delivery-delay", Kind.DELIVERY_DELAY),
        ("open", Kind.OPEN),
        ("click", Kind.CLICK),
        ("notification-bounce-dsn", Kind.HARD_BOUNCE),
        ("notification-complaint", Kind.COMPLAINT),
        ("notification-delivery", Kind.DELIVERY),
    ],
)
def test_every_documented_sample_parses_to_its_kind(name: str, kind: Kind) -> None:
    # GIVEN an AWS documentation sample
    # WHEN it is parsed
    feedback = parse(sample(name))
    # THEN it has the right kind and the message id, and no tag means no emailId
    assert feedback.kind is kind
    assert feedback.ses_message_id == sample(name)["mail"]["messageId"]
    assert feedback.email_id is None


def test_the_send_sample_is_read_as_a_send() -> None:
    # GIVEN SES's Send event sample (it closes the crash window: the email left SES)
    # WHEN it is parsed
    feedback = parse(sample("send"))
    # THEN it is a Send of that message, not ignored
    assert isinstance(feedback, Feedback)
    assert feedback.kind is Kind.SEND
    assert feedback.ses_message_id == sample("send")["mail"]["messageId"]


def test_unknown_notification_types_are_ignored() -> None:
    # GIVEN SES's subscription confirmation WHEN it is parsed THEN it is ignored, not an error
    assert isinstance(parse({"notificationType": "AmazonSnsSubscriptionSucceeded"}), Ignored)


@pytest.mark.parametrize(
    ("bounce_type", "kind"),
    [
        ("Permanent", Kind.HARD_BOUNCE),
        ("Transient", Kind.SOFT_BOUNCE),
        ("Undetermined", Kind.SOFT_BOUNCE),
    ],
)
def test_only_permanent_bounces_are_hard(bounce_type: str, kind: Kind) -> None:
    event = sample("bounce")
    event["bounce"]["bounceType"] = bounce_type
    assert parse(event).kind is kind


def test_bounce_and_complaint_keys_are_their_feedback_ids_others_the_sns_id() -> None:
    # GIVEN the same bounce under two SNS ids, and a delivery
    # WHEN parsed
    # THEN the bounce's key does not depend on the SNS message; the delivery's does
    assert parse(sample("bounce"), "a").key == parse(sample("bounce"), "b").key
    assert parse(sample("delivery"), "a").key != parse(sample("delivery"), "b").key


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[1]",
        json.dumps({"eventType": "Bounce", "mail": {}}),
        json.dumps({"eventType": "Delivery", "mail": sample("delivery")["mail"]}),
    ],
)
def test_an_unreadable_event_is_malformed(message: str) -> None:
    with pytest.raises(MalformedFeedback):
        parse_notification(SnsMessage(MessageId="x", Message=message))


# -- transitions --------------------------------------------------------------------------------

S = Status


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        (S.SENT, S.DELIVERED, S.DELIVERED),
        (S.PROCESSING, S.DELIVERED, S.DELIVERED),
        (S.DELIVERED, S.SOFT_BOUNCED, S.SOFT_BOUNCED),
        (S.SOFT_BOUNCED, S.DELIVERED, None),
        (S.DELIVERED, S.BOUNCED, S.BOUNCED),
        (S.DELIVERED, S.COMPLAINED, S.COMPLAINED),
        (S.COMPLAINED, S.DELIVERED, None),
        (S.BOUNCED, S.DELIVERED, None),
        (S.BOUNCED, S.SOFT_BOUNCED, None),
        (S.BOUNCED, S.FAILED, None),
        (S.SENT, S.FAILED, S.FAILED),
        (S.DELIVERED, S.DELIVERED, None),
        (S.SENT, None, None),
        ("some_future_status", S.COMPLAINED, None),
    ],
)
def test_statuses_only_move_forward(current, incoming, expected) -> None:
    assert next_status(current, incoming) == expected


def test_the_final_status_does_not_depend_on_arrival_order() -> None:
    # GIVEN every order of a delivery, a soft bounce and a complaint
    reports = [S.DELIVERED, S.SOFT_BOUNCED, S.COMPLAINED]
    finals = set()
    for order in itertools.permutations(reports):
        status: str = S.SENT
        for incoming in order:
            status = next_status(status, incoming) or status
        finals.add(status)
    # THEN they all end the same
    assert finals == {S.COMPLAINED}


# -- streaks and suppression precedence ---------------------------------------------------------


def test_a_streak_counts_only_soft_bounces_after_the_last_delivery() -> None:
    entries = {"2026-01-01T00:00:00.000Z a", "2026-01-03T00:00:00.000Z b"}
    assert streak_length(entries, None) == 2
    assert streak_length(entries, "2026-01-02T00:00:00.000Z") == 1
    assert entries_up_to(entries, "2026-01-02T00:00:00.000Z") == {"2026-01-01T00:00:00.000Z a"}


def test_a_stronger_suppression_reason_replaces_only_weaker_ones() -> None:
    R = SuppressionReason
    assert replaceable_by(R.HARD_BOUNCE) == (R.UNSUBSCRIBE, R.SOFT_BOUNCE)
    assert R.MANUAL not in replaceable_by(R.COMPLAINT)
    assert replaceable_by(R.UNSUBSCRIBE) == ()


def test_the_environment_defaults_and_validates_the_threshold() -> None:
    env = {"TRACKING_TABLE": "t", "SUPPRESSION_TABLE": "s"}
    assert FeedbackEnvironment.from_env(env).soft_bounce_threshold == 3
    with pytest.raises(ConfigurationError, match="SOFT_BOUNCE_THRESHOLD"):
        FeedbackEnvironment.from_env(env | {"SOFT_BOUNCE_THRESHOLD": "0"})
    with pytest.raises(ConfigurationError, match="SUPPRESSION_TABLE: missing"):
        FeedbackEnvironment.from_env({"TRACKING_TABLE": "t"})
