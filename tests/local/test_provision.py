"""Local mode builds exactly what the Pulumi program declares: no second description."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import sesmailengine.ingestion
import sesmailengine.storage
from sesmailengine.testing import (
    DeclaredResource,
    placeholder_artifacts,
    run_program,
    stack_config_file,
)

from sesmail.local.provision import ProvisioningRefused, UnprovisionedResources
from sesmail.local.session import local_session

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def changed_components(monkeypatch: pytest.MonkeyPatch) -> None:
    """A team changes two components: one more GSI, and five receives before the DLQ."""
    indexes = {**sesmailengine.storage.TRACKING_INDEXES, "template-index": ("templateName", None)}
    monkeypatch.setattr(sesmailengine.storage, "TRACKING_INDEXES", indexes)
    monkeypatch.setattr(sesmailengine.ingestion, "MAX_RECEIVE_COUNT", 5)


def test_a_change_to_a_component_shows_up_in_local_mode(changed_components, tmp_path) -> None:
    # WHEN local mode starts from the changed program
    with local_session(project_dir=PROJECT_DIR, state_dir=tmp_path) as session:
        table = session.client("dynamodb").describe_table(
            TableName=session.outputs["trackingTableName"]
        )["Table"]
        queue = session.client("sqs").get_queue_attributes(
            QueueUrl=session.outputs["emailQueueUrl"], AttributeNames=["RedrivePolicy"]
        )["Attributes"]
    # THEN the emulator has the new index and the new redrive count
    assert "template-index" in {index["IndexName"] for index in table["GlobalSecondaryIndexes"]}
    assert json.loads(queue["RedrivePolicy"])["maxReceiveCount"] == 5


# The stacks local mode is proven against: dev, and prod with a hosted zone and encrypted
# topics (every optional resource: bus policy, KMS key, MAIL FROM, DNS records, the brake).
STACKS = {
    "dev": {},
    "prod-with-zone": {"hostedZoneId": "Z123EXAMPLE", "encryptTopics": "true"},
}


def declared(stack: str, overrides: dict[str, str]) -> list[DeclaredResource]:
    config = stack_config_file(PROJECT_DIR, stack)
    # As local mode runs it: the emulator is no SES sandbox.
    config.update(
        {f"sesmailengine:{k}": v for k, v in {**overrides, "sesSandbox": "false"}.items()}
    )
    graph = run_program(
        PROJECT_DIR / "__main__.py",
        stack=stack,
        config=config,
        lambda_artifacts=placeholder_artifacts(Path(tempfile.mkdtemp())),
    )
    return [r for r in graph if r.custom]


def names(resources: list[DeclaredResource], type_: str, key: str = "name") -> set[str]:
    return {r.outputs[key] for r in resources if r.type == type_}


@pytest.mark.parametrize("stack", STACKS)
def test_local_mode_creates_every_resource_the_program_declares(stack, tmp_path) -> None:
    # GIVEN what the program declares for the stack
    program = stack.split("-")[0]
    resources = declared(program, STACKS[stack])
    # WHEN local mode starts
    with local_session(
        stack=program, project_dir=PROJECT_DIR, state_dir=tmp_path, config_overrides=STACKS[stack]
    ) as session:
        client = session.client
        # THEN it says it provisioned all of them
        assert session.deployment.summary == (
            f"provisioned {len(resources)} of {len(resources)} declared resources"
        )
        # AND the emulator holds each: roles with their policies, ...
        roles = {r["RoleName"] for r in client("iam").list_roles()["Roles"]}
        assert names(resources, "aws:iam/role:Role") <= roles
        for policy in (r for r in resources if r.type == "aws:iam/rolePolicy:RolePolicy"):
            held = client("iam").get_role_policy(
                RoleName=policy.inputs["role"], PolicyName=policy.outputs["name"]
            )["PolicyDocument"]
            assert held == json.loads(policy.inputs["policy"])
        # ... functions from the real code archive, with their role, layer and permissions ...
        functions = {f["FunctionName"]: f for f in client("lambda").list_functions()["Functions"]}
        # (run with the memory the emulator holds for each: the sender's is bigger)
        running = {f.name: f.memory_mb for f in session.deployment.functions.values()}
        assert running == {name: f["MemorySize"] for name, f in functions.items()}
        assert len(set(running.values())) > 1
        assert set(functions) == names(resources, "aws:lambda/function:Function")
        declared_functions = {
            r.outputs["name"]: r for r in resources if r.type == "aws:lambda/function:Function"
        }
        for name, function in functions.items():
            assert function["Role"] == declared_functions[name].inputs["role"]
        sender = next(f for name, f in functions.items() if "sender" in name)
        assert [layer["Arn"] for layer in sender["Layers"]] == [
            r.outputs["arn"] for r in resources if r.type.endswith("layerVersion:LayerVersion")
        ]
        code = client("lambda").get_function(FunctionName=sender["FunctionName"])["Code"]
        assert code  # the archive the program deploys, stored by the emulator
        statements = sum(
            len(json.loads(client("lambda").get_policy(FunctionName=name)["Policy"])["Statement"])
            for name in functions
            if _has_policy(client("lambda"), name)
        )
        assert statements == len([r for r in resources if r.type.endswith("permission:Permission")])
        # ... alarms with their actions, the dashboard, log groups, schedules ...
        alarms = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
        for alarm in (r for r in resources if r.type.endswith("metricAlarm:MetricAlarm")):
            assert alarms[alarm.outputs["name"]]["AlarmActions"] == alarm.inputs["alarmActions"]
        dashboards = {
            d["DashboardName"] for d in client("cloudwatch").list_dashboards()["DashboardEntries"]
        }
        assert dashboards == names(resources, "aws:cloudwatch/dashboard:Dashboard", "dashboardName")
        groups = {g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]}
        assert names(resources, "aws:cloudwatch/logGroup:LogGroup") <= groups
        schedules = {s["Name"] for s in client("scheduler").list_schedules()["Schedules"]}
        assert names(resources, "aws:scheduler/schedule:Schedule") <= schedules
        # ... SSM parameters, and the stack's SES identities, keys and DNS records
        parameters = {p["Name"] for p in client("ssm").describe_parameters()["Parameters"]}
        assert {
            r.inputs["name"] for r in resources if r.type.endswith("parameter:Parameter")
        } <= parameters
        aliases = {a["AliasName"] for a in client("kms").list_aliases()["Aliases"]}
        assert {r.inputs["name"] for r in resources if r.type == "aws:kms/alias:Alias"} <= aliases
        records = {
            record["Name"].rstrip(".")
            for zone in client("route53").list_hosted_zones()["HostedZones"]
            for record in client("route53").list_resource_record_sets(HostedZoneId=zone["Id"])[
                "ResourceRecordSets"
            ]
        }
        assert {
            r.inputs["name"] for r in resources if r.type == "aws:route53/record:Record"
        } <= records


def _has_policy(lambda_client, name: str) -> bool:
    try:
        lambda_client.get_policy(FunctionName=name)
    except lambda_client.exceptions.ResourceNotFoundException:
        return False
    return True


def test_a_resource_type_local_mode_cannot_create_stops_it_naming_the_resource(
    tmp_path,
) -> None:
    # GIVEN a program that declares one resource of a type local mode has no provisioner for
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        (project / name).write_text((PROJECT_DIR / name).read_text())
    (project / "__main__.py").write_text(
        (PROJECT_DIR / "__main__.py").read_text()
        + "\nimport pulumi_aws as aws\n"
        + "aws.sns.PlatformApplication('push-to-phones', platform='GCM', platform_credential='x')\n"
    )
    # WHEN local mode starts  THEN it stops before creating anything, naming the resource
    with (
        pytest.raises(UnprovisionedResources) as stopped,
        local_session(project_dir=project, state_dir=tmp_path / "state"),
    ):
        pass
    assert "push-to-phones (aws:sns/platformApplication:PlatformApplication)" in str(stopped.value)


def test_a_malformed_role_policy_is_refused_as_iam_refuses_it(monkeypatch, tmp_path) -> None:
    # GIVEN a component change that spells an effect wrong in the sender's role policy
    import pulumi
    import pulumi_aws as aws

    original = aws.iam.RolePolicy.__init__

    def misspelt(self, resource_name, *args, policy=None, **kwargs):
        if "sender" in resource_name:
            policy = pulumi.Output.from_input(policy).apply(
                lambda text: text.replace('"Allow"', '"Alow"', 1)
            )
        original(self, resource_name, *args, policy=policy, **kwargs)

    monkeypatch.setattr(aws.iam.RolePolicy, "__init__", misspelt)
    # WHEN local mode starts  THEN the emulator refuses the policy, naming the resource
    with (
        pytest.raises(ProvisioningRefused) as refused,
        local_session(project_dir=PROJECT_DIR, state_dir=tmp_path),
    ):
        pass
    assert refused.value.resource.name == "sesmailengine-sending-sender-policy"
    assert "MalformedPolicyDocument" in str(refused.value)
