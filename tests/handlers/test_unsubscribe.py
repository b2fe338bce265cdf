"""One-click unsubscribe: headers on marketing mail, signed tokens, and the endpoint, under moto."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from sender_support import SUPPRESSION, Aws, FakeContext, email_request
from sesmailengine.handlers.core import unsubscribe_tokens as tokens

KEY_PARAMETER = "/sesmailengine-test/unsubscribe-signing-key"
KEY = "k" * 64
ENDPOINT = "https://abc123.lambda-url.us-east-1.on.aws/"
MAILBOX = "unsubscribe@example.com"


@pytest.fixture
def unsubscribe_env(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    from sesmailengine.handlers import unsubscribe

    monkeypatch.setenv("UNSUBSCRIBE_URL", ENDPOINT)
    monkeypatch.setenv("UNSUBSCRIBE_KEY_PARAMETER", KEY_PARAMETER)
    monkeypatch.setenv("UNSUBSCRIBE_MAILTO", MAILBOX)
    aws.client("ssm").put_parameter(Name=KEY_PARAMETER, Value=KEY, Type="SecureString")
    aws.put_template(name="news", category="marketing", topic="product-news")
    aws.put_template(name="receipt")
    unsubscribe.reset()
    yield aws
    unsubscribe.reset()


def headers_of(request: dict) -> dict[str, str]:
    return {h["Name"]: h["Value"] for h in request["Content"]["Simple"].get("Headers", [])}


def token_from(header: str) -> str:
    https = header.split(",")[0].strip().strip("<>")
    return parse_qs(urlparse(https).query)["token"][0]


def call_endpoint(method: str, token: str | None, body: str | None = None) -> dict:
    from sesmailengine.handlers.unsubscribe import handler

    event = {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": f"token={token}" if token else "",
        "queryStringParameters": {"token": token} if token else None,
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "requestContext": {"http": {"method": method, "path": "/"}},
        "body": body,
        "isBase64Encoded": False,
    }
    return handler(event, FakeContext())


def suppression(aws: Aws, address: str) -> dict | None:
    item = aws.client("dynamodb").get_item(TableName=SUPPRESSION, Key={"email": {"S": address}})
    found = item.get("Item")
    return {k: v["S"] for k, v in found.items()} if found else None


def fresh_token(address: str = "ada@example.org", topic: str = "product-news", days: int = 30):
    return tokens.sign(KEY.encode(), address, topic, datetime.now(UTC) + timedelta(days=days))


# -- the sender -------------------------------------------------------------------------------


def test_marketing_mail_carries_one_click_unsubscribe_headers(unsubscribe_env: Aws, invoke):
    # GIVEN a marketing template  WHEN it is sent
    invoke(email_request(emailId="n-1", templateName="news", to="Ada@Example.org"))
    # THEN List-Unsubscribe names the HTTPS endpoint and the mailbox, and one-click is declared
    headers = headers_of(unsubscribe_env.send_requests[0])
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = (part.strip() for part in headers["List-Unsubscribe"].split(","))
    assert https.startswith(f"<{ENDPOINT}?token=")
    assert mailto.startswith(f"<mailto:{MAILBOX}?subject=unsubscribe%20")
    assert unquote(mailto).endswith(token_from(headers["List-Unsubscribe"]) + ">")


def test_the_token_names_the_recipient_and_the_templates_topic(unsubscribe_env: Aws, invoke):
    invoke(email_request(emailId="n-1", templateName="news", to="Ada@Example.org"))
    token = token_from(headers_of(unsubscribe_env.send_requests[0])["List-Unsubscribe"])
    found = tokens.verify(KEY.encode(), token, datetime.now(UTC))
    assert (found.address, found.topic) == ("ada@example.org", "product-news")
    assert found.expires_at > time.time() + 364 * 86400


def test_transactional_mail_has_no_unsubscribe_headers(unsubscribe_env: Aws, invoke):
    invoke(email_request(emailId="r-1", templateName="receipt"))
    assert "Headers" not in unsubscribe_env.send_requests[0]["Content"]["Simple"]


def test_the_unsubscribe_link_is_in_the_marketing_body(unsubscribe_env: Aws, invoke):
    unsubscribe_env.put_template(
        name="news",
        category="marketing",
        html='<a href="{{ unsubscribeUrl }}">Unsubscribe</a>',
        text="Unsubscribe: {{ unsubscribeUrl }}",
    )
    invoke(email_request(emailId="n-1", templateName="news"))
    request = unsubscribe_env.send_requests[0]
    token = token_from(headers_of(request)["List-Unsubscribe"])
    assert token in request["Content"]["Simple"]["Body"]["Text"]["Data"]


def test_the_signing_key_is_read_once_per_container(unsubscribe_env: Aws, invoke):
    calls: list[str] = []
    from sesmailengine.handlers.aws import clients

    clients.client("ssm").meta.events.register(
        "before-call.ssm.GetParameter", lambda **_: calls.append("get")
    )
    invoke(
        email_request(emailId="n-1", templateName="news"),
        email_request(emailId="n-2", templateName="news", to="bo@example.org"),
    )
    invoke(email_request(emailId="n-3", templateName="news", to="cy@example.org"))
    assert len(unsubscribe_env.send_requests) == 3
    assert calls == ["get"]


def test_without_the_endpoint_marketing_mail_is_refused(aws: Aws, invoke):
    aws.put_template(name="news", category="marketing")
    invoke(email_request(emailId="n-1", templateName="news"))
    item = aws.item("n-1")
    assert item["status"] == "failed"
    assert "UNSUBSCRIBE_URL" in item["statusReason"]


# -- the endpoint -----------------------------------------------------------------------------


def test_a_one_click_post_unsubscribes_the_address(unsubscribe_env: Aws):
    # GIVEN a token from a real send
    token = fresh_token()
    # WHEN the mailbox provider POSTs the RFC 8058 body
    response = call_endpoint("POST", token, "List-Unsubscribe=One-Click")
    # THEN the address is suppressed for marketing, with topic and time
    assert response["statusCode"] == 200
    item = suppression(unsubscribe_env, "ada@example.org")
    assert item["reason"] == "unsubscribe"
    assert item["topic"] == "product-news"
    assert item["source"] == "one-click"
    assert item["createdAt"].endswith("Z")


def test_an_unsubscribe_blocks_marketing_only(unsubscribe_env: Aws, invoke):
    # GIVEN an address that unsubscribed through the endpoint
    call_endpoint("POST", fresh_token(), "List-Unsubscribe=One-Click")
    # WHEN it is sent a newsletter and a receipt
    invoke(
        email_request(emailId="n-1", templateName="news", to="ada@example.org"),
        email_request(emailId="r-1", templateName="receipt", to="ada@example.org"),
    )
    # THEN the newsletter is suppressed and the receipt is sent
    assert unsubscribe_env.item("n-1")["status"] == "suppressed"
    assert unsubscribe_env.item("r-1")["status"] == "sent"


def test_get_shows_a_confirmation_page_and_changes_nothing(unsubscribe_env: Aws):
    token = fresh_token()
    response = call_endpoint("GET", token)
    assert response["statusCode"] == 200
    assert '<form method="post"' in response["body"]
    assert "a**@example.org" in response["body"]  # masked
    assert response["headers"]["Referrer-Policy"] == "no-referrer"
    assert suppression(unsubscribe_env, "ada@example.org") is None


def test_the_confirmation_button_unsubscribes(unsubscribe_env: Aws):
    response = call_endpoint("POST", fresh_token(), "List-Unsubscribe=One-Click")
    assert response["statusCode"] == 200
    assert "You are unsubscribed" in response["body"]


@pytest.mark.parametrize(
    ("make_token", "status"),
    [
        # signed with another key
        (
            lambda: tokens.sign(
                b"x" * 64, "ada@example.org", "t", datetime.now(UTC) + timedelta(1)
            ),
            403,
        ),
        # the address changed after signing
        (lambda: _tamper(fresh_token(), "eve@example.org"), 403),
        # one signature character changed
        (
            lambda: (
                fresh_token()[:-2] + ("A" if fresh_token()[-2] != "A" else "B") + fresh_token()[-1]
            ),
            403,
        ),
        # expired yesterday
        (lambda: fresh_token(days=-1), 410),
        # not a token
        (lambda: "not-a-token", 400),
        (lambda: None, 400),
    ],
    ids=["forged", "tampered-payload", "tampered-signature", "expired", "malformed", "missing"],
)
def test_bad_tokens_get_a_clear_4xx_and_change_nothing(unsubscribe_env: Aws, make_token, status):
    for method in ("GET", "POST"):
        response = call_endpoint(method, make_token(), "List-Unsubscribe=One-Click")
        assert response["statusCode"] == status
    scanned = unsubscribe_env.client("dynamodb").scan(TableName=SUPPRESSION)["Items"]
    assert scanned == []


def test_a_stronger_suppression_is_never_overwritten(unsubscribe_env: Aws):
    unsubscribe_env.suppress("ada@example.org", "hard_bounce")
    response = call_endpoint("POST", fresh_token(), "List-Unsubscribe=One-Click")
    assert response["statusCode"] == 200
    assert suppression(unsubscribe_env, "ada@example.org")["reason"] == "hard_bounce"


def test_other_methods_are_refused(unsubscribe_env: Aws):
    response = call_endpoint("DELETE", fresh_token())
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, HEAD, POST"


def _tamper(token: str, address: str) -> str:
    import base64
    import json

    payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    fields["a"] = address
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()
    return f"{forged}.{signature}"


# -- tokens (pure) ----------------------------------------------------------------------------


def test_a_token_round_trips_and_expires_exactly_at_its_expiry():
    token = tokens.sign(KEY.encode(), "Ada@Example.org", "news", 2_000_000_000)
    assert tokens.verify(KEY.encode(), token, 1_999_999_999).address == "ada@example.org"
    with pytest.raises(tokens.ExpiredToken):
        tokens.verify(KEY.encode(), token, 2_000_000_000)


def test_headers_drop_the_mailto_target_rather_than_exceed_what_ses_accepts():
    token = tokens.sign(KEY.encode(), "a" * 300 + "@example.org", "news", 2_000_000_000)
    (name, value), post = tokens.list_unsubscribe_headers(ENDPOINT, MAILBOX, token)
    assert name == "List-Unsubscribe" and len(value) <= tokens.MAX_HEADER_VALUE
    assert "mailto:" not in value
    assert post == ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
