"""The Bazaar load workload: a marketplace's mix of traffic through the gateway, as Locust users.

One importable file, shared by ``make load``, ``make soak`` and the load benchmarks. On its own, against a
running stack::

    .venv/bin/locust -f tests/load/workload.py --headless -u 16 -r 16 -t 1m --host http://127.0.0.1:3000

Who does what (a user class's ``weight`` sets its share of the simulated users; a task's weight its share of
that user's requests):

- ``Shopper`` (3): anonymous reads: a product by id, Zipf-distributed over the catalog (a few products are hot,
  as in a real shop, so the cache is exercised as it would be), list pages (and the next page by cursor), health.
- ``Seller`` (1): a seller's writes on a small catalog of its own: create until it has ``SELLER_CATALOG``
  products, then mostly price changes, and a delete plus a create now and then, so the data set stays bounded.
- ``Customer`` (1): a signed-in customer (the seeded customers in turn): places orders of 1 or 2 lines (a fresh
  ``Idempotency-Key`` each, products of one currency picked Zipf-distributed among those the workload believes in
  stock; mostly ``pm_card_ok``, some ``pm_card_declined`` and ``pm_async``), looks at its orders (the list, by
  cursor now and then, and one order by id) and now and then cancels one of its own that can still be cancelled
  (a ``pm_async`` order left waiting first).

What a shopper meets under load is not a failure: a product deleted by its seller meanwhile (GET 404; an order
naming it 422, docs/orders.md), not enough stock (an order's 409, naming the short lines), a product
being edited or changed concurrently (409), an order cancelled meanwhile (cancel 409). Anything else, above all any
5xx, is. The workload keeps what it last learnt of every product's stock (from the first listing, a seller's
create, its orders and the 409s' ``lines``), so orders mostly find stock while sellers create products with 0 to
500 units; the table's own stock stays the authority.

Every request is named by its route key (``PATCH /products/{product_id}``), which is how the soak and the
benchmarks report latency per route. Users and passwords come from the stack's ``stack.json``
(``BAZAAR_STACK_JSON``, default ``.local/stack.json``); tokens are real Cognito access tokens, renewed on a 401.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

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
ROUTE_ORDER = "POST /orders"
ROUTE_ORDERS = "GET /orders"
ROUTE_ORDER_GET = "GET /orders/{order_id}"
ROUTE_CANCEL = "POST /orders/{order_id}/cancel"
WRITE_ROUTES = (ROUTE_CREATE, ROUTE_PATCH, ROUTE_DELETE, ROUTE_ORDER, ROUTE_CANCEL)

PAYMENT_MIX = {"pm_card_ok": 85, "pm_card_declined": 10, "pm_async": 5}  # percent of orders
QUANTITIES = (1, 1, 1, 2, 3)  # units per line, mostly one
CUSTOMER_MEMORY = 50  # recent orders a simulated customer remembers


def stack_info() -> dict[str, Any]:
    path = Path(os.environ.get(STACK_JSON_ENV) or Path(__file__).resolve().parents[2] / ".local" / "stack.json")
    return json.loads(path.read_text())


@dataclass
class Offer:
    """What the workload last knew of a product: its currency and stock (advisory: the table decides)."""

    currency: Optional[str] = None
    stock: Optional[int] = None


class Catalog:
    """The product ids the simulated users know of, hottest first (shared by all users of this process)."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._offers: dict[str, Offer] = {}
        self._cumulative: list[float] = []  # Zipf weights 1/r^s, summed, for the current number of ids
        self._guard = threading.Lock()

    def add(self, product_id: str, currency: Optional[str] = None, stock: Optional[int] = None) -> None:
        with self._guard:
            self._ids.append(product_id)
            self._offers[product_id] = Offer(currency, stock)

    def remove(self, product_id: str) -> None:
        with self._guard:
            if product_id in self._ids:
                self._ids.remove(product_id)
            self._offers.pop(product_id, None)

    def pick(self) -> Optional[str]:
        """A Zipf-distributed choice: the product of rank r is drawn with probability proportional to 1 / r^s."""
        with self._guard:
            if not self._ids:
                return None
            while len(self._cumulative) < len(self._ids):
                rank = len(self._cumulative) + 1
                self._cumulative.append((self._cumulative[-1] if self._cumulative else 0.0) + rank ** -ZIPF_S)
            return random.choices(self._ids, cum_weights=self._cumulative[:len(self._ids)])[0]

    def pick_in_stock(self, quantity: int, currency: Optional[str] = None,
                      exclude: tuple[str, ...] = ()) -> Optional[tuple[str, str]]:
        """(product id, currency): Zipf-distributed by rank as ``pick``, among the products believed to have
        ``quantity`` units (in ``currency`` when given, other than ``exclude``). None when there is none."""
        with self._guard:
            ids, weights = [], []
            for rank, product_id in enumerate(self._ids, start=1):
                offer = self._offers[product_id]
                if (offer.stock is None or offer.currency is None or offer.stock < quantity or product_id in exclude
                        or (currency is not None and offer.currency != currency)):
                    continue
                ids.append(product_id)
                weights.append(rank ** -ZIPF_S)
            if not ids:
                return None
            chosen = random.choices(ids, weights=weights)[0]
            return chosen, self._offers[chosen].currency or ""

    def took(self, product_id: str, quantity: int) -> None:
        """An order reserved ``quantity`` units (negative: they came back)."""
        with self._guard:
            offer = self._offers.get(product_id)
            if offer is not None and offer.stock is not None:
                offer.stock = max(0, offer.stock - quantity)

    def has(self, product_id: str, stock: int) -> None:
        """The product has ``stock`` units (an order's 409 says how many)."""
        with self._guard:
            offer = self._offers.get(product_id)
            if offer is not None:
                offer.stock = stock

    def __len__(self) -> int:
        return len(self._ids)


CATALOG = Catalog()


@events.test_start.add_listener
def _know_the_catalog(environment: Any, **_: Any) -> None:
    """Start from what the stack already lists (its demo products)."""
    import urllib.request

    with urllib.request.urlopen(f"{environment.host}/products?limit=100", timeout=30) as response:
        for product in json.loads(response.read())["items"]:
            CATALOG.add(product["product_id"], product["currency"], product["stock"])


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

    def call(self, method: str, path: str, route: str, ok: tuple[int, ...],
             judge: Optional[Callable[[Any], Optional[str]]] = None, **kwargs: Any) -> Optional[Any]:
        """One request, named ``route``; a status outside ``ok`` is a failure, and so is a response in ``ok`` that
        ``judge`` finds wrong (it returns why, or None). Returns the response."""
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
                wrong = judge(response) if judge is not None and response.status_code in ok else None
                if response.status_code in ok and wrong is None:
                    response.success()
                elif wrong is not None:
                    response.failure(f"{response.status_code}: {wrong}: {response.text[:200]}")
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
            CATALOG.add(product_id, body["currency"], body["stock"])

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


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail") or "")
    except ValueError:
        return ""


def _order_refusal(response: Any) -> Optional[str]:
    """Why an order's answer is wrong although its status is expected (None: it is right). A 422 must be a product
    deleted meanwhile (docs/orders.md): the workload sends valid bodies in one currency, so any other 422 is a bug."""
    if response.status_code == 422 and not _detail(response).startswith("no such product"):
        return "a 422 other than a product deleted meanwhile"
    if response.status_code == 201:
        try:
            if not response.json().get("order_id"):
                return "a 201 without an order_id"
        except ValueError:
            return "a 201 that is not JSON"
    return None


@dataclass
class Placed:
    """One of a simulated customer's orders, as it last saw it."""

    lines: tuple[tuple[str, int], ...]
    payment_method: str
    status: str


class Customer(BazaarUser):
    weight = 1
    group = "customer"
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        super().on_start()
        self.orders: OrderedDict[str, Placed] = OrderedDict()  # its recent orders, oldest first

    def lines(self) -> list[tuple[str, int]]:
        """1 or 2 lines (2 about a third of the time) of products believed in stock, in one currency."""
        quantity = random.choice(QUANTITIES)
        first = CATALOG.pick_in_stock(quantity)
        if first is None:
            return []
        lines = [(first[0], quantity)]
        if random.random() < 0.35:
            quantity = random.choice(QUANTITIES)
            second = CATALOG.pick_in_stock(quantity, currency=first[1], exclude=(first[0],))
            if second is not None:
                lines.append((second[0], quantity))
        return lines

    def seen(self, order: dict[str, Any]) -> None:
        """An order of its own as the API just showed it: a cancellation puts its units back in the catalog."""
        placed = self.orders.get(order.get("order_id", ""))
        if placed is None:
            return
        if order.get("status") == "CANCELLED" and placed.status != "CANCELLED":
            for product_id, quantity in placed.lines:
                CATALOG.took(product_id, -quantity)
        placed.status = order.get("status", placed.status)

    @task(6)
    def place_order(self) -> None:
        lines = self.lines()
        if not lines:  # nothing believed in stock (yet): look at its orders instead
            self.list_orders()
            return
        method = random.choices(list(PAYMENT_MIX), weights=list(PAYMENT_MIX.values()))[0]
        body = {"items": [{"product_id": p, "quantity": q} for p, q in lines], "payment_method": method}
        # 409: not enough stock (the short lines named), or a product being edited; 422: a product deleted meanwhile
        response = self.call("POST", "/orders", ROUTE_ORDER, (201, 409, 422), judge=_order_refusal, json=body,
                             headers={"Idempotency-Key": uuid.uuid4().hex})
        if response is None:
            return
        if response.status_code == 201 and _order_refusal(response) is None:
            order = response.json()
            self.orders[order["order_id"]] = Placed(tuple(lines), method, order["status"])
            while len(self.orders) > CUSTOMER_MEMORY:
                self.orders.popitem(last=False)
            for product_id, quantity in lines:
                CATALOG.took(product_id, quantity)
        elif response.status_code == 409:
            try:
                short = response.json().get("lines") or []
            except ValueError:
                short = []
            for line in short:
                CATALOG.has(line["product_id"], line["available"])
        elif response.status_code == 422:
            detail = _detail(response)
            for product_id, _ in lines:
                if product_id in detail:
                    CATALOG.remove(product_id)

    @task(3)
    def view_order(self) -> None:
        if not self.orders:
            self.list_orders()
            return
        order_id = random.choice(list(self.orders)[-5:])  # mostly one it just placed: is it confirmed?
        response = self.call("GET", f"/orders/{order_id}", ROUTE_ORDER_GET, (200,))
        if response is not None and response.status_code == 200:
            self.seen(response.json())

    @task(2)
    def list_orders(self) -> None:
        response = self.call("GET", "/orders?limit=10", ROUTE_ORDERS, (200,))
        if response is None or response.status_code != 200:
            return
        page = response.json()
        for order in page.get("items", []):
            self.seen(order)
        if page.get("next_cursor") and random.random() < 0.2:
            self.call("GET", "/orders", ROUTE_ORDERS, (200,), params={"limit": 10, "cursor": page["next_cursor"]})

    @task(1)
    def cancel_one(self) -> None:
        open_ = [oid for oid, p in self.orders.items() if p.status in ("PENDING", "CONFIRMED")]
        waiting = [oid for oid in open_ if self.orders[oid].payment_method == "pm_async"]
        if not open_:
            return
        order_id = random.choice(waiting or open_)  # a payment left waiting first
        # 409: no longer cancellable (its payment was declined meanwhile), or being changed concurrently
        response = self.call("POST", f"/orders/{order_id}/cancel", ROUTE_CANCEL, (200, 409))
        if response is not None and response.status_code == 200:
            self.seen(response.json())
        elif response is not None and response.status_code == 409:
            self.orders[order_id].status = "UNKNOWN"  # not cancelled by this call: the next look at it will tell


def user_classes() -> list[type[BazaarUser]]:
    """Every concrete user of the workload (with tasks), as ``make load`` and ``make soak`` run them."""
    return [c for c in list(globals().values()) if isinstance(c, type) and issubclass(c, BazaarUser)
            and not c.abstract and c.tasks]
