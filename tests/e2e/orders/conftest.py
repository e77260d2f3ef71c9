"""One local stack for every order test module, started as ``make run`` starts it, driven over HTTP like a client,
with the AWS side (moto) read directly only to check what a client cannot see (stock in the table, the payment
provider's ledger, the outbox, DLQs). Faults are switched at run time through ``local.faults``."""

from __future__ import annotations

import json
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import pytest

from bazaar import manifest, resources
from bazaar.adapters.dynamo.models import SIMULATED_PROVIDER_PARTITION
from bazaar.domain.payments import signature_header
from local import faults as local_faults
from local.mailbox import read_sent
from tests.e2e.conftest import RunningStack, aws, http, start_stack, stop_stack, tokens, wait_for


# A race queues hundreds of requests behind the local runtime's few environments per function (AWS would start
# more): the wait is the local stack's, not the request's, so clients give it time.
RACE_TIMEOUT_S = 180


@dataclass
class Shop:
    stack: RunningStack
    _tokens: dict[str, tuple[float, str]] = field(default_factory=dict)

    # --- people -------------------------------------------------------------------------------------------------
    def users(self, group: str) -> list[dict[str, Any]]:
        return [u for u in self.stack.info["users"] if u["group"] == group]

    def user(self, group: str, index: int = 0) -> dict[str, Any]:
        return self.users(group)[index]

    def token(self, username: str) -> str:
        cached = self._tokens.get(username)
        if cached is None or cached[0] < time.monotonic() - 1800:
            cached = (time.monotonic(), tokens(self.stack, username)["AccessToken"])
            self._tokens[username] = cached
        return cached[1]

    def as_(self, group: str, index: int = 0) -> str:
        return self.token(self.user(group, index)["username"])

    # --- API ------------------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.stack.url

    def new_product(self, seller: int = 0, **fields: Any) -> dict[str, Any]:
        body = {"name": f"item {uuid.uuid4().hex[:6]}", "price_cents": 500, "currency": "EUR", "stock": 10, **fields}
        created = http("POST", self.url + "/products", body, token=self.as_("seller", seller))
        assert created.status == 201, created.body
        return created.json()

    def place(self, items: list[tuple[str, int]], method: str = "pm_card_ok", customer: int = 0,
              key: Optional[str] = None, token: Optional[str] = None) -> Any:
        return http("POST", self.url + "/orders",
                    {"items": [{"product_id": p, "quantity": q} for p, q in items], "payment_method": method},
                    token=token or self.as_("customer", customer),
                    headers={"idempotency-key": key or uuid.uuid4().hex}, timeout=RACE_TIMEOUT_S)

    def order(self, order_id: str, token: Optional[str] = None) -> Any:
        return http("GET", f"{self.url}/orders/{order_id}", token=token or self.as_("admin"))

    def cancel(self, order_id: str, token: str) -> Any:
        return http("POST", f"{self.url}/orders/{order_id}/cancel", token=token)

    def wait_status(self, order_id: str, status: str, timeout_s: float = 15) -> dict[str, Any]:
        def reached() -> Optional[dict[str, Any]]:
            order = self.order(order_id).json()
            return order if order["status"] == status else None
        found = wait_for(reached, timeout_s=timeout_s, interval_s=0.1)
        assert found, f"order {order_id} never reached {status}: {self.order(order_id).json()}"
        return found

    def webhook(self, body: Any, t: Optional[int] = None, secret: Optional[str] = None,
                header: Optional[str] = None) -> Any:
        raw = json.dumps(body).encode()
        if header is None:
            header = signature_header((secret or self.stack.info["payment_webhook_secret"]).encode(),
                                      int(time.time()) if t is None else t, raw)
        return http("POST", self.url + "/payments/webhook", raw,
                    headers={"bazaar-signature": header} if header else {})

    # --- what clients cannot see ------------------------------------------------------------------------------------
    def stock(self, product_id: str) -> int:
        item = aws(self.stack, "dynamodb").get_item(
            TableName=self.stack.info["table_name"], ConsistentRead=True,
            Key={"PK": {"S": f"PRODUCT#{product_id}"}, "SK": {"S": "PRODUCT"}})["Item"]
        return int(item["stock"]["N"])

    def ledger(self, order_id: str) -> list[dict[str, Any]]:
        """The simulated payment provider's charges and refunds for the order."""
        items = aws(self.stack, "dynamodb").query(
            TableName=self.stack.info["table_name"], KeyConditionExpression="PK = :p", ConsistentRead=True,
            ExpressionAttributeValues={":p": {"S": SIMULATED_PROVIDER_PARTITION}})["Items"]
        rows = [{k: next(iter(v.values())) for k, v in i.items()} for i in items]
        return [r for r in rows if r["order_id"] == order_id]

    def outbox(self, aggregate_id: str) -> list[dict[str, Any]]:
        """The event messages of an aggregate, as written to the outbox (what the relay publishes)."""
        ddb = aws(self.stack, "dynamodb")
        kw: dict[str, Any] = {"TableName": self.stack.info["table_name"], "ConsistentRead": True,
                              "FilterExpression": "begins_with(PK, :p) AND aggregate_id = :a",
                              "ExpressionAttributeValues": {":p": {"S": "OUTBOX#"}, ":a": {"S": aggregate_id}}}
        items = []
        while True:
            page = ddb.scan(**kw)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        messages = {json.loads(i["payload"]["S"])["event_id"]: json.loads(i["payload"]["S"]) for i in items}
        return sorted(messages.values(), key=lambda m: (m["occurred_at"], m["event_id"]))

    def mail(self, subject_part: str = "") -> list[dict[str, Any]]:
        return [m for m in read_sent(self.stack.local_dir) if subject_part in (m["subject"] or "")]

    def publish(self, message: dict[str, Any]) -> None:
        """Deliver an event as the relay does (raw message, ``type`` attribute): to every subscribed consumer."""
        aws(self.stack, "sns").publish(
            TopicArn=self.stack.info["events_topic_arn"], Message=json.dumps(message),
            MessageAttributes={resources.EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": message["type"]}})

    def quiet(self, timeout_s: float = 20.0) -> None:
        """Wait until every consumer queue is empty and nothing is in flight (twice in a row, 0.3 s apart)."""
        sqs = aws(self.stack, "sqs")
        urls = [q["url"] for q in self.stack.info["queues"].values()]

        def empty() -> bool:
            for url in urls:
                a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                if int(a["ApproximateNumberOfMessages"]) or int(a["ApproximateNumberOfMessagesNotVisible"]):
                    return False
            return True

        deadline = time.monotonic() + timeout_s
        streak = 0
        while streak < 2:
            assert time.monotonic() < deadline, "consumer queues did not drain"
            streak = streak + 1 if empty() else 0
            time.sleep(0.3)

    def dlq_depth(self, consumer: str) -> int:
        url = self.stack.info["dlqs"][consumer]
        a = aws(self.stack, "sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])

    @contextmanager
    def faults(self, **settings: Any) -> Iterator[None]:
        """Faults on for the block (see local/faults.py), then back to none."""
        local_faults.write_settings(self.stack.local_dir, **settings)
        time.sleep(0.1)  # the server re-reads its settings file at most every 50 ms
        try:
            yield
        finally:
            local_faults.clear_settings(self.stack.local_dir)
            time.sleep(0.1)

    def fault_counts(self) -> dict[str, int]:
        return local_faults.read_stats(self.stack.local_dir)


def concurrently(n: int, call: Callable[[int], Any], threads: int = 200) -> list[Any]:
    """``call(i)`` for i in 0..n-1, at most ``threads`` at once, in random order."""
    order = list(range(n))
    random.shuffle(order)
    with ThreadPoolExecutor(max_workers=min(threads, n)) as pool:
        return list(pool.map(call, order))


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Iterator[Shop]:
    # Failed messages become visible again at once (instead of the queue's 2 minutes) so retries fit in a test.
    running = start_stack(tmp_path_factory.mktemp("orders") / ".local", BAZAAR_LOCAL_RETRY_VISIBILITY_S="0")
    yield Shop(running)
    stop_stack(running)


def consumer(name: str) -> manifest.Function:
    return manifest.get(name)
