"""Helpers and fixtures for the local-mode tests (importable, unlike conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sesmail.local.capture import StatusEventCapture
from sesmail.local.session import LocalSession, local_session

PROJECT_DIR = Path(__file__).resolve().parents[2]


class StatusEvents(StatusEventCapture):
    """The engine's status events, as a producer subscribing to status changes sees them."""

    def __init__(self, session: LocalSession) -> None:
        super().__init__(session, name="test-status-events")


@contextmanager
def running_locally(workdir: Path, **config_overrides: str) -> Iterator[LocalSession]:
    """Local mode for the dev stack, with the state folder (and so `sesmail --local`) in
    `workdir`, the working directory while it runs. `maxSendRate` is unthrottled: the dev
    stack paces 1/s, as the sandbox."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)
        with local_session(
            project_dir=PROJECT_DIR,
            state_dir=workdir / ".sesmail",
            config_overrides={"maxSendRate": "0", **config_overrides},
            # A failed record comes back after 1 s (180 s deployed), a poison one reaches the
            # DLQ in 2 s; `test_runtime` runs local mode's default clock.
            time_scale=180,
        ) as session:
            yield session


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Iterator[LocalSession]:
    """Local mode for the dev stack, run from a temporary working directory."""
    with running_locally(tmp_path_factory.mktemp("local")) as session:
        yield session


@pytest.fixture(scope="module")
def status_events(local: LocalSession) -> StatusEvents:
    return StatusEvents(local)


def sample_data(template: str) -> dict[str, Any]:
    metadata = json.loads((PROJECT_DIR / "templates" / template / "metadata.json").read_text())
    return metadata["sampleData"]
