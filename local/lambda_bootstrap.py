"""One Lambda execution environment: the program every local function worker runs.

Started by ``local/runtime.py`` as ``python -I lambda_bootstrap.py`` (isolated mode: the repo root is NOT on
sys.path, so neither ``local`` nor ``infra`` can be imported by a function, as on AWS). Deliberately
stand-alone: stdlib only, nothing from ``local``.

Phases, as in Lambda: init (sys.path, import the handler module once) then invokes, one at a time, until the
request channel closes. The protocol runs over two dedicated pipe fds (length-prefixed JSON frames), never
stdout/stderr: those are the function's log (``.local/logs/<function>.log``), where every line is JSON:
Powertools' lines pass through, anything else (print, warnings, tracebacks) is wrapped like Lambda's JSON
log format does, plus ``platform.start``/``platform.report`` records.
"""

from __future__ import annotations

import decimal
import importlib
import io
import json
import logging
import os
import struct
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from typing import Any, Optional

_HEADER = struct.Struct(">I")
_current_request_id: Optional[str] = None


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _JsonLines(io.TextIOBase):
    """sys.stdout/sys.stderr replacement: complete JSON-object lines pass through, other text is wrapped."""

    def __init__(self, fd: int, level: str) -> None:
        self._fd, self._level, self._buf = fd, level, ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        with self._lock:
            self._buf += s
            while "\n" in self._buf:
                line, self._buf = self._buf.split("\n", 1)
                self._emit(line)
        return len(s)

    def flush(self) -> None:
        pass  # partial lines wait for their newline; each complete line is written at once

    def close_partial(self) -> None:
        with self._lock:
            if self._buf:
                self._emit(self._buf)
                self._buf = ""

    def _emit(self, line: str) -> None:
        if not line.strip():
            return
        text = line
        if not (line.startswith("{") and _is_json_object(line)):
            record = {"timestamp": _now_iso(), "level": self._level, "message": line}
            if _current_request_id:
                record["requestId"] = _current_request_id
            text = json.dumps(record)
        _write_all(self._fd, (text + "\n").encode("utf-8", "replace"))


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _RuntimeJsonFormatter(logging.Formatter):
    """The Python runtime's JSON log format (``AWS_LAMBDA_LOG_FORMAT=JSON``): what the root logger's handler writes
    for any logger without a handler of its own (botocore, urllib3, ... unless their level keeps them quiet)."""

    _RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        result: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": logging.getLevelName(min(50, max(0, record.levelno)) // 10 * 10),
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": _current_request_id,
        }
        if record.exc_info:
            result["errorType"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            result["errorMessage"] = str(record.exc_info[1])
            result["stackTrace"] = traceback.format_tb(record.exc_info[2])
        result.update((k, v) for k, v in vars(record).items() if k not in self._RESERVED and k not in result)
        return json.dumps({k: v for k, v in result.items() if v is not None}, default=str, ensure_ascii=False)


def _setup_runtime_logging(stream: io.TextIOBase) -> None:
    """As the Lambda Python runtime does before it imports the handler: with JSON logging, a root handler in its
    JSON format, and the root logger at ``AWS_LAMBDA_LOG_LEVEL`` (so DEBUG there makes every library verbose)."""
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() != "JSON":
        return
    handler = logging.StreamHandler(stream)  # type: ignore[arg-type]
    handler.setFormatter(_RuntimeJsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = {"TRACE": "DEBUG"}.get(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper(),
                                   os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper())
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)


def _log(record: dict[str, Any]) -> None:
    """A platform/runtime record, written like Lambda's JSON log format."""
    _write_all(1, (json.dumps({"time": _now_iso(), **record}) + "\n").encode())


def _read_exact(fd: int, n: int) -> Optional[bytes]:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> Optional[dict[str, Any]]:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(header)[0])
    return None if body is None else json.loads(body)


def _send(fd: int, message: dict[str, Any]) -> None:
    body = json.dumps(message, default=_json_default).encode()
    _write_all(fd, _HEADER.pack(len(body)) + body)


def _json_default(value: Any) -> Any:
    """What Lambda's Python runtime serializes beyond plain JSON: Decimal (as a number)."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class LambdaContext:
    """Same attributes and method as the Python runtime's context object."""

    def __init__(self, request: dict[str, Any]) -> None:
        env = os.environ
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = request["invokedFunctionArn"]
        self.memory_limit_in_mb = int(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = request["requestId"]
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(request["deadlineMs"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException, error_type: Optional[str] = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


def _watch_parent(parent: int) -> None:
    """Exit if the stack's main process disappears, even in the middle of a (stuck) invocation."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def main() -> None:
    global _current_request_id
    request_fd, response_fd = int(sys.argv[1]), int(sys.argv[2])
    parent = int(os.environ.pop("_LOCAL_PARENT_PID"))
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()

    stdout, stderr = _JsonLines(1, "INFO"), _JsonLines(2, "ERROR")
    sys.stdout, sys.stderr = stdout, stderr  # before any import, so loggers bind to the wrappers
    _setup_runtime_logging(stdout)

    # sys.path like Lambda's: the function's code (/var/task), then the layer (/opt/python), then the runtime.
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    layers = [p for p in os.environ.pop("_LOCAL_LAYER_PATHS").split(os.pathsep) if p]
    sys.path[:0] = [task_root, *layers]
    os.chdir(task_root)

    started = time.monotonic()
    module_name, _, attr = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # Runtime.ImportModuleError / Runtime.HandlerNotFound: reported on the invoke
        kind = "Runtime.HandlerNotFound" if isinstance(exc, AttributeError) else "Runtime.ImportModuleError"
        error = _error(exc, kind)
        _log({"type": "platform.initRuntimeError", "record": {"errorType": kind}, **error})
        _send(response_fd, {"type": "init_error", "error": error})
        stderr.close_partial()
        os._exit(1)
    init_ms = (time.monotonic() - started) * 1000
    _send(response_fd, {"type": "ready", "initMs": init_ms})

    first = True
    while True:
        request = _read_frame(request_fd)
        if request is None:  # the stack closed the channel: shutdown or recycle
            stdout.close_partial()
            stderr.close_partial()
            os._exit(0)
        _current_request_id = request["requestId"]
        os.environ["_X_AMZN_TRACE_ID"] = request.get("traceId", "")
        _log({"type": "platform.start", "record": {"requestId": _current_request_id, "version": "$LATEST"}})
        t0 = time.monotonic()
        try:
            result = handler(request["event"], LambdaContext(request))
            body = json.dumps(result, default=_json_default)
            message: dict[str, Any] = {"type": "result", "ok": True, "payload": body}
        except Exception as exc:  # an unhandled error: logged like Lambda, the environment stays usable
            error = _error(exc)
            if isinstance(exc, TypeError) and "not JSON serializable" in str(exc):
                error["errorType"] = "Runtime.MarshalError"
            _log({"level": "ERROR", "requestId": _current_request_id, **error})
            message = {"type": "result", "ok": False, "error": error}
        duration_ms = (time.monotonic() - t0) * 1000
        stdout.close_partial()
        stderr.close_partial()
        metrics = {"durationMs": round(duration_ms, 2), "billedDurationMs": int(duration_ms) + 1,
                   "memorySizeMB": int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
                   "maxMemoryUsedMB": _max_rss_mb()}
        if first:
            metrics["initDurationMs"] = round(init_ms, 2)
        _log({"type": "platform.report", "record": {"requestId": _current_request_id, "metrics": metrics,
                                                    "status": "success" if message["ok"] else "error"}})
        _send(response_fd, message)
        first = False
        _current_request_id = None


def _max_rss_mb() -> int:
    """Peak RSS of this environment (VmHWM: unlike ru_maxrss it does not count the forking parent)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    main()
