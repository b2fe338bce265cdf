"""`sesmail templates push`: compare the local files with the bucket's (a unified diff per
file), then upload what changed, stamped with one revision id."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sesmailengine.template_files import TEMPLATE_PREFIX, content_type

from .folders import local_files, template_names
from .revisions import REVISION_METADATA, new_revision_id


@dataclass(frozen=True)
class FileChange:
    key: str
    """Bucket key, `templates/<name>/<file>`."""
    kind: str
    """`added`, `changed` or `unchanged`."""
    local: bytes
    remote: bytes | None

    def diff(self) -> str:
        """A unified diff from the bucket's version to the local one."""
        before = (self.remote or b"").decode("utf-8", "replace").splitlines(keepends=True)
        after = self.local.decode("utf-8", "replace").splitlines(keepends=True)
        return "".join(
            difflib.unified_diff(
                before,
                after,
                fromfile=f"s3://…/{self.key}" if self.remote is not None else "/dev/null",
                tofile=f"local/{self.key.removeprefix(TEMPLATE_PREFIX)}",
            )
        )


@dataclass
class PushPlan:
    bucket: str
    changes: list[FileChange]
    only_in_bucket: list[str]
    """Keys under a pushed template's folder that the local folder lacks (left alone)."""

    @property
    def pending(self) -> list[FileChange]:
        return [change for change in self.changes if change.kind != "unchanged"]


def plan_push(s3: Any, bucket: str, root: Path, names: Iterable[str] | None = None) -> PushPlan:
    """Compare local files with the bucket's current objects (what would change)."""
    names = list(names) if names else template_names(root)
    files = local_files(root, names)
    changes = []
    for key, path in files.items():
        local = path.read_bytes()
        remote = _get(s3, bucket, key)
        kind = "added" if remote is None else "unchanged" if remote == local else "changed"
        changes.append(FileChange(key, kind, local, remote))
    only_in_bucket = []
    for name in names:
        prefix = f"{TEMPLATE_PREFIX}{name}/"
        for key in _keys(s3, bucket, prefix):
            if key not in files:
                only_in_bucket.append(key)
    return PushPlan(bucket, changes, sorted(only_in_bucket))


def push(s3: Any, plan: PushPlan) -> str:
    """Upload every added or changed file of `plan`; returns the revision id stamped on them."""
    revision = new_revision_id()
    for change in plan.pending:
        s3.put_object(
            Bucket=plan.bucket,
            Key=change.key,
            Body=change.local,
            ContentType=content_type(change.key),
            Metadata={REVISION_METADATA: revision},
        )
    return revision


def _get(s3: Any, bucket: str, key: str) -> bytes | None:
    """The object's current bytes, or None when there is none."""
    from botocore.exceptions import ClientError

    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys
