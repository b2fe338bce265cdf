"""`sesmail local` and `sesmail demo`: the pipeline on an embedded AWS emulator.

Local mode is imported when one of them runs: the other commands need neither moto nor the
handlers."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from . import Context, console, main, print_table

if TYPE_CHECKING:
    from ..local.session import LocalSession

UNTHROTTLED = {"maxSendRate": "0"}
IDLE_SECONDS = 0.2  # how long the loop waits when a pass found nothing to do

stack_option = click.option(
    "--stack", "stack", default="dev", show_default=True, help="Stack config to run."
)
project_option = click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the Pulumi program (__main__.py, Pulumi.<stack>.yaml). Default: this "
    "folder if it holds a __main__.py, else the program packaged with sesmailengine.",
)


def _project(project: Path | None) -> Path:
    """The program's folder, saying so when it is the packaged one."""
    from ..local.session import PROGRAM, project_folder

    folder = project_folder(project)
    if project is None and folder != Path.cwd().resolve():
        click.echo(f"No {PROGRAM} here: running the packaged program ({folder}).", err=True)
    return folder


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM (a `kill`, a container stopping) both ask local mode to stop: the
    event is set and the loop ends after the pass in flight. A second one stops at once."""
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo("Stopping after the batch in flight (again to stop at once)...", err=True)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_until_stopped(session: LocalSession, stop: threading.Event) -> dict[str, int]:
    """Run the pipeline until `stop` is set; each pass (a round of every trigger) finishes.
    Returns the messages still queued, by queue: what stopping abandons."""
    while not stop.is_set():
        if not session.runtime.step().any:
            stop.wait(IDLE_SECONDS)
    return queued_messages(session)


def queued_messages(session: LocalSession) -> dict[str, int]:
    """Messages waiting (or in flight) in every queue a function reads, by queue name."""
    sqs = session.client("sqs")
    deployment = session.deployment
    urls = [trigger.queue_url for trigger in deployment.queue_triggers]
    urls += [trigger.tap_queue_url for trigger in deployment.topic_triggers]
    counts = {}
    for url in urls:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        counts[url.rsplit("/", 1)[-1]] = sum(int(value) for value in attributes.values())
    return {name: count for name, count in counts.items() if count}


def _stopped_line(abandoned: dict[str, int]) -> str:
    if not abandoned:
        return "Stopped: every queued message was processed."
    by_queue = ", ".join(f"{name}: {count}" for name, count in abandoned.items())
    return (
        f"Stopped: {sum(abandoned.values())} queued message(s) abandoned with local mode "
        f"({by_queue})."
    )


@main.command("local")
@stack_option
@project_option
@click.option("--port", default=0, help="Emulator port (default: a free one).")
@click.pass_obj
def local_command(ctx: Context, stack: str, project: Path | None, port: int) -> None:
    """Run the pipeline locally until Ctrl-C; any AWS SDK can use the printed endpoint."""
    from ..local.emulator import FAKE_CREDENTIALS, REGION
    from ..local.session import local_session

    with (
        stop_signals() as stop,
        local_session(stack=stack, project_dir=_project(project), port=port) as session,
    ):
        endpoint = session.emulator.endpoint
        # Lines meant to be copied are never wrapped (soft_wrap), whatever the width.
        say = console.print
        say(
            f"[bold green]sesmailengine ({stack}) is running locally[/] at {endpoint}",
            soft_wrap=True,
        )
        say(f"  {session.deployment.summary}", soft_wrap=True)
        say(
            f"  export AWS_ENDPOINT_URL={endpoint} "
            f"AWS_ACCESS_KEY_ID={FAKE_CREDENTIALS['AWS_ACCESS_KEY_ID']} "
            f"AWS_SECRET_ACCESS_KEY={FAKE_CREDENTIALS['AWS_SECRET_ACCESS_KEY']} "
            f"AWS_DEFAULT_REGION={REGION}",
            soft_wrap=True,
            highlight=False,
        )
        say(
            "  sesmail --local send --to success@simulator.amazonses.com --template welcome "
            '--data \'{"firstName": "Ada", "appName": "Example"}\'',
            soft_wrap=True,
            highlight=False,
        )
        say(
            f"  outbox: {session.outbox.folder}   handler logs: {session.state_dir / 'lambda.log'}",
            soft_wrap=True,
        )
        for key, value in session.outputs.items():
            say(f"  {key}: {value}", style="dim", soft_wrap=True, highlight=False)
        say(_stopped_line(run_until_stopped(session, stop)), soft_wrap=True)


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends the block as Ctrl-C does, so local mode cleans up (its state file) too."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@main.command()
@stack_option
@project_option
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an HTML page of the run.",
)
@click.pass_obj
def demo(ctx: Context, stack: str, project: Path | None, report: Path | None) -> None:
    """Send every starter template and every mailbox-simulator case through the local
    pipeline; show where each email ended and the suppression list. Exits 1 if anything
    ended in a dead-letter queue."""
    from ..local.demo import run_demo, write_report
    from ..local.session import local_session

    with (
        sigterm_interrupts(),
        # The emulator has no sending quota; the stack's maxSendRate would only slow the demo.
        local_session(
            stack=stack, project_dir=_project(project), config_overrides=UNTHROTTLED
        ) as session,
        console.status("Sending through the local pipeline..."),
    ):
        result = run_demo(session)
    if ctx.as_json:
        ctx.emit(
            {
                "ok": result.ok,
                "emails": [row.__dict__ for row in result.rows],
                "suppression": result.suppression,
                "deadLetters": result.dead_letters,
                "outbox": [str(path) for path in result.outbox],
            }
        )
    else:
        table = Table(title="Where every email ended")
        for column in ("emailId", "to", "template", "status", "expected", "reason"):
            table.add_column(column)
        for row in result.rows:
            style = None if row.as_expected else "red"
            table.add_row(
                row.email_id,
                row.to,
                row.template,
                row.status or "-",
                row.expected,
                row.reason or "",
                style=style,
            )
        print_table(table)
        ctx.emit(
            result.suppression, columns=("email", "reason", "createdAt"), title="Suppression list"
        )
        console.print(
            f"Dead-letter queues: {result.dead_letters}   "
            f"outbox: {len(result.outbox)} emails in {session.outbox.folder}",
            soft_wrap=True,
        )
    if report:
        console.print(f"Report: {write_report(result, report)}", soft_wrap=True)
    if not result.ok:
        raise SystemExit(1)
