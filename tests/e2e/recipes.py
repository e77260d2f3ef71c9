"""A valid request for every manifest route, and the owned resources they act on.

Shared by the authorization matrix (who gets what), the fuzz module (statuses that need a valid request) and the
log scan's tour (every function runs). A route without a recipe here fails those tests: nothing is skipped.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

from bazaar import manifest
from bazaar.domain.payments import signature_header
from tests.e2e.conftest import Principal, Response, RunningStack, http
from tests.support.authz import OWNED, OwnedKind, owned_kind

NEW_PRODUCT = {"name": "Recipe lamp", "price_cents": 1500, "currency": "EUR", "stock": 50}


@dataclass
class Client:
    """Calls a running stack as one of its principals, and makes owned resources for them."""

    stack: RunningStack
    principals: dict[str, Principal]
    _stocked: Optional[str] = None

    def call(self, who: Principal, method: str, path: str, body: Any = None,
             headers: Optional[dict[str, str]] = None) -> Response:
        return http(method, self.stack.url + path, body=body, token=who.token, headers=headers)

    def new_owned(self, kind: OwnedKind) -> str:
        """A fresh resource of this kind, owned by the kind's owner-principal."""
        owner = self.principals[kind.owner]
        if kind.param == "product_id":
            created = self.call(owner, "POST", "/products", NEW_PRODUCT)
            assert created.status == 201, created.body
            return created.json()["product_id"]
        if kind.param == "order_id":  # pm_async: it stays PENDING (cancellable) until a webhook decides it
            created = self.place_order(owner)
            assert created.status == 201, created.body
            return created.json()["order_id"]
        raise LookupError(f"no way to create a {{{kind.param}}} in tests/e2e/recipes.py")

    def place_order(self, who: Principal, payment_method: str = "pm_async") -> Response:
        body = {"items": [{"product_id": self.stocked_product(), "quantity": 1}], "payment_method": payment_method}
        return self.call(who, "POST", "/orders", body, headers={"Idempotency-Key": uuid.uuid4().hex})

    def stocked_product(self) -> str:
        """One product with plenty of stock for every order these recipes place."""
        if self._stocked is None:
            created = self.call(self.principals["seller"], "POST", "/products", dict(NEW_PRODUCT, stock=1_000_000))
            assert created.status == 201, created.body
            self._stocked = created.json()["product_id"]
        return self._stocked

    def signed_webhook(self, event: dict[str, Any], token: Optional[str] = None) -> Response:
        """As the payment provider sends it (contract §5): HMAC-SHA256 of "<t>.<raw body>" with the shared secret."""
        raw = json.dumps(event).encode()
        signed = signature_header(self.stack.info["payment_webhook_secret"].encode(), int(time.time()), raw)
        headers = {"Bazaar-Signature": signed, "content-type": "application/json"}
        return http("POST", self.stack.url + "/payments/webhook", body=raw, token=token, headers=headers)

    def snapshot(self, kind: OwnedKind, resource_id: str) -> tuple[int, Any]:
        """The resource as its owner sees it (to prove a refused request changed nothing)."""
        if kind.param == "product_id":
            got = self.call(self.principals[kind.owner], "GET", f"/products/{resource_id}")
            return got.status, got.json() if got.body else None
        if kind.param == "order_id":
            got = self.call(self.principals[kind.owner], "GET", f"/orders/{resource_id}")
            return got.status, got.json() if got.body else None
        raise LookupError(f"no way to read a {{{kind.param}}} in tests/e2e/recipes.py")


Send = Callable[[Client, Principal, Optional[str]], Response]


@dataclass(frozen=True)
class Recipe:
    """A valid request to a route (so that only the caller decides the answer) and its success status.
    ``prepare`` makes what the request needs beforehand (its result is passed as the resource id)."""

    success: int
    send: Send
    prepare: Optional[Callable[["Client"], str]] = None


def _get(path: str) -> Send:
    return lambda c, who, rid: c.call(who, "GET", path.format(id=rid))


RECIPES: dict[str, Recipe] = {
    "GET /health": Recipe(200, _get("/health")),
    "GET /openapi.json": Recipe(200, _get("/openapi.json")),
    "GET /docs": Recipe(200, _get("/docs")),
    "GET /products": Recipe(200, _get("/products?limit=5")),
    "GET /products/{product_id}": Recipe(200, _get("/products/{id}")),
    "POST /products": Recipe(201, lambda c, who, rid: c.call(who, "POST", "/products", NEW_PRODUCT)),
    "PATCH /products/{product_id}": Recipe(200, lambda c, who, rid: c.call(who, "PATCH", f"/products/{rid}",
                                                                          {"stock": 7, "name": "renamed"})),
    "DELETE /products/{product_id}": Recipe(204, lambda c, who, rid: c.call(who, "DELETE", f"/products/{rid}")),
    "POST /orders": Recipe(201, lambda c, who, rid: c.place_order(who)),
    "GET /orders": Recipe(200, _get("/orders?limit=5")),
    "GET /orders/{order_id}": Recipe(200, _get("/orders/{id}")),
    "POST /orders/{order_id}/cancel": Recipe(200, lambda c, who, rid: c.call(who, "POST", f"/orders/{rid}/cancel")),
    # The provider proves itself with the signature: the caller's token (if any) plays no part.
    "POST /payments/webhook": Recipe(200, lambda c, who, order_id: c.signed_webhook(
        {"event_id": uuid.uuid4().hex, "type": "payment.succeeded", "order_id": order_id}, token=who.token),
        prepare=lambda c: c.new_owned(OWNED["order_id"])),
}


def recipe_for(route: manifest.Route) -> Recipe:
    recipe = RECIPES.get(route.key)
    assert recipe is not None, f"no request recipe for {route.key} in tests/e2e/recipes.py: every route needs one"
    return recipe


def resource_for(client: Client, route: manifest.Route) -> Optional[str]:
    """The id a route's request acts on: a fresh owned resource, or what its recipe prepares, or None."""
    kind = owned_kind(route)
    if kind is not None:
        return client.new_owned(kind)
    recipe = recipe_for(route)
    return recipe.prepare(client) if recipe.prepare else None
