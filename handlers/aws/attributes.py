"""DynamoDB attribute values (the low-level client's ``{"S": ...}`` shape) as Python, and back."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def plain(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """The scalar string and number attributes of a low-level item (enough to classify it)."""
    if not item:
        return None
    scalars: dict[str, Any] = {}
    for name, value in item.items():
        if "S" in value:
            scalars[name] = value["S"]
        elif "N" in value:
            scalars[name] = Decimal(value["N"])
    return scalars


def python(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """A low-level item as plain Python: numbers as int or float, sets as sets."""
    if not item:
        return None
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: _undecimal(deserializer.deserialize(value)) for name, value in item.items()}


def serialize(value: Any) -> dict[str, Any]:
    """JSON data as a DynamoDB attribute value (floats become Decimals)."""
    from boto3.dynamodb.types import TypeSerializer  # only requests with metadata need it

    safe = json.loads(json.dumps(value, default=str), parse_float=Decimal)
    return TypeSerializer().serialize(safe)


def _undecimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _undecimal(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_undecimal(inner) for inner in value]
    if isinstance(value, set | frozenset):
        return {_undecimal(inner) for inner in value}
    return value
