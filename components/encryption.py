"""TopicKey: the customer-managed KMS key that encrypts the SES-events and alarm topics.

Why a customer-managed key: the AWS-managed `aws/sns` key's policy cannot be changed, so SES
and CloudWatch alarms could not publish to a topic it encrypts (SNS documents this under
"compatibility between event sources from AWS services and encrypted topics"). SNS encrypts
with the publisher's permission on the key, so the key policy names the publishers:

- SES, for our configuration set only (the same confused-deputy guard as the topic policy);
- CloudWatch, for alarms of this account.

Subscribers need nothing on the key: SNS decrypts before delivering to the feedback Lambda
and to the admin's email. The feedback subscription's redrive queue is encrypted with
SQS-managed keys (`queues.durable_queue`), not KMS, so SNS needs no grant for it either.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .naming import child_options, component_type, invoke_options
from .policies import Statement, policy_document

DELETION_WINDOW_DAYS = 30
"""The longest KMS allows: a key deleted by mistake can be restored for a month."""
PUBLISH_ACTIONS = ["kms:GenerateDataKey*", "kms:Decrypt"]
"""What SNS needs from a publisher's side to encrypt the message it publishes."""


@dataclass
class TopicKeyArgs:
    alias_name: str
    """`alias/<engine>-topics`: how a person finds the key in the console."""
    configuration_set_arn: pulumi.Input[str]
    """The only configuration set whose events SES may encrypt with the key."""


class TopicKey(pulumi.ComponentResource):
    """One rotating KMS key for the topics AWS services publish to."""

    key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: TopicKeyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("TopicKey"), name, {}, opts)
        account = aws.get_caller_identity_output(opts=invoke_options(self)).account_id
        partition = aws.get_partition_output(opts=invoke_options(self)).partition
        key = aws.kms.Key(
            f"{name}-key",
            description="sesmailengine: encrypts the SES-events and alarm topics",
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            policy=pulumi.Output.all(account, partition, args.configuration_set_arn).apply(
                lambda values: topic_key_policy(*values)
            ),
            opts=child_options(self),
        )
        aws.kms.Alias(
            f"{name}-alias", name=args.alias_name, target_key_id=key.arn, opts=child_options(self)
        )

        self.key_arn = key.arn
        self.register_outputs({"key_arn": self.key_arn})


def topic_key_policy(account: str, partition: str, configuration_set_arn: str) -> str:
    return policy_document(
        {
            # Without it the account could lose control of the key: IAM policies of the
            # account (the deployer's) decide who administers and uses it.
            "Sid": "AccountAdministersTheKey",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        _publisher(
            "SesPublishesEventsOfItsConfigurationSet",
            "ses.amazonaws.com",
            {"aws:SourceAccount": account, "aws:SourceArn": configuration_set_arn},
        ),
        _publisher(
            "CloudWatchPublishesAlarmsOfThisAccount",
            "cloudwatch.amazonaws.com",
            {"aws:SourceAccount": account},
        ),
    )


def _publisher(sid: str, service: str, source: dict[str, str]) -> Statement:
    # Confused-deputy guard: the service may use the key only when acting for `source`.
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": PUBLISH_ACTIONS,
        "Resource": "*",
        "Condition": {"StringEquals": source},
    }
