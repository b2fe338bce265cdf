"""IAM policy documents shared by the components."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

Statement = dict[str, Any]


def policy_document(*statements: Statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def only_events(detail_type: str, source: str) -> Statement:
    """The condition of an `events:PutEvents` grant: events of this detail-type and source only,
    so a function cannot forge another's events (nor an Email Request)."""
    return {"StringEquals": {"events:detail-type": detail_type, "events:source": source}}


def deny_insecure_transport(service: str, resources: Sequence[str]) -> Statement:
    """Refuse any request to these resources that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": f"{service}:*",
        "Resource": list(resources),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def assumed_by_scheduler(account_id: str) -> str:
    """The trust policy of a role EventBridge Scheduler's schedules use."""
    return policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            # Confused deputy: only schedules of this account may use the role.
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }
    )
