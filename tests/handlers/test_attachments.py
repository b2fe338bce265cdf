"""Attachments, end to end through the sender's ``handler(event, context)`` against moto: read
from the attachment bucket, sent with SESv2's attachment support, and every way SES would
refuse them ending as ``failed`` with a reason before anything is sent."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sender_support import Aws, email_request, error_response

ATTACHMENT_BUCKET = "attachments-bucket"
INVOICE = b"%PDF-1.7 invoice O-1042\x00\xff"


@pytest.fixture
def attachments(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The attachment bucket, named in the sender's environment as the component names it."""
    aws.client("s3").create_bucket(Bucket=ATTACHMENT_BUCKET)
    monkeypatch.setenv("ATTACHMENT_BUCKET", ATTACHMENT_BUCKET)
    aws.put_template()
    return aws.client("s3")


def invoice(**fields: str) -> dict[str, str]:
    return {
        "key": "orders/O-1042/invoice.pdf",
        "filename": "invoice.pdf",
        "contentType": "application/pdf",
    } | fields


def attachment_reads() -> list[tuple[str, str]]:
    """(operation, key) of every request the sender makes to the attachment bucket, from now."""
    from sesmailengine.handlers.aws import clients

    reads: list[tuple[str, str]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        if params.get("Bucket") == ATTACHMENT_BUCKET:
            reads.append((model.name, params["Key"]))

    clients.client("s3").meta.events.register("before-parameter-build.s3", record)
    return reads


def fail_s3(operation: str, status: int, code: str) -> None:
    """Make the sender's own S3 client answer ``operation`` with ``code``."""
    from sesmailengine.handlers.aws import clients

    clients.client("s3").meta.events.register(
        f"before-call.s3.{operation}", lambda **_: error_response(status, code)
    )


def test_an_attachment_reaches_ses_as_an_attachment_of_the_message(
    aws: Aws, attachments, invoke
) -> None:
    # GIVEN an object in the attachment bucket and a request naming it
    attachments.put_object(Bucket=ATTACHMENT_BUCKET, Key="orders/O-1042/invoice.pdf", Body=INVOICE)
    reads = attachment_reads()
    # WHEN the sender handles the request
    response = invoke(email_request(emailId="order-1", attachments=[invoice()]))
    # THEN SendEmail carried the object's bytes, name and type, base64-encoded for MIME
    assert response == {"batchItemFailures": []}
    [request] = aws.send_requests
    [attachment] = request["Content"]["Simple"]["Attachments"]
    assert base64.b64decode(attachment["RawContent"]) == INVOICE
    assert attachment["FileName"] == "invoice.pdf"
    assert attachment["ContentType"] == "application/pdf"
    assert attachment["ContentDisposition"] == "ATTACHMENT"
    assert attachment["ContentTransferEncoding"] == "BASE64"
    assert aws.item("order-1")["status"] == "sent"
    # (its size checked before the claim, its content read to send it)
    assert reads == [
        ("HeadObject", "orders/O-1042/invoice.pdf"),
        ("GetObject", "orders/O-1042/invoice.pdf"),
    ]


def test_an_email_without_attachments_sends_none(aws: Aws, attachments, invoke) -> None:
    # GIVEN a request naming no attachment
    reads = attachment_reads()
    # WHEN it is sent
    invoke(email_request(emailId="order-1"))
    # THEN the SendEmail request has no Attachments and the bucket was never read
    [request] = aws.send_requests
    assert "Attachments" not in request["Content"]["Simple"]
    assert reads == []


def test_a_blocked_file_type_fails_the_email_with_the_reason(aws: Aws, attachments, invoke) -> None:
    # GIVEN a request attaching an .exe (SES refuses it), whatever the object holds
    request = email_request(emailId="order-1", attachments=[invoice(filename="Invoice.EXE")])
    # WHEN the sender handles it
    response = invoke(request)
    # THEN it is failed with a reason naming the attachment and the type, and never sent
    assert response == {"batchItemFailures": []}
    item = aws.item("order-1")
    assert item["status"] == "failed"
    assert item["statusReason"] == (
        "invalid request: attachments.0.filename: file type .exe is blocked by SES"
    )
    assert aws.send_requests == []


def test_a_missing_object_fails_the_email_before_it_is_claimed(
    aws: Aws, attachments, invoke
) -> None:
    # GIVEN a request naming a key the attachment bucket does not hold
    # WHEN the sender handles it
    response = invoke(email_request(emailId="order-1", attachments=[invoice(key="nope.pdf")]))
    # THEN it is failed, naming the key, and nothing is sent
    assert response == {"batchItemFailures": []}
    item = aws.item("order-1")
    assert item["status"] == "failed"
    assert item["statusReason"] == "attachment not found: nope.pdf is not in the attachment bucket"
    assert aws.send_requests == []


def test_a_message_over_40_mb_once_encoded_fails_with_its_size(
    aws: Aws, attachments, invoke
) -> None:
    # GIVEN a 30 MB object: 41.1 MB once base64-encoded in 76-character lines, over 40 MB
    attachments.put_object(Bucket=ATTACHMENT_BUCKET, Key="big.bin", Body=bytes(30_000_000))
    request = email_request(
        emailId="order-1",
        attachments=[invoice(key="big.bin", filename="big.bin", contentType="application/zip")],
    )
    reads = attachment_reads()
    # WHEN the sender handles a request attaching it
    response = invoke(request)
    # THEN it is failed with the estimated size and SES's limit, without reading the object
    assert response == {"batchItemFailures": []}
    item = aws.item("order-1")
    assert item["status"] == "failed"
    assert item["statusReason"] == (
        "message too large: 41.1 MB with attachments; SES accepts at most 40 MB"
    )
    assert aws.send_requests == []
    assert reads == [("HeadObject", "big.bin")]


def test_a_transient_s3_error_retries_the_record_instead_of_failing_it(
    aws: Aws, attachments, invoke
) -> None:
    # GIVEN an attachment whose size S3 cannot tell right now
    attachments.put_object(Bucket=ATTACHMENT_BUCKET, Key="orders/O-1042/invoice.pdf", Body=INVOICE)
    fail_s3("HeadObject", 503, "ServiceUnavailable")
    # WHEN the sender handles the request
    response = invoke(email_request(emailId="order-1", attachments=[invoice()]))
    # THEN the record is retried, nothing is recorded as failed and nothing is sent
    assert response == {"batchItemFailures": [{"itemIdentifier": "record-0"}]}
    assert aws.item("order-1") is None
    assert aws.send_requests == []


def test_an_attachment_read_failing_after_the_claim_releases_it_for_a_retry(
    aws: Aws, attachments, invoke
) -> None:
    # GIVEN an attachment whose content S3 cannot serve right now (its size it can)
    attachments.put_object(Bucket=ATTACHMENT_BUCKET, Key="orders/O-1042/invoice.pdf", Body=INVOICE)
    invoke(email_request(emailId="warm-up"))  # the template is cached: GetObject is ours now
    fail_s3("GetObject", 500, "InternalError")
    # WHEN the sender handles the request
    response = invoke(email_request(emailId="order-1", attachments=[invoice()]))
    # THEN the record is retried with its claim released, and not sent
    assert response == {"batchItemFailures": [{"itemIdentifier": "record-0"}]}
    item = aws.item("order-1")
    assert item["status"] == "processing" and "claimToken" not in item
    assert len(aws.send_requests) == 1  # the warm-up


def test_an_attachment_deleted_after_the_check_fails_the_email(
    aws: Aws, attachments, invoke
) -> None:
    # GIVEN an attachment that disappears between the size check and the send
    attachments.put_object(Bucket=ATTACHMENT_BUCKET, Key="orders/O-1042/invoice.pdf", Body=INVOICE)
    invoke(email_request(emailId="warm-up"))
    fail_s3("GetObject", 404, "NoSuchKey")
    # WHEN the sender handles the request
    invoke(email_request(emailId="order-1", attachments=[invoice()]))
    # THEN the claimed email is failed with the reason, not retried
    item = aws.item("order-1")
    assert item["status"] == "failed"
    assert item["statusReason"] == (
        "attachment not found: orders/O-1042/invoice.pdf is not in the attachment bucket"
    )


def test_attachments_without_an_attachment_bucket_fail_the_email(
    aws: Aws, invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a sender whose environment names no attachment bucket
    monkeypatch.delenv("ATTACHMENT_BUCKET", raising=False)
    aws.put_template()
    # WHEN a request with an attachment arrives
    invoke(email_request(emailId="order-1", attachments=[invoice()]))
    # THEN it fails saying so
    item = aws.item("order-1")
    assert item["status"] == "failed"
    assert item["statusReason"] == "attachments are not enabled: ATTACHMENT_BUCKET is not set"


def test_reusing_an_email_id_with_other_attachments_does_not_send_again(
    aws: Aws, attachments, invoke
) -> None:
    # GIVEN an email sent with one attachment
    attachments.put_object(Bucket=ATTACHMENT_BUCKET, Key="a.pdf", Body=INVOICE)
    attachments.put_object(Bucket=ATTACHMENT_BUCKET, Key="b.pdf", Body=INVOICE)
    invoke(email_request(emailId="order-1", attachments=[invoice(key="a.pdf")]))
    # WHEN another request reuses its emailId with another attachment
    response = invoke(email_request(emailId="order-1", attachments=[invoice(key="b.pdf")]))
    # THEN it is refused (consumed, not sent): the first email stays the only one
    assert response == {"batchItemFailures": []}
    assert len(aws.send_requests) == 1
    assert aws.item("order-1")["status"] == "sent"


def test_an_attachment_the_sender_may_not_read_fails_the_email(
    aws: Aws, attachments, invoke
) -> None:
    # GIVEN an object S3 refuses the sender (encrypted with a key of the producer's, say)
    attachments.put_object(Bucket=ATTACHMENT_BUCKET, Key="orders/O-1042/invoice.pdf", Body=INVOICE)
    fail_s3("HeadObject", 403, "403")
    # WHEN the sender handles a request attaching it
    invoke(email_request(emailId="order-1", attachments=[invoice()]))
    # THEN it is failed as unreadable, not retried forever
    item = aws.item("order-1")
    assert item["status"] == "failed"
    assert item["statusReason"].startswith(
        "attachment unreadable: orders/O-1042/invoice.pdf (S3 AccessDenied"
    )
