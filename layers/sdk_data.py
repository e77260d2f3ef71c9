"""Trims the AWS SDK shipped in the dependency layer to the services the functions call.

Why: creating the first botocore client lists every service directory botocore ships (about 450, one ``stat`` per
directory and API version) and parses ``endpoints.json`` (1.2 MB of JSON for every service in every region). That
is most of the "one DynamoDB client" in every function's cold start (``make bench``: the client took about
130 ms of a 350 ms floor; with the trimmed data about 45 ms). The layer therefore ships its own botocore (pinned,
the version the tests run against; it shadows the runtime's copy, /opt/python comes first on Lambda's sys.path)
with the data of ``bazaar.runtime.SDK_SERVICES`` only:

- ``botocore/data/<service>/`` is kept for those services and removed for the rest;
- ``endpoints.json`` keeps every partition and region, and the service entries of those services' endpoint
  prefixes (``sesv2`` is ``email``), so legacy endpoint resolution answers exactly what the full file answers
  for them (tests/infra/test_layer_sdk.py compares both on every region);
- every other file (partitions, retry and default-configuration data) is kept as it is.

A client for a service that is not in the list fails with ``UnknownServiceError`` at creation on AWS, never
silently: a test checks that every client the shared code creates is in the list.

Usage: ``python -m layers.sdk_data LAYER_PYTHON_DIR`` (stdlib only).
"""

from __future__ import annotations

import ast
import gzip
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sdk_services() -> tuple[str, ...]:
    """``SDK_SERVICES`` of shared/bazaar/runtime.py (read, not imported: the layer build needs no package path)."""
    tree = ast.parse((ROOT / "shared" / "bazaar" / "runtime.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "SDK_SERVICES" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise LookupError("SDK_SERVICES not found in shared/bazaar/runtime.py")


def _service_model(service_dir: Path) -> dict:
    """The newest API version's service-2 document of one service (plain or gzipped, as botocore ships it)."""
    newest = sorted(p for p in service_dir.iterdir() if p.is_dir())[-1]
    for name, opener in (("service-2.json", open), ("service-2.json.gz", gzip.open)):
        path = newest / name
        if path.exists():
            with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
                return json.load(f)
    raise FileNotFoundError(f"no service-2 document under {newest}")


def endpoint_prefixes(data: Path, services: tuple[str, ...]) -> set[str]:
    return {_service_model(data / name)["metadata"]["endpointPrefix"] for name in services}


def trim(layer_python: Path, services: tuple[str, ...]) -> dict[str, int]:
    data = layer_python / "botocore" / "data"
    if not data.is_dir():
        raise FileNotFoundError(f"{data}: botocore is not in the layer")
    unknown = [s for s in services if not (data / s).is_dir()]
    if unknown:
        raise ValueError(f"botocore has no data for {unknown}")
    prefixes = endpoint_prefixes(data, services)
    removed = 0
    for entry in data.iterdir():
        if entry.is_dir() and entry.name not in services:
            shutil.rmtree(entry)
            removed += 1
    endpoints_path = data / "endpoints.json"
    endpoints = json.loads(endpoints_path.read_text())
    for partition in endpoints["partitions"]:
        partition["services"] = {k: v for k, v in partition["services"].items() if k in prefixes}
    before = endpoints_path.stat().st_size
    endpoints_path.write_text(json.dumps(endpoints, separators=(",", ":")))
    # boto3's resource models are only read by boto3.resource(), which the functions never call.
    return {"services_kept": len(services), "services_removed": removed,
            "endpoints_bytes_before": before, "endpoints_bytes_after": endpoints_path.stat().st_size}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    figures = trim(Path(argv[0]), sdk_services())
    print("sdk data: kept {services_kept} services, removed {services_removed}; endpoints.json "
          "{endpoints_bytes_before} -> {endpoints_bytes_after} bytes".format(**figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
