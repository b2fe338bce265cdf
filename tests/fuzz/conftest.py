"""Hypothesis profiles for the fuzz tests, and the moto account each fuzz module builds once.

``ci`` (the default) runs a few dozen examples per property, derandomized so every CI run
tries the same inputs; ``make fuzz`` loads ``fuzz`` (``HYPOTHESIS_PROFILE=fuzz``): thousands
of random examples per property. Examples share one moto account per module (creating tables
and queues per example would take minutes); each example uses its own ids or clears what it
wrote.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

# The handler tests' moto helpers (sender_support, feedback_support) live next to them.
sys.path.insert(0, str(Path(__file__).parent.parent / "handlers"))

from sender_support import Aws, moto_account, set_environment

_SHARED = {
    "deadline": None,  # a moto round trip is slow and varies; time is bounded by the example count
    # Examples share the module's moto account, which is what the fixture is for.
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # No explain phase: on a moto round trip per example it takes minutes.
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    "print_blob": True,  # a failure prints the @reproduce_failure line that replays it
}
settings.register_profile("ci", max_examples=25, derandomize=True, **_SHARED)
settings.register_profile("fuzz", max_examples=2000, **_SHARED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def account() -> Iterator[Aws]:
    """One moto account per fuzz module, with the sender's environment."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        set_environment(monkeypatch)
        with moto_account() as state:
            yield state
