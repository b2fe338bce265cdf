"""Hostile or careless input: each bad request fails alone, with a reason, and nothing it
carries reaches the mail, the tracking table or the logs where it should not."""

from __future__ import annotations

import json

import pytest
from sender_support import Aws, email_request, error_response
from sesmailengine.handlers.core.addresses import check_header_text, redact_addresses
from sesmailengine.handlers.core.nesting import MAX_NESTING_DEPTH, deeper_than, loads_bounded
from sesmailengine.handlers.core.rendering import MAX_RENDERED_BYTES

NO_FAILURES = {"batchItemFailures": []}
DEEP = 10_000
"""Ten times deeper than Python's recursion limit."""


def nested_json(levels: int) -> str:
    """An object nesting ``levels`` deep, as text (``json.dumps`` itself could not write it)."""
    return '{"a":' * levels + "1" + "}" * levels


def with_raw_detail_field(event: dict, field: str, raw_json: str) -> str:
    """The event as a body whose ``detail.<field>`` is the JSON text ``raw_json``."""
    event["detail"][field] = "@RAW@"
    return json.dumps(event).replace('"@RAW@"', raw_json)


def assert_failed(aws: Aws, email_id: str, reason_start: str) -> str:
    item = aws.item(email_id)
    assert item is not None and item["status"] == "failed"
    assert item["statusReason"].startswith(reason_start), item["statusReason"]
    return item["statusReason"]


# -- patterns match whole values ------------------------------------------------------------


def test_an_email_id_ending_in_a_newline_is_refused_and_tracked_under_the_event_id(
    aws: Aws, invoke
) -> None:
    # GIVEN a template
    aws.put_template()
    # WHEN a request's emailId ends in a newline
    response = invoke(email_request(event_id="evt-1", emailId="order-1\n"))
    # THEN nothing is keyed by it: the failure is tracked under the event id, naming emailId
    assert response == NO_FAILURES
    assert aws.item("order-1\n") is None
    assert_failed(aws, "evt-1", "invalid request: emailId")
    assert aws.sent_mail() == []


@pytest.mark.parametrize(
    ("detail", "field"),
    [
        ({"templateName": "welcome\n"}, "templateName"),
        ({"tags": {"campaign": "checkout\n"}}, "tags"),
        ({"tags": {"campaign\n": "checkout"}}, "tags"),
    ],
    ids=["template-name", "tag-value", "tag-name"],
)
def test_a_trailing_newline_is_refused_in_every_validated_name(
    aws: Aws, invoke, detail: dict, field: str
) -> None:
    # GIVEN a template
    aws.put_template()
    # WHEN a validated name ends in a newline
    invoke(email_request(emailId="e1", **detail))
    # THEN the request fails naming the field, and nothing is sent
    assert_failed(aws, "e1", f"invalid request: {field}")
    assert aws.sent_mail() == []


# -- nesting --------------------------------------------------------------------------------


def test_deeply_nested_requests_fail_alone_and_the_rest_of_the_batch_is_sent(
    aws: Aws, invoke
) -> None:
    # GIVEN a batch where two requests nest far deeper than Python can parse, and one just past
    # the limit, between good requests
    aws.put_template()
    bodies = [
        email_request(emailId="good-1"),
        with_raw_detail_field(
            email_request(emailId="deep-data"), "templateData", nested_json(DEEP)
        ),
        with_raw_detail_field(
            email_request(emailId="deep-metadata"), "metadata", nested_json(DEEP)
        ),
        with_raw_detail_field(
            email_request(emailId="just-too-deep"),
            "templateData",
            nested_json(MAX_NESTING_DEPTH + 1),
        ),
        email_request(emailId="good-2"),
    ]
    # WHEN the batch is handled
    response = invoke(*bodies)
    # THEN each deep request is failed with the reason, and the others are sent
    assert response == NO_FAILURES
    too_deep = f"nested deeper than {MAX_NESTING_DEPTH} levels"
    assert too_deep in assert_failed(aws, "deep-data", "invalid request: templateData")
    assert too_deep in assert_failed(aws, "deep-metadata", "invalid request: metadata")
    assert too_deep in assert_failed(aws, "just-too-deep", "invalid request: templateData")
    assert aws.item("good-1")["status"] == "sent"
    assert aws.item("good-2")["status"] == "sent"


def test_metadata_nested_to_the_limit_is_sent_and_stored(aws: Aws, invoke) -> None:
    # GIVEN metadata nesting exactly as deep as allowed (the metadata object is the first level)
    aws.put_template()
    body = with_raw_detail_field(
        email_request(emailId="e1"), "metadata", nested_json(MAX_NESTING_DEPTH)
    )
    # WHEN it is handled, THEN it is sent
    assert invoke(body) == NO_FAILURES
    assert aws.item("e1")["status"] == "sent"


def test_nesting_is_measured_without_recursion() -> None:
    # GIVEN values nesting at, and one past, the limit, and one far deeper than the stack
    at_limit: dict = {}
    for _ in range(MAX_NESTING_DEPTH - 1):
        at_limit = {"a": at_limit}
    deep: list = []
    for _ in range(DEEP):
        deep = [deep]
    # WHEN measured, THEN only the deeper ones break the limit
    assert not deeper_than(at_limit, MAX_NESTING_DEPTH)
    assert deeper_than({"a": at_limit}, MAX_NESTING_DEPTH)
    assert deeper_than(deep, MAX_NESTING_DEPTH)


def test_a_document_too_deep_to_parse_keeps_its_shallow_fields() -> None:
    # GIVEN a document with brackets inside strings and a part nested past the parser's reach
    text = '{"id": "x[{", "deep": ' + nested_json(DEEP) + ', "after": "}]"}'
    # WHEN read, THEN the shallow fields are intact, and the deep part still nests too deep
    document = loads_bounded(text)
    assert document["id"] == "x[{"
    assert document["after"] == "}]"
    assert deeper_than(document["deep"], MAX_NESTING_DEPTH)


def test_a_document_too_deep_to_parse_and_broken_is_not_json() -> None:
    # GIVEN deep text that never closes, WHEN read, THEN it is not JSON
    with pytest.raises(ValueError):
        loads_bounded('{"id": "x", "deep": ' + '{"a":' * DEEP)


# -- header text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detail", "code_point"),
    [
        ({"subject": "Invoice \u202egnp.exe"}, "U+202E"),
        ({"subject": "Ring \x07 ring"}, "U+0007"),
        ({"subject": "C1 \x85 control"}, "U+0085"),
        ({"senderOverride": {"name": "Support \u2066Team"}}, "U+2066"),
        ({"templateData": {"name": "Ada \u202dx"}}, "U+202D"),
    ],
    ids=["bidi-subject", "bell-subject", "c1-subject", "isolate-sender-name", "rendered-subject"],
)
def test_control_and_bidi_characters_in_header_text_are_refused(
    aws: Aws, invoke, detail: dict, code_point: str
) -> None:
    # GIVEN a template whose subject shows the name
    aws.put_template()
    # WHEN a subject or display name carries a control character or a bidi override
    invoke(email_request(emailId="e1", **detail))
    # THEN the email fails naming the character, and nothing is sent
    reason = aws.item("e1")["statusReason"]
    assert aws.item("e1")["status"] == "failed"
    assert code_point in reason
    assert aws.sent_mail() == []


def test_a_display_name_rendered_by_the_template_is_checked(aws: Aws, invoke) -> None:
    # GIVEN a template whose sender name comes from the data
    aws.put_template(subject="Hello", senderName="{{ name }} at Example")
    # WHEN the data puts a bidi override in it
    invoke(email_request(emailId="e1", templateData={"name": "\u202eAda"}))
    # THEN the email fails naming the character and the sender name
    reason = aws.item("e1")["statusReason"]
    assert "U+202E" in reason and "sender name" in reason
    assert aws.sent_mail() == []


@pytest.mark.parametrize("text", ["Résumé ready", "注文 #1042", "Tab\u200bless", "مرحبا Ada"])
def test_ordinary_unicode_header_text_is_accepted(text: str) -> None:
    # GIVEN text in other scripts (right-to-left included), WHEN checked, THEN it is kept
    assert check_header_text(text, "subject") == text


# -- engine variables -----------------------------------------------------------------------


def test_a_producer_cannot_set_the_engine_variables(aws: Aws, invoke) -> None:
    # GIVEN a transactional template that shows the unsubscribe link when there is one, and
    # the brand's name
    aws.put_template(
        html='<p>Hello {{ name }} from {{ brand.name or "us" }}</p>'
        '{% if unsubscribeUrl %}<a href="{{ unsubscribeUrl }}">Unsubscribe</a>{% endif %}',
        text=None,
    )
    # WHEN a request's data names the engine's variables
    invoke(
        email_request(
            emailId="e1",
            templateData={
                "name": "Ada",
                "unsubscribeUrl": "https://attacker.example/phish",
                "brand": {"name": "Attacker Inc"},
                "currentYear": 1999,
            },
        )
    )
    # THEN the email is sent with the engine's values: no link, no attacker's brand
    assert aws.item("e1")["status"] == "sent"
    body = aws.send_requests[0]["Content"]["Simple"]["Body"]
    assert "attacker" not in body["Html"]["Data"].lower()
    assert "attacker" not in body["Text"]["Data"].lower()
    assert "from us" in body["Html"]["Data"]


# -- rendered size --------------------------------------------------------------------------


def test_a_rendering_larger_than_the_cap_fails_the_email(aws: Aws, invoke) -> None:
    # GIVEN a template whose loops multiply its data past the cap
    aws.put_template(
        html="{% for _ in range(110) %}{% for row in rows %}{{ row }}{% endfor %}{% endfor %}",
        text=None,
        requiredVariables=["rows"],
        subject="Report",
    )
    rows = ["x" * 1000] * (MAX_RENDERED_BYTES // 100_000)
    # WHEN a request renders it
    response = invoke(email_request(emailId="e1", templateData={"rows": rows}))
    # THEN the email fails with the size, and nothing is sent
    assert response == NO_FAILURES
    assert_failed(aws, "e1", "rendered email too large: ")
    assert aws.sent_mail() == []


# -- SES error text -------------------------------------------------------------------------


def test_ses_error_text_is_kept_without_the_addresses_it_names(aws: Aws, invoke) -> None:
    # GIVEN SES refuses the message naming the identities it checked
    aws.put_template()
    aws.send_hooks.append(
        lambda body: error_response(
            400,
            "MessageRejected",
            "Email address is not verified. The following identities failed the check in "
            "region US-EAST-1: noreply@example.com, Ada <user@example.org>",
        )
    )
    # WHEN a request is sent
    invoke(email_request(emailId="e1"))
    # THEN the code and the message are kept, the addresses are not, in the item and the event
    reason = assert_failed(aws, "e1", "rejected by SES: MessageRejected: Email address is not")
    assert reason.endswith("US-EAST-1: [address], Ada <[address]>")
    assert [event["detail"]["statusReason"] for event in aws.status_events()] == [reason]


def test_redaction_removes_addresses_flattens_lines_and_caps_length() -> None:
    # GIVEN an error message naming addresses over several lines, and a very long one
    message = "Rejected:\n  ada@example.org;\r\n<bob.smith+tag@mail.example.co.uk>."
    # WHEN cleaned, THEN addresses are gone, lines joined, and length capped
    assert redact_addresses(message) == "Rejected: [address]; <[address]>."
    assert redact_addresses("x" * 500, limit=50) == "x" * 47 + "..."
