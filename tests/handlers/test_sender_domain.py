"""The sender's pure domain code, without moto: tag encoding, rate limiting, text parts,
request parsing and status rules."""

from __future__ import annotations

import json
import re

import pytest
from sesmailengine.handlers.core.models import InvalidRequest, Untrackable, ValidRequest, parse_body
from sesmailengine.handlers.core.ratelimit import TokenBucket
from sesmailengine.handlers.core.statuses import Category, blocks
from sesmailengine.handlers.core.tags import decode_email_id, encode_email_id
from sesmailengine.handlers.core.text import html_to_text


@pytest.mark.parametrize(
    "email_id",
    ["order-123", "a_b", "a__b", "x.y:z", "_d", "__c", ":.:._", "A" * 128, ".:" * 64],
)
def test_an_email_id_survives_the_tag_encoding_round_trip(email_id: str) -> None:
    # GIVEN any emailId the request pattern allows
    # WHEN it is encoded for SES and decoded by the feedback processor
    encoded = encode_email_id(email_id)
    # THEN the tag value is legal for SES and decodes to the same id
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", encoded)
    assert decode_email_id(encoded) == email_id


def test_distinct_email_ids_never_share_a_tag_value() -> None:
    # GIVEN ids that a naive escape would confuse
    ids = ["a_d", "a.", "a_cd", "a:d", "a__d"]
    # WHEN they are encoded, THEN every tag value is different
    assert len({encode_email_id(email_id) for email_id in ids}) == len(ids)


def test_a_malformed_tag_value_is_refused() -> None:
    # GIVEN a value no emailId encodes to, WHEN decoded, THEN it is an error
    with pytest.raises(ValueError, match="malformed"):
        decode_email_id("abc_x")


def test_the_token_bucket_paces_sends_to_the_rate() -> None:
    # GIVEN a bucket of 2 per second on a fake clock
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(2, clock=lambda: now[0], sleep=sleep)
    # WHEN five sends ask for a token at once
    for _ in range(5):
        bucket.acquire()
    # THEN the first two go at once (one second's burst) and the rest every half second
    assert waits == [0.5, 0.5, 0.5]


def test_a_zero_rate_never_waits() -> None:
    # GIVEN MAX_SEND_RATE=0
    bucket = TokenBucket(0, sleep=lambda seconds: pytest.fail("slept"))
    # WHEN many sends ask, THEN none waits
    assert sum(bucket.acquire() for _ in range(100)) == 0


def test_the_text_part_keeps_structure_and_drops_styles() -> None:
    # GIVEN an HTML email
    html = (
        "<html><head><title>T</title><style>.x{}</style></head><body>"
        "<h1>Order&nbsp;shipped</h1><p>Items:</p><ul><li>Book</li><li>Pen</li></ul>"
        '<p><a href="https://shop.example/o/1">Track it</a><br>Thanks</p></body></html>'
    )
    # WHEN converted, THEN headings, lists, links and line breaks survive as text
    assert html_to_text(html) == (
        "Order shipped\n\nItems:\n\n- Book\n\n- Pen\n\nTrack it (https://shop.example/o/1)\nThanks\n"
    )


def _body(detail: dict, **envelope) -> str:
    event = {"id": "evt-1", "detail-type": "Email Request", "source": "app", "detail": detail}
    event.update(envelope)
    return json.dumps(event)


def test_an_envelope_without_account_is_accepted() -> None:
    # GIVEN an event from a local emulator (no account, region or time)
    body = _body({"to": "a@example.org", "templateName": "welcome"})
    # WHEN parsed, THEN it is a valid request keyed by the event id
    parsed = parse_body(body)
    assert isinstance(parsed, ValidRequest)
    assert parsed.email_id == "evt-1"


def test_another_detail_type_is_an_invalid_request() -> None:
    # GIVEN an event of another type routed to the queue by mistake
    body = _body({"to": "a@example.org", "templateName": "welcome"}, **{"detail-type": "Other"})
    # WHEN parsed, THEN it is invalid and names the field
    parsed = parse_body(body)
    assert isinstance(parsed, InvalidRequest)
    assert parsed.reason.startswith("invalid request: detail-type")


@pytest.mark.parametrize(
    ("detail", "field"),
    [
        ({"to": ["a@example.org"], "templateName": "w"}, "to"),
        ({"to": "a@example.org", "templateName": "../etc"}, "templateName"),
        ({"to": "a@example.org", "templateName": "w", "metadata": {"x": "y" * 5000}}, "metadata"),
        ({"to": "a@example.org", "templateName": "w", "tags": {"k": "a b"}}, "tags"),
        ({"to": "a@example.org", "templateName": "w", "tags": {"emailId": "x"}}, "tags"),
        ({"to": "a@example.org", "templateName": "w", "replyTo": ["nope"]}, "replyTo"),
    ],
    ids=[
        "two-recipients",
        "path-in-template-name",
        "metadata-over-4kb",
        "bad-tag-value",
        "reserved-tag",
        "bad-reply-to",
    ],
)
def test_a_request_breaking_the_schema_is_invalid_with_the_field_named(detail, field) -> None:
    # GIVEN a detail that breaks one rule, WHEN parsed
    parsed = parse_body(_body(detail))
    # THEN it is invalid and the reason starts with the field
    assert isinstance(parsed, InvalidRequest)
    assert parsed.reason.startswith(f"invalid request: {field}")


@pytest.mark.parametrize("body", ["{oops", "[1, 2]", json.dumps({"detail": {}})])
def test_a_body_without_a_usable_id_is_untrackable(body: str) -> None:
    # GIVEN a body that is not JSON, not an object, or has no id
    # WHEN parsed, THEN nothing can be tracked
    assert isinstance(parse_body(body), Untrackable)


@pytest.mark.parametrize(
    ("reason", "category", "blocked"),
    [
        ("hard_bounce", Category.TRANSACTIONAL, True),
        ("complaint", Category.MARKETING, True),
        ("unsubscribe", Category.TRANSACTIONAL, False),
        ("unsubscribe", Category.MARKETING, True),
        ("something_new", Category.TRANSACTIONAL, True),
    ],
)
def test_only_an_unsubscribe_lets_transactional_mail_through(reason, category, blocked) -> None:
    # GIVEN a suppression reason and a template category, WHEN checked, THEN as documented
    assert blocks(reason, category) is blocked
