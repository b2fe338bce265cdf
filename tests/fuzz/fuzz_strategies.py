"""Hostile values for the fuzz tests: text with controls, bidi marks and line breaks, JSON of
every shape and wrong type, deep nesting, huge strings, and mutations of valid documents."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Unicode's Bidi_Control characters: they reorder what a reader sees (Trojan Source)."""

_HOSTILE_CHARS = "\r\n\t\x00\x0b\x0c\x1b\x7f\x85\u2028\u2029\ufeff\u200b" + "".join(BIDI_CONTROLS)


def unsafe_characters(text: str) -> set[str]:
    """The characters of ``text`` no mail header may show: controls (C0, DEL, C1) and bidi
    controls."""
    return {c for c in text if unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS}


def sqs_safe(text: str) -> str:
    """``text`` without the characters SQS refuses in a message body (it could not arrive)."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff"
    )


hostile_text = st.text(
    alphabet=st.one_of(st.sampled_from(_HOSTILE_CHARS), st.characters(codec="utf-8")),
    max_size=40,
)
"""Short text, heavy on the characters that break headers and logs."""


@st.composite
def huge_text(draw: st.DrawFn) -> str:
    """Up to 200,000 characters (an SQS body holds 256 KiB)."""
    return draw(st.sampled_from("a@<\u202e\n")) * draw(st.integers(1_000, 200_000))


@dataclass(frozen=True)
class Nested:
    """JSON text nested ``depth`` deep (``json.loads`` recurses per level), kept as text so
    neither Hypothesis's reports nor ``json.dumps`` have to recurse through it."""

    text: str
    depth: int

    def __repr__(self) -> str:
        return f"Nested(depth={self.depth})"


@st.composite
def deeply_nested(draw: st.DrawFn) -> Nested:
    depth = draw(st.integers(100, 20_000))
    opening = draw(st.sampled_from(["[", '{"a":']))
    closing = "]" if opening == "[" else "}"
    return Nested(opening * depth + "1" + closing * depth, depth)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    hostile_text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value, small."""

anything = st.one_of(json_values, huge_text(), deeply_nested())
"""What a hostile caller may put in any field."""


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one node somewhere replaced by a hostile value, or a key removed."""
    if not isinstance(document, dict | list) or not document or draw(st.integers(0, 4)) == 0:
        return draw(anything)
    copy = list(document) if isinstance(document, list) else dict(document)
    key = draw(st.sampled_from(range(len(copy)) if isinstance(copy, list) else sorted(copy)))
    if isinstance(copy, dict) and draw(st.integers(0, 5)) == 0:
        del copy[key]
    else:
        copy[key] = draw(mutated(copy[key]))
    return copy


def dumps(value: Any) -> str:
    """JSON text of ``value``, with :class:`Nested` parts spliced in as they are."""
    if isinstance(value, Nested):
        return value.text
    if isinstance(value, list):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)
