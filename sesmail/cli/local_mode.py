"""`sesmail local` and `sesmail demo`: the pipeline on an embedded AWS emulator."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from ..local.demo import run_demo, write_report
from ..local.session import local_session
from . import Context, console, main

UNTHROTTLED = {"maxSendRate": "0"}

stack_option = click.option(
    "--stack", "stack", default="dev", show_default=True, help="Stack config to run."
)
project_option = click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder of the Pulumi program (__main__.py, Pulumi.<stack>.yaml).",
)


@main.command("local")
@stack_option
@project_option
@click.option("--port", default=0, help="Emulator port (default: a free one).")
@click.pass_obj
def local_command(ctx: Context, stack: str, project: Path, port: int) -> None:
    """Run the pipeline locally until Ctrl-C; any AWS SDK can use the printed endpoint."""
    with local_session(stack=stack, project_dir=project, port=port) as session:
        endpoint = session.emulator.endpoint
        console.print(f"[bold green]sesmailengine ({stack}) is running locally[/] at {endpoint}")
        console.print(
            f"  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=local "
            "AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1"
        )
        console.print(
            "  sesmail --local send --to success@simulator.amazonses.com --template welcome "
            '--data \'{"firstName": "Ada", "appName": "Example"}\''
        )
        console.print(
            f"  outbox: {session.outbox.folder}   handler logs: {session.state_dir / 'lambda.log'}"
        )
        for key, value in session.outputs.items():
            console.print(f"  {key}: {value}", style="dim")
        try:
            while True:
                if not session.runtime.step().any:
                    time.sleep(0.2)
        except KeyboardInterrupt:
            console.print("stopped")


@main.command()
@stack_option
@project_option
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an HTML page of the run.",
)
@click.pass_obj
def demo(ctx: Context, stack: str, project: Path, report: Path | None) -> None:
    """Send every starter template and every mailbox-simulator case through the local
    pipeline; show where each email ended and the suppression list. Exits 1 if anything
    ended in a dead-letter queue."""
    with (
        # The emulator has no sending quota; the stack's maxSendRate would only slow the demo.
        local_session(stack=stack, project_dir=project, config_overrides=UNTHROTTLED) as session,
        console.status("Sending through the local pipeline..."),
    ):
        result = run_demo(session, project / "templates")
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
        console.print(table)
        ctx.emit(
            result.suppression, columns=("email", "reason", "createdAt"), title="Suppression list"
        )
        console.print(
            f"Dead-letter queues: {result.dead_letters}   "
            f"outbox: {len(result.outbox)} emails in {session.outbox.folder}"
        )
    if report:
        console.print(f"Report: {write_report(result, report)}")
    if not result.ok:
        raise SystemExit(1)
