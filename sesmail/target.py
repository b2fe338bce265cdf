"""Which deployment a command talks to: a deployed stack or local mode, and its resource names."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

LOCAL_STATE_FILE = Path(".sesmail") / "local.json"
START_LOCAL_MODE = "start it with `sesmail local`"


class TargetError(RuntimeError):
    """The command cannot tell which deployment or which resource to use."""


@dataclass(frozen=True)
class Target:
    """A deployment: its stack outputs (names as `__main__.py` exports them) and how to reach
    AWS (a local endpoint, or the default credential chain)."""

    outputs: dict[str, Any]
    endpoint_url: str | None = None
    region: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] | None = None
    """Local mode's fake keys (boto3 `Session` arguments); None: the default credential chain."""

    def name(self, output: str) -> str:
        """A resource name by stack output key, e.g. `templateBucketName`; a flag wins."""
        value = self.overrides.get(output) or self.outputs.get(output)
        if not value:
            raise TargetError(
                f"no {output!r} for this deployment: pass it as a flag, or run against a stack "
                f"whose outputs include it"
            )
        return str(value)

    @cached_property
    def _session(self) -> Any:
        import boto3
        import botocore.session

        if self.credentials is None:
            return boto3.session.Session(region_name=self.region or _default_region())
        # Local mode needs nothing from the shell: its keys, and no profile (an AWS_PROFILE
        # naming a profile this machine lacks would fail every call).
        core = botocore.session.Session()
        core.set_config_variable("profile", None)
        return boto3.session.Session(
            region_name=self.region, botocore_session=core, **self.credentials
        )

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self.endpoint_url)

    @classmethod
    def resolve(
        cls,
        *,
        local: bool = False,
        stack: str | None = None,
        outputs_file: Path | None = None,
        overrides: dict[str, str] | None = None,
    ) -> Target:
        """Local mode's state file, a JSON file of stack outputs, or `pulumi stack output`."""
        overrides = {k: v for k, v in (overrides or {}).items() if v}
        if local:
            state = running_local_state(LOCAL_STATE_FILE)
            return cls(
                outputs=state["outputs"],
                endpoint_url=state["endpoint"],
                region=state["region"],
                overrides=overrides,
                credentials=state.get("credentials") or {},
            )
        if outputs_file is not None:
            return cls.deployed(json.loads(outputs_file.read_text()), overrides)
        if stack is not None:
            return cls.deployed(_pulumi_stack_outputs(stack), overrides)
        return cls(outputs={}, overrides=overrides)

    @classmethod
    def deployed(cls, outputs: dict[str, Any], overrides: dict[str, str]) -> Target:
        """A deployed stack, reached in the region its outputs name (the engine's provider's),
        whatever region the shell defaults to."""
        return cls(outputs=outputs, region=outputs.get("region"), overrides=overrides)


def running_local_state(state_file: Path) -> dict[str, Any]:
    """The state a running local mode wrote (endpoint, region, credentials, outputs, pid), or
    TargetError. A file its local mode left behind (killed before it could remove it: its
    process is gone, or its endpoint answers no more) is removed, so the error says so once."""
    try:
        state = json.loads(state_file.read_text())
    except FileNotFoundError:
        raise TargetError(f"local mode is not running here: {START_LOCAL_MODE}") from None
    except ValueError:
        state = {}
    if not (_alive(state.get("pid")) and _listening(state.get("endpoint"))):
        state_file.unlink(missing_ok=True)
        raise TargetError(
            f"local mode is not running (stale {state_file} removed): {START_LOCAL_MODE}"
        )
    return state


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False  # written by a version that did not record it, or damaged
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and the endpoint check decides
    return True


def _listening(endpoint: Any) -> bool:
    from urllib.parse import urlsplit

    if not isinstance(endpoint, str):
        return False
    address = urlsplit(endpoint)
    try:
        with socket.create_connection((address.hostname, address.port), timeout=1):
            return True
    except (OSError, ValueError):
        return False


def _default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _pulumi_stack_outputs(stack: str) -> dict[str, Any]:
    if shutil.which("pulumi") is None:
        raise TargetError(
            "reading a stack's outputs needs the Pulumi CLI; without it, save them with "
            "`pulumi stack output --json > outputs.json` elsewhere and pass --outputs outputs.json"
        )
    result = subprocess.run(
        ["pulumi", "stack", "output", "--json", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise TargetError(f"pulumi stack output failed: {result.stderr.strip()}")
    return json.loads(result.stdout)
