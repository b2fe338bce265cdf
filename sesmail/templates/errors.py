"""The one exception the template tooling raises."""

from __future__ import annotations


class TemplateToolError(RuntimeError):
    """Something the user asked for cannot be done; the message says why."""
