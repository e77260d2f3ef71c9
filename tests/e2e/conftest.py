"""One local stack for the e2e session, started exactly as ``make run`` starts it, driven over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from tests.support.authz import GROUP_OF, PRINCIPALS

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "bin" / "python"
READY_TIMEOUT_S = 60


# Every stack this session starts, so the log scan (test_log_scan.py) can read all of their logs at the end.
STARTED: list["RunningStack"] = []
# Figures measured along the way (never asserted as speed): the security tests' counts (hostile cases, matrix
# cells, log lines) and the cache-fault bounds. Printed after the run and kept in build/figures/e2e.json.
FIGURES: dict[str, Any] = {}
FIGURES_DIR = REPO / "build" / "figures"


def pytest_configure(config: pytest.Config) -> None:  # harmless if pyproject registers it too
    config.addinivalue_line("markers", "e2e: starts the local stack as a subprocess and drives it over HTTP")
    config.addinivalue_line("markers", "after_e2e: runs after every other test of the session (it reads their logs)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``after_e2e`` run last, whatever their file name: they read what the others left behind."""
    items.sort(key=lambda item: item.get_closest_marker("after_e2e") is not None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    (FIGURES_DIR / "e2e.json").write_text(json.dumps(FIGURES, indent=2) + "\n")
    terminalreporter.section("e2e figures")
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name}: {json.dumps(value)}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(port: int, local_dir: Path, **extra: str) -> dict[str, str]:
    """A developer's shell: no test-process settings (STAGE, POWERTOOLS_*, AWS_*) leak into the stack."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "POWERTOOLS_", "PYTEST", "BAZAAR_")) and k != "STAGE"}
    env.update(PORT=str(port), BAZAAR_LOCAL_DIR=str(local_dir), **extra)
    return env


@dataclass
class RunningStack:
    proc: subprocess.Popen
    local_dir: Path
    console: Path
    port: int
    info: dict[str, Any]
    secrets: Optional[frozenset[str]] = None  # every secret value this stack holds (see collect_secrets)

    @property
    def url(self) -> str:
        return self.info["api_url"]

    def console_text(self) -> str:
        return self.console.read_text(errors="replace")

    def log(self, function: str) -> str:
        path = self.local_dir / "logs" / f"{function}.log"
        return path.read_text() if path.exists() else ""


def start_stack(local_dir: Path, port: Optional[int] = None, **extra_env: str) -> RunningStack:
    port = port or free_port()
    local_dir.mkdir(parents=True, exist_ok=True)
    console = local_dir / "console.txt"
    with open(console, "wb") as out:
        # exactly what `make run` runs (Makefile: PORT=$(PORT) .venv/bin/python -m local run), from the repo root
        proc = subprocess.Popen([str(PYTHON), "-m", "local", "run"], cwd=REPO,
                                env=stack_env(port, local_dir, **extra_env), stdout=out, stderr=subprocess.STDOUT)
    stack_json = local_dir / "stack.json"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not stack_json.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"stack exited with {proc.returncode}:\n{console.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"stack not ready within {READY_TIMEOUT_S} s:\n{console.read_text()}")
        time.sleep(0.05)
    running = RunningStack(proc, local_dir, console, port, json.loads(stack_json.read_text()))
    STARTED.append(running)
    return running


def collect_secrets(stack: RunningStack) -> frozenset[str]:
    """What no log line may contain: the seeded users' passwords and e-mail addresses, the webhook secret, and
    every Secrets Manager value (the cursor signing key among them). Read while the stack runs, then kept."""
    if stack.secrets is None and stack.proc.poll() is None:
        values = {u["password"] for u in stack.info["users"]} | {stack.info["payment_webhook_secret"]}
        sm = aws(stack, "secretsmanager")
        for secret in sm.list_secrets()["SecretList"]:
            values.add(sm.get_secret_value(SecretId=secret["ARN"])["SecretString"])
        idp = aws(stack, "cognito-idp")
        for user in idp.list_users(UserPoolId=stack.info["user_pool_id"])["Users"]:
            values |= {a["Value"] for a in user["Attributes"] if a["Name"] == "email"}
        stack.secrets = frozenset(v for v in values if v)
    return stack.secrets or frozenset()


def stop_stack(stack: RunningStack, timeout_s: float = 5.0) -> float:
    if stack.proc.poll() is None:
        collect_secrets(stack)  # the log scan needs them after the stack is gone
    t0 = time.monotonic()
    if stack.proc.poll() is None:
        stack.proc.send_signal(signal.SIGTERM)
        try:
            stack.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stack.proc.kill()
            stack.proc.wait()
    return time.monotonic() - t0


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[RunningStack]:
    # Failed messages become visible again at once (instead of the queue's 60 s) so retries fit in a test.
    # Functions log at DEBUG, as in the dev stage: test_log_scan.py reads every line the whole suite caused.
    running = start_stack(tmp_path_factory.mktemp("stack") / ".local", BAZAAR_LOCAL_RETRY_VISIBILITY_S="0",
                          BAZAAR_LOCAL_LOG_LEVEL="DEBUG")
    yield running
    stop_stack(running)


# --- who calls: the seeded users by role (contract §1: at least two customers, two sellers, one admin) ----------

@dataclass(frozen=True)
class Principal:
    name: str
    group: Optional[str]  # None: anonymous
    username: Optional[str]
    sub: Optional[str]
    token: Optional[str]  # a real access token from Cognito (moto)


def principals_of(stack: RunningStack) -> dict[str, Principal]:
    out = {"anonymous": Principal("anonymous", None, None, None, None)}
    for name in PRINCIPALS[1:]:
        group = GROUP_OF[name]
        assert group is not None
        users = [u for u in stack.info["users"] if u["group"] == group]
        user = users[1] if name.startswith("other_") else users[0]
        token = tokens(stack, user["username"])["AccessToken"]
        out[name] = Principal(name, group, user["username"], user["sub"], token)
    return out


@pytest.fixture(scope="session")
def principals(stack: RunningStack) -> dict[str, Principal]:
    return principals_of(stack)


# --- HTTP -------------------------------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: Any = None, token: Optional[str] = None,
         headers: Optional[dict[str, str]] = None, timeout: float = 30) -> Response:
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("content-type", "application/json")
    if token:
        hdrs["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def aws(stack: RunningStack, service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=stack.info["aws_endpoint_url"], region_name=stack.info["region"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def tokens(stack: RunningStack, username: str) -> dict[str, str]:
    """Real Cognito tokens (moto): AccessToken, IdToken, RefreshToken."""
    user = next(u for u in stack.info["users"] if u["username"] == username)
    return aws(stack, "cognito-idp").initiate_auth(
        ClientId=stack.info["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": user["password"]})["AuthenticationResult"]


def wait_for(predicate, timeout_s: float = 15.0, interval_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval_s)


