"""Unsubscribe per topic in local mode: `sesmail suppression --topic`, and a one-click link
from a real email leaving one marketing topic while another still arrives."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
from urllib.parse import parse_qs, urlparse

from click.testing import CliRunner, Result
from local_support import PROJECT_DIR, sample_data

from sesmail.cli import main
from sesmail.client import Email, EmailClient
from sesmail.local.session import LocalSession

UNSUBSCRIBE_HANDLER = "handlers.unsubscribe.handler"


def sesmail(*args: str) -> Result:
    return CliRunner().invoke(main, ["--local", "--json", *args])


def ok(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def entry(address: str) -> dict | None:
    listed = ok(sesmail("suppression", "list"))
    return next((row for row in listed if row["email"] == address), None)


# -- the command ------------------------------------------------------------------------------


def test_suppression_add_and_remove_per_topic(local: LocalSession) -> None:
    # GIVEN an address unsubscribed from two topics by an operator
    added = ok(
        sesmail("suppression", "add", "Lin@Example.org", "--topic", "newsletter", "--topic", "tips")
    )
    assert added["topics"] == ["newsletter", "tips"] and "reason" not in added
    # WHEN one topic is removed  THEN the other stays listed, with no address-wide reason
    ok(sesmail("suppression", "remove", "lin@example.org", "--topic", "tips"))
    assert entry("lin@example.org")["topics"] == ["newsletter"]
    assert "reason" not in entry("lin@example.org")
    # AND removing a topic the address never left is a clear error
    again = sesmail("suppression", "remove", "lin@example.org", "--topic", "tips")
    assert again.exit_code == 1
    assert "lin@example.org is not unsubscribed from tips" in again.output
    # AND once the last topic is removed, the address has no entry left (it would block all)
    ok(sesmail("suppression", "remove", "lin@example.org", "--topic", "newsletter"))
    assert entry("lin@example.org") is None


def test_an_address_wide_reason_keeps_the_topics_and_both_are_exported(
    local: LocalSession,
) -> None:
    ok(sesmail("suppression", "add", "kim@example.org", "--topic", "newsletter"))
    ok(sesmail("suppression", "add", "kim@example.org", "--reason", "manual"))
    assert (entry("kim@example.org")["reason"], entry("kim@example.org")["topics"]) == (
        "manual",
        ["newsletter"],
    )
    exported = CliRunner().invoke(main, ["--local", "suppression", "export"])
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(exported.output))}
    assert rows["kim@example.org"]["topics"] == "newsletter"
    assert rows["kim@example.org"]["reason"] == "manual"
    ok(sesmail("suppression", "remove", "kim@example.org"))


def test_a_topic_that_templates_could_not_name_is_refused(local: LocalSession) -> None:
    result = sesmail("suppression", "add", "lin@example.org", "--topic", "news letter")
    assert result.exit_code != 0
    assert "'news letter': must be 1 to 64 ASCII letters, digits" in result.output
    assert entry("lin@example.org") is None


# -- a real email's link ----------------------------------------------------------------------


def test_a_one_click_unsubscribe_leaves_one_topic_and_other_mail_still_arrives(
    local: LocalSession,
) -> None:
    # GIVEN a second marketing template with its own topic, and a newsletter delivered to Ada
    push_marketing_template(local, "tips", topic="tips")
    client = EmailClient(
        local.outputs["eventBusName"], "tests.local", events_client=local.client("events")
    )
    newsletter = sample_data("newsletter")
    client.send(
        to="ada.topics@example.org", template="newsletter", data=newsletter, email_id="topics-1"
    )
    assert local.runtime.run_until_idle(60)
    # WHEN she uses its one-click unsubscribe link (as her mailbox provider would)
    response = one_click(local, token_in(local, "topics-1"))
    assert response["statusCode"] == 200
    # THEN she left the newsletter only
    assert entry("ada.topics@example.org")["topics"] == ["newsletter"]
    # AND the next newsletter is suppressed while tips and a welcome email are delivered
    client.send_many(
        [
            Email(
                to="ada.topics@example.org",
                template="newsletter",
                data=newsletter,
                email_id="topics-2",
            ),
            Email(
                to="ada.topics@example.org", template="tips", data=newsletter, email_id="topics-3"
            ),
            Email(
                to="ada.topics@example.org",
                template="welcome",
                data=sample_data("welcome"),
                email_id="topics-4",
            ),
        ]
    )
    assert local.runtime.run_until_idle(60)
    statuses = {i: ok(sesmail("status", i)) for i in ("topics-2", "topics-3", "topics-4")}
    assert statuses["topics-2"]["status"] == "suppressed"
    assert statuses["topics-2"]["statusReason"] == (
        "recipient suppressed: unsubscribed from topic newsletter"
    )
    assert statuses["topics-3"]["status"] == "delivered"
    assert statuses["topics-4"]["status"] == "delivered"


def push_marketing_template(local: LocalSession, name: str, topic: str) -> None:
    """The newsletter's files as another marketing template, in the local bucket."""
    folder = PROJECT_DIR / "templates" / "newsletter"
    metadata = json.loads((folder / "metadata.json").read_text()) | {"topic": topic}
    s3 = local.client("s3")
    bucket = local.outputs["templateBucketName"]
    for file in ("template.html", "template.txt"):
        s3.put_object(
            Bucket=bucket, Key=f"templates/{name}/{file}", Body=(folder / file).read_bytes()
        )
    s3.put_object(
        Bucket=bucket, Key=f"templates/{name}/metadata.json", Body=json.dumps(metadata).encode()
    )


def token_in(local: LocalSession, email_id: str) -> str:
    """The token of the HTTPS `List-Unsubscribe` target of the email in the outbox."""
    (path,) = [p for p in local.outbox.messages() if p.stem.endswith(f"-{email_id}")]
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    https = str(message["List-Unsubscribe"]).split(",")[0].strip().strip("<>")
    return parse_qs(urlparse(https).query)["token"][0]


def one_click(local: LocalSession, token: str) -> dict:
    """The RFC 8058 POST, as the function URL would hand it to the endpoint."""
    (function,) = [
        f for f in local.deployment.functions.values() if f.handler == UNSUBSCRIBE_HANDLER
    ]
    event = {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": f"token={token}",
        "queryStringParameters": {"token": token},
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": "List-Unsubscribe=One-Click",
        "isBase64Encoded": False,
    }
    return local.runtime.invoke(function, event)
