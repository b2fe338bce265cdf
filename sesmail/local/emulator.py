"""The embedded AWS emulator: moto's threaded server on a free loopback port."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import ses_extensions

# Local mode talks only to the emulator: these replace any real credentials in the process.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_SECURITY_TOKEN": "local",
}
REGION = "us-east-1"  # moto's default account lives here, as does the mock graph's ARNs.


class Emulator:
    """Starts moto's server, and points every boto3 client of this process at it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        ses_extensions.install()
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.endpoint = ""

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

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )


@contextmanager
def running_emulator(host: str = "127.0.0.1", port: int = 0) -> Iterator[Emulator]:
    """An emulator for the duration of the block."""
    emulator = Emulator(host, port)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
