"""Who did what, when, against the running stack: ``make audit`` (``python -m local audit``) over the functions'
audit records and the gateway's access log, and the CloudWatch metric filters read against the same lines."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bazaar.resources import ACCESS_LOG_FILE, ACCESS_LOG_FORMAT
from infra.insights import AUDIT_FIELDS, METRIC_FILTERS
from tests.support.filter_pattern import matches

from .conftest import PYTHON, REPO, RunningStack, http, stack_env, tokens

pytestmark = pytest.mark.e2e

NEW = {"name": "Audit lamp", "price_cents": 1999, "currency": "EUR", "stock": 5}


def users(stack: RunningStack, group: str) -> list[dict[str, str]]:
    return [u for u in stack.info["users"] if u["group"] == group]


def make_audit(stack: RunningStack, *args: str) -> subprocess.CompletedProcess:
    """`make audit ...` runs exactly this (Makefile), in the stack's directory."""
    return subprocess.run([str(PYTHON), "-m", "local", "audit", *args], cwd=REPO, capture_output=True, text=True,
                          env=stack_env(stack.port, stack.local_dir), timeout=60)


def audit_json(stack: RunningStack, *args: str) -> list[dict[str, Any]]:
    proc = make_audit(stack, "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def wait_lines(path, predicate, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [json.loads(l) for l in path.read_text().splitlines() if l.startswith("{")] if path.exists() else []
        found = [l for l in lines if predicate(l)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture(scope="module")
def trail(stack: RunningStack) -> dict[str, Any]:
    """One story: refused anonymous and customer creates, a seller's create, an admin's change, another seller's
    refused delete and a delete with a bad token."""
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    customer, seller, seller2, admin = (users(stack, "customer")[0], *users(stack, "seller")[:2],
                                        users(stack, "admin")[0])
    tok = {u["username"]: tokens(stack, u["username"])["AccessToken"] for u in (customer, seller, seller2, admin)}
    url = stack.url
    assert http("POST", f"{url}/products", NEW).status == 401
    assert http("POST", f"{url}/products", NEW, token=tok[customer["username"]]).status == 403
    created = http("POST", f"{url}/products", NEW, token=tok[seller["username"]])
    assert created.status == 201
    pid = created.json()["product_id"]
    assert http("PATCH", f"{url}/products/{pid}", {"stock": 2}, token=tok[admin["username"]]).status == 200
    assert http("DELETE", f"{url}/products/{pid}", token=tok[seller2["username"]]).status == 403
    assert http("DELETE", f"{url}/products/{pid}", token="not.a.token").status == 401
    return {"start": start, "pid": pid, "customer": customer, "seller": seller, "seller2": seller2, "admin": admin,
            "tokens": tok}


def test_make_audit_answers_who_did_what_to_a_resource(stack: RunningStack, trail: dict[str, Any]) -> None:
    pid = trail["pid"]
    records = audit_json(stack, "--resource", f"/products/{pid}")
    got = [(r["actor"], r["action"], r["outcome"], r["status"], r["source"]) for r in records]
    assert got == [
        (trail["seller"]["sub"], "create_product", "success", 201, "function"),
        (trail["admin"]["sub"], "update_product", "success", 200, "function"),
        (trail["seller2"]["sub"], "delete_product", "denied", 403, "function"),
        ("anonymous", "delete_product", "denied", 401, "gateway"),  # never reached the function
    ]
    assert records[1]["roles"] == ["admin"]
    times = [r["time"] for r in records]
    assert times == sorted(times)


def test_make_audit_filters_by_actor_outcome_action_and_time(stack: RunningStack, trail: dict[str, Any]) -> None:
    since = trail["start"].isoformat()
    by_customer = audit_json(stack, "--actor", trail["customer"]["username"], "--since", since)
    assert [(r["action"], r["resource"], r["outcome"], r["status"]) for r in by_customer] == [
        ("create_product", "/products", "denied", 403)]
    denied_creates = audit_json(stack, "--outcome", "denied", "--action", "create_*", "--since", since)
    assert [(r["actor"], r["status"], r["source"]) for r in denied_creates] == [
        ("anonymous", 401, "gateway"), (trail["customer"]["sub"], 403, "function")]
    assert audit_json(stack, "--resource", f"/products/{trail['pid']}", "--until",
                      (trail["start"] - timedelta(seconds=1)).isoformat()) == []
    table = make_audit(stack, "--resource", f"/products/{trail['pid']}")
    assert table.returncode == 0 and trail["admin"]["username"] in table.stdout  # usernames, not subs
    assert "4 record(s)" in table.stdout
    bad = make_audit(stack, "--outcome", "maybe")
    assert bad.returncode == 1 and "unknown outcome" in bad.stderr


def test_access_log_has_the_deployed_format_and_no_credentials(stack: RunningStack, trail: dict[str, Any]) -> None:
    path = stack.local_dir / "logs" / ACCESS_LOG_FILE
    mine = wait_lines(path, lambda l: l.get("path") == f"/products/{trail['pid']}")
    assert all(list(line) == list(ACCESS_LOG_FORMAT) for line in mine)
    refused = [l for l in mine if l["authorizerError"] != "-"]
    assert [(l["method"], l["status"], l["sub"]) for l in refused] == [("DELETE", "401", "-")]
    admin = [l for l in mine if l["method"] == "PATCH"]
    assert [l["sub"] for l in admin] == [trail["admin"]["sub"]]
    text = path.read_text()
    for token in trail["tokens"].values():
        assert token not in text and token.split(".")[2] not in text
    assert "Bearer" not in text and "@" not in text


def test_metric_filters_count_the_right_lines(stack: RunningStack, trail: dict[str, Any]) -> None:
    """The CloudWatch patterns (infra/insights.py) read against the lines this stack wrote."""
    access = wait_lines(stack.local_dir / "logs" / ACCESS_LOG_FILE,
                        lambda l: l.get("path") in ("/products", f"/products/{trail['pid']}"))
    audits = [json.loads(l) for name in ("create_product", "update_product", "delete_product")
              for l in stack.log(name).splitlines() if l.startswith("{") and '"audit"' in l]
    mine = [a for a in audits if a.get("resource") == f"/products/{trail['pid']}"]

    def counted(metric: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [l for l in lines if matches(METRIC_FILTERS[metric][1], json.dumps(l))]

    assert {(l["method"], l["path"]) for l in counted("FailedAuth", access)} >= {
        ("POST", "/products"), ("DELETE", f"/products/{trail['pid']}")}
    assert all(l["status"] == "401" for l in counted("FailedAuth", access))
    assert {(l["method"], l["sub"]) for l in counted("Forbidden", access)} >= {
        ("POST", trail["customer"]["sub"]), ("DELETE", trail["seller2"]["sub"])}
    assert [(a["actor"], a["action"]) for a in counted("AdminActions", mine)] == [
        (trail["admin"]["sub"], "update_product")]
    for record in mine:  # every field the saved audit queries show exists in a real record (roles.N: a list)
        assert {f.split(".")[0] for f in AUDIT_FIELDS if not f.startswith("@")} <= set(record)
        assert isinstance(record["roles"], list) and record["audit"] is True
