"""Run the real `__main__.py` under Pulumi mocks (no CLI, no provider plugin, no network)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import components.engine
from components.artifact import LambdaArtifacts
from components.resource_graph import ResourceGraph, run_program, stack_config_file

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROGRAM = PROJECT_DIR / "__main__.py"

RunStack = Callable[..., ResourceGraph]


@pytest.fixture(scope="session", autouse=True)
def prebuilt_lambda_artifacts(tmp_path_factory):
    """Graph tests need no network: the engine gets two small zips instead of a pip build
    (tests/infra/test_artifact.py covers the real build)."""
    folder = tmp_path_factory.mktemp("artifacts")
    zips = {}
    for kind in ("code", "layer"):
        zips[kind] = folder / f"{kind}.zip"
        with zipfile.ZipFile(zips[kind], "w") as archive:
            archive.writestr(f"{kind}.txt", kind)
    artifacts = LambdaArtifacts(
        code_zip=zips["code"],
        layer_zip=zips["layer"],
        code_hash="code-hash",
        layer_hash="layer-hash",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(components.engine, "build_lambda_artifacts", lambda *_, **__: artifacts)
        yield artifacts


def _run(stack: str, **overrides: str) -> ResourceGraph:
    config = stack_config_file(PROJECT_DIR, stack)
    for key, value in overrides.items():
        full_key = f"sesmailengine:{key}"
        if value is None:
            config.pop(full_key, None)
        else:
            config[full_key] = value
    return run_program(PROGRAM, stack=stack, config=config)


@pytest.fixture(scope="session")
def dev() -> ResourceGraph:
    return _run("dev")


@pytest.fixture(scope="session")
def prod() -> ResourceGraph:
    return _run("prod")


@pytest.fixture(scope="session")
def run_stack() -> RunStack:
    """Run a stack with config overrides: `run_stack("dev", batchSize="3")`; None removes a key."""
    return _run
