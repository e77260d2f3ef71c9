"""What a cold start imports is measured by `make bench`; these guard its shape: the routes served without the
request resolver must not pull it (or pydantic) in at init, and no function imports redis-py or a tracing SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bazaar import manifest

REPO = Path(__file__).resolve().parents[2]
LEAN = ("health", "openapi", "docs", "get_product", "list_products")
HEAVY = ("aws_lambda_powertools.event_handler", "pydantic", "aws_xray_sdk", "redis", "opentelemetry")

PROBE = """
import importlib, json, sys
loaded = {}
for name in sys.argv[1:]:
    before = set(sys.modules)
    importlib.import_module(f"functions.{name}.handler")
    loaded[name] = sorted({m for m in set(sys.modules) - before})
    for m in set(sys.modules) - before:  # each handler on its own, as in its own container
        del sys.modules[m]
print(json.dumps(loaded))
"""


def _loaded_at_init(names: list[str]) -> dict[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAZAAR_")}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO / "shared"), str(REPO)]), TABLE_NAME="t",
               CACHE_URL="redis://127.0.0.1:9/0", CURSOR_KEY_SECRET_ID="s", EVENTS_TOPIC_ARN="arn:t")
    out = subprocess.run([sys.executable, "-c", PROBE, *names], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def heavy(modules: list[str]) -> list[str]:
    return sorted({h for h in HEAVY for m in modules if m == h or m.startswith(h + ".")})


# The lean routes, and one of each other kind (a write route with its resolver, a queue and a stream consumer).
PROBED = (*LEAN, "create_product", "invalidate_cache", "publish_events")


def test_what_each_function_imports_at_init() -> None:
    assert set(PROBED) <= set(manifest.BY_NAME)
    loaded = _loaded_at_init(list(PROBED))
    assert set(loaded) == set(PROBED)
    for name, modules in loaded.items():
        assert not {"redis", "aws_xray_sdk", "opentelemetry"} & set(heavy(modules)), name  # no function
        if name in LEAN:  # served without the request resolver: neither it nor pydantic
            assert heavy(modules) == [], name
        else:
            assert "aws_lambda_powertools" in {m.split(".")[0] for m in modules}, name  # the probe sees imports
