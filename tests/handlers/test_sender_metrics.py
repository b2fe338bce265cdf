"""The sender's EMF metrics: outcomes, failures by reason, render time and SES latency."""

from __future__ import annotations

import json

from sender_support import ENGINE, Aws, email_request
from sesmailengine.handlers.core.statuses import failure_kind


def emf_documents(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def test_failures_are_counted_by_reason_and_sends_by_latency(aws: Aws, invoke, capsys) -> None:
    # GIVEN one request that sends and two that fail for different reasons
    aws.put_template()
    invoke(
        email_request(emailId="ok-1"),
        email_request(emailId="missing-1", templateData={}),
        email_request(emailId="unknown-1", templateName="no-such-template"),
    )
    documents = emf_documents(capsys.readouterr().out)
    # THEN the batch document counts outcomes and times the send and the render
    [batch] = [d for d in documents if "EmailsSent" in d]
    assert batch["EmailsSent"] == [1.0] and batch["EmailsFailed"] == [2.0]
    assert len(batch["SesLatency"]) == 1 and batch["SesLatency"][0] > 0  # one send, timed
    assert len(batch["RenderTime"]) == 2  # the unknown template never rendered
    # AND each failure reason has its own count, as a dimension
    by_reason = {d["reason"]: d["EmailsFailedByReason"] for d in documents if "reason" in d}
    assert by_reason == {"missing_variable": [1.0], "template_not_found": [1.0]}
    dimensions = [
        d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for d in documents if "reason" in d
    ]
    assert all("reason" in dims[0] for dims in dimensions)


def test_every_metric_carries_the_engine_dimension(aws: Aws, invoke, capsys) -> None:
    # GIVEN a batch with a send and a failure (the failure has its own EMF document)
    aws.put_template()
    invoke(email_request(emailId="ok-1"), email_request(emailId="missing-1", templateData={}))
    # WHEN the handler prints its EMF documents
    documents = emf_documents(capsys.readouterr().out)
    assert {"EmailsSent", "EmailsFailedByReason"} <= {key for d in documents for key in d}
    # THEN each one names the engine in every dimension set, with the configured value
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert all("engine" in dimensions for dimensions in directive["Dimensions"])
        assert document["engine"] == ENGINE


def test_failure_kind_is_a_short_label() -> None:
    assert failure_kind("missing variable: orderId") == "missing_variable"
    assert failure_kind("rejected by SES: MessageRejected: Email address is not verified") == (
        "rejected_by_ses"
    )
    assert failure_kind(None) == "unknown"
    assert len(failure_kind("x" * 500)) == 40
