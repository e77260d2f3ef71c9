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

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "bin" / "python"
READY_TIMEOUT_S = 60


def pytest_configure(config: pytest.Config) -> None:  # harmless if pyproject registers it too
    config.addinivalue_line("markers", "e2e: starts the local stack as a subprocess and drives it over HTTP")


# Figures measured along the way (never asserted as speed): printed after the run and kept in build/figures/.
FIGURES: dict[str, Any] = {}
FIGURES_DIR = REPO / "build" / "figures"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    (FIGURES_DIR / "e2e.json").write_text(json.dumps(FIGURES, indent=2) + "\n")
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"e2e figure {name}: {json.dumps(value)}")


def handler_missing(fn) -> bool:
    """Manifest entries can land before their handler: such routes are skipped, not failed."""
    return not (REPO / "functions" / fn.name / "handler.py").exists()


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
    return RunningStack(proc, local_dir, console, port, json.loads(stack_json.read_text()))


def stop_stack(stack: RunningStack, timeout_s: float = 5.0) -> float:
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
    running = start_stack(tmp_path_factory.mktemp("stack") / ".local", BAZAAR_LOCAL_RETRY_VISIBILITY_S="0")
    yield running
    stop_stack(running)


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


