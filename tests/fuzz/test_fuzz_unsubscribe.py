"""Fuzzing the unsubscribe endpoint: function URL requests with hostile tokens, query strings,
bodies, methods, headers and base64 flags.

Properties:

- ``handler(event, context)`` always answers a page: 200, 400, 403, 405 or 410, with the
  security headers, and an empty body for ``HEAD``;
- it answers 200 and writes a suppression only for a token we signed that has not expired and
  has not been altered (200 without a write for ``GET``/``HEAD``, the confirmation page), and
  writes only on ``POST``: nothing forged, damaged or expired ever unsubscribes anyone.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fuzz_strategies import hostile_text, huge_text
from hypothesis import given
from hypothesis import strategies as st
from sender_support import SUPPRESSION, Aws, FakeContext
from sesmailengine.handlers.core import unsubscribe_tokens as tokens

KEY_PARAMETER = "/sesmailengine-fuzz/unsubscribe-key"
KEY = b"k" * 64
STATUSES = {200, 400, 403, 405, 410}


@st.composite
def signed(draw: st.DrawFn) -> tuple[str, bool]:
    """A token we signed (hostile address and topic), and whether it is still valid."""
    expires = int(time.time()) + draw(st.sampled_from([-86_400, -1, 3_600, 86_400 * 365]))
    address = draw(st.one_of(st.emails(), hostile_text))
    token = tokens.sign(KEY, address, draw(hostile_text), expires)
    return token, expires > time.time() + 60


@st.composite
def altered(draw: st.DrawFn) -> tuple[str, bool]:
    """A valid token with one character changed, cut short or extended."""
    token, _ = draw(signed())
    at = draw(st.integers(0, len(token) - 1))
    replacement = draw(st.sampled_from(["", "A", "_", "-", ".", "=", "%2E", "\u202e", "\n"]))
    changed = token[:at] + replacement + token[at + 1 :]
    return changed, changed == token


token_like = st.from_regex(r"[A-Za-z0-9_=.%+/-]{0,80}", fullmatch=True)
tokens_ = st.one_of(
    signed(),
    altered(),
    altered(),
    st.one_of(token_like, hostile_text, huge_text()).map(lambda text: (text, False)),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A function URL event (payload 2.0), and whether its token is a valid one of ours."""
    token, genuine = draw(tokens_)
    where = draw(st.sampled_from(["query", "body", "both", "nowhere"]))
    query = {"token": token} if where in ("query", "both") else None
    if query and draw(st.booleans()):
        query |= draw(st.dictionaries(hostile_text, hostile_text, max_size=2))
    body = draw(st.sampled_from(["", "List-Unsubscribe=One-Click", None])) or None
    if where in ("body", "both"):
        body = "&".join(part for part in (body, urlencode({"token": token})) if part)
    if draw(st.integers(0, 4)) == 0:
        body = draw(st.one_of(hostile_text, huge_text()))
    encoded = draw(st.booleans())
    if encoded and body is not None and draw(st.integers(0, 3)):
        body = base64.b64encode(body.encode()).decode()
    method = draw(
        st.one_of(
            st.sampled_from(["GET", "HEAD", "POST", "post", "DELETE", "OPTIONS"]), hostile_text
        )
    )
    event = {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": urlencode(query or {}),
        "queryStringParameters": query,
        "headers": draw(
            st.dictionaries(
                st.sampled_from(["content-type", "user-agent", "x-forwarded-for"]) | hostile_text,
                hostile_text,
                max_size=3,
            )
        ),
        "requestContext": {"http": {"method": method, "path": "/"}},
        "body": body,
        "isBase64Encoded": encoded,
    }
    # The token the endpoint reads: the query's, else the form body's (when it decodes).
    read_from_query = query is not None and bool(query.get("token"))
    return event, genuine and (read_from_query or where == "body")


@pytest.fixture(scope="module")
def endpoint(account: Aws) -> Iterator[Aws]:
    from sesmailengine.handlers import unsubscribe

    account.client("ssm").put_parameter(Name=KEY_PARAMETER, Value=KEY.decode(), Type="SecureString")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("UNSUBSCRIBE_KEY_PARAMETER", KEY_PARAMETER)
        unsubscribe.reset()
        yield account
        unsubscribe.reset()


def suppressed(aws: Aws) -> list[dict[str, Any]]:
    """The suppression table's items, removed (each example starts from an empty table)."""
    dynamodb = aws.client("dynamodb")
    items = dynamodb.scan(TableName=SUPPRESSION)["Items"]
    for item in items:
        dynamodb.delete_item(TableName=SUPPRESSION, Key={"email": item["email"]})
    return items


@given(request=requests())
def test_the_endpoint_answers_a_page_and_only_a_valid_token_unsubscribes(
    endpoint: Aws, request: tuple[dict[str, Any], bool]
):
    from sesmailengine.handlers.unsubscribe import handler

    event, maybe_genuine = request
    method = event["requestContext"]["http"]["method"].upper()
    # WHEN the endpoint is called
    response = handler(event, FakeContext())
    # THEN it answers a page with the security headers
    assert response["statusCode"] in STATUSES, response["statusCode"]
    assert response["headers"]["Referrer-Policy"] == "no-referrer"
    assert isinstance(response["body"], str)
    if method == "HEAD":
        assert response["body"] == ""
    # AND only a valid token of ours, POSTed, writes a suppression
    written = suppressed(endpoint)
    if method not in ("GET", "HEAD", "POST"):
        assert response["statusCode"] == 405
    elif response["statusCode"] == 200:
        assert maybe_genuine, event
    assert not written or (method == "POST" and maybe_genuine and response["statusCode"] == 200)
    assert len(written) <= 1
