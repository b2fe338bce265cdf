"""Fixtures for the handler tests (defined in ``sender_support`` so tests can import helpers)."""

from sender_support import aws, environment, invoke

__all__ = ["aws", "environment", "invoke"]
