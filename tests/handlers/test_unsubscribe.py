"""One-click unsubscribe: headers on marketing mail, signed tokens, and the endpoint, under moto."""

# ruff: noqa: F811  (``process`` is a fixture imported from feedback_support)

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from boto3.dynamodb.types import TypeDeserializer
from feedback_support import process, ses_event, track  # noqa: F401
from sender_support import SUPPRESSION, Aws, FakeContext, email_request
from sesmailengine.handlers.core import unsubscribe_tokens as tokens
from sesmailengine.handlers.core.statuses import Category, Suppression

KEY_PARAMETER = "/sesmailengine-test/unsubscribe-signing-key"
PREVIOUS_KEY_PARAMETER = "/sesmailengine-test/unsubscribe-signing-key-previous"
KEY = "k" * 64
NEW_KEY = "n" * 64
# Issued by the release before key ids (`<payload>.<signature>`, signed with KEY): such links
# are in inboxes and must keep working. Unsubscribes ada@example.org from product-news, 2096.
LEGACY_TOKEN = (
    "eyJhIjoiYWRhQGV4YW1wbGUub3JnIiwidCI6InByb2R1Y3QtbmV3cyIsIngiOjQwMDAwMDAwMDB9"
    ".9pqMgy5veHHeveHpWVK8G-BURD6G4xdvdHzbOt4shpQ"
)
ENDPOINT = "https://abc123.lambda-url.us-east-1.on.aws/"
MAILBOX = "unsubscribe@example.com"
ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def unsubscribe_env(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    from sesmailengine.handlers import unsubscribe

    monkeypatch.setenv("UNSUBSCRIBE_URL", ENDPOINT)
    monkeypatch.setenv("UNSUBSCRIBE_KEY_PARAMETER", KEY_PARAMETER)
    monkeypatch.setenv("UNSUBSCRIBE_MAILTO", MAILBOX)
    monkeypatch.setenv("UNSUBSCRIBE_PREVIOUS_KEY_PARAMETER", PREVIOUS_KEY_PARAMETER)
    put_keys(aws, current=KEY, previous=tokens.NO_PREVIOUS_KEY)
    aws.put_template(name="news", category="marketing", topic="product-news")
    aws.put_template(name="receipt")
    unsubscribe.reset()
    yield aws
    unsubscribe.reset()


def put_keys(aws: Aws, current: str, previous: str) -> None:
    """What `pulumi up` writes: the current key, and the previous one (or the placeholder)."""
    ssm = aws.client("ssm")
    for name, value in ((PREVIOUS_KEY_PARAMETER, previous), (KEY_PARAMETER, current)):
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def rotate(aws: Aws, new_key: str = NEW_KEY) -> None:
    """One rotation: the current key becomes the previous one, and ``new_key`` signs."""
    ssm = aws.client("ssm")
    current = ssm.get_parameter(Name=KEY_PARAMETER, WithDecryption=True)["Parameter"]["Value"]
    put_keys(aws, current=new_key, previous=current)


def new_container() -> None:
    from sesmailengine.handlers import unsubscribe

    unsubscribe.reset()


def ssm_reads() -> list[str]:
    """The names of the parameters the functions read from now on."""
    from sesmailengine.handlers.aws import clients

    names: list[str] = []
    clients.client("ssm").meta.events.register(
        "provide-client-params.ssm.GetParameter",
        lambda params, **_: names.append(params["Name"]),
    )
    return names


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
    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in found.items()} if found else None


def fresh_token(
    address: str = "ada@example.org",
    topic: str = "product-news",
    days: int = 30,
    key: str = KEY,
) -> str:
    return tokens.sign(key.encode(), address, topic, datetime.now(UTC) + timedelta(days=days))


def unsubscribed(aws: Aws, response: dict) -> bool:
    """Whether the endpoint answered 200 and ada@example.org is now suppressed."""
    return response["statusCode"] == 200 and suppression(aws, "ada@example.org") is not None


def nothing_written(aws: Aws) -> bool:
    return aws.client("dynamodb").scan(TableName=SUPPRESSION)["Items"] == []


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


def test_a_one_click_post_unsubscribes_the_address_from_the_links_topic(unsubscribe_env: Aws):
    # GIVEN a token from a real send
    token = fresh_token()
    # WHEN the mailbox provider POSTs the RFC 8058 body
    response = call_endpoint("POST", token, "List-Unsubscribe=One-Click")
    # THEN the address left that topic only, with how and when; no address-wide reason
    assert response["statusCode"] == 200
    item = suppression(unsubscribe_env, "ada@example.org")
    assert item["unsubscribedTopics"] == {"product-news"}
    assert "reason" not in item
    assert item["source"] == "one-click"
    assert item["createdAt"].endswith("Z")


def test_a_topic_unsubscribe_blocks_that_topics_marketing_only(unsubscribe_env: Aws, invoke):
    # GIVEN an address that unsubscribed from product-news through the endpoint
    unsubscribe_env.put_template(name="offers", category="marketing", topic="offers")
    call_endpoint("POST", fresh_token(), "List-Unsubscribe=One-Click")
    # WHEN it is sent a product-news letter, an offer (another topic) and a receipt
    invoke(
        email_request(emailId="n-1", templateName="news", to="ada@example.org"),
        email_request(emailId="o-1", templateName="offers", to="ada@example.org"),
        email_request(emailId="r-1", templateName="receipt", to="ada@example.org"),
    )
    # THEN only the product-news letter is suppressed, saying why
    news = unsubscribe_env.item("n-1")
    assert news["status"] == "suppressed"
    assert news["statusReason"] == "recipient suppressed: unsubscribed from topic product-news"
    assert unsubscribe_env.item("o-1")["status"] == "sent"
    assert unsubscribe_env.item("r-1")["status"] == "sent"


def test_an_existing_unsubscribe_without_topics_still_blocks_all_marketing(
    unsubscribe_env: Aws, invoke
):
    # GIVEN an `unsubscribe` suppression written before topics existed
    unsubscribe_env.put_template(name="offers", category="marketing", topic="offers")
    unsubscribe_env.suppress("ada@example.org", "unsubscribe")
    # WHEN the address is sent two marketing topics and a receipt
    invoke(
        email_request(emailId="n-1", templateName="news", to="ada@example.org"),
        email_request(emailId="o-1", templateName="offers", to="ada@example.org"),
        email_request(emailId="r-1", templateName="receipt", to="ada@example.org"),
    )
    # THEN every marketing email is suppressed, the receipt is sent
    assert unsubscribe_env.item("n-1")["statusReason"] == "recipient suppressed: unsubscribe"
    assert unsubscribe_env.item("o-1")["status"] == "suppressed"
    assert unsubscribe_env.item("r-1")["status"] == "sent"


def test_get_shows_the_preferences_page_and_changes_nothing(unsubscribe_env: Aws):
    token = fresh_token()
    response = call_endpoint("GET", token)
    assert response["statusCode"] == 200
    assert '<form method="post"' in response["body"]
    assert '<button type="submit" name="topic" value="product-news">' in response["body"]
    assert '<button type="submit" name="all" value="marketing">' in response["body"]
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
        # the key id stripped: a new token cannot pass for one issued before key ids
        (lambda: fresh_token().split(".", 1)[1], 403),
        # expired yesterday
        (lambda: fresh_token(days=-1), 410),
        # not a token
        (lambda: "not-a-token", 400),
        (lambda: None, 400),
    ],
    ids=[
        "forged",
        "tampered-payload",
        "tampered-signature",
        "key-id-stripped",
        "expired",
        "malformed",
        "missing",
    ],
)
def test_bad_tokens_get_a_clear_4xx_and_change_nothing(unsubscribe_env: Aws, make_token, status):
    for method in ("GET", "POST"):
        response = call_endpoint(method, make_token(), "List-Unsubscribe=One-Click")
        assert response["statusCode"] == status
    scanned = unsubscribe_env.client("dynamodb").scan(TableName=SUPPRESSION)["Items"]
    assert scanned == []


@pytest.mark.parametrize("body", [ONE_CLICK, "all=marketing"], ids=["topic", "all-marketing"])
def test_a_stronger_suppression_is_never_overwritten(unsubscribe_env: Aws, invoke, body: str):
    # GIVEN a hard-bounced address  WHEN it unsubscribes from a topic or from all marketing
    unsubscribe_env.suppress("ada@example.org", "hard_bounce")
    response = call_endpoint("POST", fresh_token(), body)
    # THEN the hard bounce stays, and still stops transactional mail
    assert response["statusCode"] == 200
    assert suppression(unsubscribe_env, "ada@example.org")["reason"] == "hard_bounce"
    invoke(email_request(emailId="r-1", templateName="receipt", to="ada@example.org"))
    assert unsubscribe_env.item("r-1")["statusReason"] == "recipient suppressed: hard_bounce"


def test_the_page_offers_every_known_topic_with_its_state(
    unsubscribe_env: Aws, monkeypatch: pytest.MonkeyPatch
):
    # GIVEN the deployed marketing topics, and an address that left product-news
    monkeypatch.setenv("MARKETING_TOPICS", "offers,product-news,tips")
    call_endpoint("POST", fresh_token(), ONE_CLICK)
    # WHEN it opens a link from an offers email
    body = call_endpoint("GET", fresh_token(topic="offers"))["body"]
    # THEN every topic is listed, the link's own first: a button each it still gets
    assert [topic for topic in ("offers", "product-news", "tips") if topic in body] == [
        "offers",
        "product-news",
        "tips",
    ]
    assert body.index("offers") < body.index("product-news") < body.index("tips")
    assert 'value="offers">Unsubscribe</button>' in body
    assert 'value="tips">Unsubscribe</button>' in body
    assert "<span>product-news</span><span>unsubscribed</span>" in body


def test_a_button_unsubscribes_from_another_offered_topic(
    unsubscribe_env: Aws, monkeypatch: pytest.MonkeyPatch
):
    # GIVEN a page opened from a product-news link, offering tips too
    monkeypatch.setenv("MARKETING_TOPICS", "tips")
    # WHEN the tips button is pressed
    response = call_endpoint("POST", fresh_token(), "topic=tips")
    # THEN the address left tips only, from the page, and the page says so
    assert response["statusCode"] == 200
    assert "You are unsubscribed" in response["body"]
    assert "will no longer get tips email" in response["body"]
    item = suppression(unsubscribe_env, "ada@example.org")
    assert item["unsubscribedTopics"] == {"tips"}
    assert item["source"] == "confirmation-page"


def test_a_button_naming_a_topic_the_page_does_not_offer_is_refused(unsubscribe_env: Aws):
    response = call_endpoint("POST", fresh_token(), "topic=somebody-elses-topic")
    assert response["statusCode"] == 400
    assert nothing_written(unsubscribe_env)


def test_the_all_marketing_button_stops_every_marketing_topic(unsubscribe_env: Aws, invoke):
    # GIVEN an address that already left one topic
    unsubscribe_env.put_template(name="offers", category="marketing", topic="offers")
    call_endpoint("POST", fresh_token(), ONE_CLICK)
    # WHEN it presses "all marketing"
    response = call_endpoint("POST", fresh_token(), "all=marketing")
    # THEN it is suppressed for all marketing, its topics kept, and the page offers no buttons
    item = suppression(unsubscribe_env, "ada@example.org")
    assert (item["reason"], item["unsubscribedTopics"]) == ("unsubscribe", {"product-news"})
    assert "gets no marketing email from us" in response["body"]
    assert "<button" not in response["body"]
    invoke(
        email_request(emailId="o-1", templateName="offers", to="ada@example.org"),
        email_request(emailId="r-1", templateName="receipt", to="ada@example.org"),
    )
    assert unsubscribe_env.item("o-1")["status"] == "suppressed"
    assert unsubscribe_env.item("r-1")["status"] == "sent"


def test_unsubscribing_twice_keeps_the_first_date(unsubscribe_env: Aws):
    call_endpoint("POST", fresh_token(), ONE_CLICK)
    first = suppression(unsubscribe_env, "ada@example.org")["createdAt"]
    call_endpoint("POST", fresh_token(), ONE_CLICK)
    item = suppression(unsubscribe_env, "ada@example.org")
    assert (item["createdAt"], item["unsubscribedTopics"]) == (first, {"product-news"})


def test_a_hard_bounce_after_a_topic_unsubscribe_blocks_everything(
    unsubscribe_env: Aws, process, invoke
):
    # GIVEN an address that left one topic
    call_endpoint("POST", fresh_token(), ONE_CLICK)
    # WHEN SES reports a hard bounce for it
    track(unsubscribe_env, "order-1", to="ada@example.org")
    process(ses_event("bounce", email_id="order-1", recipients=["ada@example.org"]))
    # THEN the address is suppressed for everything, its topics kept
    item = suppression(unsubscribe_env, "ada@example.org")
    assert (item["reason"], item["unsubscribedTopics"]) == ("hard_bounce", {"product-news"})
    invoke(email_request(emailId="r-1", templateName="receipt", to="ada@example.org"))
    assert unsubscribe_env.item("r-1")["status"] == "suppressed"


def test_other_methods_are_refused(unsubscribe_env: Aws):
    response = call_endpoint("DELETE", fresh_token())
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, HEAD, POST"


def _tamper(token: str, address: str) -> str:
    import base64
    import json

    kid, payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    fields["a"] = address
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()
    return f"{kid}.{forged}.{signature}"


# -- one spelling per token -------------------------------------------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _with_trailing_bits(token: str) -> str:
    """The signature's last character with the unused low bits set: a lenient decoder reads
    the same 32 bytes from it."""
    last = _ALPHABET.index(token[-1])
    return token[:-1] + _ALPHABET[last | 0b11]


# Each keeps the signature's 32 bytes for a lenient decoder (`urlsafe_b64decode` skips
# characters outside the alphabet, accepts padding and ignores the unused low bits).
@pytest.mark.parametrize(
    "respell",
    [
        lambda token: token[:-10] + "!!" + token[-10:],
        lambda token: token[:-10] + "\r\n" + token[-10:],
        lambda token: token + "=",
        lambda token: token + "\r\n",
        _with_trailing_bits,
    ],
    ids=["stray-characters", "inner-newline", "padding", "trailing-newline", "trailing-bits"],
)
def test_another_spelling_of_a_valid_token_is_refused_and_changes_nothing(
    unsubscribe_env: Aws, respell
):
    # GIVEN a valid token, respelled so that a lenient base64 decoder reads the same bytes
    token = respell(fresh_token())
    # WHEN it is used, with a confirmation GET and a one-click POST
    answers = [call_endpoint(method, token, ONE_CLICK)["statusCode"] for method in ("GET", "POST")]
    # THEN it is malformed (one token, one spelling), and nothing is written
    assert answers == [400, 400]
    assert nothing_written(unsubscribe_env)


# -- key rotation ------------------------------------------------------------------------------


@pytest.mark.parametrize("warm", [False, True], ids=["new-container", "warm-container"])
def test_a_link_signed_before_a_rotation_still_unsubscribes(unsubscribe_env: Aws, warm: bool):
    # GIVEN a link signed with the key of the time, and an endpoint that may have cached it
    token = fresh_token()
    call_endpoint("GET", fresh_token())
    # WHEN the key is rotated
    rotate(unsubscribe_env)
    if not warm:
        new_container()
    # THEN the link still works: the previous key verifies it
    assert unsubscribed(unsubscribe_env, call_endpoint("POST", token, ONE_CLICK))


def test_a_warm_endpoint_accepts_links_signed_with_the_new_key_at_once(unsubscribe_env: Aws):
    # GIVEN an endpoint that cached the keys before a rotation
    call_endpoint("GET", fresh_token())
    rotate(unsubscribe_env)
    # WHEN a link signed with the new key arrives, long before the cache expires
    response = call_endpoint("POST", fresh_token(key=NEW_KEY), ONE_CLICK)
    # THEN the endpoint re-reads its keys for the unknown key id, and unsubscribes
    assert unsubscribed(unsubscribe_env, response)


def test_after_a_rotation_an_expired_link_of_the_previous_key_is_refused(unsubscribe_env: Aws):
    # GIVEN a link signed with the old key that has expired  WHEN the key is rotated
    token = fresh_token(days=-1)
    rotate(unsubscribe_env)
    new_container()
    # THEN the previous key still checks it, and it is refused as expired
    assert call_endpoint("POST", token, ONE_CLICK)["statusCode"] == 410
    assert nothing_written(unsubscribe_env)


def test_a_link_signed_with_a_key_the_stack_no_longer_holds_is_refused(unsubscribe_env: Aws):
    # GIVEN a link signed with the first key, and two rotations since
    token = fresh_token()
    rotate(unsubscribe_env, NEW_KEY)
    rotate(unsubscribe_env, "t" * 64)
    new_container()
    # WHEN it is used  THEN neither key the stack holds verifies it, and nothing is written
    for method in ("GET", "POST"):
        assert call_endpoint(method, token, ONE_CLICK)["statusCode"] == 403
    assert nothing_written(unsubscribe_env)


def test_links_naming_unknown_keys_reread_the_keys_at_most_once_a_minute(unsubscribe_env: Aws):
    # GIVEN a warm endpoint
    call_endpoint("GET", fresh_token())
    reads = ssm_reads()
    # WHEN a flood of links signed with made-up keys arrives
    answers = {
        call_endpoint("POST", fresh_token(key=f"{n:02d}" * 32), ONE_CLICK)["statusCode"]
        for n in range(5)
    }
    # THEN all are refused, and the keys were re-read once (current and previous), not per link
    assert answers == {403}
    assert sorted(reads) == sorted([KEY_PARAMETER, PREVIOUS_KEY_PARAMETER])
    assert nothing_written(unsubscribe_env)


@pytest.mark.parametrize("rotated", [False, True], ids=["same-key", "after-rotation"])
def test_links_issued_before_key_ids_still_unsubscribe(unsubscribe_env: Aws, rotated: bool):
    # GIVEN a link from the release before key ids, signed with the key then current
    if rotated:
        rotate(unsubscribe_env)
    # WHEN it is used  THEN it unsubscribes, verified by whichever key signed it
    assert unsubscribed(unsubscribe_env, call_endpoint("POST", LEGACY_TOKEN, ONE_CLICK))


def test_after_a_rotation_the_sender_signs_with_the_new_key(unsubscribe_env: Aws, invoke):
    # GIVEN a rotated key  WHEN marketing mail is sent
    rotate(unsubscribe_env)
    invoke(email_request(emailId="n-1", templateName="news"))
    token = token_from(headers_of(unsubscribe_env.send_requests[0])["List-Unsubscribe"])
    # THEN its link names and verifies with the new key only
    assert tokens.verify(NEW_KEY.encode(), token, datetime.now(UTC)).topic == "product-news"
    with pytest.raises(tokens.ForgedToken):
        tokens.verify(KEY.encode(), token, datetime.now(UTC))


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


# -- what a suppression blocks (pure) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("suppression", "category", "topic", "why"),
    [
        (
            Suppression(topics=frozenset({"news"})),
            Category.MARKETING,
            "news",
            "unsubscribed from topic news",
        ),
        (Suppression(topics=frozenset({"news"})), Category.MARKETING, "offers", None),
        (Suppression(topics=frozenset({"news"})), Category.TRANSACTIONAL, "news", None),
        (Suppression("unsubscribe"), Category.MARKETING, "offers", "unsubscribe"),
        (Suppression("unsubscribe"), Category.TRANSACTIONAL, None, None),
        (Suppression("complaint", frozenset({"news"})), Category.TRANSACTIONAL, None, "complaint"),
        # an item with neither a reason nor a topic (made by hand) blocks everything
        (Suppression(), Category.TRANSACTIONAL, None, "manual"),
    ],
)
def test_a_suppression_blocks_what_its_reason_and_topics_say(suppression, category, topic, why):
    assert suppression.blocking(category, topic) == why
