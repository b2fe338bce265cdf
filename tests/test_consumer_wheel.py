"""A team's own Pulumi program, using the installed wheel as a library: two engines in
eu-west-1 through an explicit provider, each exporting its outputs, unit-tested under mocks
without building the Lambda layer (what the README's "Using the component in your own Pulumi
program" shows)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from wheel_support import FreshVenv, build_wheel, venv_with_wheel

# Builds and installs the wheel (`make builds`; CI runs it).
pytestmark = pytest.mark.build

CONSUMER_PROGRAM = '''
"""Our platform's mail: transactional and newsletter engines in Ireland."""
import pulumi
import pulumi_aws as aws
from sesmailengine import EmailEngine, EngineSettings

ireland = aws.Provider("ireland", region="eu-west-1")
engines = {
    "orders": EmailEngine(
        "orders",
        EngineSettings(default_sender_email="orders@example.com"),
        pulumi.ResourceOptions(provider=ireland),
    ),
    "newsletter": EmailEngine(
        "newsletter",
        EngineSettings(default_sender_email="news@example.com", maximum_concurrency=2),
        pulumi.ResourceOptions(provider=ireland),
    ),
}
for name, engine in engines.items():
    pulumi.export(name, engine.outputs())
'''

# The consumer's own unit test: its program under mocks, with placeholder Lambda zips.
CONSUMER_TEST = """
import json, tempfile
from pathlib import Path
import sesmailengine
from sesmailengine.testing import placeholder_artifacts, run_program


graph = run_program(
    Path("__main__.py"),
    stack="prod",
    config={},
    lambda_artifacts=placeholder_artifacts(Path(tempfile.mkdtemp())),
)
print(json.dumps({
    "sesmailengine": sesmailengine.__file__,
    "resources": [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "provider": r.provider,
            "physical": r.outputs.get("name"),
            "source": getattr(r.inputs.get("source"), "path", None),
            "dashboard": r.inputs.get("dashboardBody"),
        }
        for r in graph
    ],
    "outputs": graph.outputs,
}))
"""


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    wheel = build_wheel(tmp_path_factory.mktemp("wheel"))
    return venv_with_wheel(wheel, tmp_path_factory.mktemp("consumer-venv"))


@pytest.fixture(scope="module")
def consumer_run(fresh_venv: FreshVenv, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The consumer program run under mocks by its own test, from a folder with no source tree,
    with a pip that could not build a layer and an empty artifact cache."""
    project = tmp_path_factory.mktemp("consumer")
    (project / "__main__.py").write_text(CONSUMER_PROGRAM)
    cache = project / "artifact-cache"
    environment = {
        **os.environ,
        "SESMAILENGINE_CACHE_DIR": str(cache),
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
    }
    result = subprocess.run(
        [str(fresh_venv.python), "-c", CONSUMER_TEST],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {**json.loads(result.stdout), "cache": cache}


# Outputs `sesmail send`, `status`, `history` and `suppression` find resources by.
SESMAIL_READS = (
    "trackingTableName",
    "suppressionTableName",
    "templateBucketName",
    "emailQueueUrl",
    "senderFunctionName",
)


def engine_resources(run: dict, engine: str) -> list[dict]:
    """The AWS resources one engine declares (its children are named after it)."""
    return [
        r
        for r in run["resources"]
        if r["type"].startswith("aws:") and r["name"].startswith(f"{engine}-")
    ]


def test_the_consumer_program_runs_the_installed_wheel_not_this_checkout(
    consumer_run: dict, fresh_venv: FreshVenv
) -> None:
    # GIVEN the consumer program run with the fresh venv's interpreter
    # WHEN it imports sesmailengine
    # THEN the package, its handlers' lock and its starter templates come from the wheel
    assert consumer_run["sesmailengine"].startswith(str(fresh_venv.site))
    sources = [r["source"] for r in consumer_run["resources"] if r["source"]]
    assert sources
    assert all(source.startswith(str(fresh_venv.site)) for source in sources)
    assert any("/sesmailengine/templates/welcome/" in source for source in sources)


def test_two_engines_declare_the_same_resources_under_distinct_names(consumer_run: dict) -> None:
    # GIVEN the two engines' AWS resources
    orders = engine_resources(consumer_run, "orders")
    newsletter = engine_resources(consumer_run, "newsletter")

    # WHEN their types and names are compared
    # THEN each engine has the whole pipeline, and no logical or physical name is shared
    assert len(orders) > 50
    assert sorted(r["type"] for r in orders) == sorted(r["type"] for r in newsletter)
    names = [r["name"] for r in orders + newsletter]
    assert len(set(names)) == len(names)
    # AWS names are unique per resource type (a bus and a configuration set may share one)
    physical = [(r["type"], r["physical"]) for r in orders + newsletter]
    assert len(set(physical)) == len(physical)


def test_every_aws_resource_of_both_engines_uses_the_explicit_provider(
    consumer_run: dict,
) -> None:
    # GIVEN every AWS resource the program declares, besides the provider itself
    declared = [r for r in consumer_run["resources"] if r["type"].startswith("aws:")]

    (ireland,) = [r for r in consumer_run["resources"] if r["type"] == "pulumi:providers:aws"]

    # WHEN the provider each was declared with is read
    providers = {r["provider"].rpartition("::")[0] for r in declared}

    # THEN it is the program's eu-west-1 provider, never the default one
    assert ireland["name"] == "ireland"
    assert providers == {ireland["urn"]}


def test_the_dashboards_chart_the_providers_region(consumer_run: dict) -> None:
    # GIVEN the two engines' dashboards (their region comes from the provider they run under)
    dashboards = [
        json.loads(r["dashboard"])
        for r in consumer_run["resources"]
        if r["type"] == "aws:cloudwatch/dashboard:Dashboard"
    ]

    # WHEN the regions of their widgets are read
    regions = {w["properties"]["region"] for d in dashboards for w in d["widgets"]}

    # THEN both dashboards exist, and chart eu-west-1 only
    assert len(dashboards) == 2
    assert regions == {"eu-west-1"}


def test_each_engine_exports_the_outputs_sesmail_reads_named_after_it(
    consumer_run: dict,
) -> None:
    # GIVEN the stack outputs the program exported, one object per engine
    outputs = consumer_run["outputs"]

    # WHEN they are read as `pulumi stack output <engine> --json` would give them
    # THEN each names that engine's own bus, tables and queues, under the keys sesmail reads
    assert set(outputs) == {"orders", "newsletter"}
    for engine in ("orders", "newsletter"):
        exported = outputs[engine]
        assert exported["eventBusName"] == f"{engine}-prod"
        assert exported["configurationSetName"] == f"{engine}-prod"
        assert exported["region"] == "eu-west-1"  # where sesmail reaches it
        for key in SESMAIL_READS:
            assert f"/{engine}-" in f"/{exported[key]}", (engine, key, exported[key])
    assert set(outputs["orders"]) == set(outputs["newsletter"])


def test_unit_testing_the_consumer_program_built_no_lambda_layer(consumer_run: dict) -> None:
    # GIVEN the consumer's test ran its program with placeholder artifacts
    # WHEN the artifact cache it would have built the layer in is looked at
    # THEN nothing was built there (pip, given no index, could not have built it anyway)
    assert not consumer_run["cache"].exists() or list(consumer_run["cache"].rglob("*")) == []
