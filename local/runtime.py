"""The local Lambda service: execution environments (worker processes) per function, cold and warm.

- An environment is a ``lambda_bootstrap.py`` process, started on the first invoke (cold) and reused (warm).
  Concurrent invokes of one function get more environments, up to ``max_workers``; beyond that, invokes wait
  for a free one. AWS would have started more environments, so the wait is local only: it is not charged
  against the function's timeout, which starts when the event reaches an environment (init has its own limit).
- Concurrency: every invoke in flight (running or waiting for an environment) counts against the account's
  concurrency, ``concurrency_limit`` (AWS's default is 1,000 per Region, shared by unreserved functions). An
  invoke beyond it is throttled at once: ``TooManyRequestsException``, as Lambda answers a synchronous invoke.
- Environment variables: OS basics, Lambda's reserved variables, ``base_environment`` and exactly the
  function's grant variables.
- Timeouts kill the environment (as on AWS: the next invoke is cold); an unhandled exception does not.
- ``recycle()`` retires environments after a code change: the next invoke is cold and sees the new code.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import struct
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from bazaar.manifest import Function
from bazaar.resources import base_environment
from bazaar.runtime import LAMBDA_PYTHON_VERSION
from local import SHARED_DIR
from local.config import (DEFAULT_CONCURRENCY, DUMMY_CREDENTIALS, FUNCTIONS_DIR, REGION, STAGE, function_arn,
                          physical_function_name)
from local.procs import signal_group, stop_all

BOOTSTRAP = Path(__file__).resolve().parent / "lambda_bootstrap.py"
INIT_TIMEOUT_S = 10.0  # Lambda's init phase limit
THROTTLED = {"errorType": "TooManyRequestsException", "errorMessage": "Rate Exceeded.",
             "Reason": "ConcurrentInvocationLimitExceeded"}
_HEADER = struct.Struct(">I")


class WorkerDied(Exception):
    pass


class InvokeTimeout(Exception):
    pass


@dataclass
class InvokeResult:
    """Outcome of one invoke. ``payload`` is the handler's return value when ``ok``."""

    ok: bool
    payload: Any = None
    error: Optional[dict[str, Any]] = None
    cold: bool = False
    duration_ms: float = 0.0
    request_id: str = ""

    @property
    def error_type(self) -> str:
        return (self.error or {}).get("errorType", "")

    @property
    def throttled(self) -> bool:
        """Refused by Lambda before any environment saw the event."""
        return self.error_type == THROTTLED["errorType"]


def worker_environment(fn: Function, grant_env: dict[str, str], endpoint_url: str, code_dir: Path) -> dict[str, str]:
    """A function's environment: nothing inherited from the stack process but OS basics."""
    name = physical_function_name(fn.name)
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "LAMBDA_TASK_ROOT": str(code_dir),
        "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{LAMBDA_PYTHON_VERSION}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout_s),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "",  # per environment, set at spawn
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "_HANDLER": fn.handler,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint_url,
        # The developer's ~/.aws must not leak into local functions (profiles, real endpoints).
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        **DUMMY_CREDENTIALS,
    }
    env.update(base_environment(STAGE, fn))
    env.update(grant_env)
    return env


def layer_paths() -> list[str]:
    """The "layers": the shared package (bazaar) and the dependencies (the venv's site-packages are already on
    the interpreter's path; the repo root is not)."""
    return [str(SHARED_DIR)]


def build_code_dir(root: Path, fn: Function, functions_dir: Path = FUNCTIONS_DIR) -> Path:
    """``<root>/<name>/functions/{__init__.py,<name>}`` as symlinks: the function's asset, live-edited.

    ``code="all"`` functions (API docs) get every function package, like their CDK asset. Synced in place
    (add missing links, drop stale ones), never wiped: a running environment may be importing from it.
    """
    code_dir = root / fn.name
    pkg = code_dir / "functions"
    pkg.mkdir(parents=True, exist_ok=True)
    init = functions_dir / "__init__.py"
    _link(pkg / "__init__.py", init if init.exists() else None)
    if fn.code == "all":
        wanted = {p.name for p in functions_dir.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    else:
        wanted = {fn.name} if (functions_dir / fn.name).is_dir() else set()
    for entry in pkg.iterdir():
        if entry.name not in wanted and entry.name not in ("__init__.py", "__pycache__"):
            entry.unlink()
    for name in wanted:
        _link(pkg / name, functions_dir / name)
    return code_dir


def _link(path: Path, target: Optional[Path]) -> None:
    """Make ``path`` a symlink to ``target`` (an empty file when there is no target)."""
    if target is None:
        if path.is_symlink():
            path.unlink()
        if not path.exists():
            path.write_text("")
        return
    if path.is_symlink() and os.readlink(path) == str(target):
        return
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(target, target_is_directory=target.is_dir())


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
    chunks, left = [], n
    while left:
        wait = deadline - time.monotonic()
        poller = select.poll()  # poll, not select: select() refuses descriptors >= 1024 (many open sockets)
        poller.register(fd, select.POLLIN)
        if wait <= 0 or not poller.poll(wait * 1000):
            raise InvokeTimeout()
        chunk = os.read(fd, left)
        if not chunk:
            raise WorkerDied()
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float) -> dict[str, Any]:
    size = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))[0]
    return json.loads(_read_exact(fd, size, deadline))


class Worker:
    """One execution environment."""

    def __init__(self, fn: Function, env: dict[str, str], log_path: Path, generation: int) -> None:
        self.fn, self.generation = fn, generation
        self.invocations = 0
        self.last_used = time.monotonic()
        request_r, self._request_w = os.pipe()
        self._response_r, response_w = os.pipe()
        env = dict(env)
        today = datetime.now(timezone.utc).strftime("%Y/%m/%d")
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = f"{today}/[$LATEST]{secrets.token_hex(16)}"
        env["_LOCAL_PARENT_PID"] = str(os.getpid())
        env["_LOCAL_LAYER_PATHS"] = os.pathsep.join(layer_paths())
        self.log_stream = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        with open(log_path, "ab") as log:
            # -I: isolated mode, so the bootstrap's own directory and the repo root stay off sys.path.
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(BOOTSTRAP), str(request_r), str(response_w)],
                env=env, cwd=env["LAMBDA_TASK_ROOT"], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                pass_fds=(request_r, response_w), start_new_session=True, close_fds=True,
            )
        os.close(request_r)
        os.close(response_w)
        self._closed = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout_s: float = INIT_TIMEOUT_S) -> Optional[dict[str, Any]]:
        """None when initialised, else the init error (import failure, crash, init timeout)."""
        try:
            msg = _read_frame(self._response_r, time.monotonic() + timeout_s)
        except InvokeTimeout:
            return {"errorType": "Runtime.InitTimeout", "errorMessage": f"init exceeded {timeout_s:.0f} s"}
        except WorkerDied:
            return {"errorType": "Runtime.ExitError", "errorMessage": "the runtime exited during init"}
        return None if msg.get("type") == "ready" else msg.get("error", {"errorType": "Runtime.Unknown"})

    def invoke(self, event: dict[str, Any], request_id: str, trace_id: str) -> tuple[bool, Any]:
        """Run one event. Raises InvokeTimeout (worker must be killed) or WorkerDied."""
        self.invocations += 1
        deadline_wall_ms = int(time.time() * 1000) + self.fn.timeout_s * 1000
        request = {"requestId": request_id, "deadlineMs": deadline_wall_ms, "traceId": trace_id,
                   "invokedFunctionArn": function_arn(self.fn.name), "event": event}
        body = json.dumps(request).encode()
        try:
            data = memoryview(_HEADER.pack(len(body)) + body)
            while data:
                data = data[os.write(self._request_w, data):]
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied() from exc
        msg = _read_frame(self._response_r, time.monotonic() + self.fn.timeout_s)
        self.last_used = time.monotonic()
        if msg.get("ok"):
            return True, json.loads(msg["payload"])
        return False, msg.get("error")

    def close(self) -> None:
        """Ask the worker to exit (EOF on its request channel); ``kill`` if it must die now."""
        if not self._closed:
            self._closed = True
            for fd in (self._request_w, self._response_r):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def kill(self) -> None:
        self.close()
        signal_group(self.proc, 9)
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass


@dataclass
class _Pool:
    fn: Function
    idle: list[Worker] = field(default_factory=list)
    busy: set[Worker] = field(default_factory=set)
    starting: int = 0
    generation: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def size(self) -> int:
        return len(self.idle) + len(self.busy) + self.starting


class LambdaRuntime:
    def __init__(self, functions: Iterable[Function], grant_env: Callable[[Function], dict[str, str]],
                 endpoint_url: str, code_root: Path, logs_dir: Path, max_workers: int = 4,
                 functions_dir: Path = FUNCTIONS_DIR, concurrency_limit: int = DEFAULT_CONCURRENCY) -> None:
        self._pools = {fn.name: _Pool(fn) for fn in functions}
        self._grant_env = grant_env
        self._endpoint_url = endpoint_url
        self._code_root, self._logs_dir, self._functions_dir = code_root, logs_dir, functions_dir
        self.max_workers = max_workers
        self.concurrency_limit = concurrency_limit
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._closed = False
        self._retired: list[subprocess.Popen] = []
        self._retired_lock = threading.Lock()  # appended by request threads, pruned by the watcher thread
        self._code_lock = threading.Lock()
        self._stale_code: set[str] = set(self._pools)  # code dirs (re)built lazily before a cold start
        code_root.mkdir(parents=True, exist_ok=True)
        logs_dir.mkdir(parents=True, exist_ok=True)

    @property
    def logs_dir(self) -> Path:
        return self._logs_dir

    # --- environments --------------------------------------------------------------------------------------
    def _spawn(self, pool: _Pool) -> Worker:
        fn = pool.fn
        with self._code_lock:
            if fn.name in self._stale_code:
                build_code_dir(self._code_root, fn, self._functions_dir)
                self._stale_code.discard(fn.name)
        code_dir = self._code_root / fn.name
        env = worker_environment(fn, self._grant_env(fn), self._endpoint_url, code_dir)
        return Worker(fn, env, self._logs_dir / f"{fn.name}.log", pool.generation)

    def _acquire(self, pool: _Pool) -> tuple[Worker, bool]:
        with pool.cond:
            while True:
                if self._closed:
                    raise RuntimeError("the local Lambda service is shutting down")
                if pool.idle:
                    worker = pool.idle.pop()  # most recently used first, like Lambda's warm reuse
                    pool.busy.add(worker)
                    return worker, False
                if pool.size < self.max_workers:
                    pool.starting += 1
                    break
                pool.cond.wait(0.5)
        try:
            worker = self._spawn(pool)
        except BaseException:
            with pool.cond:
                pool.starting -= 1
                pool.cond.notify()
            raise
        with pool.cond:
            pool.starting -= 1
            pool.busy.add(worker)
        return worker, True

    def _release(self, pool: _Pool, worker: Worker, healthy: bool) -> None:
        with pool.cond:
            pool.busy.discard(worker)
            keep = healthy and not self._closed and worker.generation == pool.generation
            if keep:
                pool.idle.append(worker)
            pool.cond.notify()
        if not keep:
            self._retire(worker, kill=not healthy)

    def _retire(self, worker: Worker, kill: bool) -> None:
        if kill:
            worker.kill()
        else:
            worker.close()  # exits on EOF; reaped at shutdown or by reap()
            with self._retired_lock:
                self._retired.append(worker.proc)

    # --- invoke --------------------------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        """Invokes running or waiting for an environment, across all functions."""
        return self._in_flight

    def invoke(self, name: str, event: dict[str, Any], trace_id: Optional[str] = None) -> InvokeResult:
        """Run one event synchronously. Throttled (``result.throttled``) beyond the concurrency limit."""
        pool = self._pools[name]
        request_id = str(uuid.uuid4())
        with self._in_flight_lock:
            if self._in_flight >= self.concurrency_limit:
                return InvokeResult(False, error=dict(THROTTLED), request_id=request_id)
            self._in_flight += 1
        try:
            return self._invoke(pool, event, request_id, trace_id)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1

    def _invoke(self, pool: _Pool, event: dict[str, Any], request_id: str, trace_id: Optional[str]) -> InvokeResult:
        trace_id = trace_id or f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Sampled=0"
        t0 = time.monotonic()
        worker, cold = self._acquire(pool)
        if cold:
            try:
                init_error = worker.wait_ready()
            except BaseException:  # never leave a worker marked busy: its slot would be lost for good
                self._release(pool, worker, healthy=False)
                raise
            if init_error is not None:
                self._release(pool, worker, healthy=False)
                return InvokeResult(False, error=init_error, cold=True, request_id=request_id,
                                    duration_ms=(time.monotonic() - t0) * 1000)
        healthy = True
        try:
            ok, value = worker.invoke(event, request_id, trace_id)
            result = InvokeResult(ok, value if ok else None, None if ok else value, cold, request_id=request_id)
        except InvokeTimeout:
            healthy = False
            message = f"Task timed out after {pool.fn.timeout_s:.2f} seconds"
            self._platform_log(pool.fn, {"requestId": request_id, "level": "ERROR", "errorType": "Sandbox.Timedout",
                                         "errorMessage": message})
            result = InvokeResult(False, error={"errorType": "Sandbox.Timedout", "errorMessage": message},
                                  cold=cold, request_id=request_id)
        except WorkerDied:
            healthy = False
            message = "Runtime exited without providing a reason"
            self._platform_log(pool.fn, {"requestId": request_id, "level": "ERROR", "errorType": "Runtime.ExitError",
                                         "errorMessage": message})
            result = InvokeResult(False, error={"errorType": "Runtime.ExitError", "errorMessage": message},
                                  cold=cold, request_id=request_id)
        except BaseException:  # a protocol or OS error: the environment can't be trusted, but its slot is freed
            self._release(pool, worker, healthy=False)
            raise
        self._release(pool, worker, healthy)
        result.duration_ms = (time.monotonic() - t0) * 1000
        return result

    def _platform_log(self, fn: Function, record: dict[str, Any]) -> None:
        line = json.dumps({"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **record})
        with open(self._logs_dir / f"{fn.name}.log", "a", encoding="utf-8") as log:
            log.write(line + "\n")

    # --- lifecycle -----------------------------------------------------------------------------------------
    def recycle(self, names: Optional[Iterable[str]] = None) -> list[str]:
        """Code changed: retire environments of ``names`` (all by default); their next invoke is cold."""
        names = list(self._pools) if names is None else [n for n in names if n in self._pools]
        for name in names:
            pool = self._pools[name]
            with pool.cond:
                pool.generation += 1
                idle, pool.idle = pool.idle, []
            for worker in idle:
                self._retire(worker, kill=False)
        with self._code_lock:
            self._stale_code.update(names)
        return names

    def reap(self, idle_ttl_s: float) -> None:
        """Stop environments idle longer than ``idle_ttl_s`` (Lambda reclaims idle ones too); reap exited ones."""
        now = time.monotonic()
        for pool in self._pools.values():
            with pool.cond:
                stale = [w for w in pool.idle if now - w.last_used > idle_ttl_s]
                pool.idle = [w for w in pool.idle if w not in stale]
            for worker in stale:
                self._retire(worker, kill=False)
        with self._retired_lock:
            self._retired = [p for p in self._retired if p.poll() is None]

    def workers(self) -> dict[str, list[int]]:
        """Live worker pids per function (diagnostics, tests, the RSS report)."""
        out: dict[str, list[int]] = {}
        for name, pool in self._pools.items():
            with pool.cond:
                out[name] = [w.pid for w in (*pool.idle, *pool.busy)]
        return out

    def shutdown(self, grace_s: float = 1.0) -> None:
        self._closed = True
        procs: list[subprocess.Popen] = list(self._retired)
        for pool in self._pools.values():
            with pool.cond:
                idle, busy = pool.idle, list(pool.busy)
                pool.idle = []
                pool.cond.notify_all()
            for worker in idle:
                worker.close()
            # A busy worker's pipes belong to the thread invoking it: only signal the process; that thread
            # then sees EOF and cleans up.
            procs.extend(w.proc for w in (*idle, *busy))
        stop_all(procs, grace_s=grace_s)
