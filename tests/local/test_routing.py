"""Route selection like API Gateway HTTP APIs: specificity, parameters, greedy paths, method mismatch = 404."""

from __future__ import annotations

import re

import pytest

from bazaar import manifest
from local.gateway import build_router
from local.routing import Router, parse_path


@pytest.fixture
def router() -> Router[str]:
    return Router([
        ("GET", "/products", "list"),
        ("POST", "/products", "create"),
        ("GET", "/products/{product_id}", "get"),
        ("GET", "/products/featured", "featured"),
        ("GET", "/products/{product_id}/reviews/{review_id}", "review"),
        ("GET", "/files/{proxy+}", "files"),
        ("GET", "/files/readme", "readme"),
        ("ANY", "/any/{x}", "any"),
        ("DELETE", "/any/{x}", "delete-any"),
        ("GET", "/", "root"),
    ])


def target(router: Router[str], method: str, path: str):
    m = router.match(method, path)
    return None if m is None else (m.route.target, m.path_parameters)


def test_exact_path_beats_parameter(router):
    assert target(router, "GET", "/products/featured") == ("featured", {})
    assert target(router, "GET", "/products/p1") == ("get", {"product_id": "p1"})


def test_method_selects_among_same_path(router):
    assert target(router, "GET", "/products") == ("list", {})
    assert target(router, "POST", "/products") == ("create", {})


def test_method_mismatch_is_404_not_405(router):
    assert router.match("DELETE", "/products") is None
    assert router.match("PUT", "/products/p1") is None


def test_several_parameters(router):
    assert target(router, "GET", "/products/p1/reviews/r9") == ("review", {"product_id": "p1", "review_id": "r9"})


def test_parameters_are_url_decoded(router):
    assert target(router, "GET", "/products/a%20b") == ("get", {"product_id": "a b"})


def test_greedy_proxy_takes_the_rest_but_literal_wins(router):
    assert target(router, "GET", "/files/a/b/c.txt") == ("files", {"proxy": "a/b/c.txt"})
    assert target(router, "GET", "/files/readme") == ("readme", {})
    assert router.match("GET", "/files") is None  # greedy needs at least one segment
    assert router.match("GET", "/files/") is None


def test_exact_method_beats_any(router):
    assert target(router, "DELETE", "/any/1") == ("delete-any", {"x": "1"})
    assert target(router, "PATCH", "/any/1") == ("any", {"x": "1"})


@pytest.mark.parametrize("path", ["/products/", "/products/p1/", "/products//", "/nope", "/products/p1/extra",
                                  "/PRODUCTS"])
def test_no_match(router, path):
    assert router.match("GET", path) is None


def test_root(router):
    assert target(router, "GET", "/") == ("root", {})


def test_malformed_route_paths_are_rejected():
    with pytest.raises(ValueError):
        parse_path("/a/{proxy+}/b")
    r = Router([("GET", "/a", 1)])
    with pytest.raises(ValueError):
        r.add("GET", "/a", 2)


def test_router_covers_every_manifest_route():
    router = build_router(list(manifest.FUNCTIONS))
    for fn in manifest.routes():
        assert fn.route is not None
        concrete = re.sub(r"\{[a-z_]+\}", "p1", fn.route.path)  # every path parameter, {order_id} included
        for segment in concrete.split("/"):
            assert "{" not in segment or segment.endswith("+}")
        m = router.match(fn.route.method, concrete)
        assert m is not None and m.route.target is fn, fn.route.key
