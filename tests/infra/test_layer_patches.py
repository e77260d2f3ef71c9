"""The dependency layer's source patches (layers/patches.py): urllib3 no longer imports importlib.metadata on every
cold start, behaves as before otherwise, and the build fails when a patched source is not the expected one."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import urllib3

from infra import assets
from layers import patches

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
VENV_SITE = Path(urllib3.__file__).resolve().parents[1]

# Run in a fresh interpreter with the given site first on sys.path: what a function's first AWS call imports.
_FIRST_CALL = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import botocore.session
from botocore.config import Config
client = botocore.session.get_session().create_client(
    "dynamodb", region_name="eu-west-1", endpoint_url="http://127.0.0.1:9", aws_access_key_id="k",
    aws_secret_access_key="s", config=Config(retries={"max_attempts": 0}, connect_timeout=1))
try:
    client.get_item(TableName="t", Key={"pk": {"S": "p"}})  # nothing listens there: the HTTP stack runs, then fails
    outcome = "answered"
except Exception as exc:
    outcome = type(exc).__name__
import urllib3
print(json.dumps({"urllib3": urllib3.__file__, "outcome": outcome, "metadata": "importlib.metadata" in sys.modules}))
"""

# The opt-in HTTP/2 entry points, called without h2 installed: what they raise and leave behind.
_HTTP2 = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import urllib3, urllib3.connection, urllib3.util, urllib3.util.ssl_
from urllib3 import http2
from urllib3.connectionpool import HTTPSConnectionPool
out = {"urllib3": urllib3.__file__, "all": sorted(http2.__all__)}
try:
    http2.inject_into_urllib3()
    out["inject"] = "returned"
except BaseException as exc:
    out["inject"] = [type(exc).__module__, type(exc).__qualname__, str(exc), isinstance(exc, ImportError)]
state = lambda: [repr(HTTPSConnectionPool.ConnectionCls), repr(urllib3.connection.HTTPSConnection),
                 urllib3.util.ALPN_PROTOCOLS, urllib3.util.ssl_.ALPN_PROTOCOLS]
out["after_inject"] = state()
http2.extract_from_urllib3()
out["after_extract"] = state()
print(json.dumps(out))
"""


def _layer_python() -> Path:
    return assets.dependency_layer() / "python"


def _run(script: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-I", "-c", script, str(path)], capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(proc.stdout)


def _module_level_imports(source: str) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def test_the_layer_urllib3_is_the_venv_one_with_the_patch_applied() -> None:
    shipped = (_layer_python() / patches.URLLIB3_HTTP2.path).read_text()
    original = (VENV_SITE / patches.URLLIB3_HTTP2.path).read_text()
    assert (_layer_python() / f"urllib3-{urllib3.__version__}.dist-info").is_dir(), "layer urllib3 != the tested one"
    assert shipped == patches.patched_source(original, patches.URLLIB3_HTTP2)
    assert "importlib.metadata" in _module_level_imports(original)
    assert "importlib.metadata" not in _module_level_imports(shipped)
    inject = next(n for n in ast.parse(shipped).body if getattr(n, "name", "") == "inject_into_urllib3")
    assert any(isinstance(n, ast.ImportFrom) and n.module == "importlib.metadata" for n in ast.walk(inject))


def test_a_client_first_request_no_longer_imports_importlib_metadata() -> None:
    shipped, original = _run(_FIRST_CALL, _layer_python()), _run(_FIRST_CALL, VENV_SITE)
    assert shipped["urllib3"].startswith(str(_layer_python())) and original["urllib3"].startswith(str(VENV_SITE))
    assert shipped["outcome"] == original["outcome"] == "EndpointConnectionError"
    assert (shipped["metadata"], original["metadata"]) == (False, True)


def test_http2_opt_in_behaves_as_unpatched_without_h2() -> None:
    try:
        import h2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("h2 is installed: inject_into_urllib3() would succeed, the comparison is meant without it")
    shipped, original = _run(_HTTP2, _layer_python()), _run(_HTTP2, VENV_SITE)
    assert shipped.pop("urllib3").startswith(str(_layer_python()))
    original.pop("urllib3")
    assert shipped == original
    assert shipped["inject"][1] == "PackageNotFoundError" and shipped["inject"][3]  # an ImportError, as before


def test_the_patch_refuses_unexpected_source(tmp_path: Path) -> None:
    original = (VENV_SITE / patches.URLLIB3_HTTP2.path).read_text()
    changed = original.replace("from importlib.metadata import version", "import importlib.metadata")
    with pytest.raises(patches.PatchError, match="found 0 times"):
        patches.patched_source(changed, patches.URLLIB3_HTTP2)
    doubled = original + "\n" + original
    with pytest.raises(patches.PatchError, match="found 2 times"):
        patches.patched_source(doubled, patches.URLLIB3_HTTP2)
    with pytest.raises(patches.PatchError, match="found 0 times"):  # already patched: a second run fails too
        patches.patched_source(patches.patched_source(original, patches.URLLIB3_HTTP2), patches.URLLIB3_HTTP2)

    # The build step: a non-zero exit (build.sh runs under `set -e`), and nothing written
    target = tmp_path / patches.URLLIB3_HTTP2.path
    target.parent.mkdir(parents=True)
    target.write_text(changed)
    proc = subprocess.run([sys.executable, "-m", "layers.patches", str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and "urllib3/http2/__init__.py: expected text found 0 times" in proc.stderr
    assert target.read_text() == changed
    shutil.rmtree(target.parent)
    proc = subprocess.run([sys.executable, "-m", "layers.patches", str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and "not in the layer" in proc.stderr
