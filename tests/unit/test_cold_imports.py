"""What a cold start imports is measured by `make bench`; these guard its shape: every route is served without the
request resolver, no function imports pydantic (bodies and events are validated by compiled validators), redis-py
or a tracing SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bazaar import manifest
from bazaar.resources import base_environment

REPO = Path(__file__).resolve().parents[2]
LEAN = tuple(fn.name for fn in manifest.routes())  # every route: served without the request resolver
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


# Every function: routes, queue consumers and the stream consumer.
PROBED = tuple(fn.name for fn in manifest.FUNCTIONS)


def test_what_each_function_imports_at_init() -> None:
    assert set(PROBED) <= set(manifest.BY_NAME)
    loaded = _loaded_at_init(list(PROBED))
    assert set(loaded) == set(PROBED)
    for name, modules in loaded.items():
        assert not {"redis", "aws_xray_sdk", "opentelemetry"} & set(heavy(modules)), name  # no function
        assert heavy(modules) == [], name  # routes without the resolver; bodies and events without pydantic
        if name not in LEAN:
            assert "aws_lambda_powertools" in {m.split(".")[0] for m in modules}, name  # the probe sees imports


FIRST_BODY = """
import importlib, json, sys
from tests.support.events import FakeContext, claims, http_event
module = importlib.import_module("functions.create_product.handler")
answers = [module.handler(http_event("POST", "/products", body=body, claims=claims("s", "seller")), FakeContext())
           for body in ({}, {"name": "x", "price_cents": 12.5, "currency": "EUR"})]
consumer = importlib.import_module("functions.send_notifications.handler")
batch = {"Records": [{"messageId": "m1", "body": '{"event_id": ""}'}]}
try:  # the one record fails validation: logged with its error as text, then the batch fails
    consumer.handler(batch, FakeContext("send_notifications"))
    refused = None
except Exception as exc:
    refused = type(exc).__name__
print(json.dumps({"status": [a["statusCode"] for a in answers], "refused": refused,
                  "errors": [e["type"] for e in json.loads(answers[1]["body"])["errors"]],
                  "pydantic": sorted(m for m in sys.modules if m == "pydantic" or m.startswith("pydantic.")),
                  "pydantic_core": "pydantic_core" in sys.modules,
                  "resolver": "aws_lambda_powertools.event_handler.api_gateway" in sys.modules}))
"""


def test_bodies_and_events_are_validated_without_importing_pydantic() -> None:
    """A route's body and a consumer's event are validated by the compiled validators of their models
    (``bazaar.schemas.compiled``: pydantic_core alone), never by importing pydantic or the resolver: importing
    pydantic and building a model cost about 65 ms of imports, pydantic_core alone about 18 (docs/cold-starts.md)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAZAAR_")}
    env.update(base_environment("prod", manifest.get("send_notifications")))  # as the template sets it
    env.update(PYTHONPATH=os.pathsep.join([str(REPO / "shared"), str(REPO)]), TABLE_NAME="t",
               CACHE_URL="redis://127.0.0.1:9/0", POWERTOOLS_METRICS_NAMESPACE="probe", POWERTOOLS_TRACE_DISABLED="1")
    out = subprocess.run([sys.executable, "-c", FIRST_BODY], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"status": [422, 422], "errors": ["int_type"], "refused": "BatchFailed", "pydantic": [],
                    "pydantic_core": True, "resolver": False}
