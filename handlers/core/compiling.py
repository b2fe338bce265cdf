"""Compiling a template's files: ``metadata.json`` validation and Jinja2 compilation.

Imported on a template-cache miss only (see :mod:`..aws.templates`), so a warm container never
pays for it. Every template is compiled in a Jinja2 ``ImmutableSandboxedEnvironment`` (a
``SandboxedEnvironment`` that also forbids mutating lists and dicts) with ``StrictUndefined``;
HTML is autoescaped, the text part, subject and sender fields are not (they are not HTML).

Templates may ``{% extends %}``, ``{% include %}`` and ``{% import %}`` *shared files*: files in
folders whose name starts with ``_`` (``_layouts/base.html``, ``_partials/footer.html``). A
:class:`SharedFileLoader` reads them through a ``fetch`` function (S3 in the Lambda, the local
folder in the ``sesmail`` tools) and tells Jinja a loaded file is up to date for ``ttl_seconds``;
after that the next render reads it again, so a changed footer reaches every template without a
deployment and without recompiling the templates that use it.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from jinja2 import BaseLoader, Environment, StrictUndefined, Template, TemplateError
from jinja2.exceptions import TemplateNotFound
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .brand import ENGINE_VARIABLES
from .errors import TemplateInvalid
from .models import describe, matching
from .statuses import Category

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOPIC = re.compile(r"[A-Za-z0-9_.-]{1,64}")

SHARED_FOLDER_PREFIX = "_"
"""Top-level folders under ``templates/`` whose name starts with this hold shared files, not
templates."""


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Topic = Annotated[str, matching(_TOPIC, "1 to 64 ASCII letters, digits, '.', '_' or '-'")]
"""A template's ``topic``: what an unsubscribe from it is recorded against."""
VariableName = Annotated[
    str, matching(_VARIABLE_NAME, "a letter or '_', then ASCII letters, digits or '_'")
]


class TemplateMetadata(BaseModel):
    """``templates/{name}/metadata.json``. Unknown keys (``description``) are ignored by the
    sender; ``sesmail templates validate`` is stricter (see ``sesmail.templates``)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    subject: str = Field(min_length=1)
    senderEmail: str | None = None
    senderName: str | None = None
    replyTo: Annotated[list[str], BeforeValidator(_one_or_many)] = Field(default_factory=list)
    requiredVariables: list[VariableName] = Field(default_factory=list)
    optionalVariables: list[VariableName] = Field(default_factory=list)
    version: str | int | float | None = None
    category: Category = Category.TRANSACTIONAL
    topic: Topic | None = None
    """What an unsubscribe from this (marketing) template is recorded against; the template
    name when absent."""
    sampleData: dict[str, Any] | None = None
    """Data for previews, tests and validation; never used when sending."""


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

    @property
    def topic(self) -> str:
        return self.metadata.topic or self.name


def shared_path(name: str) -> str:
    """The bucket-relative path of a shared file, or TemplateNotFound for anything that is not
    one (another template's files, absolute paths, ``..``)."""
    normalized = posixpath.normpath(name)
    first = normalized.split("/", 1)[0]
    if (
        name != normalized
        or normalized.startswith("/")
        or ".." in normalized.split("/")
        or "/" not in normalized
        or not first.startswith(SHARED_FOLDER_PREFIX)
        or first.startswith("__")
    ):
        raise TemplateNotFound(
            name,
            f"{name!r}: templates may only extend or include shared files, in folders whose "
            "name starts with '_' (such as '_layouts/base.html')",
        )
    return normalized


class SharedFileLoader(BaseLoader):
    """Loads shared files through ``fetch(path) -> source or None``; each loaded file counts as
    up to date for ``ttl_seconds`` (Jinja then asks again)."""

    def __init__(
        self,
        fetch: Callable[[str], str | None],
        ttl_seconds: float,
        clock: Callable[[], float],
    ):
        self._fetch = fetch
        self._ttl_seconds = ttl_seconds
        self._clock = clock

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = shared_path(template)
        source = self._fetch(path)
        if source is None:
            raise TemplateNotFound(template, f"shared file not found: {path}")
        expires = self._clock() + self._ttl_seconds
        return source, path, lambda: self._clock() < expires


class TemplateEnvironments:
    """The HTML and text Jinja2 environments templates are compiled in, sharing one loader."""

    def __init__(self, loader: BaseLoader | None = None):
        options: dict[str, Any] = {
            "undefined": StrictUndefined,
            "loader": loader,
            "auto_reload": True,
            # Block tags take their line with them, so text templates read as they render.
            "trim_blocks": True,
            "lstrip_blocks": True,
        }
        self.html = ImmutableSandboxedEnvironment(autoescape=True, **options)
        self.text = ImmutableSandboxedEnvironment(autoescape=False, **options)


_STANDALONE = TemplateEnvironments()


def compile_template(
    name: str,
    html: str,
    text: str | None,
    metadata_json: str,
    environments: TemplateEnvironments | None = None,
) -> CompiledTemplate:
    """Compile a template's files, or raise TemplateInvalid naming the broken file."""
    envs = environments or _STANDALONE
    try:
        metadata = TemplateMetadata.model_validate(json.loads(metadata_json))
    except ValidationError as error:
        raise TemplateInvalid(f"metadata.json: {describe(error)}") from None
    except ValueError as error:
        raise TemplateInvalid(f"metadata.json is not JSON: {error}") from None
    except RecursionError:
        raise TemplateInvalid("metadata.json is nested too deeply to read") from None
    reserved = ENGINE_VARIABLES.intersection(
        [*metadata.requiredVariables, *metadata.optionalVariables]
    )
    if reserved:
        raise TemplateInvalid(
            f"metadata.json: {', '.join(sorted(reserved))} is set by the engine; "
            "do not declare it as a variable"
        )
    return CompiledTemplate(
        name=name,
        metadata=metadata,
        html=_compile(envs.html, html, "template.html"),
        text=_compile(envs.text, text, "template.txt") if text is not None else None,
        subject=_compile(envs.text, metadata.subject, "metadata.json subject"),
        sender_email=_optional(envs.text, metadata.senderEmail, "metadata.json senderEmail"),
        sender_name=_optional(envs.text, metadata.senderName, "metadata.json senderName"),
        reply_to=tuple(
            _compile(envs.text, value, "metadata.json replyTo") for value in metadata.replyTo
        ),
    )


def _optional(env: Environment, source: str | None, where: str) -> Template | None:
    return _compile(env, source, where) if source else None


def _compile(env: Environment, source: str, where: str) -> Template:
    try:
        return env.from_string(source)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        at = f" line {line}" if line else ""
        raise TemplateInvalid(f"{where}{at}: {error}") from None
    except (RecursionError, SyntaxError):
        # Nesting deeper than Jinja's parser or Python's compiler recurses through.
        raise TemplateInvalid(f"{where}: expressions are nested too deeply") from None
