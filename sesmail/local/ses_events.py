"""The events SES publishes for one sent email, following the SES mailbox simulator.

Formats as the SES developer guide documents event publishing to SNS ("Examples of event
data that Amazon SES publishes to Amazon SNS"). Every email starts with one Send event (SES
accepted it); then recipients decide the outcome:

- `success@simulator.amazonses.com`: Delivery.
- `bounce@simulator.amazonses.com`: Bounce, Permanent / General (5.1.1).
- `ooto@simulator.amazonses.com`: Delivery (SES delivers it; the auto-reply goes to the
  Return-Path, not to the event stream).
- `complaint@simulator.amazonses.com`: Delivery, then Complaint (abuse).
- `suppressionlist@simulator.amazonses.com`: Bounce, Permanent / OnAccountSuppressionList.
- `bounce+transient…@simulator.amazonses.com`: Bounce, Transient / General. Local only: SES
  has no soft-bounce address (it would bounce this one permanently).
- any other address: Delivery.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from .ses_extensions import SentRequest

SIMULATOR_DOMAIN = "simulator.amazonses.com"
REPORTING_MTA = "a8-70.smtp-out.amazonses.com"


def ses_events_for(sent: SentRequest, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every event SES would publish for this email, in the order it would publish them."""
    now = now or datetime.now(UTC)
    mail = _mail(sent, now)
    events: list[dict[str, Any]] = [{"eventType": "Send", "mail": mail, "send": {}}]
    for recipient in mail["destination"]:
        local, _, domain = parseaddr(recipient)[1].lower().partition("@")
        box = local.split("+", 1)[0] if domain == SIMULATOR_DOMAIN else ""
        if box == "bounce" and "transient" in local:
            events.append(_bounce(mail, recipient, now, "Transient", "General", "4.4.7"))
        elif box == "bounce":
            events.append(_bounce(mail, recipient, now, "Permanent", "General", "5.1.1"))
        elif box == "suppressionlist":
            events.append(
                _bounce(mail, recipient, now, "Permanent", "OnAccountSuppressionList", "5.1.1")
            )
        else:
            events.append(_delivery(mail, recipient, now))
            if box == "complaint":
                events.append(_complaint(mail, recipient, now))
    return events


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _mail(sent: SentRequest, now: datetime) -> dict[str, Any]:
    request = sent.request
    destination = request.get("Destination", {})
    recipients = [
        *destination.get("ToAddresses", []),
        *destination.get("CcAddresses", []),
        *destination.get("BccAddresses", []),
    ]
    source = request.get("FromEmailAddress", "")
    simple = request.get("Content", {}).get("Simple", {})
    subject = simple.get("Subject", {}).get("Data", "")
    sender_domain = parseaddr(source)[1].rpartition("@")[2]
    tags: dict[str, list[str]] = {
        "ses:operation": ["SendEmail"],
        "ses:configuration-set": [request.get("ConfigurationSetName", "")],
        "ses:source-ip": ["127.0.0.1"],
        "ses:from-domain": [sender_domain],
        "ses:caller-identity": ["sesmail-local"],
    }
    for tag in request.get("EmailTags", []):
        tags[tag["Name"]] = [tag["Value"]]
    headers = [
        {"name": "From", "value": source},
        {"name": "To", "value": ", ".join(destination.get("ToAddresses", []))},
        {"name": "Subject", "value": subject},
        {"name": "MIME-Version", "value": "1.0"},
        *({"name": h["Name"], "value": h["Value"]} for h in simple.get("Headers", [])),
    ]
    return {
        "timestamp": _iso(now),
        "source": source,
        "sourceArn": f"arn:aws:ses:{sent.region}:{sent.account}:identity/{sender_domain}",
        "sendingAccountId": sent.account,
        "messageId": sent.message_id,
        "destination": recipients,
        "headersTruncated": False,
        "headers": headers,
        "commonHeaders": {
            "from": [source],
            "to": destination.get("ToAddresses", []),
            "messageId": sent.message_id,
            "subject": subject,
        },
        "tags": tags,
    }


def _feedback_id() -> str:
    return f"0100{uuid.uuid4().hex[:12]}-{uuid.uuid4()}-000000"


def _delivery(mail: dict[str, Any], recipient: str, now: datetime) -> dict[str, Any]:
    return {
        "eventType": "Delivery",
        "mail": mail,
        "delivery": {
            "timestamp": _iso(now),
            "processingTimeMillis": 546,
            "recipients": [recipient],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": REPORTING_MTA,
        },
    }


def _bounce(
    mail: dict[str, Any], recipient: str, now: datetime, kind: str, sub_kind: str, status: str
) -> dict[str, Any]:
    diagnostic = (
        "Amazon SES did not send the message to this address because it is on the suppression "
        "list for your account."
        if sub_kind == "OnAccountSuppressionList"
        else f"smtp; {'550' if kind == 'Permanent' else '452'} {status} "
        + ("user unknown" if kind == "Permanent" else "mailbox full, try again later")
    )
    return {
        "eventType": "Bounce",
        "mail": mail,
        "bounce": {
            "bounceType": kind,
            "bounceSubType": sub_kind,
            "bouncedRecipients": [
                {
                    "emailAddress": recipient,
                    "action": "failed" if kind == "Permanent" else "delayed",
                    "status": status,
                    "diagnosticCode": diagnostic,
                }
            ],
            "timestamp": _iso(now),
            "feedbackId": _feedback_id(),
            "reportingMTA": f"dsn; {REPORTING_MTA}",
        },
    }


def _complaint(mail: dict[str, Any], recipient: str, now: datetime) -> dict[str, Any]:
    return {
        "eventType": "Complaint",
        "mail": mail,
        "complaint": {
            "complainedRecipients": [{"emailAddress": recipient}],
            "timestamp": _iso(now),
            "feedbackId": _feedback_id(),
            "userAgent": "Amazon SES Mailbox Simulator",
            "complaintFeedbackType": "abuse",
            "arrivalDate": _iso(now),
        },
    }
