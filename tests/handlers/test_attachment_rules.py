"""``detail.attachments`` as the Email Request model validates it, and SES's size rule: pure
domain, no AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sesmailengine.handlers.core.attachments import (
    BLOCKED_EXTENSIONS,
    MAX_MESSAGE_BYTES,
    encoded_size,
    message_size,
    oversize_reason,
)
from sesmailengine.handlers.core.fingerprint import RequestFingerprint
from sesmailengine.handlers.core.models import EmailRequest, parse_body


def parsed(*attachments: Any) -> Any:
    detail = {"to": "ada@example.org", "templateName": "receipt", "attachments": list(attachments)}
    event = {"id": "e-1", "detail-type": "Email Request", "source": "app", "detail": detail}
    return parse_body(json.dumps(event))


def reason(*attachments: Any) -> str:
    return parsed(*attachments).reason


def attachment(**fields: Any) -> dict[str, Any]:
    return {
        "key": "orders/O-1/receipt.pdf",
        "filename": "receipt.pdf",
        "contentType": "application/pdf",
    } | fields


def test_a_valid_attachment_is_part_of_the_request() -> None:
    # GIVEN / WHEN a request with one attachment is parsed
    request = parsed(attachment()).request
    # THEN the attachment is there, by its documented names
    [found] = request.attachments
    assert (found.key, found.filename, found.content_type) == (
        "orders/O-1/receipt.pdf",
        "receipt.pdf",
        "application/pdf",
    )


def test_missing_or_null_attachments_mean_none() -> None:
    assert (
        EmailRequest.model_validate({"to": "a@example.org", "templateName": "t"}).attachments == []
    )
    assert parsed().request.attachments == []
    detail = {"to": "a@example.org", "templateName": "t", "attachments": None}
    assert EmailRequest.model_validate(detail).attachments == []


@pytest.mark.parametrize(
    "filename", ["invoice.exe", "Invoice.EXE", "invoice.exe.", "invoice.exe ", "setup.msi", ".js"]
)
def test_a_file_type_ses_blocks_is_refused_whatever_its_spelling(filename: str) -> None:
    extension = "." + filename.rstrip(". ").rsplit(".", 1)[1].lower()
    assert reason(attachment(filename=filename)) == (
        f"invalid request: attachments.0.filename: file type {extension} is blocked by SES"
    )


def test_the_blocked_list_is_the_one_ses_documents() -> None:
    # The SES Developer Guide's list has 90 extensions, from .ade to .xnk.
    assert len(BLOCKED_EXTENSIONS) == 90
    assert {"ade", "exe", "js", "vsmacros", "xnk", "ps1xml", "msh2xml"} <= BLOCKED_EXTENSIONS
    assert not {"pdf", "zip", "png", "docx", "csv", "ics"} & BLOCKED_EXTENSIONS


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("filename", "../receipt.pdf", "must be a file name, without '/' or '\\'"),
        ("filename", "a\\b.pdf", "must be a file name, without '/' or '\\'"),
        ("filename", "receipt\r\n.pdf", "header injection: CR/LF in filename"),
        ("filename", "receipt\x07.pdf", "control character U+0007 in filename"),
        ("filename", "receipt\u202efdp.exe", "bidi override U+202E in filename"),
        ("filename", "..", "must name a file"),
        ("filename", "", "String should have at least 1 character"),
        ("key", "", "String should have at least 1 character"),
        ("key", "/orders/a.pdf", "must be an S3 key of ASCII letters"),
        ("key", "orders//a.pdf", "must be an S3 key of ASCII letters"),
        ("key", "orders/../secrets.pdf", "must not contain '.' or '..' segments"),
        ("key", "orders/a b.pdf", "must be an S3 key of ASCII letters"),
        ("key", "k" * 1025, "String should have at most 1024 characters"),
        ("contentType", "pdf", "must be a MIME type such as application/pdf"),
        ("contentType", "text/plain; charset=utf-8", "must be a MIME type such as"),
        ("contentType", "text/plain\n", "must be a MIME type such as"),
    ],
)
def test_an_unsafe_attachment_field_fails_the_request_naming_it(
    field: str, value: str, message: str
) -> None:
    found = reason(attachment(**{field: value}))
    assert found.startswith(f"invalid request: attachments.0.{field}: ")
    assert message in found


def test_a_field_missing_from_an_attachment_is_named() -> None:
    assert reason({"key": "a.pdf", "filename": "a.pdf"}) == (
        "invalid request: attachments.0.contentType: Field required"
    )


def test_at_most_ten_attachments() -> None:
    assert parsed(*[attachment()] * 10).request is not None
    assert "attachments: List should have at most 10 items" in reason(*[attachment()] * 11)


def test_base64_in_mime_lines_is_four_thirds_plus_a_line_break_every_76_characters() -> None:
    assert encoded_size(0) == 0
    assert encoded_size(3) == 4 + 2
    assert encoded_size(57) == 76 + 2  # one full line
    assert encoded_size(58) == 80 + 4  # a second line starts


def test_a_message_is_too_large_only_over_40_mb() -> None:
    at_limit = MAX_MESSAGE_BYTES
    assert oversize_reason(at_limit) is None
    assert oversize_reason(at_limit + 1) == (
        "message too large: 40.1 MB with attachments; SES accepts at most 40 MB"
    )
    assert message_size(["é", "ab"], [3]) == 2 + 2 + 6


def test_a_request_with_other_attachments_is_another_request() -> None:
    # GIVEN the same request with two different attachments
    first = parsed(attachment(key="a.pdf")).request
    second = parsed(attachment(key="b.pdf")).request
    # WHEN their fingerprints are compared
    conflict = RequestFingerprint.of("app", second).conflict(RequestFingerprint.of("app", first))
    # THEN the second conflicts, naming the attachments
    assert conflict == "conflict: emailId already used for another request (attachments differs)"


def test_a_request_without_attachments_keeps_its_fingerprint() -> None:
    # Fingerprints stored before attachments existed must still match their redeliveries.
    request = EmailRequest.model_validate({"to": "a@example.org", "templateName": "t"})
    assert "attachments" not in RequestFingerprint.of("app", request).fields
