"""`sesmail send`, `sesmail status`, `sesmail history`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from boto3.dynamodb.types import TypeDeserializer
from rich.progress import track

from ..client import Email, EmailClient, InvalidEmailRequest, PutEventsFailed
from ..target import Target
from . import Context, aws_errors, main

STATUS_COLUMNS = ("emailId", "status", "toEmail", "templateName", "timestamp", "statusReason")


def _data(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise click.BadParameter("must be a JSON object")
    return data


def _tags(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for value in values:
        name, equals, tag = value.partition("=")
        if not equals:
            raise click.BadParameter(f"{value!r}: use NAME=VALUE")
        tags[name] = tag
    return tags


@main.command()
@click.option("--to", help="Recipient address.")
@click.option("--template", help="Template name (folder under templates/).")
@click.option("--data", callback=_data, help="Template data: JSON, or @file.json.")
@click.option("--email-id", help="Idempotency key (default: a new UUID).")
@click.option("--sender", help="From address overriding the template's.")
@click.option(
    "--tag", "tags", multiple=True, callback=_tags, help="SES message tag NAME=VALUE (repeatable)."
)
@click.option(
    "--batch",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON Lines file, one request per line: {to, template, data, emailId, ...}.",
)
@click.option("--source", default="sesmail.cli", show_default=True, help="Event source.")
@click.option("--bus", help="Event bus name (default: the stack's eventBusName).")
@click.option("--bucket", help="Template bucket (default: the stack's templateBucketName).")
@click.option(
    "--no-check",
    is_flag=True,
    help="Do not check that each template exists in the bucket and gets its required variables.",
)
@click.pass_obj
@aws_errors
def send(
    ctx: Context,
    to: str | None,
    template: str | None,
    data: dict[str, Any],
    email_id: str | None,
    sender: str | None,
    tags: dict[str, str],
    batch: Path | None,
    source: str,
    bus: str | None,
    bucket: str | None,
    no_check: bool,
) -> None:
    """Request email: one (--to, --template) or many (--batch). Each request is validated as
    the sender would, and its template looked up in the deployment's bucket (see --no-check),
    before anything is put on the bus."""
    target = ctx.target(eventBusName=bus, templateBucketName=bucket)
    client = EmailClient(target.name("eventBusName"), source, events_client=target.client("events"))
    if batch is not None:
        lines = enumerate(batch.read_text().splitlines(), start=1)
        emails = [_email_from_line(batch, number, line) for number, line in lines if line.strip()]
    elif to and template:
        emails = [Email(to, template, data, email_id, sender, tags=tags or None)]
    else:
        raise click.UsageError("give --to and --template, or --batch FILE")
    try:
        for email in emails:
            client.validate(email)
        if not no_check:
            _check_templates(target, emails)
        ids = []
        chunks = [emails[i : i + 100] for i in range(0, len(emails), 100)]
        for chunk in track(chunks, description="Sending", disable=len(chunks) < 2 or ctx.as_json):
            ids += client.send_many(chunk)
    except (InvalidEmailRequest, PutEventsFailed) as error:
        raise click.ClickException(str(error)) from None
    ctx.emit([{"emailId": i} for i in ids], columns=("emailId",), title="Requested")


def _check_templates(target: Target, emails: Sequence[Email]) -> None:
    """Each email's template is in the deployment's bucket, and its data holds every variable
    the template's metadata.json requires: what the sender would otherwise fail the email for,
    minutes later. Read as the sender reads it (`TemplateStore`), each template once."""
    from sesmailengine.handlers.aws.templates import TemplateStore
    from sesmailengine.handlers.core.errors import NotFound, TemplateInvalid
    from sesmailengine.handlers.core.rendering import missing_variables

    s3 = target.client("s3")
    bucket = target.name("templateBucketName")
    # One command's life: no template changes under it that matters.
    store = TemplateStore(bucket, ttl_seconds=3600, client=lambda: s3)
    for email in emails:
        try:
            template = store.get(email.template)
        except NotFound as error:
            raise click.ClickException(
                f"{error} in bucket {bucket} (--no-check skips this check)"
            ) from None
        except TemplateInvalid as error:
            raise click.ClickException(f"template {email.template!r} is broken: {error}") from None
        missing = missing_variables(template, email.data)
        if missing:
            raise click.ClickException(
                f"template {email.template!r} requires {', '.join(missing)}: missing from the "
                f"data of the email to {email.to} (--no-check skips this check)"
            )


def _email_from_line(batch: Path, number: int, line: str) -> Email:
    try:
        request = json.loads(line)
        return _email(request)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        problem = f"no {error}" if isinstance(error, KeyError) else str(error)
        raise click.ClickException(f"{batch}:{number}: {problem}") from None


def _email(request: dict[str, Any]) -> Email:
    return Email(
        to=request["to"],
        template=request.get("template") or request["templateName"],
        data=request.get("data") or request.get("templateData") or {},
        email_id=request.get("emailId"),
        sender=request.get("sender") or request.get("senderOverride"),
        reply_to=request.get("replyTo"),
        subject=request.get("subject"),
        metadata=request.get("metadata"),
        tags=request.get("tags"),
    )


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    deserializer = TypeDeserializer()
    return {key: _number(deserializer.deserialize(value)) for key, value in item.items()}


def _number(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    return value


@main.command()
@click.argument("email_id")
@click.option("--table", help="EmailTracking table (default: the stack's trackingTableName).")
@click.pass_obj
@aws_errors
def status(ctx: Context, email_id: str, table: str | None) -> None:
    """Show one email's tracking item."""
    target = ctx.target(trackingTableName=table)
    item = target.client("dynamodb").get_item(
        TableName=target.name("trackingTableName"),
        Key={"emailId": {"S": email_id}},
        ConsistentRead=True,
    )
    if "Item" not in item:
        raise click.ClickException(f"no email {email_id!r} is tracked")
    ctx.emit(_plain(item["Item"]), columns=STATUS_COLUMNS, title=f"Email {email_id}")


@main.command()
@click.option("--to", "address", required=True, help="Recipient address.")
@click.option("--limit", default=20, show_default=True, help="Most recent emails to show.")
@click.option("--table", help="EmailTracking table (default: the stack's trackingTableName).")
@click.pass_obj
@aws_errors
def history(ctx: Context, address: str, limit: int, table: str | None) -> None:
    """Emails to one address, newest first (to-email-timestamp-index)."""
    target = ctx.target(trackingTableName=table)
    response = target.client("dynamodb").query(
        TableName=target.name("trackingTableName"),
        IndexName="to-email-timestamp-index",
        KeyConditionExpression="toEmail = :to",
        ExpressionAttributeValues={":to": {"S": address.strip().lower()}},
        ScanIndexForward=False,
        Limit=limit,
    )
    rows = [_plain(item) for item in response["Items"]]
    ctx.emit(rows, columns=STATUS_COLUMNS, title=f"Emails to {address}")
