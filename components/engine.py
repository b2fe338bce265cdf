"""EmailEngine: the whole pipeline, wired from one settings object in data-flow order."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .artifact import TEMPLATES_PACKAGE, LambdaArtifacts, deployable_artifacts, package_folder
from .encryption import TopicKey, TopicKeyArgs
from .feedback import Feedback, FeedbackArgs
from .function import FunctionDefaults, LambdaCode
from .ingestion import Ingestion, IngestionArgs
from .monitoring import AlarmThresholds, Monitoring, MonitoringArgs, UnmatchedEventsRule
from .naming import Named, SharedState, child_options, component_type, invoke_options
from .scheduling import ScheduledSends, ScheduledSendsArgs
from .sending import (
    Brand,
    EmailDeadLetterQueue,
    ScheduleTarget,
    Sender,
    SenderTuning,
    Sending,
    SendingArgs,
    SendingDomain,
    UnsubscribeLinks,
)
from .settings import EngineSettings
from .status_events import StatusEvents, StatusEventsArgs
from .storage import Storage, StorageArgs
from .sweep import StuckEmailSweep, StuckEmailSweepArgs
from .template_files import marketing_templates
from .unsubscribe import Unsubscribe, UnsubscribeArgs, marketing_topics


class EmailEngine(pulumi.ComponentResource):
    """Email infrastructure on Amazon SES: storage, ingestion, sending, feedback and
    monitoring, configured by one `EngineSettings`."""

    event_bus_name: pulumi.Output[str]
    event_bus_arn: pulumi.Output[str]
    email_request_rule_arn: pulumi.Output[str]
    email_request_archive_arn: pulumi.Output[str]
    unmatched_log_group_name: pulumi.Output[str]
    email_queue_url: pulumi.Output[str]
    email_dead_letter_queue_url: pulumi.Output[str]
    rule_dead_letter_queue_url: pulumi.Output[str]
    tracking_table_name: pulumi.Output[str]
    suppression_table_name: pulumi.Output[str]
    template_bucket_name: pulumi.Output[str]
    attachment_bucket_name: pulumi.Output[str]
    configuration_set_name: pulumi.Output[str]
    sender_function_name: pulumi.Output[str]
    dkim_tokens: pulumi.Output[list[str]]
    feedback_topic_arn: pulumi.Output[str]
    feedback_function_name: pulumi.Output[str]
    feedback_dead_letter_queue_url: pulumi.Output[str]
    status_events_dead_letter_queue_url: pulumi.Output[str]
    alarm_topic_arn: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]
    brake_function_name: pulumi.Output[str | None]
    sender_event_source_mapping_uuid: pulumi.Output[str]
    unsubscribe_url: pulumi.Output[str]
    mail_from_domain: pulumi.Output[str | None]
    schedule_group_name: pulumi.Output[str]
    region: pulumi.Output[str]
    """The AWS region the engine is deployed to (its provider's): where `sesmail` finds it."""

    def __init__(
        self,
        name: str,
        settings: EngineSettings,
        opts: pulumi.ResourceOptions | None = None,
        *,
        lambda_artifacts: LambdaArtifacts | None = None,
    ) -> None:
        """`lambda_artifacts`: prebuilt function and layer zips; without them the engine builds
        them (pip, for the functions' architecture: see the README's "The Lambda artifact"),
        unless a `sesmailengine.testing.prebuilt_artifacts` block provides them."""
        super().__init__(component_type("EmailEngine"), name, {}, opts)
        self._name = name
        self._default_name = f"{name}-{pulumi.get_stack()}"

        storage = self._storage(settings)
        ingestion = self._ingestion(settings)
        functions = FunctionDefaults(
            code=self._lambda_code(settings, lambda_artifacts),
            log_level=settings.log_level,
            log_retention_days=settings.log_retention_days,
            engine_name=self._default_name,
        )
        state = SharedState(
            tracking_table=Named(storage.tracking_table_name, storage.tracking_table_arn),
            suppression_table=Named(storage.suppression_table_name, storage.suppression_table_arn),
            bus=Named(ingestion.bus_name, ingestion.bus_arn),
        )
        unsubscribe = self._unsubscribe(settings, functions, state)
        scheduled_sends = self._scheduled_sends(ingestion)
        sending = self._sending(
            settings, functions, state, storage, ingestion, unsubscribe, scheduled_sends
        )
        topic_key = self._topic_key(settings, sending)
        feedback = self._feedback(settings, functions, state, sending, topic_key)
        status_events = self._status_events(settings, functions, state, storage)
        sweep = self._stuck_email_sweep(settings, functions, state)
        monitoring = self._monitoring(
            settings,
            functions,
            ingestion,
            unsubscribe,
            sending,
            feedback,
            status_events,
            sweep,
            topic_key,
        )

        self.event_bus_name = ingestion.bus_name
        self.event_bus_arn = ingestion.bus_arn
        self.email_request_rule_arn = ingestion.rule_arn
        self.email_request_archive_arn = ingestion.archive_arn
        self.unmatched_log_group_name = ingestion.unmatched_log_group_name
        self.email_queue_url = ingestion.queue_url
        self.email_dead_letter_queue_url = ingestion.dead_letter_queue_url
        self.rule_dead_letter_queue_url = ingestion.rule_dead_letter_queue_url
        self.tracking_table_name = storage.tracking_table_name
        self.suppression_table_name = storage.suppression_table_name
        self.template_bucket_name = storage.template_bucket_name
        self.attachment_bucket_name = storage.attachment_bucket_name
        self.configuration_set_name = sending.configuration_set_name
        self.sender_function_name = sending.sender_function_name
        self.dkim_tokens = sending.dkim_tokens
        self.feedback_topic_arn = feedback.topic_arn
        self.feedback_function_name = feedback.feedback_function_name
        self.feedback_dead_letter_queue_url = feedback.dead_letter_queue_url
        self.status_events_dead_letter_queue_url = status_events.dead_letter_queue_url
        self.alarm_topic_arn = monitoring.alarm_topic_arn
        self.dashboard_name = monitoring.dashboard_name
        self.brake_function_name = monitoring.brake_function_name
        self.sender_event_source_mapping_uuid = sending.event_source_mapping_uuid
        self.unsubscribe_url = unsubscribe.endpoint_url
        self.mail_from_domain = sending.mail_from_domain
        self.schedule_group_name = scheduled_sends.group_name
        self.region = aws.get_region_output(opts=invoke_options(self)).region
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output]:
        """The stack outputs, keyed as `__main__.py` exports them."""
        return {
            "eventBusName": self.event_bus_name,
            "eventBusArn": self.event_bus_arn,
            "emailRequestRuleArn": self.email_request_rule_arn,
            "emailRequestArchiveArn": self.email_request_archive_arn,
            "unmatchedLogGroupName": self.unmatched_log_group_name,
            "emailQueueUrl": self.email_queue_url,
            "emailDeadLetterQueueUrl": self.email_dead_letter_queue_url,
            "ruleDeadLetterQueueUrl": self.rule_dead_letter_queue_url,
            "trackingTableName": self.tracking_table_name,
            "suppressionTableName": self.suppression_table_name,
            "templateBucketName": self.template_bucket_name,
            "attachmentBucketName": self.attachment_bucket_name,
            "configurationSetName": self.configuration_set_name,
            "senderFunctionName": self.sender_function_name,
            "dkimTokens": self.dkim_tokens,
            "feedbackTopicArn": self.feedback_topic_arn,
            "feedbackFunctionName": self.feedback_function_name,
            "feedbackDeadLetterQueueUrl": self.feedback_dead_letter_queue_url,
            "statusEventsDeadLetterQueueUrl": self.status_events_dead_letter_queue_url,
            "alarmTopicArn": self.alarm_topic_arn,
            "dashboardName": self.dashboard_name,
            "brakeFunctionName": self.brake_function_name,
            "senderEventSourceMappingUuid": self.sender_event_source_mapping_uuid,
            "unsubscribeUrl": self.unsubscribe_url,
            "mailFromDomain": self.mail_from_domain,
            "scheduleGroupName": self.schedule_group_name,
            "region": self.region,
        }

    def _storage(self, settings: EngineSettings) -> Storage:
        templates = package_folder(TEMPLATES_PACKAGE) if settings.upload_starter_templates else None
        if templates is not None and not settings.brand_address:
            self._warn_no_postal_address(list(marketing_templates(templates)))
        return Storage(
            f"{self._name}-storage",
            StorageArgs(
                protect_data=settings.protect_data,
                starter_templates_dir=templates,
                attachment_retention_days=settings.attachment_retention_days,
            ),
            opts=child_options(self),
        )

    def _warn_no_postal_address(self, marketing: list[str]) -> None:
        if marketing:
            pulumi.log.warn(
                f"brandAddress is not set: the sender refuses the marketing templates "
                f"({', '.join(marketing)}) until it is, as bulk-mail law asks for a postal "
                "address in their footer; `pulumi config set sesmailengine:brandAddress '...'`",
                resource=self,
            )

    def _ingestion(self, settings: EngineSettings) -> Ingestion:
        return Ingestion(
            f"{self._name}-ingestion",
            IngestionArgs(
                bus_name=settings.event_bus_name or self._default_name,
                visibility_timeout_seconds=settings.queue_visibility_timeout_seconds,
                log_retention_days=settings.log_retention_days,
                allowed_sources=settings.allowed_sources,
                source_accounts=settings.source_accounts,
                archive_retention_days=settings.archive_retention_days,
                rule_retry_attempts=settings.rule_retry_attempts,
                rule_max_event_age_seconds=settings.rule_max_event_age_seconds,
            ),
            opts=child_options(self),
        )

    def _unsubscribe(
        self, settings: EngineSettings, functions: FunctionDefaults, state: SharedState
    ) -> Unsubscribe:
        return Unsubscribe(
            f"{self._name}-unsubscribe",
            UnsubscribeArgs(
                functions=functions,
                brand_name=settings.brand_display_name,
                key_parameter_name=f"/{self._default_name}/unsubscribe-signing-key",
                suppression_table=state.suppression_table,
                previous_key_parameter_name=(
                    f"/{self._default_name}/unsubscribe-signing-key-previous"
                ),
                key_rotation=settings.unsubscribe_key_rotation,
                reserved_concurrency=settings.unsubscribe_reserved_concurrency,
                # The templates this program uploads; pushed ones are not known here.
                marketing_topics=(
                    marketing_topics(package_folder(TEMPLATES_PACKAGE))
                    if settings.upload_starter_templates
                    else ()
                ),
            ),
            opts=child_options(self),
        )

    def _sending(
        self,
        settings: EngineSettings,
        functions: FunctionDefaults,
        state: SharedState,
        storage: Storage,
        ingestion: Ingestion,
        unsubscribe: Unsubscribe,
        scheduled_sends: ScheduledSends,
    ) -> Sending:
        return Sending(
            f"{self._name}-sending",
            SendingArgs(
                functions=functions,
                tuning=SenderTuning(
                    memory_mb=settings.sender_memory_mb,
                    timeout_seconds=settings.sender_timeout_seconds,
                    batch_size=settings.batch_size,
                    max_batching_window_seconds=settings.max_batching_window_seconds,
                    maximum_concurrency=settings.maximum_concurrency,
                    max_send_rate=settings.max_send_rate,
                    claim_timeout_seconds=settings.claim_timeout,
                    ambiguous_send_policy=settings.ambiguous_send_policy,
                    template_cache_seconds=settings.template_cache_seconds,
                    tracking_ttl_days=settings.tracking_ttl_days,
                ),
                configuration_set_name=settings.configuration_set_name or self._default_name,
                sender=Sender(
                    email=settings.default_sender_email,
                    name=settings.default_sender_name,
                    domain=settings.sender_domain,
                ),
                domain=(
                    SendingDomain(
                        name=settings.sending_domain,
                        hosted_zone_id=settings.hosted_zone_id,
                        mail_from_subdomain=settings.mail_from_subdomain,
                        dmarc_policy=settings.dmarc_policy,
                        dmarc_report_email=settings.dmarc_report_email,
                    )
                    if settings.sending_domain
                    else None
                ),
                brand=Brand(
                    name=settings.brand_display_name,
                    url=settings.brand_url,
                    logo_url=settings.brand_logo_url,
                    address=settings.brand_address,
                    primary_color=settings.brand_primary_color,
                    background_color=settings.brand_background_color,
                    text_color=settings.brand_text_color,
                ),
                queue_arn=ingestion.queue_arn,
                dead_letter_queue=EmailDeadLetterQueue(
                    url=ingestion.dead_letter_queue_url, arn=ingestion.dead_letter_queue_arn
                ),
                event_source=settings.status_event_source,
                state=state,
                template_bucket=Named(storage.template_bucket_name, storage.template_bucket_arn),
                attachment_bucket=Named(
                    storage.attachment_bucket_name, storage.attachment_bucket_arn
                ),
                unsubscribe=UnsubscribeLinks(
                    url=unsubscribe.endpoint_url,
                    key_parameter_name=unsubscribe.key_parameter_name,
                    key_parameter_arn=unsubscribe.key_parameter_arn,
                    token_days=settings.unsubscribe_link_days,
                    mailto=settings.unsubscribe_mailto,
                ),
                ses_sandbox=settings.ses_sandbox,
                schedules=ScheduleTarget(
                    group_name=scheduled_sends.group_name,
                    schedules_arn=scheduled_sends.schedules_arn,
                    role_arn=scheduled_sends.role_arn,
                ),
            ),
            opts=child_options(self),
        )

    def _scheduled_sends(self, ingestion: Ingestion) -> ScheduledSends:
        return ScheduledSends(
            f"{self._name}-scheduled-sends",
            ScheduledSendsArgs(
                group_name=self._default_name,
                queue_arn=ingestion.queue_arn,
                dead_letter_queue_arn=ingestion.dead_letter_queue_arn,
            ),
            opts=child_options(self),
        )

    def _topic_key(self, settings: EngineSettings, sending: Sending) -> TopicKey | None:
        if not settings.encrypt_topics:
            return None
        return TopicKey(
            f"{self._name}-topics",
            TopicKeyArgs(
                alias_name=f"alias/{settings.event_bus_name or self._default_name}-topics",
                configuration_set_arn=sending.configuration_set_arn,
            ),
            opts=child_options(self),
        )

    def _feedback(
        self,
        settings: EngineSettings,
        functions: FunctionDefaults,
        state: SharedState,
        sending: Sending,
        topic_key: TopicKey | None,
    ) -> Feedback:
        return Feedback(
            f"{self._name}-feedback",
            FeedbackArgs(
                functions=functions,
                memory_mb=settings.feedback_memory_mb,
                timeout_seconds=settings.feedback_timeout_seconds,
                track_opens_and_clicks=settings.track_opens_and_clicks,
                soft_bounce_threshold=settings.soft_bounce_threshold,
                configuration_set_name=sending.configuration_set_name,
                configuration_set_arn=sending.configuration_set_arn,
                topic_key_arn=topic_key.key_arn if topic_key else None,
                state=state,
            ),
            opts=child_options(self),
        )

    def _status_events(
        self,
        settings: EngineSettings,
        functions: FunctionDefaults,
        state: SharedState,
        storage: Storage,
    ) -> StatusEvents:
        return StatusEvents(
            f"{self._name}-status-events",
            StatusEventsArgs(
                functions=functions,
                stream_arn=storage.tracking_table_stream_arn,
                bus=state.bus,
                status_event_source=settings.status_event_source,
            ),
            opts=child_options(self),
        )

    def _stuck_email_sweep(
        self, settings: EngineSettings, functions: FunctionDefaults, state: SharedState
    ) -> StuckEmailSweep:
        return StuckEmailSweep(
            f"{self._name}-stuck-email-sweep",
            StuckEmailSweepArgs(
                functions=functions,
                tracking_table=state.tracking_table,
                stuck_after_minutes=settings.stuck_after,
                ambiguous_send_policy=settings.ambiguous_send_policy,
                every_minutes=settings.stuck_sweep_minutes,
            ),
            opts=child_options(self),
        )

    def _monitoring(
        self,
        settings: EngineSettings,
        functions: FunctionDefaults,
        ingestion: Ingestion,
        unsubscribe: Unsubscribe,
        sending: Sending,
        feedback: Feedback,
        status_events: StatusEvents,
        sweep: StuckEmailSweep,
        topic_key: TopicKey | None,
    ) -> Monitoring:
        return Monitoring(
            f"{self._name}-monitoring",
            MonitoringArgs(
                functions=functions,
                thresholds=AlarmThresholds(
                    bounce_rate_percent=settings.bounce_rate_alarm_percent,
                    complaint_rate_percent=settings.complaint_rate_alarm_percent,
                    lambda_errors=settings.lambda_errors_alarm_threshold,
                    queue_age_seconds=settings.queue_age_alarm_seconds,
                ),
                admin_email=settings.admin_email,
                topic_key_arn=topic_key.key_arn if topic_key else None,
                sending_brake=settings.sending_brake,
                configuration_set_name=sending.configuration_set_name,
                configuration_set_arn=sending.configuration_set_arn,
                email_queue_name=ingestion.queue_name,
                unmatched_events_rule=UnmatchedEventsRule(
                    bus_name=ingestion.bus_name, rule_name=ingestion.unmatched_rule_name
                ),
                dead_letter_queue_names={
                    "rule-dlq": ingestion.rule_dead_letter_queue_name,
                    "email-dlq": ingestion.dead_letter_queue_name,
                    "feedback-dlq": feedback.dead_letter_queue_name,
                    "status-events-dlq": status_events.dead_letter_queue_name,
                },
                function_names={
                    "email-sender": sending.sender_function_name,
                    "feedback-processor": feedback.feedback_function_name,
                    "status-events": status_events.function_name,
                    "unsubscribe-endpoint": unsubscribe.function_name,
                    "stuck-email-sweep": sweep.function_name,
                },
                sender_event_source_mapping_uuid=sending.event_source_mapping_uuid,
                sender_event_source_mapping_arn=sending.event_source_mapping_arn,
            ),
            opts=child_options(self),
        )

    def _lambda_code(
        self, settings: EngineSettings, prebuilt: LambdaArtifacts | None
    ) -> LambdaCode:
        """The function zip, and a layer built from the dependencies zip."""
        python_version = settings.lambda_runtime.removeprefix("python")
        artifacts = prebuilt or deployable_artifacts(settings.lambda_architecture, python_version)
        layer = aws.lambda_.LayerVersion(
            f"{self._name}-dependencies",
            layer_name=f"{self._default_name}-dependencies",
            description="sesmailengine handlers' third-party dependencies",
            code=pulumi.FileArchive(str(artifacts.layer_zip)),
            source_code_hash=artifacts.layer_hash,
            compatible_runtimes=[settings.lambda_runtime],
            compatible_architectures=[settings.lambda_architecture],
            opts=child_options(self),
        )
        return LambdaCode(
            archive=pulumi.FileArchive(str(artifacts.code_zip)),
            source_code_hash=artifacts.code_hash,
            layer_arn=layer.arn,
            runtime=settings.lambda_runtime,
            architecture=settings.lambda_architecture,
        )
