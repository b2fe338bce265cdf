"""The `sesmail` command through its entry point, against local mode."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid

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


def test_local_commands_need_nothing_from_the_shell(local: LocalSession, tmp_path, monkeypatch):
    # GIVEN a shell with no AWS settings at all: no keys, empty credential and config files
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        empty = tmp_path / name.lower()
        empty.write_text("")
        monkeypatch.setenv(name, str(empty))
    # WHEN a command talks to local mode
    result = sesmail("suppression", "list")
    # THEN it uses local mode's own keys and endpoint
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.output), list)


def test_send_refuses_a_template_the_bucket_lacks() -> None:
    result = sesmail("send", "--to", "ada@example.org", "--template", "no-such-template")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "template not found: no-such-template" in result.output
    assert "--no-check" in result.output


def test_send_names_the_required_variables_the_data_lacks() -> None:
    result = sesmail(
        "send", "--to", "ada@example.org", "--template", "welcome", "--data", '{"appName": "X"}'
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "template 'welcome' requires firstName" in result.output


def test_send_without_the_check_puts_the_request_as_it_is(local: LocalSession) -> None:
    # GIVEN a request the check would refuse  WHEN sent with --no-check
    sent = ok(
        sesmail(
            "send",
            "--to",
            "ada@example.org",
            "--template",
            "welcome",
            "--email-id",
            "unchecked",
            "--no-check",
        )
    )
    # THEN it reaches the pipeline, which fails it visibly
    assert sent == [{"emailId": "unchecked"}]
    assert local.runtime.run_until_idle(60)
    status = ok(sesmail("status", "unchecked"))
    assert (status["status"], status["statusReason"]) == ("failed", "missing variable: firstName")


def test_a_batch_line_that_is_not_json_is_named_by_its_line_number(tmp_path) -> None:
    batch = tmp_path / "requests.jsonl"
    batch.write_text('{"to": "ada@example.org", "template": "welcome"}\nnot json\n')
    result = sesmail("send", "--batch", str(batch))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {batch}:2: Expecting value")


def test_json_is_taken_after_the_subcommand_too() -> None:
    result = CliRunner().invoke(
        main, ["--local", "history", "--to", "nobody@example.org", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []


def test_a_usage_error_is_one_line_and_exit_status_1() -> None:
    result = sesmail("send", "--to", "ada@example.org", "--template", "welcome", "--data", "{x")
    assert result.exit_code == 1
    assert result.output.startswith("Error: Invalid value for '--data': not JSON")
    assert result.output.count("\n") == 1


def test_tables_print_every_value_in_full_when_output_is_not_a_terminal(local) -> None:
    # GIVEN a delivered email with a long id and reason
    email_id = f"{uuid.uuid4()}-{uuid.uuid4()}"
    data = json.dumps({"firstName": "Lin"})
    args = ("--to", "success@simulator.amazonses.com", "--template", "welcome", "--data", data)
    ok(sesmail("send", *args, "--email-id", email_id))
    assert local.runtime.run_until_idle(60)
    # WHEN its status is printed as a table to a pipe (CliRunner's output is not a terminal)
    result = CliRunner().invoke(main, ["--local", "status", email_id])
    # THEN no cell is cut
    assert result.exit_code == 0, result.output
    assert email_id in result.output and "…" not in result.output


def test_a_deployed_stack_is_reached_in_the_region_its_outputs_name(tmp_path, monkeypatch):
    # GIVEN a stack deployed to eu-west-1 (its outputs say so) and a shell defaulting elsewhere
    from moto import mock_aws

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"trackingTableName": "tracking", "region": "eu-west-1"}))
    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        dynamodb.create_table(
            TableName="tracking",
            KeySchema=[{"AttributeName": "emailId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "emailId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(
            TableName="tracking",
            Item={"emailId": {"S": "in-ireland"}, "status": {"S": "delivered"}},
        )
        # WHEN sesmail reads an email's status from those outputs
        result = CliRunner().invoke(
            main, ["--outputs", str(outputs), "--json", "status", "in-ireland"]
        )
    # THEN it found the table in eu-west-1
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "delivered"
