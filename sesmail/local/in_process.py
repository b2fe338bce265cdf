"""Local mode's own AWS calls answered in this process: no socket, no HTTP server between.

The emulator's server and moto's backends live in this process. A call from the handlers (or
the runtime) to the server went through urllib3, a socket, werkzeug, Flask and moto's service
routing to reach the moto response handler that answers it, and back: as much CPU as the
answer itself. A routed client hands botocore's prepared request straight to that response
handler, as `moto.mock_aws` does, and gets botocore's response back. Everything a real call
does before and after the HTTP exchange still happens: serialising, signing, the
``before-call``/``before-send``/``after-call`` hooks (where :mod:`sesmail.local.faults`
strikes), retries, parsing. Only requests to the emulator's own endpoint take this route; the
server keeps answering every other client (the ``sesmail`` CLI, the AWS CLI, another process).

Use ``route(session.events, endpoint)`` on a boto3 session before it creates clients.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError
from moto import backends
from moto.backend_index import backend_url_patterns
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.base_backend import BackendDict
from moto.core.botocore_stubber import MockRawResponse
from moto.core.request import Request
from moto.moto_api import recorder
from werkzeug.exceptions import HTTPException

REGION = "us-east-1"

_Answer = Callable[[Any, str, Any], Any]


def route(events: Any, endpoint: str) -> None:
    """Clients that the session of `events` creates afterwards answer their requests to
    `endpoint` in this process (idempotent)."""
    events.register(
        "creating-client-class",
        functools.partial(_add_routing, endpoint=endpoint.rstrip("/")),
        unique_id="sesmail-local-in-process",
    )


def _add_routing(base_classes: list[type], endpoint: str, **_: Any) -> None:
    base_classes.insert(0, _routed_client_class(endpoint))


@functools.cache
def _routed_client_class(endpoint: str) -> type:
    class RoutedClient:
        """Swaps the client's HTTP session for one that answers the emulator's requests."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[call-arg]
            http_endpoint = self._endpoint  # type: ignore[attr-defined]
            prefix = self.meta.service_model.endpoint_prefix  # type: ignore[attr-defined]
            http_endpoint.http_session = InProcessHttp(http_endpoint.http_session, prefix, endpoint)

    return RoutedClient


class InProcessHttp:
    """The HTTP session of a routed client: requests to `endpoint` are answered by moto's
    response handler for them, the rest go out over `http`."""

    def __init__(self, http: Any, endpoint_prefix: str, endpoint: str) -> None:
        self._http = http
        self._prefix = endpoint_prefix
        self._endpoint = endpoint

    def send(self, request: AWSPreparedRequest) -> AWSResponse:
        url = request.url
        if not url.startswith(self._endpoint + "/") and url != self._endpoint:
            return self._http.send(request)
        answer = answer_for(self._prefix, urlsplit(url).path or "/")
        if answer is None:
            return self._http.send(request)
        return AWSResponse(url, *_answer(answer, request))

    def close(self) -> None:
        self._http.close()


def _answer(answer: _Answer, request: AWSPreparedRequest) -> tuple[int, Any, MockRawResponse]:
    """What the server would have answered: moto's errors as their HTTP responses, and
    anything else that went wrong as a 500, as the server would, not as an exception."""
    moto_request = Request.from_primitives(
        request.method, request.url, request.headers, request.body
    )
    try:
        recorder._record_request(moto_request)
        status, headers, body = answer(moto_request, moto_request.raw_url, moto_request.headers)
    except HTTPException as error:  # moto's own service errors
        status, headers, body = error.code, error.get_headers(), error.get_body()  # type: ignore[assignment]
    except ClientError as error:
        status, headers, body = 400, {}, error.response["Error"]["Message"]
    except Exception:
        logging.getLogger(__name__).exception("the emulator failed on %s", request.url)
        status, headers, body = 500, {}, "Internal Server Error"
    return status, headers, MockRawResponse(body)


@functools.lru_cache(maxsize=4096)
def answer_for(endpoint_prefix: str, path: str) -> _Answer | None:
    """moto's response handler for a request path to the service of `endpoint_prefix`, found
    the way `moto.mock_aws` finds it: by the URL the request would have on AWS."""
    aws_url = f"https://{endpoint_prefix}.{REGION}.amazonaws.com{path}"
    for service, pattern in backend_url_patterns:
        if pattern.match(aws_url):
            for url, answer in _urls(service):
                if url.match(aws_url):
                    return answer
    return None


@functools.cache
def _urls(service: str) -> tuple[tuple[re.Pattern[str], _Answer], ...]:
    """A service's URL patterns and their response handlers (the same in every account)."""
    backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
    if isinstance(backend_dict, BackendDict):
        regions = backend_dict[DEFAULT_ACCOUNT_ID]
        backend = regions[REGION] if REGION in regions else regions["aws"]
    else:
        backend = backend_dict["global"]
    return tuple((re.compile(url), answer) for url, answer in backend.urls.items())
