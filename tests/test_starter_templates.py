"""The starter templates in templates/: complete, valid, and rendered as recipients see them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sesmailengine.handlers.core.brand import Brand

from sesmail.templates.folders import template_names
from sesmail.templates.preview import PREVIEW_UNSUBSCRIBE_URL, render_template
from sesmail.templates.validate import validate_template

ROOT = Path(__file__).resolve().parents[1] / "templates"
STARTERS = [
    "welcome",
    "email-verification",
    "password-reset",
    "login-code",
    "order-confirmation",
    "payment-receipt",
    "security-alert",
    "newsletter",
]
UNRESOLVED = re.compile(r"\{\{|\{%|\}\}|%\}|\bNone\b|\bUndefined\b|\bundefined\b")


def metadata(name: str) -> dict:
    return json.loads((ROOT / name / "metadata.json").read_text())


def test_the_eight_starters_are_the_templates_and_shared_folders_are_not():
    assert template_names(ROOT) == sorted(STARTERS)
    assert (ROOT / "_layouts" / "base.html").is_file()
    assert (ROOT / "_partials" / "footer.html").is_file()


@pytest.mark.parametrize("name", STARTERS)
def test_each_starter_has_its_three_files_and_sample_data(name):
    for file in ("template.html", "template.txt", "metadata.json"):
        assert (ROOT / name / file).is_file(), file
    meta = metadata(name)
    assert meta["sampleData"], name
    expected = "marketing" if name == "newsletter" else "transactional"
    assert meta["category"] == expected


@pytest.mark.parametrize("name", STARTERS)
def test_each_starter_passes_validation(name):
    report = validate_template(ROOT, name)
    assert report.problems == []


@pytest.mark.parametrize("name", STARTERS)
def test_each_starter_renders_its_sample_data_in_html_and_text_with_nothing_unresolved(name):
    # GIVEN a starter and its sampleData  WHEN it renders as the sender renders it
    rendered = render_template(ROOT, name, now=datetime(2031, 5, 1, tzinfo=UTC))
    # THEN subject, HTML and text hold no template syntax and no missing value
    for part in (rendered.subject, rendered.html, rendered.text):
        assert not UNRESOLVED.search(part), UNRESOLVED.search(part)
    # ... the sample values appear in both parts
    for value in metadata(name)["sampleData"].values():
        if isinstance(value, str) and not value.startswith("http"):
            assert value in rendered.text, value
    # ... the brand and the computed year are in the shared footer of both parts
    for part in (rendered.html, rendered.text):
        assert "© 2031 Example" in part or "&copy; 2031 Example" in part
        assert "1 Example Street, Springfield" in part


@pytest.mark.parametrize("name", STARTERS)
def test_each_starter_is_table_based_responsive_dark_mode_ready_with_a_preheader(name):
    html = render_template(ROOT, name).html
    assert '<table role="presentation"' in html
    assert "max-width: 600px" in html
    assert "@media only screen and (max-width: 620px)" in html
    assert "@media (prefers-color-scheme: dark)" in html
    color_scheme = re.search(r"<meta [^>]*name=\"color-scheme\"[^>]*>", html)
    assert color_scheme and 'content="light dark"' in color_scheme.group(0)
    preheader = re.search(r'<div class="preheader"[^>]*>([^<]*)', html)
    assert preheader and preheader.group(1).strip(), "no preheader text"


@pytest.mark.parametrize("name", STARTERS)
def test_each_starter_has_its_css_inlined(name):
    html = render_template(ROOT, name).html
    # The layout's class rules are copied into the elements' style attributes.
    card = re.search(r'<td class="card" style="([^"]+)"', html)
    assert card and "background-color: #ffffff" in card.group(1)
    assert re.search(r'<div class="preheader" style="[^"]*display: none', html)
    body = re.search(r"<body[^>]*style=\"([^\"]+)\"", html)
    assert body and "background-color: #f4f5f7" in body.group(1)


@pytest.mark.parametrize("name", STARTERS)
def test_each_starter_degrades_gracefully_with_only_its_required_variables(name):
    # GIVEN only the required variables (every optional one missing)
    meta = metadata(name)
    data = {key: meta["sampleData"][key] for key in meta["requiredVariables"]}
    # WHEN it renders  THEN nothing is unresolved and no optional value leaks in
    rendered = render_template(ROOT, name, data)
    for part in (rendered.subject, rendered.html, rendered.text):
        assert not UNRESOLVED.search(part)
        assert 'href=""' not in part
    for optional in meta["optionalVariables"]:
        value = meta["sampleData"].get(optional)
        if isinstance(value, str) and len(value) > 3 and value not in json.dumps(data):
            assert value not in rendered.html, optional
            assert value not in rendered.text, optional


def test_a_missing_cta_url_hides_the_welcome_button():
    with_cta = render_template(
        ROOT, "welcome", {"firstName": "Ada", "ctaUrl": "https://x.example/go"}
    )
    without = render_template(ROOT, "welcome", {"firstName": "Ada"})
    assert 'class="button"' in with_cta.html and "https://x.example/go" in with_cta.text
    assert 'class="button"' not in without.html and "Get started" not in without.text


def test_only_the_marketing_starter_shows_an_unsubscribe_link():
    newsletter = render_template(ROOT, "newsletter")
    assert PREVIEW_UNSUBSCRIBE_URL in newsletter.html
    assert f"Unsubscribe: {PREVIEW_UNSUBSCRIBE_URL}" in newsletter.text
    for name in STARTERS[:-1]:
        assert "Unsubscribe" not in render_template(ROOT, name).html, name


def test_brand_colours_reach_buttons_and_links():
    brand = Brand(name="Acme", primary_color="#ff5500")
    html = render_template(ROOT, "password-reset", brand=brand).html
    assert re.search(r'class="button-cell"[^>]*style="[^"]*background-color: #ff5500', html)
    assert (
        "Reset your Acme password" in render_template(ROOT, "password-reset", brand=brand).subject
    )
