"""`sesmail replay` and `sesmail unmatched`: the bus's Email Request archive, and the events
no rule took."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from . import Context, aws_errors, main

_AGO = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class Moment(click.ParamType):
    """A point in time: ISO 8601 (UTC unless it says otherwise) or an age such as 30m, 2h, 7d."""

    name = "TIME"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        ago = _AGO.match(value)
        if ago:
            return datetime.now(UTC) - timedelta(**{_UNITS[ago[2]]: int(ago[1])})
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r}: use ISO 8601 (2025-01-31T12:00) or an age (30m, 2h, 7d)")
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


MOMENT = Moment()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@main.command()
@click.option("--since", type=MOMENT, required=True, help="Start of the window: TIME or age.")
@click.option("--until", type=MOMENT, help="End of the window (default: now).")
@click.pass_obj
@aws_errors
def replay(ctx: Context, since: datetime, until: datetime | None) -> None:
    """Replay the archived Email Requests of a time window to the Email Request rule only.

    Safe to repeat: the sender claims each emailId before sending, so a request whose email
    was already sent is skipped, not sent twice. EventBridge replays in the background, a
    minute of events at a time; `aws events describe-replay --replay-name NAME` shows progress.
    """
    until = until or datetime.now(UTC)
    if since >= until:
        raise click.BadParameter("must be before --until (or now)", param_hint="--since")
    target = ctx.target()
    name = f"sesmail-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    started = target.client("events").start_replay(
        ReplayName=name,
        Description=f"sesmail replay --since {_iso(since)} --until {_iso(until)}",
        EventSourceArn=target.name("emailRequestArchiveArn"),
        EventStartTime=since,
        EventEndTime=until,
        # Only the Email Request rule: subscribers' rules on the bus do not see the requests again.
        Destination={
            "Arn": target.name("eventBusArn"),
            "FilterArns": [target.name("emailRequestRuleArn")],
        },
    )
    ctx.emit(
        {"replay": name, "state": started["State"], "since": _iso(since), "until": _iso(until)},
        columns=("replay", "state", "since", "until"),
    )


@main.command()
@click.option(
    "--since", type=MOMENT, default="24h", show_default=True, help="TIME or age to list from."
)
@click.pass_obj
@aws_errors
def unmatched(ctx: Context, since: datetime) -> None:
    """Events put on the bus that no rule took: a wrong detail-type, or an Email Request from a
    source or account that is not allowed. They raise the unmatched-events alarm."""
    target = ctx.target()
    pages = (
        target.client("logs")
        .get_paginator("filter_log_events")
        .paginate(
            logGroupName=target.name("unmatchedLogGroupName"),
            startTime=int(since.timestamp() * 1000),
        )
    )
    events = [json.loads(record["message"]) for page in pages for record in page["events"]]
    rows = [
        {
            "time": event.get("time"),
            "account": event.get("account"),
            "source": event.get("source"),
            "detailType": event.get("detail-type"),
            "id": event.get("id"),
            "detail": event.get("detail"),
        }
        for event in sorted(events, key=lambda event: str(event.get("time")))
    ]
    ctx.emit(
        rows, columns=("time", "account", "source", "detailType", "id"), title="Unmatched events"
    )
