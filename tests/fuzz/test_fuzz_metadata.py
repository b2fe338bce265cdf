"""Fuzzing ``metadata.json``: whatever a template's metadata holds, compiling the template
returns it or raises TemplateInvalid naming the file; nothing else escapes (the sender counts
anything else as an unexpected error and retries the email until the DLQ takes it)."""

from __future__ import annotations

import contextlib
from typing import Any

from fuzz_strategies import anything, deeply_nested, dumps, hostile_text, huge_text, mutated
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sesmailengine.handlers.core.compiling import (
    CompiledTemplate,
    TemplateMetadata,
    compile_template,
)
from sesmailengine.handlers.core.errors import TemplateInvalid

VALID = {
    "subject": "Welcome {{ name }}",
    "senderEmail": "news@example.com",
    "senderName": "{{ brand.name }}",
    "replyTo": ["help@example.com"],
    "requiredVariables": ["name"],
    "optionalVariables": ["plan"],
    "version": 2,
    "category": "marketing",
    "topic": "product-news",
    "sampleData": {"name": "Ada"},
}

jinja = st.lists(
    st.sampled_from(["{{", "}}", "{%", "%}", "(", ")", "[", "]", "|", " name ", "'", "if ", "."]),
    max_size=40,
).map("".join)
"""Fragments of Jinja syntax: unbalanced, nested, or (rarely) valid."""


@st.composite
def deep_jinja(draw: st.DrawFn) -> str:
    """An expression nested past what the parser or Python's compiler can recurse through."""
    depth = draw(st.integers(50, 5_000))
    return "{{ " + "(" * depth + "name" + ")" * depth + " }}"


subjects = st.one_of(hostile_text, jinja, deep_jinja(), huge_text())
metadata_documents = st.one_of(
    st.builds(lambda subject: VALID | {"subject": subject}, subjects),
    st.builds(lambda name: VALID | {"senderName": name}, subjects),
    mutated(VALID),
    anything,
)
metadata_texts = st.one_of(
    metadata_documents.map(dumps),
    metadata_documents.map(dumps),
    hostile_text,
    deeply_nested().map(lambda nested: nested.text),
)


@given(metadata_json=metadata_texts)
def test_compiling_returns_the_template_or_raises_template_invalid(metadata_json: str):
    try:
        compiled = compile_template("t", "<p>{{ name }}</p>", "{{ name }}", metadata_json)
    except TemplateInvalid as error:
        assert str(error).startswith("metadata.json"), str(error)
        return
    assert isinstance(compiled, CompiledTemplate)


@given(document=metadata_documents)
def test_the_metadata_model_raises_only_validation_errors(document: Any):
    with contextlib.suppress(ValidationError):
        TemplateMetadata.model_validate(document)
