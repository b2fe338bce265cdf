"""Benchmark of the email sender (run: ``python bench/bench_sender.py``).

1. AWS requests per email in a warm batch of 10, counted with a botocore ``before-call`` hook.
2. Wall time of a warm batch of 10 with 50 ms of latency injected into every AWS call, side by
   side with a naive per-message implementation of the same flow (get-item idempotency check,
   get-item suppression, send, put-item: 4 sequential requests per email).
3. Cold import of ``handlers.email_sender`` as a ratio to importing ``boto3`` and ``jinja2``.

Everything runs against moto in-process; no request leaves the machine.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from lambda_context import Context  # (bench/ is this script's folder)

ROOT = Path(__file__).resolve().parents[1]

ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "TRACKING_TABLE": "EmailTracking",
    "SUPPRESSION_TABLE": "Suppression",
    "TEMPLATE_BUCKET": "templates-bucket",
    "DEFAULT_SENDER_EMAIL": "noreply@example.com",
    "CONFIGURATION_SET": "sesmailengine",
    "EVENT_BUS_NAME": "email-bus",
    "POWERTOOLS_SERVICE_NAME": "email-sender",
    "POWERTOOLS_METRICS_NAMESPACE": "SESMailEngine",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
os.environ.update(ENVIRONMENT)
os.environ.pop("AWS_PROFILE", None)

LATENCY_SECONDS = 0.05
BATCH = 10
RUNS = 5
IMPORT_RUNS = 9


class Instrument:
    """Counts every AWS call the factory's clients make and delays each by the latency."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.latency = 0.0

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)
        if self.latency:
            time.sleep(self.latency)


def create_resources(session: Any) -> None:
    ddb = session.client("dynamodb")
    ddb.create_table(
        TableName="EmailTracking",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "emailId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "emailId", "AttributeType": "S"}],
    )
    ddb.create_table(
        TableName="Suppression",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "email", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "email", "AttributeType": "S"}],
    )
    s3 = session.client("s3")
    s3.create_bucket(Bucket="templates-bucket")
    files = {
        "template.html": "<h1>Hello {{ name }}</h1><p>Your order {{ orderId }} has shipped.</p>",
        "template.txt": "Hello {{ name }}\nYour order {{ orderId }} has shipped.",
        "metadata.json": json.dumps(
            {"subject": "Order {{ orderId }}", "requiredVariables": ["name", "orderId"]}
        ),
    }
    for name, body in files.items():
        s3.put_object(Bucket="templates-bucket", Key=f"templates/order/{name}", Body=body.encode())
    session.client("ses").verify_domain_identity(Domain="example.com")
    session.client("events").create_event_bus(Name="email-bus")


def request_body(index: int) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Email Request",
            "source": "bench",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "to": f"user{index}@example.org",
                "templateName": "order",
                "templateData": {"name": f"User {index}", "orderId": f"O-{index}"},
                "emailId": f"bench-{uuid.uuid4().hex}",
            },
        }
    )


def sqs_batch(size: int) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{i}", "body": request_body(i), "attributes": {}} for i in range(size)
        ]
    }


def naive(event: dict[str, Any]) -> None:
    """The same flow, one message at a time: 4 sequential requests per email."""
    from sesmailengine.handlers.aws import clients
    from sesmailengine.handlers.batch import adapters_for
    from sesmailengine.handlers.core.compose import compose
    from sesmailengine.handlers.core.environment import SenderEnvironment
    from sesmailengine.handlers.core.models import parse_body
    from sesmailengine.handlers.core.rendering import render

    settings = SenderEnvironment.from_env(os.environ)
    adapters = adapters_for(settings)
    ddb = clients.client("dynamodb")
    for record in event["Records"]:
        parsed = parse_body(record["body"])
        request = parsed.request
        key = {"emailId": {"S": parsed.email_id}}
        if "Item" in ddb.get_item(TableName=settings.tracking_table, Key=key):
            continue
        suppressed = ddb.get_item(
            TableName=settings.suppression_table, Key={"email": {"S": request.to.lower()}}
        )
        if "Item" in suppressed:
            continue
        template = adapters.templates.get(request.template_name)
        email = compose(
            parsed.email_id,
            request,
            render(template, request.template_data),
            settings.default_sender_email,
            None,
        )
        message_id = adapters.ses.send(email).message_id
        ddb.put_item(
            TableName=settings.tracking_table,
            Item={**key, "status": {"S": "sent"}, "sesMessageId": {"S": message_id}},
        )


def empty_tracking_table(session: Any) -> None:
    """Start each run from an empty table: moto copies the whole table on every transaction,
    an emulator cost that would otherwise grow from run to run (outside the timed section)."""
    ddb = session.client("dynamodb")
    for page in ddb.get_paginator("scan").paginate(TableName="EmailTracking"):
        for item in page["Items"]:
            ddb.delete_item(TableName="EmailTracking", Key={"emailId": item["emailId"]})


def measure(run: Any, instrument: Instrument, session: Any) -> tuple[float, float]:
    """Median wall time and requests per email of ``RUNS`` warm batches of ``BATCH``."""
    times, per_email = [], []
    for _ in range(RUNS):
        event = sqs_batch(BATCH)
        empty_tracking_table(session)
        instrument.calls.clear()
        started = time.perf_counter()
        run(event)
        times.append(time.perf_counter() - started)
        per_email.append(len(instrument.calls) / BATCH)
    return statistics.median(times), statistics.median(per_email)


def batch_figures() -> dict[str, float]:
    import boto3
    from moto import mock_aws
    from sesmailengine.handlers import batch
    from sesmailengine.handlers.aws import clients
    from sesmailengine.handlers.email_sender import handler

    with mock_aws():
        session = boto3.session.Session()
        create_resources(session)
        batch.reset(session)
        instrument = Instrument()
        for service in ("dynamodb", "s3", "sesv2", "events"):
            clients.client(service).meta.events.register("before-call", instrument)

        def ours(event: dict[str, Any]) -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # the EMF blob of each invocation
                response = handler(event, Context())
            assert response == {"batchItemFailures": []}, response

        ours(sqs_batch(BATCH))  # warm: clients, operation models, template cache
        naive(sqs_batch(BATCH))
        ours_bare, ours_requests = measure(ours, instrument, session)
        naive_bare, naive_requests = measure(naive, instrument, session)
        instrument.latency = LATENCY_SECONDS
        ours_time, _ = measure(ours, instrument, session)
        naive_time, _ = measure(naive, instrument, session)
    return {
        "ours_requests": ours_requests,
        "naive_requests": naive_requests,
        "ours_time": ours_time,
        "naive_time": naive_time,
        "ours_bare": ours_bare,
        "naive_bare": naive_bare,
    }


def import_time(statement: str) -> float:
    # The repository root holds `handlers/` as the Lambda archive does, so the cold import is
    # measured as Lambda imports it (`handlers.email_sender`, without the components package).
    code = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); t = time.perf_counter(); "
        f"{statement}; print(time.perf_counter() - t)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    return float(output.stdout.strip().splitlines()[-1])


def import_figures() -> dict[str, float]:
    baseline, handler = [], []
    import_time("import boto3, jinja2")  # warm the file-system cache
    for _ in range(IMPORT_RUNS):
        baseline.append(import_time("import boto3, jinja2"))
        handler.append(import_time("import handlers.email_sender"))
    return {"baseline": statistics.median(baseline), "handler": statistics.median(handler)}


def main() -> None:
    figures = batch_figures()
    imports = import_figures()
    ratio = figures["ours_time"] / figures["naive_time"]
    import_ratio = imports["handler"] / imports["baseline"]
    latency_ms = LATENCY_SECONDS * 1000
    print(f"warm batch of {BATCH}, median of {RUNS} runs, {latency_ms:.0f} ms per AWS call")
    print(f"{'':24}{'sender':>12}{'naive':>12}")
    print(
        f"{'AWS requests per email':24}{figures['ours_requests']:>12.2f}"
        f"{figures['naive_requests']:>12.2f}   goal <= 1.5"
    )
    print(
        f"{'batch wall time (ms)':24}{figures['ours_time'] * 1000:>12.0f}"
        f"{figures['naive_time'] * 1000:>12.0f}   ratio {ratio:.2f}, goal < 0.25"
    )
    print(
        f"{'  of which moto CPU (ms)':24}{figures['ours_bare'] * 1000:>12.0f}"
        f"{figures['naive_bare'] * 1000:>12.0f}   (same batches, no injected latency)"
    )
    print(
        f"cold import: handlers.email_sender {imports['handler'] * 1000:.0f} ms, "
        f"boto3+jinja2 {imports['baseline'] * 1000:.0f} ms, ratio {import_ratio:.2f}, goal < 1.6"
    )
    met = figures["ours_requests"] <= 1.5 and ratio < 0.25 and import_ratio < 1.6
    print("all goals met" if met else "GOAL MISSED")


if __name__ == "__main__":
    main()
