"""Sending: the SES configuration set and identity (with its DNS records when a Route 53 zone is
configured), and the sender Lambda fed by EmailQueue."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .function import LambdaCode, LambdaFunction, LambdaFunctionArgs
from .naming import METRICS_NAMESPACE, Named, SharedState, component_type
from .settings import EngineSettings

SENDER_HANDLER = "handlers.email_sender.handler"
DNS_TTL_SECONDS = 1800
EASY_DKIM_TOKENS = 3
"""SES Easy DKIM always gives three tokens, so three CNAME records."""


@dataclass
class SendingArgs:
    settings: EngineSettings
    """Sender tunables: timeout, memory, batching, concurrency, rates, log settings."""
    code: LambdaCode
    """Function archive and dependency layer."""
    configuration_set_name: str
    """Name of the SES configuration set every email is sent under."""
    queue_arn: pulumi.Input[str]
    """EmailQueue, which feeds the sender."""
    state: SharedState
    """The tables and the bus."""
    template_bucket: Named
    unsubscribe_url: pulumi.Input[str] | None = None
    """The one-click unsubscribe endpoint; without it marketing templates cannot be sent."""
    unsubscribe_key_parameter_name: pulumi.Input[str] | None = None
    """SSM parameter holding the key that signs unsubscribe links."""
    unsubscribe_key_parameter_arn: pulumi.Input[str] | None = None


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
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)

        configuration_set = aws.sesv2.ConfigurationSet(
            f"{name}-configuration-set",
            configuration_set_name=args.configuration_set_name,
            reputation_options={"reputation_metrics_enabled": True},
            sending_options={"sending_enabled": True},
            opts=child,
        )
        dkim_tokens: pulumi.Output[list[str]] = pulumi.Output.from_input([])
        mail_from_domain: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if settings.sending_domain:
            identity = aws.sesv2.EmailIdentity(
                f"{name}-domain-identity",
                email_identity=settings.sending_domain,
                # Easy DKIM: SES generates and rotates the keys; publish the three CNAMEs.
                dkim_signing_attributes={"next_signing_key_length": "RSA_2048_BIT"},
                configuration_set_name=configuration_set.configuration_set_name,
                opts=child,
            )
            dkim_tokens = identity.dkim_signing_attributes.apply(
                lambda attributes: list((attributes and attributes.tokens) or [])
            )
            if settings.hosted_zone_id:
                mail_from_domain = self._authenticate_domain(name, settings, identity, dkim_tokens)

        sender = LambdaFunction(
            f"{name}-sender",
            LambdaFunctionArgs(
                code=args.code,
                handler=SENDER_HANDLER,
                description="sesmailengine: sends queued Email Requests through SES",
                memory_mb=settings.sender_memory_mb,
                timeout_seconds=settings.sender_timeout_seconds,
                log_retention_days=settings.log_retention_days,
                log_level=settings.log_level,
                environment=self._environment(args, configuration_set),
                policy_statements=self._policy(args, configuration_set),
            ),
            opts=child,
        )
        mapping = aws.lambda_.EventSourceMapping(
            f"{name}-sender-trigger",
            event_source_arn=args.queue_arn,
            function_name=sender.function_arn,
            batch_size=settings.batch_size,
            maximum_batching_window_in_seconds=settings.max_batching_window_seconds or None,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": settings.maximum_concurrency},
            opts=child,
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
        name: str,
        settings: EngineSettings,
        identity: aws.sesv2.EmailIdentity,
        dkim_tokens: pulumi.Output[list[str]],
    ) -> pulumi.Output[str | None]:
        """DKIM, SPF (through a custom MAIL FROM domain) and DMARC for sendingDomain, as
        records in its Route 53 zone."""
        domain = settings.sending_domain
        zone = settings.hosted_zone_id
        assert domain is not None and zone is not None
        child = pulumi.ResourceOptions(parent=self)

        def record(role: str, **kwargs: object) -> aws.route53.Record:
            return aws.route53.Record(
                f"{name}-{role}", zone_id=zone, ttl=DNS_TTL_SECONDS, opts=child, **kwargs
            )

        # Easy DKIM: <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com
        for index in range(EASY_DKIM_TOKENS):
            token = dkim_tokens.apply(lambda tokens, i=index: tokens[i])
            record(
                f"dkim-{index + 1}",
                name=token.apply(lambda t: f"{t}._domainkey.{domain}"),
                type="CNAME",
                records=[token.apply(lambda t: f"{t}.dkim.amazonses.com")],
            )

        # Custom MAIL FROM: bounces go to <sub>.<domain>, whose SPF authorises SES, so SPF
        # passes aligned with the From domain (DMARC).
        mail_from = f"{settings.mail_from_subdomain}.{domain}"
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
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
            opts=child,
        )

        dmarc = f"v=DMARC1; p={settings.dmarc_policy}"
        if settings.dmarc_report_email:
            dmarc += f"; rua=mailto:{settings.dmarc_report_email}"
        record("dmarc", name=f"_dmarc.{domain}", type="TXT", records=[dmarc])
        return attributes.mail_from_domain

    @staticmethod
    def _environment(
        args: SendingArgs, configuration_set: aws.sesv2.ConfigurationSet
    ) -> dict[str, pulumi.Input[str]]:
        settings = args.settings
        environment: dict[str, pulumi.Input[str]] = {
            "TRACKING_TABLE": args.state.tracking_table.name,
            "SUPPRESSION_TABLE": args.state.suppression_table.name,
            "TEMPLATE_BUCKET": args.template_bucket.name,
            "DEFAULT_SENDER_EMAIL": settings.default_sender_email,
            "CONFIGURATION_SET": configuration_set.configuration_set_name,
            "EVENT_BUS_NAME": args.state.bus.name,
            "TEMPLATE_CACHE_TTL_SECONDS": str(settings.template_cache_seconds),
            "TRACKING_TTL_DAYS": str(settings.tracking_ttl_days),
            "STATUS_EVENT_SOURCE": settings.status_event_source,
            "MAX_SEND_RATE": f"{settings.max_send_rate:g}",
            # A claim older than one visibility timeout belongs to a crashed invocation.
            "CLAIM_TIMEOUT_SECONDS": str(settings.queue_visibility_timeout_seconds),
            "POWERTOOLS_SERVICE_NAME": "email-sender",
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        if settings.default_sender_name:
            environment["DEFAULT_SENDER_NAME"] = settings.default_sender_name
        brand = {
            "BRAND_NAME": settings.brand_display_name,
            "BRAND_URL": settings.brand_url,
            "BRAND_LOGO_URL": settings.brand_logo_url,
            "BRAND_ADDRESS": settings.brand_address,
            "BRAND_PRIMARY_COLOR": settings.brand_primary_color,
            "BRAND_BACKGROUND_COLOR": settings.brand_background_color,
            "BRAND_TEXT_COLOR": settings.brand_text_color,
        }
        environment.update({key: value for key, value in brand.items() if value})
        if args.unsubscribe_url is not None:
            environment["UNSUBSCRIBE_URL"] = args.unsubscribe_url
            environment["UNSUBSCRIBE_KEY_PARAMETER"] = args.unsubscribe_key_parameter_name or ""
            environment["UNSUBSCRIBE_TOKEN_DAYS"] = str(settings.unsubscribe_link_days)
            if settings.unsubscribe_mailto:
                environment["UNSUBSCRIBE_MAILTO"] = settings.unsubscribe_mailto
        return environment

    @staticmethod
    def _policy(
        args: SendingArgs, configuration_set: aws.sesv2.ConfigurationSet
    ) -> list[pulumi.Input[dict[str, object]]]:
        statements = Sending._base_policy(args, configuration_set)
        if args.unsubscribe_key_parameter_arn is not None:
            statements.append(
                {
                    "Sid": "ReadUnsubscribeSigningKey",
                    "Effect": "Allow",
                    "Action": "ssm:GetParameter",
                    "Resource": args.unsubscribe_key_parameter_arn,
                }
            )
        return statements

    @staticmethod
    def _base_policy(
        args: SendingArgs, configuration_set: aws.sesv2.ConfigurationSet
    ) -> list[pulumi.Input[dict[str, object]]]:
        settings = args.settings
        # The configured domain (or the default sender's domain, verified outside this stack)
        # and the default sender address are the only identities the sender may use.
        identities = sorted(
            {settings.sending_domain or settings.sender_domain, settings.default_sender_email}
        )
        # Identity ARNs share the configuration set's partition, region and account.
        ses_resources = configuration_set.arn.apply(
            lambda arn: [
                arn,
                *(arn.split(":configuration-set/")[0] + f":identity/{i}" for i in identities),
            ]
        )
        return [
            {
                "Sid": "SendThroughConfigurationSet",
                "Effect": "Allow",
                "Action": "ses:SendEmail",
                "Resource": ses_resources,
            },
            {
                "Sid": "ClaimAndTrackEmails",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:ConditionCheckItem",
                ],
                "Resource": args.state.tracking_table.arn,
            },
            {
                "Sid": "ReadSuppressionList",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem"],
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
                "Sid": "ConsumeEmailQueue",
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                ],
                "Resource": args.queue_arn,
            },
            {
                "Sid": "PublishStatusEvents",
                "Effect": "Allow",
                "Action": "events:PutEvents",
                "Resource": args.state.bus.arn,
            },
        ]
