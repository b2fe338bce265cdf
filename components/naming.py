"""Names shared by every component."""

from __future__ import annotations

PACKAGE = "sesmailengine"


def component_type(kind: str) -> str:
    """Pulumi type token of one of our components, e.g. `sesmailengine:index:Storage`."""
    return f"{PACKAGE}:index:{kind}"
