"""Feedback: SES events → SNS → the feedback Lambda, which updates tracking and suppression."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .function import FunctionDefaults, LambdaFunction, LambdaFunctionArgs, function_environment
from .handlers.core.environment import FeedbackEnvironment
from .naming import SharedState, child_options, component_type
from .policies import deny_insecure_transport, policy_document
from .queues import allow_only_source_to_send, durable_queue

FEEDBACK_HANDLER = "handlers.feedback_processor.handler"
INVOKE_RETRY_ATTEMPTS = 2
INVOKE_MAX_EVENT_AGE_SECONDS = 6 * 3600

# What SES publishes to the topic. SEND records `sent` when the sender's own write is lost
# (a crash between SES accepting the message and the write): the redelivered request then
# finds the email sent instead of sending it again.
FEEDBACK_EVENT_TYPES = (
    "SEND",
    "BOUNCE",
    "COMPLAINT",
    "DELIVERY",
    "REJECT",
    "DELIVERY_DELAY",
    "RENDERING_FAILURE",
)
ENGAGEMENT_EVENT_TYPES = ("OPEN", "CLICK")


@dataclass
class FeedbackArgs:
    functions: FunctionDefaults
    """Code and log settings of the feedback processor."""
    memory_mb: int
    """Memory of the feedback processor."""
    timeout_seconds: int
    """Timeout of the feedback processor."""
    track_opens_and_clicks: bool
    """Also publish SES open and click events."""
    soft_bounce_threshold: int
    """Consecutive soft bounces that suppress an address."""
    configuration_set_name: pulumi.Input[str]
    """The configuration set whose events SES publishes to the topic."""
    configuration_set_arn: pulumi.Input[str]
    """Its ARN: the only source SES may publish to the topic for."""
    topic_key_arn: pulumi.Input[str] | None
    """The KMS key that encrypts the topic (`TopicKey`); None leaves it unencrypted."""
    state: SharedState
    """The tables and the bus."""


class Feedback(pulumi.ComponentResource):
    """Listens to what SES reports about every email."""

    topic_arn: pulumi.Output[str]
    feedback_function_name: pulumi.Output[str]
    feedback_function_arn: pulumi.Output[str]
    dead_letter_queue_url: pulumi.Output[str]
    dead_letter_queue_arn: pulumi.Output[str]
    dead_letter_queue_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: FeedbackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("Feedback"), name, {}, opts)

        topic = aws.sns.Topic(
            f"{name}-ses-events", kms_master_key_id=args.topic_key_arn, opts=child_options(self)
        )
        topic_policy = aws.sns.TopicPolicy(
            f"{name}-ses-events-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.configuration_set_arn).apply(
                lambda arns: _only_ses_for_configuration_set(*arns)
            ),
            opts=child_options(self),
        )
        event_types = list(FEEDBACK_EVENT_TYPES)
        if args.track_opens_and_clicks:
            event_types += ENGAGEMENT_EVENT_TYPES
        aws.sesv2.ConfigurationSetEventDestination(
            f"{name}-ses-event-destination",
            configuration_set_name=args.configuration_set_name,
            event_destination_name="sesmailengine-feedback",
            event_destination={
                "enabled": True,
                "matching_event_types": event_types,
                "sns_destination": {"topic_arn": topic.arn},
            },
            # SES checks that it may publish when the destination is created.
            opts=child_options(self, depends_on=[topic_policy]),
        )

        # One queue keeps both kinds of failure: SNS's undeliverable messages (the SNS
        # envelope) and invocations that failed after Lambda's retries (the Lambda event).
        dead_letter_queue = durable_queue(f"{name}-feedback-dlq", self)
        dlq_policy = allow_only_source_to_send(
            f"{name}-feedback-dlq-policy",
            self,
            dead_letter_queue,
            service="sns.amazonaws.com",
            source_arn=topic.arn,
        )
        processor = LambdaFunction(
            f"{name}-processor",
            LambdaFunctionArgs(
                defaults=args.functions,
                handler=FEEDBACK_HANDLER,
                description="sesmailengine: applies SES feedback to tracking and suppression",
                memory_mb=args.memory_mb,
                timeout_seconds=args.timeout_seconds,
                environment=_processor_environment(args),
                policy_statements=_processor_statements(args),
                dead_letter_queue_arn=dead_letter_queue.arn,
            ),
            opts=child_options(self),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-processor-retries",
            function_name=processor.function_name,
            maximum_retry_attempts=INVOKE_RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=INVOKE_MAX_EVENT_AGE_SECONDS,
            opts=child_options(self),
        )
        permission = aws.lambda_.Permission(
            f"{name}-processor-invoke",
            action="lambda:InvokeFunction",
            function=processor.function_name,
            principal="sns.amazonaws.com",
            source_arn=topic.arn,
            opts=child_options(self),
        )
        aws.sns.TopicSubscription(
            f"{name}-processor-subscription",
            topic=topic.arn,
            protocol="lambda",
            endpoint=processor.function_arn,
            redrive_policy=dead_letter_queue.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn})
            ),
            opts=child_options(self, depends_on=[permission, dlq_policy]),
        )

        self.topic_arn = topic.arn
        self.feedback_function_name = processor.function_name
        self.feedback_function_arn = processor.function_arn
        self.dead_letter_queue_url = dead_letter_queue.url
        self.dead_letter_queue_arn = dead_letter_queue.arn
        self.dead_letter_queue_name = dead_letter_queue.name
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "feedback_function_name": self.feedback_function_name,
                "dead_letter_queue_url": self.dead_letter_queue_url,
            }
        )


def _only_ses_for_configuration_set(topic_arn: str, configuration_set_arn: str) -> str:
    account = configuration_set_arn.split(":")[4]
    return policy_document(
        {
            "Sid": "AllowSesEventPublishing",
            "Effect": "Allow",
            "Principal": {"Service": "ses.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            # Confused-deputy guard: only SES acting for our configuration set and account.
            "Condition": {
                "StringEquals": {
                    "AWS:SourceAccount": account,
                    "AWS:SourceArn": configuration_set_arn,
                }
            },
        },
        deny_insecure_transport("sns", [topic_arn]),
    )


def _processor_environment(args: FeedbackArgs) -> pulumi.Output[dict[str, str]]:
    return function_environment(
        FeedbackEnvironment,
        args.functions,
        tracking_table=args.state.tracking_table.name,
        suppression_table=args.state.suppression_table.name,
        soft_bounce_threshold=args.soft_bounce_threshold,
    )


def _processor_statements(args: FeedbackArgs) -> list[pulumi.Input[dict[str, object]]]:
    return [
        {
            "Sid": "UpdateTracking",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "Resource": args.state.tracking_table.arn,
        },
        {
            # An event without our emailId tag is matched by its SES message id.
            "Sid": "FindEmailsBySesMessageId",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": pulumi.Output.concat(
                args.state.tracking_table.arn, "/index/ses-message-id-index"
            ),
        },
        {
            "Sid": "MaintainSuppressionList",
            "Effect": "Allow",
            # One conditional update creates or strengthens a suppression.
            "Action": "dynamodb:UpdateItem",
            "Resource": args.state.suppression_table.arn,
        },
    ]
