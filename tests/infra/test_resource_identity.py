"""Upgrading the engine must not replace a user's resources: every URN a stack declared in the
release the snapshot was taken from is still declared. A URN that changes on purpose needs an
`aliases` entry on the resource, and the snapshot then gains the new URN."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
from sesmailengine.testing import ResourceGraph

SNAPSHOT = Path(__file__).parent / "snapshots" / "urns.json"
# The snapshot's third graph: prod with a Route 53 zone, so the DNS records are covered too.
WITH_ZONE = {"hostedZoneId": "Z123EXAMPLE"}


def _aliased_urns(graph: ResourceGraph) -> set[str]:
    """Every URN the graph answers to: its own, and those its resources keep as aliases."""
    return {resource.urn for resource in graph} | graph.aliases


@pytest.fixture(scope="module")
def graphs(run_stack) -> dict[str, ResourceGraph]:
    return {
        "dev": run_stack("dev"),
        "prod": run_stack("prod"),
        "prod-with-zone": run_stack("prod", **WITH_ZONE),
    }


@pytest.mark.parametrize("stack", ["dev", "prod", "prod-with-zone"])
def test_every_urn_of_the_snapshot_is_still_declared(
    graphs: dict[str, ResourceGraph], stack: str
) -> None:
    # GIVEN the URNs the stack declared when the snapshot was taken
    expected = set(json.loads(SNAPSHOT.read_text())[stack])
    # WHEN the program runs today
    declared = _aliased_urns(graphs[stack])
    # THEN none is missing: `pulumi up` after an upgrade replaces nothing
    assert sorted(expected - declared) == []


def test_the_snapshot_covers_the_dns_records_of_a_hosted_zone(
    graphs: dict[str, ResourceGraph],
) -> None:
    # GIVEN the snapshot of prod with a hosted zone
    snapshot = json.loads(SNAPSHOT.read_text())
    # THEN it holds the Route 53 records a zone adds, so renaming them would be caught
    records = [urn for urn in snapshot["prod-with-zone"] if "route53/record:Record" in urn]
    assert len(records) == len([r for r in graphs["prod-with-zone"] if "route53" in r.type])
    assert records


def test_an_alias_keeps_the_identity_of_a_renamed_resource(run_stack, monkeypatch) -> None:
    # GIVEN a refactor that renames the tracking table but keeps its old name as an alias
    import pulumi_aws as aws

    original = aws.dynamodb.Table.__init__

    def renamed(self, resource_name, *args, opts=None, **kwargs):
        if resource_name.endswith("-tracking"):
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=resource_name)])
            )
            resource_name += "-renamed"
        original(self, resource_name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(aws.dynamodb.Table, "__init__", renamed)
    # WHEN the program runs
    graph = run_stack("dev")
    # THEN the old URN is no longer declared, but the alias keeps it
    old = [urn for urn in json.loads(SNAPSHOT.read_text())["dev"] if urn.endswith("-tracking")]
    assert old
    assert not set(old) & {resource.urn for resource in graph}
    assert set(old) <= _aliased_urns(graph)
