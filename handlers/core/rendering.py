"""Rendering rules for compiled templates (see :mod:`.compiling`).

``StrictUndefined`` fails the render on any name the template uses and the data does not
supply, except names listed in ``optionalVariables``, which render as empty and test false.
A required variable missing from the data is reported by name before rendering.

The engine adds its own variables to every context (:data:`.brand.ENGINE_VARIABLES`):
``brand`` (name, URL, logo, address and colours from stack config), ``currentYear`` and, for
marketing templates, ``unsubscribeUrl``. ``templateData`` of the same names is ignored, even
where the engine sets none (no ``unsubscribeUrl`` in transactional mail). A marketing template
is refused when the brand has no postal address for its footer (:data:`NO_POSTAL_ADDRESS`).
The HTML is then CSS-inlined (:mod:`.inlining`); a rendering larger than
:data:`MAX_RENDERED_BYTES` fails the email.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jinja2 import Template, TemplateNotFound, Undefined
from jinja2.exceptions import SecurityError, UndefinedError

from .brand import ENGINE_VARIABLES
from .errors import TemplateInvalid, Throttled, TransientError
from .inlining import inline_css
from .statuses import Category

if TYPE_CHECKING:
    from .compiling import CompiledTemplate

_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")
_BLANK_LINES = re.compile(r"\n[ \t]*(\n[ \t]*){2,}")

MAX_RENDERED_BYTES = 10 * 1024 * 1024
"""HTML and text together, in UTF-8. SES refuses messages over 40 MB after MIME encoding
(base64 grows a part by a third, and both parts are sent); a template loop over large data
that gets near it is a bug to report, not a message to try."""


NO_POSTAL_ADDRESS = (
    "no postal address: marketing email must show the sender's postal address "
    "(bulk-mail law such as CAN-SPAM asks for one); set brandAddress"
)


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


def render(
    template: CompiledTemplate,
    data: Mapping[str, Any],
    engine_variables: Mapping[str, Any] | None = None,
) -> RenderedTemplate:
    """Render every part of ``template`` with ``data``, or raise RenderFailed.

    Throttling and transient errors from loading a shared layout propagate unchanged, so the
    caller retries instead of failing the email.
    """
    metadata = template.metadata
    missing = missing_variables(template, data)
    if missing:
        raise RenderFailed(f"missing variable: {', '.join(missing)}")
    if template.category is Category.MARKETING and not _postal_address(engine_variables):
        raise RenderFailed(NO_POSTAL_ADDRESS)
    context: dict[str, Any] = {name: Undefined(name=name) for name in metadata.optionalVariables}
    context["unsubscribeUrl"] = Undefined(name="unsubscribeUrl")
    context.update((name, value) for name, value in data.items() if name not in ENGINE_VARIABLES)
    context.update(engine_variables or {})
    html = _render(template.html, context)
    _refuse_oversize(html)  # before inlining spends time on it
    if template.text is not None:
        text = _squeeze_blank_lines(_render(template.text, context))
    else:
        from .text import html_to_text

        text = html_to_text(html)
    try:
        inlined = inline_css(html)
    except Exception as error:
        raise RenderFailed(f"CSS inlining failed: {error}") from None
    _refuse_oversize(inlined, text)
    return RenderedTemplate(
        subject=_render(template.subject, context).strip(),
        html=inlined,
        text=text,
        sender_email=_render_optional(template.sender_email, context),
        sender_name=_render_optional(template.sender_name, context),
        reply_to=tuple(
            value
            for value in (_render(part, context).strip() for part in template.reply_to)
            if value
        ),
    )


def missing_variables(template: CompiledTemplate, data: Mapping[str, Any]) -> list[str]:
    """The template's required variables ``data`` lacks, in metadata.json's order."""
    return [name for name in template.metadata.requiredVariables if name not in data]


def _render(template: Template, context: dict[str, Any]) -> str:
    try:
        return template.render(context)
    except (Throttled, TransientError):
        raise  # S3 throttled or unavailable while loading a shared file: retry, not a failure
    except TemplateInvalid as error:
        raise RenderFailed(f"template invalid: {error}") from None
    except SecurityError as error:
        raise RenderFailed(f"template rejected by the sandbox: {error}") from None
    except TemplateNotFound as error:
        raise RenderFailed(f"template error: {error.message or error.name}") from None
    except UndefinedError as error:
        match = _UNDEFINED_NAME.match(str(error))
        if match:
            raise RenderFailed(f"missing variable: {match.group(1)}") from None
        raise RenderFailed(f"template error: {error}") from None
    except Exception as error:
        # Whatever a template raises while rendering (a filter on the wrong type, a division
        # by zero) fails the same way on every attempt: it is the template's fault, not ours.
        raise RenderFailed(f"template error: {type(error).__name__}: {error}") from None


def _postal_address(engine_variables: Mapping[str, Any] | None) -> str | None:
    """The address the shared footer shows (``brand.address``), if the engine gave one."""
    brand = (engine_variables or {}).get("brand") or {}
    return brand.get("address")


def _refuse_oversize(*parts: str) -> None:
    size = sum(len(part.encode()) for part in parts)
    if size > MAX_RENDERED_BYTES:
        raise RenderFailed(
            f"rendered email too large: {size} bytes of HTML and text"
            f" (at most {MAX_RENDERED_BYTES})"
        )


def _render_optional(template: Template | None, context: dict[str, Any]) -> str | None:
    if template is None:
        return None
    return _render(template, context).strip() or None


def _squeeze_blank_lines(text: str) -> str:
    """Optional sections that render empty leave no more than one blank line behind."""
    return _BLANK_LINES.sub("\n\n", text)
