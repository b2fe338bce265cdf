"""A cached, lazy boto3 client factory.

Clients are created on first use and reused while the Lambda container lives. Creation is
serialised by a lock (boto3 sessions are not thread-safe; the clients are). Tests call
:func:`reset` instead of patching imports; anything may instrument a client by fetching it
here and registering botocore event handlers on ``client.meta.events``.

Retries are deliberate: botocore's ``standard`` mode retries throttling and transient errors
with jittered back-off, but only briefly (SES one retry, the others two). A longer wait belongs
to SQS: the record goes back to the queue and comes back after the visibility timeout, without
holding the rest of the batch or burning Lambda time.

Importing this module keeps the SDK's loggers at WARNING (:data:`SDK_LOGGERS`), whatever level
the function logs at: every entry point reaches AWS through here, so none can forget it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import boto3
from botocore.config import Config

_TIMEOUTS = {"connect_timeout": 3, "read_timeout": 10, "max_pool_connections": 16}
_CONFIGS = {
    "sesv2": Config(retries={"mode": "standard", "max_attempts": 2}, **_TIMEOUTS),
}
_DEFAULT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, **_TIMEOUTS)

SDK_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")
"""At DEBUG these log every request and response body: the unsubscribe signing key read from
SSM, the one-time codes in a SendEmail's content, recipients' addresses. Lambda sets the root
logger to the function's log level, so a stack debugging at DEBUG would put them all in
CloudWatch Logs; at WARNING they still report retries running out and connection trouble."""


def _quiet_sdk_loggers() -> None:
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


_quiet_sdk_loggers()

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
