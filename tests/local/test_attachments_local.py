"""Attachments in local mode: an object put in the local attachment bucket reaches the outbox's
`.eml` as a MIME part; what SES would refuse ends `failed` or is refused by EmailClient."""

from __future__ import annotations

import email
import email.policy

import pytest
from local_support import sample_data

from sesmail.client import EmailClient, InvalidEmailRequest
from sesmail.local.session import LocalSession

INVOICE = b"%PDF-1.7\n% invoice O-1042\n\x00\x01\xfe\xff"


def client_for(local: LocalSession) -> EmailClient:
    return EmailClient(
        local.outputs["eventBusName"], "tests.local", events_client=local.client("events")
    )


def tracking_item(local: LocalSession, email_id: str) -> dict[str, str]:
    item = local.client("dynamodb").get_item(
        TableName=local.outputs["trackingTableName"],
        Key={"emailId": {"S": email_id}},
        ConsistentRead=True,
    )["Item"]
    return {key: next(iter(value.values())) for key, value in item.items()}


def test_an_attachment_is_a_mime_part_of_the_outbox_message(local: LocalSession) -> None:
    # GIVEN an invoice in the local attachment bucket
    bucket = local.outputs["attachmentBucketName"]
    local.client("s3").put_object(Bucket=bucket, Key="orders/O-1042/invoice.pdf", Body=INVOICE)
    # WHEN a service requests an email attaching it
    client_for(local).send(
        to="ada@example.org",
        template="welcome",
        data=sample_data("welcome"),
        email_id="attachment-check",
        attachments=[
            {
                "key": "orders/O-1042/invoice.pdf",
                "filename": "invoice.pdf",
                "contentType": "application/pdf",
            }
        ],
    )
    assert local.runtime.run_until_idle(60)
    # THEN the outbox's message is multipart/mixed: the HTML and text, then the invoice
    assert tracking_item(local, "attachment-check")["status"] in ("sent", "delivered")
    [eml] = [p for p in local.outbox.messages() if p.stem.endswith("attachment-check")]
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/mixed"
    assert sample_data("welcome")["firstName"] in message.get_body(("html",)).get_content()
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    assert part.get_filename() == "invoice.pdf"
    assert part.get_content_disposition() == "attachment"
    assert part.get_content() == INVOICE


def test_an_attachment_missing_from_the_bucket_fails_the_email(local: LocalSession) -> None:
    # GIVEN a request naming a key nobody uploaded
    client_for(local).send(
        to="ada@example.org",
        template="welcome",
        data=sample_data("welcome"),
        email_id="attachment-missing",
        attachments=[{"key": "nope.pdf", "filename": "a.pdf", "contentType": "application/pdf"}],
    )
    # WHEN local mode runs it
    assert local.runtime.run_until_idle(60)
    # THEN it is failed with the reason, and nothing is in the outbox for it
    item = tracking_item(local, "attachment-missing")
    assert item["status"] == "failed"
    assert item["statusReason"] == "attachment not found: nope.pdf is not in the attachment bucket"
    assert not [p for p in local.outbox.messages() if p.stem.endswith("attachment-missing")]


def test_email_client_refuses_a_file_type_ses_blocks(local: LocalSession) -> None:
    with pytest.raises(InvalidEmailRequest, match=r"file type \.exe is blocked by SES"):
        client_for(local).send(
            to="ada@example.org",
            template="welcome",
            attachments=[{"key": "a.exe", "filename": "a.exe", "contentType": "application/x"}],
        )
