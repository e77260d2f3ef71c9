"""The local Lambda runtime with throw-away functions: cold/warm, isolation, errors, timeouts, reload, logs."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from bazaar.manifest import GRANT_ENV, Function, Grant, Route
from local import REPO_ROOT
from local.runtime import LambdaRuntime

HANDLERS = {
    "echo": """
import json, os, sys
def handler(event, context):
    try:
        import local  # noqa: F401  (must fail: the repo root is not on a function's path)
        local_importable = True
    except ImportError:
        local_importable = False
    import bazaar  # the shared layer must be importable
    print("plain text line")
    return {"env": dict(os.environ), "sys_path": sys.path, "pid": os.getpid(), "local": local_importable,
            "event": event, "bazaar": bazaar.__file__,
            "context": {"function_name": context.function_name, "version": context.function_version,
                        "arn": context.invoked_function_arn, "memory": context.memory_limit_in_mb,
                        "request_id": context.aws_request_id, "group": context.log_group_name,
                        "stream": context.log_stream_name, "remaining": context.get_remaining_time_in_millis()}}
""",
    "boom": """
import os
def handler(event, context):
    if event.get("ok"):
        return {"pid": os.getpid()}
    raise ValueError("boom")
""",
    "slow": """
import os, time
def handler(event, context):
    remaining = context.get_remaining_time_in_millis()
    time.sleep(event["sleep"])
    return {"pid": os.getpid(), "remaining_at_start": remaining}
""",
    "exiter": """
import sys
def handler(event, context):
    sys.exit(3)
""",
    "broken": """
raise ImportError("no such thing")
""",
    "version": """
VERSION = 1
def handler(event, context):
    return VERSION
""",
}


def _fn(name: str, timeout_s: int = 3, grants: tuple = ()) -> Function:
    return Function(name=name, handler=f"functions.{name}.handler.handler",
                    source=Route("GET", f"/{name}", public=True),
                    grants=grants, timeout_s=timeout_s, memory_mb=192)


FUNCTIONS = [_fn("echo", grants=(Grant.TABLE_READ, Grant.CACHE)), _fn("boom"), _fn("slow", timeout_s=1),
             _fn("exiter"), _fn("broken"), _fn("version")]


@pytest.fixture(scope="module")
def functions_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("src") / "functions"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name, code in HANDLERS.items():
        (root / name).mkdir()
        (root / name / "__init__.py").write_text("")
        (root / name / "handler.py").write_text(code)
    return root


@pytest.fixture(scope="module")
def runtime(functions_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("local")
    rt = LambdaRuntime(FUNCTIONS, lambda fn: {GRANT_ENV[g]: f"value-of-{GRANT_ENV[g]}" for g in fn.grants},
                       "http://127.0.0.1:1", work / "code", work / "logs", max_workers=2, functions_dir=functions_dir)
    yield rt
    rt.shutdown(grace_s=0.5)


def test_cold_then_warm_reuses_the_environment(runtime):
    first = runtime.invoke("echo", {"n": 1})
    second = runtime.invoke("echo", {"n": 2})
    assert first.ok and second.ok
    assert first.cold and not second.cold
    assert first.payload["pid"] == second.payload["pid"]
    assert second.payload["event"] == {"n": 2}


def test_environment_has_exactly_its_grants(runtime):
    env = runtime.invoke("echo", {}).payload["env"]
    assert env["TABLE_NAME"] == "value-of-TABLE_NAME"
    assert env["CACHE_URL"] == "value-of-CACHE_URL"
    for other in set(GRANT_ENV.values()) - {"TABLE_NAME", "CACHE_URL"}:
        assert other not in env
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "bazaar-local-echo"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "192"
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "3"
    assert env["_HANDLER"] == "functions.echo.handler.handler"
    assert env["STAGE"] == "local" and env["POWERTOOLS_SERVICE_NAME"] == "bazaar"
    assert not any(k.startswith("_LOCAL_") for k in env)  # protocol plumbing is not left behind
    assert not any(k.startswith(("BAZAAR_", "PYTEST")) for k in env)  # nothing leaks from the stack's env


def test_sys_path_is_lambda_like(runtime, functions_dir):
    payload = runtime.invoke("echo", {}).payload
    path = payload["sys_path"]
    assert path[0].endswith("/code/echo")  # the function's own asset (/var/task)
    assert path[1] == str(REPO_ROOT / "shared")  # the layer
    assert str(REPO_ROOT) not in path and "" not in path
    assert payload["local"] is False
    assert payload["bazaar"].startswith(str(REPO_ROOT / "shared"))
    code = Path(path[0]) / "functions"
    # code="own": the asset holds only this function
    assert sorted(p.name for p in code.iterdir() if p.name != "__pycache__") == ["__init__.py", "echo"]


def test_context_object(runtime):
    ctx = runtime.invoke("echo", {}).payload["context"]
    assert ctx["function_name"] == "bazaar-local-echo"
    assert ctx["version"] == "$LATEST"
    assert ctx["arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:bazaar-local-echo"
    assert ctx["memory"] == 192
    assert ctx["group"] == "/aws/lambda/bazaar-local-echo"
    assert "[$LATEST]" in ctx["stream"]
    assert 2000 < ctx["remaining"] <= 3000
    assert len(ctx["request_id"]) == 36


def test_unhandled_exception_is_an_error_and_the_environment_survives(runtime):
    ok = runtime.invoke("boom", {"ok": True})
    failed = runtime.invoke("boom", {})
    after = runtime.invoke("boom", {"ok": True})
    assert not failed.ok and failed.error["errorType"] == "ValueError" and failed.error["errorMessage"] == "boom"
    assert failed.error["stackTrace"]
    assert after.ok and not after.cold and after.payload["pid"] == ok.payload["pid"]


def test_timeout_kills_the_environment(runtime):
    warm = runtime.invoke("slow", {"sleep": 0})
    t0 = time.monotonic()
    timed_out = runtime.invoke("slow", {"sleep": 30})
    assert time.monotonic() - t0 < 3
    assert not timed_out.ok and timed_out.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out.error["errorMessage"]
    again = runtime.invoke("slow", {"sleep": 0})
    assert again.ok and again.cold and again.payload["pid"] != warm.payload["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(warm.payload["pid"], 0)


def test_exit_in_handler(runtime):
    result = runtime.invoke("exiter", {})
    assert not result.ok and result.error["errorType"] == "Runtime.ExitError"


def test_import_error_is_an_init_error(runtime):
    result = runtime.invoke("broken", {})
    assert not result.ok and result.error["errorType"] == "Runtime.ImportModuleError"
    assert "no such thing" in result.error["errorMessage"]


def test_concurrent_invokes_get_more_environments_up_to_the_cap(runtime):
    runtime.invoke("slow", {"sleep": 0})
    results = []
    threads = [threading.Thread(target=lambda: results.append(runtime.invoke("slow", {"sleep": 0.6})))
               for _ in range(3)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    assert all(r.ok for r in results)
    pids = {r.payload["pid"] for r in results}
    assert len(pids) == 2  # max_workers=2: the third waited for a free environment
    assert 1.1 < elapsed < 4


def test_waiting_for_an_environment_is_not_charged_against_the_timeout(runtime):
    """slow has a 1 s timeout and 2 environments: the third of three 0.7 s invokes waits ~0.7 s, then runs 0.7 s."""
    runtime.invoke("slow", {"sleep": 0})
    results = []
    t0 = time.monotonic()
    threads = [threading.Thread(target=lambda: results.append((runtime.invoke("slow", {"sleep": 0.7}),
                                                               time.monotonic() - t0))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.ok for r, _ in results), [r.error for r, _ in results]
    (last, elapsed), = [(r, s) for r, s in results if s == max(s for _, s in results)]
    assert elapsed > 1.3  # it waited, and the wait plus the run exceed the timeout
    assert last.payload["remaining_at_start"] > 900  # the clock started when the event reached an environment
    assert runtime.in_flight == 0


def test_invokes_beyond_the_concurrency_limit_are_throttled(functions_dir, tmp_path):
    rt = LambdaRuntime([_fn("slow", timeout_s=3)], lambda fn: {}, "http://127.0.0.1:1", tmp_path / "code",
                       tmp_path / "logs", max_workers=1, functions_dir=functions_dir, concurrency_limit=2)
    try:
        rt.invoke("slow", {"sleep": 0})
        results = []
        threads = [threading.Thread(target=lambda: results.append(rt.invoke("slow", {"sleep": 0.5})))
                   for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while rt.in_flight < 2 and time.monotonic() < deadline:  # one running, one waiting for the environment
            time.sleep(0.01)
        t0 = time.monotonic()
        throttled = rt.invoke("slow", {"sleep": 0})
        assert time.monotonic() - t0 < 0.2  # refused at once, not queued
        for t in threads:
            t.join()
        assert throttled.throttled and not throttled.ok
        assert throttled.error == {"errorType": "TooManyRequestsException", "errorMessage": "Rate Exceeded.",
                                   "Reason": "ConcurrentInvocationLimitExceeded"}
        assert all(r.ok and not r.throttled for r in results)
        assert rt.in_flight == 0
        assert rt.invoke("slow", {"sleep": 0}).ok  # the limit frees up as invokes finish
    finally:
        rt.shutdown(grace_s=0.5)


def test_code_change_is_picked_up_after_recycle(runtime, functions_dir):
    assert runtime.invoke("version", {}).payload == 1
    (functions_dir / "version" / "handler.py").write_text(HANDLERS["version"].replace("VERSION = 1", "VERSION = 2"))
    assert runtime.invoke("version", {}).payload == 1  # warm environment keeps the old module
    runtime.recycle(["version"])
    result = runtime.invoke("version", {})
    assert result.cold and result.payload == 2


def test_logs_are_json_lines(runtime):
    runtime.invoke("echo", {})
    runtime.invoke("boom", {})
    runtime.invoke("slow", {"sleep": 5})
    for name in ("echo", "boom", "slow"):
        lines = (runtime.logs_dir / f"{name}.log").read_text().splitlines()
        assert lines
        records = [json.loads(line) for line in lines]  # every line is JSON
        assert all(isinstance(r, dict) for r in records)
    echo = [json.loads(x) for x in (runtime.logs_dir / "echo.log").read_text().splitlines()]
    assert any(r.get("message") == "plain text line" and r.get("requestId") for r in echo)
    assert any(r.get("type") == "platform.report" for r in echo)
    boom = [json.loads(x) for x in (runtime.logs_dir / "boom.log").read_text().splitlines()]
    assert any(r.get("errorType") == "ValueError" for r in boom)
    slow = [json.loads(x) for x in (runtime.logs_dir / "slow.log").read_text().splitlines()]
    assert any("Task timed out" in r.get("errorMessage", "") for r in slow)
