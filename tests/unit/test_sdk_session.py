"""One botocore session per container (bazaar.adapters.sdk): the adapters' clients and pynamodb's connections
come from it, and clients can be created from it in parallel threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pynamodb.connection import Connection

from bazaar.adapters import sdk
from bazaar.adapters.dynamo.models import OrderItem, ProductItem, SimulatedPaymentItem, bind


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    sdk.clear()
    yield
    sdk.clear()


def test_pynamodb_connections_take_the_container_session() -> None:
    bind("t")
    sessions = {id(model._get_connection().connection.session)  # type: ignore[attr-defined]
                for model in (ProductItem, OrderItem, SimulatedPaymentItem)}
    sessions.add(id(Connection(region="eu-west-1").session))  # a repository's own (transactions)
    assert sessions == {id(sdk.session())}


def test_clients_of_the_one_session_are_distinct_and_may_be_created_in_parallel() -> None:
    made: list[Any] = []
    errors: list[BaseException] = []

    def make(service: str) -> None:
        try:
            made.append(sdk.client(service, region_name="eu-west-1"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(s,)) for s in ("dynamodb", "sns", "sesv2", "cognito-idp") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len({id(c) for c in made}) == 12
    assert {c.meta.service_model.service_name for c in made} == {"dynamodb", "sns", "sesv2", "cognito-idp"}


def test_clear_starts_a_new_session() -> None:
    first = sdk.session()
    assert sdk.session() is first
    sdk.clear()
    assert sdk.session() is not first
