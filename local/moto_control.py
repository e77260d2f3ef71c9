"""What the local moto server does besides answering AWS APIs: stream retention, TTL expiry, and a small control
API for the stack's own processes.

Control routes (loopback only, under ``/_bazaar/``; an S3 bucket can't be named ``_bazaar``, so no AWS request
path collides with them):

- ``POST /_bazaar/streams/consumers`` ``{"stream_arn": ..., "consumers": [name, ...]}``: the event source
  mappings reading a stream. Registered before any of them polls, so none can miss a record.
- ``POST /_bazaar/streams/checkpoint`` ``{"stream_arn": ..., "consumer": ..., "sequence_number": "..."}``: the
  last record a consumer has fully handled. Records every registered consumer has passed are trimmed at once.
- ``POST /_bazaar/sweep``: run the maintenance below now (tests use it instead of waiting).
- ``GET /_bazaar/stats``: what the server retains (items, stream records, iterators, notifications, receipts)
  and its resident memory: the figures the soak and the memory tests watch. With ``PYTHONTRACEMALLOC=1`` in the
  stack's environment, ``?allocations=N`` adds the N source lines holding the most memory (for leak hunts).

Maintenance, every ``SWEEP_INTERVAL_S`` in a background thread:
- stream records older than 24 hours are trimmed, as DynamoDB Streams does;
- items whose TTL attribute (a Number, epoch seconds) has passed are deleted, as DynamoDB's TTL does, with a
  REMOVE stream record whose ``userIdentity`` is the DynamoDB service. Expiry times more than five years in the
  past are ignored (DynamoDB does not delete those either). AWS deletes expired items within days; here within a
  sweep interval, which is inside what AWS promises.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Optional

from local import moto_patches

PREFIX = "/_bazaar/"
SWEEP_INTERVAL_S = 30.0
TTL_MAX_AGE_S = 5 * 365 * 24 * 3600
TTL_USER_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}  # GetRecords' Identity shape


def _tables() -> Iterator[Any]:
    from moto.dynamodb.models import dynamodb_backends

    for regions in list(dynamodb_backends.values()):
        for backend in list(regions.values()):
            yield from list(backend.tables.values())


def _table_of_stream(stream_arn: str) -> Any:
    """``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`` -> the table."""
    from moto.dynamodb.models import dynamodb_backends

    parts = stream_arn.split(":", 5)
    if len(parts) != 6 or "/stream/" not in parts[5]:
        raise ValueError(f"not a stream ARN: {stream_arn!r}")
    region, account, resource = parts[3], parts[4], parts[5]
    return dynamodb_backends[account][region].get_table(resource.split("/")[1])


class StreamConsumers:
    """The consumers registered for each stream and the last sequence number each has handled."""

    def __init__(self) -> None:
        self._checkpoints: dict[str, dict[str, Optional[int]]] = {}
        self._guard = threading.Lock()

    def register(self, stream_arn: str, consumers: Iterable[str]) -> None:
        with self._guard:
            known = self._checkpoints.setdefault(stream_arn, {})
            for name in consumers:
                known.setdefault(name, None)

    def report(self, stream_arn: str, consumer: str, sequence_number: int) -> int:
        """Record a checkpoint; returns the number of records trimmed because of it."""
        with self._guard:
            known = self._checkpoints.setdefault(stream_arn, {})
            known[consumer] = max(sequence_number, known.get(consumer) or 0)
        return self.trim(stream_arn)

    def passed_by_all(self, stream_arn: str) -> Optional[int]:
        """The highest sequence number every registered consumer has handled (None: someone hasn't started)."""
        with self._guard:
            checkpoints = list(self._checkpoints.get(stream_arn, {}).values())
        if not checkpoints or any(c is None for c in checkpoints):
            return None
        return min(c for c in checkpoints if c is not None)

    def trim(self, stream_arn: str) -> int:
        through = self.passed_by_all(stream_arn)
        if through is None:
            return 0
        with moto_patches.lock():
            shard = _table_of_stream(stream_arn).stream_shard
            return moto_patches.trim_stream(shard, through=through) if shard is not None else 0

    def streams(self) -> list[str]:
        with self._guard:
            return list(self._checkpoints)


def expire_ttl_items(now: Optional[float] = None) -> int:
    """Delete every item whose TTL has passed, in every table with TTL enabled. Returns how many."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    now = time.time() if now is None else now
    expired = 0
    with moto_patches.lock():
        for table in _tables():
            if table.ttl.get("TimeToLiveStatus") != "ENABLED" or not table.ttl.get("AttributeName"):
                continue
            attr = table.ttl["AttributeName"]
            due = []
            for item in moto_patches.iter_items(table):
                value: Optional[DynamoType] = item.attrs.get(attr)
                if value is None or value.type != "N":
                    continue
                try:
                    at = float(value.value)
                except ValueError:
                    continue
                if now - TTL_MAX_AGE_S <= at < now:
                    due.append((item.hash_key, item.range_key))
            for hash_key, range_key in due:
                if table.delete_item(hash_key, range_key) is not None:
                    expired += 1
                    if table.stream_shard is not None and table.stream_shard.items:
                        table.stream_shard.items[-1].record["userIdentity"] = dict(TTL_USER_IDENTITY)
    return expired


def sweep(consumers: StreamConsumers, now: Optional[float] = None) -> dict[str, int]:
    """One maintenance pass: TTL expiry, then stream trimming (24 h retention and consumers' checkpoints)."""
    expired = expire_ttl_items(now)
    trimmed = 0
    with moto_patches.lock():
        for table in _tables():
            if table.stream_shard is not None:
                trimmed += moto_patches.trim_stream(table.stream_shard)
    for stream_arn in consumers.streams():
        try:
            trimmed += consumers.trim(stream_arn)
        except Exception:  # the table was deleted (e.g. a reset): nothing to trim
            pass
    return {"expired": expired, "trimmed": trimmed}


def allocations(top: int) -> list[dict[str, Any]]:
    """The source lines holding the most memory now (empty unless tracemalloc is tracing)."""
    import tracemalloc

    if not tracemalloc.is_tracing() or top <= 0:
        return []
    gc.collect()  # garbage in cycles is not held memory
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    return [{"where": str(stat.traceback), "kib": round(stat.size / 1024, 1), "blocks": stat.count}
            for stat in snapshot.statistics("lineno")[:top]]


def live_models() -> dict[str, int]:
    """Live instances of each moto model class (``service.Class``) that has any."""
    from moto.core.model_instances import model_data

    out = {}
    for service, models in list(model_data.items()):
        for name, model in list(models.items()):
            count = len(getattr(model, "instances_tracked", ()))
            if count:
                out[f"{service}.{name}"] = count
    return out


def stats() -> dict[str, Any]:
    """What the server retains, per table, stream, topic and queue, plus its resident memory."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    from local.procs import rss_kib

    out: dict[str, Any] = {"rss_kib": rss_kib(os.getpid()), "tables": {}, "topics": {}, "queues": {}}
    with moto_patches.lock():
        for table in _tables():
            shard = table.stream_shard
            out["tables"][table.name] = {
                "items": sum(1 for _ in moto_patches.iter_items(table)),
                "partitions": len(table.items),
                "stream_records": len(shard.items) if shard is not None else 0,
                "stream_trimmed": (shard.starting_sequence_number - moto_patches.first_sequence_number(shard)
                                   if shard is not None else 0),
            }
        out["shard_iterators"] = sum(len(b.shard_iterators) for regions in list(dynamodbstreams_backends.values())
                                     for b in list(regions.values()))
    out["live_models"] = live_models()
    for regions in list(sns_backends.values()):
        for backend in list(regions.values()):
            for arn, topic in list(backend.topics.items()):
                out["topics"][arn.rsplit(":", 1)[-1]] = {"sent_notifications": len(topic.sent_notifications)}
    for regions in list(sqs_backends.values()):
        for backend in list(regions.values()):
            for name, queue in list(backend.queues.items()):
                out["queues"][name] = {"messages": len(queue._messages),
                                       "deleted_receipts": len(queue.deleted_messages)}
    return out


def control_app(app: Callable[..., Any], consumers: StreamConsumers) -> Callable[..., Any]:
    """Wrap moto's WSGI app: ``/_bazaar/...`` is answered here, everything else by moto."""

    def answer(start_response: Callable[..., Any], status: str, body: Any) -> list[bytes]:
        data = b"" if body is None else json.dumps(body).encode()
        start_response(status, [("content-type", "application/json"), ("content-length", str(len(data)))])
        return [data]

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return app(environ, start_response)
        method, route = environ.get("REQUEST_METHOD", "GET"), path[len(PREFIX):]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            if (method, route) == ("GET", "stats"):
                query = dict(p.partition("=")[::2] for p in environ.get("QUERY_STRING", "").split("&") if p)
                return answer(start_response, "200 OK", {**stats(), "allocations": allocations(
                    int(query.get("allocations") or 0))})
            if (method, route) == ("POST", "sweep"):
                return answer(start_response, "200 OK", sweep(consumers))
            if (method, route) == ("POST", "streams/consumers"):
                consumers.register(str(body["stream_arn"]), [str(c) for c in body["consumers"]])
                return answer(start_response, "204 No Content", None)
            if (method, route) == ("POST", "streams/checkpoint"):
                trimmed = consumers.report(str(body["stream_arn"]), str(body["consumer"]),
                                           int(body["sequence_number"]))
                return answer(start_response, "200 OK", {"trimmed": trimmed})
            return answer(start_response, "404 Not Found", {"message": f"no control route {method} {path}"})
        except (KeyError, ValueError, TypeError) as exc:
            return answer(start_response, "400 Bad Request", {"message": f"{type(exc).__name__}: {exc}"})

    return wsgi


def start_maintenance(consumers: StreamConsumers, interval_s: float = SWEEP_INTERVAL_S) -> threading.Thread:
    def loop() -> None:
        while True:
            time.sleep(interval_s)
            try:
                sweep(consumers)
            except Exception as exc:  # keep sweeping; say why once per failure
                print(f"moto maintenance: {type(exc).__name__}: {exc}", flush=True)

    thread = threading.Thread(target=loop, name="moto-maintenance", daemon=True)
    thread.start()
    return thread
