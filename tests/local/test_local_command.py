"""`sesmail local` in its own process, used from another one as a team would."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
from click.testing import CliRunner

from sesmail.cli import main

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_another_process_sends_through_a_running_local_mode(tmp_path, monkeypatch) -> None:
    # GIVEN `sesmail local` running in its own process
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sesmail.cli import main; main()",
            "local",
            "--project",
            str(PROJECT_DIR),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        state_file = tmp_path / ".sesmail" / "local.json"
        deadline = time.monotonic() + 60
        while not state_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert state_file.exists(), process.stdout.read() if process.poll() is not None else ""
        state = json.loads(state_file.read_text())
        # WHEN a plain AWS SDK client puts an Email Request on the printed endpoint
        events = boto3.client(
            "events",
            endpoint_url=state["endpoint"],
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        detail = {
            "to": "success@simulator.amazonses.com",
            "templateName": "welcome",
            "templateData": {"firstName": "Ada"},
            "emailId": "from-another-process",
        }
        events.put_events(
            Entries=[
                {
                    "EventBusName": state["outputs"]["eventBusName"],
                    "Source": "sdk",
                    "DetailType": "Email Request",
                    "Detail": json.dumps(detail),
                }
            ]
        )
        # THEN `sesmail --local status` in this process sees it delivered
        monkeypatch.chdir(tmp_path)
        status = None
        while time.monotonic() < deadline and status != "delivered":
            result = CliRunner().invoke(
                main, ["--local", "--json", "status", "from-another-process"]
            )
            status = json.loads(result.output).get("status") if result.exit_code == 0 else None
            time.sleep(0.2)
        assert status == "delivered"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    # AND it stops cleanly on Ctrl-C, removing its state file
    assert process.returncode == 0, output
    assert "running locally" in output
    # (having created every resource the program declares)
    assert re.search(r"provisioned (\d+) of \1 declared resources", output), output
    assert not (tmp_path / ".sesmail" / "local.json").exists()


def test_sigterm_stops_local_mode_as_ctrl_c_does(tmp_path) -> None:
    # GIVEN `sesmail local` started in a folder with no Pulumi program, its output piped
    process = subprocess.Popen(
        [sys.executable, "-c", "from sesmail.cli import main; main()", "local"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    state_file = tmp_path / ".sesmail" / "local.json"
    try:
        # (the banner is printed before it polls: read it up to the line to copy)
        banner = []
        while not any("export AWS_ENDPOINT_URL=" in line for line in banner):
            banner.append(process.stdout.readline())
            assert banner[-1], banner  # (not the end of the output)
        assert state_file.exists(), banner
        assert json.loads(state_file.read_text())["pid"] == process.pid
    finally:
        # WHEN it is sent SIGTERM (`kill`, a container stopping)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    output = "".join(banner) + output
    # THEN it stops cleanly, says so, and removes its state file
    assert process.returncode == 0, output
    assert "Stopped:" in output
    assert not state_file.exists()
    # AND it ran the packaged program, and said so in one line
    assert "No __main__.py here: running the packaged program" in banner[0]
    # AND the export line is whole, though the output is no terminal
    (export,) = [line for line in output.splitlines() if "export AWS_ENDPOINT_URL=" in line]
    assert export.rstrip().endswith("AWS_DEFAULT_REGION=us-east-1")
