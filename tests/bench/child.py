"""Runs inside one fresh interpreter per measurement; executed by path, standard library only.

Usage: python -I -B child.py MODE MODULE ATTR PATHS [OPTIONS_JSON]
  MODE: "import" (time importing MODULE) or "warm" (invoke MODULE.ATTR many times); PATHS: os.pathsep-joined;
  OPTIONS_JSON (warm only): n, method, path, route_key, function_name, events_path.
  The arguments are plain strings so that nothing (not even json) is imported before the measured import.

``-I`` keeps the caller's PYTHONPATH, user site and current directory off ``sys.path``; ``paths`` are then put in
front, in Lambda's order (code dir, layers). Interpreter start-up is measured from outside: this script reports the
system-wide CLOCK_MONOTONIC time at which it began running and the parent subtracts the time it spawned it. Results go
to stdout as one line ``BENCH_RESULT <json>``; anything else the handler prints is ignored.
"""

import time

_STARTED_NS = time.clock_gettime_ns(time.CLOCK_MONOTONIC)  # first thing: "interpreter is up"

import importlib  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

MARKER = "BENCH_RESULT "
# Modules worth flagging when a handler's import pulls them in (JSON: "loaded").
WATCH = (
    "boto3", "botocore", "pynamodb", "redis", "pydantic", "aws_xray_sdk", "jmespath",
    "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
    "aws_lambda_powertools.event_handler.openapi.models",
    "aws_lambda_powertools.event_handler.openapi.swagger_ui",
    "aws_lambda_powertools.utilities.idempotency",
    "bazaar.web.openapi",
)


def _emit(result):
    import json  # only after measuring, so the "bare" baseline pays for json itself

    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


def _measure_import(name, attr):
    before = len(sys.modules)
    sys.stderr.write("BENCH_IMPORT_BEGIN\n")  # brackets the lines of ``-X importtime`` that belong to it
    sys.stderr.flush()
    c0, t0 = time.process_time(), time.perf_counter()
    module = importlib.import_module(name)
    t1, c1 = time.perf_counter(), time.process_time()
    sys.stderr.write("BENCH_IMPORT_END\n")
    sys.stderr.flush()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
    if attr and not callable(getattr(module, attr, None)):
        raise TypeError(f"{name}.{attr} is not callable")
    return {
        "started_ns": _STARTED_NS,
        "import_ms": (t1 - t0) * 1000.0,
        "import_cpu_ms": (c1 - c0) * 1000.0,  # CPU time: far less sensitive than wall time to a busy host
        "rss_kib": rss_kib,
        "modules_before": before,
        "modules_after": len(sys.modules),
        "loaded": [m for m in WATCH if m in sys.modules],
    }


def _load_events(path):
    """tests/support/events.py loaded by file path (the repo root stays off sys.path); minimal stand-ins if absent."""
    if path:
        import importlib.util

        spec = importlib.util.spec_from_file_location("_bench_events", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod.http_event, mod.FakeContext

    class FakeContext:
        def __init__(self, name="bench"):
            self.function_name = name
            self.function_version = "$LATEST"
            self.memory_limit_in_mb = 128
            self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
            self.aws_request_id = "00000000-0000-0000-0000-000000000000"
            self.log_group_name = f"/aws/lambda/{name}"
            self.log_stream_name = "bench"

        def get_remaining_time_in_millis(self):
            return 10_000

    def http_event(method, path, route_key=None, **_):
        key = route_key or f"{method} {path}"
        return {"version": "2.0", "routeKey": key, "rawPath": path, "rawQueryString": "", "headers": {},
                "requestContext": {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
                                   "requestId": "bench", "routeKey": key, "stage": "$default"},
                "isBase64Encoded": False}

    return http_event, FakeContext


def _percentile(sorted_values, q):
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _summary_us(samples_ns):
    s = sorted(x / 1000.0 for x in samples_ns)
    return {"median": _percentile(s, 0.5), "p90": _percentile(s, 0.9), "min": s[0], "n": len(s)}


def _warm(name, attr, spec):
    """Invoke the handler ``n`` times in this (already warm) process, interleaved with a trivial handler."""
    import copy

    module = importlib.import_module(name)
    handler = getattr(module, attr or "handler")
    http_event, FakeContext = _load_events(spec.get("events_path"))
    method, path = spec["method"], spec["path"]
    event = http_event(method, path, route_key=spec.get("route_key") or f"{method} {path}")
    context = FakeContext(spec.get("function_name") or "bench")

    def trivial(e, c):
        return {"statusCode": 200}

    first = handler(copy.deepcopy(event), context)
    status = int(first.get("statusCode", 0))
    if status != 200:
        raise RuntimeError(f"warm-up invocation answered {status}: {first.get('body')!r}")
    for _ in range(min(20, spec["n"])):  # warm caches (lazy imports inside the resolver, lru_caches)
        handler(copy.deepcopy(event), context)
        trivial(copy.deepcopy(event), context)
    clock = time.perf_counter_ns
    handler_ns, trivial_ns = [], []
    for _ in range(spec["n"]):
        e1, e2 = copy.deepcopy(event), copy.deepcopy(event)  # a fresh event each time, copied outside the clock
        t0 = clock()
        trivial(e1, context)
        t1 = clock()
        handler(e2, context)
        t2 = clock()
        trivial_ns.append(t1 - t0)
        handler_ns.append(t2 - t1)
    return {"status": status, "handler_us": _summary_us(handler_ns), "trivial_us": _summary_us(trivial_ns)}


def main():
    import os

    mode, name, attr, paths = sys.argv[1:5]
    sys.path[:0] = [p for p in paths.split(os.pathsep) if p]
    try:
        if mode == "import":
            result = _measure_import(name, attr)
        else:
            import json

            result = _warm(name, attr, json.loads(sys.argv[5]))
    except BaseException as exc:  # report, don't crash: the parent shows the error in the table
        import traceback

        result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-2000:]}
    _emit(result)


if __name__ == "__main__":
    main()
