"""The order, payment and notification functions through their real entry points (API Gateway v2 events, SQS
records), against the moto server: builders and a provisioned environment shared by the order test modules."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator, Optional

import boto3
import pytest

from bazaar import consumers, wiring
from bazaar.adapters.dynamo.models import SIMULATED_PROVIDER_PARTITION
from bazaar.domain.payments import signature_header
from bazaar.resources import WEBHOOK_SECRET, secret_name
from tests.support import aws
from tests.support.aws import dynamodb_requests  # noqa: F401  (re-exported for the order tests)
from tests.integration.api import Api, Result
from tests.support.events import FakeContext, claims, http_event

@lru_cache(maxsize=None)
def client(service: str) -> Any:
    """One SDK client per service for the test session (creating one costs ~0.1 s; the endpoint never changes)."""
    return boto3.client(service)


CUSTOMER = claims("customer-1", "customer")
CUSTOMER_2 = claims("customer-2", "customer")
ADMIN = claims("admin-1", "admin")
SELLER = claims("seller-1", "seller")
SENDER = "orders@test.bazaar.example"


@contextmanager
def orders_environment(moto_url: str, cache_url: str) -> Iterator[dict[str, str]]:
    """A freshly reset moto with everything the order functions need, for a whole test module: provisioning and
    SDK client creation dominate these tests' time, so each module pays them once. Tests share the table and
    keep to their own products, orders and keys."""
    import urllib.request

    from tests.integration.conftest import provision

    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    with pytest.MonkeyPatch.context() as mp:
        values = provision(mp, cache_url)
        values.update(provision_orders(mp, values["TABLE_NAME"]))
        yield values
        wiring.reset()
        consumers.reset()


def provision_orders(monkeypatch: pytest.MonkeyPatch, table: str) -> dict[str, str]:
    """What the order functions need beyond the catalog's table: the webhook secret, a user pool whose users have
    e-mail addresses, and the SES sender identity."""
    secret = "whsec_" + uuid.uuid4().hex
    sm = client("secretsmanager")
    arn = sm.describe_secret(SecretId=secret_name("test", WEBHOOK_SECRET))["ARN"]  # created by provision()
    sm.put_secret_value(SecretId=arn, SecretString=secret)
    idp = client("cognito-idp")
    pool = idp.create_user_pool(PoolName="bazaar-test-users")["UserPool"]["Id"]
    client("sesv2").create_email_identity(EmailIdentity=SENDER)
    values = {"WEBHOOK_SECRET_ID": arn, "PAYMENT_PROVIDER_TABLE": table, "USER_POOL_ID": pool,
              "MAIL_SENDER": SENDER}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    wiring.reset()
    consumers.reset()  # wiring.reset() forgot the secrets cached per container too
    return {**values, "webhook_secret": secret}


def add_user(pool: str, username: str, email: Optional[str]) -> str:
    """A user in the pool (with this address, or none); returns its sub."""
    idp = client("cognito-idp")
    attrs = [{"Name": "email", "Value": email}] if email else []
    user = idp.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS",
                                 UserAttributes=attrs)["User"]
    return next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")


class OrdersApi(Api):
    def __init__(self, invoke: Any, webhook_secret: str) -> None:
        super().__init__(invoke)
        self.webhook_secret = webhook_secret

    # --- routes -----------------------------------------------------------------------------------------------
    def place(self, items: list[dict[str, Any]], method: str = "pm_card_ok", who: Optional[dict] = CUSTOMER,
              key: Optional[str] = "", body: Any = None, headers: Optional[dict] = None) -> Result:
        """``key=""``: a fresh Idempotency-Key; ``None``: no header."""
        hdrs = dict(headers or {})
        if key is not None:
            hdrs["Idempotency-Key"] = key or uuid.uuid4().hex
        payload = {"items": items, "payment_method": method} if body is None else body
        return self.call("create_order", http_event("POST", "/orders", body=payload, claims=who, headers=hdrs))

    def get_order(self, order_id: str, who: Optional[dict] = CUSTOMER) -> Result:
        return self.call("get_order", http_event("GET", f"/orders/{order_id}", route_key="GET /orders/{order_id}",
                                                 path_parameters={"order_id": order_id}, claims=who))

    def list_orders(self, query: str = "", who: Optional[dict] = CUSTOMER) -> Result:
        return self.call("list_orders", http_event("GET", "/orders", query=query, claims=who))

    def cancel(self, order_id: str, who: Optional[dict] = CUSTOMER) -> Result:
        return self.call("cancel_order", http_event("POST", f"/orders/{order_id}/cancel",
                                                    route_key="POST /orders/{order_id}/cancel",
                                                    path_parameters={"order_id": order_id}, claims=who))

    def webhook(self, body: Any, *, t: Optional[int] = None, secret: Optional[str] = None,
                header: Optional[str] = None, raw: Optional[bytes] = None) -> Result:
        data = raw if raw is not None else json.dumps(body).encode()
        if header is None:
            header = signature_header((secret or self.webhook_secret).encode(), int(time.time()) if t is None else t,
                                      data)
        event = http_event("POST", "/payments/webhook", body=data.decode(), claims=None,
                           headers={"bazaar-signature": header} if header else {})
        return self.call("payment_webhook", event)

    def order_now(self, product_id: str, quantity: int = 1, method: str = "pm_card_ok", **kw: Any) -> dict[str, Any]:
        result = self.place([{"product_id": product_id, "quantity": quantity}], method,
                            key=kw.pop("key", uuid.uuid4().hex), **kw)
        assert result.status == 201, result.body
        return result.json


# --- consumers ----------------------------------------------------------------------------------------------------

def sqs_event(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "rh", "body": json.dumps(m),
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q", "awsRegion": "eu-west-1",
    } for m in messages]}


def consume(function: str, *messages: dict[str, Any]) -> dict[str, Any]:
    import importlib

    module = importlib.import_module(f"functions.{function}.handler")
    return module.handler(sqs_event(*messages), FakeContext(function))


def outbox_messages(table: str, aggregate_id: Optional[str] = None) -> list[dict[str, Any]]:
    """Event messages in the outbox (oldest first), optionally of one aggregate."""
    return aws.outbox_messages(client("dynamodb"), table, aggregate_id)


def ledger(table: str, order_id: Optional[str] = None) -> list[dict[str, Any]]:
    """The simulated payment provider's charges and refunds."""
    ddb = client("dynamodb")
    items = ddb.query(TableName=table, KeyConditionExpression="PK = :p", ConsistentRead=True,
                      ExpressionAttributeValues={":p": {"S": SIMULATED_PROVIDER_PARTITION}})["Items"]
    rows = [{k: next(iter(v.values())) for k, v in i.items()} for i in items]
    return [r for r in rows if order_id is None or r["order_id"] == order_id]


def table_items(table: str) -> list[dict[str, Any]]:
    """Every item, in a stable order: to assert that a refused request changed nothing."""
    items: list[dict[str, Any]] = []
    kw: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client("dynamodb").scan(**kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def stock_of(table: str, product_id: str) -> int:
    item = client("dynamodb").get_item(TableName=table, ConsistentRead=True,
                                             Key={"PK": {"S": f"PRODUCT#{product_id}"}, "SK": {"S": "PRODUCT"}})
    return int(item["Item"]["stock"]["N"])


def drop_idempotency_records(table: str, function: str) -> int:
    """Lose a function's idempotency records (as if they had expired): the conditional writes must still hold."""
    ddb = client("dynamodb")
    items = ddb.query(TableName=table, KeyConditionExpression="PK = :p",
                      ExpressionAttributeValues={":p": {"S": f"IDEMPOTENCY#{function}"}})["Items"]
    for i in items:
        ddb.delete_item(TableName=table, Key={"PK": i["PK"], "SK": i["SK"]})
    return len(items)
