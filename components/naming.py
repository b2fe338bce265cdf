"""Names shared by every component."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

PACKAGE = "sesmailengine"
METRICS_NAMESPACE = "SESMailEngine"
"""CloudWatch namespace of every handler's EMF metrics."""


@dataclass(frozen=True)
class Named:
    """A resource another component refers to: by name (environment) and ARN (IAM)."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]


@dataclass(frozen=True)
class SharedState:
    """What every handler reads and writes: the two tables and the event bus."""

    tracking_table: Named
    suppression_table: Named
    bus: Named


def component_type(kind: str) -> str:
    """Pulumi type token of one of our components, e.g. `sesmailengine:index:Storage`."""
    return f"{PACKAGE}:index:{kind}"
