"""Deterministic faults in real AWS calls: what an unreliable AWS would answer, on cue.

A fault fails a share of the calls one service operation gets, with the error the service
would answer (``TooManyRequestsException`` as a 429, ``InternalServerError`` as a 500), through
botocore's event system; nothing in the code under test is patched. Two places to fail:

- ``per="call"`` (the default): the API call as the code sees it fails, after whatever retries
  the SDK would have made (``before-call`` answers with the error): ``rate`` is the share of
  the code's calls that fail, whatever its SDK retry settings.
- ``per="attempt"``: each HTTP attempt fails (``before-send`` answers with the HTTP error
  response, in the protocol's own error format), so the client's retry policy sees it exactly
  as it would see AWS's and absorbs what it can.

Either way botocore raises the operation's modelled ``ClientError`` with that code and status.

A *crash* (:func:`die_after`) raises :class:`InvocationDied` from ``after-call`` once the
service has accepted the call (SES sent the email): the invocation dies before it can act on
the answer, as a Lambda killed by a timeout or an out-of-memory error does.

Faults are seeded: a fault draws one number per matching call from its own
``random.Random(seed)`` and fails the call when the number is below ``rate``. The same run
fails the same calls, as long as the calls come in the same order (concurrent calls, such as
the sender's SES pool, draw in the order they arrive).

Use::

    install(session.events)          # or client.meta.events; once per emitter
    with inject("sesv2", "SendEmail", "TooManyRequestsException", rate=0.3, seed=1) as fault:
        ...
    fault.injected, fault.calls

Handlers get their clients from a cached factory; ``batch.reset(instrumented_session())``
makes them come from a session with the faults installed.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
import botocore.session
from botocore.awsrequest import AWSResponse

# The HTTP status AWS answers each error with; anything else is a 400.
STATUS_CODES = {
    "TooManyRequestsException": 429,
    "InternalServerError": 500,
    "InternalError": 500,
    "InternalFailure": 500,
    "InternalException": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
    "SlowDown": 503,
}


class InvocationDied(BaseException):
    """The invocation ended abruptly (timeout, out of memory, runtime crash). A BaseException:
    no ``except Exception`` in a handler may catch it, as no handler code runs after a crash.
    Local mode treats it as Lambda does: the batch is neither deleted nor returned, so its
    messages come back after the visibility timeout."""


@dataclass
class Fault:
    """One injected fault and what it did so far."""

    service: str
    """The client's service name, as given to ``boto3.client`` (``sesv2``, ``events``)."""
    operation: str
    """The API operation (``SendEmail``, ``TransactWriteItems``)."""
    error_code: str | None
    """The error code AWS would answer with; None for a crash after the call."""
    rate: float
    """The share of matching calls that fail, 0 to 1."""
    seed: int
    window: tuple[float, float] | None = None
    """Seconds after the fault starts between which it is active; always when None."""
    limit: int | None = None
    """Most calls to fail; no limit when None."""
    status_code: int = 400
    stage: str = "call"
    """Where it strikes: ``call``, ``attempt`` or ``crash`` (after a successful call)."""
    clock: Callable[[], float] = time.monotonic
    calls: int = 0
    """Matching calls while the fault was active (one per HTTP attempt for errors)."""
    injected: int = 0
    """Calls it failed."""
    _started: float = field(default=0.0, repr=False)
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ValueError(f"rate must be between 0 and 1, not {self.rate}")
        self._random = random.Random(self.seed)
        self._started = self.clock()

    def strikes(self) -> bool:
        """Whether this call fails (counts it and draws, if the fault is active)."""
        with self._lock:
            if self.window is not None:
                elapsed = self.clock() - self._started
                if not self.window[0] <= elapsed < self.window[1]:
                    return False
            self.calls += 1
            if self.limit is not None and self.injected >= self.limit:
                return False
            if self._random.random() >= self.rate:
                return False
            self.injected += 1
            return True


_active: list[tuple[str, Fault]] = []
"""(hyphenated service id, fault) of every fault in force, in the order they started."""
_active_lock = threading.Lock()
_models = botocore.session.get_session()


def _service_id(service: str) -> str:
    # Event names use the service id (``eventbridge``), not the client name (``events``).
    return _models.get_service_model(service).service_id.hyphenize()


def _matching(event_name: str, stage: str) -> list[Fault]:
    _, service_id, operation = event_name.split(".", 2)
    with _active_lock:
        return [
            fault
            for sid, fault in _active
            if sid == service_id and fault.operation == operation and fault.stage == stage
        ]


def _before_call(event_name: str, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    for fault in _matching(event_name, "call"):
        if fault.strikes():
            return _error_response(fault, "https://injected.invalid/"), _parsed_error(fault)
    return None


def _before_send(event_name: str, request: Any, **_: Any) -> AWSResponse | None:
    for fault in _matching(event_name, "attempt"):
        if fault.strikes():
            return _error_response(fault, request.url)
    return None


def _after_call(event_name: str, http_response: Any, **_: Any) -> None:
    if http_response.status_code >= 300:
        return  # the service refused the call: nothing happened that a crash could follow
    for fault in _matching(event_name, "crash"):
        if fault.strikes():
            raise InvocationDied(f"{fault.service}.{fault.operation} returned; the invocation died")


def install(events: Any) -> None:
    """Let faults reach the calls of ``events``: a client's ``meta.events`` or a boto3
    session's ``events`` (reaching every client created from the session afterwards).
    Idempotent."""
    events.register("before-call", _before_call, unique_id="sesmail-local-faults-before")
    events.register("before-send", _before_send, unique_id="sesmail-local-faults-send")
    events.register("after-call", _after_call, unique_id="sesmail-local-faults-call")


def instrumented_session(**kwargs: Any) -> boto3.session.Session:
    """A new boto3 session whose clients faults reach."""
    session = boto3.session.Session(**kwargs)
    install(session.events)
    return session


@contextmanager
def _in_force(fault: Fault) -> Iterator[Fault]:
    entry = (_service_id(fault.service), fault)
    with _active_lock:
        _active.append(entry)
    try:
        yield fault
    finally:
        with _active_lock:
            _active.remove(entry)


def inject(
    service: str,
    operation: str,
    error_code: str,
    rate: float,
    seed: int,
    window: tuple[float, float] | None = None,
    *,
    per: Literal["call", "attempt"] = "call",
    status_code: int | None = None,
    limit: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AbstractContextManager[Fault]:
    """While the block runs, ``rate`` of the ``service`` ``operation`` calls (of installed
    emitters) fail with ``error_code``, ``per`` call or HTTP attempt: a context manager
    yielding the :class:`Fault`."""
    fault = Fault(
        service,
        operation,
        error_code,
        rate,
        seed,
        window,
        limit,
        status_code or STATUS_CODES.get(error_code, 400),
        per,
        clock,
    )
    return _in_force(fault)


def die_after(
    service: str,
    operation: str,
    rate: float,
    seed: int,
    window: tuple[float, float] | None = None,
    *,
    limit: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AbstractContextManager[Fault]:
    """While the block runs, ``rate`` of the successful ``service`` ``operation`` calls raise
    :class:`InvocationDied` once the service has answered: a context manager yielding the
    :class:`Fault`."""
    return _in_force(
        Fault(service, operation, None, rate, seed, window, limit, 200, "crash", clock)
    )


class _Body:
    """The raw stream botocore reads a response body from."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def _error_response(fault: Fault, url: str) -> AWSResponse:
    code, message = fault.error_code or "", _message(fault)
    protocol = _models.get_service_model(fault.service).protocol
    headers = {"x-amzn-RequestId": "injected-fault"}
    if protocol in ("json", "rest-json"):
        headers |= {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.0"}
        body = json.dumps({"__type": code, "message": message}).encode()
    elif protocol == "rest-xml":
        headers["Content-Type"] = "application/xml"
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    elif protocol in ("query", "ec2"):
        headers["Content-Type"] = "text/xml"
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></ErrorResponse>"
        ).encode()
    else:
        raise NotImplementedError(f"faults for the {protocol} protocol")
    return AWSResponse(url, fault.status_code, headers, _Body(body))


def _parsed_error(fault: Fault) -> dict[str, Any]:
    """The error as botocore's parsers return it."""
    return {
        "Error": {"Code": fault.error_code, "Message": _message(fault)},
        "ResponseMetadata": {
            "RequestId": "injected-fault",
            "HTTPStatusCode": fault.status_code,
            "HTTPHeaders": {},
            "RetryAttempts": 0,
        },
    }


def _message(fault: Fault) -> str:
    return f"injected fault ({fault.service} {fault.operation})"
