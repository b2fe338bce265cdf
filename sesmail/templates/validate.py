"""`sesmail templates validate`: every problem with a template, stricter than the sender
(unknown metadata keys, variables used but not declared or declared but not used, shared files
that do not exist, and whether it renders with its own sampleData)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import nodes
from jinja2.meta import find_referenced_templates
from pydantic import ConfigDict, Field, ValidationError
from sesmailengine.handlers.core.compiling import (
    ENGINE_VARIABLES,
    SHARED_FOLDER_PREFIX,
    TemplateEnvironments,
    TemplateMetadata,
)
from sesmailengine.handlers.core.errors import TemplateInvalid

from .errors import TemplateToolError
from .folders import TemplateFolder, local_environments, template_names
from .preview import render_template


class StrictMetadata(TemplateMetadata):
    """`metadata.json` as `validate` reads it: the sender's fields plus the documented extras,
    and nothing else, so a misspelt key is reported instead of silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    sampleData: dict[str, Any] = Field(default_factory=dict)


@dataclass
class ValidationReport:
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_template(root: Path, name: str) -> ValidationReport:
    """Every problem with one template: metadata schema, variables used but not declared or
    declared but not used, shared files that do not exist, and rendering its own sampleData."""
    report = ValidationReport(name)
    try:
        folder = TemplateFolder.read(root, name)
    except TemplateToolError as error:
        report.problems.append(str(error))
        return report
    try:
        metadata = StrictMetadata.model_validate(json.loads(folder.metadata_json))
    except ValueError as error:  # ValidationError is a ValueError
        report.problems.extend(_metadata_problems(error))
        return report
    if folder.text is None:
        report.problems.append("template.txt missing: write a text part (the derived one is bare)")
    envs = local_environments(root)
    sources = _sources(folder, metadata)
    try:
        used = _used_variables(envs, sources, root)
    except (TemplateToolError, TemplateInvalid) as error:
        report.problems.append(str(error))
        return report
    declared = set(metadata.requiredVariables) | set(metadata.optionalVariables)
    reserved = declared & ENGINE_VARIABLES
    for variable in sorted(reserved):
        report.problems.append(f"{variable} is set by the engine and must not be declared")
    for variable in sorted(used - declared - ENGINE_VARIABLES):
        report.problems.append(
            f"uses {variable!r}, which is in neither requiredVariables nor optionalVariables"
        )
    for variable in sorted(declared - used - ENGINE_VARIABLES):
        report.problems.append(f"declares {variable!r} but never uses it")
    for variable in sorted(set(metadata.requiredVariables) & set(metadata.optionalVariables)):
        report.problems.append(f"{variable!r} is both required and optional")
    if not metadata.sampleData:
        report.problems.append("sampleData is missing or empty: previews and tests need it")
    else:
        missing = [v for v in metadata.requiredVariables if v not in metadata.sampleData]
        if missing:
            report.problems.append(f"sampleData lacks required {', '.join(missing)}")
        else:
            try:
                render_template(root, name, metadata.sampleData)
            except TemplateToolError as error:
                report.problems.append(f"does not render with its sampleData: {error}")
    return report


def validate_all(root: Path, names: Iterable[str] | None = None) -> list[ValidationReport]:
    return [validate_template(root, name) for name in (names or template_names(root))]


def _metadata_problems(error: ValueError) -> list[str]:
    if not isinstance(error, ValidationError):
        return [f"metadata.json is not JSON: {error}"]
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "metadata.json"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        problems.append(f"metadata.json {where}: {message}")
    return problems


def _sources(folder: TemplateFolder, metadata: TemplateMetadata) -> dict[str, tuple[str, bool]]:
    """Every Jinja source of a template: where → (source, is HTML)."""
    sources = {"template.html": (folder.html, True)}
    if folder.text is not None:
        sources["template.txt"] = (folder.text, False)
    sources["metadata.json subject"] = (metadata.subject, False)
    for key in ("senderEmail", "senderName"):
        value = getattr(metadata, key)
        if value:
            sources[f"metadata.json {key}"] = (value, False)
    for index, value in enumerate(metadata.replyTo):
        sources[f"metadata.json replyTo[{index}]"] = (value, False)
    return sources


def _used_variables(
    envs: TemplateEnvironments, sources: Mapping[str, tuple[str, bool]], root: Path
) -> set[str]:
    """Names read from the render context by the sources and every shared file they reach."""
    used: set[str] = set()
    seen: set[str] = set()
    pending = [(where, source, html) for where, (source, html) in sources.items()]
    while pending:
        where, source, html = pending.pop()
        env = envs.html if html else envs.text
        try:
            tree = env.parse(source)
        except Exception as error:
            raise TemplateToolError(f"{where}: {error}") from None
        used |= _context_names(tree)
        for reference in find_referenced_templates(tree):
            if reference is None:
                continue  # a computed name cannot be followed
            if reference in seen:
                continue
            seen.add(reference)
            file = root / reference
            if not reference.startswith(SHARED_FOLDER_PREFIX) or not file.is_file():
                raise TemplateToolError(f"{where}: shared file {reference!r} not found in {root}")
            pending.append((reference, file.read_text(encoding="utf-8"), file.suffix == ".html"))
    return used


def _context_names(tree: nodes.Template) -> set[str]:
    """Names a template loads from its context, minus what it binds itself (imports, macros,
    loop variables and `set`s anywhere, which Jinja's own analysis misses inside blocks)."""
    from jinja2.meta import find_undeclared_variables

    bound: set[str] = set()
    for node in tree.find_all((nodes.Import, nodes.FromImport, nodes.Macro, nodes.Assign)):
        if isinstance(node, nodes.Import):
            bound.add(node.target)
        elif isinstance(node, nodes.FromImport):
            bound.update(name if isinstance(name, str) else name[1] for name in node.names)
        elif isinstance(node, nodes.Macro):
            bound.add(node.name)
        else:
            bound.update(n.name for n in node.target.find_all(nodes.Name))
    return set(find_undeclared_variables(tree)) - bound
