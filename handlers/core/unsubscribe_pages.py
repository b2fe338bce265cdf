"""The unsubscribe endpoint's HTTP side: the Lambda function URL request, and the pages.

``GET ?token=…`` answers the address's preferences page: its topics, each with its state and
an Unsubscribe button, and one for all marketing; the buttons POST back (link scanners and
previews fetch links with GET, so a GET never unsubscribes). ``POST ?token=…`` is the RFC 8058
one-click request (body ``List-Unsubscribe=One-Click``: the token's topic) or a button (body
``topic=<name>`` or ``all=marketing``): it unsubscribes, and answers the page again.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode

from pydantic import BaseModel, ConfigDict, Field

from .statuses import Category, Suppression

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
TOPIC_FIELD = "topic"
"""Form field of a topic's button: unsubscribe from that topic."""
ALL_FIELD, ALL_MARKETING = "all", "marketing"
"""Form field and value of the all-marketing button."""

_SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    # The token is in the URL: never leak it to another site or an index.
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


class _Http(BaseModel):
    model_config = ConfigDict(extra="ignore")
    method: str = "GET"


class _RequestContext(BaseModel):
    model_config = ConfigDict(extra="ignore")
    http: _Http = Field(default_factory=_Http)


class FunctionUrlRequest(BaseModel):
    """The parts of a Lambda function URL event (payload format 2.0) the endpoint reads."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    request_context: _RequestContext = Field(
        default_factory=_RequestContext, alias="requestContext"
    )
    query: dict[str, str] | None = Field(default=None, alias="queryStringParameters")
    body: str | None = None
    is_base64_encoded: bool = Field(default=False, alias="isBase64Encoded")

    @property
    def method(self) -> str:
        return self.request_context.http.method.upper()

    @property
    def token(self) -> str | None:
        token = (self.query or {}).get("token")
        if token:
            return token
        # A form may also carry it in the body.
        return self.form_field("token")

    def form_field(self, name: str) -> str | None:
        """The first value of a form field in the body, None without one."""
        return (parse_qs(self.text_body()).get(name) or [None])[0]

    def text_body(self) -> str:
        if not self.body:
            return ""
        if self.is_base64_encoded:
            try:
                return base64.b64decode(self.body).decode("utf-8", "replace")
            except ValueError:
                return ""
        return self.body


@dataclass(frozen=True)
class TopicChoice:
    """One row of the preferences page."""

    topic: str
    subscribed: bool


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    message: str
    form_action: str | None = None
    """Show the preference buttons, posting to this (relative) URL."""
    topics: tuple[TopicChoice, ...] = ()
    all_marketing_button: bool = False

    def response(self, brand_name: str = "", head_only: bool = False) -> dict[str, Any]:
        headers = dict(_SECURITY_HEADERS)
        if self.status == 405:
            headers["Allow"] = "GET, HEAD, POST"
        return {
            "statusCode": self.status,
            "headers": headers,
            "body": "" if head_only else self.html(brand_name),
        }

    def html(self, brand_name: str) -> str:
        signature = f'<p class="brand">{escape(brand_name)}</p>' if brand_name else ""
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="color-scheme" content="light dark">'
            f"<title>{escape(self.title)}</title><style>"
            "body{font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:0;"
            "padding:48px 16px;background:#f4f5f7;color:#1f2933}"
            "main{max-width:480px;margin:0 auto;background:#fff;border-radius:8px;padding:32px}"
            "h1{font-size:22px;margin:0 0 12px}p{line-height:1.5}"
            "ul{list-style:none;padding:0}li{display:flex;justify-content:space-between;"
            "align-items:center;padding:8px 0;border-top:1px solid #e4e7eb}"
            "button{font-size:16px;padding:10px 20px;border:0;border-radius:6px;"
            "background:#2563eb;color:#fff;cursor:pointer}.brand{color:#7b8794;font-size:13px}"
            "@media (prefers-color-scheme:dark){body{background:#0f1419;color:#e6edf3}"
            "main{background:#1c2128}}"
            f"</style></head><body><main><h1>{escape(self.title)}</h1>"
            f"<p>{escape(self.message)}</p>{self._form()}{signature}</main></body></html>"
        )

    def _form(self) -> str:
        if self.form_action is None:
            return ""
        rows = "".join(
            f"<li><span>{escape(choice.topic)}</span>"
            + (
                f'<button type="submit" name="{TOPIC_FIELD}" value="{escape(choice.topic)}">'
                "Unsubscribe</button>"
                if choice.subscribed
                else "<span>unsubscribed</span>"
            )
            + "</li>"
            for choice in self.topics
        )
        every = (
            f'<p><button type="submit" name="{ALL_FIELD}" value="{ALL_MARKETING}">'
            "Unsubscribe from all marketing email</button></p>"
            if self.all_marketing_button
            else ""
        )
        return (
            f'<form method="post" action="{escape(self.form_action)}"><ul>{rows}</ul>{every}</form>'
        )


def mask(address: str) -> str:
    """``ada@example.org`` → ``a**@example.org``: enough to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}{'*' * max(2, len(local) - 1)}@{domain}"


def offered_topics(
    link_topic: str, known: tuple[str, ...], suppression: Suppression | None
) -> tuple[str, ...]:
    """The topics the page shows: the link's own first, then the known marketing topics and
    those the address already left, sorted."""
    left = suppression.topics if suppression else frozenset()
    return (link_topic, *sorted((set(known) | left) - {link_topic}))


def preferences_page(
    address: str,
    link_topic: str,
    known: tuple[str, ...],
    suppression: Suppression | None,
    token: str,
    done: str | None = None,
) -> Page:
    """The address's preferences; ``done`` names what was just unsubscribed (after a POST)."""
    title = "You are unsubscribed" if done else "Email preferences"
    account_mail = (
        "Emails you need for your account, such as receipts and password resets, still arrive."
    )
    if suppression is not None and suppression.blocking(Category.MARKETING) is not None:
        # Unsubscribed from all marketing, or suppressed for everything: nothing to choose.
        message = f"{mask(address)} gets no marketing email from us. {account_mail}"
        return Page(200, title, message)
    message = (
        f"{mask(address)} will no longer get {done} from us. {account_mail}"
        if done
        else f"Choose the marketing email {mask(address)} gets from us. {account_mail}"
    )
    left = suppression.topics if suppression else frozenset()
    return Page(
        200,
        title,
        message,
        form_action="?" + urlencode({"token": token}),
        topics=tuple(
            TopicChoice(topic, topic not in left)
            for topic in offered_topics(link_topic, known, suppression)
        ),
        all_marketing_button=True,
    )


def rejected_page(status: int, reason: str) -> Page:
    titles = {400: "This link is incomplete", 403: "This link is not valid", 410: "Link expired"}
    hint = {
        410: " Use the unsubscribe link in a more recent email.",
        403: " Use the unsubscribe link exactly as it appears in the email.",
    }.get(status, "")
    return Page(status, titles.get(status, "Cannot unsubscribe"), reason + "." + hint)


METHOD_NOT_ALLOWED = Page(405, "Method not allowed", "Open the link from your email.")
