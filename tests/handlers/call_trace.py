"""A pytest plugin that records the IAM actions each Lambda entry point needs.

Loaded with ``-p call_trace`` while the handler tests run (tests/infra/test_least_privilege.py
does this), it registers ``before-parameter-build`` and ``after-call`` hooks on every session
handed to the handlers' client factory (``handlers.aws.clients.reset``), so each AWS request a
handler makes is seen with its API parameters before it is sent, whether moto or an injected
fault answers it. A request is attributed to the entry point whose ``handler`` is on the stack
(``Aws.announce`` runs the status-events handler inside a sender test) when the handlers' own
code made it; requests the tests make to arrange or observe moto are ignored.

Each request becomes the IAM actions AWS authorizes it with, on a resource label:
``TransactWriteItems`` needs the action of each item it carries (``UpdateItem``...),
``HeadObject`` needs ``s3:GetObject``, a ``GetObject`` or ``HeadObject`` answered as missing
needed ``s3:ListBucket`` (without it S3 answers 403).
At the end the trace is written as JSON to ``$SESMAIL_CALL_TRACE``.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from typing import Any

from sender_support import SUPPRESSION, TRACKING

ENTRY_POINTS = (
    "email_sender",
    "feedback_processor",
    "status_events",
    "stuck_sweep",
    "sending_brake",
    "unsubscribe",
)
_MODULES = {f"sesmailengine.handlers.{entry}": entry for entry in ENTRY_POINTS}
_TABLES = {TRACKING: "tracking", SUPPRESSION: "suppression"}
_SDK_PACKAGES = {"botocore", "boto3", __name__}
_SQS_BATCHES = {
    # SQS authorizes a batch request with the action of one entry.
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "DeleteMessageBatch": "DeleteMessage",
    "SendMessageBatch": "SendMessage",
}
_S3_ACTIONS = {"HeadObject": "GetObject"}
"""S3 authorizes these requests with another action."""
_TRANSACTION_ITEMS = {
    "Update": "UpdateItem",
    "Put": "PutItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}

actions: dict[str, set[tuple[str, str]]] = defaultdict(set)
"""Entry point → (IAM action, resource label) pairs."""
events_put: dict[str, set[tuple[str, str]]] = defaultdict(set)
"""Entry point → (source, detail-type) of every event it put."""


def _entry_point() -> str | None:
    """The entry point whose own code made the request now being sent, if any."""
    frame = sys._getframe(1)
    while frame.f_globals.get("__name__", "").partition(".")[0] in _SDK_PACKAGES:
        frame = frame.f_back
    # A test's fault hook may write through its own client while a handler waits on its call.
    if not frame.f_globals.get("__name__", "").startswith("sesmailengine.handlers."):
        return None
    while frame is not None:
        entry = _MODULES.get(frame.f_globals.get("__name__", ""))
        if entry is not None and frame.f_code.co_name == "handler":
            return entry
        frame = frame.f_back
    return None


def table_label(table: str, index: str | None = None) -> str:
    label = _TABLES.get(table, table)
    return f"{label}/index/{index}" if index else label


def required_actions(service: str, operation: str, params: dict[str, Any]) -> set[tuple[str, str]]:
    """What IAM checks for one request of `operation` (`service`: the signing name)."""
    if service == "sqs":
        return {(f"sqs:{_SQS_BATCHES.get(operation, operation)}", service)}
    if service == "s3":
        return {(f"s3:{_S3_ACTIONS.get(operation, operation)}", service)}
    if service == "scheduler" and operation == "CreateSchedule":
        # The schedule's role is passed to Scheduler: IAM checks iam:PassRole on it too.
        return {("scheduler:CreateSchedule", service), ("iam:PassRole", "iam")}
    if service != "dynamodb":
        return {(f"{service}:{operation}", service)}
    if operation == "TransactWriteItems":
        return {
            (f"dynamodb:{_TRANSACTION_ITEMS[kind]}", table_label(item[kind]["TableName"]))
            for item in params["TransactItems"]
            for kind in item
        }
    if operation == "BatchGetItem":
        return {("dynamodb:BatchGetItem", table_label(t)) for t in params["RequestItems"]}
    return {(f"dynamodb:{operation}", table_label(params["TableName"], params.get("IndexName")))}


def _before_request(model: Any, params: dict[str, Any], **_: Any) -> None:
    entry = _entry_point()
    if entry is None:
        return
    service = model.service_model.signing_name
    actions[entry] |= required_actions(service, model.name, params)
    if service == "events" and model.name == "PutEvents":
        events_put[entry] |= {(e["Source"], e["DetailType"]) for e in params["Entries"]}


def _after_call(model: Any, parsed: dict[str, Any], **_: Any) -> None:
    entry = _entry_point()
    missing = parsed.get("Error", {}).get("Code") in ("NoSuchKey", "404")
    if entry is not None and model.name in ("GetObject", "HeadObject") and missing:
        actions[entry].add(("s3:ListBucket", "s3"))


def _trace(session: Any) -> None:
    if getattr(session, "_call_trace", False):
        return
    session.events.register("before-parameter-build", _before_request)
    session.events.register("after-call", _after_call)
    session._call_trace = True


def pytest_configure(config: Any) -> None:
    import boto3
    from sesmailengine.handlers.aws import clients

    reset = clients.reset

    def traced_reset(session: Any = None) -> None:
        session = session or boto3.session.Session()
        _trace(session)
        reset(session)

    clients.reset = traced_reset
    traced_reset()


def pytest_unconfigure(config: Any) -> None:
    path = os.environ.get("SESMAIL_CALL_TRACE")
    if not path:
        return
    trace = {
        "actions": {entry: sorted(pairs) for entry, pairs in actions.items()},
        "events": {entry: sorted(pairs) for entry, pairs in events_put.items()},
    }
    with open(path, "w") as file:
        json.dump(trace, file, indent=1)
