"""`sesmail templates history` and `rollback`: a template's revisions from the bucket's object
versions, and restoring the files of an earlier one as new versions.

A revision is one push (or rollback): every object it writes carries the same stamp in its S3
user metadata, so the files of one push group into one revision."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sesmailengine.template_files import TEMPLATE_PREFIX, content_type

from .errors import TemplateToolError

REVISION_METADATA = "sesmail-revision"
"""S3 user metadata that `push` and `rollback` stamp on every object they write, so `history`
can group the files of one push into one revision."""


def new_revision_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class FileVersion:
    key: str
    version_id: str
    last_modified: datetime
    deleted: bool
    revision: str
    """The push that wrote it, or `<time>` for objects written by other means."""


@dataclass
class Revision:
    number: int
    """1 for the oldest; the highest is what the sender reads now."""
    revision: str
    time: datetime
    files: list[FileVersion]

    def describe(self) -> str:
        parts = []
        for version in self.files:
            file = version.key.rsplit("/", 1)[-1]
            parts.append(f"{file} (deleted)" if version.deleted else file)
        return ", ".join(parts)


def history(s3: Any, bucket: str, name: str) -> list[Revision]:
    """The revisions of a template, oldest first: every push (or other write) that changed one
    of its files, from the bucket's object versions."""
    versions = _versions(s3, bucket, f"{TEMPLATE_PREFIX}{name}/")
    if not versions:
        raise TemplateToolError(f"template {name!r} has no versions in bucket {bucket}")
    grouped: dict[str, list[FileVersion]] = {}
    for version in versions:
        grouped.setdefault(version.revision, []).append(version)
    ordered = sorted(grouped.items(), key=lambda item: min(v.last_modified for v in item[1]))
    return [
        Revision(
            number=index,
            revision=revision,
            time=max(v.last_modified for v in files),
            files=sorted(files, key=lambda v: v.key),
        )
        for index, (revision, files) in enumerate(ordered, start=1)
    ]


def resolve_revision(revisions: list[Revision], wanted: str) -> Revision:
    """A revision by number, revision id, or the S3 VersionId of any of its files."""
    for revision in revisions:
        if wanted in (str(revision.number), revision.revision) or any(
            version.version_id == wanted for version in revision.files
        ):
            return revision
    known = ", ".join(str(r.number) for r in revisions)
    raise TemplateToolError(f"no revision {wanted!r}; this template has revisions {known}")


@dataclass(frozen=True)
class Restore:
    key: str
    version_id: str | None
    """The version to copy back; None deletes the file (it did not exist then)."""


def plan_rollback(revisions: list[Revision], target: Revision) -> list[Restore]:
    """What to write so the template's files are again as they were at `target`."""
    state: dict[str, FileVersion] = {}
    current: dict[str, FileVersion] = {}
    for revision in revisions:
        for version in revision.files:
            if revision.number <= target.number:
                state[version.key] = version
            current[version.key] = version
    restores = []
    for key, now in sorted(current.items()):
        then = state.get(key)
        if then is None or then.deleted:
            if not now.deleted:
                restores.append(Restore(key, None))
        elif then.version_id != now.version_id:
            restores.append(Restore(key, then.version_id))
    return restores


def rollback(s3: Any, bucket: str, restores: list[Restore]) -> str:
    """Apply `plan_rollback`'s restores as new versions (so a rollback can be rolled back)."""
    revision = new_revision_id()
    for restore in restores:
        if restore.version_id is None:
            s3.delete_object(Bucket=bucket, Key=restore.key)
            continue
        s3.copy_object(
            Bucket=bucket,
            Key=restore.key,
            CopySource={"Bucket": bucket, "Key": restore.key, "VersionId": restore.version_id},
            MetadataDirective="REPLACE",
            ContentType=content_type(restore.key),
            Metadata={REVISION_METADATA: revision},
        )
    return revision


def _versions(s3: Any, bucket: str, prefix: str) -> list[FileVersion]:
    found: list[FileVersion] = []
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for listing, deleted in (("Versions", False), ("DeleteMarkers", True)):
            for item in page.get(listing, []):
                found.append(
                    FileVersion(
                        key=item["Key"],
                        version_id=item["VersionId"],
                        last_modified=item["LastModified"],
                        deleted=deleted,
                        # A delete marker has no metadata: it groups by its time.
                        revision=_time_revision(item["LastModified"])
                        if deleted
                        else _revision_of(s3, bucket, item),
                    )
                )
    return found


def _revision_of(s3: Any, bucket: str, item: Mapping[str, Any]) -> str:
    head = s3.head_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
    return head.get("Metadata", {}).get(REVISION_METADATA) or _time_revision(item["LastModified"])


def _time_revision(moment: datetime) -> str:
    # Objects written without a revision stamp (by `pulumi up` or by hand) group by the second.
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
