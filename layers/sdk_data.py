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
- each kept service's ``service-2`` model (every API version) is stored without its documentation, as plain
  ``service-2.json`` (botocore's loader tries ``.json`` before ``.json.gz``): creating a client parses the whole
  model, and the documentation strings are most of its bytes (cognito-idp parsed in 7.9 ms gzipped, 1.4 ms
  stripped and plain). botocore reads them only to build docstrings (``Shape.documentation`` and the like default
  to ``""``). Only documentation *properties* go (of the service, its metadata, operations, their input, output
  and errors, shapes and their members); a member *named* ``documentation`` stays, and so do the descriptions of
  ``clientContextParams``, which botocore indexes directly;
- ``examples-1.json`` is removed: only botocore's documentation generator reads it (``botocore.docs``), and it
  does without;
- every other file (partitions, retry and default-configuration data, paginators, waiters, endpoint rule sets,
  sdk-extras) is kept as it is.

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


DOC_KEYS = ("documentation", "documentationUrl")
SERVICE_MODEL_NAMES = ("service-2.json", "service-2.json.gz")  # botocore's loader tries them in this order


def read_service_model(version_dir: Path) -> dict | None:
    """One API version's service-2 document (plain or gzipped, the file botocore would load), None if absent."""
    for name in SERVICE_MODEL_NAMES:
        path = version_dir / name
        if path.is_file():
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
                return json.load(f)
    return None


def _service_model(service_dir: Path) -> dict:
    """The newest API version's service-2 document of one service (botocore's choice: the newest that has one)."""
    for version_dir in sorted((p for p in service_dir.iterdir() if p.is_dir()), reverse=True):
        model = read_service_model(version_dir)
        if model is not None:
            return model
    raise FileNotFoundError(f"no service-2 document under {service_dir}")


def _drop_docs(node: dict) -> int:
    removed = 0
    for key in DOC_KEYS:
        if key in node:
            del node[key]
            removed += 1
    return removed


def strip_documentation(model: dict) -> int:
    """Removes the documentation properties of a service-2 document in place; returns how many went.

    Walks the document's structure instead of every dict: the keys of ``shapes``, ``operations`` and a shape's
    ``members`` are names (a member may be called ``documentation``), and ``clientContextParams`` keeps its
    descriptions (``ServiceModel.client_context_parameters`` reads ``param["documentation"]`` unguarded)."""
    removed = _drop_docs(model) + _drop_docs(model.get("metadata", {}))
    for operation in model.get("operations", {}).values():
        removed += _drop_docs(operation)
        for ref in (operation.get("input"), operation.get("output"), *operation.get("errors", ())):
            if isinstance(ref, dict):
                removed += _drop_docs(ref)
    for shape in model.get("shapes", {}).values():
        removed += _drop_docs(shape)
        for ref in (*shape.get("members", {}).values(), shape.get("member"), shape.get("key"), shape.get("value")):
            if isinstance(ref, dict):
                removed += _drop_docs(ref)
    return removed


def slim_service_data(service_dir: Path) -> dict[str, int]:
    """Every API version of one service: service-2 without documentation, as plain JSON; no examples-1.json."""
    figures = {"models": 0, "docs_removed": 0, "model_bytes_before": 0, "model_bytes_after": 0}
    for version_dir in sorted(p for p in service_dir.iterdir() if p.is_dir()):
        (version_dir / "examples-1.json").unlink(missing_ok=True)
        model = read_service_model(version_dir)
        if model is None:
            continue  # an API version botocore keeps endpoint rules for only (dynamodb 2011-12-05)
        sources = [version_dir / name for name in SERVICE_MODEL_NAMES if (version_dir / name).is_file()]
        figures["model_bytes_before"] += sum(p.stat().st_size for p in sources)
        figures["docs_removed"] += strip_documentation(model)
        for path in sources:
            path.unlink()
        plain = version_dir / SERVICE_MODEL_NAMES[0]
        plain.write_text(json.dumps(model, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
        figures["models"] += 1
        figures["model_bytes_after"] += plain.stat().st_size
    return figures


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
    figures = {"services_kept": len(services), "services_removed": removed,
               "endpoints_bytes_before": before, "endpoints_bytes_after": endpoints_path.stat().st_size}
    for name in services:
        for key, value in slim_service_data(data / name).items():
            figures[key] = figures.get(key, 0) + value
    # boto3's resource models are only read by boto3.resource(), which the functions never call.
    return figures


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    figures = trim(Path(argv[0]), sdk_services())
    print("sdk data: kept {services_kept} services, removed {services_removed}; endpoints.json "
          "{endpoints_bytes_before} -> {endpoints_bytes_after} bytes; {models} service models without "
          "{docs_removed} documentation strings, {model_bytes_before} -> {model_bytes_after} bytes "
          "(plain JSON)".format(**figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
