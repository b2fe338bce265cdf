"""`sesmail suppression list|add|remove|export`."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from typing import Any

import click
from rich.progress import Progress

from . import Context, aws_errors, main

REASONS = ("hard_bounce", "complaint", "soft_bounce", "manual", "unsubscribe")
COLUMNS = ("email", "reason", "createdAt")


@main.group()
def suppression() -> None:
    """The suppression list: addresses the engine will not send to."""


def _table(ctx: Context, table: str | None) -> tuple[Any, str]:
    target = ctx.target(suppressionTableName=table)
    return target.client("dynamodb"), target.name("suppressionTableName")


def _entries(dynamodb: Any, table: str) -> list[dict[str, str]]:
    entries = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            entries.append({key: value.get("S", str(value)) for key, value in item.items()})
    return sorted(entries, key=lambda entry: entry["email"])


table_option = click.option("--table", help="Suppression table (default: suppressionTableName).")


@suppression.command("list")
@table_option
@click.pass_obj
@aws_errors
def list_(ctx: Context, table: str | None) -> None:
    """Every suppressed address."""
    dynamodb, name = _table(ctx, table)
    ctx.emit(_entries(dynamodb, name), columns=COLUMNS, title="Suppression list")


@suppression.command()
@click.argument("address")
@click.option("--reason", type=click.Choice(REASONS), default="manual", show_default=True)
@table_option
@click.pass_obj
@aws_errors
def add(ctx: Context, address: str, reason: str, table: str | None) -> None:
    """Suppress an address."""
    dynamodb, name = _table(ctx, table)
    entry = {
        "email": address.strip().lower(),
        "reason": reason,
        "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    dynamodb.put_item(TableName=name, Item={k: {"S": v} for k, v in entry.items()})
    ctx.emit(entry, columns=COLUMNS, title="Suppressed")


@suppression.command()
@click.argument("address")
@table_option
@click.pass_obj
@aws_errors
def remove(ctx: Context, address: str, table: str | None) -> None:
    """Allow an address again."""
    dynamodb, name = _table(ctx, table)
    old = dynamodb.delete_item(
        TableName=name, Key={"email": {"S": address.strip().lower()}}, ReturnValues="ALL_OLD"
    ).get("Attributes")
    if not old:
        raise click.ClickException(f"{address} is not suppressed")
    ctx.emit({"email": address.strip().lower(), "removed": True}, columns=("email", "removed"))


@suppression.command()
@click.option("--output", type=click.File("w"), default="-", help="CSV file (default: stdout).")
@table_option
@click.pass_obj
@aws_errors
def export(ctx: Context, output: Any, table: str | None) -> None:
    """Write the suppression list as CSV (email, reason, createdAt)."""
    dynamodb, name = _table(ctx, table)
    with Progress(disable=output is sys.stdout, transient=True) as progress:
        progress.add_task("Reading the suppression list", total=None)
        entries = _entries(dynamodb, name)
    writer = csv.DictWriter(output, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(entries)
    if output is not sys.stdout:
        click.echo(f"{len(entries)} addresses written", err=True)
