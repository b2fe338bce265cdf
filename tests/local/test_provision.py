"""Local mode builds exactly what the Pulumi program declares: no second description."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sesmailengine.ingestion
import sesmailengine.storage

from sesmail.local.session import local_session

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def changed_components(monkeypatch: pytest.MonkeyPatch) -> None:
    """A team changes two components: one more GSI, and five receives before the DLQ."""
    indexes = {**sesmailengine.storage.TRACKING_INDEXES, "template-index": ("templateName", None)}
    monkeypatch.setattr(sesmailengine.storage, "TRACKING_INDEXES", indexes)
    monkeypatch.setattr(sesmailengine.ingestion, "MAX_RECEIVE_COUNT", 5)


def test_a_change_to_a_component_shows_up_in_local_mode(changed_components, tmp_path) -> None:
    # WHEN local mode starts from the changed program
    with local_session(project_dir=PROJECT_DIR, state_dir=tmp_path) as session:
        table = session.client("dynamodb").describe_table(
            TableName=session.outputs["trackingTableName"]
        )["Table"]
        queue = session.client("sqs").get_queue_attributes(
            QueueUrl=session.outputs["emailQueueUrl"], AttributeNames=["RedrivePolicy"]
        )["Attributes"]
    # THEN the emulator has the new index and the new redrive count
    assert "template-index" in {index["IndexName"] for index in table["GlobalSecondaryIndexes"]}
    assert json.loads(queue["RedrivePolicy"])["maxReceiveCount"] == 5
