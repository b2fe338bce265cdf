"""Every stack setting of sesmailengine: its config key, default, allowed range and error message.

`EngineSettings` is the one typed object `EmailEngine` is built from. Stack config
(`Pulumi.<stack>.yaml`, namespace `sesmailengine`) is read into it by `EngineSettings.from_config`;
a program that imports the component builds it directly (snake_case or camelCase names).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .handlers.core.events import DEFAULT_STATUS_EVENT_SOURCE
from .handlers.core.statuses import AmbiguousSendPolicy

CONFIG_NAMESPACE = "sesmailengine"

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


DEFAULT_CLAIM_TIMEOUT_SECONDS = 1800
SES_SANDBOX_SEND_RATE = 1.0
"""Emails per second an SES account in the sandbox may send."""
# The sweep reads today's and yesterday's date partitions: an email stuck for up to a day is
# always found in them (one created just before midnight yesterday, until midnight today).
MAX_STUCK_AFTER_MINUTES = 24 * 60


class SettingsError(ValueError):
    """Settings are invalid, from stack config or built in code. `problems` holds one line per
    bad key (named as its config key) and what it accepts; the message lists them all."""

    def __init__(self, problems: Sequence[str], *, source: str) -> None:
        self.problems = tuple(problems)
        super().__init__(f"invalid {source}:\n  " + "\n  ".join(self.problems))


def _json_if_text(value: Any) -> Any:
    # Pulumi hands structured config values (lists, maps) to the program as JSON text.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected a YAML/JSON list, got {value!r}") from exc
    return value


def _email_address(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid email address: {exc}") from exc


_EVENT_SOURCE = re.compile(r"^[A-Za-z0-9._/-]{1,256}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")
_RESOURCE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

StringList = Annotated[list[str], BeforeValidator(_json_if_text)]


class EngineSettings(BaseModel):
    """The whole configuration of one EmailEngine deployment.

    Field names are snake_case in Python and camelCase as stack config keys
    (`sesmailengine:senderTimeoutSeconds`).
    """

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )

    if not TYPE_CHECKING:  # type checkers keep the field-by-field signature pydantic gives them

        def __init__(self, /, **values: Any) -> None:
            # pydantic's ValidationError is a multi-line report per error with links; a program
            # that builds its settings in code gets the lines stack config gets instead.
            # (model_validate, and so from_config, goes through here too.)
            try:
                super().__init__(**values)
            except ValidationError as error:
                raise SettingsError(_problems(error), source="EngineSettings") from None

    # --- Senders and identities -------------------------------------------------------------
    default_sender_email: str = Field(
        description="From address used when neither the request nor the template names one."
    )
    default_sender_name: str | None = Field(
        None, description="Display name used when neither the request nor the template names one."
    )
    sending_domain: str | None = Field(
        None,
        description="Domain to create as an SES identity with Easy DKIM. Unset: the identity "
        "of defaultSenderEmail's domain must already be verified in SES.",
    )
    admin_email: str | None = Field(
        None, description="Address that receives alarm notifications (monitoring)."
    )
    ses_sandbox: bool = Field(
        False,
        description="The account's SES is still in the sandbox (1 email/s, 200 a day, verified "
        "recipients only). A maxSendRate that is set must keep maximumConcurrency x maxSendRate "
        "<= 1 (unset, the instances share the sandbox's quota read from SES). Lets the sender "
        "send to verified recipient identities of other domains, from its own addresses only.",
    )

    # --- Names ------------------------------------------------------------------------------
    event_bus_name: str | None = Field(
        None, description="Name of the custom EventBridge bus. Unset: `<engine name>-<stack>`."
    )
    configuration_set_name: str | None = Field(
        None, description="Name of the SES configuration set. Unset: `<engine name>-<stack>`."
    )
    status_event_source: str = Field(
        DEFAULT_STATUS_EVENT_SOURCE,
        description="`Source` of the `Email Status Changed` events put on the bus.",
    )

    # --- Producers --------------------------------------------------------------------------
    allowed_sources: StringList = Field(
        default_factory=list,
        description="Event `source` values accepted as Email Requests. Empty: any source.",
    )
    allowed_source_accounts: list[str] | dict[str, list[str]] = Field(
        default_factory=list,
        description="Other AWS accounts allowed to put Email Request events on the bus: a list "
        "of account ids (each may use every allowedSources value), or a map of account id → "
        "the sources that account may use.",
    )
    rule_retry_attempts: int = Field(
        185, ge=0, le=185, description="EventBridge retries delivering an event to the queue."
    )
    rule_max_event_age_seconds: int = Field(
        86400, ge=60, le=86400, description="How long EventBridge keeps retrying an event."
    )
    archive_retention_days: int = Field(
        30,
        ge=0,
        description="Days the bus archives Email Requests for `sesmail replay`; 0 keeps them "
        "forever.",
    )

    # --- Sender Lambda ----------------------------------------------------------------------
    sender_timeout_seconds: int = Field(30, ge=5, le=900, description="Sender Lambda timeout.")
    sender_memory_mb: int = Field(512, ge=128, le=10240, description="Sender Lambda memory.")
    batch_size: int = Field(10, ge=1, le=10, description="SQS messages per sender invocation.")
    max_batching_window_seconds: int = Field(
        0, ge=0, le=300, description="How long SQS gathers a batch before invoking the sender."
    )
    maximum_concurrency: int = Field(
        5,
        description="Most sender instances SQS runs at once (AWS allows 2 to 1000). Bounds "
        "the SES send rate together with maxSendRate.",
    )
    max_send_rate: float | None = Field(
        None,
        ge=0,
        description="Emails per second per sender instance; 0 means unlimited. Unset: each "
        "instance finds its rate from the account's SES quota (GetAccount) divided by "
        "maximumConcurrency, and adapts to SES's throttling (README, Pacing).",
    )
    claim_timeout_seconds: int | None = Field(
        None,
        ge=60,
        le=43200,
        description="Age after which an email still `processing` counts as abandoned by a "
        "crashed sender. Longer than the queue's visibility timeout, so a redelivered request "
        "waits for the live claim (and SES's Send event) instead of sending again. Unset: "
        f"{DEFAULT_CLAIM_TIMEOUT_SECONDS} s, or twice the visibility timeout if that is longer.",
    )
    ambiguous_send_policy: AmbiguousSendPolicy = Field(
        AmbiguousSendPolicy.RESEND,
        description="An abandoned claim with no recorded send (SES may or may not have sent "
        "it): `resend` sends it again (never lost, maybe twice); `hold` marks it `unknown` and "
        "never sends it again (never twice, maybe lost).",
    )
    stuck_after_minutes: int | None = Field(
        None,
        ge=1,
        le=MAX_STUCK_AFTER_MINUTES,
        description="Age at which an email still `processing` is reported (StuckEmails alarm) "
        "and, under `hold`, marked `unknown`. Longer than the claim timeout. Unset: twice the "
        "claim timeout.",
    )
    stuck_sweep_minutes: int = Field(
        5, ge=1, le=60, description="How often the stuck-email sweep runs."
    )
    lambda_architecture: Literal["arm64", "x86_64"] = Field(
        "arm64", description="Instruction set of every Lambda function."
    )
    lambda_runtime: Literal["python3.12", "python3.13"] = Field(
        "python3.12", description="Python runtime of every Lambda function."
    )
    log_level: Literal["DEBUG", "INFO", "WARN", "ERROR"] = Field(
        "INFO", description="Application log level of the Lambda functions."
    )
    log_retention_days: int = Field(
        30, description="Days CloudWatch keeps Lambda logs (a CloudWatch retention value)."
    )

    # --- Data -------------------------------------------------------------------------------
    tracking_ttl_days: int = Field(
        90, ge=1, le=3650, description="Days a tracking item lives before DynamoDB expires it."
    )
    template_cache_seconds: int = Field(
        300, ge=0, le=86400, description="How long a sender instance caches a compiled template."
    )
    attachment_retention_days: int = Field(
        7,
        ge=1,
        le=3650,
        description="Days an object stays in the attachment bucket before S3 deletes it; "
        "longer than an email waits to be sent.",
    )
    upload_starter_templates: bool = Field(
        True, description="Upload the starter templates in `templates/` to the bucket."
    )
    protect_data: bool = Field(
        False,
        description="Turn on deletion protection for the tables and keep the template bucket "
        "and tables when the stack is destroyed.",
    )

    # --- Feedback and monitoring ------------------------------------------------------------
    feedback_timeout_seconds: int = Field(
        30, ge=5, le=900, description="Feedback processor Lambda timeout."
    )
    feedback_memory_mb: int = Field(
        256, ge=128, le=10240, description="Feedback processor Lambda memory."
    )
    track_opens_and_clicks: bool = Field(
        False,
        description="Also publish SES open and click events (SES rewrites links and adds a "
        "tracking pixel to every email).",
    )
    soft_bounce_threshold: int = Field(
        3, ge=1, le=100, description="Consecutive soft bounces that suppress an address."
    )
    bounce_rate_alarm_percent: float = Field(
        3.0,
        gt=0,
        lt=5,
        description="Bounce-rate alarm threshold in percent (AWS reviews accounts at 5%).",
    )
    complaint_rate_alarm_percent: float = Field(
        0.05,
        gt=0,
        lt=0.1,
        description="Complaint-rate alarm threshold in percent (AWS reviews accounts at 0.1%).",
    )
    lambda_errors_alarm_threshold: int = Field(
        50,
        ge=1,
        le=100000,
        description="Errors per 5 minutes (twice in a row) that raise a Lambda error alarm.",
    )
    queue_age_alarm_seconds: int = Field(
        900,
        ge=60,
        # EmailQueue keeps a request 7 days: an older age never happens.
        le=7 * 24 * 3600,
        description="Age of the oldest Email Request in EmailQueue that raises the backlog alarm.",
    )
    sending_brake: bool = Field(
        False,
        description="When the bounce- or complaint-rate alarm fires, pause sending (the "
        "configuration set and the sender's queue trigger) until released.",
    )
    encrypt_topics: bool = Field(
        True,
        description="Encrypt the SES-events and alarm topics with a customer-managed KMS key "
        "(about $1 a month); false leaves them unencrypted.",
    )

    # --- Brand (shared layouts) -------------------------------------------------------------
    brand_name: str | None = Field(
        None,
        max_length=100,
        description="Name in the layouts' header and footer. Unset: defaultSenderName, else "
        "the sender's domain.",
    )
    brand_url: str | None = Field(None, description="Website linked from the logo and footer.")
    brand_logo_url: str | None = Field(
        None, description="HTTPS URL of the logo image; the name is shown without one."
    )
    brand_address: str | None = Field(
        None,
        max_length=300,
        description="Postal address in the footer (bulk mail law asks for one).",
    )
    brand_primary_color: str = Field("#2563eb", description="Buttons and links.")
    brand_background_color: str = Field("#f4f5f7", description="Page background.")
    brand_text_color: str = Field("#1f2933", description="Body text.")

    # --- Deliverability ---------------------------------------------------------------------
    unsubscribe_mailto: str | None = Field(
        None,
        description="Mailbox added as a mailto: List-Unsubscribe target of marketing mail "
        "(the signed token is in the subject). Unset: the HTTPS one-click link only.",
    )
    unsubscribe_link_days: int = Field(
        365,
        ge=30,
        le=3650,
        description="Days an unsubscribe link keeps working (US law asks for at least 30).",
    )
    unsubscribe_key_rotation: int = Field(
        1,
        ge=1,
        description="Generation of the unsubscribe signing key. Raising it by 1 makes a new "
        "key sign while the old one keeps verifying the links it signed; by 2, no old link "
        "verifies (a leaked key). Only ever raise it.",
    )
    unsubscribe_reserved_concurrency: int | None = Field(
        None,
        ge=1,
        description="Concurrent executions reserved for (and capping) the public unsubscribe "
        "endpoint, to bound a flood's cost. Unset: none reserved. Set it only where the "
        "account's Lambda concurrency quota minus every reservation leaves at least 100 "
        "unreserved (AWS refuses the deploy otherwise; new accounts often have a quota of 10).",
    )
    hosted_zone_id: str | None = Field(
        None,
        description="Route 53 hosted zone of sendingDomain: the Sending component then "
        "publishes the DKIM, MAIL FROM (MX, SPF) and DMARC records.",
    )
    mail_from_subdomain: str = Field(
        "bounce",
        description="Custom MAIL FROM domain is `<this>.<sendingDomain>` (with hostedZoneId).",
    )
    dmarc_policy: Literal["none", "quarantine", "reject"] = Field(
        "none", description="DMARC policy published for sendingDomain (with hostedZoneId)."
    )
    dmarc_report_email: str | None = Field(
        None, description="Address receiving DMARC aggregate reports (rua)."
    )

    @field_validator("default_sender_email", "admin_email")
    @classmethod
    def _valid_address(cls, value: str | None) -> str | None:
        return None if value is None else _email_address(value)

    @field_validator("sending_domain")
    @classmethod
    def _valid_domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        domain = value.strip().lower()
        if not _DOMAIN.match(domain):
            raise ValueError(f"{value!r} is not a domain name such as example.com")
        return domain

    @field_validator("event_bus_name", "configuration_set_name")
    @classmethod
    def _valid_resource_name(cls, value: str | None) -> str | None:
        if value is not None and not _RESOURCE_NAME.match(value):
            raise ValueError("use 1 to 64 letters, digits, '-' or '_'")
        return value

    @field_validator("status_event_source")
    @classmethod
    def _valid_event_source(cls, value: str) -> str:
        if not _EVENT_SOURCE.match(value) or value.startswith("aws."):
            raise ValueError("use 1 to 256 of A-Z a-z 0-9 . _ / - and do not start with 'aws.'")
        return value

    @field_validator("allowed_sources")
    @classmethod
    def _valid_sources(cls, values: list[str]) -> list[str]:
        for value in values:
            cls._valid_event_source(value)
        return values

    @field_validator("allowed_source_accounts", mode="before")
    @classmethod
    def _accounts_list_or_map(cls, value: Any) -> Any:
        value = _json_if_text(value)
        if not isinstance(value, list | dict):
            raise ValueError(
                "use a list of account ids, or a map of account id to the sources it may use"
            )
        return value

    @field_validator("allowed_source_accounts")
    @classmethod
    def _valid_accounts(
        cls, value: list[str] | dict[str, list[str]]
    ) -> list[str] | dict[str, list[str]]:
        bad = [account for account in value if not _ACCOUNT_ID.match(str(account))]
        if bad:
            raise ValueError(f"account ids are 12 digits; not {', '.join(map(str, bad))}")
        for account, sources in value.items() if isinstance(value, dict) else ():
            if not sources:
                raise ValueError(
                    f"{account} may use no source: list its sources, or list the account "
                    "without a map to let it use every allowedSources value"
                )
            invalid = [source for source in sources if not _EVENT_SOURCE.match(source)]
            if invalid:
                raise ValueError(
                    f"{account}: {', '.join(map(repr, invalid))} is not an event source "
                    "(1 to 256 of A-Z a-z 0-9 . _ / -)"
                )
        return value

    @field_validator("maximum_concurrency")
    @classmethod
    def _valid_concurrency(cls, value: int) -> int:
        if not 2 <= value <= 1000:
            raise ValueError(f"AWS requires SQS maximum concurrency from 2 to 1000, got {value}")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _valid_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
            raise ValueError(f"CloudWatch accepts only {allowed}; got {value}")
        return value

    @field_validator("unsubscribe_mailto", "dmarc_report_email")
    @classmethod
    def _valid_optional_address(cls, value: str | None) -> str | None:
        return None if value is None else _email_address(value)

    @field_validator("brand_primary_color", "brand_background_color", "brand_text_color")
    @classmethod
    def _valid_color(cls, value: str) -> str:
        if not _HEX_COLOR.match(value):
            raise ValueError(f"use a hex colour such as #2563eb, got {value!r}")
        return value.lower()

    @field_validator("brand_url", "brand_logo_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value is not None and (
            not value.startswith("https://") or any(c in value for c in " \"'<>")
        ):
            raise ValueError(f"use an https:// URL, got {value!r}")
        return value

    @field_validator("brand_name", "brand_address")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value or "\r" in value):
            raise ValueError("use a single line")
        return value

    @field_validator("hosted_zone_id")
    @classmethod
    def _valid_zone(cls, value: str | None) -> str | None:
        if value is not None and not _HOSTED_ZONE_ID.match(value):
            raise ValueError(
                f"a Route 53 hosted zone id looks like Z0123456789ABCDEFGHIJ, got {value!r}"
            )
        return value

    @field_validator("mail_from_subdomain")
    @classmethod
    def _valid_label(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"use one DNS label (letters, digits, '-'), got {value!r}")
        return value

    @model_validator(mode="after")
    def _account_sources_are_routed(self) -> EngineSettings:
        # The rule routes only allowedSources: a source the bus policy lets an account use but
        # the rule does not route would land in the unmatched log, never in EmailQueue.
        if not self.allowed_sources:
            return self
        for account, sources in self.source_accounts.items():
            unrouted = sorted(set(sources) - set(self.allowed_sources))
            if unrouted:
                raise ValueError(
                    f"allowedSourceAccounts gives {account} {', '.join(map(repr, unrouted))}, "
                    "which allowedSources does not list: its Email Requests would never be sent"
                )
        return self

    @property
    def source_accounts(self) -> dict[str, tuple[str, ...]]:
        """Each other account allowed on the bus → the sources its Email Requests may carry
        (empty: any source, as allowedSources is empty)."""
        if isinstance(self.allowed_source_accounts, dict):
            return {a: tuple(s) for a, s in self.allowed_source_accounts.items()}
        return {account: tuple(self.allowed_sources) for account in self.allowed_source_accounts}

    @model_validator(mode="after")
    def _zone_needs_domain(self) -> EngineSettings:
        if self.hosted_zone_id and not self.sending_domain:
            raise ValueError(
                "hostedZoneId is set without sendingDomain: set the domain whose DNS records "
                "the zone should hold"
            )
        return self

    @property
    def brand_display_name(self) -> str:
        """The brand name templates show: brandName, else defaultSenderName, else the domain."""
        return self.brand_name or self.default_sender_name or self.sender_domain

    @model_validator(mode="after")
    def _sender_within_domain(self) -> EngineSettings:
        if self.sending_domain is None:
            return self
        sender_domain = self.sender_domain
        if sender_domain != self.sending_domain and not sender_domain.endswith(
            "." + self.sending_domain
        ):
            raise ValueError(
                f"defaultSenderEmail {self.default_sender_email!r} is not in sendingDomain "
                f"{self.sending_domain!r}; SES would refuse to send from it"
            )
        return self

    @model_validator(mode="after")
    def _sandbox_rate_fits(self) -> EngineSettings:
        # The sandbox refuses sends above 1 email/s; each sender instance paces itself.
        # Unset, the instances read the sandbox's quota (1/s) from SES and share it.
        if not self.ses_sandbox or self.max_send_rate is None:
            return self
        rate = self.maximum_concurrency * self.max_send_rate
        if self.max_send_rate == 0 or rate > SES_SANDBOX_SEND_RATE:
            most = SES_SANDBOX_SEND_RATE / self.maximum_concurrency
            sent = "unlimited" if self.max_send_rate == 0 else f"{rate:g} emails/s"
            raise ValueError(
                f"sesSandbox is true, and maximumConcurrency ({self.maximum_concurrency}) x "
                f"maxSendRate ({self.max_send_rate:g}) = {sent}: the SES sandbox allows "
                f"{SES_SANDBOX_SEND_RATE:g} email/s, so set maxSendRate to at most {most:g} "
                "(or leave the sandbox and set sesSandbox to false)"
            )
        return self

    @property
    def sender_domain(self) -> str:
        """Domain part of the default sender, the identity SES authorizes sends against."""
        return self.default_sender_email.rsplit("@", 1)[1].lower()

    @property
    def queue_visibility_timeout_seconds(self) -> int:
        # AWS: at least six times the function timeout, plus the batching window.
        return 6 * self.sender_timeout_seconds + self.max_batching_window_seconds

    @property
    def claim_timeout(self) -> int:
        """Seconds after which a `processing` claim counts as abandoned (claimTimeoutSeconds)."""
        if self.claim_timeout_seconds is not None:
            return self.claim_timeout_seconds
        return max(DEFAULT_CLAIM_TIMEOUT_SECONDS, 2 * self.queue_visibility_timeout_seconds)

    @property
    def stuck_after(self) -> int:
        """Minutes after which a `processing` email is stuck (stuckAfterMinutes)."""
        if self.stuck_after_minutes is not None:
            return self.stuck_after_minutes
        return min(MAX_STUCK_AFTER_MINUTES, -(-2 * self.claim_timeout // 60))

    @model_validator(mode="after")
    def _claims_outlive_redelivery(self) -> EngineSettings:
        visibility = self.queue_visibility_timeout_seconds
        if self.claim_timeout <= visibility:
            raise ValueError(
                f"claimTimeoutSeconds ({self.claim_timeout}) must be longer than EmailQueue's "
                f"visibility timeout ({visibility} s = 6 x senderTimeoutSeconds + "
                "maxBatchingWindowSeconds): a redelivered request would find its claim expired "
                "and send again while the first send may still be in flight"
            )
        if self.stuck_after * 60 <= self.claim_timeout:
            raise ValueError(
                f"stuckAfterMinutes ({self.stuck_after}) must be longer than the claim timeout "
                f"({self.claim_timeout} s): a claim still alive is not stuck"
            )
        return self

    @classmethod
    def config_keys(cls) -> dict[str, str]:
        """Stack config key → field name, for every setting."""
        return {to_camel(name): name for name in cls.model_fields}

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> EngineSettings:
        """Build settings from stack config values keyed `sesmailengine:<key>` or `<key>`.

        Raises SettingsError naming every unknown key and every invalid value at once.
        """
        known = cls.config_keys()
        prefix = CONFIG_NAMESPACE + ":"
        raw: dict[str, Any] = {}
        unknown: list[str] = []
        for key, value in values.items():
            bare = key.removeprefix(prefix)
            if ":" in bare:  # another namespace, such as aws:region
                continue
            if bare in known:
                raw[bare] = value
            else:
                # Not passed on: the model would accept a Python name (batch_size) as a key.
                unknown.append(bare)
        unknown_problems = [_unknown_setting(key) for key in sorted(unknown)]
        try:
            settings = cls(**raw)
        except SettingsError as error:
            problems = [*unknown_problems, *error.problems]
            raise SettingsError(problems, source="stack config") from None
        if unknown_problems:
            raise SettingsError(unknown_problems, source="stack config")
        return settings


def _problems(error: ValidationError) -> list[str]:
    """One line per problem: unknown keys first (sorted), then the rest in field order."""
    errors = error.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    return [_unknown_setting(key) for key in unknown] + [
        _describe(e) for e in errors if e["type"] != "extra_forbidden"
    ]


def _unknown_setting(key: str) -> str:
    known = ", ".join(sorted(EngineSettings.config_keys()))
    return f"{CONFIG_NAMESPACE}:{key}: unknown setting (known: {known})"


def _describe(error: Mapping[str, Any]) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:
        # A rule across settings: its message names the keys it involves.
        return message
    first, *rest = (str(part) for part in error["loc"])
    # Settings built in code may use Python names: report the config key either way.
    key = to_camel(first) if first in EngineSettings.model_fields else first
    if error["type"] == "missing":
        message = "required, and not set"
    return f"{CONFIG_NAMESPACE}:{'.'.join([key, *rest])}: {message}"


def stack_config() -> dict[str, Any]:
    """Every config value of the running Pulumi program, keyed `namespace:key`.

    Pulumi passes config either through the runtime's config map or the PULUMI_CONFIG
    environment variable; both are read so unknown keys can be reported, not just ignored.
    """
    from pulumi.runtime import config as runtime_config

    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
