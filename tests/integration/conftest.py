"""Handlers against moto (server mode) and a real Valkey, invoked with API Gateway v2 events."""

from __future__ import annotations

import importlib
import secrets
from typing import TYPE_CHECKING, Any, Callable, Iterator

import boto3
import pytest

from bazaar import wiring
from bazaar.resources import CURSOR_KEY_SECRET, WEBHOOK_SECRET, secret_name
from tests.support.aws import create_table
from tests.support.events import FakeContext

if TYPE_CHECKING:
    from tests.integration.api import Api

TABLE = "bazaar-test-table"


def provision(mp: pytest.MonkeyPatch, cache_url: str) -> dict[str, str]:
    """The table and the cursor-key secret on the (freshly reset) moto server, and their variables in the env."""
    create_table(boto3.client("dynamodb"), TABLE)
    sm = boto3.client("secretsmanager")
    cursor_secret = sm.create_secret(Name=secret_name("test", CURSOR_KEY_SECRET),
                                     SecretString=secrets.token_hex(32))["ARN"]
    webhook_secret = sm.create_secret(Name=secret_name("test", WEBHOOK_SECRET),
                                      SecretString="whsec_" + secrets.token_hex(16))["ARN"]
    values = {"TABLE_NAME": TABLE, "CACHE_URL": cache_url,
              "CURSOR_KEY_SECRET_ID": cursor_secret, "WEBHOOK_SECRET_ID": webhook_secret}
    for k, v in values.items():
        mp.setenv(k, v)
    wiring.reset()  # adapters and the secrets cached per container (bazaar.adapters.secrets) included
    return values


@pytest.fixture
def env(aws: str, valkey_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    yield provision(monkeypatch, valkey_url)
    wiring.reset()


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke(env) -> Invoke:
    """invoke(function_name, event) -> API Gateway v2 result, through the function's real entry point."""
    return invoke_handler


def invoke_handler(name: str, event: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(f"functions.{name}.handler")
    return module.handler(event, FakeContext(name))


def pytest_configure(config: pytest.Config) -> None:
    # Routes that publish no custom metric are normal; bazaar.observability silences this in Lambda, but pytest
    # resets warning filters per test.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


@pytest.fixture
def api(invoke: Invoke) -> "Api":
    from tests.integration.api import Api

    return Api(invoke)


def scan_table(table_name: str = TABLE) -> list[dict[str, Any]]:
    """Every item in the table, in a stable order (to assert that a rejected request changed nothing)."""
    ddb = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    kw: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture
def table_items(env: dict[str, str]) -> Callable[[], list[dict[str, Any]]]:
    return scan_table


class LogCapture:
    """What the functions' logger writes (the stream of its Powertools handler), one JSON object per line."""

    def __init__(self) -> None:
        import io

        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate(0)

    def records(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def audit(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("audit") is True]


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    from bazaar.observability import logger

    capture = LogCapture()
    handler = logger.registered_handler
    previous = handler.setStream(capture.stream)
    try:
        yield capture
    finally:
        handler.setStream(previous)


@pytest.fixture
def dead_cache_url() -> Iterator[str]:
    """A cache URL where connections are refused: the port is bound but never listened on, and held for the whole
    test, so no other process on the machine can start listening there meanwhile."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{s.getsockname()[1]}/0"
