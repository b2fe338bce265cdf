"""`sesmail demo`: every starter template and every mailbox-simulator outcome, end to end."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sesmailengine.artifact import TEMPLATES_PACKAGE, package_folder

from ..client import Email, EmailClient
from .session import LocalSession

SIMULATOR = "simulator.amazonses.com"
# Mailbox → the status the pipeline should settle on.
OUTCOMES = {
    "success": "delivered",
    "ooto": "delivered",
    "bounce": "bounced",
    "complaint": "complained",
    "suppressionlist": "bounced",
}
SOFT_BOUNCES = 3  # the dev stack's softBounceThreshold: the third one suppresses


@dataclass
class DemoRow:
    email_id: str
    to: str
    template: str
    expected: str
    status: str | None = None
    reason: str | None = None

    @property
    def as_expected(self) -> bool:
        return self.status == self.expected


@dataclass
class DemoResult:
    rows: list[DemoRow]
    suppression: list[dict[str, str]]
    dead_letters: dict[str, int]
    outbox: list[Path]
    idle: bool
    status_events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.idle and not any(self.dead_letters.values())


def starter_templates(templates_dir: Path) -> dict[str, dict[str, Any]]:
    """Template name → its sampleData, for every template folder (not `_layouts` & co)."""
    found = {}
    for metadata in sorted(templates_dir.glob("*/metadata.json")):
        if metadata.parent.name.startswith(("_", ".")):
            continue
        found[metadata.parent.name] = json.loads(metadata.read_text()).get("sampleData", {})
    return found


def run_demo(
    session: LocalSession, templates_dir: Path | None = None, timeout_seconds: float = 90
) -> DemoResult:
    """Send the starter templates (by default the packaged ones, which the engine uploads) and
    every simulator case, and wait for each to settle."""
    templates_dir = templates_dir or package_folder(TEMPLATES_PACKAGE)
    client = EmailClient(
        session.outputs["eventBusName"], "sesmail.demo", events_client=session.client("events")
    )
    templates = starter_templates(templates_dir)
    if not templates:
        raise FileNotFoundError(f"no starter templates (*/metadata.json) in {templates_dir}")
    first = "welcome" if "welcome" in templates else next(iter(templates))
    rows: list[DemoRow] = []

    def request(to: str, template: str, email_id: str, expected: str) -> Email:
        rows.append(DemoRow(email_id, to, template, expected))
        return Email(to=to, template=template, data=templates[template], email_id=email_id)

    first_round = [
        request(f"success@{SIMULATOR}", name, f"demo-{name}", "delivered") for name in templates
    ]
    first_round += [
        request(f"{box}@{SIMULATOR}", first, f"demo-{box}", status)
        for box, status in OUTCOMES.items()
        if box != "success"
    ]
    first_round += [
        request(f"bounce+transient@{SIMULATOR}", first, f"demo-soft-bounce-{n}", "soft_bounced")
        for n in range(1, SOFT_BOUNCES + 1)
    ]
    client.send_many(first_round)
    idle = session.runtime.run_until_idle(timeout_seconds)
    # Round two: the addresses the first round suppressed are now refused before sending.
    client.send_many(
        [
            request(f"bounce@{SIMULATOR}", first, "demo-after-hard-bounce", "suppressed"),
            request(f"complaint@{SIMULATOR}", first, "demo-after-complaint", "suppressed"),
            request(
                f"bounce+transient@{SIMULATOR}", first, "demo-after-soft-bounces", "suppressed"
            ),
        ]
    )
    idle = session.runtime.run_until_idle(timeout_seconds) and idle
    return DemoResult(
        rows=_with_statuses(session, rows),
        suppression=suppression_list(session),
        dead_letters=dead_letters(session),
        outbox=session.outbox.messages(),
        idle=idle,
    )


def _with_statuses(session: LocalSession, rows: list[DemoRow]) -> list[DemoRow]:
    dynamodb = session.client("dynamodb")
    for row in rows:
        item = dynamodb.get_item(
            TableName=session.outputs["trackingTableName"],
            Key={"emailId": {"S": row.email_id}},
            ConsistentRead=True,
        ).get("Item", {})
        row.status = item.get("status", {}).get("S")
        row.reason = item.get("statusReason", {}).get("S")
    return rows


def suppression_list(session: LocalSession) -> list[dict[str, str]]:
    items = session.client("dynamodb").scan(TableName=session.outputs["suppressionTableName"])
    entries = [{k: v.get("S", "") for k, v in item.items()} for item in items["Items"]]
    return sorted(entries, key=lambda entry: entry["email"])


def dead_letters(session: LocalSession) -> dict[str, int]:
    sqs = session.client("sqs")
    counts = {}
    for label, output in (
        ("rule-dlq", "ruleDeadLetterQueueUrl"),
        ("email-dlq", "emailDeadLetterQueueUrl"),
        ("feedback-dlq", "feedbackDeadLetterQueueUrl"),
    ):
        url = session.outputs[output].rsplit("/", 1)[-1]
        local_url = sqs.get_queue_url(QueueName=url)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=local_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        counts[label] = sum(int(value) for value in attributes.values())
    return counts


REPORT = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sesmail demo</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2933}
table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #cbd2d9;padding:.3rem .6rem;text-align:left}
.bad{background:#fde8e8}.ok{background:#e3f9e5}</style></head><body>
<h1>sesmail demo</h1>
<p>{{ "All done" if result.ok else "Something is wrong" }}: {{ result.rows|length }} emails,
{{ result.outbox|length }} in the outbox, dead letters {{ result.dead_letters }}.</p>
<h2>Emails</h2><table><tr><th>emailId</th><th>to</th><th>template</th><th>status</th>
<th>expected</th><th>reason</th><th>preview</th></tr>
{% for row in result.rows %}<tr class="{{ 'ok' if row.as_expected else 'bad' }}">
<td>{{ row.email_id }}</td><td>{{ row.to }}</td><td>{{ row.template }}</td><td>{{ row.status }}</td>
<td>{{ row.expected }}</td><td>{{ row.reason or "" }}</td>
<td>{% if previews.get(row.email_id) %}<a href="{{ previews[row.email_id] }}">html</a>{% endif %}
</td></tr>
{% endfor %}</table>
<h2>Suppression list</h2><table><tr><th>email</th><th>reason</th><th>since</th></tr>
{% for entry in result.suppression %}<tr><td>{{ entry.email }}</td><td>{{ entry.reason }}</td>
<td>{{ entry.createdAt }}</td></tr>{% endfor %}</table></body></html>
"""


def write_report(result: DemoResult, path: Path) -> Path:
    from jinja2 import Environment

    previews = {}
    for eml in result.outbox:
        html = eml.with_suffix(".html")
        for row in result.rows:
            if html.exists() and eml.stem.endswith(row.email_id.replace(":", "_c")):
                previews[row.email_id] = html.resolve().as_uri()
    page = Environment(autoescape=True).from_string(REPORT).render(result=result, previews=previews)
    path.write_text(page)
    return path
