"""Fixtures for local mode (defined in ``local_support`` so tests can import helpers)."""

from local_support import local, status_events

__all__ = ["local", "status_events"]
