"""The `sesmail` command through its entry point, against local mode."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner, Result

from sesmail.cli import main
from sesmail.local.session import LocalSession


def sesmail(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--local", "--json", *args], input=input)


def ok(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_send_then_status_and_history(local: LocalSession) -> None:
    # GIVEN an email requested from the command line
    data = json.dumps({"firstName": "Lin", "appName": "Example"})
    sent = ok(
        sesmail(
            "send",
            "--to",
            "Lin@Example.org",
            "--template",
            "welcome",
            "--data",
            data,
            "--email-id",
            "cli-1",
            "--tag",
            "campaign=cli",
        )
    )
    assert sent == [{"emailId": "cli-1"}]
    assert local.runtime.run_until_idle(60)
    # WHEN its status and the address's history are asked for
    status = ok(sesmail("status", "cli-1"))
    history = ok(sesmail("history", "--to", "lin@example.org"))
    # THEN both show the delivered email
    assert status["status"] == "delivered"
    assert status["toEmail"] == "lin@example.org"
    assert [row["emailId"] for row in history] == ["cli-1"]


def test_send_refuses_an_invalid_request_before_it_reaches_the_bus() -> None:
    result = sesmail("send", "--to", "not-an-address", "--template", "welcome")
    assert result.exit_code == 1
    assert "not-an-address" in result.output and "to" in result.output


def test_status_of_an_unknown_email_is_a_clear_error() -> None:
    result = sesmail("status", "no-such-email")
    assert result.exit_code == 1
    assert "no email 'no-such-email' is tracked" in result.output


def test_suppression_add_list_export_remove(local: LocalSession) -> None:
    ok(sesmail("suppression", "add", "Blocked@Example.org", "--reason", "manual"))
    listed = ok(sesmail("suppression", "list"))
    assert {"email": "blocked@example.org", "reason": "manual"}.items() <= next(
        e for e in listed if e["email"] == "blocked@example.org"
    ).items()
    exported = CliRunner().invoke(main, ["--local", "suppression", "export"])
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    assert {"email": "blocked@example.org", "reason": "manual"}.items() <= next(
        r for r in rows if r["email"] == "blocked@example.org"
    ).items()
    ok(sesmail("suppression", "remove", "blocked@example.org"))
    assert "blocked@example.org" not in [e["email"] for e in ok(sesmail("suppression", "list"))]
    again = sesmail("suppression", "remove", "blocked@example.org")
    assert again.exit_code == 1 and "is not suppressed" in again.output


def test_dlq_redrive_puts_a_poison_message_back_on_the_queue(local: LocalSession) -> None:
    # GIVEN a message that failed three times and sits in the email DLQ
    sqs = local.client("sqs")
    sqs.send_message(QueueUrl=local.outputs["emailQueueUrl"], MessageBody="poison for redrive")
    assert local.runtime.run_until_idle(60)
    before = {row["dlq"]: row["messages"] for row in ok(sesmail("dlq", "list"))}
    assert before["email-dlq"] >= 1
    # WHEN it is redriven
    redriven = ok(sesmail("dlq", "redrive", "email-dlq"))
    # THEN the DLQ is empty and the message is back on EmailQueue
    assert redriven == {"dlq": "email-dlq", "redriven": before["email-dlq"]}
    assert {row["dlq"]: row["messages"] for row in ok(sesmail("dlq", "list"))}["email-dlq"] == 0
    bodies = [
        m["Body"]
        for m in sqs.receive_message(
            QueueUrl=local.outputs["emailQueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
    ]
    assert "poison for redrive" in bodies
    # (and, still poison, it ends in the DLQ again)
    assert local.runtime.run_until_idle(60)


def test_brake_status_and_release(local: LocalSession) -> None:
    state = ok(sesmail("brake", "status"))
    assert state == {"braked": False, "sesSendingEnabled": True, "senderTriggerState": "Enabled"}
    # GIVEN the brake engaged (as the alarm would)  WHEN released from the command line
    local.client("lambda").update_event_source_mapping(
        UUID=local.outputs["senderEventSourceMappingUuid"], Enabled=False
    )
    local.client("sesv2").put_configuration_set_sending_options(
        ConfigurationSetName=local.outputs["configurationSetName"], SendingEnabled=False
    )
    assert ok(sesmail("brake", "status"))["braked"] is True
    released = CliRunner().invoke(main, ["--local", "--json", "brake", "release", "--yes"])
    # THEN sending is back on
    assert json.loads(released.output)["braked"] is False, released.output


def test_without_a_target_the_command_says_how_to_name_one(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["status", "x"])
    assert result.exit_code == 1
    assert "pass it as a flag" in result.output
