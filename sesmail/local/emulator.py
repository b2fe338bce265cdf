"""The embedded AWS emulator: moto's threaded server on a free loopback port."""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import alarms, in_process, moto_extensions, ses_extensions

# Local mode talks only to the emulator: these replace any real credentials in the process.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_SECURITY_TOKEN": "local",
}
REGION = "us-east-1"  # moto's default account lives here, as does the mock graph's ARNs.


class Emulator:
    """Starts moto's server, and points every boto3 client of this process at it; the
    clients it makes answer in this process, without the server (`session()`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        ses_extensions.install()
        moto_extensions.install()
        alarms.install()
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.endpoint = ""
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._shared_session: Any = None
        self._own_session: Any = None

    def start(self) -> str:
        # The server's request log would drown what local mode prints.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # moto's state lives in this process, not in the server: start from a clean account.
        urllib.request.urlopen(
            urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        ).close()
        ses_extensions.take_sent_requests()
        alarms.take_transitions()
        moto_extensions.forget_visibility_changes()
        with self._clients_lock:
            self._clients.clear()
            self._shared_session = self._own_session = None
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()

    def environment(self) -> dict[str, str]:
        """What a process (or an SDK, or the AWS CLI) needs to use this emulator."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def session(self) -> Any:
        """A new boto3 session whose clients answer their calls to this emulator in this
        process (:mod:`in_process`): what the handlers' clients come from. Its clients reach
        the emulator without an endpoint of their own while `environment()` is in force."""
        import boto3

        session = boto3.session.Session()
        in_process.route(session.events, self.endpoint)
        return session

    def client(self, service: str) -> Any:
        """A new client of the emulator, the caller's own (its event hooks are its own)."""
        with self._clients_lock:  # boto3 sessions are not thread-safe; their clients are
            self._own_session = self._own_session or self.session()
            return self._own_session.client(service, **self._client_settings())

    def shared_client(self, service: str) -> Any:
        """One client per service for local mode's own calls: made once (loading a service
        model is the slow part of a call) and shared, as boto3 clients may be, by threads."""
        with self._clients_lock:
            client = self._clients.get(service)
            if client is None:
                self._shared_session = self._shared_session or self.session()
                client = self._clients[service] = self._shared_session.client(
                    service, **self._client_settings()
                )
            return client

    def _client_settings(self) -> dict[str, Any]:
        import botocore.config

        return {
            "endpoint_url": self.endpoint,
            "region_name": REGION,
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
            # Enough connections for every sender instance the runtime runs at once.
            "config": botocore.config.Config(max_pool_connections=50),
        }


@contextmanager
def running_emulator(host: str = "127.0.0.1", port: int = 0) -> Iterator[Emulator]:
    """An emulator for the duration of the block."""
    emulator = Emulator(host, port)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
