"""Start-up and shutdown as a developer sees them: port taken, `make token`, clean stop within 5 s."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from local.procs import descendants, pid_alive
from tests.e2e.conftest import PYTHON, REPO, http, stack_env, start_stack, stop_stack

pytestmark = pytest.mark.e2e


def run_cli(args: list[str], env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(PYTHON), "-m", "local", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_port_taken_exits_at_once_with_a_clear_message(stack, tmp_path):
    t0 = time.monotonic()
    out = run_cli(["run"], stack_env(stack.port, tmp_path / ".local"), timeout=20)
    assert out.returncode != 0
    assert time.monotonic() - t0 < 5
    assert f"127.0.0.1:{stack.port}" in out.stderr and "PORT=" in out.stderr
    assert not (tmp_path / ".local" / "stack.json").exists()
    assert http("GET", stack.url + "/health").status == 200  # the running stack is untouched


def test_port_taken_by_another_program(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        out = run_cli(["run"], stack_env(s.getsockname()[1], tmp_path / ".local"), timeout=20)
    assert out.returncode == 2 and "PORT=" in out.stderr


def test_second_stack_in_the_same_directory_is_refused(stack):
    from tests.e2e.conftest import free_port

    out = run_cli(["run"], stack_env(free_port(), stack.local_dir), timeout=20)
    assert out.returncode == 2 and "already running" in out.stderr
    assert (stack.local_dir / "stack.json").exists()  # the running stack's file is untouched


def test_make_token_prints_a_working_access_token(stack):
    seller = next(u for u in stack.info["users"] if u["group"] == "seller")
    out = run_cli(["token", seller["username"]], stack_env(stack.port, stack.local_dir))
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.count(".") == 2
    resp = http("POST", stack.url + "/products", token=token, body={"name": "t", "price_cents": 1, "currency": "EUR"})
    assert resp.status == 201


SEEDED = "alice, bob (customer); carol, dave (seller); erin (admin)"


def test_token_for_unknown_user_or_no_stack(stack, tmp_path):
    out = run_cli(["token", "mallory"], stack_env(stack.port, stack.local_dir))
    assert out.returncode == 1 and "unknown user 'mallory'" in out.stderr and SEEDED in out.stderr
    out = run_cli(["token", "alice"], stack_env(stack.port, tmp_path / "nowhere"))
    assert out.returncode == 1 and "not running" in out.stderr
    out = run_cli(["token", "seller1"], stack_env(stack.port, tmp_path / "nowhere"))  # named even with no stack
    assert out.returncode == 1 and SEEDED in out.stderr


@pytest.mark.parametrize("make_args, login", [(["USER="], "root"), ([], "root")],
                         ids=["USER= empty", "no USER= (the shell's login name)"])
def test_make_token_names_the_seeded_users_when_user_is_missing(stack, make_args, login):
    env = {**stack_env(stack.port, stack.local_dir), "USER": login}
    out = subprocess.run(["make", "-s", "token", *make_args], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and out.stdout == ""
    assert SEEDED in out.stderr and "make token USER=alice" in out.stderr


def test_sigterm_stops_everything_within_5_seconds(tmp_path):
    own = start_stack(tmp_path / ".local")
    for path in ("/health", "/products", "/openapi.json"):  # start a few function environments
        assert http("GET", own.url + path).status == 200
    children = descendants(own.proc.pid)
    assert len(children) >= 5  # moto, valkey, three workers
    elapsed = stop_stack(own, timeout_s=10)
    assert own.proc.returncode == 0
    assert elapsed < 5.0, elapsed
    time.sleep(0.2)
    assert [pid for pid in children if pid_alive(pid)] == []
    assert not (own.local_dir / "stack.json").exists()


def test_children_exit_when_the_stack_is_killed(tmp_path):
    """SIGKILL leaves no time to clean up: moto and Valkey get PR_SET_PDEATHSIG, workers watch their parent."""
    own = start_stack(tmp_path / ".local")
    assert http("GET", own.url + "/health").status == 200
    children = descendants(own.proc.pid)
    own.proc.kill()
    own.proc.wait()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(pid_alive(p) for p in children):
        time.sleep(0.05)
    assert [pid for pid in children if pid_alive(pid)] == []
