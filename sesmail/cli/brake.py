"""`sesmail brake status|release`: the sending brake (see the Monitoring component)."""

from __future__ import annotations

from typing import Any

import click
from sesmailengine.handlers.aws.sending_switch import SendingSwitch

from . import Context, aws_errors, main

COLUMNS = ("braked", "sesSendingEnabled", "senderTriggerState")


@main.group()
def brake() -> None:
    """The sending brake: pauses sending when the bounce or complaint rate alarms."""


def _switch(ctx: Context) -> Any:
    target = ctx.target()
    return SendingSwitch(
        target.name("configurationSetName"),
        target.name("senderEventSourceMappingUuid"),
        ses=target.client("sesv2"),
        lambda_=target.client("lambda"),
    )


@brake.command()
@click.pass_obj
@aws_errors
def status(ctx: Context) -> None:
    """Whether sending is paused."""
    ctx.emit(_switch(ctx).state().as_dict(), columns=COLUMNS, title="Sending brake")


@brake.command()
@click.confirmation_option(prompt="Clean the list first. Resume sending now?")
@click.pass_obj
@aws_errors
def release(ctx: Context) -> None:
    """Resume sending (after the list is cleaned): SES first, then the sender's trigger."""
    ctx.emit(_switch(ctx).release().as_dict(), columns=COLUMNS, title="Sending brake released")
