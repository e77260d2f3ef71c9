"""Handlers against moto (server mode) and a real Valkey, invoked with API Gateway v2 events."""

from __future__ import annotations

import importlib
import os
import secrets
from typing import Any, Callable

import boto3
import pytest

from bazaar import wiring
from bazaar.resources import CURSOR_KEY_SECRET, secret_name
from tests.support.aws import create_table
from tests.support.events import FakeContext

TABLE = "bazaar-test-table"


@pytest.fixture
def env(aws: str, valkey_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    create_table(boto3.client("dynamodb"), TABLE)
    sm = boto3.client("secretsmanager")
    cursor_secret = sm.create_secret(Name=secret_name("test", CURSOR_KEY_SECRET),
                                     SecretString=secrets.token_hex(32))["ARN"]
    values = {"TABLE_NAME": TABLE, "CACHE_URL": valkey_url, "CURSOR_KEY_SECRET_ID": cursor_secret}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    wiring.reset()
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    yield values
    wiring.reset()


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke(env) -> Invoke:
    """invoke(function_name, event) -> API Gateway v2 result, through the function's real entry point."""

    def _invoke(name: str, event: dict[str, Any]) -> dict[str, Any]:
        module = importlib.import_module(f"functions.{name}.handler")
        return module.handler(event, FakeContext(name))

    return _invoke
