"""Local mode as one object: emulator + the program's resources + the handlers running."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sesmailengine.handlers import batch
from sesmailengine.testing import placeholder_artifacts, run_program, stack_config_file

from .emulator import REGION, Emulator, running_emulator
from .outbox import Outbox
from .provision import LocalDeployment, provision
from .runtime import LOCAL_TIME_SCALE, LocalRuntime

STATE_DIR = Path(".sesmail")


@dataclass
class LocalSession:
    emulator: Emulator
    deployment: LocalDeployment
    runtime: LocalRuntime
    outbox: Outbox
    state_dir: Path

    @property
    def outputs(self) -> dict[str, Any]:
        return self.deployment.outputs

    def client(self, service: str) -> Any:
        return self.emulator.client(service)


@contextmanager
def local_session(
    *,
    stack: str = "dev",
    project_dir: Path | None = None,
    state_dir: Path = STATE_DIR,
    port: int = 0,
    config_overrides: dict[str, str] | None = None,
    time_scale: float = LOCAL_TIME_SCALE,
) -> Iterator[LocalSession]:
    """Start the emulator, create what `<project_dir>/__main__.py` declares for `stack`, and
    run the handlers against it, the deployment's waits `time_scale` times faster. Writes
    `<state_dir>/local.json` (endpoint, region, stack outputs) so `sesmail --local ...` in
    another shell finds it.

    The emulator keeps its state in this process (moto's backends): one local session per
    process at a time, and no `moto.mock_aws` while it runs."""
    project_dir = (project_dir or Path.cwd()).resolve()
    program = project_dir / "__main__.py"
    if not program.is_file():
        raise FileNotFoundError(
            f"no Pulumi program at {program}: run local mode from the project folder"
        )
    config = stack_config_file(project_dir, stack)
    # The emulator is no SES sandbox: its quota would only refuse the overrides' faster rates.
    config["sesmailengine:sesSandbox"] = "false"
    config.update({f"sesmailengine:{k}": v for k, v in (config_overrides or {}).items()})
    graph = run_program(
        program,
        stack=stack,
        config=config,
        # Nothing is deployed locally: no need to build (and download) the Lambda layer.
        lambda_artifacts=placeholder_artifacts(Path(tempfile.mkdtemp())),
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    with running_emulator(port=port) as emulator:
        _forget_handler_state(emulator)
        deployment = provision(graph, emulator.shared_client)
        outbox = Outbox(state_dir / "outbox")
        runtime = LocalRuntime(
            deployment,
            emulator.shared_client,
            outbox,
            log_file=state_dir / "lambda.log",
            aws_environment=emulator.environment(),
            time_scale=time_scale,
        )
        state_file = state_dir / "local.json"
        state_file.write_text(
            json.dumps(
                {"endpoint": emulator.endpoint, "region": REGION, "outputs": deployment.outputs},
                indent=2,
                default=str,
            )
        )
        try:
            yield LocalSession(emulator, deployment, runtime, outbox, state_dir)
        finally:
            state_file.unlink(missing_ok=True)
            runtime.close()


def _forget_handler_state(emulator: Emulator) -> None:
    """Handlers keep clients and caches for the life of a container; a new local session is a
    new container (its emulator has a new endpoint). Their clients answer in this process."""
    batch.reset(emulator.session())
