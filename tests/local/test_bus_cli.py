"""`sesmail replay` and `sesmail unmatched` through the CLI, against local mode (moto's
EventBridge archives, replays and delivers to CloudWatch Logs)."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from sesmail.cli import main
from sesmail.local.session import LocalSession


def sesmail(*args: str) -> Result:
    return CliRunner().invoke(main, ["--local", "--json", *args])


def ok(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def sent_to(local: LocalSession, email_id: str) -> int:
    return sum(1 for path in local.outbox.messages() if path.stem.endswith(email_id))


def request(email_id: str) -> Result:
    data = json.dumps({"firstName": "Ada", "appName": "Example"})
    args = ("--to", "ada@example.org", "--template", "welcome", "--data", data)
    return sesmail("send", *args, "--email-id", email_id)


def test_a_replay_recovers_a_lost_request_and_never_sends_twice(local: LocalSession) -> None:
    # GIVEN an Email Request that reached the bus (and its archive) but was lost from the queue
    ok(request("replayed-1"))
    local.client("sqs").purge_queue(QueueUrl=local.outputs["emailQueueUrl"])
    assert local.runtime.run_until_idle(60)
    assert sent_to(local, "replayed-1") == 0
    # WHEN the last hour is replayed
    replay = ok(sesmail("replay", "--since", "1h"))
    assert local.runtime.run_until_idle(60)
    # THEN the request is sent
    assert replay["replay"].startswith("sesmail-")
    assert sent_to(local, "replayed-1") == 1
    # AND replaying it again sends nothing more: the sender's claim is per emailId
    ok(sesmail("replay", "--since", "1h"))
    assert local.runtime.run_until_idle(60)
    assert sent_to(local, "replayed-1") == 1


def test_a_replay_window_must_end_after_it_starts() -> None:
    result = sesmail("replay", "--since", "2025-01-02T00:00", "--until", "2025-01-01T00:00")
    assert result.exit_code == 1  # a usage error is one line, exit 1
    assert "must be before --until" in result.output


def test_a_replay_needs_a_readable_time() -> None:
    result = sesmail("replay", "--since", "yesterday")
    assert result.exit_code == 1  # a usage error is one line, exit 1
    assert "use ISO 8601" in result.output


def test_an_event_no_rule_takes_is_listed_and_an_email_request_is_not(
    local: LocalSession,
) -> None:
    # GIVEN a producer's typo in the detail-type, next to a well-formed request
    local.client("events").put_events(
        Entries=[
            {
                "EventBusName": local.outputs["eventBusName"],
                "Source": "com.example.shop",
                "DetailType": "Email Requst",
                "Detail": json.dumps({"to": "ada@example.org", "template": "welcome"}),
            }
        ]
    )
    ok(request("matched-1"))
    # WHEN the unmatched events are listed
    listed = ok(sesmail("unmatched", "--since", "10m"))
    # THEN only the typo is there, with what identifies its producer
    assert [(e["detailType"], e["source"]) for e in listed] == [
        ("Email Requst", "com.example.shop")
    ]
    assert listed[0]["detail"] == {"to": "ada@example.org", "template": "welcome"}
