"""The Powertools idempotency package as bazaar.adapters.dynamo.idempotency registers it (without running its
``__init__``, which imports boto3): the same public names, each from the module that defines it, and boto3 only
for whoever asks for ``DynamoDBPersistenceLayer``. Each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bazaar.adapters.dynamo.idempotency import EXPORTS, PACKAGE

REPO = Path(__file__).resolve().parents[2]


def run(code: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "shared"), str(REPO)]))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_registered_package_exports_what_the_real_one_does_from_the_same_modules() -> None:
    real = run(f"""
import importlib, json
package = importlib.import_module({PACKAGE!r})  # its own __init__
exports = {EXPORTS!r}
def resolved(name):
    return getattr(importlib.import_module(f"{{package.__name__}}.{{exports[name]}}"), name)
print(json.dumps({{name: name in exports and getattr(package, name) is resolved(name) for name in package.__all__}}))
""")
    assert real == {name: True for name in EXPORTS}  # the same names, each the object our mapping resolves


def test_no_boto3_until_someone_asks_for_powertools_dynamodb_layer() -> None:
    got = run("""
import json, sys
from bazaar.adapters.dynamo.idempotency import BotocorePersistenceLayer
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError
before = "boto3" in sys.modules
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
import aws_lambda_powertools.utilities.idempotency as package
print(json.dumps({"before": before, "after": "boto3" in sys.modules,
                  "same_base": issubclass(DynamoDBPersistenceLayer, BasePersistenceLayer)
                               and issubclass(BotocorePersistenceLayer, BasePersistenceLayer),
                  "missing": hasattr(package, "no_such_name")}))
""")
    assert got == {"before": False, "after": True, "same_base": True, "missing": False}


def test_a_package_already_imported_is_used_as_it_is() -> None:
    got = run("""
import json, sys
import aws_lambda_powertools.utilities.idempotency as real
from bazaar.adapters.dynamo import idempotency
print(json.dumps({"same": idempotency.without_boto3_layer() is real, "boto3": "boto3" in sys.modules}))
""")
    assert got == {"same": True, "boto3": True}


def test_the_store_follows_the_containers_current_client_and_table() -> None:
    """After ``wiring.reset()`` (tests that move to another endpoint) the store must not keep the old client."""
    from bazaar.adapters.dynamo.idempotency import BotocorePersistenceLayer

    current = {"client": object(), "table": "t1"}
    layer = BotocorePersistenceLayer(lambda: current["table"], "IDEMPOTENCY#fn", client=lambda: current["client"])
    first = layer.client
    assert first is current["client"] and layer.table_name == "t1"
    current.update(client=object(), table="t2")  # the container's client and table after wiring.reset()
    assert layer.client is current["client"] and layer.client is not first
    assert layer.table_name == "t2"  # records go to the current table, not the one the store was built with
