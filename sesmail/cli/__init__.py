"""The `sesmail` command. Each command group lives in its own module and registers here."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..target import Target, TargetError

console = Console()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def aws_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn AWS and lookup errors into one clear line instead of a traceback."""
    import functools

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return function(*args, **kwargs)
        except TargetError as error:
            raise click.ClickException(str(error)) from None
        except ClientError as error:
            info = error.response.get("Error", {})
            raise click.ClickException(f"{info.get('Code')}: {info.get('Message')}") from None
        except BotoCoreError as error:
            raise click.ClickException(str(error)) from None

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
        console.print(table)

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


@click.group()
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
    dlq,
    emails,
    local_mode,
    suppression,
    templates,
)
