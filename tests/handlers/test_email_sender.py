"""The email sender, end to end through ``handler(event, context)`` against moto."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime

import pytest
from sender_support import (
    CONFIGURATION_SET,
    SENDER,
    Aws,
    FakeContext,
    email_request,
    error_response,
)

NO_FAILURES = {"batchItemFailures": []}


def failures(response: dict) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


# -- a real send --------------------------------------------------------------------------------


def test_a_valid_request_is_sent_to_the_recipient(aws: Aws, invoke) -> None:
    # GIVEN a template and a request for it
    aws.put_template()
    # WHEN the handler receives it
    response = invoke(email_request(emailId="order-1", to="Ada@Example.org"))
    # THEN the mail is in SES with the rendered subject and HTML body, and nothing is retried
    assert response == NO_FAILURES
    [mail] = aws.sent_mail()
    assert mail.destinations == {"ToAddresses": ["Ada@example.org"]}
    assert mail.subject == "Welcome Ada"
    assert mail.body == "<p>Hello Ada</p>"
    assert mail.source == SENDER


def test_a_sent_email_is_tracked_with_its_ses_message_id(aws: Aws, invoke) -> None:
    # GIVEN a request with metadata
    aws.put_template()
    before = datetime.now(UTC)
    # WHEN it is sent
    invoke(email_request(emailId="order-1", to="Ada@Example.org", metadata={"userId": 7}))
    # THEN the tracking item holds every documented field
    item = aws.item("order-1")
    [mail] = aws.sent_mail()
    assert item["status"] == "sent"
    assert item["sesMessageId"] == mail.id
    assert item["toEmail"] == "ada@example.org"
    assert item["templateName"] == "welcome"
    assert item["metadata"] == {"userId": 7}
    assert item["datePartition"] == before.strftime("%Y-%m-%d")
    assert item["timestamp"].endswith("Z") and item["timestamp"] >= item["createdAt"]
    ninety_days = before.timestamp() + 90 * 86400
    assert abs(int(item["ttl"]) - ninety_days) < 60
    assert "claimToken" not in item


def test_the_send_request_carries_the_text_part_configuration_set_and_tags(
    aws: Aws, invoke
) -> None:
    # GIVEN a request with an emailId that needs escaping and caller tags
    aws.put_template()
    # WHEN it is sent
    invoke(email_request(emailId="order:1.a_b", tags={"campaign": "spring-2026"}))
    # THEN SendEmail got both parts, the configuration set and the encoded emailId tag
    [request] = aws.send_requests
    body = request["Content"]["Simple"]["Body"]
    assert body["Text"]["Data"] == "Hello Ada"
    assert body["Html"]["Data"] == "<p>Hello Ada</p>"
    assert request["ConfigurationSetName"] == CONFIGURATION_SET
    assert request["EmailTags"] == [
        {"Name": "emailId", "Value": "order_c1_da__b"},
        {"Name": "templateName", "Value": "welcome"},
        {"Name": "campaign", "Value": "spring-2026"},
    ]


def test_a_sent_email_puts_an_email_status_changed_event_on_the_bus(aws: Aws, invoke) -> None:
    # GIVEN a template
    aws.put_template()
    # WHEN a request is sent
    invoke(email_request(emailId="order-1", metadata={"userId": 7}))
    # THEN a consumer of the bus receives the sent event
    [event] = aws.status_events()
    assert event["source"] == "sesmailengine"
    assert event["detail-type"] == "Email Status Changed"
    detail = event["detail"]
    assert detail["emailId"] == "order-1"
    assert detail["status"] == "sent"
    assert detail["previousStatus"] == "processing"
    assert detail["toEmail"] == "user@example.org"
    assert detail["templateName"] == "welcome"
    assert detail["sesMessageId"] == aws.item("order-1")["sesMessageId"]
    assert detail["metadata"] == {"userId": 7}


def test_without_an_email_id_the_event_id_is_the_idempotency_key(aws: Aws, invoke) -> None:
    # GIVEN a request without emailId
    aws.put_template()
    # WHEN it is sent
    invoke(email_request(event_id="5f1c6a3e-1111-2222-3333-444455556666"))
    # THEN it is tracked under the EventBridge event id
    assert aws.item("5f1c6a3e-1111-2222-3333-444455556666")["status"] == "sent"


def test_a_missing_text_part_is_derived_from_the_html(aws: Aws, invoke) -> None:
    # GIVEN a template without template.txt
    aws.put_template(
        html="<html><head><style>p{}</style></head><body><h1>Hi {{ name }}</h1>"
        '<p>Read <a href="https://example.com/a">the guide</a>.</p></body></html>',
        text=None,
    )
    # WHEN it is sent
    invoke(email_request())
    # THEN the text part is readable text with the link target kept
    text = aws.send_requests[0]["Content"]["Simple"]["Body"]["Text"]["Data"]
    assert text == "Hi Ada\n\nRead the guide (https://example.com/a).\n"


# -- sender resolution --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "template_fields", "default_name", "expected"),
    [
        (
            {"email": "sales@example.com", "name": "Sales"},
            {"senderEmail": "team@example.com", "senderName": "Team"},
            "Default",
            '"Sales" <sales@example.com>'.replace('"', ""),
        ),
        (
            None,
            {"senderEmail": "{{ team }}@example.com", "senderName": "The {{ team }} team"},
            "Default",
            "The support team <support@example.com>",
        ),
        (
            {"name": "Only A Name"},
            {"senderEmail": "team@example.com"},
            None,
            "Only A Name <team@example.com>",
        ),
        (None, {}, "Default Name", f"Default Name <{SENDER}>"),
        (None, {}, None, SENDER),
    ],
    ids=[
        "override-wins",
        "template-next",
        "name-and-address-resolve-independently",
        "default-last",
        "default-without-name",
    ],
)
def test_the_sender_is_resolved_override_then_template_then_default(
    aws: Aws,
    invoke,
    monkeypatch: pytest.MonkeyPatch,
    override,
    template_fields,
    default_name,
    expected,
) -> None:
    # GIVEN a template with (or without) sender fields and a default sender name
    if default_name:
        monkeypatch.setenv("DEFAULT_SENDER_NAME", default_name)
    aws.put_template(**template_fields)
    detail = {"templateData": {"name": "Ada", "team": "support"}}
    if override:
        detail["senderOverride"] = override
    # WHEN the request is sent
    invoke(email_request(**detail))
    # THEN the From address follows the resolution order
    assert aws.send_requests[0]["FromEmailAddress"] == expected


def test_a_non_ascii_display_name_is_mime_encoded(aws: Aws, invoke) -> None:
    # GIVEN a display name SES cannot take raw
    aws.put_template()
    # WHEN it is sent
    invoke(email_request(senderOverride={"name": "Zoë"}))
    # THEN the From header uses a MIME encoded-word
    assert aws.send_requests[0]["FromEmailAddress"] == f"=?utf-8?q?Zo=C3=AB?= <{SENDER}>"


def test_no_sender_anywhere_fails_the_email(aws: Aws, invoke, monkeypatch) -> None:
    # GIVEN no default sender and a template without one
    monkeypatch.setenv("DEFAULT_SENDER_EMAIL", "")
    aws.put_template()
    # WHEN a request without override arrives
    response = invoke(email_request(emailId="e1"))
    # THEN it is failed with the reason, consumed, and nothing is sent
    assert response == NO_FAILURES
    assert aws.item("e1")["status"] == "failed"
    assert aws.item("e1")["statusReason"].startswith("no sender address")
    assert aws.sent_mail() == []


def test_reply_to_is_the_request_s_then_the_template_s(aws: Aws, invoke) -> None:
    # GIVEN a template with a Reply-To
    aws.put_template(replyTo="help@example.com")
    # WHEN one request names its own Reply-To and another does not
    invoke(
        email_request(emailId="a", replyTo=["a@example.net", "b@example.net"]),
        email_request(emailId="b"),
    )
    # THEN the request's wins, the template's is the fallback
    by_tag = {r["EmailTags"][0]["Value"]: r.get("ReplyToAddresses") for r in aws.send_requests}
    assert by_tag == {"a": ["a@example.net", "b@example.net"], "b": ["help@example.com"]}


# -- rendering ----------------------------------------------------------------------------------


def test_html_variables_are_autoescaped_but_the_text_part_is_not(aws: Aws, invoke) -> None:
    # GIVEN data with markup
    aws.put_template()
    # WHEN it is rendered
    invoke(email_request(templateData={"name": "<script>alert(1)</script>"}))
    # THEN the HTML part escapes it and the text part keeps it as text
    body = aws.send_requests[0]["Content"]["Simple"]["Body"]
    assert body["Html"]["Data"] == "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert body["Text"]["Data"] == "Hello <script>alert(1)</script>"


def test_template_data_is_never_evaluated_as_a_template(aws: Aws, invoke) -> None:
    # GIVEN data that looks like Jinja2
    aws.put_template()
    # WHEN it is rendered
    invoke(email_request(templateData={"name": "{{ 7 * 7 }}"}))
    # THEN it appears literally
    assert aws.sent_mail()[0].subject == "Welcome {{ 7 * 7 }}"


def test_the_sandbox_refuses_access_to_python_internals(aws: Aws, invoke) -> None:
    # GIVEN a template that tries to escape through dunder attributes
    aws.put_template(html="{{ ''.__class__.__mro__[1].__subclasses__() }}")
    # WHEN a request uses it
    response = invoke(email_request(emailId="e1"))
    # THEN the email fails with a sandbox reason, is consumed, and nothing is sent
    assert response == NO_FAILURES
    item = aws.item("e1")
    assert item["status"] == "failed"
    assert "sandbox" in item["statusReason"]
    assert aws.sent_mail() == []


def test_a_missing_required_variable_fails_with_its_name(aws: Aws, invoke) -> None:
    # GIVEN a template that requires orderId
    aws.put_template(requiredVariables=["name", "orderId"], html="<p>{{ name }}</p>")
    # WHEN the data lacks it
    response = invoke(email_request(emailId="e1", templateData={"name": "Ada"}))
    # THEN the email is failed, naming the variable, and consumed
    assert response == NO_FAILURES
    assert aws.item("e1")["statusReason"] == "missing variable: orderId"
    assert aws.item("e1")["status"] == "failed"
    assert aws.sent_mail() == []


def test_an_undeclared_name_the_template_uses_fails_with_its_name(aws: Aws, invoke) -> None:
    # GIVEN a template that uses a name it does not declare
    aws.put_template(html="<p>{{ name }} {{ couponCode }}</p>")
    # WHEN the data lacks it
    invoke(email_request(emailId="e1"))
    # THEN StrictUndefined fails the render with the name
    assert aws.item("e1")["statusReason"] == "missing variable: couponCode"
    assert aws.sent_mail() == []


def test_a_missing_optional_variable_renders_as_absent(aws: Aws, invoke) -> None:
    # GIVEN an optional ctaUrl guarding a button
    aws.put_template(
        html='<p>Hi {{ name }}</p>{% if ctaUrl %}<a href="{{ ctaUrl }}">Go</a>{% endif %}',
        optionalVariables=["ctaUrl"],
    )
    # WHEN the data omits it
    invoke(email_request())
    # THEN the button is hidden and the email is sent
    assert aws.sent_mail()[0].body == "<p>Hi Ada</p>"


def test_an_unknown_template_fails_the_email(aws: Aws, invoke) -> None:
    # GIVEN no template named "nope"
    # WHEN a request names it
    response = invoke(email_request(emailId="e1", templateName="nope"))
    # THEN the email is failed with the reason, an event is published, and it is consumed
    assert response == NO_FAILURES
    assert aws.item("e1")["statusReason"] == "template not found: nope"
    [event] = aws.status_events()
    assert event["detail"]["status"] == "failed"
    assert event["detail"]["statusReason"] == "template not found: nope"


def test_a_template_with_a_syntax_error_fails_the_email(aws: Aws, invoke) -> None:
    # GIVEN a template that does not compile
    aws.put_template(html="<p>{% if name %}unclosed</p>")
    # WHEN a request uses it
    invoke(email_request(emailId="e1"))
    # THEN the reason names the broken file
    assert aws.item("e1")["statusReason"].startswith("template invalid: template.html line 1")


def test_the_compiled_template_is_read_from_s3_once_for_many_sends(aws: Aws, invoke) -> None:
    # GIVEN a template
    aws.put_template()
    # WHEN two batches of five use it
    invoke(*[email_request() for _ in range(5)])
    invoke(*[email_request() for _ in range(5)])
    # THEN its three files were read once in all, and every email went out
    assert aws.count("GetObject") == 3
    assert len(aws.sent_mail()) == 10


def test_the_template_is_read_again_after_the_cache_ttl(aws: Aws, invoke, monkeypatch) -> None:
    # GIVEN a zero cache TTL and a template that changes between batches
    monkeypatch.setenv("TEMPLATE_CACHE_TTL_SECONDS", "0")
    aws.put_template(html="<p>v1</p>")
    invoke(email_request())
    aws.put_template(html="<p>v2</p>")
    # WHEN the next batch arrives
    invoke(email_request())
    # THEN it is rendered from the new version
    assert [mail.body for mail in aws.sent_mail()] == ["<p>v1</p>", "<p>v2</p>"]


# -- invalid input ------------------------------------------------------------------------------


def test_an_invalid_recipient_address_fails_the_email(aws: Aws, invoke) -> None:
    # GIVEN a template
    aws.put_template()
    # WHEN the recipient is not an address
    response = invoke(email_request(emailId="e1", to="not-an-address"))
    # THEN it is failed, with the field named, and consumed
    assert response == NO_FAILURES
    item = aws.item("e1")
    assert item["status"] == "failed"
    assert item["statusReason"].startswith("invalid request: to: invalid address")
    assert item["toEmail"] == "not-an-address"
    assert aws.sent_mail() == []


@pytest.mark.parametrize(
    "detail",
    [
        {"subject": "Hi\r\nBcc: victim@example.net"},
        {"senderOverride": {"name": "Evil\nBcc: victim@example.net"}},
        {"templateData": {"name": "Ada\r\nBcc: victim@example.net"}},
        {"replyTo": "a@example.net\r\nBcc: victim@example.net"},
    ],
    ids=["subject-override", "sender-name", "subject-rendered-from-data", "reply-to"],
)
def test_cr_or_lf_in_a_header_is_rejected(aws: Aws, invoke, detail) -> None:
    # GIVEN a template whose subject includes the name
    aws.put_template()
    # WHEN a header value carries CR/LF
    response = invoke(email_request(emailId="e1", **detail))
    # THEN the email fails as a header injection and nothing is sent
    assert response == NO_FAILURES
    item = aws.item("e1")
    assert item["status"] == "failed"
    assert "CR/LF" in item["statusReason"]
    assert aws.sent_mail() == []


def test_an_invalid_email_id_is_recorded_under_the_event_id(aws: Aws, invoke) -> None:
    # GIVEN a request whose emailId breaks the pattern
    # WHEN it arrives
    invoke(email_request(event_id="evt-1", emailId="has spaces"))
    # THEN the failure is tracked under the event id, naming the field
    item = aws.item("evt-1")
    assert item["status"] == "failed"
    assert item["statusReason"].startswith("invalid request: emailId")


def test_a_body_that_is_not_json_is_reported_and_the_rest_is_sent(aws: Aws, invoke, caplog) -> None:
    # GIVEN a batch with a malformed body between two good requests
    aws.put_template()
    # WHEN it is handled
    response = invoke(email_request(), "{not json", email_request())
    # THEN only the malformed record is reported (so it reaches the DLQ), with an error log
    assert failures(response) == ["record-1"]
    assert len(aws.sent_mail()) == 2
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.sqsMessageId for record in errors] == ["record-1"]


# -- suppression --------------------------------------------------------------------------------


def test_a_suppressed_recipient_is_not_sent_to(aws: Aws, invoke) -> None:
    # GIVEN a hard-bounced address (stored lower-case)
    aws.put_template()
    aws.suppress("bounced@example.org", "hard_bounce")
    # WHEN a request is addressed to it, in another case
    response = invoke(email_request(emailId="e1", to="Bounced@Example.org"))
    # THEN it is suppressed with the reason, announced, consumed, and not sent
    assert response == NO_FAILURES
    item = aws.item("e1")
    assert item["status"] == "suppressed"
    assert item["statusReason"] == "recipient suppressed: hard_bounce"
    assert [event["detail"]["status"] for event in aws.status_events()] == ["suppressed"]
    assert aws.sent_mail() == []


def test_suppression_is_looked_up_once_per_batch(aws: Aws, invoke) -> None:
    # GIVEN a template
    aws.put_template()
    # WHEN a batch of five arrives
    invoke(*[email_request(to=f"user{i}@example.org") for i in range(5)])
    # THEN the suppression list was read with one BatchGetItem and no GetItem
    assert aws.count("BatchGetItem") == 1
    assert aws.count("GetItem") == 0


def test_an_unsubscribe_stops_marketing_mail_only(aws: Aws, invoke) -> None:
    # GIVEN an unsubscribed address, a newsletter and a password reset
    aws.put_template("newsletter", category="marketing")
    aws.put_template("reset")
    aws.suppress("user@example.org", "unsubscribe")
    # WHEN both are requested
    invoke(
        email_request(emailId="news", templateName="newsletter"),
        email_request(emailId="reset", templateName="reset"),
    )
    # THEN the newsletter is suppressed and the reset is sent
    assert aws.item("news")["status"] == "suppressed"
    assert aws.item("reset")["status"] == "sent"


# -- exactly once -------------------------------------------------------------------------------


def test_a_redelivered_message_is_sent_once(aws: Aws, invoke) -> None:
    # GIVEN a message that was handled
    aws.put_template()
    message = email_request(emailId="order-1")
    invoke(message)
    # WHEN SQS delivers it again
    response = invoke(message)
    # THEN it is consumed without a second send or a second event
    assert response == NO_FAILURES
    assert len(aws.sent_mail()) == 1
    assert len(aws.status_events()) == 1
    assert aws.item("order-1")["status"] == "sent"


def test_two_messages_with_one_email_id_in_a_batch_send_once(aws: Aws, invoke) -> None:
    # GIVEN two different events carrying the same emailId
    aws.put_template()
    # WHEN they arrive in one batch
    response = invoke(email_request(emailId="order-1"), email_request(emailId="order-1"))
    # THEN one email is sent and both records are consumed
    assert response == NO_FAILURES
    assert len(aws.sent_mail()) == 1


def test_a_new_email_in_a_batch_with_an_old_one_is_still_claimed_and_sent(aws: Aws, invoke) -> None:
    # GIVEN an emailId the feedback path already moved to delivered
    aws.put_template()
    aws.put_item(emailId="old", status="delivered", toEmail="user@example.org")
    # WHEN a batch carries it again with two new ones
    response = invoke(
        email_request(emailId="old"), email_request(emailId="new1"), email_request(emailId="new2")
    )
    # THEN the transaction is retried without the old item: the new ones are sent, the old kept
    assert response == NO_FAILURES
    assert aws.item("old")["status"] == "delivered"
    assert aws.item("new1")["status"] == aws.item("new2")["status"] == "sent"
    assert len(aws.sent_mail()) == 2
    assert aws.count("TransactWriteItems") == 3  # claim, claim again without "old", finish


def test_an_invalid_duplicate_never_overwrites_a_sent_email(aws: Aws, invoke) -> None:
    # GIVEN a sent email
    aws.put_template()
    invoke(email_request(emailId="order-1"))
    # WHEN an invalid request reuses its emailId
    response = invoke(email_request(emailId="order-1", to="broken"))
    # THEN the item stays sent
    assert response == NO_FAILURES
    assert aws.item("order-1")["status"] == "sent"


def test_a_claim_abandoned_by_a_crash_is_taken_over_after_the_timeout(aws: Aws, invoke) -> None:
    # GIVEN an item left in processing by a crashed attempt whose claim has expired
    aws.put_template()
    aws.put_item(
        emailId="e1",
        status="processing",
        claimToken="dead",
        claimExpiresAt=int(time.time()) - 1,
        createdAt="2026-01-01T00:00:00.000Z",
    )
    # WHEN the message comes back
    response = invoke(email_request(emailId="e1"))
    # THEN it is sent, keeping the original creation time
    assert response == NO_FAILURES
    item = aws.item("e1")
    assert item["status"] == "sent"
    assert item["createdAt"] == "2026-01-01T00:00:00.000Z"
    assert len(aws.sent_mail()) == 1


def test_a_live_claim_of_another_attempt_is_retried_later(aws: Aws, invoke) -> None:
    # GIVEN an item another invocation is working on right now
    aws.put_template()
    aws.put_item(
        emailId="e1", status="processing", claimToken="other", claimExpiresAt=int(time.time()) + 180
    )
    # WHEN the message arrives
    response = invoke(email_request(emailId="e1"))
    # THEN it is reported for retry, not sent, and the other claim is untouched
    assert failures(response) == ["record-0"]
    assert aws.sent_mail() == []
    assert aws.item("e1")["claimToken"] == "other"


# -- retry versus consume -----------------------------------------------------------------------


def throttle(to: str, times: int = 1):
    remaining = [times]

    def hook(body: dict) -> object:
        if body["Destination"]["ToAddresses"] == [to] and remaining[0] > 0:
            remaining[0] -= 1
            return error_response(429, "TooManyRequestsException", "Maximum sending rate exceeded.")
        return None

    return hook


def test_ses_throttling_retries_only_that_record_and_releases_its_claim(aws: Aws, invoke) -> None:
    # GIVEN SES throttles one of three recipients
    aws.put_template()
    aws.send_hooks.append(throttle("slow@example.org"))
    # WHEN the batch is handled
    response = invoke(
        email_request(emailId="a", to="a@example.org"),
        email_request(emailId="slow", to="slow@example.org"),
        email_request(emailId="c", to="c@example.org"),
    )
    # THEN only that record is reported, its claim is released, the others are sent
    assert failures(response) == ["record-1"]
    item = aws.item("slow")
    assert item["status"] == "processing"
    assert "claimToken" not in item
    assert item["claimExpiresAt"] == 0
    assert item["lastError"].startswith("Throttled")
    assert len(aws.sent_mail()) == 2


def test_a_throttled_record_is_sent_when_sqs_delivers_it_again(aws: Aws, invoke) -> None:
    # GIVEN a record that was throttled once
    aws.put_template()
    aws.send_hooks.append(throttle("slow@example.org"))
    message = email_request(emailId="slow", to="slow@example.org")
    invoke(message)
    # WHEN SQS delivers it again
    response = invoke(message)
    # THEN it is sent and tracked as sent
    assert response == NO_FAILURES
    assert aws.item("slow")["status"] == "sent"
    assert len(aws.sent_mail()) == 1


def test_an_unexpected_ses_error_is_retried_so_the_message_reaches_the_dlq(
    aws: Aws, invoke
) -> None:
    # GIVEN SES refuses to send for an account-level reason
    aws.put_template()
    aws.send_hooks.append(lambda body: error_response(400, "AccountSuspendedException"))
    # WHEN a request arrives
    response = invoke(email_request(emailId="e1"))
    # THEN it is reported (three receives end in the DLQ) and its claim released
    assert failures(response) == ["record-0"]
    assert aws.item("e1")["claimExpiresAt"] == 0


def test_a_message_ses_rejects_is_failed_and_consumed(aws: Aws, invoke) -> None:
    # GIVEN a sender identity SES has not verified
    aws.put_template()
    # WHEN a request uses it
    response = invoke(
        email_request(emailId="e1", senderOverride={"email": "x@unverified.example.net"})
    )
    # THEN it is failed with SES's reason, announced and consumed
    assert response == NO_FAILURES
    item = aws.item("e1")
    assert item["status"] == "failed"
    assert item["statusReason"].startswith("rejected by SES: MessageRejected")
    assert [e["detail"]["previousStatus"] for e in aws.status_events()] == ["processing"]


def test_a_status_written_by_the_feedback_path_during_the_send_is_kept(aws: Aws, invoke) -> None:
    # GIVEN the feedback path marks the email delivered while the send is in flight
    aws.put_template()

    def deliver_first(body: dict) -> None:
        aws.client("dynamodb").update_item(
            TableName="EmailTracking",
            Key={"emailId": {"S": "e1"}},
            UpdateExpression="SET #s = :d",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":d": {"S": "delivered"}},
        )

    aws.send_hooks.append(deliver_first)
    # WHEN the sender finishes
    response = invoke(email_request(emailId="e1"))
    # THEN the later status stays, the message id is still recorded, and the record is consumed
    assert response == NO_FAILURES
    item = aws.item("e1")
    assert item["status"] == "delivered"
    assert item["sesMessageId"] == aws.sent_mail()[0].id


def test_the_sends_of_a_batch_run_concurrently(aws: Aws, invoke) -> None:
    # GIVEN SES calls that each wait until several are in flight (or 2 s pass)
    aws.put_template()
    in_flight, most = [0], [0]
    lock, several = threading.Lock(), threading.Event()

    def slow_send(body: object) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            if in_flight[0] >= 5:
                several.set()
        several.wait(2)
        with lock:
            in_flight[0] -= 1

    aws.send_hooks.append(slow_send)
    # WHEN a batch of ten is handled
    invoke(*[email_request() for _ in range(10)])
    # THEN the sends overlapped instead of running one after another
    assert most[0] >= 5
    assert len(aws.sent_mail()) == 10


def test_a_warm_batch_of_ten_costs_at_most_one_and_a_half_requests_per_email(
    aws: Aws, invoke
) -> None:
    # GIVEN a warm template cache
    aws.put_template()
    invoke(email_request())
    aws.calls.clear()
    # WHEN a batch of ten is handled
    invoke(*[email_request() for _ in range(10)])
    # THEN suppression, claims, sends, finishes and events took at most 15 requests
    assert aws.count("SendEmail") == 10
    assert len(aws.calls) <= 15, aws.calls


def test_no_send_starts_too_close_to_the_lambda_timeout(aws: Aws, invoke) -> None:
    # GIVEN an invocation about to time out
    aws.put_template()
    # WHEN a request arrives
    response = invoke(email_request(emailId="e1"), context=FakeContext(remaining_ms=1000))
    # THEN it is not sent but released and retried
    assert failures(response) == ["record-0"]
    assert aws.sent_mail() == []
    assert aws.item("e1")["claimExpiresAt"] == 0


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_missing_environment_variable_fails_the_whole_invocation(
    aws: Aws, invoke, monkeypatch
) -> None:
    # GIVEN a function deployed without its table name
    monkeypatch.delenv("TRACKING_TABLE")
    from sesmailengine.handlers.core.errors import ConfigurationError

    # WHEN it is invoked, THEN it fails loudly, naming the variable
    with pytest.raises(ConfigurationError, match="TRACKING_TABLE"):
        invoke(email_request())


# -- logs and metrics ---------------------------------------------------------------------------


def _json_lines(capsys) -> list[dict]:
    lines = []
    for line in capsys.readouterr().out.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def test_log_lines_carry_the_email_id_and_no_recipient_or_data_at_info(
    aws: Aws, invoke, caplog
) -> None:
    # GIVEN a sent email and a failed one
    aws.put_template()
    caplog.set_level(logging.INFO)
    invoke(
        email_request(emailId="e1", to="secret.person@example.org", templateData={"name": "Zed"}),
        email_request(emailId="e2", templateName="nope"),
    )
    # WHEN the INFO-and-above lines are read with everything they carry
    lines = [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith("email")]
    # THEN each record line names its emailId, and no line holds the recipient or the data
    per_record = [r for r in lines if r.getMessage() != "batch done"]
    assert sorted(r.emailId for r in per_record) == ["e1", "e2"]
    text = json.dumps([vars(r) for r in lines], default=str)
    assert "secret.person" not in text
    assert "Zed" not in text


def test_outcomes_are_published_as_emf_metrics(aws: Aws, invoke, capsys) -> None:
    # GIVEN one email to send and one to an unknown template
    aws.put_template()
    invoke(email_request(), email_request(templateName="nope"))
    # WHEN the EMF blob is read
    [emf] = [line for line in _json_lines(capsys) if "_aws" in line and "EmailsSent" in line]
    # THEN it counts each outcome under the SESMailEngine namespace, with render times
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SESMailEngine"
    assert emf["EmailsSent"] == [1.0]
    assert emf["EmailsFailed"] == [1.0]
    assert emf["EmailsRetried"] == [0.0]
    assert "RenderTime" in emf
