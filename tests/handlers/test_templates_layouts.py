"""Shared layouts, brand settings and the starter templates, through the sender under moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sender_support import BUCKET, Aws, email_request
from sesmailengine.handlers.core.rendering import NO_POSTAL_ADDRESS

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

CHILD = '{% extends "_layouts/base.html" %}{% block content %}<p>Hi {{ name }}</p>{% endblock %}'


def put_shared(aws: Aws, path: str, source: str) -> None:
    aws.client("s3").put_object(Bucket=BUCKET, Key=f"templates/{path}", Body=source.encode())


def html_of(aws: Aws, index: int = -1) -> str:
    return aws.send_requests[index]["Content"]["Simple"]["Body"]["Html"]["Data"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("sesmailengine.handlers.aws.templates.monotonic", fake)
    return fake


def test_a_template_extends_a_layout_stored_in_the_bucket(aws: Aws, invoke) -> None:
    # GIVEN a layout in templates/_layouts and a template extending it
    put_shared(aws, "_layouts/base.html", "<main>{% block content %}{% endblock %}</main>")
    aws.put_template(html=CHILD)
    # WHEN a request is sent  THEN the email is the layout around the template's block
    invoke(email_request(emailId="e-1"))
    assert html_of(aws) == "<main><p>Hi Ada</p></main>"


def test_a_layout_change_reaches_the_child_after_the_cache_ttl(
    aws: Aws, invoke, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a 300 s template cache and a child of version 1 of the layout, sent once
    monkeypatch.setenv("TEMPLATE_CACHE_TTL_SECONDS", "300")
    put_shared(aws, "_layouts/base.html", "<v1>{% block content %}{% endblock %}</v1>")
    aws.put_template(html=CHILD)
    invoke(email_request(emailId="e-1"))
    # WHEN only the layout changes in the bucket (no deployment, the child untouched)
    put_shared(aws, "_layouts/base.html", "<v2>{% block content %}{% endblock %}</v2>")
    clock.now += 299
    invoke(email_request(emailId="e-2"))
    clock.now += 2
    invoke(email_request(emailId="e-3"))
    # THEN within the TTL the cached layout is used, after it the new one
    assert html_of(aws, 0) == "<v1><p>Hi Ada</p></v1>"
    assert html_of(aws, 1) == "<v1><p>Hi Ada</p></v1>"
    assert html_of(aws, 2) == "<v2><p>Hi Ada</p></v2>"


def test_a_partial_included_by_the_layout_changes_every_email_in_one_place(
    aws: Aws, invoke, clock: Clock
) -> None:
    put_shared(
        aws,
        "_layouts/base.html",
        '{% block content %}{% endblock %}{% include "_partials/footer.html" %}',
    )
    put_shared(aws, "_partials/footer.html", "<footer>old</footer>")
    aws.put_template(html=CHILD)
    aws.put_template(name="other", html=CHILD)
    invoke(email_request(emailId="e-1"))
    put_shared(aws, "_partials/footer.html", "<footer>new</footer>")
    clock.now += 301
    invoke(email_request(emailId="e-2"), email_request(emailId="e-3", templateName="other"))
    assert html_of(aws, 0).endswith("<footer>old</footer>")
    assert all(
        request["Content"]["Simple"]["Body"]["Html"]["Data"].endswith("<footer>new</footer>")
        for request in aws.send_requests[1:]
    )


def test_a_missing_layout_fails_the_email_naming_it(aws: Aws, invoke) -> None:
    aws.put_template(html=CHILD)
    invoke(email_request(emailId="e-1"))
    item = aws.item("e-1")
    assert item["status"] == "failed"
    assert "_layouts/base.html" in item["statusReason"]
    assert aws.sent_mail() == []


def test_a_template_cannot_extend_another_templates_files(aws: Aws, invoke) -> None:
    aws.put_template(name="secret", html="private")
    aws.put_template(html='{% extends "secret/template.html" %}')
    invoke(email_request(emailId="e-1"))
    item = aws.item("e-1")
    assert item["status"] == "failed"
    assert "folders whose name starts with '_'" in item["statusReason"]


def test_a_shared_folder_is_not_a_template(aws: Aws, invoke) -> None:
    put_shared(aws, "_layouts/template.html", "x")
    put_shared(aws, "_layouts/metadata.json", json.dumps({"subject": "x"}))
    invoke(email_request(emailId="e-1", templateName="_layouts"))
    item = aws.item("e-1")
    assert item["status"] == "failed"
    assert "template not found: _layouts" in item["statusReason"]


def test_s3_throttling_while_loading_a_layout_retries_the_record(aws: Aws, invoke) -> None:
    from sender_support import error_response

    put_shared(aws, "_layouts/base.html", "{% block content %}{% endblock %}")
    aws.put_template(html=CHILD)

    def throttle(model, params, **_):
        if "_layouts/base.html" in str(params.get("url_path", "")):
            return error_response(503, "SlowDown")
        return None

    from sesmailengine.handlers.aws import clients

    clients.client("s3").meta.events.register("before-call.s3.GetObject", throttle)
    response = invoke(email_request(emailId="e-1"))
    assert response["batchItemFailures"] == [{"itemIdentifier": "record-0"}]
    assert aws.sent_mail() == []


def test_brand_settings_and_the_current_year_reach_every_template(
    aws: Aws, invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAND_NAME", "Acme")
    monkeypatch.setenv("BRAND_ADDRESS", "1 Road, Town")
    monkeypatch.setenv("BRAND_PRIMARY_COLOR", "#ff5500")
    aws.put_template(
        html='<p style="color: {{ brand.primaryColor }}">'
        "{{ brand.name }}, {{ brand.address }}, {{ currentYear }}</p>",
        subject="News from {{ brand.name }}",
    )
    invoke(email_request(emailId="e-1"))
    [request] = aws.send_requests
    year = datetime.now(UTC).year
    assert request["Content"]["Simple"]["Body"]["Html"]["Data"] == (
        f'<p style="color: #ff5500">Acme, 1 Road, Town, {year}</p>'
    )
    assert request["Content"]["Simple"]["Subject"]["Data"] == "News from Acme"


def upload_starters(aws: Aws) -> None:
    s3 = aws.client("s3")
    for path in TEMPLATES.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            key = "templates/" + path.relative_to(TEMPLATES).as_posix()
            s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())


TRANSACTIONAL = [
    "welcome",
    "email-verification",
    "password-reset",
    "login-code",
    "order-confirmation",
    "payment-receipt",
    "security-alert",
]


@pytest.mark.parametrize("name", TRANSACTIONAL)
def test_every_transactional_starter_is_sent_from_the_bucket_with_inlined_css(
    aws: Aws, invoke, name: str
) -> None:
    # GIVEN the starter templates uploaded as `pulumi up` uploads them
    upload_starters(aws)
    sample = json.loads((TEMPLATES / name / "metadata.json").read_text())["sampleData"]
    # WHEN a request with the template's sample data is sent
    response = invoke(email_request(emailId=f"{name}-1", templateName=name, templateData=sample))
    # THEN it is sent, styled inline, with a text part and no unsubscribe headers
    assert response == {"batchItemFailures": []}, aws.item(f"{name}-1")
    [request] = aws.send_requests
    simple = request["Content"]["Simple"]
    assert '<td class="card" style="' in simple["Body"]["Html"]["Data"]
    assert "{{" not in simple["Body"]["Text"]["Data"]
    assert "Headers" not in simple


KEY_PARAMETER = "/sesmailengine-test/unsubscribe-signing-key"


@pytest.fixture
def marketing_ready(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """A sender with the unsubscribe endpoint and its key, and the starters in the bucket."""
    monkeypatch.setenv("UNSUBSCRIBE_URL", "https://abc123.lambda-url.us-east-1.on.aws/")
    monkeypatch.setenv("UNSUBSCRIBE_KEY_PARAMETER", KEY_PARAMETER)
    aws.client("ssm").put_parameter(Name=KEY_PARAMETER, Value="k" * 64, Type="SecureString")
    upload_starters(aws)
    return aws


def newsletter_request() -> dict:
    sample = json.loads((TEMPLATES / "newsletter" / "metadata.json").read_text())["sampleData"]
    return email_request(emailId="news-1", templateName="newsletter", templateData=sample)


def test_the_newsletter_starter_is_sent_with_the_postal_address_in_its_footer(
    marketing_ready: Aws, invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAND_ADDRESS", "1 Road, Town")
    invoke(newsletter_request())
    assert marketing_ready.item("news-1")["status"] == "sent"
    body = marketing_ready.send_requests[0]["Content"]["Simple"]["Body"]
    assert "1 Road, Town" in body["Html"]["Data"] and "1 Road, Town" in body["Text"]["Data"]


def test_marketing_mail_without_a_postal_address_is_refused_with_the_reason(
    marketing_ready: Aws, invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a sender whose stack sets no brandAddress
    monkeypatch.delenv("BRAND_ADDRESS")
    # WHEN the newsletter (a marketing template) is requested
    response = invoke(newsletter_request())
    # THEN nothing is sent and the email is failed, naming the setting that is missing
    assert response == {"batchItemFailures": []}
    assert marketing_ready.send_requests == []
    item = marketing_ready.item("news-1")
    assert item["status"] == "failed"
    assert item["statusReason"] == NO_POSTAL_ADDRESS
    assert "brandAddress" in item["statusReason"]


def test_transactional_mail_needs_no_postal_address(
    marketing_ready: Aws, invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRAND_ADDRESS")
    sample = json.loads((TEMPLATES / "welcome" / "metadata.json").read_text())["sampleData"]
    invoke(email_request(emailId="w-1", templateName="welcome", templateData=sample))
    assert marketing_ready.item("w-1")["status"] == "sent"
