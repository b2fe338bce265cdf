"""Local mode's SES plays the events SES publishes, in the format AWS documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sesmail.local.ses_events import ses_events_for
from sesmail.local.ses_extensions import SentRequest

AWS_SAMPLES = Path(__file__).resolve().parents[1] / "handlers" / "events"
SIMULATOR = "simulator.amazonses.com"


def sent_to(*recipients: str) -> SentRequest:
    return SentRequest(
        message_id="local-msg-1",
        request={
            "FromEmailAddress": "noreply@example.com",
            "Destination": {"ToAddresses": list(recipients)},
            "Content": {"Simple": {"Subject": {"Data": "Hi"}, "Body": {}}},
            "ConfigurationSetName": "sesmailengine-dev",
            "EmailTags": [{"Name": "emailId", "Value": "order-1"}],
        },
        account="123456789012",
        region="us-east-1",
    )


def test_every_email_is_announced_by_one_send_event_first():
    # GIVEN an email to two recipients
    # WHEN local SES plays its events
    events = ses_events_for(
        sent_to(f"success@{SIMULATOR}", f"bounce@{SIMULATOR}"), datetime(2026, 3, 1, tzinfo=UTC)
    )
    # THEN one Send comes first, about the email SES accepted, then each recipient's outcome
    assert [event["eventType"] for event in events] == ["Send", "Delivery", "Bounce"]
    send = events[0]
    assert send["mail"]["messageId"] == "local-msg-1"
    assert send["mail"]["timestamp"] == "2026-03-01T00:00:00.000Z"
    assert send["mail"]["tags"]["emailId"] == ["order-1"]


def test_the_send_event_has_the_documented_shape():
    # GIVEN AWS's sample Send event
    documented = json.loads((AWS_SAMPLES / "send.json").read_text())
    # WHEN local SES plays a Send
    [send, *_] = ses_events_for(sent_to("ada@example.org"))
    # THEN it has every field the sample has (local mode adds the ses:operation tag only)
    assert send["send"] == documented["send"] == {}
    assert send.keys() == documented.keys()
    assert send["mail"].keys() == documented["mail"].keys()
    assert send["mail"]["commonHeaders"].keys() == documented["mail"]["commonHeaders"].keys()
