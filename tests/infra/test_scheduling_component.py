"""The ScheduledSends component and what the sender gets from it: the schedule group, the role
the one-time schedules run with, the sender's environment and its right to create schedules."""

from __future__ import annotations

from sesmailengine.handlers.core.environment import SenderEnvironment
from sesmailengine.testing import ResourceGraph

GROUP = "aws:scheduler/scheduleGroup:ScheduleGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
QUEUE = "aws:sqs/queue:Queue"


def email_queue_arns(graph: ResourceGraph) -> tuple[str, str]:
    queue = graph.one(QUEUE, "ingestion-email-queue").outputs["arn"]
    dead_letters = graph.one(QUEUE, "ingestion-email-dlq").outputs["arn"]
    return queue, dead_letters


def sender_statements(graph: ResourceGraph) -> dict[str, dict]:
    policy = graph.one(ROLE_POLICY, "sending-sender").json_input("policy")
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def test_one_schedule_group_is_named_after_the_engine_and_stack(dev: ResourceGraph) -> None:
    group = dev.one(GROUP, "scheduled-sends")
    assert group.inputs["name"] == "sesmailengine-dev"


def test_only_scheduler_for_this_account_may_use_the_role_and_only_to_reach_email_queue(
    dev: ResourceGraph,
) -> None:
    # GIVEN the schedules' role
    role = dev.one(ROLE, "scheduled-sends-role")
    [trust] = role.json_input("assumeRolePolicy")["Statement"]
    # THEN only EventBridge Scheduler, for this account, may assume it
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert list(trust["Condition"]["StringEquals"]) == ["aws:SourceAccount"]
    # AND it may only send to EmailQueue and to its DLQ (Scheduler's dead-letter queue)
    statements = dev.one(ROLE_POLICY, "scheduled-sends-policy").json_input("policy")["Statement"]
    assert {(s["Action"], s["Resource"]) for s in statements} == {
        ("sqs:SendMessage", arn) for arn in email_queue_arns(dev)
    }


def test_the_sender_knows_the_group_the_role_and_the_queues(dev: ResourceGraph) -> None:
    variables = dev.one(FUNCTION, "sending-sender").inputs["environment"]["variables"]
    settings = SenderEnvironment.from_env(variables)
    queue, dead_letters = email_queue_arns(dev)
    scheduling = settings.scheduling
    assert scheduling is not None
    assert scheduling.group == "sesmailengine-dev"
    assert scheduling.role_arn == dev.one(ROLE, "scheduled-sends-role").outputs["arn"]
    assert (scheduling.queue_arn, scheduling.dead_letter_queue_arn) == (queue, dead_letters)


def test_the_sender_creates_schedules_only_in_its_group_and_passes_the_role_only_to_scheduler(
    dev: ResourceGraph,
) -> None:
    statements = sender_statements(dev)
    create = statements["ScheduleLaterSends"]
    assert create["Action"] == "scheduler:CreateSchedule"
    assert create["Resource"] == (
        "arn:aws:scheduler:us-east-1:123456789012:schedule/sesmailengine-dev/*"
    )
    passing = statements["PassTheSchedulesRole"]
    assert passing["Action"] == "iam:PassRole"
    assert passing["Resource"] == dev.one(ROLE, "scheduled-sends-role").outputs["arn"]
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
    }


def test_the_stack_exports_the_schedule_group_for_sesmail_cancel(dev: ResourceGraph) -> None:
    assert dev.outputs["scheduleGroupName"] == "sesmailengine-dev"
