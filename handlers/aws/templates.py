"""Templates from S3 (``templates/{name}/...``), compiled once and cached in memory.

The cache holds *compiled* templates for ``TEMPLATE_CACHE_TTL_SECONDS``; after that the next
request reads S3 again, so an uploaded change reaches every container within the TTL without a
deployment. Unknown templates are not cached (a template uploaded a moment ago must work).

Shared files (``templates/_layouts/...``, ``templates/_partials/...``) are read through the
same bucket by the Jinja loader of :mod:`..core.compiling`, with the same TTL: a changed layout
reaches every template that extends it within the TTL, without recompiling them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.errors import NotFound, TemplateInvalid
from . import clients
from .errors import error_code, translate

if TYPE_CHECKING:
    from ..core.compiling import CompiledTemplate, TemplateEnvironments

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# Without s3:ListBucket, S3 answers 403 for a key that does not exist.
_DENIED_CODES = frozenset({"AccessDenied", "403"})


class TemplateStore:
    def __init__(
        self,
        bucket: str,
        ttl_seconds: float,
        client: Callable[[], Any] = lambda: clients.client("s3"),
        clock: Callable[[], float] | None = None,
    ):
        self.bucket = bucket
        self.ttl_seconds = ttl_seconds
        self._client = client
        self._clock = clock or _now
        self._cache: dict[str, tuple[float, CompiledTemplate]] = {}
        self._lock = threading.Lock()
        self._environments: TemplateEnvironments | None = None

    def get(self, name: str) -> CompiledTemplate:
        """The compiled template, or NotFound, TemplateInvalid, Throttled, TransientError."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        compiled = self._load(name)
        with self._lock:
            self._cache[name] = (now + self.ttl_seconds, compiled)
        return compiled

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._environments = None

    def _load(self, name: str) -> CompiledTemplate:
        if name.startswith("_"):
            raise NotFound(f"template not found: {name} (folders starting with '_' are shared)")
        html = self._read(name, "template.html")
        metadata = self._read(name, "metadata.json")
        text = self._read(name, "template.txt", required=False)
        from ..core.compiling import compile_template  # cache misses only

        return compile_template(name, html or "", text, metadata or "", self._jinja())

    def _jinja(self) -> TemplateEnvironments:
        if self._environments is None:
            from ..core.compiling import SharedFileLoader, TemplateEnvironments

            loader = SharedFileLoader(self._read_shared, self.ttl_seconds, self._clock)
            self._environments = TemplateEnvironments(loader)
        return self._environments

    def _read_shared(self, path: str) -> str | None:
        """A shared file's source, None if it does not exist; Throttled/TransientError else."""
        try:
            response = self._client().get_object(Bucket=self.bucket, Key=f"templates/{path}")
            body = response["Body"].read()
        except ClientError as error:
            code = error_code(error)
            if code in _MISSING_CODES or code in _DENIED_CODES:
                return None
            raise translate(error) from error
        except BotoCoreError as error:
            raise translate(error) from error
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise TemplateInvalid(f"{path} is not UTF-8") from None

    def _read(self, name: str, file: str, required: bool = True) -> str | None:
        try:
            response = self._client().get_object(Bucket=self.bucket, Key=f"templates/{name}/{file}")
            body = response["Body"].read()
        except ClientError as error:
            code = error_code(error)
            if code not in _MISSING_CODES and code not in _DENIED_CODES:
                raise translate(error) from error
            if not required:
                return None  # template.html was readable, so a 403 here means "no such key"
            if file != "template.html":
                raise TemplateInvalid(f"{file} is missing") from None
            hint = "" if code in _MISSING_CODES else " (S3 AccessDenied: missing or unreadable)"
            raise NotFound(f"template not found: {name}{hint}") from None
        except BotoCoreError as error:
            raise translate(error) from error
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise TemplateInvalid(f"{file} is not UTF-8") from None


def _now() -> float:
    # Looked up at call time, so tests can move the clock (``handlers.aws.templates.monotonic``).
    return monotonic()
