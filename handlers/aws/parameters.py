"""The unsubscribe signing keys, read from SSM Parameter Store (SecureString) and cached.

The sender reads the current key (:class:`SigningKey`); the endpoint reads the current and the
previous one (:class:`SigningKeys`), so links signed before a rotation keep verifying.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.errors import ConfigurationError
from ..core.unsubscribe_tokens import NO_PREVIOUS_KEY, Keyring
from . import clients
from .errors import error_code, translate

KEY_CACHE_SECONDS = 900.0
"""A rotated key reaches warm containers within this time."""
UNKNOWN_KEY_REFRESH_SECONDS = 60.0
"""A token naming a key the endpoint does not hold makes it re-read its keys, at most this
often per container: a link signed with a just-rotated key works at once, and a flood of
made-up key ids costs one read a minute."""
MIN_KEY_BYTES = 32

Client = Callable[[], Any]
Clock = Callable[[], float]


class _Parameter:
    """One SecureString's text, read at most once per ``ttl_seconds`` unless asked afresh."""

    def __init__(self, name: str, client: Client, clock: Clock, ttl_seconds: float):
        self.name = name
        self._client = client
        self._clock = clock
        self._ttl_seconds = ttl_seconds
        self._cached: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def read(self, *, fresh: bool = False) -> str:
        """Raises Throttled, TransientError, or ConfigurationError if the parameter is missing."""
        with self._lock:
            now = self._clock()
            if not fresh and self._cached is not None and self._cached[0] > now:
                return self._cached[1]
            try:
                response = self._client().get_parameter(Name=self.name, WithDecryption=True)
            except ClientError as error:
                if error_code(error) == "ParameterNotFound":
                    raise ConfigurationError(
                        f"unsubscribe signing key {self.name} does not exist"
                    ) from None
                raise translate(error) from error
            except BotoCoreError as error:
                raise translate(error) from error
            value = str(response["Parameter"]["Value"])
            self._cached = (now + self._ttl_seconds, value)
            return value


def _key(value: str) -> bytes:
    key = value.encode()
    if len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"the unsubscribe signing key is shorter than {MIN_KEY_BYTES} bytes"
        )
    return key


class SigningKey:
    """``get()`` returns the current key's bytes, read once per ``KEY_CACHE_SECONDS`` per
    container."""

    def __init__(
        self,
        parameter_name: str,
        client: Client = lambda: clients.client("ssm"),
        clock: Clock = time.monotonic,
        ttl_seconds: float = KEY_CACHE_SECONDS,
    ):
        self.parameter_name = parameter_name
        self._parameter = _Parameter(parameter_name, client, clock, ttl_seconds)

    def get(self, *, fresh: bool = False) -> bytes:
        """Raises Throttled, TransientError, or ConfigurationError (missing or short key)."""
        return _key(self._parameter.read(fresh=fresh))


class SigningKeys:
    """``get(key_id)`` returns the :class:`Keyring` of the current key and the previous one
    (absent while its parameter holds ``NO_PREVIOUS_KEY``, or without a previous parameter)."""

    def __init__(
        self,
        current_parameter: str,
        previous_parameter: str | None,
        client: Client = lambda: clients.client("ssm"),
        clock: Clock = time.monotonic,
        ttl_seconds: float = KEY_CACHE_SECONDS,
        refresh_seconds: float = UNKNOWN_KEY_REFRESH_SECONDS,
    ):
        self._current = SigningKey(current_parameter, client, clock, ttl_seconds)
        self._previous = (
            _Parameter(previous_parameter, client, clock, ttl_seconds)
            if previous_parameter
            else None
        )
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._next_refresh = float("-inf")
        self._lock = threading.Lock()

    def get(self, key_id: str | None = None) -> Keyring:
        """The cached keys; re-read first when they do not include ``key_id`` (rate-limited)."""
        keyring = self._keyring(fresh=False)
        if keyring.knows(key_id):
            return keyring
        with self._lock:
            now = self._clock()
            if now < self._next_refresh:
                return keyring
            self._next_refresh = now + self._refresh_seconds
        return self._keyring(fresh=True)

    def _keyring(self, *, fresh: bool) -> Keyring:
        current = self._current.get(fresh=fresh)
        if self._previous is None:
            return Keyring(current)
        previous = self._previous.read(fresh=fresh)
        return Keyring(current, None if previous == NO_PREVIOUS_KEY else _key(previous))
