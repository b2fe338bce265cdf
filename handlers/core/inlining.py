"""CSS inlining of rendered HTML, with css-inline (a maintained Rust inliner).

Many email clients ignore ``<style>`` (or strip it when forwarding), so every rule that can be
inlined is copied into the elements' ``style`` attributes. The ``<style>`` blocks stay in the
document as well: media queries (the responsive and dark-mode rules) cannot be inlined and only
work from there. Remote stylesheets are never fetched.

Inlining runs at render time, on the final HTML, because a template's rules usually live in
its shared layout (``_layouts/base.html``), which is only joined to the template when it
renders; inlining Jinja source instead would let the HTML parser move ``{% for %}`` tags out of
tables.
"""

from __future__ import annotations

import re

_STYLE_TAG = re.compile(r"<style[\s>]", re.IGNORECASE)
_inliner = None


def has_style_blocks(html: str) -> bool:
    return _STYLE_TAG.search(html) is not None


def inline_css(html: str) -> str:
    """``html`` with its ``<style>`` rules inlined; unchanged when it has no ``<style>``."""
    if not has_style_blocks(html):
        return html
    global _inliner
    if _inliner is None:
        import css_inline

        _inliner = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
    return _inliner.inline(html)
