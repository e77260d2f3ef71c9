"""No secret in any log line (contract §7): every line that every function of every stack this session started
wrote, at DEBUG (as the dev stage runs), after the whole end-to-end suite has driven them, plus the stacks'
consoles. Runs last (marker ``after_e2e``); on its own it first drives every route itself.

Looked for: the seeded users' passwords and e-mail addresses, the webhook secret, every Secrets Manager value,
anything shaped like a JWT, an e-mail address, a ``Bazaar-Signature`` value or an HMAC signature, and any
``Authorization`` or ``Bearer`` value that is not redacted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bazaar import manifest
from tests.e2e.conftest import FIGURES, STARTED, RunningStack, collect_secrets, principals_of, wait_for
from tests.e2e.recipes import Client, recipe_for, resource_for
from tests.support.authz import OK, PRINCIPALS, expected

pytestmark = [pytest.mark.e2e, pytest.mark.after_e2e]

PATTERNS = {
    "JWT": re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
    "e-mail address": re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
    "signature header value": re.compile(r"t=\d{6,},\s*v1=[0-9a-fA-F]{16,}"),
    "HMAC signature": re.compile(r"\bv1=[0-9a-fA-F]{64}\b"),
    "Bearer credential": re.compile(r"(?i)bearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/\-]{8,}"),
    "Authorization value": re.compile(r'(?i)"authorization"\s*:\s*"(?!\[REDACTED\])[^"]{4,}'),
}


def log_files(stack: RunningStack) -> list[Path]:
    return sorted((stack.local_dir / "logs").glob("*.log")) + [stack.console]


def leaks_in(line: str, secrets: frozenset[str]) -> list[str]:
    found = [name for name, pattern in PATTERNS.items() if pattern.search(line)]
    found += ["a known secret value"] * any(secret in line for secret in secrets)
    return found


def drive_every_route(stack: RunningStack) -> None:
    """So that even run alone, every function has logged something: every route's valid request (tests/e2e/
    recipes.py) as a caller it admits and as anonymous, and the event path that their writes start."""
    client = Client(stack, principals_of(stack))
    for fn in manifest.routes():
        route = fn.route
        assert route is not None
        allowed = next(p for p in PRINCIPALS if expected(route, p) == OK)
        for who in (allowed, "anonymous"):
            recipe_for(route).send(client, client.principals[who], resource_for(client, route))
    assert wait_for(lambda: all((stack.local_dir / "logs" / f"{fn.name}.log").exists() for fn in manifest.FUNCTIONS),
                    timeout_s=20), sorted(p.name for p in (stack.local_dir / "logs").iterdir())


def test_no_log_line_holds_a_secret(stack: RunningStack) -> None:
    drive_every_route(stack)
    scanned, leaks = 0, []
    for running in STARTED:
        secrets = collect_secrets(running) | {u["password"] for u in running.info["users"]} | {
            running.info["payment_webhook_secret"]}
        assert len(secrets) >= 6  # passwords of five users and the webhook secret, at least
        for path in log_files(running):
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                scanned += 1
                if path.suffix == ".log":
                    assert isinstance(json.loads(line), dict), (path, number)  # JSON lines only (contract §1)
                found = leaks_in(line, secrets)
                if found:
                    leaks.append(f"{path.parent.parent.name}/{path.name}:{number}: {', '.join(found)}")
    FIGURES["log lines scanned"] = scanned
    FIGURES["log lines with a secret"] = len(leaks)
    FIGURES["stacks scanned (functions at DEBUG)"] = len(STARTED)
    assert scanned >= len(manifest.FUNCTIONS), scanned
    assert not leaks, "\n".join(leaks[:50])


def test_the_session_stack_logged_every_function_at_debug(stack: RunningStack) -> None:
    logs = stack.local_dir / "logs"
    for fn in manifest.FUNCTIONS:
        text = (logs / f"{fn.name}.log").read_text()
        assert text.strip(), f"{fn.name} wrote no log line: the scan would not cover it"
    env_of_run = json.loads((stack.local_dir / "stack.json").read_text())
    assert env_of_run["api_url"] == stack.url


@pytest.mark.parametrize("line, leak", [
    ('{"message": "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}', "JWT"),
    ('{"message": "mail alice@example.com"}', "e-mail address"),
    ('{"headers": {"bazaar-signature": "t=1796000000,v1=' + "a" * 64 + '"}}', "signature header value"),
    ('{"headers": {"Authorization": "Basic dXNlcjpwYXNz"}}', "Authorization value"),
    ('{"message": "Bearer abcdefghijklmnop"}', "Bearer credential"),
])
def test_the_scan_finds_what_it_looks_for(line: str, leak: str) -> None:
    assert leak in leaks_in(line, frozenset())


@pytest.mark.parametrize("line", [
    '{"message": "audit update_product success", "actor": "2da96692-5cd4-47b0-9e7f-b0769ec1f456"}',
    '{"headers": {"Authorization": "[REDACTED]"}, "message": "Bearer [REDACTED]"}',
    '{"type": "platform.report", "record": {"requestId": "d1b5c7e2-0000-4000-8000-000000000000"}}',
])
def test_the_scan_passes_clean_lines(line: str) -> None:
    assert leaks_in(line, frozenset({"s3cret-password"})) == []
