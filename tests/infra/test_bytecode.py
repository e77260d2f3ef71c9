"""The assets ship bytecode for the Lambda runtime's Python version (Lambda can't write it: read-only code)."""

from __future__ import annotations

import pytest

from bazaar import runtime
from bazaar.manifest import FUNCTIONS
from infra import assets
from layers.bytecode import find_interpreter

pytestmark = pytest.mark.infra
TAG = "cpython-" + runtime.LAMBDA_PYTHON_VERSION.replace(".", "")


@pytest.fixture(scope="module")
def interpreter() -> str:
    exe = find_interpreter()
    # Without it the assets ship sources only and every cold start compiles modules: a failure, not a skip.
    assert exe is not None, (f"no python{runtime.LAMBDA_PYTHON_VERSION} on this machine: the assets would ship no "
                             "bytecode for the Lambda runtime (README: what the build needs)")
    return exe


def test_dependency_layer_has_runtime_bytecode(interpreter: str) -> None:
    layer = assets.dependency_layer() / "python"
    assert list(layer.glob(f"aws_lambda_powertools/**/__pycache__/*.{TAG}.pyc"))
    assert list(layer.glob(f"pydantic/**/__pycache__/*.{TAG}.pyc"))


def test_function_and_shared_assets_have_runtime_bytecode(interpreter: str) -> None:
    shared = assets.shared_layer() / "python" / "bazaar"
    assert (shared / "__pycache__" / f"manifest.{TAG}.pyc").is_file()
    for fn in FUNCTIONS:
        code = assets.function_code(fn) / "functions" / fn.name
        assert (code / "__pycache__" / f"handler.{TAG}.pyc").is_file(), fn.name
