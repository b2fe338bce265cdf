"""`sesmail templates preview`: render a local template as the sender would, to HTML and text
files, and with headless Chromium to PNG screenshots at desktop and mobile widths."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape, unescape
from pathlib import Path
from typing import Any

from sesmailengine.handlers.core.brand import Brand, engine_variables
from sesmailengine.handlers.core.compiling import compile_template
from sesmailengine.handlers.core.errors import TemplateInvalid
from sesmailengine.handlers.core.rendering import RenderedTemplate, RenderFailed, render
from sesmailengine.handlers.core.statuses import Category

from .errors import TemplateToolError
from .folders import TemplateFolder, local_environments

PREVIEW_BRAND = Brand(
    name="Example",
    url="https://www.example.com",
    address="1 Example Street, Springfield",
)
PREVIEW_UNSUBSCRIBE_URL = "https://unsubscribe.example.com/?token=preview"
SCREEN_WIDTHS = {"desktop": 1024, "mobile": 375}
MAX_SCREENSHOT_HEIGHT = 20000
"""Far beyond any real email: a longer page (a runaway loop) is cut there, not captured whole."""
_EVALUATE_PAGE = """<!DOCTYPE html><html><body style="margin: 0">
<iframe scrolling="no" style="display: block; border: 0; width: {width}px; height: 1px"
 srcdoc="{srcdoc}"></iframe>
<script>
addEventListener("load", () => {{
  const result = (document => ({expression}))(window.frames[0].document);
  document.body.setAttribute("data-evaluated", String(result));
}});
</script></body></html>"""
_EVALUATED = re.compile(r'data-evaluated="([^"]*)"')
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_HINT = (
    "PNG screenshots need headless Chromium; install it with `sudo apt-get install chromium` "
    "(Debian, Ubuntu) and run the command again"
)


def render_template(
    root: Path,
    name: str,
    data: Mapping[str, Any] | None = None,
    brand: Brand = PREVIEW_BRAND,
    now: datetime | None = None,
) -> RenderedTemplate:
    """Render a local template as the sender would (`data` defaults to its `sampleData`).
    Marketing templates get a placeholder unsubscribe link."""
    folder = TemplateFolder.read(root, name)
    try:
        compiled = compile_template(
            name, folder.html, folder.text, folder.metadata_json, local_environments(root)
        )
    except TemplateInvalid as error:
        raise TemplateToolError(f"{name}: {error}") from None
    if data is None:
        data = compiled.metadata.sampleData or {}
    unsubscribe = PREVIEW_UNSUBSCRIBE_URL if compiled.category is Category.MARKETING else None
    try:
        return render(compiled, data, engine_variables(brand, now, unsubscribe))
    except RenderFailed as error:
        raise TemplateToolError(f"{name}: {error.reason}") from None


@dataclass(frozen=True)
class PreviewFiles:
    name: str
    html: Path
    text: Path
    screenshots: tuple[Path, ...] = ()


def find_chromium() -> str | None:
    for candidate in CHROMIUM_NAMES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def write_preview(
    root: Path,
    name: str,
    out_dir: Path,
    data: Mapping[str, Any] | None = None,
    png: bool = False,
    chromium: str | None = None,
) -> PreviewFiles:
    """Render `name` to `<out>/<name>.html` and `.txt` (and with `png`, `<name>-desktop.png`
    and `<name>-mobile.png`). Raises TemplateToolError if PNGs are asked for without Chromium."""
    rendered = render_template(root, name, data)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, text_path = out_dir / f"{name}.html", out_dir / f"{name}.txt"
    html_path.write_text(rendered.html, encoding="utf-8")
    text_path.write_text(f"Subject: {rendered.subject}\n\n{rendered.text}", encoding="utf-8")
    shots: list[Path] = []
    if png:
        browser = chromium or find_chromium()
        if browser is None:
            raise TemplateToolError(CHROMIUM_HINT)
        for label, width in SCREEN_WIDTHS.items():
            shot = out_dir / f"{name}-{label}.png"
            screenshot(browser, html_path, shot, width)
            shots.append(shot)
    return PreviewFiles(name, html_path, text_path, tuple(shots))


def screenshot(chromium: str, html: Path, out: Path, width: int) -> None:
    """A PNG of the whole of `html` at `width` CSS pixels, taken by headless Chromium (network
    off): as tall as the page, measured first at that width (at most MAX_SCREENSHOT_HEIGHT)."""
    height = min(page_height(chromium, html, width), MAX_SCREENSHOT_HEIGHT)
    _run_chromium(chromium, html, width, height, f"--screenshot={out}")
    if not out.is_file():
        raise TemplateToolError(f"Chromium wrote no screenshot of {html.name}")


def page_height(chromium: str, html: Path, width: int) -> int:
    """The height in CSS pixels of `html` laid out at `width`, once its images have loaded."""
    height = evaluate(
        chromium, html.read_text(encoding="utf-8"), width, "document.documentElement.scrollHeight"
    )
    if not height.isdigit():
        raise TemplateToolError(f"Chromium could not measure the height of {html.name}")
    return int(height)


def evaluate(chromium: str, html: str, width: int, expression: str) -> str:
    """What the JavaScript `expression` gives, as a string, once headless Chromium has laid out
    `html` at `width` CSS pixels and loaded its images (network off); `document` is the email's.

    The email is in an iframe of exactly that width (Chromium's `--dump-dom` window has a
    minimum width), 1 px high so the document is as tall as its content, never the window."""
    page = _EVALUATE_PAGE.format(
        width=width, srcdoc=escape(html, quote=True), expression=expression
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "evaluate.html"
        path.write_text(page, encoding="utf-8")
        dom = _run_chromium(chromium, path, width, 600, "--dump-dom")
    found = _EVALUATED.search(dom)
    if found is None:
        raise TemplateToolError(f"Chromium did not evaluate {expression!r}")
    return unescape(found.group(1))


def _run_chromium(chromium: str, html: Path, width: int, height: int, action: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--proxy-server=127.0.0.1:9",  # remote images are not fetched
            "--proxy-bypass-list=<-loopback>",
            f"--window-size={width},{height}",
            action,
            html.resolve().as_uri(),
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise TemplateToolError(f"Chromium took too long to render {html.name}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise TemplateToolError(f"Chromium could not render {html.name}: {' '.join(detail)}")
    return result.stdout
