"""Every Lambda role grants exactly what its handler calls: each granted action is used, each
used action is granted, on the resource it is used on.

What a handler calls is traced, not listed by hand: the handler tests run (in a subprocess,
with the `call_trace` plugin of tests/handlers) and every AWS request an entry point makes is
turned into the IAM actions AWS checks (see tests/handlers/call_trace.py). Statements that
Lambda itself uses with the function's role (its logs, the queue or stream it polls, failure
destinations) are named in `LAMBDA_SERVICE_STATEMENTS` and left out of the comparison.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sesmailengine.testing import ResourceGraph

PROJECT_DIR = Path(__file__).resolve().parents[2]
HANDLER_TESTS = PROJECT_DIR / "tests" / "handlers"
TRACED_TESTS = (
    "test_email_sender.py",
    "test_sender_reliability.py",
    "test_scheduled_sends.py",
    "test_attachments.py",
    "test_feedback.py",
    "test_status_events.py",
    "test_stuck_sweep.py",
    "test_sending_brake.py",
    "test_unsubscribe.py",
)
"""Each entry point's happy paths and failure paths (throttling, conflicts, faults)."""
LAMBDA_SERVICE_STATEMENTS = {
    "WriteOwnLogs": "the Lambda runtime writes the function's logs",
    "KeepFailedInvocations": "Lambda sends a failed asynchronous invocation to the DLQ",
    "ConsumeEmailQueue": "Lambda's SQS poller receives and deletes the records",
    "ReadTrackingStream": "Lambda's stream poller reads the tracking stream",
    "KeepAbandonedBatches": "Lambda writes the on-failure destination",
}
# Re-runs the handler tests (about a minute): `make privileges`, and CI, run it.
pytestmark = pytest.mark.trace

Grant = tuple[str, str]
"""(IAM action, resource label): `tracking`, `tracking/index/<name>`, `suppression`, or the
action's service for the resources a function has one of (its bus, bucket, queue...)."""


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("trace") / "calls.json"
    environment = {
        **os.environ,
        "SESMAIL_CALL_TRACE": str(path),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(HANDLER_TESTS), os.environ.get("PYTHONPATH")])
        ),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "call_trace"]
    command += ["-o", "addopts=", "-W", "ignore", *(str(HANDLER_TESTS / t) for t in TRACED_TESTS)]
    run = subprocess.run(command, cwd=PROJECT_DIR, env=environment, capture_output=True, text=True)
    # Failing handler tests are theirs to report; a run that never got to the handlers is not.
    assert run.returncode in (0, 1) and path.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(path.read_text())


def functions(graph: ResourceGraph) -> dict[str, list[dict]]:
    """Entry point (`email_sender`...) → the statements of its role's policy."""
    policies = {p.inputs["role"]: p for p in graph.of_type("aws:iam/rolePolicy:RolePolicy")}
    found = {}
    for function in graph.of_type("aws:lambda/function:Function"):
        entry = function.inputs["handler"].split(".")[-2]
        role_name = function.inputs["role"].rsplit("/", 1)[-1]
        found[entry] = policies[role_name].json_input("policy")["Statement"]
    return found


def label(action: str, resource: str) -> str:
    service = action.split(":")[0]
    if service != "dynamodb":
        return service
    table, _, index = resource.split(":table/")[1].partition("/index/")
    name = next(n for n in ("tracking", "suppression") if n in table.lower())
    return f"{name}/index/{index}" if index else name


def granted(statements: list[dict]) -> set[Grant]:
    grants = set()
    for statement in statements:
        if statement["Effect"] != "Allow" or statement.get("Sid") in LAMBDA_SERVICE_STATEMENTS:
            continue
        actions, resources = statement["Action"], statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                grants.add((action, label(action, resource)))
    return grants


def used(trace: dict, entry: str) -> set[Grant]:
    return {tuple(pair) for pair in trace["actions"].get(entry, [])}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_function_is_traced(request, trace, stack):
    graph = request.getfixturevalue(stack)
    assert set(functions(graph)) <= set(trace["actions"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_granted_action_is_used_by_the_handler(request, trace, stack):
    graph = request.getfixturevalue(stack)
    unused = {
        entry: sorted(granted(statements) - used(trace, entry))
        for entry, statements in functions(graph).items()
    }
    assert {entry: grants for entry, grants in unused.items() if grants} == {}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_action_a_handler_uses_is_granted(request, trace, stack):
    graph = request.getfixturevalue(stack)
    missing = {
        entry: sorted(used(trace, entry) - granted(statements))
        for entry, statements in functions(graph).items()
    }
    assert {entry: grants for entry, grants in missing.items() if grants} == {}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_functions_put_only_their_own_events(request, trace, stack):
    graph = request.getfixturevalue(stack)
    for entry, statements in functions(graph).items():
        puts = [s for s in statements if s["Action"] == "events:PutEvents"]
        traced = trace["events"].get(entry, [])
        if not traced:
            assert puts == [], entry
            continue
        (put,) = puts
        condition = put["Condition"]["StringEquals"]
        assert condition["events:detail-type"] == traced[0][1]
        assert {detail_type for _, detail_type in traced} == {condition["events:detail-type"]}
        # The source the function is configured to put its events with.
        function = next(
            f
            for f in graph.of_type("aws:lambda/function:Function")
            if f.inputs["handler"].split(".")[-2] == entry
        )
        variables = function.inputs["environment"]["variables"]
        assert condition["events:source"] == variables.get("STATUS_EVENT_SOURCE", "sesmailengine")


def test_a_custom_status_source_is_the_only_one_functions_may_put(run_stack):
    graph = run_stack("dev", statusEventSource="com.example.mail")
    for entry in ("email_sender", "status_events"):
        (put,) = [s for s in functions(graph)[entry] if s["Action"] == "events:PutEvents"]
        assert put["Condition"]["StringEquals"]["events:source"] == "com.example.mail"
