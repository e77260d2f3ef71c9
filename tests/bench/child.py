"""Runs inside one fresh interpreter per measurement; executed by path, standard library only.

Usage: python -I -B child.py MODE MODULE ATTR PATHS [OPTIONS_JSON]
  MODE: "import" (time importing MODULE), "cold" (import MODULE, then invoke MODULE.ATTR once with a given event:
  a Lambda cold start), "floor" (import boto3 and create one DynamoDB client: the cold-start floor) or "warm"
  (invoke MODULE.ATTR many times); PATHS: os.pathsep-joined;
  OPTIONS_JSON (cold): event_path, events_path, function_name, expect, trace_header;
  (warm): n, method, path, route_key, function_name, events_path.
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
    rss_kib = _peak_rss_kib()
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


def _now():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def _peak_rss_kib():
    """VmHWM: the peak resident set of this process image (ru_maxrss would carry the forking parent's peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu_ms():
    """CPU time of this process so far (user + system): far steadier than wall time on a busy host."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000.0


def _floor(spec):
    """What any Python Lambda that calls DynamoDB pays at least: boto3 and one client. The runtime's share is set
    up first, as for a function (json, the event, the context)."""
    import json

    with open(spec["event_path"]) as f:
        json.load(f)
    _load_events(spec.get("events_path"))
    t0 = _now()
    import boto3

    boto3.client("dynamodb")
    done = _now()
    return {"started_ns": _STARTED_NS, "init_ms": (done - t0) / 1e6, "invoke_ms": 0.0, "done_ns": done,
            "cpu_ms": _cpu_ms(), "rss_kib": _peak_rss_kib()}


class _AwsWait:
    """Time spent waiting on AWS (here: moto) during the first invocation: every botocore HTTP round trip. Hooked
    in when botocore.endpoint is first imported (by the function, whenever it does), so the hook adds no import."""

    def __init__(self):
        self.ns = 0
        self.calls = 0
        self.active = False

    def find_spec(self, fullname, path, target=None):
        if fullname != "botocore.endpoint":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        exec_module = spec.loader.exec_module
        wait = self

        def patched(module):
            exec_module(module)
            send = module.Endpoint._send

            def timed(endpoint, request):
                t0 = time.perf_counter_ns()
                try:
                    return send(endpoint, request)
                finally:
                    if wait.active:
                        wait.ns += time.perf_counter_ns() - t0
                        wait.calls += 1

            module.Endpoint._send = timed

        spec.loader.exec_module = patched
        return spec


def _cold(name, attr, spec):
    """Init (import the handler module) + the first invocation with the given event, as Lambda runs them."""
    import importlib.util
    import json
    import os

    with open(spec["event_path"]) as f:  # the runtime has the event before it calls the handler
        event = json.load(f)
    _, FakeContext = _load_events(spec.get("events_path"))
    context = FakeContext(spec.get("function_name") or "bench")
    aws = _AwsWait()
    if "botocore.endpoint" not in sys.modules:
        sys.meta_path.insert(0, aws)
    t0 = _now()
    module = importlib.import_module(name)
    handler = getattr(module, attr or "handler")
    t1 = _now()
    if spec.get("trace_header"):
        os.environ["_X_AMZN_TRACE_ID"] = spec["trace_header"]  # set by Lambda per invocation (active tracing)
    aws.active = True
    result = handler(event, context)
    done = _now()
    aws.active = False
    expect = spec.get("expect", 200)
    if expect:
        status = int(result.get("statusCode", 0))
        if status != expect:
            raise RuntimeError(f"first invocation answered {status}, expected {expect}: {str(result)[:500]}")
    elif result.get("batchItemFailures"):
        raise RuntimeError(f"first invocation failed items: {result}")
    return {"started_ns": _STARTED_NS, "init_ms": (t1 - t0) / 1e6, "invoke_ms": (done - t1) / 1e6,
            "aws_wait_ms": aws.ns / 1e6, "aws_calls": aws.calls, "done_ns": done, "cpu_ms": _cpu_ms(),
            "rss_kib": _peak_rss_kib(),
            "loaded": [m for m in WATCH if m in sys.modules], "modules": len(sys.modules)}


def _cache(name, attr, spec):
    """Warm invocations of a read route, cached against uncached (the entry dropped just before), interleaved; then
    the same request mix with and without the cache, counting the DynamoDB reads the table served."""
    import copy
    import json

    import botocore.client
    import redis

    reads = {"n": 0}
    make_api_call = botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):  # every DynamoDB read of the function, as sent
        if operation_name in ("GetItem", "Query", "BatchGetItem", "Scan"):
            reads["n"] += 1
        return make_api_call(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counting
    module = importlib.import_module(name)
    handler = getattr(module, attr or "handler")
    _, FakeContext = _load_events(spec.get("events_path"))
    context = FakeContext(spec.get("function_name") or "bench")
    valkey = redis.Redis.from_url(spec["cache_url"], decode_responses=True)
    events = spec["events"]  # one per key: [{"event": ..., "forget": ["del"|"incr", key]}]

    def forget(item):
        op, key = item["forget"]
        valkey.delete(key) if op == "del" else valkey.incr(key)

    def invoke(item):
        event = copy.deepcopy(item["event"])
        t0 = time.perf_counter_ns()
        result = handler(event, context)
        t1 = time.perf_counter_ns()
        if int(result.get("statusCode", 0)) != 200:
            raise RuntimeError(f"answered {result.get('statusCode')}: {str(result)[:300]}")
        return t1 - t0, result["headers"].get("X-Cache")

    for item in events[:5]:  # warm: clients, connections, lazy imports, validation models
        invoke(item)
    cached, uncached = [], []
    for i in range(spec["n"]):
        item = events[i % len(events)]
        forget(item)
        ns, state = invoke(item)
        if state != "MISS":
            raise RuntimeError(f"expected a miss, got {state}")
        uncached.append(ns)
        ns, state = invoke(item)
        if state != "HIT":
            raise RuntimeError(f"expected a hit, got {state}")
        cached.append(ns)

    def workload(with_cache):
        for item in events:
            forget(item)
        reads["n"] = 0
        hits = 0
        for step, (index, change) in enumerate(spec["workload"]):
            item = events[index]
            if change or not with_cache:
                forget(item)  # a change to what this request reads (or no cache at all)
            _, state = invoke(item)
            hits += state == "HIT"
        return reads["n"], hits

    reads_cached, hits = workload(True)
    reads_uncached, _ = workload(False)
    return {"cached_us": _summary_us(cached), "uncached_us": _summary_us(uncached),
            "workload": {"requests": len(spec["workload"]), "reads_with_cache": reads_cached,
                         "reads_without_cache": reads_uncached, "hits": hits}}


def main():
    import os

    mode, name, attr, paths = sys.argv[1:5]
    sys.path[:0] = [p for p in paths.split(os.pathsep) if p]
    try:
        if mode == "import":
            result = _measure_import(name, attr)
        elif mode == "floor":
            import json

            result = _floor(json.loads(sys.argv[5]))
        elif mode == "cold":
            import json

            result = _cold(name, attr, json.loads(sys.argv[5]))
        elif mode == "cache":
            import json

            with open(sys.argv[5]) as f:
                result = _cache(name, attr, json.load(f))
        else:
            import json

            result = _warm(name, attr, json.loads(sys.argv[5]))
    except BaseException as exc:  # report, don't crash: the parent shows the error in the table
        import traceback

        result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-2000:]}
    _emit(result)


if __name__ == "__main__":
    main()
