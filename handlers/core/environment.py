"""Each Lambda function's environment, defined once: the component writes it, the handler reads it.

One typed model per function. Fields are snake_case; the environment variable names (a public
contract) are their aliases, spelled here and nowhere else. Defaults and ranges live here too.

- The component builds a model from its resolved settings, ``SenderEnvironment(tracking_table=
  ..., max_send_rate=14.0)``, and writes :meth:`FunctionEnvironment.variables`.
- The handler reads it with ``SenderEnvironment.from_env(os.environ)``, which raises
  :class:`~.errors.ConfigurationError` listing every problem, one line each, by variable name.

Empty values count as unset, on both sides (Lambda cannot tell an empty variable from a
missing one in a console, and the component leaves unset optional values out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .brand import DEFAULT_BACKGROUND_COLOR, DEFAULT_PRIMARY_COLOR, DEFAULT_TEXT_COLOR, Brand
from .errors import ConfigurationError
from .events import DEFAULT_STATUS_EVENT_SOURCE
from .metrics import (
    BRAKE_SERVICE,
    ENGINE_DIMENSION,
    FEEDBACK_SERVICE,
    METRICS_NAMESPACE,
    SENDER_SERVICE,
    STATUS_EVENTS_SERVICE,
    STUCK_SWEEP_SERVICE,
    UNSUBSCRIBE_SERVICE,
)
from .statuses import AmbiguousSendPolicy

DEFAULT_UNSUBSCRIBE_TOKEN_DAYS = 365

# -- the variables, each named once -----------------------------------------------------------

TrackingTable = Annotated[
    str, Field(alias="TRACKING_TABLE", description="EmailTracking table name.")
]
SuppressionTable = Annotated[
    str, Field(alias="SUPPRESSION_TABLE", description="Suppression table name.")
]
EventBusName = Annotated[
    str,
    Field(
        alias="EVENT_BUS_NAME",
        description="The engine's bus: `Email Status Changed` and `Email Request Rejected` events.",
    ),
]
StatusEventSource = Annotated[
    str,
    Field(
        alias="STATUS_EVENT_SOURCE",
        description="`Source` of the events the engine puts on its bus.",
    ),
]
ConfigurationSet = Annotated[
    str,
    Field(
        alias="CONFIGURATION_SET",
        description="SES configuration set every email is sent under.",
    ),
]
_KEY_PARAMETER = Field(
    alias="UNSUBSCRIBE_KEY_PARAMETER",
    description="SSM SecureString holding the unsubscribe links' signing key.",
)
UnsubscribeKeyParameter = Annotated[str, _KEY_PARAMETER]
AmbiguousSendPolicyField = Annotated[
    AmbiguousSendPolicy,
    Field(
        alias="AMBIGUOUS_SEND_POLICY",
        description="What an expired `processing` claim with no recorded send becomes: "
        "`resend` (send it again) or `hold` (status `unknown`, never sent again).",
    ),
]
BrandName = Annotated[
    str | None,
    Field(alias="BRAND_NAME", description="Company or product name shown in mail and pages."),
]


class FunctionEnvironment(BaseModel):
    """What every function's environment holds: the Powertools settings. Subclasses name their
    service in :attr:`SERVICE`, the default of ``service_name``."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    SERVICE: ClassVar[str | None] = None

    service_name: str = Field(
        alias="POWERTOOLS_SERVICE_NAME",
        description="Logger service and the `service` dimension of every metric.",
    )
    metrics_namespace: str = Field(
        METRICS_NAMESPACE,
        alias="POWERTOOLS_METRICS_NAMESPACE",
        description="CloudWatch namespace of the function's EMF metrics.",
    )
    engine_name: str | None = Field(
        None,
        alias="ENGINE_NAME",
        description="The engine the function belongs to (`<name>-<stack>`): the `engine` "
        "dimension of every metric, which the engine's dashboard and alarms select by.",
    )

    @model_validator(mode="before")
    @classmethod
    def _unset_empty_values(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        values = {key: value for key, value in data.items() if value not in (None, "")}
        if cls.SERVICE and not {"service_name", "POWERTOOLS_SERVICE_NAME"} & values.keys():
            values["service_name"] = cls.SERVICE
        return values

    @classmethod
    def variable_name(cls, field: str) -> str:
        """The environment variable a field is read from, for code outside the Lambda that
        must name one (local mode), so the name stays spelled here only."""
        return cls.model_fields[field].alias or field

    def variables(self) -> dict[str, str]:
        """The Lambda environment: variable name → text, unset optional values left out."""
        return {
            field.alias or name: _text(value)
            for name, field in type(self).model_fields.items()
            if (value := getattr(self, name)) is not None
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Read and validate the environment; ConfigurationError lists every problem."""
        try:
            return cls(**_read(cls, env))
        except ValidationError as error:
            raise ConfigurationError(_problems(cls, error)) from None

    @property
    def metric_dimensions(self) -> dict[str, str]:
        """The dimensions every metric carries besides `service` (Powertools' default
        dimensions, which `single_metric` must be given too); none when ENGINE_NAME is unset."""
        return {ENGINE_DIMENSION: self.engine_name} if self.engine_name else {}

    @classmethod
    def powertools(cls, env: Mapping[str, str]) -> FunctionEnvironment:
        """Only the Powertools settings, with this function's defaults: what the module-level
        Logger and Metrics are built from at import time, before the rest is checked."""
        return FunctionEnvironment(
            **{"service_name": cls.SERVICE} | _read(FunctionEnvironment, env)
        )


class SenderEnvironment(FunctionEnvironment):
    """The email sender's environment."""

    SERVICE: ClassVar[str | None] = SENDER_SERVICE

    tracking_table: TrackingTable
    suppression_table: SuppressionTable
    template_bucket: str = Field(
        alias="TEMPLATE_BUCKET", description="Bucket holding `templates/{name}/...`."
    )
    attachment_bucket: str | None = Field(
        None,
        alias="ATTACHMENT_BUCKET",
        description="Bucket the objects named in `detail.attachments` are read from; unset: "
        "a request with attachments fails.",
    )
    configuration_set: ConfigurationSet
    event_bus_name: EventBusName
    status_event_source: StatusEventSource = DEFAULT_STATUS_EVENT_SOURCE
    default_sender_email: str | None = Field(
        None, alias="DEFAULT_SENDER_EMAIL", description="Last fallback for the From address."
    )
    default_sender_name: str | None = Field(
        None, alias="DEFAULT_SENDER_NAME", description="Last fallback for the From display name."
    )
    template_cache_ttl_seconds: float = Field(
        300.0,
        ge=0,
        alias="TEMPLATE_CACHE_TTL_SECONDS",
        description="How long a compiled template is reused before S3 is read again.",
    )
    tracking_ttl_days: int = Field(
        90,
        ge=1,
        alias="TRACKING_TTL_DAYS",
        description="Tracking items expire this many days after creation (DynamoDB TTL).",
    )
    max_send_rate: float | None = Field(
        None,
        ge=0,
        alias="MAX_SEND_RATE",
        description="Emails per second for one function instance; 0 means unlimited. Unset: "
        "the instance finds its rate from the account's SES quota and SES's throttling "
        "(:mod:`.pacing`).",
    )
    maximum_concurrency: int | None = Field(
        None,
        ge=1,
        alias="MAXIMUM_CONCURRENCY",
        description="Most instances of the sender SQS runs at once, which share the account's "
        "SES quota when MAX_SEND_RATE is unset; unset: an instance assumes it is alone.",
    )
    claim_timeout_seconds: int = Field(
        180,
        ge=1,
        alias="CLAIM_TIMEOUT_SECONDS",
        description="Age after which a `processing` claim counts as abandoned.",
    )
    ambiguous_send_policy: AmbiguousSendPolicyField = AmbiguousSendPolicy.RESEND
    email_dead_letter_queue_url: str | None = Field(
        None,
        alias="EMAIL_DEAD_LETTER_QUEUE_URL",
        description="EmailQueue's DLQ, where the sender moves a record that can never succeed "
        "(with a `reason` attribute); unset: such a record is retried until SQS moves it.",
    )
    schedule_group: str | None = Field(
        None,
        alias="SCHEDULE_GROUP",
        description="EventBridge Scheduler group of the one-time schedules holding requests "
        "whose `sendAt` is ahead; unset: such a request fails.",
    )
    scheduler_role_arn: str | None = Field(
        None,
        alias="SCHEDULER_ROLE_ARN",
        description="Role the schedules use to put a request back on EmailQueue.",
    )
    email_queue_arn: str | None = Field(
        None, alias="EMAIL_QUEUE_ARN", description="EmailQueue: where a schedule puts its request."
    )
    email_dead_letter_queue_arn: str | None = Field(
        None,
        alias="EMAIL_DEAD_LETTER_QUEUE_ARN",
        description="EmailQueue's DLQ: where a schedule puts a request it could not deliver.",
    )
    brand_name: BrandName = None
    brand_url: str | None = Field(
        None, alias="BRAND_URL", description="Website, linked from the logo and footer."
    )
    brand_logo_url: str | None = Field(
        None, alias="BRAND_LOGO_URL", description="HTTPS URL of the logo image."
    )
    brand_address: str | None = Field(
        None, alias="BRAND_ADDRESS", description="Postal address for the footer."
    )
    brand_primary_color: str = Field(
        DEFAULT_PRIMARY_COLOR, alias="BRAND_PRIMARY_COLOR", description="Buttons and links."
    )
    brand_background_color: str = Field(
        DEFAULT_BACKGROUND_COLOR,
        alias="BRAND_BACKGROUND_COLOR",
        description="Page background around the card.",
    )
    brand_text_color: str = Field(
        DEFAULT_TEXT_COLOR, alias="BRAND_TEXT_COLOR", description="Body text."
    )
    unsubscribe_url: str | None = Field(
        None,
        alias="UNSUBSCRIBE_URL",
        description="The unsubscribe endpoint's HTTPS URL; unset: marketing mail cannot be sent.",
    )
    unsubscribe_key_parameter: Annotated[str | None, _KEY_PARAMETER] = None
    unsubscribe_mailto: str | None = Field(
        None,
        alias="UNSUBSCRIBE_MAILTO",
        description="Mailbox for `mailto:` unsubscribes; unset: HTTPS only.",
    )
    unsubscribe_token_days: int | None = Field(
        None,
        ge=1,
        alias="UNSUBSCRIBE_TOKEN_DAYS",
        description="How long an unsubscribe link keeps working "
        f"({DEFAULT_UNSUBSCRIBE_TOKEN_DAYS} when UNSUBSCRIBE_URL is set).",
    )

    @model_validator(mode="before")
    @classmethod
    def _unsubscribe_defaults(cls, data: Any) -> Any:
        """Links last :data:`DEFAULT_UNSUBSCRIBE_TOKEN_DAYS` unless told otherwise (and the
        variable is written only when there are links)."""
        if (
            isinstance(data, dict)
            and _given(data, cls, "unsubscribe_url")
            and not _given(data, cls, "unsubscribe_token_days")
        ):
            return data | {"unsubscribe_token_days": DEFAULT_UNSUBSCRIBE_TOKEN_DAYS}
        return data

    @field_validator("unsubscribe_url")
    @classmethod
    def _https(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith("https://"):
            message = f"UNSUBSCRIBE_URL must be an https:// URL, got {url!r}"
            raise PydanticCustomError("environment", message)
        return url

    @model_validator(mode="after")
    def _scheduling_complete(self) -> Self:
        if self.schedule_group is not None and None in (
            self.scheduler_role_arn,
            self.email_queue_arn,
        ):
            raise PydanticCustomError(
                "environment", "SCHEDULE_GROUP needs SCHEDULER_ROLE_ARN and EMAIL_QUEUE_ARN"
            )
        return self

    @model_validator(mode="after")
    def _unsubscribe_complete(self) -> Self:
        if self.unsubscribe_url is not None and self.unsubscribe_key_parameter is None:
            raise PydanticCustomError(
                "environment", "UNSUBSCRIBE_URL is set but UNSUBSCRIBE_KEY_PARAMETER is not"
            )
        return self

    @property
    def brand(self) -> Brand:
        """Brand settings for every render."""
        return Brand(
            name=self.brand_name or "",
            url=self.brand_url,
            logo_url=self.brand_logo_url,
            address=self.brand_address,
            primary_color=self.brand_primary_color,
            background_color=self.brand_background_color,
            text_color=self.brand_text_color,
        )

    @property
    def scheduling(self) -> ScheduledSends | None:
        """Where requests with a future ``sendAt`` wait; None: such requests fail."""
        if self.schedule_group is None or None in (self.scheduler_role_arn, self.email_queue_arn):
            return None
        return ScheduledSends(
            group=self.schedule_group,
            role_arn=self.scheduler_role_arn or "",
            queue_arn=self.email_queue_arn or "",
            dead_letter_queue_arn=self.email_dead_letter_queue_arn,
        )

    @property
    def unsubscribe(self) -> UnsubscribeLinks | None:
        """One-click unsubscribe for marketing templates; None: marketing mail cannot be sent."""
        if self.unsubscribe_url is None or self.unsubscribe_key_parameter is None:
            return None
        return UnsubscribeLinks(
            url=self.unsubscribe_url,
            key_parameter=self.unsubscribe_key_parameter,
            mailto=self.unsubscribe_mailto,
            token_days=self.unsubscribe_token_days or DEFAULT_UNSUBSCRIBE_TOKEN_DAYS,
        )


@dataclass(frozen=True)
class UnsubscribeLinks:
    """Where marketing mail's unsubscribe links point, and how they are signed."""

    url: str
    key_parameter: str
    mailto: str | None
    token_days: int


@dataclass(frozen=True)
class ScheduledSends:
    """The one-time schedules that hold requests until their ``sendAt``."""

    group: str
    role_arn: str
    queue_arn: str
    dead_letter_queue_arn: str | None


class FeedbackEnvironment(FunctionEnvironment):
    """The feedback processor's environment."""

    SERVICE: ClassVar[str | None] = FEEDBACK_SERVICE

    tracking_table: TrackingTable
    suppression_table: SuppressionTable
    soft_bounce_threshold: int = Field(
        3,
        ge=1,
        alias="SOFT_BOUNCE_THRESHOLD",
        description="Consecutive soft bounces that suppress an address.",
    )


class StatusEventsEnvironment(FunctionEnvironment):
    """The status-events function's environment (it reads the tracking table's stream)."""

    SERVICE: ClassVar[str | None] = STATUS_EVENTS_SERVICE

    event_bus_name: EventBusName
    status_event_source: StatusEventSource = DEFAULT_STATUS_EVENT_SOURCE


class SweepEnvironment(FunctionEnvironment):
    """The stuck-email sweep's environment."""

    SERVICE: ClassVar[str | None] = STUCK_SWEEP_SERVICE

    tracking_table: TrackingTable
    stuck_after_minutes: int = Field(
        60,
        ge=1,
        le=1440,
        alias="STUCK_AFTER_MINUTES",
        description="Age of the last claim after which a `processing` email is stuck.",
    )
    ambiguous_send_policy: AmbiguousSendPolicyField = AmbiguousSendPolicy.RESEND


class UnsubscribeEnvironment(FunctionEnvironment):
    """The unsubscribe endpoint's environment."""

    SERVICE: ClassVar[str | None] = UNSUBSCRIBE_SERVICE

    suppression_table: SuppressionTable
    unsubscribe_key_parameter: UnsubscribeKeyParameter
    unsubscribe_previous_key_parameter: str | None = Field(
        None,
        alias="UNSUBSCRIBE_PREVIOUS_KEY_PARAMETER",
        description="SSM SecureString holding the key before the last rotation, which still "
        "verifies the links it signed (`none` before the first rotation); unset: no previous key.",
    )
    brand_name: BrandName = None
    marketing_topics: str | None = Field(
        None,
        alias="MARKETING_TOPICS",
        pattern=r"^[A-Za-z0-9_.-]{1,64}(,[A-Za-z0-9_.-]{1,64})*$",
        description="Comma-separated topics of the marketing templates `pulumi up` uploads: "
        "the preferences page offers each; unset: only the link's own topic and those the "
        "address already left.",
    )

    @property
    def topics(self) -> tuple[str, ...]:
        """``MARKETING_TOPICS`` as a tuple."""
        return tuple(self.marketing_topics.split(",")) if self.marketing_topics else ()


class BrakeEnvironment(FunctionEnvironment):
    """The sending brake's environment."""

    SERVICE: ClassVar[str | None] = BRAKE_SERVICE

    configuration_set: ConfigurationSet
    sender_event_source_mapping_uuid: str = Field(
        alias="SENDER_EVENT_SOURCE_MAPPING_UUID",
        description="The sender's SQS trigger, paused while the brake is engaged.",
    )


# -- helpers ----------------------------------------------------------------------------------


def _read(model: type[BaseModel], env: Mapping[str, str]) -> dict[str, str]:
    """The model's variables present in ``env``, by field name."""
    return {
        name: env[field.alias]
        for name, field in model.model_fields.items()
        if field.alias and env.get(field.alias)
    }


def _given(data: Mapping[str, Any], model: type[BaseModel], name: str) -> bool:
    alias = model.model_fields[name].alias
    return any(data.get(key) not in (None, "") for key in (name, alias))


def _text(value: Any) -> str:
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


def _problems(model: type[BaseModel], error: ValidationError) -> str:
    lines = []
    for problem in error.errors(include_url=False):
        where = problem["loc"][0] if problem["loc"] else None
        field = model.model_fields.get(str(where))
        name = (field.alias if field else None) or where
        if problem["type"] == "environment" or name is None:
            lines.append(problem["msg"])
        elif problem["type"] == "missing":
            lines.append(f"{name}: missing")
        else:
            lines.append(f"{name}: {problem['msg']} (got {problem['input']!r})")
    return "invalid environment:\n" + "\n".join(f"  {line}" for line in lines)
