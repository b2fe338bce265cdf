"""Brand settings: stack config → the sender's environment (``BRAND_*``, read by
:class:`~.environment.SenderEnvironment`) → every template's ``brand``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEFAULT_PRIMARY_COLOR = "#2563eb"
DEFAULT_BACKGROUND_COLOR = "#f4f5f7"
DEFAULT_TEXT_COLOR = "#1f2933"

ENGINE_VARIABLES = frozenset({"brand", "currentYear", "unsubscribeUrl"})
"""Names only the engine sets in a render context: templates use them without declaring them,
and ``templateData`` cannot supply them (a producer's ``unsubscribeUrl`` would otherwise put
its own link in the footer of transactional mail, which the engine gives none)."""


@dataclass(frozen=True)
class Brand:
    """What the shared layouts and partials show: ``{{ brand.name }}``, ``{{ brand.logoUrl }}``."""

    name: str = ""
    """Company or product name."""
    url: str | None = None
    """Website, linked from the logo and footer."""
    logo_url: str | None = None
    """HTTPS URL of the logo image; the name is shown without one."""
    address: str | None = None
    """Postal address for the footer; bulk mail law asks for one."""
    primary_color: str = DEFAULT_PRIMARY_COLOR
    """Buttons and links."""
    background_color: str = DEFAULT_BACKGROUND_COLOR
    """Page background around the card."""
    text_color: str = DEFAULT_TEXT_COLOR
    """Body text."""

    def as_context(self) -> dict[str, Any]:
        """The ``brand`` variable templates see (camelCase, like the rest of the contract)."""
        return {
            "name": self.name,
            "url": self.url,
            "logoUrl": self.logo_url,
            "address": self.address,
            "primaryColor": self.primary_color,
            "backgroundColor": self.background_color,
            "textColor": self.text_color,
        }


def engine_variables(
    brand: Brand, now: datetime | None = None, unsubscribe_url: str | None = None
) -> dict[str, Any]:
    """The variables the engine adds to every render: ``brand``, ``currentYear`` (computed,
    never typed into a template) and, for marketing mail, ``unsubscribeUrl``."""
    variables: dict[str, Any] = {
        "brand": brand.as_context(),
        "currentYear": (now or datetime.now(UTC)).year,
    }
    if unsubscribe_url:
        variables["unsubscribeUrl"] = unsubscribe_url
    return variables
