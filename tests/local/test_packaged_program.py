"""The wheel carries the Pulumi program, so an installed `sesmail demo` or `sesmail local`
runs it from any folder."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

# Builds and installs the wheel (`make builds`; CI runs it).
pytestmark = pytest.mark.build

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROGRAM_FILES = ("__main__.py", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(PROJECT_DIR), "--no-deps", "-q", "-w", str(out)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("sesmailengine-*.whl")
    return built


def test_the_wheel_carries_the_program_as_the_project_root_has_it(wheel) -> None:
    archive = zipfile.ZipFile(wheel)
    for name in PROGRAM_FILES:
        packaged = archive.read(f"sesmailengine/program/{name}")
        assert packaged == (PROJECT_DIR / name).read_bytes(), name
    # and nothing else from the root (no tests, no Makefile)
    program = [n for n in archive.namelist() if n.startswith("sesmailengine/program/")]
    assert sorted(program) == sorted(f"sesmailengine/program/{name}" for name in PROGRAM_FILES)


def test_an_installed_wheel_finds_its_program_outside_any_project(wheel, tmp_path) -> None:
    # GIVEN the wheel installed in a fresh venv (dependencies from the test environment)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), wheel],
        check=True,
        capture_output=True,
    )
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # WHEN local mode looks for a program from an empty folder
    folder = subprocess.check_output(
        [
            str(python),
            "-c",
            "from sesmail.local.session import project_folder; print(project_folder())",
        ],
        cwd=tmp_path,
        text=True,
    ).strip()
    # THEN it is the packaged one
    assert Path(folder) == site / "sesmailengine" / "program"
