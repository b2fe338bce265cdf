"""Brand settings: stack config → the sender's environment → every template's ``brand``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEFAULT_PRIMARY_COLOR = "#2563eb"
DEFAULT_BACKGROUND_COLOR = "#f4f5f7"
DEFAULT_TEXT_COLOR = "#1f2933"


@dataclass(frozen=True)
class Brand:
    """What the shared layouts and partials show: ``{{ brand.name }}``, ``{{ brand.logoUrl }}``."""

    name: str = ""
    """Company or product name (``BRAND_NAME``)."""
    url: str | None = None
    """Website, linked from the logo and footer (``BRAND_URL``)."""
    logo_url: str | None = None
    """HTTPS URL of the logo image (``BRAND_LOGO_URL``); the name is shown without one."""
    address: str | None = None
    """Postal address for the footer (``BRAND_ADDRESS``); bulk mail law asks for one."""
    primary_color: str = DEFAULT_PRIMARY_COLOR
    """Buttons and links (``BRAND_PRIMARY_COLOR``)."""
    background_color: str = DEFAULT_BACKGROUND_COLOR
    """Page background around the card (``BRAND_BACKGROUND_COLOR``)."""
    text_color: str = DEFAULT_TEXT_COLOR
    """Body text (``BRAND_TEXT_COLOR``)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Brand:
        return cls(
            name=env.get("BRAND_NAME") or "",
            url=env.get("BRAND_URL") or None,
            logo_url=env.get("BRAND_LOGO_URL") or None,
            address=env.get("BRAND_ADDRESS") or None,
            primary_color=env.get("BRAND_PRIMARY_COLOR") or DEFAULT_PRIMARY_COLOR,
            background_color=env.get("BRAND_BACKGROUND_COLOR") or DEFAULT_BACKGROUND_COLOR,
            text_color=env.get("BRAND_TEXT_COLOR") or DEFAULT_TEXT_COLOR,
        )

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
