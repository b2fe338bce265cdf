"""Storage: the template and attachment buckets and the EmailTracking and Suppression tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from .naming import child_options, component_type
from .policies import deny_insecure_transport, policy_document
from .template_files import TEMPLATE_PREFIX, content_type, is_template_file

# EmailTracking's secondary indexes: name → (partition key, sort key). The handlers query
# them by these names, so they are part of the public contract.
TRACKING_INDEXES: dict[str, tuple[str, str | None]] = {
    "to-email-timestamp-index": ("toEmail", "timestamp"),
    "ses-message-id-index": ("sesMessageId", None),
    "date-partition-index": ("datePartition", "timestamp"),
}
TRACKING_TTL_ATTRIBUTE = "ttl"


@dataclass
class StorageArgs:
    protect_data: bool
    """Deletion protection on the tables; keep bucket and tables when the stack is destroyed."""
    starter_templates_dir: Path | None
    """Folder whose `<name>/...` files are uploaded to `templates/<name>/...`; None uploads none."""
    attachment_retention_days: int
    """Days an object stays in the attachment bucket before S3 deletes it."""


class Storage(pulumi.ComponentResource):
    """Where templates and email state live."""

    template_bucket_name: pulumi.Output[str]
    template_bucket_arn: pulumi.Output[str]
    attachment_bucket_name: pulumi.Output[str]
    attachment_bucket_arn: pulumi.Output[str]
    tracking_table_name: pulumi.Output[str]
    tracking_table_arn: pulumi.Output[str]
    tracking_table_stream_arn: pulumi.Output[str]
    suppression_table_name: pulumi.Output[str]
    suppression_table_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("Storage"), name, {}, opts)
        self._name = name
        self._args = args

        bucket = self._template_bucket()
        attachments = self._attachment_bucket()
        tracking = self._table(
            "tracking",
            hash_key="emailId",
            indexes=TRACKING_INDEXES,
            ttl_attribute=TRACKING_TTL_ATTRIBUTE,
            # Every write, with the item before and after: the status events are read from it.
            stream=True,
        )
        suppression = self._table("suppression", hash_key="email")

        self.template_bucket_name = bucket.bucket
        self.template_bucket_arn = bucket.arn
        self.attachment_bucket_name = attachments.bucket
        self.attachment_bucket_arn = attachments.arn
        self.tracking_table_name = tracking.name
        self.tracking_table_arn = tracking.arn
        self.tracking_table_stream_arn = tracking.stream_arn
        self.suppression_table_name = suppression.name
        self.suppression_table_arn = suppression.arn
        self.register_outputs(
            {
                "template_bucket_name": self.template_bucket_name,
                "attachment_bucket_name": self.attachment_bucket_name,
                "tracking_table_name": self.tracking_table_name,
                "suppression_table_name": self.suppression_table_name,
            }
        )

    def _data_options(self) -> pulumi.ResourceOptions:
        # Tables and bucket hold the only copy of the state; prod keeps them on destroy.
        return child_options(self, retain_on_delete=self._args.protect_data)

    def _template_bucket(self) -> aws.s3.Bucket:
        name = f"{self._name}-templates"
        bucket = self._private_bucket(name)
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child_options(self),
        )
        if self._args.starter_templates_dir is not None:
            self._upload_templates(bucket, self._args.starter_templates_dir)
        return bucket

    def _attachment_bucket(self) -> aws.s3.Bucket:
        """Where producers put the files an Email Request attaches (`detail.attachments`).
        Unversioned, and every object expires: an attachment is needed only until its email is
        sent, and keeping people's documents longer than that is a liability."""
        name = f"{self._name}-attachments"
        bucket = self._private_bucket(name)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-expiry",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-attachments",
                    "status": "Enabled",
                    "filter": {},
                    "expiration": {"days": self._args.attachment_retention_days},
                    # Parts of an upload that never completed are never read either.
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=child_options(self),
        )
        return bucket

    def _private_bucket(self, name: str) -> aws.s3.Bucket:
        """A bucket encrypted at rest (SSE-S3), never public, owned by this account, and
        refusing every request that does not use TLS."""
        bucket = aws.s3.Bucket(
            name, force_destroy=not self._args.protect_data, opts=self._data_options()
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child_options(self),
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child_options(self),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child_options(self),
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda arn: policy_document(deny_insecure_transport("s3", [arn, f"{arn}/*"]))
            ),
            # S3 rejects a bucket policy while the public access block is being applied.
            opts=child_options(self, depends_on=[public_access]),
        )
        return bucket

    def _upload_templates(self, bucket: aws.s3.Bucket, folder: Path) -> None:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if not path.is_file() or not is_template_file(relative):
                continue
            key = TEMPLATE_PREFIX + relative.as_posix()
            aws.s3.BucketObjectv2(
                f"{self._name}-{key}",
                bucket=bucket.id,
                key=key,
                source=pulumi.FileAsset(str(path)),
                content_type=content_type(path.name),
                opts=child_options(self),
            )

    def _table(
        self,
        role: str,
        *,
        hash_key: str,
        indexes: dict[str, tuple[str, str | None]] | None = None,
        ttl_attribute: str | None = None,
        stream: bool = False,
    ) -> aws.dynamodb.Table:
        indexes = indexes or {}
        key_attributes = {hash_key} | {
            key for keys in indexes.values() for key in keys if key is not None
        }
        return aws.dynamodb.Table(
            f"{self._name}-{role}",
            billing_mode="PAY_PER_REQUEST",
            hash_key=hash_key,
            attributes=[{"name": attr, "type": "S"} for attr in sorted(key_attributes)],
            global_secondary_indexes=[
                {
                    "name": index,
                    "key_schemas": [
                        {"attribute_name": attr, "key_type": key_type}
                        for attr, key_type in ((partition, "HASH"), (sort, "RANGE"))
                        if attr is not None
                    ],
                    "projection_type": "ALL",
                }
                for index, (partition, sort) in indexes.items()
            ],
            ttl={"attribute_name": ttl_attribute, "enabled": True} if ttl_attribute else None,
            point_in_time_recovery={"enabled": True},
            stream_enabled=stream or None,
            stream_view_type="NEW_AND_OLD_IMAGES" if stream else None,
            deletion_protection_enabled=self._args.protect_data,
            opts=self._data_options(),
        )
