"""The `sesmail` command. Each command group lives in its own module and registers here."""

from __future__ import annotations

from pathlib import Path

import click

from ..target import Target, TargetError


class Context:
    """Options every command shares: which deployment, and how to print."""

    def __init__(self, local: bool, stack: str | None, outputs: Path | None, as_json: bool):
        self.local = local
        self.stack = stack
        self.outputs = outputs
        self.as_json = as_json

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
