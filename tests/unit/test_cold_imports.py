"""What a cold start imports is measured by `make bench`; these guard its shape: every route is served without the
request resolver and must not pull it (or pydantic) in at init, and no function imports redis-py or a tracing SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bazaar import manifest

REPO = Path(__file__).resolve().parents[2]
LEAN = tuple(fn.name for fn in manifest.routes())  # every route: a body model is imported on its first request
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


# The routes, and one of each consumer kind (a queue and a stream consumer).
PROBED = (*LEAN, "invalidate_cache", "publish_events")


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


FIRST_BODY = """
import importlib, json, sys
from tests.support.events import FakeContext, claims, http_event
module = importlib.import_module("functions.create_product.handler")
answer = module.handler(http_event("POST", "/products", body={}, claims=claims("s", "seller")), FakeContext())
from bazaar.schemas import catalog
built = {name: getattr(catalog, name).__pydantic_complete__ for name in ("NewProduct", "ProductChanges", "ProductOut",
                                                                          "ProductPage")}
print(json.dumps({"status": answer["statusCode"], "built": built,
                  "resolver": "aws_lambda_powertools.event_handler.api_gateway" in sys.modules}))
"""


def test_a_body_route_builds_only_its_own_model_and_never_the_resolver() -> None:
    """A body is validated by its pydantic model without the resolver; the models it does not validate (responses,
    the other routes') stay unbuilt (``defer_build``): a model costs at its first use, not at import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAZAAR_")}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO / "shared"), str(REPO)]), TABLE_NAME="t",
               CACHE_URL="redis://127.0.0.1:9/0", POWERTOOLS_METRICS_NAMESPACE="probe")
    out = subprocess.run([sys.executable, "-c", FIRST_BODY], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"status": 422, "resolver": False,
                    "built": {"NewProduct": True, "ProductChanges": False, "ProductOut": False, "ProductPage": False}}
