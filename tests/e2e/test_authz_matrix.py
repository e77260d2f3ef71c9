"""The authorization matrix against the local stack: every manifest route × {anonymous, customer, another customer,
seller, another seller, admin}, with real Cognito tokens, through the gateway and its JWT authorizer.

Expectations come from the manifest (tests/support/authz.py). Each cell on an owned resource gets a fresh one,
owned by its owner-principal; a refused cell must leave it exactly as it was. A route without a request recipe
here fails: the matrix covers every route there is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pytest

from bazaar import manifest
from tests.e2e.conftest import FIGURES, Principal, Response, RunningStack, http
from tests.support.authz import OK, OwnedKind, PRINCIPALS, expected, owned_kind

pytestmark = pytest.mark.e2e

NEW_PRODUCT = {"name": "Matrix lamp", "price_cents": 1500, "currency": "EUR", "stock": 50}


@dataclass
class Matrix:
    stack: RunningStack
    principals: dict[str, Principal]

    def call(self, who: Principal, method: str, path: str, body: Any = None,
             headers: Optional[dict[str, str]] = None) -> Response:
        return http(method, self.stack.url + path, body=body, token=who.token, headers=headers)

    # --- owned resources, one fresh per cell -------------------------------------------------------------------
    def new_owned(self, kind: OwnedKind) -> str:
        owner = self.principals[kind.owner]
        if kind.param == "product_id":
            created = self.call(owner, "POST", "/products", NEW_PRODUCT)
            assert created.status == 201, created.body
            return created.json()["product_id"]
        raise LookupError(f"no way to create a {kind.param} here")

    def snapshot(self, kind: OwnedKind, resource_id: str) -> tuple[int, Any]:
        """The resource as its owner sees it."""
        if kind.param == "product_id":
            got = self.call(self.principals[kind.owner], "GET", f"/products/{resource_id}")
            return got.status, got.json() if got.body else None
        raise LookupError(f"no way to read a {kind.param} here")


@dataclass(frozen=True)
class Recipe:
    """A valid request to a route (so that only the caller decides the answer) and its success status."""

    success: int
    send: Callable[[Matrix, Principal, Optional[str]], Response]


def _get(path: str) -> Callable[[Matrix, Principal, Optional[str]], Response]:
    return lambda m, who, rid: m.call(who, "GET", path.format(id=rid))


RECIPES: dict[str, Recipe] = {
    "GET /health": Recipe(200, _get("/health")),
    "GET /openapi.json": Recipe(200, _get("/openapi.json")),
    "GET /docs": Recipe(200, _get("/docs")),
    "GET /products": Recipe(200, _get("/products?limit=5")),
    "GET /products/{product_id}": Recipe(200, _get("/products/{id}")),
    "POST /products": Recipe(201, lambda m, who, rid: m.call(who, "POST", "/products", NEW_PRODUCT)),
    "PATCH /products/{product_id}": Recipe(200, lambda m, who, rid: m.call(who, "PATCH", f"/products/{rid}",
                                                                          {"stock": 7, "name": "renamed"})),
    "DELETE /products/{product_id}": Recipe(204, lambda m, who, rid: m.call(who, "DELETE", f"/products/{rid}")),
}

CELLS = [(fn, principal) for fn in manifest.routes() for principal in PRINCIPALS]


@pytest.fixture(scope="module")
def matrix(stack, principals) -> Matrix:
    return Matrix(stack, principals)


def _check_refusal(resp: Response, status: int) -> None:
    if status == 401:  # API Gateway's JWT authorizer: its own body, not problem+json (contract §2)
        assert resp.json() == {"message": "Unauthorized"}, resp.body[:300]
        return
    assert resp.headers.get("content-type") == "application/problem+json", resp.headers
    problem = resp.json()
    assert problem["status"] == status and problem["title"] and problem["detail"], problem


@pytest.mark.parametrize("fn, principal", CELLS, ids=[f"{fn.route.key} as {p}" for fn, p in CELLS])
def test_cell(matrix: Matrix, fn: manifest.Function, principal: str) -> None:
    route = fn.route
    assert route is not None
    recipe = RECIPES.get(route.key)
    assert recipe is not None, f"no request recipe for {route.key} in {__file__}: the matrix covers every route"
    want = expected(route, principal)
    kind = owned_kind(route)
    resource_id = matrix.new_owned(kind) if kind else None
    before = matrix.snapshot(kind, resource_id) if kind and resource_id else None

    resp = recipe.send(matrix, matrix.principals[principal], resource_id)

    want_status = recipe.success if want == OK else int(want)
    FIGURES["authorization matrix cells checked"] = int(FIGURES.get("authorization matrix cells checked", 0)) + 1
    if resp.status != want_status:
        FIGURES["authorization matrix mismatches"] = int(FIGURES.get("authorization matrix mismatches", 0)) + 1
        pytest.fail(f"{route.key} as {principal}: expected {want_status}, got {resp.status}: {resp.body[:300]!r}")
    FIGURES.setdefault("authorization matrix mismatches", 0)
    if want != OK:
        _check_refusal(resp, want_status)
        if kind and resource_id:  # refused: the owner's resource is exactly as it was
            assert matrix.snapshot(kind, resource_id) == before


def test_every_route_has_a_recipe_and_no_recipe_is_stale() -> None:
    keys = {fn.route.key for fn in manifest.routes() if fn.route}
    assert set(RECIPES) == keys


def test_refusals_do_not_reveal_whether_a_resource_exists(matrix: Matrix) -> None:
    """A caller refused by group gets the same answer for a real and an invented id (no existence oracle)."""
    real = matrix.new_owned(owned_kind(manifest.get("update_product").route))  # type: ignore[arg-type]
    invented = "0" * 26
    for principal in ("anonymous", "customer"):
        who = matrix.principals[principal]
        answers = [matrix.call(who, "PATCH", f"/products/{pid}", {"stock": 1}) for pid in (real, invented)]
        assert answers[0].status == answers[1].status in (401, 403), [a.status for a in answers]
        assert json.loads(answers[0].body) == json.loads(answers[1].body)
