"""Local mode with ``maxSendRate`` unset: the sender paces itself (the emulator has no
``GetAccount``, so from the fallback quota) and every email still goes out once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from local_support import PROJECT_DIR, sample_data
from sesmailengine.handlers.core.environment import SenderEnvironment

from sesmail.client import Email, EmailClient
from sesmail.local.demo import dead_letters
from sesmail.local.session import local_session


def project_without_max_send_rate(folder: Path) -> Path:
    """The project's program with the dev stack's config minus its `maxSendRate`."""
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(PROJECT_DIR / name, folder / name)
    config = (PROJECT_DIR / "Pulumi.dev.yaml").read_text().splitlines()
    kept = [line for line in config if "maxSendRate" not in line]
    (folder / "Pulumi.dev.yaml").write_text("\n".join(kept) + "\n")
    return folder


def test_local_mode_sends_every_email_once_with_max_send_rate_unset(tmp_path: Path) -> None:
    # GIVEN local mode for a dev stack that leaves maxSendRate unset
    project = project_without_max_send_rate(tmp_path)
    with (
        pytest.MonkeyPatch.context() as patch,
        local_session(
            project_dir=project, state_dir=tmp_path / ".sesmail", time_scale=180
        ) as local,
    ):
        patch.chdir(tmp_path)
        [sender] = [f for f in local.deployment.functions.values() if "email_sender" in f.handler]
        variable = SenderEnvironment.variable_name
        assert variable("max_send_rate") not in sender.environment
        assert sender.environment[variable("maximum_concurrency")] == "2"
        # WHEN a producer requests five emails
        client = EmailClient(
            local.outputs["eventBusName"], "tests.local", events_client=local.client("events")
        )
        data = sample_data("welcome")
        ids = client.send_many(
            [
                Email(
                    to="success@simulator.amazonses.com",
                    template="welcome",
                    data=data,
                    email_id=f"paced-{n}",
                )
                for n in range(5)
            ]
        )
        assert local.runtime.run_until_idle(60)
        # THEN each was sent once and delivered, and nothing is in a DLQ
        tracking = local.client("dynamodb")
        statuses = {
            email_id: tracking.get_item(
                TableName=local.outputs["trackingTableName"],
                Key={"emailId": {"S": email_id}},
                ConsistentRead=True,
            )["Item"]["status"]["S"]
            for email_id in ids
        }
        assert statuses == {f"paced-{n}": "delivered" for n in range(5)}
        assert len(list(local.outbox.folder.glob("*.eml"))) == 5
        assert not any(dead_letters(local).values())
