"""`sesmail brake status|release`: the sending brake (see the Monitoring component)."""

from __future__ import annotations

import os
from typing import Any

import click

from ..engine import engine_module
from . import Context, aws_errors, main

COLUMNS = ("braked", "sesSendingEnabled", "senderTriggerState")


@main.group()
def brake() -> None:
    """The sending brake: pauses sending when the bounce or complaint rate alarms."""


def _switch(ctx: Context) -> Any:
    target = ctx.target()
    if target.endpoint_url:
        # The adapter builds its clients from the environment, like the Lambda does.
        os.environ["AWS_ENDPOINT_URL"] = target.endpoint_url
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ.setdefault("AWS_DEFAULT_REGION", target.region or "us-east-1")
    engine_module("handlers.aws.clients").reset()
    switch = engine_module("handlers.aws.sending_switch").SendingSwitch
    return switch(target.name("configurationSetName"), target.name("senderEventSourceMappingUuid"))


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
