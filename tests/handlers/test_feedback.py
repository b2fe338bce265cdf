"""The feedback processor, end to end through ``handler(event, context)`` against moto.

Every SES event starts from the AWS documentation's sample (``events/``); status events are
read back as a consumer gets them: through an EventBridge rule into an SQS queue.
"""

# ruff: noqa: F811  (``process`` is a fixture imported from feedback_support)

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from feedback_support import (  # noqa: F401
    TO,
    minutes_ago,
    process,
    sample,
    ses_event,
    sns_event,
    suppression,
    track,
)
from sender_support import Aws
from sesmailengine.handlers.feedback import FeedbackFailed

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- each event type, from the AWS samples ------------------------------------------------------


def test_a_delivery_marks_the_email_delivered(aws: Aws, process) -> None:
    # GIVEN a sent email
    track(aws)
    # WHEN SES reports its delivery
    process(ses_event("delivery", at=at(1)))
    # THEN the item is delivered, with the time SES reported, and consumers hear of it
    item = aws.item("order-1")
    assert item["status"] == "delivered"
    assert item["deliveredAt"] == "2026-03-01T12:01:00.000Z"
    assert item["timestamp"] == "2026-03-01T12:01:00.000Z"
    [event] = aws.status_events()
    assert event["detail"]["status"] == "delivered"
    assert event["detail"]["previousStatus"] == "sent"


def test_a_permanent_bounce_announces_every_documented_field(aws: Aws, process) -> None:
    # GIVEN a sent email with metadata
    track(aws)
    # WHEN SES reports a permanent bounce
    process(ses_event("bounce", at=at(2)))
    # THEN a consumer of the bus receives the bounced event with the bounce details
    [event] = aws.status_events()
    assert event["source"] == "sesmailengine"
    assert event["detail-type"] == "Email Status Changed"
    assert event["detail"] == {
        "eventId": hashlib.sha256(b"order-1\nbounced").hexdigest(),
        "emailId": "order-1",
        "status": "bounced",
        "previousStatus": "sent",
        "toEmail": TO,
        "templateName": "welcome",
        "sesMessageId": "msg-1",
        "timestamp": "2026-03-01T12:02:00.000Z",
        "metadata": {"userId": 7},
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
    }


def test_a_permanent_bounce_marks_bounced_and_suppresses_the_recipient(aws: Aws, process) -> None:
    # GIVEN a sent email
    track(aws)
    # WHEN SES reports a permanent bounce
    process(ses_event("bounce", at=at(2)))
    # THEN the item is bounced with the details and the address is suppressed as hard_bounce
    item = aws.item("order-1")
    assert item["status"] == "bounced"
    assert item["bouncedAt"] == "2026-03-01T12:02:00.000Z"
    assert (item["bounceType"], item["bounceSubType"]) == ("Permanent", "General")
    assert item["diagnosticCode"] == "smtp; 550 5.1.1 user unknown"
    suppressed = suppression(aws, TO)
    assert suppressed["reason"] == "hard_bounce"
    assert suppressed["emailId"] == "order-1"
    assert suppressed["createdAt"].endswith("Z")


def test_a_complaint_marks_complained_and_suppresses(aws: Aws, process) -> None:
    # GIVEN a delivered email
    track(aws, status="delivered")
    # WHEN the recipient complains
    process(ses_event("complaint", at=at(5)))
    # THEN the item is complained, the address suppressed, and the event says so
    item = aws.item("order-1")
    assert item["status"] == "complained"
    assert item["complainedAt"] == "2026-03-01T12:05:00.000Z"
    assert item["complaintFeedbackType"] == "abuse"
    assert suppression(aws, TO)["reason"] == "complaint"
    [event] = aws.status_events()
    assert (event["detail"]["status"], event["detail"]["previousStatus"]) == (
        "complained",
        "delivered",
    )
    assert "bounceType" not in event["detail"]


@pytest.mark.parametrize("bounce_type", ["Transient", "Undetermined"])
def test_a_transient_or_undetermined_bounce_is_soft_and_does_not_suppress(
    aws: Aws, process, bounce_type: str
) -> None:
    # GIVEN a sent email
    track(aws)
    # WHEN SES reports a non-permanent bounce
    process(ses_event("bounce", bounce_type=bounce_type, at=at(3)))
    # THEN it is soft_bounced, counted once for the address, and nothing is suppressed
    item = aws.item("order-1")
    assert item["status"] == "soft_bounced"
    assert item["softBouncedAt"] == "2026-03-01T12:03:00.000Z"
    assert item["bounceType"] == bounce_type
    assert len(aws.item(f"address#{TO}")["softBounces"]) == 1
    assert suppression(aws, TO) is None
    [event] = aws.status_events()
    assert event["detail"]["status"] == "soft_bounced"
    assert event["detail"]["bounceType"] == bounce_type


def test_the_soft_bounce_streak_item_stays_out_of_the_indexes(aws: Aws, process) -> None:
    # GIVEN a sent email that soft-bounces
    track(aws)
    before = datetime.now(UTC)
    process(ses_event("bounce", bounce_type="Transient"))
    # WHEN the streak item is read
    streak = aws.item(f"address#{TO}")
    # THEN it has none of the index keys and expires 30 days after the bounce
    assert not {"toEmail", "timestamp", "datePartition", "sesMessageId"} & set(streak)
    assert abs(int(streak["ttl"]) - (before.timestamp() + 30 * 86400)) < 60


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("reject", "rejected by SES: Bad content"),
        (
            "rendering-failure",
            "rendering failed: Attribute 'attributeName' is not present in the rendering data.",
        ),
    ],
)
def test_reject_and_rendering_failure_fail_the_email_without_suppressing(
    aws: Aws, process, name: str, reason: str
) -> None:
    # GIVEN a sent email
    track(aws)
    # WHEN SES reports it could not send it
    process(ses_event(name))
    # THEN it is failed with the reason, announced, and the recipient is not suppressed
    item = aws.item("order-1")
    assert item["status"] == "failed"
    assert item["statusReason"] == reason
    assert suppression(aws, TO) is None
    [event] = aws.status_events()
    assert event["detail"]["status"] == "failed"
    assert event["detail"]["statusReason"] == reason


def test_a_delivery_delay_is_recorded_without_changing_the_status(aws: Aws, process) -> None:
    # GIVEN a sent email
    track(aws)
    # WHEN SES reports a delay
    process(ses_event("delivery-delay", at=at(10)))
    # THEN the delay is recorded, the status stays and nobody is told
    item = aws.item("order-1")
    assert item["status"] == "sent"
    assert item["deliveryDelayedAt"] == "2026-03-01T12:10:00.000Z"
    assert item["deliveryDelayType"] == "TransientCommunicationFailure"
    assert aws.status_events() == []


def test_opens_and_clicks_record_the_first_time_and_a_count(aws: Aws, process) -> None:
    # GIVEN a delivered email
    track(aws, status="delivered")
    # WHEN it is opened twice and clicked once
    process(ses_event("open", at=at(1)), ses_event("open", at=at(2)), ses_event("click", at=at(3)))
    # THEN the first open, the counts and the click are on the item; the status stays
    item = aws.item("order-1")
    assert item["status"] == "delivered"
    assert item["openedAt"] == "2026-03-01T12:01:00.000Z"
    assert (item["opens"], item["clicks"]) == (2, 1)
    assert item["clickedAt"] == "2026-03-01T12:03:00.000Z"
    assert aws.status_events() == []


def test_an_email_opened_past_the_event_limit_stops_counting_but_takes_a_bounce(
    aws: Aws, process, capsys
) -> None:
    # GIVEN a delivered email whose item already keeps the ids of MAX_APPLIED_EVENTS events
    # (opened that often: a forwarded newsletter, a link scanner)
    from sesmailengine.handlers.core.feedback_rules import MAX_APPLIED_EVENTS

    applied = {f"open-{n:04}" for n in range(MAX_APPLIED_EVENTS)}
    track(aws, status="delivered", feedbackIds=applied, opens=MAX_APPLIED_EVENTS)
    # WHEN it is opened and clicked once more
    process(ses_event("open", at=at(1)), ses_event("click", at=at(2)))
    # THEN neither is counted, nor grows the item; the metric says so, nothing failed
    item = aws.item("order-1")
    assert item["opens"] == MAX_APPLIED_EVENTS and "clicks" not in item
    assert len(item["feedbackIds"]) == MAX_APPLIED_EVENTS
    assert _metrics(capsys)["EngagementUncounted"] == 2
    # AND a bounce reported afterwards still moves the status and suppresses the address
    process(ses_event("bounce", at=at(3)))
    assert aws.item("order-1")["status"] == "bounced"
    assert suppression(aws, TO) is not None


def test_a_send_event_records_the_send_the_sender_could_not(aws: Aws, process) -> None:
    # GIVEN an email SES accepted while its sender crashed before writing `sent`
    track(aws, status="processing", ses_message_id=None)
    # WHEN SES reports the send
    process(ses_event("send", message_id="msg-7", sent_at=at(0)))
    # THEN the email is sent, with SES's message id and the time SES accepted it
    item = aws.item("order-1")
    assert (item["status"], item["sesMessageId"]) == ("sent", "msg-7")
    assert item["sentAt"] == "2026-03-01T12:00:00.000Z"


@pytest.mark.parametrize("status", ["unknown", "processing"])
def test_a_send_event_proves_an_unobserved_send(aws: Aws, process, status: str) -> None:
    # GIVEN an email whose send nobody recorded (held as unknown, or still claimed)
    track(aws, status=status, ses_message_id=None)
    # WHEN SES reports the send
    process(ses_event("send"))
    # THEN the email is sent
    assert aws.item("order-1")["status"] == "sent"


@pytest.mark.parametrize("status", ["sent", "delivered", "bounced"])
def test_a_send_event_after_the_sender_or_later_feedback_changes_no_status(
    aws: Aws, process, status: str
) -> None:
    # GIVEN an email the sender (or later feedback) already recorded
    track(aws, status=status, ses_message_id="msg-1", sentAt="2026-03-01T12:00:05.000Z")
    # WHEN the Send event arrives late
    process(ses_event("send", message_id="msg-1", sent_at=at(0)))
    # THEN the status and the sender's record stay as they are
    item = aws.item("order-1")
    assert (item["status"], item["sesMessageId"]) == (status, "msg-1")
    assert item["sentAt"] == "2026-03-01T12:00:05.000Z"


def test_a_send_event_for_an_email_not_found_is_not_retried(aws: Aws, process) -> None:
    # GIVEN no tracking item for an untagged, recent Send event
    # WHEN it arrives
    process(ses_event("send", email_id=None, sent_at=minutes_ago(0)))
    # THEN it is counted as an unknown email, not retried (the sender records the id itself)
    assert aws.count("Query") == 1


# -- the older identity-notification format, found through the index ---------------------------


@pytest.mark.parametrize(
    ("name", "status", "recipient"),
    [
        ("notification-delivery", "delivered", "jane@example.com"),
        ("notification-bounce-dsn", "bounced", "jane@example.com"),
        ("notification-complaint", "complained", "richard@example.com"),
    ],
)
def test_identity_notifications_are_applied_through_the_message_id_index(
    aws: Aws, process, name: str, status: str, recipient: str
) -> None:
    # GIVEN a documented notification (no tags) for an email we sent with its message id
    notification = sample(name)
    message_id = notification["mail"]["messageId"]
    track(aws, to=recipient, ses_message_id=message_id)
    # WHEN it arrives
    process(notification)
    # THEN the email is found by the index and moves on
    assert aws.count("Query") == 1
    assert aws.item("order-1")["status"] == status
    [event] = aws.status_events()
    assert event["detail"]["sesMessageId"] == message_id


def test_a_multi_recipient_bounce_suppresses_every_bounced_recipient(aws: Aws, process) -> None:
    # GIVEN the documented bounce of a mail to jane, mary and richard, where jane and richard
    # bounced
    notification = sample("notification-bounce-no-dsn")
    track(aws, ses_message_id=notification["mail"]["messageId"], to="jane@example.com")
    # WHEN it arrives
    process(notification)
    # THEN both bounced recipients are suppressed and mary is not
    assert suppression(aws, "jane@example.com")["reason"] == "hard_bounce"
    assert suppression(aws, "richard@example.com")["reason"] == "hard_bounce"
    assert suppression(aws, "mary@example.com") is None


def test_the_email_id_tag_is_read_with_a_consistent_get_not_the_index(aws: Aws, process) -> None:
    # GIVEN a sent email whose emailId needs escaping in the tag
    track(aws, "order:1.a_b")
    # WHEN its delivery arrives with the tag
    process(ses_event("delivery", email_id="order:1.a_b"))
    # THEN it is found by the decoded id, without querying the index
    assert aws.item("order:1.a_b")["status"] == "delivered"
    assert aws.count("Query") == 0


def test_feedback_before_the_sender_recorded_the_send_still_applies(aws: Aws, process) -> None:
    # GIVEN an email the sender has claimed but not yet marked sent (no sesMessageId yet)
    track(aws, status="processing", ses_message_id=None)
    # WHEN its delivery arrives first
    process(ses_event("delivery", message_id="msg-9"))
    # THEN it is delivered and carries the SES message id for the index
    item = aws.item("order-1")
    assert (item["status"], item["sesMessageId"]) == ("delivered", "msg-9")


# -- unknown emails and the index's eventual consistency ---------------------------------------


def test_an_event_for_an_email_we_never_sent_is_counted_not_failed(
    aws: Aws, process, capsys
) -> None:
    # GIVEN no tracking item, and a bounce of a message sent long ago without our tag
    event = ses_event("bounce", email_id=None, message_id="unknown-1", sent_at=minutes_ago(60))
    # WHEN it arrives
    process(event)
    # THEN nothing is created or announced, it is counted, and the bad address is still
    # suppressed (suppression is idempotent and needs no tracking item)
    assert aws.items() == []
    assert aws.status_events() == []
    assert _metrics(capsys)["UnknownEmail"] == 1
    assert suppression(aws, TO)["reason"] == "hard_bounce"


def test_an_unknown_email_id_tag_is_counted_not_failed(aws: Aws, process, capsys) -> None:
    # GIVEN a delivery tagged with an emailId that has no item
    # WHEN it arrives, even moments after the send
    process(ses_event("delivery", email_id="not-ours", sent_at=minutes_ago(0)))
    # THEN it is counted as unknown without a retry (the tag read is strongly consistent)
    assert _metrics(capsys)["UnknownEmail"] == 1
    assert aws.items() == []


def test_a_recent_event_not_found_in_the_index_is_retried(aws: Aws, process, capsys) -> None:
    # GIVEN a delivery without a tag for a message sent a moment ago, not in the index yet
    event = sns_event(
        ses_event("delivery", email_id=None, message_id="msg-new", sent_at=minutes_ago(1))
    )
    # WHEN it arrives
    # THEN the invocation fails so Lambda retries it, and it is not counted as unknown
    with pytest.raises(FeedbackFailed):
        process(event=event)
    assert _metrics(capsys)["UnknownEmail"] == 0
    # AND once the sender has recorded the message id, the retry applies it
    track(aws, ses_message_id="msg-new")
    process(event=event)
    assert aws.item("order-1")["status"] == "delivered"


# -- soft-bounce streaks ------------------------------------------------------------------------


def _soft_bounce(email_id: str, minute: float, **kwargs) -> dict:
    return ses_event(
        "bounce",
        email_id=email_id,
        message_id=f"msg-{email_id}",
        bounce_type="Transient",
        at=at(minute),
        **kwargs,
    )


def _delivery(email_id: str, minute: float) -> dict:
    return ses_event("delivery", email_id=email_id, message_id=f"msg-{email_id}", at=at(minute))


def test_three_consecutive_soft_bounces_suppress_the_address(aws: Aws, process) -> None:
    # GIVEN three emails to the same address
    for email_id in ("e1", "e2", "e3"):
        track(aws, email_id)
    # WHEN two soft-bounce, nothing is suppressed yet
    process(_soft_bounce("e1", 1))
    process(_soft_bounce("e2", 2))
    assert suppression(aws, TO) is None
    # AND WHEN the third soft-bounces
    process(_soft_bounce("e3", 3))
    # THEN the address is suppressed as soft_bounce, naming the email that tipped it
    suppressed = suppression(aws, TO)
    assert suppressed["reason"] == "soft_bounce"
    assert suppressed["emailId"] == "e3"


def test_a_delivery_between_soft_bounces_resets_the_count(aws: Aws, process) -> None:
    # GIVEN four emails to the same address
    for email_id in ("e1", "e2", "e3", "e4"):
        track(aws, email_id)
    # WHEN two soft-bounce, one is delivered, then one more soft-bounces
    process(_soft_bounce("e1", 1))
    process(_soft_bounce("e2", 2))
    process(_delivery("e3", 3))
    process(_soft_bounce("e4", 4))
    # THEN the address is not suppressed: the streak is one long
    assert suppression(aws, TO) is None
    assert len(aws.item(f"address#{TO}")["softBounces"]) == 1


def test_a_soft_bounce_older_than_the_last_delivery_does_not_count(aws: Aws, process) -> None:
    # GIVEN a streak of two, then a delivery at minute 10
    for email_id in ("e1", "e2", "e3", "e4"):
        track(aws, email_id)
    process(_soft_bounce("e1", 1))
    process(_soft_bounce("e2", 2))
    process(_delivery("e3", 10))
    # WHEN a soft bounce that happened at minute 5 arrives late
    process(_soft_bounce("e4", 5))
    # THEN it is recorded on its email but does not extend the streak
    assert aws.item("e4")["status"] == "soft_bounced"
    assert "softBounces" not in aws.item(f"address#{TO}")
    assert suppression(aws, TO) is None


def test_a_delivery_that_arrives_before_older_soft_bounces_still_ends_them(
    aws: Aws, process
) -> None:
    # GIVEN three emails; the delivery (minute 10) is processed before two older soft bounces
    for email_id in ("e1", "e2", "e3", "e4"):
        track(aws, email_id)
    process(_delivery("e3", 10))
    process(_soft_bounce("e1", 1))
    process(_soft_bounce("e2", 2))
    # WHEN a newer soft bounce follows
    process(_soft_bounce("e4", 11))
    # THEN only that one counts: same outcome as in time order
    assert suppression(aws, TO) is None


def test_the_threshold_comes_from_the_environment(aws: Aws, process, monkeypatch) -> None:
    # GIVEN a threshold of 1
    monkeypatch.setenv("SOFT_BOUNCE_THRESHOLD", "1")
    track(aws)
    # WHEN one soft bounce arrives
    process(ses_event("bounce", bounce_type="Transient"))
    # THEN the address is suppressed
    assert suppression(aws, TO)["reason"] == "soft_bounce"


# -- order independence -------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["delivery-first", "complaint-first"])
def test_delivery_and_complaint_end_complained_in_either_order(
    aws: Aws, process, order: str
) -> None:
    # GIVEN a sent email
    track(aws)
    events = [ses_event("delivery", at=at(1)), ses_event("complaint", at=at(5))]
    if order == "complaint-first":
        events.reverse()
    # WHEN both arrive, in separate invocations
    for event in events:
        process(event)
    # THEN the email is complained, with both timestamps
    item = aws.item("order-1")
    assert item["status"] == "complained"
    assert item["deliveredAt"] == "2026-03-01T12:01:00.000Z"
    assert item["complainedAt"] == "2026-03-01T12:05:00.000Z"
    # AND a late delivery announces nothing
    statuses = [event["detail"]["status"] for event in aws.status_events()]
    expected = ["delivered", "complained"] if order == "delivery-first" else ["complained"]
    assert statuses == expected


def test_a_late_delivery_never_undoes_a_bounce(aws: Aws, process) -> None:
    # GIVEN a bounced email
    track(aws)
    process(ses_event("bounce", at=at(2)))
    aws.status_events()
    # WHEN a delivery report arrives late
    process(ses_event("delivery", at=at(1)))
    # THEN it stays bounced and nothing is announced
    assert aws.item("order-1")["status"] == "bounced"
    assert aws.item("order-1")["bounceType"] == "Permanent"
    assert aws.status_events() == []


def test_a_status_changed_concurrently_is_read_again(aws: Aws, process) -> None:
    # GIVEN a sent email, and a concurrent writer that completes it just before our write
    track(aws)
    raced = []

    def complain_first(params, **_):
        if params.get("Key", {}).get("emailId", {}).get("S") == "order-1" and not raced:
            raced.append(True)
            track(aws, status="complained")

    from sesmailengine.handlers.aws import clients

    clients.client("dynamodb").meta.events.register(
        "provide-client-params.dynamodb.UpdateItem", complain_first
    )
    # WHEN a delivery is processed
    process(ses_event("delivery"))
    # THEN the conditional write notices, reads again and keeps complained
    assert raced
    assert aws.item("order-1")["status"] == "complained"
    assert "deliveredAt" in aws.item("order-1")
    assert aws.status_events() == []


# -- replays and failures -----------------------------------------------------------------------


def test_a_replayed_message_changes_nothing_twice(aws: Aws, process, capsys) -> None:
    # GIVEN a soft bounce, delivered to the function twice (an SNS or Lambda retry)
    track(aws)
    event = sns_event(ses_event("bounce", bounce_type="Transient"))
    # WHEN both deliveries are processed
    process(event=event)
    process(event=event)
    # THEN the bounce is counted once, announced once, and metered once
    assert len(aws.item(f"address#{TO}")["softBounces"]) == 1
    assert len(aws.status_events()) == 1
    assert _metrics(capsys)["SoftBounced"] == 1


def test_a_replayed_soft_bounce_never_reaches_the_threshold(aws: Aws, process) -> None:
    # GIVEN one soft bounce
    track(aws)
    event = sns_event(ses_event("bounce", bounce_type="Transient"))
    # WHEN its message is delivered three times
    for _ in range(3):
        process(event=event)
    # THEN the address is not suppressed
    assert suppression(aws, TO) is None


def test_the_same_bounce_report_under_another_sns_message_is_one_report(aws: Aws, process) -> None:
    # GIVEN one soft bounce report (one feedbackId) published twice by SES
    track(aws)
    bounce = ses_event("bounce", bounce_type="Transient", feedback_id="fb-1")
    # WHEN both copies arrive
    process(bounce)
    process(bounce)
    # THEN it counts once
    assert len(aws.item(f"address#{TO}")["softBounces"]) == 1


def test_a_poison_record_does_not_hide_the_others_work(aws: Aws, process) -> None:
    # GIVEN an event with a good delivery and a message that is not an SES event
    track(aws)
    event = sns_event(ses_event("delivery"), {"eventType": "Bounce", "mail": {}})
    # WHEN it is processed
    # THEN the invocation fails (so the DLQ keeps it) after applying the good record
    with pytest.raises(FeedbackFailed, match="1 of 2 records failed"):
        process(event=event)
    assert aws.item("order-1")["status"] == "delivered"
    # AND reprocessing it changes nothing more
    with pytest.raises(FeedbackFailed):
        process(event=event)
    assert len(aws.status_events()) == 1


def test_a_message_that_is_not_json_fails_the_invocation(aws: Aws, process) -> None:
    # GIVEN the documented SNS sample as is ("Hello from SNS!")
    from feedback_support import sample as load

    # WHEN it arrives
    # THEN the invocation fails
    with pytest.raises(FeedbackFailed, match="not JSON"):
        process(event=load("sns-event"))


# -- suppression precedence ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "event", "expected"),
    [
        ("unsubscribe", "bounce", "hard_bounce"),
        ("soft_bounce", "complaint", "complaint"),
        ("manual", "bounce", "manual"),
        ("complaint", "bounce", "complaint"),
    ],
)
def test_a_stronger_reason_replaces_a_weaker_suppression_and_keeps_its_date(
    aws: Aws, process, existing: str, event: str, expected: str
) -> None:
    # GIVEN an address already suppressed
    aws.suppress(TO, existing)
    track(aws)
    # WHEN a bounce or complaint for it arrives
    process(ses_event(event))
    # THEN the stronger reason wins and the first suppression date stays
    item = suppression(aws, TO)
    assert item["reason"] == expected
    assert item["createdAt"] == "2026-01-01"


# -- configuration, metrics, logs ---------------------------------------------------------------


def test_the_event_source_comes_from_the_environment(aws: Aws, process, monkeypatch) -> None:
    # GIVEN a custom source
    monkeypatch.setenv("STATUS_EVENT_SOURCE", "acme.mail")
    track(aws)
    # WHEN an email is delivered
    process(ses_event("delivery"))
    # THEN the event carries it
    assert aws.status_events()[0]["source"] == "acme.mail"


def test_metrics_are_counted_by_outcome(aws: Aws, process, capsys) -> None:
    # GIVEN three sent emails
    for email_id in ("d", "b", "c"):
        track(aws, email_id, to=f"{email_id}@example.org")
    # WHEN one is delivered, one bounces and one draws a complaint, in one invocation
    process(
        ses_event("delivery", email_id="d", recipients=["d@example.org"]),
        ses_event("bounce", email_id="b", recipients=["b@example.org"]),
        ses_event("complaint", email_id="c", recipients=["c@example.org"]),
    )
    # THEN the EMF metrics the dashboard reads say so, under the feedback service
    out = capsys.readouterr().out
    [emf] = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    assert emf["service"] == "feedback-processor"
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SESMailEngine"
    counts = {name: sum(emf[name]) for name in ("Delivered", "Bounced", "Complained")}
    assert counts == {"Delivered": 1, "Bounced": 1, "Complained": 1}
    assert sum(emf["Suppressed"]) == 2
    assert sum(emf["SoftBounced"]) == sum(emf["UnknownEmail"]) == 0


def test_every_log_line_names_the_email_and_none_shows_the_address(
    aws: Aws, process, caplog
) -> None:
    # GIVEN a sent email, and the processor logging at DEBUG
    track(aws)
    # WHEN it bounces (suppressing the address)
    with caplog.at_level(
        logging.DEBUG, logger="feedback-processor.sesmailengine.handlers.feedback"
    ):
        process(ses_event("bounce"))
    # THEN every feedback log line carries emailId, and only DEBUG lines show the address
    records = [r for r in caplog.records if r.name.endswith("handlers.feedback")]
    assert len(records) >= 3
    assert all(getattr(record, "emailId", None) == "order-1" for record in records)
    with_address = [r.levelname for r in records if TO in json.dumps(r.__dict__, default=str)]
    assert with_address == ["DEBUG"]


# -- helpers ------------------------------------------------------------------------------------


def _metrics(capsys) -> dict[str, float]:
    """The EMF metrics the invocation printed (summed over invocations)."""
    totals: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        for definition in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            name = definition["Name"]
            totals[name] = totals.get(name, 0) + sum(blob[name])
    return totals
