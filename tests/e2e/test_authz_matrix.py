"""The authorization matrix against the local stack: every manifest route × {anonymous, customer, another customer,
seller, another seller, admin}, with real Cognito tokens, through the gateway and its JWT authorizer.

Expectations come from the manifest (tests/support/authz.py). Each cell on an owned resource gets a fresh one,
owned by its owner-principal; a refused cell must leave it exactly as it was. A route without a request recipe
here fails: the matrix covers every route there is.
"""

from __future__ import annotations

import json

import pytest

from bazaar import manifest
from tests.e2e.conftest import FIGURES, Response
from tests.e2e.recipes import RECIPES, Client, recipe_for, resource_for
from tests.support.authz import OK, OWNED, PRINCIPALS, expected, owned_kind

pytestmark = pytest.mark.e2e

CELLS = [(fn, principal) for fn in manifest.routes() for principal in PRINCIPALS]


@pytest.fixture(scope="module")
def matrix(stack, principals) -> Client:
    return Client(stack, principals)


def _check_refusal(resp: Response, status: int) -> None:
    if status == 401:  # API Gateway's JWT authorizer: its own body, not problem+json (contract §2)
        assert resp.json() == {"message": "Unauthorized"}, resp.body[:300]
        return
    assert resp.headers.get("content-type") == "application/problem+json", resp.headers
    problem = resp.json()
    assert problem["status"] == status and problem["title"] and problem["detail"], problem


@pytest.mark.parametrize("fn, principal", CELLS, ids=[f"{fn.route.key} as {p}" for fn, p in CELLS])
def test_cell(matrix: Client, fn: manifest.Function, principal: str) -> None:
    route = fn.route
    assert route is not None
    recipe = recipe_for(route)
    want = expected(route, principal)
    kind = owned_kind(route)
    resource_id = resource_for(matrix, route)
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


def test_refusals_do_not_reveal_whether_a_resource_exists(matrix: Client) -> None:
    """A caller refused by group gets the same answer for a real and an invented id (no existence oracle)."""
    real = matrix.new_owned(owned_kind(manifest.get("update_product").route))  # type: ignore[arg-type]
    invented = "0" * 26
    for principal in ("anonymous", "customer"):
        who = matrix.principals[principal]
        answers = [matrix.call(who, "PATCH", f"/products/{pid}", {"stock": 1}) for pid in (real, invented)]
        assert answers[0].status == answers[1].status in (401, 403), [a.status for a in answers]
        assert json.loads(answers[0].body) == json.loads(answers[1].body)


def test_a_customer_lists_only_their_own_orders(matrix: Client) -> None:
    """Object-level check on the listing (contract §3: GET /orders is the caller's own orders)."""
    assert "GET /orders" in RECIPES
    order_id = matrix.new_owned(OWNED["order_id"])
    for principal, sees_it in (("customer", True), ("other_customer", False)):
        page = matrix.call(matrix.principals[principal], "GET", "/orders?limit=100")
        assert page.status == 200, page.body
        items = page.json()["items"]
        assert (order_id in {o["order_id"] for o in items}) is sees_it, principal
        assert {o["customer_id"] for o in items} <= {matrix.principals[principal].sub}, principal
