"""Unsubscribe endpoint Lambda (function URL): one-click (RFC 8058) and the preferences page.

Wired as ``handlers.unsubscribe.handler``. ``GET``/``HEAD`` with a valid token show the
address's preferences (its topics, each with a button, and all marketing) and change nothing;
``POST`` with a valid token unsubscribes the address from the token's topic (the one-click body,
or none), from the topic a button names, or from all marketing, and shows the page again. A
topic unsubscribe stops that topic's marketing mail only; nothing here weakens a suppression.
A token verifies with the key its id names: the current one, or the previous one for links
signed before the last rotation. Forged or altered tokens, and tokens naming a key the stack no
longer holds, get 403; expired ones 410; missing or damaged ones (anything but the canonical
spelling the sender writes), or a button naming a topic the page does not offer, 400; and
nothing is written.
"""

from __future__ import annotations

import functools
import hashlib
import os
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from .aws.parameters import SigningKeys
from .aws.unsubscribes import Unsubscribes
from .core.environment import UnsubscribeEnvironment
from .core.metrics import UNSUBSCRIBES, UNSUBSCRIBES_REFUSED
from .core.statuses import Suppression
from .core.unsubscribe_pages import (
    ALL_FIELD,
    ALL_MARKETING,
    METHOD_NOT_ALLOWED,
    ONE_CLICK_BODY,
    TOPIC_FIELD,
    FunctionUrlRequest,
    offered_topics,
    preferences_page,
    rejected_page,
)
from .core.unsubscribe_tokens import SignedToken, TokenRejected, Unsubscription
from .observability import observability

logger, metrics = observability(UnsubscribeEnvironment)


@functools.cache
def _adapters(
    table: str, key_parameter: str, previous_key_parameter: str | None
) -> tuple[SigningKeys, Unsubscribes]:
    """Built once per container: the signing keys' cache lives as long as the container."""
    return SigningKeys(key_parameter, previous_key_parameter), Unsubscribes(table)


def reset() -> None:
    """Forget cached adapters (tests)."""
    _adapters.cache_clear()


class UnknownTopic(TokenRejected):
    """A button named a topic the page does not offer."""

    status = 400


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    request = FunctionUrlRequest.model_validate(event)
    environment = UnsubscribeEnvironment.from_env(os.environ)
    brand = environment.brand_name or ""
    head_only = request.method == "HEAD"
    if request.method not in ("GET", "HEAD", "POST"):
        return METHOD_NOT_ALLOWED.response(brand)
    signing_keys, unsubscribes = _adapters(
        environment.suppression_table,
        environment.unsubscribe_key_parameter,
        environment.unsubscribe_previous_key_parameter,
    )
    now = datetime.now(UTC)
    try:
        token = SignedToken.parse(request.token)
        wanted = token.verify(signing_keys.get(token.key_id), now)
        current = unsubscribes.read(wanted.address)
        if request.method in ("GET", "HEAD"):
            return preferences_page(
                wanted.address, wanted.topic, environment.topics, current, request.token or ""
            ).response(brand, head_only)
        topic = _chosen_topic(request, wanted, environment.topics, current)
    except TokenRejected as rejected:
        logger.info("unsubscribe refused", extra={"status": rejected.status, "why": str(rejected)})
        metrics.add_metric(name=UNSUBSCRIBES_REFUSED, unit=MetricUnit.Count, value=1)
        return rejected_page(rejected.status, str(rejected)).response(brand, head_only)
    one_click = ONE_CLICK_BODY in request.text_body()
    source = "one-click" if one_click else "confirmation-page"
    if topic is None:
        written = unsubscribes.leave_marketing(wanted.address, source, now)
    else:
        written = bool(unsubscribes.leave_topics(wanted.address, [topic], source, now))
    logger.info(
        "unsubscribed" if written else "already unsubscribed",
        extra={
            # A hash, not the address: enough to correlate, nothing to harvest from logs.
            "addressHash": hashlib.sha256(wanted.address.encode()).hexdigest()[:16],
            "topic": topic or "all marketing",
            "oneClick": one_click,
        },
    )
    metrics.add_metric(name=UNSUBSCRIBES, unit=MetricUnit.Count, value=1 if written else 0)
    return preferences_page(
        wanted.address,
        wanted.topic,
        environment.topics,
        unsubscribes.read(wanted.address),
        request.token or "",
        done=f"{topic} email" if topic else "marketing email",
    ).response(brand)


def _chosen_topic(
    request: FunctionUrlRequest,
    wanted: Unsubscription,
    known: tuple[str, ...],
    current: Suppression | None,
) -> str | None:
    """The topic a POST leaves; None for all marketing. The one-click body (or none) leaves the
    token's topic; a button may name only a topic the page offers."""
    if request.form_field(ALL_FIELD) == ALL_MARKETING:
        return None
    named = request.form_field(TOPIC_FIELD)
    if named is None:
        return wanted.topic
    if named not in offered_topics(wanted.topic, known, current):
        raise UnknownTopic("this page offers no such topic")
    return named
