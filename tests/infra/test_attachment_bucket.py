"""The attachment bucket as the real `__main__.py` declares it, under Pulumi mocks: private,
encrypted, TLS-only, expiring its objects, exported, and readable by the sender alone."""

from __future__ import annotations

import json

import pytest
from sesmailengine.settings import EngineSettings, SettingsError
from sesmailengine.testing import ResourceGraph

BUCKET = "aws:s3/bucket:Bucket"
S3 = "aws:s3/"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def attachment_bucket(graph: ResourceGraph):
    return graph.one(BUCKET, "attachments")


def bucket_setting(graph: ResourceGraph, type_: str):
    """The one resource of `type_` that configures the attachment bucket."""
    return graph.one(f"{S3}{type_}", "attachments")


def test_the_attachment_bucket_is_encrypted_private_and_owned_by_the_account(dev) -> None:
    encryption = bucket_setting(
        dev, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert encryption.inputs["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
    ]
    block = bucket_setting(dev, "bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[setting] is True
        for setting in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    ownership = bucket_setting(dev, "bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    name = attachment_bucket(dev).outputs["bucket"]
    for resource in (encryption, ownership):
        assert resource.inputs["bucket"] == name


def test_the_attachment_bucket_refuses_every_request_without_tls(dev) -> None:
    policy = bucket_setting(dev, "bucketPolicy:BucketPolicy")
    arn = attachment_bucket(dev).outputs["arn"]
    assert policy.json_input("policy")["Statement"] == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_attachments_expire_after_seven_days_by_default(dev) -> None:
    # GIVEN the dev stack, which leaves attachmentRetentionDays unset
    lifecycle = dev.one(LIFECYCLE, "attachments").inputs
    # THEN every object (and any unfinished upload) of the attachment bucket expires
    assert lifecycle["bucket"] == attachment_bucket(dev).outputs["bucket"]
    [rule] = lifecycle["rules"]
    assert rule["status"] == "Enabled"
    assert rule["filter"] == {}
    assert rule["expiration"] == {"days": 7}
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 1}


def test_attachment_retention_days_reaches_the_lifecycle_rule(run_stack) -> None:
    graph = run_stack("dev", attachmentRetentionDays="30")
    [rule] = graph.one(LIFECYCLE, "attachments").inputs["rules"]
    assert rule["expiration"] == {"days": 30}


@pytest.mark.parametrize("days", [0, 3651])
def test_attachment_retention_days_out_of_range_is_refused(days: int) -> None:
    with pytest.raises(SettingsError, match="attachmentRetentionDays"):
        EngineSettings(default_sender_email="noreply@example.com", attachment_retention_days=days)


def test_the_template_bucket_keeps_its_versions_and_no_expiry(dev) -> None:
    assert [r.name for r in dev.of_type(LIFECYCLE)] == [dev.one(LIFECYCLE).name]
    versioning = dev.one(f"{S3}bucketVersioning:BucketVersioning")
    assert versioning.inputs["bucket"] == dev.one(BUCKET, "templates").outputs["bucket"]


def test_the_stack_exports_the_attachment_bucket_and_the_sender_reads_it(dev) -> None:
    name = attachment_bucket(dev).outputs["bucket"]
    assert dev.outputs["attachmentBucketName"] == name
    sender = next(f for f in dev.of_type("aws:lambda/function:Function") if "sender" in f.name)
    assert sender.inputs["environment"]["variables"]["ATTACHMENT_BUCKET"] == name


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_only_the_sender_may_read_attachments_and_only_read_them(request, stack) -> None:
    graph: ResourceGraph = request.getfixturevalue(stack)
    arn = attachment_bucket(graph).outputs["arn"]
    grants = {
        (policy.name, statement["Sid"], json.dumps(statement["Action"]))
        for policy in graph.of_type("aws:iam/rolePolicy:RolePolicy")
        for statement in policy.json_input("policy")["Statement"]
        if arn in json.dumps(statement["Resource"])
    }
    sender_policy = next(name for name, _, _ in grants)
    assert "sender" in sender_policy
    assert grants == {
        (sender_policy, "ReadAttachments", '"s3:GetObject"'),
        (sender_policy, "TellMissingAttachmentsApart", '"s3:ListBucket"'),
    }
    statements = {
        s["Sid"]: s
        for s in graph.one("aws:iam/rolePolicy:RolePolicy", sender_policy).json_input("policy")[
            "Statement"
        ]
    }
    assert statements["ReadAttachments"]["Resource"] == f"{arn}/*"
    assert statements["TellMissingAttachmentsApart"]["Resource"] == arn
