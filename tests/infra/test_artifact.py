"""The Lambda artifacts: a layer with the locked dependencies for the function's platform, and
the handlers package, both deterministic and cached.

Builds that tests share go through one session-scoped cache, so pip runs once per platform per
session (and pip's own HTTP cache makes later sessions fast).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sesmailengine import artifact
from sesmailengine.artifact import (
    HANDLERS_PACKAGE,
    PYTHON_VERSIONS,
    TEMPLATES_PACKAGE,
    ArtifactBuildError,
    LambdaArtifacts,
    build_lambda_artifacts,
    default_cache_dir,
    package_folder,
)

# Builds the Lambda layer with pip (`make builds`; CI runs it).
pytestmark = pytest.mark.build

HOST_ARCHITECTURE = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "arm64",
    "arm64": "arm64",
}.get(platform.machine().lower())
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
REQUIREMENTS = package_folder(HANDLERS_PACKAGE) / "requirements.txt"

ELF_MAGIC = b"\x7fELF"
EM_X86_64 = 0x3E
EM_AARCH64 = 0xB7

# What the handlers import from the layer, exercised rather than only imported: compiled
# extensions (pydantic-core, markupsafe) must load, and botocore must find its service data.
LAYER_SMOKE_TEST = """
import boto3, dns.resolver, email_validator, jinja2, pydantic, pydantic_core
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import SqsModel
import markupsafe._speedups

class Message(pydantic.BaseModel):
    to: str

assert Message(to="a@example.com").to == "a@example.com"
email_validator.validate_email("user@example.com", check_deliverability=False)
assert jinja2.Environment(autoescape=True).from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
boto3.Session(region_name="eu-west-1").client("sesv2")
print(json.dumps({
    "boto3": boto3.__version__,
    "files": [m.__file__ for m in (boto3, jinja2, pydantic_core._pydantic_core, email_validator)],
}))
"""


IMPORT_HANDLER = """
import sysconfig
import handlers.email_sender

assert callable(handlers.email_sender.handler)
print(json.dumps({
    "stdlib": [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")],
    "files": [m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)],
}))
"""


def run_clean_python(*path: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in an interpreter that sees only the stdlib and ``path``.

    ``-I`` ignores PYTHON* variables, the user site and the working directory; ``-S`` skips
    ``site``, so the test venv's site-packages is not on ``sys.path`` either.
    """
    script = "import json, sys\nsys.path[:0] = sys.argv[1:]\n" + code
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, *map(str, path)],
        capture_output=True,
        text=True,
        check=False,
    )


def extract(zip_path: Path, destination: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(destination)
    return destination


def foreign_binaries(layer_python: Path, *, machine: int, cpython: str) -> list[str]:
    """Wheels and shared objects in the layer that are not pure Python or not for this target."""
    problems = []
    for wheel in layer_python.glob("*.dist-info/WHEEL"):
        for line in wheel.read_text().splitlines():
            if line.startswith("Tag:"):
                interpreter, abi, platform_tag = line.removeprefix("Tag:").strip().split("-")
                python_ok = interpreter == cpython or (
                    # A stable-ABI wheel built for CPython 3.N runs on every later 3.x.
                    abi == "abi3" and _minor(interpreter) <= _minor(cpython)
                )
                native_ok = python_ok and platform_tag.endswith(_arch_name(machine))
                if platform_tag != "any" and not native_ok:
                    problems.append(f"{wheel.parent.name}: {line}")
    for library in (p for p in layer_python.rglob("*") if p.suffix == ".so" or ".so." in p.name):
        header = library.read_bytes()[:20]
        if header[:4] != ELF_MAGIC or int.from_bytes(header[18:20], "little") != machine:
            problems.append(f"{library.name}: not an ELF for machine {machine:#x}")
        stable_abi = library.name.endswith(".abi3.so")
        if f".{cpython.replace('cp', 'cpython-')}-" not in library.name and not stable_abi:
            problems.append(f"{library.name}: not built for {cpython}")
    return problems


def _minor(interpreter: str) -> int:
    """`cp312` → 12; anything that is not CPython 3 sorts after every real version."""
    return int(interpreter[3:]) if interpreter.startswith("cp3") else 10_000


def _arch_name(machine: int) -> str:
    return {EM_AARCH64: "aarch64", EM_X86_64: "x86_64"}[machine]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifact-cache")


@pytest.fixture(scope="session")
def host_artifacts(cache_dir: Path) -> LambdaArtifacts:
    if HOST_ARCHITECTURE is None or HOST_PYTHON not in PYTHON_VERSIONS:
        pytest.skip(f"no Lambda runtime matches this host ({platform.machine()}, {HOST_PYTHON})")
    return build_lambda_artifacts(HOST_ARCHITECTURE, HOST_PYTHON, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def host_code(host_artifacts: LambdaArtifacts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return extract(host_artifacts.code_zip, tmp_path_factory.mktemp("code"))


@pytest.fixture(scope="session")
def host_layer(host_artifacts: LambdaArtifacts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return extract(host_artifacts.layer_zip, tmp_path_factory.mktemp("layer")) / "python"


@pytest.fixture(scope="session")
def arm64_layer(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_lambda_artifacts("arm64", "3.12", cache_dir=cache_dir)
    return extract(built.layer_zip, tmp_path_factory.mktemp("arm64-layer")) / "python"


@pytest.fixture
def handlers_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the handlers package, so a test can edit it."""
    copy = tmp_path / "handlers"
    shutil.copytree(package_folder(HANDLERS_PACKAGE), copy)
    monkeypatch.setattr(artifact, "package_folder", {HANDLERS_PACKAGE: copy}.__getitem__)
    return copy


# --- The host build runs --------------------------------------------------------------------


def test_the_handler_module_imports_from_the_code_and_layer_alone(
    host_code: Path, host_layer: Path
) -> None:
    # GIVEN a clean interpreter whose only non-stdlib paths are the two extracted artifacts
    # WHEN it imports the handler module
    result = run_clean_python(host_code, host_layer, code=IMPORT_HANDLER)

    # THEN the import succeeds and every module it loaded came from the artifacts or the stdlib
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    allowed = (str(host_code), str(host_layer), *report["stdlib"])
    assert [f for f in report["files"] if not f.startswith(allowed)] == []


def test_without_the_layer_the_handler_module_does_not_import(
    host_code: Path, host_layer: Path
) -> None:
    # GIVEN a handler module that loads third-party packages from the layer
    with_layer = json.loads(run_clean_python(host_code, host_layer, code=IMPORT_HANDLER).stdout)
    if not any(f.startswith(str(host_layer)) for f in with_layer["files"]):
        pytest.skip("handlers.email_sender imports no third-party package yet")

    # WHEN it is imported from the code zip alone
    result = run_clean_python(host_code, code=IMPORT_HANDLER)

    # THEN it fails: the layer is what provides the dependencies
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr


def test_the_clean_interpreter_does_not_see_the_test_venv(host_code: Path) -> None:
    # GIVEN the clean interpreter with the code zip but no layer
    # WHEN it imports a dependency the venv has installed
    result = run_clean_python(host_code, code="import jinja2")

    # THEN it fails, so the other tests' imports can only have come from the layer
    assert result.returncode != 0
    assert "No module named 'jinja2'" in result.stderr


def test_the_layer_provides_every_dependency_the_handlers_use(host_layer: Path) -> None:
    # GIVEN the clean interpreter with only the extracted layer
    # WHEN it imports and exercises the dependencies
    result = run_clean_python(host_layer, code=LAYER_SMOKE_TEST)

    # THEN they work, load from the layer, and boto3 is the locked version, not the runtime's
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert all(f.startswith(str(host_layer)) for f in report["files"]), report["files"]
    assert f"boto3=={report['boto3']}" in REQUIREMENTS.read_text()


# --- The arm64 layer is built for arm64 -----------------------------------------------------


def test_the_arm64_layer_holds_only_pure_python_or_aarch64_cpython312_binaries(
    arm64_layer: Path,
) -> None:
    # GIVEN the arm64 / Python 3.12 layer (built on whatever this host is)
    # WHEN its wheel tags and shared objects are inspected
    problems = foreign_binaries(arm64_layer, machine=EM_AARCH64, cpython="cp312")

    # THEN all of them target aarch64 and CPython 3.12, and there are some to check
    assert problems == []
    assert len(list(arm64_layer.rglob("*.so"))) >= 2  # pydantic-core and markupsafe


def test_the_platform_check_rejects_a_layer_for_another_platform(arm64_layer: Path) -> None:
    # GIVEN the arm64 / 3.12 layer
    # WHEN it is checked as if it were meant for x86_64 / 3.11
    problems = foreign_binaries(arm64_layer, machine=EM_X86_64, cpython="cp311")

    # THEN both compiled packages are flagged (the check above is not vacuous)
    assert any("pydantic_core" in problem for problem in problems)
    assert any("markupsafe" in problem for problem in problems)


# --- The lock is complete, so pip's --no-deps is safe ---------------------------------------


def test_requirements_pin_every_package_exactly() -> None:
    # GIVEN the lock file's requirement lines
    lines = [
        line.split("#")[0].strip()
        for line in REQUIREMENTS.read_text().splitlines()
        if line.split("#")[0].strip()
    ]

    # WHEN each is parsed
    specifiers = [list(Requirement(line).specifier) for line in lines]

    # THEN each has exactly one `==` pin with no wildcard
    assert lines
    assert all(
        len(spec) == 1 and spec[0].operator == "==" and "*" not in spec[0].version
        for spec in specifiers
    ), lines


def test_every_dependency_of_every_layer_package_is_in_the_layer(arm64_layer: Path) -> None:
    # GIVEN the packages installed in the layer and the extras the lock asks for
    installed = {
        canonicalize_name(d.metadata["Name"]): d
        for d in importlib.metadata.distributions(path=[str(arm64_layer)])
    }
    locked = [
        Requirement(line.split("#")[0])
        for line in REQUIREMENTS.read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    extras = {canonicalize_name(r.name): r.extras for r in locked}
    lambda_env = {"python_version": "3.12", "sys_platform": "linux", "platform_machine": "aarch64"}

    # WHEN each package's Requires-Dist is checked against what is installed
    unmet = []
    for name, dist in installed.items():
        for requirement in map(Requirement, dist.requires or []):
            marker = requirement.marker or Marker("python_version >= '3'")
            wanted = any(
                marker.evaluate({**lambda_env, "extra": extra})
                for extra in {"", *extras.get(name, ())}
            )
            have = installed.get(canonicalize_name(requirement.name))
            if wanted and (have is None or have.version not in requirement.specifier):
                unmet.append(f"{name} needs {requirement}")

    # THEN nothing is missing, and the layer holds exactly the locked packages
    assert unmet == []
    assert set(installed) == set(extras)


# --- Deterministic and cached -----------------------------------------------------------------


def test_building_from_an_empty_cache_gives_byte_identical_zips(
    host_artifacts: LambdaArtifacts, cache_dir: Path, handlers_copy: Path, tmp_path: Path
) -> None:
    # GIVEN artifacts built in the session cache (from a snapshot of the handlers, so edits made
    # elsewhere while the suite runs cannot change the code between the two builds)
    cached = build_lambda_artifacts(HOST_ARCHITECTURE, HOST_PYTHON, cache_dir=cache_dir)

    # WHEN they are built again from scratch, in another directory
    rebuilt = build_lambda_artifacts(HOST_ARCHITECTURE, HOST_PYTHON, cache_dir=tmp_path / "fresh")

    # THEN pip ran again, yet the zips are byte for byte the same
    assert rebuilt.layer_zip.is_relative_to(tmp_path / "fresh")
    assert rebuilt.layer_hash == cached.layer_hash == host_artifacts.layer_hash
    assert rebuilt.code_hash == cached.code_hash


def test_a_second_build_reuses_the_cached_layer_without_running_pip(
    host_artifacts: LambdaArtifacts, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a cached layer, and a pip that could not install anything if it were run
    before = host_artifacts.layer_zip.stat()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)

    # WHEN the same artifacts are asked for again
    again = build_lambda_artifacts(HOST_ARCHITECTURE, HOST_PYTHON, cache_dir=cache_dir)

    # THEN the very same file comes back, untouched
    assert (again.layer_zip, again.layer_hash) == (
        host_artifacts.layer_zip,
        host_artifacts.layer_hash,
    )
    after = again.layer_zip.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_hashes_are_base64_sha256_of_the_zip_bytes(host_artifacts: LambdaArtifacts) -> None:
    # GIVEN the host artifacts
    # WHEN their hashes are recomputed the way Lambda computes CodeSha256
    def lambda_hash(path: Path) -> str:
        return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()

    # THEN they match
    assert host_artifacts.code_hash == lambda_hash(host_artifacts.code_zip)
    assert host_artifacts.layer_hash == lambda_hash(host_artifacts.layer_zip)


def test_the_zips_carry_no_timestamps_permissions_or_install_records_of_the_build(
    host_artifacts: LambdaArtifacts,
) -> None:
    # GIVEN the host artifacts
    with (
        zipfile.ZipFile(host_artifacts.layer_zip) as layer,
        zipfile.ZipFile(host_artifacts.code_zip) as code,
    ):
        entries = layer.infolist() + code.infolist()
    names = [entry.filename for entry in entries]

    # WHEN their entries are listed
    modes = {entry.external_attr >> 16 for entry in entries}
    dates = {entry.date_time for entry in entries}

    # THEN only fixed dates and modes appear, and nothing pip wrote about this machine
    assert dates == {(1980, 1, 1, 0, 0, 0)}
    assert modes <= {0o100644, 0o100755}
    machine_specific = ("/RECORD", "/INSTALLER", "/REQUESTED", "/direct_url.json", "python/bin/")
    assert [n for n in names if any(marker in n for marker in machine_specific)] == []
    assert [n for n in names if "__pycache__" in n or n.endswith(".pyc")] == []


def test_editing_a_handler_changes_the_code_zip_but_not_the_layer(
    host_artifacts: LambdaArtifacts, cache_dir: Path, handlers_copy: Path
) -> None:
    # GIVEN artifacts built from a copy of the handlers
    first = build_lambda_artifacts(HOST_ARCHITECTURE, HOST_PYTHON, cache_dir=cache_dir)

    # WHEN a handler is edited and the artifacts are built again
    with (handlers_copy / "email_sender.py").open("a") as source:
        source.write("\n# edited\n")
    second = build_lambda_artifacts(HOST_ARCHITECTURE, HOST_PYTHON, cache_dir=cache_dir)

    # THEN the code zip is new, and the layer is the cached one
    assert second.code_hash != first.code_hash
    assert second.code_zip != first.code_zip
    assert (second.layer_zip, second.layer_hash) == (first.layer_zip, first.layer_hash)


# --- The code zip ---------------------------------------------------------------------------


def test_the_code_zip_holds_the_handlers_package_at_its_root(
    host_artifacts: LambdaArtifacts,
) -> None:
    # GIVEN the code zip built from the repository's handlers
    # WHEN its entries are listed
    with zipfile.ZipFile(host_artifacts.code_zip) as archive:
        names = archive.namelist()

    # THEN the package sits at the root, so the handler string is handlers.email_sender.handler
    assert "handlers/__init__.py" in names
    assert "handlers/email_sender.py" in names
    assert all(name.startswith("handlers/") for name in names)
    assert "handlers/requirements.txt" not in names


def test_the_code_zip_leaves_out_bytecode_and_the_lock_file(
    host_artifacts: LambdaArtifacts, cache_dir: Path, handlers_copy: Path
) -> None:
    # GIVEN handlers with compiled bytecode beside them, as after a local test run
    (handlers_copy / "__pycache__").mkdir(exist_ok=True)
    (handlers_copy / "__pycache__" / "email_sender.cpython-311.pyc").write_bytes(b"\0")
    (handlers_copy / "core" / "stale.pyc").write_bytes(b"\0")

    # WHEN the artifacts are built
    built = build_lambda_artifacts(HOST_ARCHITECTURE, HOST_PYTHON, cache_dir=cache_dir)

    # THEN the code zip has the sources only
    with zipfile.ZipFile(built.code_zip) as archive:
        names = archive.namelist()
    assert "handlers/email_sender.py" in names
    assert [n for n in names if "__pycache__" in n or n.endswith(".pyc")] == []
    assert "handlers/requirements.txt" not in names


# --- Inputs and failures --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("architecture", "python_version", "message"),
    [
        ("aarch64", "3.12", "unsupported Lambda architecture 'aarch64'"),
        ("amd64", "3.12", "unsupported Lambda architecture 'amd64'"),
        ("arm64", "3.10", "unsupported Lambda Python version '3.10'"),
        ("arm64", "python3.12", "unsupported Lambda Python version 'python3.12'"),
    ],
)
def test_an_unsupported_runtime_is_rejected_before_anything_is_built(
    architecture: str, python_version: str, message: str, tmp_path: Path
) -> None:
    # GIVEN an architecture or Python version Lambda does not offer (or this lock does not cover)
    # WHEN artifacts are requested for it
    with pytest.raises(ValueError, match=message):
        build_lambda_artifacts(architecture, python_version, cache_dir=tmp_path)

    # THEN nothing was written
    assert list(tmp_path.iterdir()) == []


def test_a_failing_pip_raises_an_error_naming_the_platform_and_leaves_no_partial_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a pip with no index to install from
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)

    # WHEN a layer is built
    with pytest.raises(ArtifactBuildError) as raised:
        build_lambda_artifacts("arm64", "3.13", cache_dir=tmp_path)

    # THEN the error names the target and quotes pip, and the cache holds no layer or scratch
    message = str(raised.value)
    assert "arm64" in message
    assert "3.13" in message
    assert "manylinux2014_aarch64" in message
    assert "No matching distribution" in message or "Could not find a version" in message
    assert list((tmp_path / "layers").iterdir()) == []


@pytest.fixture
def dead_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package index nobody listens on, and an empty pip cache, so pip must reach it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    index = f"http://127.0.0.1:{port}/simple"
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    for name in (
        "PIP_FIND_LINKS",
        "PIP_NO_INDEX",
        "PIP_TIMEOUT",
        "PIP_DEFAULT_TIMEOUT",
        "PIP_RETRIES",
    ):
        monkeypatch.delenv(name, raising=False)
    return index


def logged(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """What pulumi.log wrote: to stderr outside a Pulumi program, to the root logger under
    mocks (an earlier test in this worker may have installed them)."""
    return capsys.readouterr().err + caplog.text


def test_an_unreachable_package_index_fails_the_build_with_an_error_naming_it(
    dead_index: str, tmp_path: Path
) -> None:
    # GIVEN a package index that refuses connections
    # WHEN a layer is built
    with pytest.raises(ArtifactBuildError) as raised:
        build_lambda_artifacts("arm64", "3.12", cache_dir=tmp_path / "cache")

    # THEN pip gave up after its few retries, and the error says the index is the problem
    message = str(raised.value)
    assert f"pip could not reach the package index {dead_index}" in message
    assert "Connection refused" in message
    assert "(timeout 10 s, 2 retries)" in message
    assert list((tmp_path / "cache" / "layers").iterdir()) == []


def test_building_a_layer_logs_what_is_built_from_where_and_into_which_cache(
    dead_index: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN an empty cache
    caplog.set_level(logging.INFO)

    # WHEN a layer is built (here failing, as the index is unreachable)
    with pytest.raises(ArtifactBuildError):
        build_lambda_artifacts("arm64", "3.12", cache_dir=tmp_path / "cache")

    # THEN a line said beforehand what pip builds, for which platform, from where and where to
    output = logged(capsys, caplog)
    assert "building the Lambda layer for arm64 / Python 3.12 (manylinux2014_aarch64)" in output
    assert f"from {dead_index}" in output
    assert "timeout 10 s, 2 retries" in output
    assert str(tmp_path / "cache" / "layers") in output


def test_the_callers_own_pip_timeout_and_retries_win_and_are_the_ones_reported(
    dead_index: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN an environment that sets pip's timeout (under its other name) and retries itself
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "3")
    monkeypatch.setenv("PIP_RETRIES", "1")
    caplog.set_level(logging.INFO)

    # WHEN a layer is built from the unreachable index
    with pytest.raises(ArtifactBuildError) as raised:
        build_lambda_artifacts("arm64", "3.12", cache_dir=tmp_path / "cache")

    # THEN the log and the error state the caller's limits, which pip used
    assert "(timeout 3 s, 1 retries)" in logged(capsys, caplog)
    assert "(timeout 3 s, 1 retries)" in str(raised.value)
    assert "Retry(total=1," not in str(raised.value)
    assert "Retry(total=0," in str(raised.value)


# --- Where things are -----------------------------------------------------------------------


def test_the_packaged_folders_in_the_source_tree_are_the_repositorys_folders() -> None:
    # GIVEN this checkout, installed editable as `make` installs it
    repository = Path(__file__).resolve().parents[2]
    # WHEN the engine looks up the folders it ships
    handlers = package_folder(HANDLERS_PACKAGE)
    templates = package_folder(TEMPLATES_PACKAGE)
    # THEN they are the user's top-level handlers/ and templates/
    assert handlers.resolve() == repository / "handlers"
    assert templates.resolve() == repository / "templates"
    assert (templates / "welcome" / "metadata.json").is_file()


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"SESMAILENGINE_CACHE_DIR": "/a", "XDG_CACHE_HOME": "/b"}, "/a"),
        ({"XDG_CACHE_HOME": "/b"}, "/b/sesmailengine"),
        ({"HOME": "/c"}, "/c/.cache/sesmailengine"),
    ],
)
def test_the_default_cache_dir_follows_the_environment(
    environment: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN only some of the cache variables set
    for name in ("SESMAILENGINE_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    # WHEN the default cache directory is asked for
    # THEN the most specific one wins
    assert default_cache_dir() == Path(expected)
