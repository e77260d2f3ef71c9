"""Compiles the models the functions validate at run time into ``compiled.json`` (``python -m
bazaar.schemas.compiler``; ``make schemas``), read by ``bazaar.schemas.compiled``.

Why: importing pydantic and building a model costs a function about 50 ms of its cold start (a quarter of the
floor, docs/cold-starts.md), while ``pydantic_core`` alone, given a schema, costs about 18 ms. The models stay the
one declaration of every body and event (validation, 422 details, the OpenAPI document); this step exports the
core schema pydantic generates for each of them, which ``pydantic_core.SchemaValidator`` then runs unchanged:
- a model's class becomes the name of a plain record class (``bazaar.schemas.compiled.Record``) made at load;
- a validator function becomes its name in ``bazaar.schemas.rules`` (pydantic-free); any other function is
  refused here, so a rule cannot silently go missing at run time;
- pydantic's ``metadata`` (JSON Schema hooks) is dropped, and references lose their per-process ids.
tests/unit/test_compiled_schemas.py checks that the committed file is what this step writes now, and that every
compiled validator accepts, refuses (same errors) and dumps exactly as its model does.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic._internal._config import ConfigWrapper

from bazaar.schemas import rules
from bazaar.schemas.compiled import COMPILED, FORMAT

# Every model a function validates at run time: route bodies (``Body`` of bazaar.web.endpoint) and events.
MODELS = (
    "bazaar.schemas.catalog:NewProduct",
    "bazaar.schemas.catalog:ProductChanges",
    "bazaar.schemas.orders:NewOrder",
    "bazaar.schemas.orders:WebhookEvent",
    "bazaar.schemas.events:EventMessage",
    "bazaar.schemas.order_events:OrderEventData",
    "bazaar.schemas.order_events:RefundRequestedData",
)
_REF_ID = re.compile(r":\d+$")


class NotCompilable(TypeError):
    """A model holds something the compiled validator could not reproduce (a function outside the rules module,
    a default that is not JSON)."""


def load_model(ref: str) -> type[BaseModel]:
    module, _, name = ref.partition(":")
    model = getattr(importlib.import_module(module), name)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise NotCompilable(f"{ref} is not a pydantic model")
    return model


def _rule_name(function: Any, where: str) -> str:
    name = getattr(function, "__qualname__", "")
    if getattr(function, "__module__", None) != rules.__name__ or getattr(rules, name, None) is not function:
        raise NotCompilable(f"{where}: validator {function!r} is not a function of {rules.__name__}; declare the "
                            "rule there so the compiled validator can call it")
    return name


def _export(node: Any, where: str) -> Any:
    if isinstance(node, dict):
        _refuse_unsupported(node, where)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "metadata":  # JSON Schema hooks: the document is generated from the models themselves
                continue
            if key == "cls":
                if node.get("type") != "model" or not (isinstance(value, type) and issubclass(value, BaseModel)):
                    raise NotCompilable(f"{where}: {value!r} is not a model class (only models become records)")
                out["cls"] = {"record": value.__name__}
            elif key in ("ref", "schema_ref") and isinstance(value, str):
                out[key] = _REF_ID.sub("", value)
            elif key == "function" and callable(value):
                out["function"] = {"rule": _rule_name(value, where)}
            else:
                out[key] = _export(value, f"{where}.{key}")
        return out
    if isinstance(node, list):
        return [_export(v, where) for v in node]
    # Written as JSON these would come back as something else (a str-Enum as a plain str, a tuple as a list).
    if isinstance(node, Enum) or isinstance(node, (tuple, set, frozenset, bytes)):
        raise NotCompilable(f"{where}: {node!r} would not survive JSON as itself")
    if node is None or isinstance(node, (str, int, float, bool)):
        return node
    raise NotCompilable(f"{where}: {node!r} cannot be written as JSON")


def _refuse_unsupported(node: dict[str, Any], where: str) -> None:
    """What a ``Record`` does not reproduce in ``model_dump`` (it dumps the fields as they were validated)."""
    if node.get("computed_fields"):
        raise NotCompilable(f"{where}: computed fields are not dumped by a compiled record")
    if node.get("serialization_exclude") or node.get("serialization_exclude_if") or node.get("serialization"):
        raise NotCompilable(f"{where}: custom serialization is not reproduced by a compiled record")
    if node.get("extra_fields_behavior") == "allow" or node.get("extra_behavior") == "allow":
        raise NotCompilable(f"{where}: extra='allow' keeps fields a compiled record would not dump")


def compile_model(model: type[BaseModel]) -> dict[str, Any]:
    model.model_rebuild()  # deferred (defer_build): build it now
    where = f"{model.__module__}:{model.__qualname__}"
    return {"schema": _export(model.__pydantic_core_schema__, where),
            "config": _export(ConfigWrapper(model.model_config).core_config(model.__name__), where)}


def compile_all(refs: tuple[str, ...] = MODELS) -> dict[str, Any]:
    import pydantic_core

    # The schema format is pydantic_core's: the layer must ship the version that wrote it (a test compares the pins).
    return {"format": FORMAT, "pydantic_core": pydantic_core.__version__,
            "models": {ref: compile_model(load_model(ref)) for ref in refs}}


def render(refs: tuple[str, ...] = MODELS) -> str:
    # Not sorted: the order of a model's fields is the order of its errors and of its dump.
    return json.dumps(compile_all(refs), indent=1) + "\n"


def main() -> int:
    """``python -m bazaar.schemas.compiler``: write compiled.json (a test fails while it is stale)."""
    COMPILED.write_text(render(), encoding="utf-8")
    print(f"wrote {COMPILED} ({len(MODELS)} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
