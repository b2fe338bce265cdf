"""Unsubscribe endpoint Lambda (function URL): one-click (RFC 8058) and confirmation page.

Wired as ``handlers.unsubscribe.handler``. ``GET``/``HEAD`` with a valid token show a
confirmation page and change nothing; ``POST`` with a valid token writes an ``unsubscribe``
suppression (which blocks marketing templates only). A token verifies with the key its id
names: the current one, or the previous one for links signed before the last rotation. Forged
or altered tokens, and tokens naming a key the stack no longer holds, get 403; expired ones 410;
missing or damaged ones (anything but the canonical spelling the sender writes) 400; and
nothing is written.
"""

from __future__ import annotations

import functools
import hashlib
import os
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from .aws.parameters import SigningKeys
from .aws.unsubscribes import UnsubscribeWriter
from .core.environment import UnsubscribeEnvironment
from .core.metrics import UNSUBSCRIBES, UNSUBSCRIBES_REFUSED
from .core.unsubscribe_pages import (
    METHOD_NOT_ALLOWED,
    ONE_CLICK_BODY,
    FunctionUrlRequest,
    confirmation_page,
    done_page,
    rejected_page,
)
from .core.unsubscribe_tokens import SignedToken, TokenRejected
from .observability import observability

logger, metrics = observability(UnsubscribeEnvironment)


@functools.cache
def _adapters(
    table: str, key_parameter: str, previous_key_parameter: str | None
) -> tuple[SigningKeys, UnsubscribeWriter]:
    """Built once per container: the signing keys' cache lives as long as the container."""
    return SigningKeys(key_parameter, previous_key_parameter), UnsubscribeWriter(table)


def reset() -> None:
    """Forget cached adapters (tests)."""
    _adapters.cache_clear()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    request = FunctionUrlRequest.model_validate(event)
    environment = UnsubscribeEnvironment.from_env(os.environ)
    brand = environment.brand_name or ""
    head_only = request.method == "HEAD"
    if request.method not in ("GET", "HEAD", "POST"):
        return METHOD_NOT_ALLOWED.response(brand)
    signing_keys, writer = _adapters(
        environment.suppression_table,
        environment.unsubscribe_key_parameter,
        environment.unsubscribe_previous_key_parameter,
    )
    now = datetime.now(UTC)
    try:
        token = SignedToken.parse(request.token)
        wanted = token.verify(signing_keys.get(token.key_id), now)
    except TokenRejected as rejected:
        logger.info("unsubscribe refused", extra={"status": rejected.status, "why": str(rejected)})
        metrics.add_metric(name=UNSUBSCRIBES_REFUSED, unit=MetricUnit.Count, value=1)
        return rejected_page(rejected.status, str(rejected)).response(brand, head_only)
    if request.method in ("GET", "HEAD"):
        return confirmation_page(wanted.address, wanted.topic, request.token or "").response(
            brand, head_only
        )
    one_click = ONE_CLICK_BODY in request.text_body()
    written = writer.unsubscribe(
        wanted.address, wanted.topic, "one-click" if one_click else "confirmation-page", now
    )
    logger.info(
        "unsubscribed" if written else "already suppressed",
        extra={
            # A hash, not the address: enough to correlate, nothing to harvest from logs.
            "addressHash": hashlib.sha256(wanted.address.encode()).hexdigest()[:16],
            "topic": wanted.topic,
            "oneClick": one_click,
        },
    )
    metrics.add_metric(name=UNSUBSCRIBES, unit=MetricUnit.Count, value=1 if written else 0)
    return done_page(wanted.address, wanted.topic).response(brand)
