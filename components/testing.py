"""Test a program that uses the engine, without the Pulumi CLI, a provider plugin or pip.

`run_program` runs a Pulumi program file and returns the resources it declares; building an
`EmailEngine` directly under your own mocks takes `placeholder_artifacts` (as its
`lambda_artifacts` argument, or through `prebuilt_artifacts` for a whole program):

    from sesmailengine.testing import placeholder_artifacts, run_program, stack_config_file

    graph = run_program(Path("__main__.py"), stack="dev",
                        config=stack_config_file(Path("."), "dev"),
                        lambda_artifacts=placeholder_artifacts(tmp_path))
    queue = graph.one("aws:sqs/queue:Queue", "email-queue")

The program runs under `pulumi.runtime.set_mocks`: every resource registration is recorded
with its fully resolved inputs (and the `aliases` and `ignore_changes` it declares), and
answered with outputs shaped like AWS's (ARNs, queue URLs, generated names), so code that
derives policies from ARNs sees realistic values. The tests assert on this graph, and local
mode builds its emulated AWS from it.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as runtime_settings

from .artifact import LambdaArtifacts, placeholder_artifacts, prebuilt_artifacts

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "DeclaredResource",
    "LambdaArtifacts",
    "ResourceGraph",
    "placeholder_artifacts",
    "prebuilt_artifacts",
    "run_program",
    "stack_config_file",
]

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class DeclaredResource:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    provider: str = ""
    """The explicit provider it was declared with (`<provider URN>::<id>`, through
    `ResourceOptions(provider=...)` or a parent's `providers`); empty: the default provider."""
    ignore_changes: tuple[str, ...] = ()
    """Properties Pulumi keeps from the state instead of the program once the resource exists
    (`ResourceOptions(ignore_changes=...)`), by their wire names (`sendingOptions`)."""
    custom: bool = True
    """A provider's resource (something `pulumi up` creates), not a component grouping others."""

    @property
    def parent_type(self) -> str:
        """Type of the resource this one was declared in (read from the URN, which names only
        the direct parent): a component's, or `pulumi:pulumi:Stack` at the top."""
        qualified_type = self.urn.split("::")[2]
        return qualified_type.split("$")[0]

    def json_input(self, key: str) -> Any:
        """An input that holds a JSON document (policies, patterns), decoded."""
        return json.loads(self.inputs[key])


@dataclass
class ResourceGraph:
    resources: list[DeclaredResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    aliases: set[str] = field(default_factory=set)
    """URNs the resources answer to through `ResourceOptions(aliases=...)`: a resource renamed
    or moved keeps its old identity, so `pulumi up` does not replace it."""

    def of_type(self, type_: str) -> list[DeclaredResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name_contains: str = "") -> DeclaredResource:
        """The single resource of a type whose logical name contains `name_contains`."""
        matches = [r for r in self.of_type(type_) if name_contains in r.name]
        if len(matches) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected one {type_} named *{name_contains}*, found {names}")
        return matches[0]

    def named(self, name: str) -> DeclaredResource:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise LookupError(f"no resource named {name}")

    def __iter__(self) -> Iterator[DeclaredResource]:
        return iter(self.resources)


def stack_config_file(project_dir: Path, stack: str) -> dict[str, str]:
    """The config of `Pulumi.<stack>.yaml` as the Pulumi CLI hands it to a program:
    scalars as text, lists and maps as JSON."""
    document = yaml.safe_load((project_dir / f"Pulumi.{stack}.yaml").read_text()) or {}
    return {key: _as_config_text(value) for key, value in (document.get("config") or {}).items()}


def _as_config_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def run_program(
    program: Path,
    *,
    stack: str,
    config: Mapping[str, str],
    project: str = "sesmailengine",
    lambda_artifacts: LambdaArtifacts | None = None,
) -> ResourceGraph:
    """Run the Pulumi program file under mocks and return its declared resources and outputs.

    With `lambda_artifacts`, the engine uses them instead of building the real zips (which
    needs pip and the package index). Exceptions the program raises (such as a config
    `RunError`) propagate to the caller.
    """
    mocks = _AwsShapedMocks()
    # A root stack left over from an earlier run would collect this run's outputs too.
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    monitor = runtime_settings.SETTINGS.monitor
    aliases = _record_aliases(monitor, project=project, stack=stack)
    ignored = _record_ignore_changes(monitor)
    pulumi.runtime.set_all_config(dict(config))
    outputs: dict[str, Any] = {}

    def run() -> pulumi.Output[Any]:
        project_dir = str(program.parent.resolve())
        # The Pulumi language host puts the project folder on the path, as we do here.
        sys.path.insert(0, project_dir)
        try:
            runpy.run_path(str(program), run_name="__main__")
        finally:
            sys.path.remove(project_dir)
        exported = runtime_settings.get_root_resource().outputs
        return pulumi.Output.all(**exported).apply(outputs.update)

    with prebuilt_artifacts(lambda_artifacts) if lambda_artifacts else nullcontext():
        pulumi.runtime.test(run)()
    resources = []
    for urn, registration in runtime_settings.SETTINGS.monitor.get_registered_resources().items():
        _, _, qualified_type, name = urn.split("::")
        type_ = qualified_type.split("$")[-1]
        resources.append(
            DeclaredResource(
                urn=urn,
                type=type_,
                name=name,
                inputs=mocks.inputs.get((type_, name), {}),
                outputs=dict(registration.state),
                ignore_changes=ignored.get(urn, ()),
                provider=mocks.providers.get((type_, name), ""),
                custom=mocks.custom.get((type_, name), True),
            )
        )
    return ResourceGraph(resources=resources, outputs=outputs, aliases=aliases)


def _record_aliases(monitor: Any, *, project: str, stack: str) -> set[str]:
    """Wrap the mock monitor's registration so the aliases each resource declares are kept,
    as the URNs the Pulumi engine would match them against."""
    aliases: set[str] = set()
    register = monitor.RegisterResource

    def recording(request: Any) -> Any:
        for alias in request.aliases:
            if alias.urn:
                aliases.add(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            type_ = spec.type or request.type
            if parent:
                type_ = parent.split("::")[2].split("$")[-1] + "$" + type_
            aliases.add(
                f"urn:pulumi:{spec.stack or stack}::{spec.project or project}::"
                f"{type_}::{spec.name or request.name}"
            )
        return register(request)

    monitor.RegisterResource = recording
    return aliases


def _record_ignore_changes(monitor: Any) -> dict[str, tuple[str, ...]]:
    """Wrap the mock monitor's registration so each resource's `ignoreChanges` is kept, by URN,
    as the SDK sends it to the engine (Python names already translated to the provider's)."""
    ignored: dict[str, tuple[str, ...]] = {}
    register = monitor.RegisterResource

    def recording(request: Any) -> Any:
        response = register(request)
        if request.ignoreChanges:
            ignored[response.urn] = tuple(request.ignoreChanges)
        return response

    monitor.RegisterResource = recording
    return ignored


class _AwsShapedMocks(pulumi.runtime.Mocks):
    """Answers registrations with their inputs plus the outputs AWS would generate."""

    def __init__(self) -> None:
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}
        self.providers: dict[tuple[str, str], str] = {}
        # Explicit aws providers' id → their region, so a data call made through one (such as
        # the dashboard's aws.get_region) answers with that provider's region.
        self.regions: dict[str, str] = {}
        self.custom: dict[tuple[str, str], bool] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.inputs[(args.typ, args.name)] = dict(args.inputs)
        self.custom[(args.typ, args.name)] = args.custom
        physical = _physical_name(args.typ, args.name, args.inputs)
        outputs = _generated_outputs(args.typ, physical, args.inputs)
        self.providers[(args.typ, args.name)] = args.provider or ""
        if args.typ == "pulumi:providers:aws" and args.inputs.get("region"):
            self.regions[physical] = args.inputs["region"]
        # Like AWS: a queue's id is its URL, most other resources' their name.
        return outputs.get("url", physical), {**args.inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        # The provider reference is `<urn>::<id>`; none (the default provider): REGION.
        region = self.regions.get((args.provider or "").rpartition("::")[2], REGION)
        answers = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/mock",
                "userId": "MOCK",
            },
            "aws:index/getRegion:getRegion": {"name": region, "region": region},
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
            },
        }
        return answers.get(args.token, {})


# The input each AWS type takes its physical name from, where the program may set one.
_NAME_INPUTS = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:sesv2/configurationSet:ConfigurationSet": "configurationSetName",
    "aws:sesv2/emailIdentity:EmailIdentity": "emailIdentity",
    "aws:lambda/layerVersion:LayerVersion": "layerName",
}


def _physical_name(type_: str, name: str, inputs: Mapping[str, Any]) -> str:
    explicit = inputs.get(_NAME_INPUTS.get(type_, "name"))
    # Pulumi auto-names resources from their logical name plus a random suffix.
    return explicit if isinstance(explicit, str) and explicit else f"{name}-0000000"


# Type → (service, resource part) of the ARN AWS gives such a resource.
_ARN_FORMATS = {
    "aws:sqs/queue:Queue": ("sqs", "{name}"),
    "aws:dynamodb/table:Table": ("dynamodb", "table/{name}"),
    "aws:cloudwatch/eventBus:EventBus": ("events", "event-bus/{name}"),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule/{bus}/{name}"),
    "aws:cloudwatch/eventArchive:EventArchive": ("events", "archive/{name}"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "alarm:{name}"),
    "aws:lambda/function:Function": ("lambda", "function:{name}"),
    "aws:lambda/layerVersion:LayerVersion": ("lambda", "layer:{name}:1"),
    "aws:lambda/eventSourceMapping:EventSourceMapping": ("lambda", "event-source-mapping:{name}"),
    "aws:sesv2/configurationSet:ConfigurationSet": ("ses", "configuration-set/{name}"),
    "aws:sesv2/emailIdentity:EmailIdentity": ("ses", "identity/{name}"),
    "aws:ssm/parameter:Parameter": ("ssm", "parameter{name}"),
}


def _arn(type_: str, physical: str, inputs: Mapping[str, Any]) -> str:
    if type_ == "aws:s3/bucket:Bucket":
        return f"arn:aws:s3:::{physical}"
    if type_ == "aws:iam/role:Role":
        return f"arn:aws:iam::{ACCOUNT_ID}:role/{physical}"
    module = type_.split(":")[1].split("/")[0]
    service, resource = _ARN_FORMATS.get(type_, (module, "{name}"))
    resource = resource.format(name=physical, bus=inputs.get("eventBusName"))
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def _generated_outputs(type_: str, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    outputs: dict[str, Any] = {"arn": _arn(type_, physical, inputs), "name": physical}
    if type_ == "aws:sqs/queue:Queue":
        outputs["url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{physical}"
    elif type_ == "aws:s3/bucket:Bucket":
        outputs["bucket"] = physical
    elif type_ == "aws:dynamodb/table:Table" and inputs.get("streamEnabled"):
        # A stream's label is the time it was enabled; a fixed one keeps graphs comparable.
        outputs["streamArn"] = f"{outputs['arn']}/stream/2026-01-01T00:00:00.000"
    elif type_ == "aws:lambda/eventSourceMapping:EventSourceMapping":
        outputs["uuid"] = f"{physical}-uuid"
    elif type_ == "aws:lambda/functionUrl:FunctionUrl":
        url_id = hashlib.sha256(physical.encode()).hexdigest()[:32]
        outputs["urlId"] = url_id
        outputs["functionUrl"] = f"https://{url_id}.lambda-url.{REGION}.on.aws/"
    elif type_ == "random:index/randomPassword:RandomPassword":
        # Deterministic, so graphs compare equal; local mode uses it as the real value.
        digest = hashlib.sha256(f"mock-password:{physical}".encode()).hexdigest()
        outputs["result"] = (digest * 4)[: int(inputs.get("length") or 16)]
    elif type_ == "aws:sesv2/emailIdentity:EmailIdentity":
        outputs["dkimSigningAttributes"] = {
            **(inputs.get("dkimSigningAttributes") or {}),
            "tokens": ["token1", "token2", "token3"],
        }
    return outputs


def main(argv: list[str] | None = None) -> int:
    """`python -m sesmailengine.testing [STACK]`: list what a stack declares."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("stack", nargs="?", default="dev")
    args = parser.parse_args(argv)
    project_dir = Path.cwd()
    try:
        graph = run_program(
            project_dir / "__main__.py",
            stack=args.stack,
            config=stack_config_file(project_dir, args.stack),
            lambda_artifacts=placeholder_artifacts(Path(tempfile.mkdtemp())),
        )
    except pulumi.RunError as error:
        print(error, file=sys.stderr)
        return 1
    width = max(len(r.type) for r in graph)
    for resource in sorted(graph, key=lambda r: (r.parent_type, r.type, r.name)):
        print(f"{resource.type:<{width}}  {resource.name}")
    print(f"\n{len(graph.resources)} resources. Outputs:")
    for key, value in graph.outputs.items():
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
