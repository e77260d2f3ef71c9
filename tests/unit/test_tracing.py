"""Tracing stays off the cold path: a function imports a tracing SDK only when its stage opted in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bazaar import manifest
from bazaar.resources import base_environment
from bazaar.settings import TRACING_ENV, TRACING_SDK

REPO = Path(__file__).resolve().parents[2]

# Imports handlers the way Lambda does (inside Lambda: LAMBDA_TASK_ROOT set, tracing not disabled): a platform
# route and a read route; invokes the first (no AWS needed) and reports which tracing modules got loaded.
PROBE = """
import json, sys
from tests.support.events import FakeContext, http_event
from functions.health.handler import handler
import functions.get_product.handler
loaded_at_init = sorted({m.split(".")[0] for m in sys.modules if m.startswith(("aws_xray_sdk", "opentelemetry"))})
result = handler(http_event("GET", "/health"), FakeContext("health"))
print(json.dumps({"init": loaded_at_init, "status": result["statusCode"]}))
"""


def _probe(extra_env: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "BAZAAR_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO / "shared"), str(REPO)]), LAMBDA_TASK_ROOT=str(REPO),
               AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:9", AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
               POWERTOOLS_SERVICE_NAME="bazaar", TABLE_NAME="t", CACHE_URL="redis://127.0.0.1:9/0", **extra_env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_no_tracing_sdk_is_imported_by_default() -> None:
    report = _probe({})
    assert report == {"init": [], "status": 200}


def test_a_stage_that_opts_in_gets_in_process_subsegments() -> None:
    report = _probe({TRACING_ENV: TRACING_SDK})
    assert report["init"] == ["aws_xray_sdk"] and report["status"] == 200


@pytest.mark.parametrize("sdk", [False, True])
def test_the_opt_in_is_one_variable_of_the_base_environment(sdk: bool) -> None:
    env = base_environment("prod", manifest.get("get_product"), sdk_tracing=sdk)
    assert (env.get(TRACING_ENV) == TRACING_SDK) is sdk
    assert sdk or TRACING_ENV not in env
