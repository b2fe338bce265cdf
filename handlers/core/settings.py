"""The sender's environment, read and validated in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .brand import Brand
from .errors import ConfigurationError

REQUIRED = (
    "TRACKING_TABLE",
    "SUPPRESSION_TABLE",
    "TEMPLATE_BUCKET",
    "CONFIGURATION_SET",
    "EVENT_BUS_NAME",
)


@dataclass(frozen=True)
class UnsubscribeSettings:
    """Where marketing mail's unsubscribe links point, and how they are signed."""

    url: str
    """The unsubscribe endpoint's HTTPS URL (``UNSUBSCRIBE_URL``)."""
    key_parameter: str
    """SSM SecureString holding the signing key (``UNSUBSCRIBE_KEY_PARAMETER``)."""
    mailto: str | None = None
    """Mailbox for ``mailto:`` unsubscribes (``UNSUBSCRIBE_MAILTO``); none: HTTPS only."""
    token_days: int = 365
    """How long an unsubscribe link keeps working (``UNSUBSCRIBE_TOKEN_DAYS``)."""


@dataclass(frozen=True)
class SenderSettings:
    tracking_table: str
    """EmailTracking table name (``TRACKING_TABLE``)."""
    suppression_table: str
    """Suppression table name (``SUPPRESSION_TABLE``)."""
    template_bucket: str
    """Bucket holding ``templates/{name}/...`` (``TEMPLATE_BUCKET``)."""
    configuration_set: str
    """SES configuration set every email is sent under (``CONFIGURATION_SET``)."""
    event_bus_name: str
    """Bus that receives ``Email Status Changed`` events (``EVENT_BUS_NAME``)."""
    default_sender_email: str | None = None
    """Last fallback for the From address (``DEFAULT_SENDER_EMAIL``; empty means none)."""
    default_sender_name: str | None = None
    """Last fallback for the From display name (``DEFAULT_SENDER_NAME``)."""
    template_cache_ttl_seconds: float = 300.0
    """How long a compiled template is reused before S3 is read again."""
    tracking_ttl_days: int = 90
    """Tracking items expire this many days after creation (DynamoDB TTL)."""
    status_event_source: str = "sesmailengine"
    """``Source`` of the ``Email Status Changed`` events."""
    max_send_rate: float = 0.0
    """Emails per second for this function instance; 0 means unlimited."""
    claim_timeout_seconds: int = 180
    """Age after which a ``processing`` claim counts as abandoned and may be claimed again."""
    brand: Brand = field(default_factory=Brand)
    """Brand settings for every render (``BRAND_*``)."""
    unsubscribe: UnsubscribeSettings | None = None
    """One-click unsubscribe for marketing templates; None: marketing mail cannot be sent."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SenderSettings:
        missing = [name for name in REQUIRED if not env.get(name)]
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
        return cls(
            tracking_table=env["TRACKING_TABLE"],
            suppression_table=env["SUPPRESSION_TABLE"],
            template_bucket=env["TEMPLATE_BUCKET"],
            configuration_set=env["CONFIGURATION_SET"],
            event_bus_name=env["EVENT_BUS_NAME"],
            default_sender_email=env.get("DEFAULT_SENDER_EMAIL") or None,
            default_sender_name=env.get("DEFAULT_SENDER_NAME") or None,
            template_cache_ttl_seconds=_number(env, "TEMPLATE_CACHE_TTL_SECONDS", 300, float),
            tracking_ttl_days=_number(env, "TRACKING_TTL_DAYS", 90, int, minimum=1),
            status_event_source=env.get("STATUS_EVENT_SOURCE") or "sesmailengine",
            max_send_rate=_number(env, "MAX_SEND_RATE", 0, float),
            claim_timeout_seconds=_number(env, "CLAIM_TIMEOUT_SECONDS", 180, int, minimum=1),
            brand=Brand.from_env(env),
            unsubscribe=_unsubscribe(env),
        )


def _unsubscribe(env: Mapping[str, str]) -> UnsubscribeSettings | None:
    url = env.get("UNSUBSCRIBE_URL")
    if not url:
        return None
    if not url.startswith("https://"):
        raise ConfigurationError(f"UNSUBSCRIBE_URL must be an https:// URL, got {url!r}")
    parameter = env.get("UNSUBSCRIBE_KEY_PARAMETER")
    if not parameter:
        raise ConfigurationError("UNSUBSCRIBE_URL is set but UNSUBSCRIBE_KEY_PARAMETER is not")
    return UnsubscribeSettings(
        url=url,
        key_parameter=parameter,
        mailto=env.get("UNSUBSCRIBE_MAILTO") or None,
        token_days=_number(env, "UNSUBSCRIBE_TOKEN_DAYS", 365, int, minimum=1),
    )


def _number(env: Mapping[str, str], name: str, default, kind, minimum=0):
    raw = env.get(name)
    if raw in (None, ""):
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {raw!r}")
    return value
