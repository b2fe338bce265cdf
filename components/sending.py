"""Sending: the SES configuration set and identity (with its DNS records when a Route 53 zone is
configured), and the sender Lambda fed by EmailQueue."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .function import FunctionDefaults, LambdaFunction, LambdaFunctionArgs, function_environment
from .handlers.core.environment import SenderEnvironment
from .handlers.core.events import EMAIL_REQUEST_REJECTED
from .handlers.core.statuses import AmbiguousSendPolicy
from .naming import Named, SharedState, child_options, component_type, invoke_options
from .policies import only_events

SENDER_HANDLER = "handlers.email_sender.handler"
DNS_TTL_SECONDS = 1800
EASY_DKIM_TOKENS = 3
"""SES Easy DKIM always gives three tokens, so three CNAME records."""
CONFIGURATION_SET_BRAKE_SWITCH = "sending_options"
SENDER_TRIGGER_BRAKE_SWITCH = "enabled"
"""The two inputs the sending brake (`monitoring.py`) turns off at run time. Pulumi creates
both switched on and then leaves them to the brake (`ignore_changes`): after `pulumi refresh`
(or `up --refresh`) the state holds the brake's "off", and the next `up` would otherwise see
drift and switch sending back on before anyone released the brake. Only `sesmail brake
release` (or the brake Lambda's `release`) turns them on again."""


@dataclass(frozen=True)
class SenderTuning:
    """How the sender function runs and how it is fed."""

    memory_mb: int
    """Memory of the sender function."""
    timeout_seconds: int
    """Timeout of the sender function."""
    batch_size: int
    """SQS messages per invocation."""
    max_batching_window_seconds: int
    """How long SQS gathers a batch; 0 invokes as soon as messages arrive."""
    maximum_concurrency: int
    """Most sender instances SQS runs at once."""
    max_send_rate: float | None
    """Emails per second per sender instance; 0 means unlimited; None: each instance finds
    its rate from the account's SES quota and SES's throttling."""
    claim_timeout_seconds: int
    """Age after which a `processing` claim belongs to a crashed invocation: longer than
    EmailQueue's visibility timeout, so a redelivered request meets the live claim."""
    ambiguous_send_policy: AmbiguousSendPolicy
    """What an abandoned claim with no recorded send becomes: sent again, or `unknown`."""
    template_cache_seconds: int
    """How long a sender instance reuses a compiled template."""
    tracking_ttl_days: int
    """Days a tracking item lives before DynamoDB expires it."""


@dataclass(frozen=True)
class Sender:
    """Who emails come from when neither the request nor the template says."""

    email: str
    """Default From address."""
    name: str | None
    """Default From display name; None sends the bare address."""
    domain: str
    """Domain of `email`, the identity SES authorizes sends against when no sending domain
    is configured (verified outside this stack)."""


@dataclass(frozen=True)
class SendingDomain:
    """A domain this stack makes an SES identity (Easy DKIM)."""

    name: str
    """The domain, e.g. `mail.example.com`."""
    hosted_zone_id: str | None
    """Its Route 53 zone: with one, the DKIM, MAIL FROM and DMARC records are published."""
    mail_from_subdomain: str
    """The custom MAIL FROM domain is `<this>.<name>` (with a zone)."""
    dmarc_policy: str
    """`none`, `quarantine` or `reject` (with a zone)."""
    dmarc_report_email: str | None
    """Receives DMARC aggregate reports (with a zone); None asks for none."""


@dataclass(frozen=True)
class Brand:
    """What the shared layouts show; None or empty values are left out of the environment."""

    name: str
    """Display name: brandName, else the default sender's name, else its domain."""
    url: str | None
    """Website linked from the logo and footer."""
    logo_url: str | None
    """HTTPS URL of the logo image."""
    address: str | None
    """Postal address in the footer."""
    primary_color: str
    """Buttons and links."""
    background_color: str
    """Page background."""
    text_color: str
    """Body text."""


@dataclass(frozen=True)
class UnsubscribeLinks:
    """The one-click unsubscribe endpoint marketing mail links to, and how links are signed."""

    url: pulumi.Input[str]
    """The endpoint's HTTPS URL."""
    key_parameter_name: pulumi.Input[str]
    """SSM parameter holding the key that signs unsubscribe links."""
    key_parameter_arn: pulumi.Input[str]
    """Its ARN, which the sender may read."""
    token_days: int
    """Days a link keeps working."""
    mailto: str | None
    """Mailbox added as a `mailto:` target; None offers HTTPS only."""


@dataclass(frozen=True)
class EmailDeadLetterQueue:
    """EmailQueue's dead-letter queue, as the sender uses it."""

    url: pulumi.Input[str]
    """Where the sender sends (environment)."""
    arn: pulumi.Input[str]
    """What the sender may send to (IAM)."""


@dataclass(frozen=True)
class ScheduleTarget:
    """The one-time schedules the sender creates for requests with a future `sendAt`."""

    group_name: pulumi.Input[str]
    """Their schedule group (environment)."""
    schedules_arn: pulumi.Input[str]
    """The ARN pattern of the group's schedules: the only ones the sender may create (IAM)."""
    role_arn: pulumi.Input[str]
    """The role the schedules put the request back on EmailQueue with (passed to Scheduler)."""


@dataclass
class SendingArgs:
    functions: FunctionDefaults
    """Code and log settings of the sender function."""
    tuning: SenderTuning
    """Memory, timeout, batching, concurrency, rates and caches of the sender."""
    configuration_set_name: str
    """Name of the SES configuration set every email is sent under."""
    sender: Sender
    """The default sender."""
    domain: SendingDomain | None
    """The domain to create as an SES identity; None relies on the default sender's domain
    being verified already."""
    brand: Brand
    """Brand settings every render uses."""
    queue_arn: pulumi.Input[str]
    """EmailQueue, which feeds the sender."""
    dead_letter_queue: EmailDeadLetterQueue
    """EmailQueue's DLQ, where the sender moves records that can never succeed."""
    event_source: str
    """`source` of the `Email Request Rejected` events the sender puts on the bus."""
    state: SharedState
    """The tables and the bus."""
    template_bucket: Named
    """The bucket holding `templates/<name>/...`."""
    attachment_bucket: Named | None = None
    """The bucket the objects that requests attach are read from; None: requests with
    attachments fail."""
    unsubscribe: UnsubscribeLinks | None = None
    """One-click unsubscribe; without it marketing templates cannot be sent."""
    schedules: ScheduleTarget | None = None
    """Scheduled sends; without them a request whose `sendAt` is ahead fails."""
    ses_sandbox: bool = False
    """The account's SES is in the sandbox, where SES also authorizes each send against the
    verified recipient's identity: the sender may then use any identity of the account, but
    only from its own From addresses."""


class Sending(pulumi.ComponentResource):
    """Turns queued Email Requests into SES sends."""

    configuration_set_name: pulumi.Output[str]
    configuration_set_arn: pulumi.Output[str]
    sender_function_name: pulumi.Output[str]
    sender_function_arn: pulumi.Output[str]
    sender_log_group_name: pulumi.Output[str]
    event_source_mapping_uuid: pulumi.Output[str]
    event_source_mapping_arn: pulumi.Output[str]
    dkim_tokens: pulumi.Output[list[str]]
    mail_from_domain: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: SendingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("Sending"), name, {}, opts)
        self._name = name
        tuning = args.tuning

        configuration_set = aws.sesv2.ConfigurationSet(
            f"{name}-configuration-set",
            configuration_set_name=args.configuration_set_name,
            reputation_options={"reputation_metrics_enabled": True},
            sending_options={"sending_enabled": True},
            opts=child_options(self, ignore_changes=[CONFIGURATION_SET_BRAKE_SWITCH]),
        )
        dkim_tokens: pulumi.Output[list[str]] = pulumi.Output.from_input([])
        mail_from_domain: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.domain is not None:
            identity = aws.sesv2.EmailIdentity(
                f"{name}-domain-identity",
                email_identity=args.domain.name,
                # Easy DKIM: SES generates and rotates the keys; publish the three CNAMEs.
                dkim_signing_attributes={"next_signing_key_length": "RSA_2048_BIT"},
                configuration_set_name=configuration_set.configuration_set_name,
                opts=child_options(self),
            )
            dkim_tokens = identity.dkim_signing_attributes.apply(
                lambda attributes: list((attributes and attributes.tokens) or [])
            )
            if args.domain.hosted_zone_id:
                mail_from_domain = self._authenticate_domain(args.domain, identity, dkim_tokens)

        sender = LambdaFunction(
            f"{name}-sender",
            LambdaFunctionArgs(
                defaults=args.functions,
                handler=SENDER_HANDLER,
                description="sesmailengine: sends queued Email Requests through SES",
                memory_mb=tuning.memory_mb,
                timeout_seconds=tuning.timeout_seconds,
                environment=_environment(args, configuration_set),
                policy_statements=_policy(args, configuration_set),
            ),
            opts=child_options(self),
        )
        mapping = aws.lambda_.EventSourceMapping(
            f"{name}-sender-trigger",
            event_source_arn=args.queue_arn,
            function_name=sender.function_arn,
            enabled=True,
            batch_size=tuning.batch_size,
            maximum_batching_window_in_seconds=tuning.max_batching_window_seconds or None,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": tuning.maximum_concurrency},
            opts=child_options(self, ignore_changes=[SENDER_TRIGGER_BRAKE_SWITCH]),
        )

        self.configuration_set_name = configuration_set.configuration_set_name
        self.configuration_set_arn = configuration_set.arn
        self.sender_function_name = sender.function_name
        self.sender_function_arn = sender.function_arn
        self.sender_log_group_name = sender.log_group_name
        self.event_source_mapping_uuid = mapping.uuid
        self.event_source_mapping_arn = mapping.arn
        self.dkim_tokens = dkim_tokens
        self.mail_from_domain = mail_from_domain
        self.register_outputs(
            {
                "configuration_set_name": self.configuration_set_name,
                "sender_function_name": self.sender_function_name,
                "dkim_tokens": self.dkim_tokens,
                "mail_from_domain": self.mail_from_domain,
            }
        )

    def _authenticate_domain(
        self,
        domain: SendingDomain,
        identity: aws.sesv2.EmailIdentity,
        dkim_tokens: pulumi.Output[list[str]],
    ) -> pulumi.Output[str | None]:
        """DKIM, SPF (through a custom MAIL FROM domain) and DMARC for the domain, as
        records in its Route 53 zone."""
        name, zone = self._name, domain.hosted_zone_id

        def record(role: str, **kwargs: object) -> aws.route53.Record:
            return aws.route53.Record(
                f"{name}-{role}",
                zone_id=zone,
                ttl=DNS_TTL_SECONDS,
                opts=child_options(self),
                **kwargs,
            )

        # Easy DKIM: <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com
        for index in range(EASY_DKIM_TOKENS):
            token = dkim_tokens.apply(lambda tokens, i=index: tokens[i])
            record(
                f"dkim-{index + 1}",
                name=token.apply(lambda t: f"{t}._domainkey.{domain.name}"),
                type="CNAME",
                records=[token.apply(lambda t: f"{t}.dkim.amazonses.com")],
            )

        # Custom MAIL FROM: bounces go to <sub>.<domain>, whose SPF authorises SES, so SPF
        # passes aligned with the From domain (DMARC).
        mail_from = f"{domain.mail_from_subdomain}.{domain.name}"
        region = aws.get_region_output(opts=invoke_options(self)).region
        record(
            "mail-from-mx",
            name=mail_from,
            type="MX",
            records=[region.apply(lambda r: f"10 feedback-smtp.{r}.amazonses.com")],
        )
        record(
            "mail-from-spf",
            name=mail_from,
            type="TXT",
            records=["v=spf1 include:amazonses.com ~all"],
        )
        attributes = aws.sesv2.EmailIdentityMailFromAttributes(
            f"{name}-mail-from",
            email_identity=identity.email_identity,
            mail_from_domain=mail_from,
            # Until the MX record resolves, SES falls back to amazonses.com instead of failing.
            behavior_on_mx_failure="USE_DEFAULT_VALUE",
            opts=child_options(self),
        )

        dmarc = f"v=DMARC1; p={domain.dmarc_policy}"
        if domain.dmarc_report_email:
            dmarc += f"; rua=mailto:{domain.dmarc_report_email}"
        record("dmarc", name=f"_dmarc.{domain.name}", type="TXT", records=[dmarc])
        return attributes.mail_from_domain


def _environment(
    args: SendingArgs, configuration_set: aws.sesv2.ConfigurationSet
) -> pulumi.Output[dict[str, str]]:
    tuning, sender, brand, unsubscribe = args.tuning, args.sender, args.brand, args.unsubscribe
    return function_environment(
        SenderEnvironment,
        args.functions,
        tracking_table=args.state.tracking_table.name,
        suppression_table=args.state.suppression_table.name,
        template_bucket=args.template_bucket.name,
        attachment_bucket=args.attachment_bucket.name if args.attachment_bucket else None,
        configuration_set=configuration_set.configuration_set_name,
        event_bus_name=args.state.bus.name,
        status_event_source=args.event_source,
        email_dead_letter_queue_url=args.dead_letter_queue.url,
        **(
            {
                "schedule_group": args.schedules.group_name,
                "scheduler_role_arn": args.schedules.role_arn,
                "email_queue_arn": args.queue_arn,
                "email_dead_letter_queue_arn": args.dead_letter_queue.arn,
            }
            if args.schedules is not None
            else {}
        ),
        default_sender_email=sender.email,
        default_sender_name=sender.name,
        template_cache_ttl_seconds=tuning.template_cache_seconds,
        tracking_ttl_days=tuning.tracking_ttl_days,
        max_send_rate=tuning.max_send_rate,
        maximum_concurrency=tuning.maximum_concurrency,
        claim_timeout_seconds=tuning.claim_timeout_seconds,
        ambiguous_send_policy=tuning.ambiguous_send_policy,
        brand_name=brand.name,
        brand_url=brand.url,
        brand_logo_url=brand.logo_url,
        brand_address=brand.address,
        brand_primary_color=brand.primary_color,
        brand_background_color=brand.background_color,
        brand_text_color=brand.text_color,
        **(
            {
                "unsubscribe_url": unsubscribe.url,
                "unsubscribe_key_parameter": unsubscribe.key_parameter_name,
                "unsubscribe_token_days": unsubscribe.token_days,
                "unsubscribe_mailto": unsubscribe.mailto,
            }
            if unsubscribe is not None
            else {}
        ),
    )


def _policy(
    args: SendingArgs, configuration_set: aws.sesv2.ConfigurationSet
) -> list[pulumi.Input[dict[str, object]]]:
    # The configured domain (or the default sender's domain, verified outside this stack)
    # and the default sender address are the only identities the sender may use.
    domain = args.domain.name if args.domain is not None else args.sender.domain
    identities = sorted({domain, args.sender.email})
    # Identity ARNs share the configuration set's partition, region and account.
    identity_arn = configuration_set.arn.apply(
        lambda arn: arn.split(":configuration-set/")[0] + ":identity/"
    )
    ses_resources = pulumi.Output.all(configuration_set.arn, identity_arn).apply(
        lambda arns: [arns[0], *(arns[1] + i for i in identities)]
    )
    statements: list[pulumi.Input[dict[str, object]]] = [
        {
            "Sid": "SendThroughConfigurationSet",
            "Effect": "Allow",
            "Action": "ses:SendEmail",
            "Resource": ses_resources,
        },
        {
            # With maxSendRate unset, each instance paces from the account's SES quota.
            # GetAccount has no resource: IAM accepts only "*".
            "Sid": "ReadSendingQuota",
            "Effect": "Allow",
            "Action": "ses:GetAccount",
            "Resource": "*",
        },
        {
            # Claims and outcomes are conditional updates, alone or in TransactWriteItems
            # (which IAM authorizes with the action of each item: UpdateItem).
            "Sid": "ClaimAndTrackEmails",
            "Effect": "Allow",
            "Action": "dynamodb:UpdateItem",
            "Resource": args.state.tracking_table.arn,
        },
        {
            # One BatchGetItem looks up every recipient of a batch.
            "Sid": "ReadSuppressionList",
            "Effect": "Allow",
            "Action": "dynamodb:BatchGetItem",
            "Resource": args.state.suppression_table.arn,
        },
        {
            "Sid": "ReadTemplates",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": pulumi.Output.concat(args.template_bucket.arn, "/templates/*"),
        },
        {
            # Without list permission S3 answers a missing template with 403, which
            # the sender could not tell apart from a real permission problem.
            "Sid": "TellMissingTemplatesApart",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": args.template_bucket.arn,
            "Condition": {"StringLike": {"s3:prefix": "templates/*"}},
        },
        {
            # What Lambda's poller does with the function's role.
            "Sid": "ConsumeEmailQueue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": args.queue_arn,
        },
        {
            # The sender backs off a retried record (ChangeMessageVisibilityBatch).
            "Sid": "DelayRetriedRecords",
            "Effect": "Allow",
            "Action": "sqs:ChangeMessageVisibility",
            "Resource": args.queue_arn,
        },
        {
            # Records that can never succeed (untrackable bodies) go there at once.
            "Sid": "MoveUnusableRecordsToDeadLetterQueue",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": args.dead_letter_queue.arn,
        },
        {
            # Only the sender's own detail-type: it may refuse a request, not forge the
            # status events (the status-events function puts those) or Email Requests.
            "Sid": "PublishRequestRejections",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": args.state.bus.arn,
            "Condition": only_events(EMAIL_REQUEST_REJECTED, args.event_source),
        },
    ]
    if args.attachment_bucket is not None:
        statements.extend(_attachment_statements(args.attachment_bucket))
    if args.ses_sandbox:
        statements.append(_sandbox_recipients_statement(args, domain, identity_arn))
    if args.schedules is not None:
        statements += _scheduling_statements(args.schedules)
    if args.unsubscribe is not None:
        statements.append(
            {
                "Sid": "ReadUnsubscribeSigningKey",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": args.unsubscribe.key_parameter_arn,
            }
        )
    return statements


def _attachment_statements(bucket: Named) -> list[pulumi.Input[dict[str, object]]]:
    return [
        {
            # Each attachment's size (HeadObject) before the claim, its content to send it.
            "Sid": "ReadAttachments",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": pulumi.Output.concat(bucket.arn, "/*"),
        },
        {
            # So a key that is not there is a clear 404 ("attachment not found"), not a 403.
            "Sid": "TellMissingAttachmentsApart",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket.arn,
        },
    ]


def _scheduling_statements(schedules: ScheduleTarget) -> list[pulumi.Input[dict[str, object]]]:
    """A request whose `sendAt` is ahead gets a one-time schedule in the engine's group, which
    runs with the schedules' role: the sender may pass that role, to Scheduler only."""
    return [
        {
            "Sid": "ScheduleLaterSends",
            "Effect": "Allow",
            "Action": "scheduler:CreateSchedule",
            "Resource": schedules.schedules_arn,
        },
        {
            "Sid": "PassTheSchedulesRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": schedules.role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        },
    ]


def _sandbox_recipients_statement(
    args: SendingArgs, domain: str, identity_arn: pulumi.Output[str]
) -> dict[str, object]:
    """In the SES sandbox every recipient must be a verified identity, and SES authorizes
    the send against that identity too: a recipient verified in another domain needs its own
    resource. Any identity of the account, but only for mail from the sender's own addresses
    (`ses:FromAddress` is the message's From address), so the grant lends no identity to
    another From address than the ones the first statement allows."""
    from_addresses = [f"*@{domain}"]
    if not args.sender.email.endswith(f"@{domain}"):
        # A default sender in a subdomain of the sending domain.
        from_addresses.append(args.sender.email)
    return {
        "Sid": "SendToSandboxRecipients",
        "Effect": "Allow",
        "Action": "ses:SendEmail",
        "Resource": identity_arn.apply(lambda prefix: prefix + "*"),
        "Condition": {"StringLike": {"ses:FromAddress": from_addresses}},
    }
