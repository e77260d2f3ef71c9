"""``python -m local run``: start everything, write ``stack.json`` when ready, stop everything on a signal.

Start-up order (each step only after the previous one can succeed):
1. bind the API port (a taken port exits at once, before anything heavy starts);
2. spawn moto and Valkey (in parallel, from the main thread: they get PR_SET_PDEATHSIG);
3. provision AWS resources and seed users (from the manifest/resources), build the gateway, runtime, pollers;
4. serve, seed demo products, write ``stack.json`` (atomically, 0600: it holds passwords), print the URL.
Shutdown (Ctrl-C/SIGTERM): stop pollers and the gateway, then SIGTERM every child group at once, SIGKILL
stragglers; well under the 5 s budget. ``stack.json`` is removed so nothing reads a dead stack's endpoints.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

from local.config import (CONCURRENCY_ENV, DEFAULT_CONCURRENCY, DEFAULT_MAX_WORKERS, FUNCTION_ENV_ENV, FUNCTIONS_DIR,
                          MAX_WORKERS_ENV, REGION, RETRY_VISIBILITY_ENV, SHARED_DIR, Paths, function_env_overrides)


class _Shutdown(BaseException):
    """Raised in the main thread by the first SIGINT/SIGTERM to abort start-up or leave the wait loop."""


def _say(msg: str) -> None:
    print(msg, flush=True)


def write_stack_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)  # readers see the whole file or none


def run(port: int) -> int:
    t_start = time.monotonic()
    paths = Paths.from_env()
    paths.root.mkdir(parents=True, exist_ok=True)

    from local import gateway as gw

    try:
        server = gw.bind(port)
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{port} ({exc.strerror}). Another stack or program uses it;"
              f" stop it or choose another port: PORT=3001 make run", file=sys.stderr)
        return 2
    # One stack per directory: a second one (other port, same .local) would overwrite the first's stack.json.
    lock = open(paths.root / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        server.server_close()
        print(f"error: another local stack is already running from {paths.root}; stop it first",
              file=sys.stderr)
        return 2
    # Only now (no other stack is serving from here) can the file be stale: it must not look ready.
    paths.stack_json.unlink(missing_ok=True)

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if not stop.is_set():
            stop.set()
            raise _Shutdown()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    children: list[subprocess.Popen] = []
    runtime = None
    serving = False
    try:
        for d in (paths.logs, paths.services):
            d.mkdir(parents=True, exist_ok=True)
        for old in paths.logs.glob("*.log"):  # this run's logs only
            old.unlink()
        from local import services

        pending_moto = services.start_moto(paths)
        children.append(pending_moto.proc)
        valkey = services.start_valkey(paths)
        children.append(valkey.proc)

        # Heavy imports while moto boots.
        from bazaar import manifest
        from local import provision
        from local.access_log import RecordingAuthorizer
        from local.authorizer import JwtAuthorizer, http_jwks_fetcher
        from local.runtime import LambdaRuntime
        from local.sqs_poller import SqsPoller
        from local.stream_poller import CheckpointReporter, StreamPoller
        from local.watcher import CodeWatcher

        moto = pending_moto.wait()
        services.wait_valkey(valkey)
        prov = provision.provision(moto.url, valkey.url)

        log = gw.timestamped_print  # one console, one lock: gateway and poller lines never interleave

        max_workers = int(os.environ.get(MAX_WORKERS_ENV) or DEFAULT_MAX_WORKERS)
        for fn in manifest.FUNCTIONS:  # a grant the stack cannot provide: say so now, not at the first request
            try:
                prov.function_grant_env(fn)
            except RuntimeError as exc:
                log(f"warn   {exc}")
        overrides = function_env_overrides()
        unknown = sorted(set(overrides) - set(manifest.BY_NAME))
        if unknown:
            raise ValueError(f"{FUNCTION_ENV_ENV} names unknown functions: {unknown}")

        def function_env(fn: Any) -> dict[str, str]:
            return {**prov.function_grant_env(fn), **overrides.get(fn.name, {})}

        concurrency = int(os.environ.get(CONCURRENCY_ENV) or DEFAULT_CONCURRENCY)
        runtime = LambdaRuntime(manifest.FUNCTIONS, function_env, moto.url, paths.code, paths.logs,
                                max_workers=max_workers, concurrency_limit=concurrency)
        jwks_url = f"{moto.url}/{prov.user_pool_id}/.well-known/jwks.json"  # moto's host, not the iss host
        authorizer = RecordingAuthorizer(  # tells the access log the caller's sub, or why the token was refused
            JwtAuthorizer(prov.issuer, [prov.user_pool_client_id], http_jwks_fetcher(jwks_url)))
        gateway = gw.Gateway(gw.build_router(list(manifest.FUNCTIONS)), authorizer, runtime, port, say=log)

        retry_env = os.environ.get(RETRY_VISIBILITY_ENV)
        retry_visibility = int(retry_env) if retry_env else None
        sqs = provision.client("sqs", moto.url)
        threads: list[threading.Thread] = []
        for fn in manifest.queue_consumers():
            threads.append(SqsPoller(fn, prov.queues[fn.name], provision.client("sqs", moto.url), runtime, stop,
                                     log, retry_visibility))
        reporter = CheckpointReporter(moto.url)  # moto keeps a stream record until every consumer has passed it
        reporter.register(prov.stream_arn, [fn.name for fn in manifest.stream_consumers()])
        for fn in manifest.stream_consumers():
            threads.append(StreamPoller(fn, prov.stream_arn, provision.client("dynamodbstreams", moto.url),
                                        sqs, prov.dlqs[fn.name], runtime, stop, log, reporter))
        threads.append(CodeWatcher(runtime, list(manifest.FUNCTIONS), FUNCTIONS_DIR, SHARED_DIR, stop, log))
        for t in threads:
            t.start()
        server.serve_in_thread(gateway)
        serving = True

        product_ids: list[str] = []
        try:
            from local.seed import seed_products

            product_ids = seed_products(prov)
        except Exception as exc:  # the stack stays useful without demo data
            log(f"seed   demo products skipped: {type(exc).__name__}: {exc}")

        api_url = f"http://127.0.0.1:{port}"
        write_stack_json(paths.stack_json, {
            "api_url": api_url,
            "aws_endpoint_url": moto.url,
            "region": REGION,
            "table_name": prov.table_name,
            "user_pool_id": prov.user_pool_id,
            "user_pool_client_id": prov.user_pool_client_id,
            "payment_webhook_secret": prov.webhook_secret,
            "users": [{"username": u.username, "password": u.password, "group": u.group, "sub": u.sub}
                      for u in prov.users],
            # Additions (contract §1 allows extra keys):
            "pid": os.getpid(),
            "cache_url": valkey.url,
            "events_topic_arn": prov.topic_arn,
            "stream_arn": prov.stream_arn,
            "queues": {name: {"url": q.url, "arn": q.arn, "dlq_url": prov.dlqs[name].url}
                       for name, q in prov.queues.items()},
            "dlqs": {name: q.url for name, q in prov.dlqs.items()},
            "delivery_dlqs": {name: q.url for name, q in prov.delivery_dlqs.items()},
            "mail_sender": prov.mail_sender,
            "logs_dir": str(paths.logs),
            "demo_product_ids": product_ids,
        })
        by_group: dict[str, list[str]] = {}
        for u in prov.users:
            by_group.setdefault(u.group, []).append(u.username)
        _say(f"Bazaar local stack ready in {time.monotonic() - t_start:.1f} s\n"
             f"  API        {api_url}   (try: curl {api_url}/health)\n"
             f"  users      " + "; ".join(f"{', '.join(v)} ({k})" for k, v in by_group.items()) + "\n"
             f"  token      make token USER={prov.users[0].username}   (passwords: {paths.stack_json})\n"
             f"  AWS        {moto.url} (moto)   cache {valkey.url}\n"
             f"  logs       {paths.logs}/<function>.log\n"
             f"Ctrl-C to stop.")
        while not stop.wait(0.5):
            pass
    except _Shutdown:
        pass
    except Exception as exc:
        print(f"error: the local stack failed to start: {type(exc).__name__}: {exc}", file=sys.stderr)
        stop.set()
        _shutdown(paths, server, serving, runtime, children)
        return 1
    _shutdown(paths, server, serving, runtime, children)
    return 0


def _shutdown(paths: Paths, server: Any, serving: bool, runtime: Optional[Any],
              children: list[subprocess.Popen]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    t0 = time.monotonic()
    paths.stack_json.unlink(missing_ok=True)
    if serving:
        server.shutdown()
    server.server_close()
    from local.procs import stop_all

    threads = []
    if runtime is not None:
        threads.append(threading.Thread(target=runtime.shutdown, kwargs={"grace_s": 1.5}))
    threads.append(threading.Thread(target=stop_all, args=(children,), kwargs={"grace_s": 1.5}))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=4.0)
    print(f"stopped in {time.monotonic() - t0:.1f} s", flush=True)
