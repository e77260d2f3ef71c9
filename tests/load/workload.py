"""The Bazaar load workload: a marketplace's mix of traffic through the gateway, as Locust users.

One importable file, shared by ``make soak`` and the load benchmarks. On its own, against a running stack::

    .venv/bin/locust -f tests/load/workload.py --headless -u 16 -r 16 -t 1m --host http://127.0.0.1:3000

Who does what (a user class's ``weight`` sets its share of the simulated users; a task's weight its share of
that user's requests):

- ``Shopper`` (3): anonymous reads: a product by id, Zipf-distributed over the catalog (a few products are hot,
  as in a real shop, so the cache is exercised as it would be), list pages (and the next page by cursor), health.
- ``Seller`` (1): a seller's writes on a small catalog of its own: create until it has ``SELLER_CATALOG``
  products, then mostly price changes, and a delete plus a create now and then, so the data set stays bounded.
- ``Customer`` (0, abstract): **the place for order tasks** (POST /orders with an Idempotency-Key, GET /orders,
  cancel). Give it tasks and a weight, drop ``abstract``; ``BazaarUser`` already signs in with a seeded customer.

Every request is named by its route key (``PATCH /products/{product_id}``), which is how the soak and the
benchmarks report latency per route. Users and passwords come from the stack's ``stack.json``
(``BAZAAR_STACK_JSON``, default ``.local/stack.json``); tokens are real Cognito access tokens, renewed on a 401.
"""

from __future__ import annotations

import json
import os
import random
import threading
from pathlib import Path
from typing import Any, Optional

from locust import HttpUser, between, events, task

STACK_JSON_ENV = "BAZAAR_STACK_JSON"
SELLER_CATALOG = 20  # products each simulated seller keeps
ZIPF_S = 1.1  # the popularity skew of product reads

ROUTE_HEALTH = "GET /health"
ROUTE_LIST = "GET /products"
ROUTE_GET = "GET /products/{product_id}"
ROUTE_CREATE = "POST /products"
ROUTE_PATCH = "PATCH /products/{product_id}"
ROUTE_DELETE = "DELETE /products/{product_id}"
WRITE_ROUTES = (ROUTE_CREATE, ROUTE_PATCH, ROUTE_DELETE)


def stack_info() -> dict[str, Any]:
    path = Path(os.environ.get(STACK_JSON_ENV) or Path(__file__).resolve().parents[2] / ".local" / "stack.json")
    return json.loads(path.read_text())


class Catalog:
    """The product ids the simulated users know of, hottest first (shared by all users of this process)."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._cumulative: list[float] = []  # Zipf weights 1/r^s, summed, for the current number of ids
        self._guard = threading.Lock()

    def add(self, product_id: str) -> None:
        with self._guard:
            self._ids.append(product_id)

    def remove(self, product_id: str) -> None:
        with self._guard:
            if product_id in self._ids:
                self._ids.remove(product_id)

    def pick(self) -> Optional[str]:
        """A Zipf-distributed choice: the product of rank r is drawn with probability proportional to 1 / r^s."""
        with self._guard:
            if not self._ids:
                return None
            while len(self._cumulative) < len(self._ids):
                rank = len(self._cumulative) + 1
                self._cumulative.append((self._cumulative[-1] if self._cumulative else 0.0) + rank ** -ZIPF_S)
            return random.choices(self._ids, cum_weights=self._cumulative[:len(self._ids)])[0]

    def __len__(self) -> int:
        return len(self._ids)


CATALOG = Catalog()


@events.test_start.add_listener
def _know_the_catalog(environment: Any, **_: Any) -> None:
    """Start from what the stack already lists (its demo products)."""
    import urllib.request

    with urllib.request.urlopen(f"{environment.host}/products?limit=100", timeout=30) as response:
        for product in json.loads(response.read())["items"]:
            CATALOG.add(product["product_id"])


class _Tokens:
    """One access token per seeded user, shared by the users that act as them."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}
        self._guard = threading.Lock()

    def get(self, username: str, renew: bool = False) -> str:
        with self._guard:
            if renew or username not in self._tokens:
                self._tokens[username] = self._sign_in(username)
            return self._tokens[username]

    @staticmethod
    def _sign_in(username: str) -> str:
        import boto3

        info = stack_info()
        user = next(u for u in info["users"] if u["username"] == username)
        idp = boto3.client("cognito-idp", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        return idp.initiate_auth(ClientId=info["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": username, "PASSWORD": user["password"]}
                                 )["AuthenticationResult"]["AccessToken"]


TOKENS = _Tokens()
_assigned: dict[str, int] = {}
_assigned_guard = threading.Lock()


def next_user(group: str) -> str:
    """The seeded users of ``group`` in turn, so simulated users spread over them."""
    names = [u["username"] for u in stack_info()["users"] if u["group"] == group]
    with _assigned_guard:
        n = _assigned.get(group, 0)
        _assigned[group] = n + 1
    return names[n % len(names)]


class BazaarUser(HttpUser):
    """A client of the API. Signed-in users set ``group``; their requests carry the access token."""

    abstract = True
    group: Optional[str] = None

    def on_start(self) -> None:
        self.username = next_user(self.group) if self.group else None

    def call(self, method: str, path: str, route: str, ok: tuple[int, ...], **kwargs: Any) -> Optional[Any]:
        """One request, named ``route``; a status outside ``ok`` is a failure. Returns the response."""
        base_headers = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            headers = dict(base_headers)
            if self.username:
                headers["authorization"] = f"Bearer {TOKENS.get(self.username, renew=attempt == 2)}"
            with self.client.request(method, path, name=route, headers=headers, catch_response=True,
                                     **kwargs) as response:
                if response.status_code == 401 and self.username and attempt == 1:
                    response.success()  # an expired token: renewed and retried, not the API's fault
                    continue
                if response.status_code in ok:
                    response.success()
                else:
                    response.failure(f"{response.status_code}: {response.text[:200]}")
                return response
        return None


class Shopper(BazaarUser):
    weight = 3
    wait_time = between(0.5, 1.5)

    @task(6)
    def view_product(self) -> None:
        product_id = CATALOG.pick()
        if product_id:  # 404: deleted by its seller since it was picked, which a shopper can meet too
            self.call("GET", f"/products/{product_id}", ROUTE_GET, (200, 404))

    @task(3)
    def browse(self) -> None:
        response = self.call("GET", "/products?limit=20", ROUTE_LIST, (200,))
        if response is not None and response.status_code == 200 and random.random() < 0.3:
            cursor = response.json().get("next_cursor")
            if cursor:
                self.call("GET", "/products", ROUTE_LIST, (200,), params={"limit": 20, "cursor": cursor})

    @task(1)
    def health(self) -> None:
        self.call("GET", "/health", ROUTE_HEALTH, (200,))


class Seller(BazaarUser):
    weight = 1
    group = "seller"
    wait_time = between(1.0, 2.0)

    def on_start(self) -> None:
        super().on_start()
        self.products: list[str] = []

    def create(self) -> None:
        body = {"name": f"Soak item {random.randrange(10**6)}", "description": "made by the load workload",
                "price_cents": random.randint(100, 99_999), "currency": random.choice(["EUR", "USD", "GBP"]),
                "stock": random.randint(0, 500)}
        response = self.call("POST", "/products", ROUTE_CREATE, (201,), json=body)
        if response is not None and response.status_code == 201:
            product_id = response.json()["product_id"]
            self.products.append(product_id)
            CATALOG.add(product_id)

    @task(5)
    def change_price(self) -> None:
        if len(self.products) < SELLER_CATALOG:
            self.create()
            return
        self.call("PATCH", f"/products/{random.choice(self.products)}", ROUTE_PATCH, (200,),
                  json={"price_cents": random.randint(100, 99_999)})

    @task(1)
    def replace_one(self) -> None:
        if len(self.products) < SELLER_CATALOG:
            self.create()
            return
        product_id = self.products.pop(random.randrange(len(self.products)))
        CATALOG.remove(product_id)
        self.call("DELETE", f"/products/{product_id}", ROUTE_DELETE, (204,))
        self.create()


class Customer(BazaarUser):
    """Orders go here (see the module docstring)."""

    abstract = True
    group = "customer"
    wait_time = between(1.0, 3.0)
