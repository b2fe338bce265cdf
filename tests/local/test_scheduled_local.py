"""Scheduled sends in local mode: the sender holds a request as `scheduled` under a one-time
schedule, local mode fires the schedule when it is due (moto never does), and `sesmail cancel`
stops one that is not due yet."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from local_support import sample_data
from sesmailengine.handlers.core.schedule import schedule_name

from sesmail.cli import main
from sesmail.client import EmailClient
from sesmail.local.session import LocalSession


@pytest.fixture(scope="module")
def group(local: LocalSession) -> str:
    """The engine's schedule group, as local mode provisioned it."""
    name = local.outputs["scheduleGroupName"]
    groups = local.client("scheduler").list_schedule_groups()["ScheduleGroups"]
    assert name in {g["Name"] for g in groups}
    return name


def request(local: LocalSession, email_id: str, send_at: datetime) -> None:
    client = EmailClient(
        local.outputs["eventBusName"], "tests.local", events_client=local.client("events")
    )
    client.send(
        to="success@simulator.amazonses.com",
        template="welcome",
        data=sample_data("welcome"),
        email_id=email_id,
        send_at=send_at,
    )


def status(local: LocalSession, email_id: str) -> str:
    item = local.client("dynamodb").get_item(
        TableName=local.outputs["trackingTableName"], Key={"emailId": {"S": email_id}}
    )["Item"]
    return item["status"]["S"]


def schedule_names(local: LocalSession, group: str) -> list[str]:
    page = local.client("scheduler").list_schedules(GroupName=group)
    return [schedule["Name"] for schedule in page["Schedules"]]


def test_a_due_schedule_fires_and_the_email_is_sent_once(
    local: LocalSession, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a request held as scheduled until an hour from now
    send_at = datetime.now(UTC) + timedelta(hours=1)
    request(local, "local-scheduled", send_at)
    assert local.runtime.run_until_idle(30)
    assert status(local, "local-scheduled") == "scheduled"
    assert schedule_names(local, group) == [schedule_name("local-scheduled")]
    # WHEN the hour has passed (for local mode's schedules and for the sender)
    later = send_at + timedelta(seconds=5)
    monkeypatch.setattr("sesmail.local.schedules._now", lambda: later)
    monkeypatch.setattr("sesmailengine.handlers.batch._now", lambda: later)
    assert local.runtime.run_until_idle(30)
    # THEN the schedule fired once (and is gone), and the email was sent and delivered
    assert schedule_names(local, group) == []
    assert status(local, "local-scheduled") == "delivered"
    sent = [path for path in local.outbox.messages() if path.stem.endswith("-local-scheduled")]
    assert len(sent) == 1


def test_sesmail_cancel_stops_a_scheduled_email(local: LocalSession, group: str) -> None:
    # GIVEN an email scheduled an hour ahead
    request(local, "local-cancel", datetime.now(UTC) + timedelta(hours=1))
    assert local.runtime.run_until_idle(30)
    assert status(local, "local-cancel") == "scheduled"
    # WHEN it is cancelled from the command line
    result = CliRunner().invoke(main, ["--local", "--json", "cancel", "local-cancel"])
    # THEN it is cancelled and its schedule is gone; cancelling again says it is not scheduled
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"emailId": "local-cancel", "status": "cancelled"}
    assert status(local, "local-cancel") == "cancelled"
    assert schedule_name("local-cancel") not in schedule_names(local, group)
    again = CliRunner().invoke(main, ["--local", "cancel", "local-sent-nothing"])
    assert again.exit_code == 1
    assert "not found" in again.output
