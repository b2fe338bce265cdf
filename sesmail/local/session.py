"""Local mode as one object: emulator + the program's resources + the handlers running."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sesmailengine import artifact
from sesmailengine.handlers import batch
from sesmailengine.testing import run_program, stack_config_file

from ..target import TargetError, running_local_state
from .emulator import FAKE_CREDENTIALS, REGION, Emulator, running_emulator
from .outbox import Outbox
from .provision import LocalDeployment, provision
from .runtime import LOCAL_TIME_SCALE, LocalRuntime

STATE_DIR = Path(".sesmail")
PROGRAM = "__main__.py"


class LocalModeRunning(RuntimeError):
    """Another local mode is running with this state folder: a second one would take over its
    `local.json` (and remove it on exit)."""


def packaged_program_folder() -> Path:
    """The Pulumi program that ships with sesmailengine (`__main__.py`, `Pulumi.yaml`,
    `Pulumi.<stack>.yaml`): the wheel carries the project root's files as
    `sesmailengine/program/`; an editable install runs them where they are, the source tree's
    root, which holds `components/` (the `sesmailengine` package)."""
    package = artifact.package_folder("sesmailengine")
    wheel_layout = package / "program"
    return wheel_layout if (wheel_layout / PROGRAM).is_file() else package.parent


def project_folder(project_dir: Path | None = None) -> Path:
    """The folder of the program local mode runs: `project_dir`, else the current folder if it
    holds a `__main__.py`, else the packaged program."""
    if project_dir is None:
        project_dir = Path.cwd() if (Path.cwd() / PROGRAM).is_file() else packaged_program_folder()
    project_dir = project_dir.resolve()
    if not (project_dir / PROGRAM).is_file():
        raise FileNotFoundError(f"no Pulumi program ({PROGRAM}) in {project_dir}")
    return project_dir


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
    project_dir = project_folder(project_dir)
    program = project_dir / PROGRAM
    state_file = state_dir / "local.json"
    _refuse_a_second_local_mode(state_file)
    config = stack_config_file(project_dir, stack)
    # The emulator is no SES sandbox: its quota would only refuse the overrides' faster rates.
    config["sesmailengine:sesSandbox"] = "false"
    config.update({f"sesmailengine:{k}": v for k, v in (config_overrides or {}).items()})
    graph = run_program(
        program,
        stack=stack,
        config=config,
        # The functions are created from the real code archive; their dependencies are this
        # interpreter's, so the layer (pip, the network) is not built.
        lambda_artifacts=artifact.local_artifacts(Path(tempfile.mkdtemp())),
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
        state_file.write_text(
            json.dumps(
                {
                    "endpoint": emulator.endpoint,
                    "region": REGION,
                    # `sesmail --local` uses these, whatever the shell's AWS settings.
                    "credentials": {
                        "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    },
                    # A command finding this process gone knows the file is stale.
                    "pid": os.getpid(),
                    "outputs": deployment.outputs,
                },
                indent=2,
                default=str,
            )
        )
        try:
            yield LocalSession(emulator, deployment, runtime, outbox, state_dir)
        finally:
            state_file.unlink(missing_ok=True)
            runtime.close()


def _refuse_a_second_local_mode(state_file: Path) -> None:
    try:
        running = running_local_state(state_file)
    except TargetError:
        return  # none, or a stale file (now removed)
    raise LocalModeRunning(
        f"local mode is already running here (pid {running['pid']}, {running['endpoint']}): "
        f"stop it, or start this one from another folder"
    )


def _forget_handler_state(emulator: Emulator) -> None:
    """Handlers keep clients and caches for the life of a container; a new local session is a
    new container (its emulator has a new endpoint). Their clients answer in this process."""
    batch.reset(emulator.session())
