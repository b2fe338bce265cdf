"""Which deployment a command talks to: a deployed stack or local mode, and its resource names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

LOCAL_STATE_FILE = Path(".sesmail") / "local.json"


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

        return boto3.session.Session(region_name=self.region or _default_region())

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
            if not LOCAL_STATE_FILE.is_file():
                raise TargetError("local mode is not running here: start it with `sesmail local`")
            state = json.loads(LOCAL_STATE_FILE.read_text())
            return cls(
                outputs=state["outputs"],
                endpoint_url=state["endpoint"],
                region=state["region"],
                overrides=overrides,
            )
        if outputs_file is not None:
            return cls(outputs=json.loads(outputs_file.read_text()), overrides=overrides)
        if stack is not None:
            return cls(outputs=_pulumi_stack_outputs(stack), overrides=overrides)
        return cls(outputs={}, overrides=overrides)


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
