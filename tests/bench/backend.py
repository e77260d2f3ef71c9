"""The AWS side of a first invocation, locally: moto (one process, every API) and Valkey, provisioned from the
manifest exactly as the local stack provisions them (``local.provision``), plus a catalog to read.

moto's request recorder counts DynamoDB reads (``dynamodb_reads``): what the table really served, not a mock.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from bazaar.manifest import Function

READ_OPERATIONS = ("GetItem", "Query", "BatchGetItem", "Scan")
SELLER_SUB = "bench-seller"


@dataclass
class Backend:
    root: Path
    endpoint_url: str
    cache_url: str
    region: str
    provisioned: Any  # local.provision.Provisioned
    recording: Path
    products: list[str] = field(default_factory=list)  # newest first
    _procs: list[Any] = field(default_factory=list)

    def grant_values(self, fn: Function) -> dict[str, str]:
        return self.provisioned.function_grant_env(fn)

    def valkey(self) -> Any:
        import redis

        return redis.Redis.from_url(self.cache_url, decode_responses=True)

    # --- moto's recorder -------------------------------------------------------------------------------------
    def _recorder(self, action: str, method: str = "POST") -> bytes:
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/recorder/{action}", method=method,
                                     data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()

    @contextmanager
    def recording_requests(self) -> Iterator["Backend"]:
        self._recorder("reset-recording")
        self._recorder("start-recording")
        try:
            yield self
        finally:
            self._recorder("stop-recording")

    def dynamodb_reads(self) -> dict[str, int]:
        """DynamoDB read requests moto served since the recording started, by operation."""
        counts: dict[str, int] = {}
        for line in self._recorder("download-recording", "GET").decode().splitlines():
            if not line.strip():
                continue
            target = json.loads(line)["headers"].get("X-Amz-Target", "")
            service, _, operation = target.partition(".")
            if service.startswith("DynamoDB_") and operation in READ_OPERATIONS:
                counts[operation] = counts.get(operation, 0) + 1
        return counts

    def stop(self) -> None:
        from local.procs import stop_all

        stop_all(self._procs, grace_s=1.0)


def start(root: Path, products: int = 30) -> Backend:
    """moto + Valkey under ``root``, every resource of the manifest provisioned, ``products`` seeded."""
    from local import provision, services
    from local.config import REGION, Paths

    paths = Paths(root.resolve())
    for d in (paths.root, paths.services):
        d.mkdir(parents=True, exist_ok=True)
    recording = paths.services / "moto-recording.jsonl"
    previous = os.environ.get("MOTO_RECORDER_FILEPATH")
    os.environ["MOTO_RECORDER_FILEPATH"] = str(recording)  # inherited by the moto process only
    try:
        pending = services.start_moto(paths)
    finally:
        if previous is None:
            os.environ.pop("MOTO_RECORDER_FILEPATH", None)
        else:
            os.environ["MOTO_RECORDER_FILEPATH"] = previous
    valkey = services.start_valkey(paths)
    procs = [pending.proc, valkey.proc]
    try:
        moto = pending.wait()
        services.wait_valkey(valkey)
        prov = provision.provision(moto.url, valkey.url)
        backend = Backend(root, moto.url, valkey.url, REGION, prov, recording, _procs=procs)
        backend.products = seed(backend, products)
    except BaseException:
        from local.procs import stop_all

        stop_all(procs, grace_s=1.0)
        raise
    return backend


def seed(backend: Backend, count: int) -> list[str]:
    """``count`` products through the catalog service (the items and outbox events the functions write)."""
    from local.config import DUMMY_CREDENTIALS

    os.environ.update(DUMMY_CREDENTIALS, AWS_ENDPOINT_URL=backend.endpoint_url, AWS_REGION=backend.region,
                      AWS_DEFAULT_REGION=backend.region)
    from bazaar.adapters.cache import ValkeyCache
    from bazaar.adapters.dynamo.products import DynamoProductRepository
    from bazaar.domain.identity import Actor
    from bazaar.services import catalog

    repo = DynamoProductRepository(backend.provisioned.table_name)
    cache = ValkeyCache.from_url(backend.cache_url)
    actor = Actor(sub=SELLER_SUB, groups=frozenset({"seller"}))
    ids = [catalog.create_product(repo, cache, actor, {"name": f"Bench product {i}", "description": "x" * 200,
                                                       "price_cents": 100 + i, "currency": "EUR", "stock": 1000}
                                  ).product_id for i in range(count)]
    return list(reversed(ids))


def new_products(backend: Backend, count: int) -> list[str]:
    """More products (e.g. one per DELETE measured)."""
    return seed(backend, count)


def decode_body(entry: dict[str, Any]) -> str:
    body = entry.get("body") or ""
    return base64.b64decode(body).decode() if entry.get("body_encoded") else body


def table_item_count(backend: Backend) -> Optional[int]:
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=backend.endpoint_url, region_name=backend.region)
    return ddb.describe_table(TableName=backend.provisioned.table_name)["Table"].get("ItemCount")
