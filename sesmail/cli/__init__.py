"""The `sesmail` command. Each command group lives in its own module and registers here
(`@main.command()` / `@main.group()`): every command and group it declares is a
`SesmailCommand` / `SesmailGroup`, so takes `--json` and fails in one line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from ..target import Target, TargetError

console = Console()
WIDE = 100_000  # wider than any table: what a table measures when nothing limits it


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def print_table(table: Table) -> None:
    """On a terminal, fit the table to it; anywhere else (a pipe, a file, CI's log) print
    every cell in full: a cut-off emailId is of no use to whoever reads it there."""
    if console.is_terminal:
        console.print(table)
        return
    width = Measurement.get(console, console.options.update(width=WIDE), table).maximum
    Console(width=max(width, 1)).print(table)


def one_line(error: BaseException) -> str:
    """An error as the single line the command prints: AWS's code and message, or ours."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        message = f"{info.get('Code')}: {info.get('Message')}"
    elif isinstance(error, click.UsageError) and error.ctx is not None:
        message = f"{error.format_message()} (see `{error.ctx.command_path} --help`)"
    elif isinstance(error, click.ClickException):
        message = error.format_message()
    else:
        message = str(error) or type(error).__name__
    return " ".join(message.split())


def aws_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn AWS and lookup errors into one clear line instead of a traceback (`main` does so
    for every command; this keeps a command's own wording in front of click's)."""
    import functools

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return function(*args, **kwargs)
        except (TargetError, ClientError, BotoCoreError) as error:
            raise click.ClickException(one_line(error)) from None

    return wrapper


class Context:
    """Options every command shares: which deployment, and how to print."""

    def __init__(self, local: bool, stack: str | None, outputs: Path | None, as_json: bool):
        self.local = local
        self.stack = stack
        self.outputs = outputs
        self.as_json = as_json

    def emit(self, data: Any, *, columns: Sequence[str] = (), title: str | None = None) -> None:
        """Print `data` as JSON with --json, else as a table of `columns` (rows: dicts)."""
        if self.as_json:
            click.echo(json.dumps(data, indent=2, default=str))
            return
        rows = data if isinstance(data, list) else [data]
        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(_cell(row.get(column)) for column in columns))
        print_table(table)

    def target(self, **overrides: str | None) -> Target:
        try:
            return Target.resolve(
                local=self.local,
                stack=self.stack,
                outputs_file=self.outputs,
                overrides={k: v for k, v in overrides.items() if v},
            )
        except TargetError as error:
            raise click.ClickException(str(error)) from None


def _late_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_object(Context).as_json = True


class SesmailCommand(click.Command):
    """A command that also takes `--json` after its name (`sesmail history --to X --json`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(
            click.Option(
                ["--json"],
                is_flag=True,
                expose_value=False,
                callback=_late_json,
                help="Print JSON for scripts (as `sesmail --json ...`).",
            )
        )


class SesmailGroup(click.Group):
    """`sesmail` and its command groups. Every failure, a usage error included, is one line
    on stderr and exit status 1; an unexpected error too, named by its type."""

    command_class = SesmailCommand
    group_class = type  # subgroups are SesmailGroups, so their commands take --json too

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        from botocore.exceptions import BotoCoreError, ClientError

        expected = (click.ClickException, TargetError, OSError, BotoCoreError, ClientError)
        try:
            status = super().main(*args, standalone_mode=False, **kwargs)
        except click.Abort:  # Ctrl-C, or a confirmation answered no
            click.echo("Error: aborted", err=True)
            sys.exit(1)
        except Exception as error:
            prefix = "" if isinstance(error, expected) else f"{type(error).__name__}: "
            click.echo(f"Error: {prefix}{one_line(error)}", err=True)
            sys.exit(1)
        sys.exit(status if isinstance(status, int) else 0)


@click.group(cls=SesmailGroup, name="sesmail")
@click.option("--local", is_flag=True, help="Talk to local mode (started with `sesmail local`).")
@click.option("--stack", help="A deployed Pulumi stack; its outputs name the resources.")
@click.option(
    "--outputs",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON file of stack outputs (`pulumi stack output --json`).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def main(
    ctx: click.Context, local: bool, stack: str | None, outputs: Path | None, as_json: bool
) -> None:
    """sesmailengine's everyday tools."""
    ctx.obj = Context(local=local, stack=stack, outputs=outputs, as_json=as_json)


# Command groups register themselves on `main` when imported.
from . import (  # noqa: E402,F401
    brake,
    bus,
    cancel,
    dlq,
    emails,
    local_mode,
    suppression,
    templates,
)
