"""The starter templates in templates/: complete, valid, and rendered as recipients see them."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import css_inline
import pytest
from sesmailengine.handlers.core.brand import Brand

from sesmail.templates.folders import template_names
from sesmail.templates.preview import (
    PREVIEW_UNSUBSCRIBE_URL,
    evaluate,
    find_chromium,
    render_template,
)
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


# --- colour contrast (WCAG 2.x) ---------------------------------------------------------------

WCAG_AA = 4.5
DARK_MODE_BLOCK = "@media (prefers-color-scheme: dark) {"
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}
HEX_COLOUR = re.compile(r"^#([0-9a-f]{3}|[0-9a-f]{6})$")
CARD_CLASSES = {"body", "wrapper", "wrapper-cell", "container", "card"}
"""The classes around the body text of the card (layout only: no muted or footer text)."""


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a `#rgb` / `#rrggbb` colour."""
    assert HEX_COLOUR.match(colour), f"not a hex colour: {colour}"
    digits = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted(map(relative_luminance, (foreground, background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def dark_mode_css(html: str) -> str:
    """The rules inside the layout's `prefers-color-scheme: dark` media query."""
    start = html.index(DARK_MODE_BLOCK) + len(DARK_MODE_BLOCK)
    depth, end = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(html[end], 0)
        end += 1
    return html[start : end - 1]


@dataclass(frozen=True)
class Text:
    text: str
    tag: str
    """The element the text is in."""
    colour: str
    background: str
    classes: frozenset[str]
    """Classes of the element and its ancestors."""


class VisibleText(HTMLParser):
    """Every visible text of the body with the colour it is drawn in and the background behind
    it, from the style attributes (the CSS is inlined, so they hold the cascade's result)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, dict[str, str], set[str]]] = []
        self.texts: list[Text] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_ELEMENTS:
            return
        values = dict(attrs)
        style = {}
        for declaration in (values.get("style") or "").split(";"):
            name, _, value = declaration.partition(":")
            if value:
                style[name.strip()] = value.replace("!important", "").strip().lower()
        self.open.append((tag, style, set((values.get("class") or "").split())))

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        tags = [tag for tag, _, _ in self.open]
        if not data.strip() or "body" not in tags or "title" in tags:
            return
        styles = [style for _, style, _ in reversed(self.open)]
        if any(style.get("display") == "none" for style in styles):
            return
        colour = next(style["color"] for style in styles if "color" in style)
        background = next(s["background-color"] for s in styles if "background-color" in s)
        classes = frozenset().union(*(classes for _, _, classes in self.open))
        self.texts.append(Text(data.strip(), tags[-1], colour, background, classes))


def as_seen(html: str, dark: bool) -> list[Text]:
    """The texts of an inlined email as a client without (or with) dark mode draws them."""
    if dark:
        html = css_inline.inline(html, extra_css=dark_mode_css(html))
    parser = VisibleText()
    parser.feed(html)
    return parser.texts


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("name", STARTERS)
def test_every_text_reaches_wcag_aa_contrast_in_light_and_dark_mode(name, dark):
    # GIVEN a starter rendered with its sample data and the default brand colours
    texts = as_seen(render_template(ROOT, name).html, dark)
    # THEN every visible text, the footer and its links included, is at least 4.5:1
    assert any("footer" in text.classes for text in texts)
    poor = [
        (
            text.text[:40],
            text.colour,
            text.background,
            round(contrast(text.colour, text.background), 2),
        )
        for text in texts
        if contrast(text.colour, text.background) < WCAG_AA
    ]
    assert poor == []


@pytest.mark.parametrize("name", ["newsletter", "password-reset"])
def test_the_dark_mode_footer_is_dimmer_than_the_body_text(name):
    # GIVEN a starter as a dark-mode client draws it
    texts = as_seen(render_template(ROOT, name).html, dark=True)
    body = [text for text in texts if text.tag == "p" and text.classes <= CARD_CLASSES]
    footer = [text for text in texts if "footer" in text.classes]
    assert body and footer
    # THEN every footer text (paragraphs and links) is dimmer than every body paragraph
    dimmest_body = min(relative_luminance(text.colour) for text in body)
    assert [text for text in footer if relative_luminance(text.colour) >= dimmest_body] == []


# --- the link fallback at phone width ---------------------------------------------------------

LINK_FALLBACK = re.compile(r'<p class="link-fallback" style="([^"]*)">.*?<a ([^>]*)>', re.DOTALL)
WORDS_SPLIT_ACROSS_LINES = """[...document.querySelectorAll(".link-fallback")].flatMap(p =>
  [...p.childNodes].filter(node => node.nodeType === Node.TEXT_NODE).flatMap(node =>
    [...node.textContent.matchAll(/\\S+/g)].filter(word => {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      return range.getClientRects().length > 1;
    }).map(word => word[0]))).join(" ") + "|" +
  [...document.querySelectorAll(".link-fallback a")].every(a =>
    a.getBoundingClientRect().right <= document.documentElement.clientWidth)"""


@pytest.mark.parametrize("name", ["email-verification", "password-reset"])
def test_only_the_fallback_link_may_break_anywhere_not_its_sentence(name):
    sentence_style, link = LINK_FALLBACK.search(render_template(ROOT, name).html).groups()
    assert "word-break" not in sentence_style and "overflow-wrap" not in sentence_style
    assert "word-break: break-all" in link and "overflow-wrap: anywhere" in link


@pytest.mark.browser  # renders in headless Chromium (`make builds`)
@pytest.mark.skipif(find_chromium() is None, reason="headless Chromium is not installed")
@pytest.mark.parametrize("name", ["email-verification", "password-reset"])
def test_at_375_px_the_sentence_wraps_between_words_and_the_link_fits(name):
    # GIVEN the starter laid out by Chromium at a phone's width
    html = render_template(ROOT, name).html
    # WHEN each word of the "copy this link" sentence is measured
    split_words, link_fits = evaluate(find_chromium(), html, 375, WORDS_SPLIT_ACROSS_LINES).split(
        "|"
    )
    # THEN no word is cut across two lines, and the long link wraps inside the screen
    assert split_words == ""
    assert link_fits == "true"


# --- the newsletter ----------------------------------------------------------------------------

IMAGE_SOURCE = re.compile(r'<img [^>]*src="([^"]+)"')
EVERY_IMAGE_LOADED = "[...document.images].every(image => image.complete && image.naturalWidth > 0)"


def test_the_newsletter_counts_the_articles_it_is_given():
    article = {"title": "A story", "url": "https://x.example/a"}
    for articles, shown in (([article], "1 article"), ([article] * 2, "2 articles")):
        rendered = render_template(ROOT, "newsletter", {"headline": "News", "articles": articles})
        assert f"{shown}</p>" in rendered.html
        assert rendered.text.startswith(shown)
    sample = render_template(ROOT, "newsletter")
    assert f"· {len(metadata('newsletter')['sampleData']['articles'])} articles" in sample.text


@pytest.mark.parametrize("name", STARTERS)
def test_sample_images_are_embedded_so_previews_render_offline(name):
    for source in IMAGE_SOURCE.findall(render_template(ROOT, name).html):
        assert source.startswith("data:image/png;base64,"), source[:60]
        assert base64.b64decode(source.partition(",")[2])[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.browser  # renders in headless Chromium (`make builds`)
@pytest.mark.skipif(find_chromium() is None, reason="headless Chromium is not installed")
def test_the_newsletter_sample_image_loads_without_a_network():
    html = render_template(ROOT, "newsletter").html
    assert IMAGE_SOURCE.search(html)
    assert evaluate(find_chromium(), html, 1024, EVERY_IMAGE_LOADED) == "true"
