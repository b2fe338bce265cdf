"""`sesmail suppression list|add|remove|export`.

An address has at most one entry: an address-wide `reason` (every reason blocks all mail, but
`unsubscribe`, which blocks all marketing) and/or the marketing `topics` it unsubscribed from.
`--topic` edits the topics through the same adapter the unsubscribe endpoint writes with."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from typing import Any

import click
from pydantic import TypeAdapter, ValidationError
from rich.progress import Progress
from sesmailengine.handlers.aws.suppression import UNSUBSCRIBED_TOPICS
from sesmailengine.handlers.aws.unsubscribes import Unsubscribes
from sesmailengine.handlers.core.compiling import Topic

from . import Context, aws_errors, main

REASONS = ("hard_bounce", "complaint", "soft_bounce", "manual", "unsubscribe")
COLUMNS = ("email", "reason", "topics", "createdAt")
CLI_SOURCE = "cli"
"""The `source` of topic unsubscribes made here."""


@main.group()
def suppression() -> None:
    """The suppression list: addresses the engine will not send to."""


def _table(ctx: Context, table: str | None) -> tuple[Any, str]:
    target = ctx.target(suppressionTableName=table)
    return target.client("dynamodb"), target.name("suppressionTableName")


def _entries(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    entries = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            entries.append(_entry(item))
    return sorted(entries, key=lambda entry: entry["email"])


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    """An item as the command shows it: `topics` (sorted, [] for none) for the string set."""
    entry: dict[str, Any] = {
        key: value.get("S", str(value)) for key, value in item.items() if key != UNSUBSCRIBED_TOPICS
    }
    entry["topics"] = sorted(item.get(UNSUBSCRIBED_TOPICS, {}).get("SS", []))
    return entry


def _now() -> datetime:
    return datetime.now(UTC)


table_option = click.option("--table", help="Suppression table (default: suppressionTableName).")


@suppression.command("list")
@table_option
@click.pass_obj
@aws_errors
def list_(ctx: Context, table: str | None) -> None:
    """Every suppressed address: its reason and the topics it unsubscribed from."""
    dynamodb, name = _table(ctx, table)
    ctx.emit(_entries(dynamodb, name), columns=COLUMNS, title="Suppression list")


_TOPIC = TypeAdapter(Topic)


def _topics(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
    """Each --topic spelled as templates spell their `topic`."""
    for topic in [value] if isinstance(value, str) else value or ():
        try:
            _TOPIC.validate_python(topic)
        except ValidationError as error:
            message = error.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
            raise click.BadParameter(f"{topic!r}: {message}") from None
    return value


topic_option = click.option(
    "--topic",
    "topics",
    multiple=True,
    metavar="TOPIC",
    callback=_topics,
    help="A marketing topic (a template's `topic`); repeat for several.",
)


@suppression.command()
@click.argument("address")
@click.option(
    "--reason",
    type=click.Choice(REASONS),
    help="Address-wide reason (default: manual, which blocks everything).",
)
@topic_option
@table_option
@click.pass_obj
@aws_errors
def add(
    ctx: Context, address: str, reason: str | None, topics: tuple[str, ...], table: str | None
) -> None:
    """Suppress an address, or with --topic unsubscribe it from those marketing topics."""
    if reason and topics:
        raise click.UsageError("give --reason or --topic, not both")
    dynamodb, name = _table(ctx, table)
    email = address.strip().lower()
    if topics:
        Unsubscribes(name, lambda: dynamodb).leave_topics(email, topics, CLI_SOURCE, _now())
        item = dynamodb.get_item(TableName=name, Key={"email": {"S": email}}, ConsistentRead=True)
        ctx.emit(_entry(item["Item"]), columns=COLUMNS, title="Unsubscribed")
        return
    entry = {
        "email": email,
        "reason": reason or "manual",
        "createdAt": _now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    # SET, not a put: topics the address left stay recorded.
    dynamodb.update_item(
        TableName=name,
        Key={"email": {"S": email}},
        UpdateExpression="SET #reason = :reason, createdAt = :createdAt",
        ExpressionAttributeNames={"#reason": "reason"},
        ExpressionAttributeValues={
            ":reason": {"S": entry["reason"]},
            ":createdAt": {"S": entry["createdAt"]},
        },
    )
    ctx.emit(entry, columns=COLUMNS, title="Suppressed")


@suppression.command()
@click.argument("address")
@click.option(
    "--topic",
    callback=_topics,
    help="Resubscribe the address to this topic only; its other entries stay.",
)
@table_option
@click.pass_obj
@aws_errors
def remove(ctx: Context, address: str, topic: str | None, table: str | None) -> None:
    """Allow an address again (its whole entry), or with --topic one marketing topic."""
    dynamodb, name = _table(ctx, table)
    email = address.strip().lower()
    if topic is not None:
        if not Unsubscribes(name, lambda: dynamodb).rejoin_topic(email, topic):
            raise click.ClickException(f"{address} is not unsubscribed from {topic}")
        ctx.emit(
            {"email": email, "topic": topic, "removed": True},
            columns=("email", "topic", "removed"),
        )
        return
    old = dynamodb.delete_item(
        TableName=name, Key={"email": {"S": email}}, ReturnValues="ALL_OLD"
    ).get("Attributes")
    if not old:
        raise click.ClickException(f"{address} is not suppressed")
    ctx.emit({"email": email, "removed": True}, columns=("email", "removed"))


@suppression.command()
@click.option("--output", type=click.File("w"), default="-", help="CSV file (default: stdout).")
@table_option
@click.pass_obj
@aws_errors
def export(ctx: Context, output: Any, table: str | None) -> None:
    """Write the suppression list as CSV (email, reason, topics space-separated, createdAt)."""
    dynamodb, name = _table(ctx, table)
    with Progress(disable=output is sys.stdout, transient=True) as progress:
        progress.add_task("Reading the suppression list", total=None)
        entries = _entries(dynamodb, name)
    writer = csv.DictWriter(output, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(entry | {"topics": " ".join(entry["topics"])} for entry in entries)
    if output is not sys.stdout:
        click.echo(f"{len(entries)} addresses written", err=True)
