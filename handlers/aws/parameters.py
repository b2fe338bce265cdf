"""The unsubscribe signing key, read from SSM Parameter Store (SecureString) and cached."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.errors import ConfigurationError
from . import clients
from .errors import error_code, translate

KEY_CACHE_SECONDS = 900.0
"""A rotated key reaches warm containers within this time."""


class SigningKey:
    """``get()`` returns the key's bytes, read once per ``KEY_CACHE_SECONDS`` per container."""

    def __init__(
        self,
        parameter_name: str,
        client: Callable[[], Any] = lambda: clients.client("ssm"),
        clock: Callable[[], float] = time.monotonic,
        ttl_seconds: float = KEY_CACHE_SECONDS,
    ):
        self.parameter_name = parameter_name
        self._client = client
        self._clock = clock
        self._ttl_seconds = ttl_seconds
        self._cached: tuple[float, bytes] | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes:
        """Raises Throttled, TransientError, or ConfigurationError if the parameter is missing."""
        with self._lock:
            now = self._clock()
            if self._cached is not None and self._cached[0] > now:
                return self._cached[1]
            try:
                response = self._client().get_parameter(
                    Name=self.parameter_name, WithDecryption=True
                )
            except ClientError as error:
                if error_code(error) == "ParameterNotFound":
                    raise ConfigurationError(
                        f"unsubscribe signing key {self.parameter_name} does not exist"
                    ) from None
                raise translate(error) from error
            except BotoCoreError as error:
                raise translate(error) from error
            key = response["Parameter"]["Value"].encode()
            if len(key) < 32:
                raise ConfigurationError("the unsubscribe signing key is shorter than 32 bytes")
            self._cached = (now + self._ttl_seconds, key)
            return key
