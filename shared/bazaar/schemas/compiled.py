"""The validators the functions run: each model's schema as pydantic generated it (``compiled.json``, written by
``bazaar.schemas.compiler`` from the models), run by ``pydantic_core`` without importing pydantic.

A function's first body or event costs it about 18 ms of imports this way instead of about 65 ms (pydantic, its
model machinery, the model's build): docs/cold-starts.md. Validation is pydantic's own engine on pydantic's own
schema, so a compiled validator accepts, refuses (with the same ``errors()``) and dumps what its model does;
tests/unit/test_compiled_schemas.py checks both on every model, and the write routes are compared with the
resolver validating the models themselves (tests/integration/test_write_routes.py).

A validated value is a ``Record``: the fields as attributes, ``model_fields_set`` and ``model_dump`` as a model
instance has them, so code written against the model reads either.
"""

from __future__ import annotations

import json
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Optional

from bazaar.schemas import rules

COMPILED = Path(__file__).with_name("compiled.json")
FORMAT = 1


class Record:
    """What a compiled validator returns for a model: ``pydantic_core`` fills ``__dict__`` (the fields) and
    ``__pydantic_fields_set__`` (those the input had) as it does for a model instance."""

    __slots__ = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")

    @property
    def model_fields_set(self) -> set[str]:
        return self.__pydantic_fields_set__

    def model_dump(self, *, exclude_unset: bool = False) -> dict[str, Any]:
        """The fields as plain values (nested records as dicts), as ``BaseModel.model_dump`` gives them."""
        fields = self.__dict__
        names = [n for n in fields if n in self.__pydantic_fields_set__] if exclude_unset else list(fields)
        return {n: _dump(fields[n], exclude_unset) for n in names}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, like a model instance

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


def _dump(value: Any, exclude_unset: bool) -> Any:
    if isinstance(value, Record):
        return value.model_dump(exclude_unset=exclude_unset)
    if isinstance(value, list):
        return [_dump(v, exclude_unset) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, exclude_unset) for k, v in value.items()}
    return value


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    document = json.loads(COMPILED.read_text(encoding="utf-8"))
    if document.get("format") != FORMAT:
        raise ValueError(f"{COMPILED.name} has format {document.get('format')!r}, expected {FORMAT}: "
                         "run `make schemas`")
    return document["models"]


def _resolve(node: Any, classes: dict[str, type]) -> Any:
    """The exported schema with its record classes and rule functions put back."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "cls":
                name = value["record"]
                if name not in classes:
                    classes[name] = type(name, (Record,), {"__slots__": ()})
                out[key] = classes[name]
            elif key == "function" and isinstance(value, dict) and "rule" in value:
                out[key] = getattr(rules, value["rule"])
            else:
                out[key] = _resolve(value, classes)
        return out
    if isinstance(node, list):
        return [_resolve(v, classes) for v in node]
    return node


class CompiledModel:
    """The validator of one model (``"package.module:Class"``), built on first use."""

    def __init__(self, ref: str) -> None:
        self.ref = ref

    @cached_property
    def _validator(self) -> Any:
        from pydantic_core import SchemaValidator

        try:
            exported = _document()[self.ref]
        except KeyError:
            raise LookupError(f"{self.ref} is not compiled: add it to bazaar.schemas.compiler.MODELS and run "
                              "`make schemas`") from None
        return SchemaValidator(_resolve(exported["schema"], {}), exported["config"])

    def model_validate(self, value: Any, *, strict: Optional[bool] = None,
                       from_attributes: Optional[bool] = None) -> Record:
        """As ``Model.model_validate``; raises ``pydantic_core.ValidationError`` (pydantic's ``ValidationError``)."""
        return self._validator.validate_python(value, strict=strict, from_attributes=from_attributes)

    def model_validate_json(self, data: str | bytes, *, strict: Optional[bool] = None) -> Record:
        return self._validator.validate_json(data, strict=strict)

    def __repr__(self) -> str:
        return f"CompiledModel({self.ref!r})"


_models: dict[str, CompiledModel] = {}


def model(ref: str) -> CompiledModel:
    """The compiled validator of ``ref`` (one per model per process)."""
    if ref not in _models:
        _models[ref] = CompiledModel(ref)
    return _models[ref]
