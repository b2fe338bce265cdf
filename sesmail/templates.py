"""Template tooling: validate, preview, push (with a diff), history and rollback.

The functions here are what `sesmail templates ...` runs; they take folders, names and an S3
client, and print nothing. Rendering uses the sender's own code
(`sesmailengine.handlers.core`): the same Jinja2 sandbox, the same shared-file loader (reading
`_layouts/` and `_partials/` from the local folder instead of S3), the same CSS inlining, so a
preview is what a recipient gets.

A template folder is `templates/<name>/` with `template.html`, `template.txt` (optional) and
`metadata.json`; top-level folders whose name starts with `_` hold shared files and are not
templates. In the bucket everything lives under `templates/`.
"""

from __future__ import annotations

import difflib
import json
import mimetypes
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import nodes
from jinja2.meta import find_referenced_templates
from pydantic import ConfigDict, Field, ValidationError
from sesmailengine.handlers.core.brand import Brand, engine_variables
from sesmailengine.handlers.core.compiling import (
    ENGINE_VARIABLES,
    SHARED_FOLDER_PREFIX,
    SharedFileLoader,
    TemplateEnvironments,
    TemplateMetadata,
    compile_template,
)
from sesmailengine.handlers.core.errors import TemplateInvalid
from sesmailengine.handlers.core.rendering import RenderedTemplate, RenderFailed, render
from sesmailengine.handlers.core.statuses import Category

MARKETING = Category.MARKETING

BUCKET_PREFIX = "templates/"
TEMPLATE_FILES = ("template.html", "template.txt", "metadata.json")
REVISION_METADATA = "sesmail-revision"
"""S3 user metadata that `push` and `rollback` stamp on every object they write, so `history`
can group the files of one push into one revision."""

PREVIEW_BRAND = Brand(
    name="Example",
    url="https://www.example.com",
    address="1 Example Street, Springfield",
)
PREVIEW_UNSUBSCRIBE_URL = "https://unsubscribe.example.com/?token=preview"
SCREEN_WIDTHS = {"desktop": 1024, "mobile": 375}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_HINT = (
    "PNG screenshots need headless Chromium; install it with `sudo apt-get install chromium` "
    "(Debian, Ubuntu) and run the command again"
)


class TemplateToolError(RuntimeError):
    """Something the user asked for cannot be done; the message says why."""


# --- Reading templates ------------------------------------------------------------------------


class StrictMetadata(TemplateMetadata):
    """`metadata.json` as `validate` reads it: the sender's fields plus the documented extras,
    and nothing else, so a misspelt key is reported instead of silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    sampleData: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class TemplateFolder:
    """One template's files as read from disk."""

    name: str
    html: str
    text: str | None
    metadata_json: str

    @classmethod
    def read(cls, root: Path, name: str) -> TemplateFolder:
        folder = root / name
        if name.startswith(SHARED_FOLDER_PREFIX):
            raise TemplateToolError(f"{name}: folders starting with '_' hold shared files")
        if not folder.is_dir():
            raise TemplateToolError(f"no template {name!r} in {root}")
        missing = [f for f in ("template.html", "metadata.json") if not (folder / f).is_file()]
        if missing:
            raise TemplateToolError(f"{name}: {', '.join(missing)} missing")
        text_file = folder / "template.txt"
        return cls(
            name=name,
            html=(folder / "template.html").read_text(encoding="utf-8"),
            text=text_file.read_text(encoding="utf-8") if text_file.is_file() else None,
            metadata_json=(folder / "metadata.json").read_text(encoding="utf-8"),
        )


def template_names(root: Path) -> list[str]:
    """Every template folder under `root` (those holding a `metadata.json`), sorted."""
    return sorted(
        path.parent.name
        for path in root.glob("*/metadata.json")
        if not path.parent.name.startswith((SHARED_FOLDER_PREFIX, "."))
    )


def local_environments(root: Path) -> TemplateEnvironments:
    """Jinja environments whose shared files come from `root` (never cached)."""

    def fetch(path: str) -> str | None:
        file = root / path
        return file.read_text(encoding="utf-8") if file.is_file() else None

    return TemplateEnvironments(SharedFileLoader(fetch, ttl_seconds=0, clock=lambda: 0.0))


# --- Rendering and validation ---------------------------------------------------------------


def render_template(
    root: Path,
    name: str,
    data: Mapping[str, Any] | None = None,
    brand: Brand = PREVIEW_BRAND,
    now: datetime | None = None,
) -> RenderedTemplate:
    """Render a local template as the sender would (`data` defaults to its `sampleData`).
    Marketing templates get a placeholder unsubscribe link."""
    folder = TemplateFolder.read(root, name)
    try:
        compiled = compile_template(
            name, folder.html, folder.text, folder.metadata_json, local_environments(root)
        )
    except TemplateInvalid as error:
        raise TemplateToolError(f"{name}: {error}") from None
    if data is None:
        data = compiled.metadata.sampleData or {}
    unsubscribe = PREVIEW_UNSUBSCRIBE_URL if compiled.category is MARKETING else None
    try:
        return render(compiled, data, engine_variables(brand, now, unsubscribe))
    except RenderFailed as error:
        raise TemplateToolError(f"{name}: {error.reason}") from None


@dataclass
class ValidationReport:
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_template(root: Path, name: str) -> ValidationReport:
    """Every problem with one template: metadata schema, variables used but not declared or
    declared but not used, shared files that do not exist, and rendering its own sampleData."""
    report = ValidationReport(name)
    try:
        folder = TemplateFolder.read(root, name)
    except TemplateToolError as error:
        report.problems.append(str(error))
        return report
    try:
        metadata = StrictMetadata.model_validate(json.loads(folder.metadata_json))
    except ValueError as error:  # ValidationError is a ValueError
        report.problems.extend(_metadata_problems(error))
        return report
    if folder.text is None:
        report.problems.append("template.txt missing: write a text part (the derived one is bare)")
    envs = local_environments(root)
    sources = _sources(folder, metadata)
    try:
        used = _used_variables(envs, sources, root)
    except (TemplateToolError, TemplateInvalid) as error:
        report.problems.append(str(error))
        return report
    declared = set(metadata.requiredVariables) | set(metadata.optionalVariables)
    reserved = declared & ENGINE_VARIABLES
    for variable in sorted(reserved):
        report.problems.append(f"{variable} is set by the engine and must not be declared")
    for variable in sorted(used - declared - ENGINE_VARIABLES):
        report.problems.append(
            f"uses {variable!r}, which is in neither requiredVariables nor optionalVariables"
        )
    for variable in sorted(declared - used - ENGINE_VARIABLES):
        report.problems.append(f"declares {variable!r} but never uses it")
    for variable in sorted(set(metadata.requiredVariables) & set(metadata.optionalVariables)):
        report.problems.append(f"{variable!r} is both required and optional")
    if not metadata.sampleData:
        report.problems.append("sampleData is missing or empty: previews and tests need it")
    else:
        missing = [v for v in metadata.requiredVariables if v not in metadata.sampleData]
        if missing:
            report.problems.append(f"sampleData lacks required {', '.join(missing)}")
        else:
            try:
                render_template(root, name, metadata.sampleData)
            except TemplateToolError as error:
                report.problems.append(f"does not render with its sampleData: {error}")
    return report


def validate_all(root: Path, names: Iterable[str] | None = None) -> list[ValidationReport]:
    return [validate_template(root, name) for name in (names or template_names(root))]


def _metadata_problems(error: ValueError) -> list[str]:
    if not isinstance(error, ValidationError):
        return [f"metadata.json is not JSON: {error}"]
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "metadata.json"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        problems.append(f"metadata.json {where}: {message}")
    return problems


def _sources(folder: TemplateFolder, metadata: TemplateMetadata) -> dict[str, tuple[str, bool]]:
    """Every Jinja source of a template: where → (source, is HTML)."""
    sources = {"template.html": (folder.html, True)}
    if folder.text is not None:
        sources["template.txt"] = (folder.text, False)
    sources["metadata.json subject"] = (metadata.subject, False)
    for key in ("senderEmail", "senderName"):
        value = getattr(metadata, key)
        if value:
            sources[f"metadata.json {key}"] = (value, False)
    for index, value in enumerate(metadata.replyTo):
        sources[f"metadata.json replyTo[{index}]"] = (value, False)
    return sources


def _used_variables(
    envs: TemplateEnvironments, sources: Mapping[str, tuple[str, bool]], root: Path
) -> set[str]:
    """Names read from the render context by the sources and every shared file they reach."""
    used: set[str] = set()
    seen: set[str] = set()
    pending = [(where, source, html) for where, (source, html) in sources.items()]
    while pending:
        where, source, html = pending.pop()
        env = envs.html if html else envs.text
        try:
            tree = env.parse(source)
        except Exception as error:
            raise TemplateToolError(f"{where}: {error}") from None
        used |= _context_names(tree)
        for reference in find_referenced_templates(tree):
            if reference is None:
                continue  # a computed name cannot be followed
            if reference in seen:
                continue
            seen.add(reference)
            file = root / reference
            if not reference.startswith(SHARED_FOLDER_PREFIX) or not file.is_file():
                raise TemplateToolError(f"{where}: shared file {reference!r} not found in {root}")
            pending.append((reference, file.read_text(encoding="utf-8"), file.suffix == ".html"))
    return used


def _context_names(tree: nodes.Template) -> set[str]:
    """Names a template loads from its context, minus what it binds itself (imports, macros,
    loop variables and `set`s anywhere, which Jinja's own analysis misses inside blocks)."""
    from jinja2.meta import find_undeclared_variables

    bound: set[str] = set()
    for node in tree.find_all((nodes.Import, nodes.FromImport, nodes.Macro, nodes.Assign)):
        if isinstance(node, nodes.Import):
            bound.add(node.target)
        elif isinstance(node, nodes.FromImport):
            bound.update(name if isinstance(name, str) else name[1] for name in node.names)
        elif isinstance(node, nodes.Macro):
            bound.add(node.name)
        else:
            bound.update(n.name for n in node.target.find_all(nodes.Name))
    return set(find_undeclared_variables(tree)) - bound


# --- Preview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewFiles:
    name: str
    html: Path
    text: Path
    screenshots: tuple[Path, ...] = ()


def find_chromium() -> str | None:
    for candidate in CHROMIUM_NAMES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def write_preview(
    root: Path,
    name: str,
    out_dir: Path,
    data: Mapping[str, Any] | None = None,
    png: bool = False,
    chromium: str | None = None,
) -> PreviewFiles:
    """Render `name` to `<out>/<name>.html` and `.txt` (and with `png`, `<name>-desktop.png`
    and `<name>-mobile.png`). Raises TemplateToolError if PNGs are asked for without Chromium."""
    rendered = render_template(root, name, data)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, text_path = out_dir / f"{name}.html", out_dir / f"{name}.txt"
    html_path.write_text(rendered.html, encoding="utf-8")
    text_path.write_text(f"Subject: {rendered.subject}\n\n{rendered.text}", encoding="utf-8")
    shots: list[Path] = []
    if png:
        browser = chromium or find_chromium()
        if browser is None:
            raise TemplateToolError(CHROMIUM_HINT)
        for label, width in SCREEN_WIDTHS.items():
            shot = out_dir / f"{name}-{label}.png"
            screenshot(browser, html_path, shot, width)
            shots.append(shot)
    return PreviewFiles(name, html_path, text_path, tuple(shots))


def screenshot(chromium: str, html: Path, out: Path, width: int, height: int = 1600) -> None:
    """A PNG of `html` at `width` CSS pixels, taken by headless Chromium (network off)."""
    with tempfile.TemporaryDirectory() as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--proxy-server=127.0.0.1:9",  # remote images are not fetched
            "--proxy-bypass-list=<-loopback>",
            f"--window-size={width},{height}",
            f"--screenshot={out}",
            html.resolve().as_uri(),
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise TemplateToolError(f"Chromium took too long to render {html.name}") from None
    if result.returncode != 0 or not out.is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise TemplateToolError(f"Chromium could not screenshot {html.name}: {' '.join(detail)}")


# --- Push -----------------------------------------------------------------------------------


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
                tofile=f"local/{self.key.removeprefix(BUCKET_PREFIX)}",
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


def local_files(root: Path, names: Iterable[str] | None = None) -> dict[str, Path]:
    """Bucket key → local file, for the named templates (all when None) and every shared file
    (a template is not complete without the layouts it extends)."""
    wanted = list(names) if names else template_names(root)
    files: dict[str, Path] = {}
    folders = [root / name for name in wanted] + [
        path
        for path in sorted(root.iterdir())
        if path.is_dir()
        and path.name.startswith(SHARED_FOLDER_PREFIX)
        and path.name != "__pycache__"
    ]
    for folder in folders:
        if not folder.is_dir():
            raise TemplateToolError(f"no template folder {folder}")
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and not any(p.startswith((".", "__")) for p in relative.parts):
                files[BUCKET_PREFIX + relative.as_posix()] = path
    return files


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
        prefix = f"{BUCKET_PREFIX}{name}/"
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
            ContentType=_content_type(change.key),
            Metadata={REVISION_METADATA: revision},
        )
    return revision


def new_revision_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{uuid.uuid4().hex[:6]}"


def _get(s3: Any, bucket: str, key: str, version: str | None = None) -> bytes | None:
    from botocore.exceptions import ClientError

    params = {"Bucket": bucket, "Key": key}
    if version:
        params["VersionId"] = version
    try:
        return s3.get_object(**params)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def _content_type(key: str) -> str:
    guessed, _ = mimetypes.guess_type(key)
    text = guessed or "application/octet-stream"
    return f"{text}; charset=utf-8" if text.startswith("text/") else text


# --- History and rollback ---------------------------------------------------------------------


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
    versions = _versions(s3, bucket, f"{BUCKET_PREFIX}{name}/")
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
            ContentType=_content_type(restore.key),
            Metadata={REVISION_METADATA: revision},
        )
    return revision


def _versions(s3: Any, bucket: str, prefix: str) -> list[FileVersion]:
    found: list[FileVersion] = []
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Versions", []):
            found.append(
                FileVersion(
                    key=item["Key"],
                    version_id=item["VersionId"],
                    last_modified=item["LastModified"],
                    deleted=False,
                    revision=_revision_of(s3, bucket, item),
                )
            )
        for item in page.get("DeleteMarkers", []):
            found.append(
                FileVersion(
                    key=item["Key"],
                    version_id=item["VersionId"],
                    last_modified=item["LastModified"],
                    deleted=True,
                    revision=_time_revision(item["LastModified"]),
                )
            )
    return found


def _revision_of(s3: Any, bucket: str, item: Mapping[str, Any]) -> str:
    head = s3.head_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
    return head.get("Metadata", {}).get(REVISION_METADATA) or _time_revision(item["LastModified"])


def _time_revision(moment: datetime) -> str:
    # Objects written without a revision stamp (by `pulumi up` or by hand) group by the second.
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
