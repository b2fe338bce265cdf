"""Compiling a template's files: ``metadata.json`` validation and Jinja2 compilation.

Imported on a template-cache miss only (see :mod:`..aws.templates`), so a warm container never
pays for it. Every template is compiled in a Jinja2 ``ImmutableSandboxedEnvironment`` (a
``SandboxedEnvironment`` that also forbids mutating lists and dicts) with ``StrictUndefined``;
HTML is autoescaped, the text part, subject and sender fields are not (they are not HTML).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .errors import TemplateInvalid
from .models import describe
from .statuses import Category

_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_html_env = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_text_env = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class TemplateMetadata(BaseModel):
    """``templates/{name}/metadata.json``. Unknown keys (``sampleData``, ``description``) are
    ignored by the sender."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    subject: str = Field(min_length=1)
    senderEmail: str | None = None
    senderName: str | None = None
    replyTo: Annotated[list[str], BeforeValidator(_one_or_many)] = Field(default_factory=list)
    requiredVariables: list[Annotated[str, Field(pattern=_VARIABLE_NAME.pattern)]] = Field(
        default_factory=list
    )
    optionalVariables: list[Annotated[str, Field(pattern=_VARIABLE_NAME.pattern)]] = Field(
        default_factory=list
    )
    version: str | int | float | None = None
    category: Category = Category.TRANSACTIONAL


@dataclass(frozen=True)
class CompiledTemplate:
    name: str
    metadata: TemplateMetadata
    html: Template
    text: Template | None
    subject: Template
    sender_email: Template | None
    sender_name: Template | None
    reply_to: tuple[Template, ...]

    @property
    def category(self) -> Category:
        return self.metadata.category


def compile_template(
    name: str, html: str, text: str | None, metadata_json: str
) -> CompiledTemplate:
    """Compile a template's files, or raise TemplateInvalid naming the broken file."""
    try:
        metadata = TemplateMetadata.model_validate(json.loads(metadata_json))
    except ValidationError as error:
        raise TemplateInvalid(f"metadata.json: {describe(error)}") from None
    except ValueError as error:
        raise TemplateInvalid(f"metadata.json is not JSON: {error}") from None
    return CompiledTemplate(
        name=name,
        metadata=metadata,
        html=_compile(_html_env, html, "template.html"),
        text=_compile(_text_env, text, "template.txt") if text is not None else None,
        subject=_compile(_text_env, metadata.subject, "metadata.json subject"),
        sender_email=_optional(metadata.senderEmail, "metadata.json senderEmail"),
        sender_name=_optional(metadata.senderName, "metadata.json senderName"),
        reply_to=tuple(
            _compile(_text_env, value, "metadata.json replyTo") for value in metadata.replyTo
        ),
    )


def _optional(source: str | None, where: str) -> Template | None:
    return _compile(_text_env, source, where) if source else None


def _compile(env: ImmutableSandboxedEnvironment, source: str, where: str) -> Template:
    try:
        return env.from_string(source)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        at = f" line {line}" if line else ""
        raise TemplateInvalid(f"{where}{at}: {error}") from None
