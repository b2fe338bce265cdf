"""Build the Lambda artifacts: a layer with the third-party dependencies, and the handlers code.

Two zips, so a change to the handlers uploads a few kilobytes instead of the whole SDK:

- the layer zip holds everything pinned in ``handlers/requirements.txt`` under ``python/``,
  installed by pip from wheels for the function's architecture and Python version (never from
  the host's site-packages, so an x86_64 laptop builds a working arm64 layer);
- the code zip holds the ``handlers`` package at the zip root, so the handler string is
  ``handlers.email_sender.handler``.

Both are deterministic (same inputs, same bytes, same hash), so an unchanged stack shows no diff
in ``pulumi up``. The layer is cached per (lock file, architecture, Python version); a cache hit
does not run pip.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pulumi

# Lambda's architecture names and the pip platform whose wheels run there. manylinux2014
# (glibc 2.17) wheels load on every Python runtime Lambda offers (Amazon Linux 2 and 2023).
PIP_PLATFORMS = {
    "arm64": "manylinux2014_aarch64",
    "x86_64": "manylinux2014_x86_64",
}
# The Lambda Python runtimes the lock in handlers/requirements.txt resolves to wheels for.
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")

# Bump when the layer's layout or sanitising changes, so cached layers built the old way are not
# reused.
_LAYER_FORMAT = 1

# Zip entries get a fixed timestamp (the earliest a zip can hold) and fixed permissions, so the
# bytes depend only on the file names and contents.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644
_EXEC_MODE = 0o755

# What pip writes next to an installed package that depends on the machine or the moment rather
# than on the wheel: console scripts (their shebang is the build interpreter's absolute path) and
# install records. Lambda needs none of them; importlib.metadata works without them.
_PIP_INSTALL_DIRS = ("bin",)
_PIP_INSTALL_FILES = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")

_PIP_STDERR_LINES = 15

PIP_TIMEOUT_SECONDS = 10
"""Seconds pip waits on a silent connection to the package index (``PIP_TIMEOUT`` overrides)."""
PIP_RETRIES = 2
"""Retries of each request to the index (``PIP_RETRIES`` overrides). pip's own defaults (15 s,
5 retries with backoff) keep a dead index silent for minutes, which looks like a hang."""
# pip's warning before each retry: "... after connection broken by '<error>': /simple/boto3/".
_CONNECTION_BROKEN = re.compile(
    r"after connection broken by '(?P<reason>.*)': (?P<path>/\S*)$", re.M
)

HANDLERS_PACKAGE = "sesmailengine.handlers"
"""Zipped as ``handlers/`` at the archive root: Lambda imports it under that name."""
TEMPLATES_PACKAGE = "sesmailengine.templates"


@dataclass(frozen=True)
class LambdaArtifacts:
    """The two zips a Python Lambda function is deployed from."""

    code_zip: Path
    """The ``handlers`` package at the zip root."""
    layer_zip: Path
    """The third-party dependencies under ``python/``, for one architecture and Python version."""
    code_hash: str
    """Base64 SHA-256 of ``code_zip``'s bytes: the format of Lambda's ``source_code_hash``."""
    layer_hash: str
    """Base64 SHA-256 of ``layer_zip``'s bytes."""


class ArtifactBuildError(RuntimeError):
    """pip could not install the locked dependencies for the requested platform."""


_PREBUILT: ContextVar[LambdaArtifacts | None] = ContextVar("prebuilt_artifacts", default=None)


def package_folder(package: str) -> Path:
    """The folder of one of the engine's packages (``sesmailengine.handlers``,
    ``sesmailengine.templates``), installed from the wheel or editable from the source tree.

    The wheel is not zip-safe: its packages are always plain folders, so the resource is a
    path (``importlib.resources.as_file`` cannot take a folder before Python 3.12)."""
    return Path(str(resources.files(package)))


@contextmanager
def prebuilt_artifacts(artifacts: LambdaArtifacts) -> Iterator[None]:
    """Within this block, every ``EmailEngine`` built without explicit ``lambda_artifacts``
    uses ``artifacts`` instead of building the layer with pip: the seam for running a whole
    program (``__main__.py``) under mocks or in local mode. See ``sesmailengine.testing``."""
    token = _PREBUILT.set(artifacts)
    try:
        yield
    finally:
        _PREBUILT.reset(token)


def deployable_artifacts(architecture: str, python_version: str) -> LambdaArtifacts:
    """The artifacts an engine deploys: the prebuilt ones of an enclosing
    ``prebuilt_artifacts`` block, else the real build (cached)."""
    return _PREBUILT.get() or build_lambda_artifacts(architecture, python_version)


def default_cache_dir() -> Path:
    """``$SESMAILENGINE_CACHE_DIR``, else ``$XDG_CACHE_HOME/sesmailengine``, else
    ``~/.cache/sesmailengine``."""
    if explicit := os.environ.get("SESMAILENGINE_CACHE_DIR"):
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "sesmailengine"


def build_lambda_artifacts(
    architecture: str = "arm64",
    python_version: str = "3.12",
    *,
    cache_dir: Path | None = None,
) -> LambdaArtifacts:
    """Build (or reuse from the cache) the layer and code zips for one Lambda runtime.

    ``architecture`` is Lambda's name (``"arm64"`` or ``"x86_64"``) and ``python_version`` the
    runtime's (``"3.12"`` for ``python3.12``). Raises ``ValueError`` for anything else, and
    ``ArtifactBuildError`` when pip cannot install the lock for that platform.
    """
    if architecture not in PIP_PLATFORMS:
        raise ValueError(
            f"unsupported Lambda architecture {architecture!r}; expected one of "
            f"{', '.join(sorted(PIP_PLATFORMS))}"
        )
    if python_version not in PYTHON_VERSIONS:
        raise ValueError(
            f"unsupported Lambda Python version {python_version!r}; expected one of "
            f"{', '.join(PYTHON_VERSIONS)}"
        )
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    handlers = package_folder(HANDLERS_PACKAGE)
    layer_zip = _cached_layer(handlers / "requirements.txt", architecture, python_version, cache)
    code_zip = _cached_code(handlers, cache)
    return LambdaArtifacts(
        code_zip=code_zip,
        layer_zip=layer_zip,
        code_hash=_base64_sha256(code_zip.read_bytes()),
        layer_hash=_base64_sha256(layer_zip.read_bytes()),
    )


def placeholder_artifacts(folder: Path) -> LambdaArtifacts:
    """Two tiny zips standing in for the real ones where nothing is deployed: graph tests and
    local mode run the program without pip or a network."""
    folder.mkdir(parents=True, exist_ok=True)
    zips = {}
    for kind in ("code", "layer"):
        zips[kind] = folder / f"placeholder-{kind}.zip"
        _write_atomically(zips[kind], _deterministic_zip([]))
    return LambdaArtifacts(
        code_zip=zips["code"],
        layer_zip=zips["layer"],
        code_hash=_base64_sha256(zips["code"].read_bytes()),
        layer_hash=_base64_sha256(zips["layer"].read_bytes()),
    )


def local_artifacts(folder: Path) -> LambdaArtifacts:
    """The real code zip (the handlers as deployed) and a placeholder layer: what local mode
    creates its functions from. Its handlers import their dependencies from this interpreter,
    so the layer (pip, the network) is not needed."""
    placeholder = placeholder_artifacts(folder)
    code_zip = _cached_code(package_folder(HANDLERS_PACKAGE), folder)
    return LambdaArtifacts(
        code_zip=code_zip,
        layer_zip=placeholder.layer_zip,
        code_hash=_base64_sha256(code_zip.read_bytes()),
        layer_hash=placeholder.layer_hash,
    )


def _cached_layer(requirements: Path, architecture: str, python_version: str, cache: Path) -> Path:
    key = hashlib.sha256(
        json.dumps(
            {
                "format": _LAYER_FORMAT,
                "requirements": hashlib.sha256(requirements.read_bytes()).hexdigest(),
                "architecture": architecture,
                "python_version": python_version,
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()
    target = cache / "layers" / f"layer-{architecture}-py{python_version}-{key[:16]}.zip"
    if target.is_file():
        return target
    pip = _PipNetwork.from_environment()
    # pip runs quietly for a minute or so: say beforehand what it does and where it puts it.
    pulumi.log.info(
        f"sesmailengine: building the Lambda layer for {architecture} / Python {python_version} "
        f"({PIP_PLATFORMS[architecture]}): pip installs {requirements} from {pip.index} "
        f"({pip.limits}) into {target}; later runs reuse it"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as scratch:
        site = Path(scratch) / "python"
        _pip_install(requirements, site, architecture, python_version, pip)
        _strip_install_metadata(site)
        _write_atomically(target, _deterministic_zip(_tree_entries(site, prefix="python")))
    pulumi.log.info(f"sesmailengine: built {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return target


def _cached_code(handlers: Path, cache: Path) -> Path:
    # The handlers are small: zip them on every call so the zip always matches the source,
    # and keep one file per content hash so an unchanged source keeps the same path.
    data = _deterministic_zip(_tree_entries(handlers, prefix="handlers", skip=_not_code))
    target = cache / "code" / f"code-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, data)
    return target


def _write_atomically(target: Path, data: bytes) -> None:
    # Write beside the target (same filesystem) and rename into place: a concurrent or
    # interrupted build never leaves a partial file under the final name, and two racing builds
    # write identical bytes, so whichever rename lands last changes nothing.
    staged = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        staged.write_bytes(data)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)


@dataclass(frozen=True)
class _PipNetwork:
    """How pip reaches the package index: the caller's environment, with our timeout and
    retries unless it sets its own."""

    environment: dict[str, str]

    @classmethod
    def from_environment(cls) -> _PipNetwork:
        environment = dict(os.environ)
        # pip takes its timeout from PIP_TIMEOUT or PIP_DEFAULT_TIMEOUT: a caller's own wins.
        if not {"PIP_TIMEOUT", "PIP_DEFAULT_TIMEOUT"} & environment.keys():
            environment["PIP_TIMEOUT"] = str(PIP_TIMEOUT_SECONDS)
        environment.setdefault("PIP_RETRIES", str(PIP_RETRIES))
        return cls(environment)

    @property
    def index(self) -> str:
        return self.environment.get("PIP_INDEX_URL") or (
            "pip's configured index (PyPI unless pip.conf names another)"
        )

    @property
    def timeout(self) -> str:
        return self.environment.get("PIP_TIMEOUT") or self.environment["PIP_DEFAULT_TIMEOUT"]

    @property
    def retries(self) -> str:
        return self.environment["PIP_RETRIES"]

    @property
    def limits(self) -> str:
        return f"timeout {self.timeout} s, {self.retries} retries"


def _pip_install(
    requirements: Path, target: Path, architecture: str, python_version: str, pip: _PipNetwork
) -> None:
    # --no-deps is safe because requirements.txt is a full lock (the tests check it), and it
    # keeps pip from resolving anything the lock does not name.
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar=off",
        "--target",
        str(target),
        "--platform",
        PIP_PLATFORMS[architecture],
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "--no-deps",
        "--no-compile",
        "--requirement",
        str(requirements),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, env=pip.environment
    )
    if result.returncode == 0:
        return
    tail = "\n".join(result.stderr.strip().splitlines()[-_PIP_STDERR_LINES:])
    target_platform = (
        f"Lambda {architecture} / Python {python_version} (platform "
        f"{PIP_PLATFORMS[architecture]}, exit code {result.returncode})"
    )
    broken = list(_CONNECTION_BROKEN.finditer(result.stderr))
    if broken:
        raise ArtifactBuildError(
            f"pip could not reach the package index {pip.index} ({pip.limits}), building the "
            f"layer for {target_platform}: {broken[-1]['reason']} (fetching "
            f"{broken[-1]['path']}). Check the network, a proxy, PIP_INDEX_URL or pip.conf. pip "
            f"said:\n{tail}"
        )
    raise ArtifactBuildError(
        f"pip could not install {requirements} for {target_platform}. Is the package index "
        f"({pip.index}) reachable, and does every pinned package publish a wheel for that "
        f"platform? pip said:\n{tail}"
    )


def _strip_install_metadata(site: Path) -> None:
    for name in _PIP_INSTALL_DIRS:
        shutil.rmtree(site / name, ignore_errors=True)
    for dist_info in site.glob("*.dist-info"):
        for name in _PIP_INSTALL_FILES:
            (dist_info / name).unlink(missing_ok=True)


def _is_bytecode(relative: Path) -> bool:
    return "__pycache__" in relative.parts or relative.suffix in {".pyc", ".pyo"}


def _not_code(relative: Path) -> bool:
    # requirements.txt describes the layer; it is not part of the function.
    return _is_bytecode(relative) or relative == Path("requirements.txt")


def _tree_entries(
    root: Path, *, prefix: str, skip: Callable[[Path], bool] = _is_bytecode
) -> Iterable[tuple[str, Path]]:
    """(archive name, file) for every file under ``root``, named ``prefix/<relative path>``."""
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and not skip(relative):
            yield f"{prefix}/{relative.as_posix()}", path


def _deterministic_zip(entries: Iterable[tuple[str, Path]]) -> bytes:
    """A zip whose bytes depend only on the entry names and file contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, path in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.create_system = 3  # Unix, so external_attr carries the permissions
            mode = _EXEC_MODE if path.stat().st_mode & 0o111 else _FILE_MODE
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=6)
    return buffer.getvalue()


def _base64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
