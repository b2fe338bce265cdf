"""A cached, lazy boto3 client factory.

Clients are created on first use and reused while the Lambda container lives. Creation is
serialised by a lock (boto3 sessions are not thread-safe; the clients are). Tests call
:func:`reset` instead of patching imports; anything may instrument a client by fetching it
here and registering botocore event handlers on ``client.meta.events``.

Retries are deliberate: botocore's ``standard`` mode retries throttling and transient errors
with jittered back-off, but only briefly (SES one retry, the others two). A longer wait belongs
to SQS: the record goes back to the queue and comes back after the visibility timeout, without
holding the rest of the batch or burning Lambda time.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

_TIMEOUTS = {"connect_timeout": 3, "read_timeout": 10, "max_pool_connections": 16}
_CONFIGS = {
    "sesv2": Config(retries={"mode": "standard", "max_attempts": 2}, **_TIMEOUTS),
}
_DEFAULT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, **_TIMEOUTS)

_lock = threading.Lock()
_session: boto3.session.Session | None = None
_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    """The shared client for ``service`` (``dynamodb``, ``s3``, ``sesv2``, ``events``)."""
    found = _clients.get(service)
    if found is not None:
        return found
    global _session
    with _lock:
        found = _clients.get(service)
        if found is None:
            if _session is None:
                _session = boto3.session.Session()
            found = _session.client(service, config=_CONFIGS.get(service, _DEFAULT_CONFIG))
            _clients[service] = found
        return found


def reset(session: boto3.session.Session | None = None) -> None:
    """Forget every client; the next ones come from ``session`` (tests pass a shared one so
    botocore loads each service model once), else from a new default session."""
    global _session
    with _lock:
        _clients.clear()
        _session = session
