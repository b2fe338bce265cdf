"""`sesmail cancel EMAIL_ID`: cancel a scheduled email before its `sendAt`."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from sesmailengine.handlers.aws.schedules import NotCancellable, OneTimeSchedules, cancel_scheduled
from sesmailengine.handlers.aws.tracking import TrackingTable

from . import Context, aws_errors, main


@main.command()
@click.argument("email_id")
@click.option("--table", help="EmailTracking table (default: the stack's trackingTableName).")
@click.option("--group", help="Schedule group (default: the stack's scheduleGroupName).")
@click.pass_obj
@aws_errors
def cancel(ctx: Context, email_id: str, table: str | None, group: str | None) -> None:
    """Cancel a scheduled email: status `cancelled`, its schedule deleted, never sent."""
    target = ctx.target(trackingTableName=table, scheduleGroupName=group)
    dynamodb, scheduler = target.client("dynamodb"), target.client("scheduler")
    try:
        cancelled = cancel_scheduled(
            TrackingTable(target.name("trackingTableName"), lambda: dynamodb),
            OneTimeSchedules(target.name("scheduleGroupName"), client=lambda: scheduler),
            email_id,
            datetime.now(UTC),
        )
    except NotCancellable as error:
        raise click.ClickException(str(error)) from None
    ctx.emit(
        {"emailId": cancelled.email_id, "status": cancelled.status},
        columns=("emailId", "status"),
        title="Cancelled",
    )
