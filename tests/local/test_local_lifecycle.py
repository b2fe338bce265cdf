"""Local mode's state file and its stop: a command never trusts a file local mode left behind,
and stopping finishes the pass in flight, then says what it abandons."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from local_support import sample_data

from sesmail.cli import main
from sesmail.cli.local_mode import run_until_stopped
from sesmail.client import Email, EmailClient
from sesmail.local.session import LocalSession

STALE = (
    "Error: local mode is not running (stale .sesmail/local.json removed): "
    "start it with `sesmail local`\n"
)


class StopAfterPasses:
    """A stop request that arrives while pass number `passes` is running."""

    def __init__(self, passes: int) -> None:
        self.checks = 0
        self.passes = passes

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks > self.passes

    def wait(self, timeout: float) -> bool:
        return self.is_set()


def write_state(folder: Path, *, pid: int, endpoint: str) -> Path:
    state_file = folder / ".sesmail" / "local.json"
    state_file.parent.mkdir()
    state = {"endpoint": endpoint, "region": "us-east-1", "pid": pid, "outputs": {}}
    state_file.write_text(json.dumps(state))
    return state_file


def closed_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def test_a_state_file_whose_process_is_gone_is_removed_and_said_so(tmp_path, monkeypatch):
    # GIVEN local.json left by a local mode that was killed (its process is gone)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    state_file = write_state(tmp_path, pid=gone.pid, endpoint="http://127.0.0.1:1")
    monkeypatch.chdir(tmp_path)
    # WHEN a command looks for local mode
    result = CliRunner().invoke(main, ["--local", "status", "x"])
    # THEN it says, in one line, that local mode is not running, and removes the file
    assert (result.exit_code, result.output) == (1, STALE)
    assert not state_file.exists()


def test_a_state_file_whose_endpoint_no_longer_answers_is_removed(tmp_path, monkeypatch):
    # GIVEN local.json naming a live process (this one) but an endpoint nobody listens on
    endpoint = f"http://127.0.0.1:{closed_port()}"
    state_file = write_state(tmp_path, pid=os.getpid(), endpoint=endpoint)
    monkeypatch.chdir(tmp_path)
    # WHEN a command looks for local mode  THEN the same one line, and the file is gone
    result = CliRunner().invoke(main, ["--local", "history", "--to", "a@example.org"])
    assert (result.exit_code, result.output) == (1, STALE)
    assert not state_file.exists()


def test_the_running_local_mode_records_its_process_and_its_own_keys(local: LocalSession):
    state = json.loads((local.state_dir / "local.json").read_text())
    assert state["pid"] == os.getpid()
    assert state["credentials"] == {
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }


def test_a_stop_during_a_pass_lets_the_pass_finish(local: LocalSession) -> None:
    # GIVEN three requests on the bus
    client = EmailClient(
        local.outputs["eventBusName"], "tests.stop", events_client=local.client("events")
    )
    ids = [f"stop-{n}" for n in range(3)]
    client.send_many(
        [
            Email("success@simulator.amazonses.com", "welcome", sample_data("welcome"), i)
            for i in ids
        ]
    )
    # WHEN a stop arrives while the first pass runs
    abandoned = run_until_stopped(local, StopAfterPasses(1))
    # THEN that pass sent all three before the loop ended: none is left on EmailQueue
    email_queue = local.outputs["emailQueueUrl"].rsplit("/", 1)[-1]
    assert email_queue not in abandoned
    dynamodb = local.client("dynamodb")
    for email_id in ids:
        item = dynamodb.get_item(
            TableName=local.outputs["trackingTableName"], Key={"emailId": {"S": email_id}}
        )
        assert item["Item"]["status"]["S"] in {"sent", "delivered"}, email_id
    assert local.runtime.run_until_idle(60)


def test_stopping_counts_the_requests_it_abandons(local: LocalSession) -> None:
    # GIVEN two requests waiting on EmailQueue while the sender's trigger is off (the brake)
    lambda_ = local.client("lambda")
    mapping = local.outputs["senderEventSourceMappingUuid"]
    lambda_.update_event_source_mapping(UUID=mapping, Enabled=False)
    sqs = local.client("sqs")
    for n in range(2):
        sqs.send_message(QueueUrl=local.outputs["emailQueueUrl"], MessageBody=f"waiting {n}")
    try:
        # WHEN local mode stops
        abandoned = run_until_stopped(local, StopAfterPasses(1))
        # THEN it reports both as abandoned, by queue
        assert abandoned == {local.outputs["emailQueueUrl"].rsplit("/", 1)[-1]: 2}
    finally:
        lambda_.update_event_source_mapping(UUID=mapping, Enabled=True)
        assert local.runtime.run_until_idle(60)


def test_each_function_logs_its_own_declared_memory(local: LocalSession) -> None:
    # GIVEN the functions have run (the tests above)  WHEN their log lines are read
    memory: dict[str, set[int]] = {}
    for line in (local.state_dir / "lambda.log").read_text().splitlines():
        record = json.loads(line) if line.startswith("{") else {}
        if "function_memory_size" in record:
            memory.setdefault(record["function_name"], set()).add(record["function_memory_size"])
    # THEN each reports the memory its component declares (the sender 512, feedback 256)
    declared = {f.name: {f.memory_mb} for f in local.deployment.functions.values()}
    assert memory and memory == {name: declared[name] for name in memory}
    assert len({size for sizes in memory.values() for size in sizes}) > 1
