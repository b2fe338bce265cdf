"""Build this project's wheel and install it, alone, into a fresh venv, as a user's program would
get it. Shared by tests/test_packaging.py and tests/test_consumer_wheel.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]

# Never part of a wheel: caches, venvs, the checkout's own build folders.
_NOT_SOURCES = shutil.ignore_patterns(
    ".*", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", "node_modules"
)


def build_wheel(folder: Path) -> Path:
    """The project's wheel, built into ``folder`` from a copy of the checkout: setuptools builds
    in the source folder (``build/``), where a concurrent build, or files a stale ``build/lib``
    still holds, would leak into the wheel."""
    source = folder / "source"
    shutil.copytree(PROJECT_DIR, source, ignore=_NOT_SOURCES)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (built,) = folder.glob("sesmailengine-*.whl")
    return built


@dataclass(frozen=True)
class FreshVenv:
    python: Path
    site: Path
    """Where the wheel is installed; anything imported from sesmailengine must come from here."""


def venv_with_wheel(wheel: Path, folder: Path) -> FreshVenv:
    """A new venv holding only ``wheel`` (installed without its dependencies and without an
    index). Its dependencies come from the test environment through a ``.pth`` line: a path a
    ``.pth`` file names is added as is, so the ``.pth`` files there (among them the editable
    install's finder of this checkout) are not run and cannot shadow the wheel."""
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q"),
            *("--target", str(site), str(wheel)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return FreshVenv(python=python, site=site)
