"""The dependency layer's AWS SDK: pinned to the tested version and trimmed to the services the functions call
(layers/sdk_data.py), without changing how any of those services' endpoints resolve."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import botocore
import pytest

from bazaar import runtime
from infra import assets
from layers.sdk_data import endpoint_prefixes

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
# botocore.session...create_client("x"), boto3.client("x"), session.client("x"): the first argument
CLIENT_CALL = re.compile(r"""(?:create_client|\bclient)\(\s*["']([a-z0-9-]+)["']""")

# Run in a fresh interpreter with the given botocore first on sys.path: every service x every region of every
# partition (the trimmed data keeps them all) -> the legacy resolver's answer and the endpoint a client is created with.
_RESOLVE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import botocore, botocore.session
services = json.loads(sys.argv[2])
session = botocore.session.get_session()
resolver = session._get_internal_component("endpoint_resolver")
out = {"botocore": botocore.__file__, "answers": {}}
for partition in session.get_data("endpoints")["partitions"]:
    for region in partition["regions"]:
        for name in services:
            prefix = session.get_service_model(name).endpoint_prefix
            legacy = resolver.construct_endpoint(prefix, region)
            client = session.create_client(name, region_name=region, aws_access_key_id="k",
                                           aws_secret_access_key="s")
            out["answers"][f"{name}@{region}"] = [legacy, client.meta.endpoint_url, client.meta.region_name]
try:
    session.create_client("s3", region_name="us-east-1")
    out["outside"] = "created"
except Exception as exc:
    out["outside"] = type(exc).__name__
print(json.dumps(out, sort_keys=True, default=str))
"""


def _layer_python() -> Path:
    return assets.dependency_layer() / "python"


def _resolve(path: str) -> dict:
    proc = subprocess.run([sys.executable, "-I", "-c", _RESOLVE, path, json.dumps(runtime.SDK_SERVICES)],
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(proc.stdout)


def test_the_layer_ships_the_tested_botocore_with_the_data_of_its_services_only() -> None:
    layer = _layer_python()
    assert (layer / f"botocore-{botocore.__version__}.dist-info").is_dir(), "layer botocore != the tested one"
    data = layer / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == set(runtime.SDK_SERVICES)
    endpoints = json.loads((data / "endpoints.json").read_text())
    kept = {name for partition in endpoints["partitions"] for name in partition["services"]}
    assert kept == endpoint_prefixes(data, runtime.SDK_SERVICES) and "email" in kept  # sesv2's prefix


def test_every_client_the_function_code_creates_is_in_the_layer() -> None:
    sources = [*(ROOT / "shared" / "bazaar").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    created = {name for path in sources for name in CLIENT_CALL.findall(path.read_text())}
    assert {"secretsmanager", "sns", "sesv2", "cognito-idp"} <= created, created  # the scan finds them
    uses_pynamodb = any("from pynamodb" in path.read_text() for path in sources)
    assert uses_pynamodb and "dynamodb" in runtime.SDK_SERVICES
    assert created <= set(runtime.SDK_SERVICES), created - set(runtime.SDK_SERVICES)


def test_trimmed_data_resolves_every_region_exactly_like_the_full_data() -> None:
    full_site = str(Path(botocore.__file__).resolve().parents[1])
    trimmed, full = _resolve(str(_layer_python())), _resolve(full_site)
    assert trimmed["botocore"].startswith(str(_layer_python())) and full["botocore"].startswith(full_site)
    assert len(full["answers"]) >= 30 * len(runtime.SDK_SERVICES)  # every partition's regions were asked
    assert trimmed["answers"] == full["answers"]
    # a service left out fails at client creation, loudly, never half-configured
    assert (trimmed["outside"], full["outside"]) == ("UnknownServiceError", "created")
