"""Run the real `__main__.py` under Pulumi mocks (no CLI, no provider plugin, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sesmailengine.artifact import LambdaArtifacts, placeholder_artifacts
from sesmailengine.testing import ResourceGraph, run_program, stack_config_file

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROGRAM = PROJECT_DIR / "__main__.py"


class RunStack:
    """Runs a stack with config overrides: `run_stack("dev", batchSize="3")`; None removes a
    key. The engine gets placeholder Lambda zips, so no test here needs pip or a network
    (tests/infra/test_artifact.py covers the real build)."""

    def __init__(self, artifacts: LambdaArtifacts) -> None:
        self.artifacts = artifacts

    def __call__(self, stack: str, **overrides: str | None) -> ResourceGraph:
        config = stack_config_file(PROJECT_DIR, stack)
        for key, value in overrides.items():
            if value is None:
                config.pop(f"sesmailengine:{key}", None)
            else:
                config[f"sesmailengine:{key}"] = value
        return run_program(PROGRAM, stack=stack, config=config, lambda_artifacts=self.artifacts)


@pytest.fixture(scope="session")
def run_stack(tmp_path_factory) -> RunStack:
    return RunStack(placeholder_artifacts(tmp_path_factory.mktemp("artifacts")))


@pytest.fixture(scope="session")
def dev(run_stack: RunStack) -> ResourceGraph:
    return run_stack("dev")


@pytest.fixture(scope="session")
def prod(run_stack: RunStack) -> ResourceGraph:
    return run_stack("prod")
