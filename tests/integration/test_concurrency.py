"""Optimistic concurrency under real concurrent requests (threads against the moto server): no lost update, and a
lost race is answered 412 (with If-Match) or merged / 409 (without)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.integration.api import SELLER, Api, Result

THREADS = 8

# Every thread sends the same request (apart from its requestId): the function modules are shared by the threads
# here, whereas Lambda runs one request per container at a time.


def _race(api: Api, pid: str, body: dict, headers: dict | None = None) -> list[Result]:
    barrier = threading.Barrier(THREADS)
    events = [api.item_event("PATCH", pid, body=body, claims=SELLER, headers=headers) for _ in range(THREADS)]

    def one(event: dict) -> Result:
        barrier.wait(timeout=30)
        return api.call("update_product", event)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, events))


def test_same_if_match_exactly_one_wins(api: Api) -> None:
    pid = api.new_product(stock=3)["product_id"]
    results = _race(api, pid, {"stock": 100}, headers={"If-Match": f'"{pid}.1.3"'})
    statuses = sorted(r.status for r in results)
    assert statuses == [200] + [412] * (THREADS - 1), statuses
    (winner,) = [r for r in results if r.status == 200]
    assert winner.json["version"] == 2
    for loser in results:
        if loser.status == 412:
            loser.assert_problem(412)
    current = api.get(pid).json
    assert (current["version"], current["stock"]) == (2, 100)


def test_without_if_match_no_update_is_lost(api: Api) -> None:
    pid = api.new_product(stock=0)["product_id"]
    results = _race(api, pid, {"stock": 7})
    ok = [r for r in results if r.status == 200]
    others = [r for r in results if r.status != 200]
    assert ok, [r.status for r in results]
    assert all(r.status == 409 for r in others), [r.status for r in others]
    for r in others:
        r.assert_problem(409)
    versions = [r.json["version"] for r in ok]
    assert len(set(versions)) == len(versions), f"two writers got the same version: {sorted(versions)}"
    assert sorted(versions) == list(range(2, 2 + len(ok)))
    final = api.get(pid).json
    assert final["version"] == 1 + len(ok)
