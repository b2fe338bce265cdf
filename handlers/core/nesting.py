"""Bounded nesting of the JSON producers send.

Python's ``json`` parses and serialises recursively: a body nesting arrays or objects about a
thousand levels deep raises ``RecursionError``, which no ``except ValueError`` catches and which
would fail the whole batch. Nothing here recurses, so any depth is measured safely, and
:func:`loads_bounded` still reads the shallow fields (the ``emailId``) of a body too deep to
parse, so its failure can be tracked.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_NESTING_DEPTH = 32
"""How deep ``templateData`` and ``metadata`` may nest (``{}`` is one level). DynamoDB stores
maps nested at most 32 levels deep, and no template needs more."""

PARSE_DEPTH = 2 * MAX_NESTING_DEPTH
"""A body too deep to parse has its containers below this depth replaced by ``null``: far
above the request's own depth (envelope, ``detail``, ``templateData``) plus the limit, so the
pruned request still breaks the limit and is refused by it, and far below the recursion limit."""

_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and dicts nest in ``value`` more than ``limit`` levels deep."""
    pending = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, dict):
            children = list(current.values())
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def loads_bounded(text: str) -> Any:
    """``json.loads(text)``; a document too deep for the parser is read with every container
    nested deeper than :data:`PARSE_DEPTH` replaced by ``null``. Raises ValueError for text
    that is not JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        return json.loads(_pruned(text, PARSE_DEPTH))


def _pruned(text: str, depth_limit: int) -> str:
    """``text`` with each array or object opened below ``depth_limit`` replaced by ``null``.
    Strings are skipped whole, so brackets inside them do not count; unbalanced text stays
    invalid JSON."""
    parts: list[str] = []
    depth = 0
    kept_until = 0
    cut_from: int | None = None
    for token in _STRING_OR_BRACKET.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth == depth_limit + 1:
                cut_from = token.start()
        elif char in "]}":
            if depth == depth_limit + 1 and cut_from is not None:
                parts.append(text[kept_until:cut_from])
                parts.append("null")
                kept_until, cut_from = token.end(), None
            depth -= 1
    parts.append(text[kept_until:] if cut_from is None else text[kept_until:cut_from])
    return "".join(parts)
