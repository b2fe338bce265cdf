"""`sesmail templates`: validate, preview, push (with a diff), history and rollback."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..templates import publish, revisions
from ..templates.errors import TemplateToolError
from ..templates.folders import template_names
from ..templates.preview import CHROMIUM_HINT, find_chromium, write_preview
from ..templates.validate import validate_all
from . import Context, main

DIR_OPTION = click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("templates"),
    show_default=True,
    help="Folder holding the template folders and the shared _layouts/ and _partials/.",
)
BUCKET_OPTION = click.option(
    "--bucket", help="Template bucket (default: the deployment's templateBucketName)."
)


@main.group("templates")
def templates() -> None:
    """Check, preview and publish email templates."""


def _bucket_and_client(ctx: click.Context, bucket: str | None) -> tuple[str, object]:
    obj: Context = ctx.obj
    target = obj.target(templateBucketName=bucket)
    try:
        name = target.name("templateBucketName")
    except Exception as error:  # TargetError: no bucket for this deployment
        raise click.ClickException(str(error)) from None
    return name, target.client("s3")


def _fail(error: TemplateToolError) -> click.ClickException:
    return click.ClickException(str(error))


@templates.command("validate")
@click.argument("names", nargs=-1)
@DIR_OPTION
@click.pass_context
def validate(ctx: click.Context, names: tuple[str, ...], root: Path) -> None:
    """Check templates: metadata, declared versus used variables, and that each renders with
    its own sampleData. Exits 1 if any template has a problem."""
    reports = validate_all(root, names or None)
    if ctx.obj.as_json:
        click.echo(json.dumps({r.name: r.problems for r in reports}, indent=2))
    else:
        for report in reports:
            if report.ok:
                click.echo(f"ok    {report.name}")
            else:
                click.echo(f"FAIL  {report.name}")
                for problem in report.problems:
                    click.echo(f"      - {problem}")
    if not reports:
        raise click.ClickException(f"no templates in {root}")
    if any(not report.ok for report in reports):
        ctx.exit(1)


@templates.command("preview")
@click.argument("names", nargs=-1)
@DIR_OPTION
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("preview"),
    show_default=True,
    help="Where the rendered files go.",
)
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON file of templateData to use instead of each template's sampleData.",
)
@click.option("--png", is_flag=True, help="Also screenshot each at desktop and 375 px widths.")
@click.pass_context
def preview(
    ctx: click.Context,
    names: tuple[str, ...],
    root: Path,
    out: Path,
    data: Path | None,
    png: bool,
) -> None:
    """Render templates to HTML and text files (and PNG screenshots with --png)."""
    values = json.loads(data.read_text()) if data else None
    wanted = list(names) or template_names(root)
    if png and find_chromium() is None:
        click.echo(f"note: {CHROMIUM_HINT}; writing HTML and text only", err=True)
        png = False
    for name in wanted:
        try:
            files = write_preview(root, name, out, values, png=png)
        except TemplateToolError as error:
            raise _fail(error) from None
        for path in (files.html, files.text, *files.screenshots):
            click.echo(str(path))


@templates.command("push")
@click.argument("names", nargs=-1)
@DIR_OPTION
@BUCKET_OPTION
@click.option("--yes", is_flag=True, help="Upload without asking.")
@click.option("--dry-run", is_flag=True, help="Show what would change, upload nothing.")
@click.pass_context
def push(
    ctx: click.Context,
    names: tuple[str, ...],
    root: Path,
    bucket: str | None,
    yes: bool,
    dry_run: bool,
) -> None:
    """Validate, show what changes against the bucket, then upload. Shared files (_layouts/,
    _partials/) are always included: every template that uses them sees the change."""
    wanted = list(names) or template_names(root)
    broken = [r for r in validate_all(root, wanted) if not r.ok]
    if broken:
        for report in broken:
            click.echo(f"FAIL  {report.name}: " + "; ".join(report.problems), err=True)
        raise click.ClickException("fix the templates above before pushing")
    bucket_name, s3 = _bucket_and_client(ctx, bucket)
    try:
        plan = publish.plan_push(s3, bucket_name, root, wanted)
    except TemplateToolError as error:
        raise _fail(error) from None
    for key in plan.only_in_bucket:
        click.echo(f"kept  {key} (only in the bucket)")
    if not plan.pending:
        click.echo("Nothing to push: the bucket already has these files.")
        return
    for change in plan.pending:
        click.secho(f"{change.kind:<7} {change.key}", bold=True)
        click.echo(change.diff())
    if dry_run:
        click.echo(f"{len(plan.pending)} file(s) would change (dry run).")
        return
    if not yes and not click.confirm(f"Upload {len(plan.pending)} file(s) to {bucket_name}?"):
        raise click.ClickException("nothing uploaded")
    revision = publish.push(s3, plan)
    click.echo(f"Pushed {len(plan.pending)} file(s) as revision {revision}.")


@templates.command("history")
@click.argument("name")
@BUCKET_OPTION
@click.pass_context
def history(ctx: click.Context, name: str, bucket: str | None) -> None:
    """List a template's revisions from the bucket's object versions (newest last)."""
    bucket_name, s3 = _bucket_and_client(ctx, bucket)
    try:
        found = revisions.history(s3, bucket_name, name)
    except TemplateToolError as error:
        raise _fail(error) from None
    if ctx.obj.as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "number": r.number,
                        "revision": r.revision,
                        "time": r.time.isoformat(),
                        "files": [
                            {"key": v.key, "versionId": v.version_id, "deleted": v.deleted}
                            for v in r.files
                        ],
                    }
                    for r in found
                ],
                indent=2,
            )
        )
        return
    for revision in found:
        current = "  (current)" if revision is found[-1] else ""
        click.echo(
            f"{revision.number:>3}  {revision.time:%Y-%m-%d %H:%M:%S}  {revision.revision:<24}"
            f"  {revision.describe()}{current}"
        )


@templates.command("rollback")
@click.argument("name")
@click.option(
    "--to",
    "to",
    required=True,
    help="Revision number or id from `history`, or an S3 VersionId of one of its files.",
)
@BUCKET_OPTION
@click.option("--yes", is_flag=True, help="Roll back without asking.")
@click.pass_context
def rollback(ctx: click.Context, name: str, to: str, bucket: str | None, yes: bool) -> None:
    """Restore a template's files as they were at an earlier revision (written as new
    versions, so the rollback itself shows in history and can be undone)."""
    bucket_name, s3 = _bucket_and_client(ctx, bucket)
    try:
        found = revisions.history(s3, bucket_name, name)
        target = revisions.resolve_revision(found, to)
    except TemplateToolError as error:
        raise _fail(error) from None
    restores = revisions.plan_rollback(found, target)
    if not restores:
        click.echo(f"{name} already matches revision {target.number}.")
        return
    for restore in restores:
        action = "delete " if restore.version_id is None else f"restore {restore.version_id} of"
        click.echo(f"{action} {restore.key}")
    if not yes and not click.confirm(f"Roll {name} back to revision {target.number}?"):
        raise click.ClickException("nothing changed")
    revision = revisions.rollback(s3, bucket_name, restores)
    click.echo(f"{name} is back at revision {target.number} (written as {revision}).")
