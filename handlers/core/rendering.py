"""Rendering rules for compiled templates (see :mod:`.compiling`).

``StrictUndefined`` fails the render on any name the template uses and the data does not
supply, except names listed in ``optionalVariables``, which render as empty and test false.
A required variable missing from the data is reported by name before rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jinja2 import Template, Undefined
from jinja2.exceptions import SecurityError, UndefinedError

if TYPE_CHECKING:
    from .compiling import CompiledTemplate

_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")


class RenderFailed(Exception):
    """This request cannot be rendered with this template; ``reason`` goes to ``statusReason``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RenderedTemplate:
    """The template's output for one request, before sender resolution."""

    subject: str
    html: str
    text: str
    sender_email: str | None
    sender_name: str | None
    reply_to: tuple[str, ...]


def render(template: CompiledTemplate, data: dict[str, Any]) -> RenderedTemplate:
    """Render every part of ``template`` with ``data``, or raise RenderFailed."""
    metadata = template.metadata
    missing = [name for name in metadata.requiredVariables if name not in data]
    if missing:
        raise RenderFailed(f"missing variable: {', '.join(missing)}")
    context = {name: Undefined(name=name) for name in metadata.optionalVariables}
    context.update(data)
    html = _render(template.html, context)
    if template.text is not None:
        text = _render(template.text, context)
    else:
        from .text import html_to_text

        text = html_to_text(html)
    return RenderedTemplate(
        subject=_render(template.subject, context).strip(),
        html=html,
        text=text,
        sender_email=_render_optional(template.sender_email, context),
        sender_name=_render_optional(template.sender_name, context),
        reply_to=tuple(
            value
            for value in (_render(part, context).strip() for part in template.reply_to)
            if value
        ),
    )


def _render(template: Template, context: dict[str, Any]) -> str:
    try:
        return template.render(context)
    except SecurityError as error:
        raise RenderFailed(f"template rejected by the sandbox: {error}") from None
    except UndefinedError as error:
        match = _UNDEFINED_NAME.match(str(error))
        if match:
            raise RenderFailed(f"missing variable: {match.group(1)}") from None
        raise RenderFailed(f"template error: {error}") from None
    except Exception as error:
        # Whatever a template raises while rendering (a filter on the wrong type, a division
        # by zero) fails the same way on every attempt: it is the template's fault, not ours.
        raise RenderFailed(f"template error: {type(error).__name__}: {error}") from None


def _render_optional(template: Template | None, context: dict[str, Any]) -> str | None:
    if template is None:
        return None
    return _render(template, context).strip() or None
