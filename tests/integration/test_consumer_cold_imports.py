"""A consumer's cold start (its handler imported in a fresh interpreter, then its first invocation with a real
event against moto and Valkey) loads neither boto3 nor Powertools' batch utility (nor its parser models), nor
pydantic (events are validated by compiled validators). ``make bench`` measures what that is worth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest

from bazaar import wiring
from bazaar.domain.payments import signature_header
from tests.integration.conftest import TABLE, invoke_handler
from tests.integration.orders_api import CUSTOMER, OrdersApi, outbox_messages, orders_environment, sqs_event
from tests.integration.test_consumers import outbox_records, stream_event
from tests.support.events import http_event

REPO = Path(__file__).resolve().parents[2]
NEVER_ANY = ("boto3", "s3transfer", "pydantic")  # no function: its own SDK session, the models
NEVER = (*NEVER_ANY, "aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.parser",
         "aws_lambda_powertools.utilities.data_classes", "bazaar.schemas.orders")

CHILD = """
import json, sys
from tests.support.events import FakeContext
name, event = sys.argv[1], json.loads(sys.stdin.read())
before = set(sys.modules)
from importlib import import_module
handler = import_module(f"functions.{name}.handler").handler
result = handler(event, FakeContext(name))
from bazaar.schemas import compiled
built = sorted(ref for ref, m in compiled._models.items() if "_validator" in vars(m))  # validators used
print(json.dumps({"result": result, "modules": sorted(set(sys.modules) - before), "built": built}))
"""


@pytest.fixture(scope="module")
def shop(moto_url: str, valkey_server) -> Iterator[OrdersApi]:
    with orders_environment(moto_url, f"redis://{valkey_server.host}:{valkey_server.port}/0") as values:
        topic = boto3.client("sns").create_topic(Name="bazaar-test-cold-events")["TopicArn"]
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("EVENTS_TOPIC_ARN", topic)
            wiring.reset()
            api = OrdersApi(invoke_handler, values["webhook_secret"])
            yield api


def cold_start(name: str, event: dict[str, Any], never: tuple[str, ...] = NEVER) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "shared"), str(REPO)]),
               AWS_LAMBDA_FUNCTION_NAME=name)
    out = subprocess.run([sys.executable, "-c", CHILD, name], input=json.dumps(event), env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    loaded = set(got["modules"])
    assert "botocore" in loaded  # it did call AWS
    assert not {m for m in loaded for n in never if m == n or m.startswith(n + ".")}, name
    return got


def one_message(order_id: str, event_type: str) -> dict[str, Any]:
    [message] = [m for m in outbox_messages(TABLE, order_id) if m["type"] == event_type]
    return message


def test_publish_events(shop: OrdersApi) -> None:
    shop.new_product()
    got = cold_start("publish_events", stream_event(outbox_records(TABLE)[-1:]))
    assert got["result"] == {"batchItemFailures": []}


def test_invalidate_cache_builds_no_order_validator_for_a_product_event(shop: OrdersApi) -> None:
    product = shop.new_product()
    assert shop.patch(product["product_id"], {"stock": 3}).status == 200
    got = cold_start("invalidate_cache", sqs_event(one_message(product["product_id"], "ProductUpdated")))
    assert got["result"] == {"batchItemFailures": []}
    assert got["built"] == ["bazaar.schemas.events:EventMessage"]  # not the order payload's


def test_process_payments(shop: OrdersApi) -> None:
    order = shop.order_now(shop.new_product()["product_id"], method="pm_async")
    got = cold_start("process_payments", sqs_event(one_message(order["order_id"], "OrderCreated")))
    assert got["result"] == {"batchItemFailures": []}
    assert got["built"] == ["bazaar.schemas.events:EventMessage"]  # the refund payload's only at a refund


def test_send_notifications(shop: OrdersApi) -> None:
    order = shop.order_now(shop.new_product()["product_id"], method="pm_async")
    assert shop.cancel(order["order_id"], who=CUSTOMER).status == 200
    got = cold_start("send_notifications", sqs_event(one_message(order["order_id"], "OrderCancelled")))
    assert got["result"] == {"batchItemFailures": []}
    assert got["built"] == ["bazaar.schemas.events:EventMessage", "bazaar.schemas.order_events:OrderEventData"]


def test_payment_webhook_idempotency_without_boto3(shop: OrdersApi) -> None:
    """Its routing (the request resolver) is not a consumer's; its exactly-once records are."""
    order = shop.order_now(shop.new_product()["product_id"], method="pm_async")
    raw = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "type": "payment.succeeded",
                      "order_id": order["order_id"]})
    header = signature_header(shop.webhook_secret.encode(), int(time.time()), raw.encode())
    got = cold_start("payment_webhook", http_event("POST", "/payments/webhook", body=raw,
                                                   headers={"bazaar-signature": header}), never=NEVER_ANY)
    assert got["result"]["statusCode"] == 200, got["result"]
