"""What every component shares: its type token, the options of its children, and the names
and ARNs one component hands another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

PACKAGE = "sesmailengine"


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


def child_options(parent: pulumi.Resource, **options: Any) -> pulumi.ResourceOptions:
    """Options of a resource a component creates: parented to the component (so its URN and
    provider follow it), plus any `options` such as `depends_on`."""
    return pulumi.ResourceOptions(parent=parent, **options)


def invoke_options(parent: pulumi.Resource) -> pulumi.InvokeOptions:
    """Options of a data-source call a component makes: it uses the component's provider."""
    return pulumi.InvokeOptions(parent=parent)
