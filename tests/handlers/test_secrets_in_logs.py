"""Logging at DEBUG, as a stack being debugged does, puts no secret in the logs."""

from __future__ import annotations

import logging

import pytest
from sender_support import Aws, email_request

KEY_PARAMETER = "/sesmailengine-test/unsubscribe-signing-key"
KEY = "signing-key-" + "s3cr3t" * 10
ONE_TIME_CODE = "739-201-884"


@pytest.fixture
def marketing(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """A marketing template, whose sending reads the unsubscribe key (an SSM SecureString)."""
    monkeypatch.setenv("UNSUBSCRIBE_URL", "https://abc123.lambda-url.us-east-1.on.aws/")
    monkeypatch.setenv("UNSUBSCRIBE_KEY_PARAMETER", KEY_PARAMETER)
    aws.client("ssm").put_parameter(Name=KEY_PARAMETER, Value=KEY, Type="SecureString")
    aws.put_template(
        name="news", category="marketing", html="<p>{{ name }}, your code: {{ code }}</p>"
    )
    return aws


def test_debug_logging_records_neither_the_signing_key_nor_the_mail_content(
    marketing: Aws, invoke, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the root logger at DEBUG, as Lambda sets it when the function's log level is DEBUG
    caplog.set_level(logging.DEBUG)
    # WHEN a marketing email carrying a one-time code is sent
    invoke(
        email_request(
            emailId="n-1", templateName="news", templateData={"name": "Ada", "code": ONE_TIME_CODE}
        )
    )
    # THEN it is sent, and no log record holds the key or the code
    assert marketing.item("n-1")["status"] == "sent"
    logged = "\n".join(f"{record.getMessage()} {record.args}" for record in caplog.records)
    assert KEY not in logged
    assert ONE_TIME_CODE not in logged
