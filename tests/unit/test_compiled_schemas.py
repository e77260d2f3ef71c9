"""The compiled validators (bazaar.schemas.compiled) are the models' own: the committed compiled.json is what the
compiler writes from the models now, every compiled validator accepts, refuses and dumps exactly as its model does
(generated inputs around every field's type and bounds, plus junk), and every validator a function uses is
compiled. The write routes are also compared end to end with the resolver validating the models themselves
(tests/integration/test_write_routes.py)."""

from __future__ import annotations

import importlib
import json
import math
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, computed_field, field_validator
from typing_extensions import Annotated

from bazaar import manifest
from bazaar.schemas import compiled, compiler, rules
from bazaar.web.endpoint import Endpoint

ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
REPO = Path(__file__).resolve().parents[2]


def test_the_committed_validators_are_the_models_of_today() -> None:
    assert compiled.COMPILED.read_text(encoding="utf-8") == compiler.render(), "run `make schemas`"


def test_the_layer_ships_the_pydantic_core_that_wrote_them() -> None:
    """Lambda runs the layer's pydantic_core on compiled.json: another version may not read its schemas (every body
    a 500, every event to the DLQ), while the tests, on the venv's, would pass."""
    pins = dict(line.split("==", 1) for line in (REPO / "layers" / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    written = json.loads(compiled.COMPILED.read_text(encoding="utf-8"))["pydantic_core"]
    assert pins["pydantic_core"].strip() == written


def _function_validators() -> set[str]:
    """Every model a function validates with at run time: route bodies and the consumers' compiled models."""
    used = set()
    for fn in manifest.FUNCTIONS:
        module = importlib.import_module(fn.handler.rsplit(".", 1)[0])
        for value in vars(module).values():
            if isinstance(value, Endpoint) and value.body is not None:
                used.add(value.body.model)
            if isinstance(value, compiled.CompiledModel):
                used.add(value.ref)
    return used


def test_every_validator_a_function_uses_is_compiled() -> None:
    used = _function_validators()
    assert used == set(compiler.MODELS)  # nothing missing, nothing compiled for nobody
    for ref in used:
        assert compiled.model(ref)._validator is not None


def test_an_unknown_model_fails_loudly() -> None:
    with pytest.raises(LookupError, match="make schemas"):
        compiled.model("bazaar.schemas.catalog:ProductOut").model_validate({})


# --- the same answers -----------------------------------------------------------------------------------------

_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.text(max_size=3), st.just([]), st.just({}),
                  st.sampled_from([12.0, 12.5, -0.0, float("inf"), float("nan"), 1e30, 10 ** 30, "12", ULID]))


def _valid(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema admits (the JSON Schema the model documents)."""
    if "$ref" in schema:
        return _valid(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    if "anyOf" in schema:
        return st.one_of([_valid(s, defs) for s in schema["anyOf"]])
    if "enum" in schema or "const" in schema:
        return st.sampled_from(schema.get("enum") or [schema["const"]])
    kind = schema.get("type")
    if kind == "string":
        if "pattern" in schema:
            return st.just(ULID)
        lo, hi = schema.get("minLength", 0), min(schema.get("maxLength", 20), 20)
        return st.text(st.characters(codec="utf-8"), min_size=lo, max_size=max(lo, hi))
    if kind == "integer":
        lo, hi = schema.get("minimum", -1000), schema.get("maximum", 1000)
        ints = st.integers(lo, hi)
        return st.one_of(ints, ints.map(float))  # 12.0 is 12 (bazaar.schemas.numbers)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        lo, hi = schema.get("minItems", 0), min(schema.get("maxItems", 3), 3)
        return st.lists(_valid(schema.get("items", {}), defs), min_size=lo, max_size=hi)
    if kind == "object" and "properties" in schema:
        props, required = schema["properties"], set(schema.get("required", []))
        return st.fixed_dictionaries({k: _valid(v, defs) for k, v in props.items() if k in required},
                                     optional={k: _valid(v, defs) for k, v in props.items() if k not in required})
    return st.dictionaries(st.text(max_size=4), _JUNK, max_size=3)  # free-form (``dict[str, Any]``)


def _near(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values around the schema's edges: bounds +-1, wrong types and spellings, missing and unknown fields."""
    if "$ref" in schema:
        return _near(defs[schema["$ref"].rsplit("/", 1)[1]], defs, depth)
    if "anyOf" in schema:
        return st.one_of([_near(s, defs, depth) for s in schema["anyOf"]])
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        values = schema.get("enum") or [schema["const"]]
        near = st.sampled_from([v.lower() for v in values if isinstance(v, str)] + [v + " " for v in values])
    elif kind == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 40)
        sizes = sorted({0, 1, lo, max(lo - 1, 0), hi, hi + 1})
        near = st.sampled_from(sizes).map(lambda n: "x" * n)
        if "pattern" in schema:
            near = st.one_of(near, st.sampled_from([ULID.lower(), " " + ULID, ULID + "0", "a b"]))
    elif kind == "integer":
        points = {0, 1, -1}
        for edge in (schema.get("minimum"), schema.get("maximum")):
            if edge is not None:
                points |= {edge - 1, edge, edge + 1}
        ints = st.sampled_from(sorted(points))
        near = st.one_of(ints, ints.map(float), ints.map(str), st.sampled_from([12.5, True, 10 ** 30]))
    elif kind == "array":
        item = st.one_of(_valid(schema.get("items", {}), defs), _near(schema.get("items", {}), defs, depth + 1))
        most = schema.get("maxItems", 3)
        sizes = [n for n in (0, 1, 2, most, most + 1) if n <= 60]
        near = st.sampled_from(sizes).flatmap(lambda n: st.lists(item, min_size=n, max_size=n))
        if "product_id" in json.dumps(schema.get("items", {})) + json.dumps(defs):
            line = st.fixed_dictionaries({"product_id": st.just(ULID), "quantity": st.integers(1, 3)})
            near = st.one_of(near, st.lists(line, min_size=2, max_size=3))  # a product in two lines
    elif kind == "object" and "properties" in schema:
        props = schema["properties"]
        field = {k: st.one_of(_valid(v, defs), _near(v, defs, depth + 1)) for k, v in props.items()}
        near = st.fixed_dictionaries({}, optional={**field, "unknown_field": _JUNK})
    else:
        near = _JUNK
    return st.one_of(near, _JUNK)


def _shape(outcome: Any) -> str:
    """A comparable rendering: the dump, or the errors (exceptions in ``ctx`` by text; NaN compares by repr)."""
    return repr(outcome)


def _answer(validate: Any, value: Any) -> tuple[str, Any]:
    try:
        instance = validate(value)
    except ValidationError as exc:
        return "refused", _shape([{**e, "ctx": {k: str(v) for k, v in (e.get("ctx") or {}).items()}}
                                  for e in exc.errors(include_url=False)])
    return "accepted", _shape((instance.model_dump(), instance.model_dump(exclude_unset=True),
                               sorted(instance.model_fields_set)))


@pytest.mark.parametrize("ref", compiler.MODELS)
def test_a_compiled_validator_answers_as_its_model(ref: str) -> None:
    model = compiler.load_model(ref)
    fast = compiled.model(ref)
    document = model.model_json_schema()
    seen = {"accepted": 0, "refused": 0}

    @settings(max_examples=250, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(_valid(document, document.get("$defs", {})), _near(document, document.get("$defs", {}))))
    def same(value: Any) -> None:
        expected = _answer(lambda v: model.model_validate(v, from_attributes=True), value)
        assert _answer(lambda v: fast.model_validate(v, from_attributes=True), value) == expected
        seen[expected[0]] += 1
        try:
            text = json.dumps(value, allow_nan=True)
        except (TypeError, ValueError):
            return
        assert _answer(fast.model_validate_json, text) == _answer(model.model_validate_json, text)

    same()
    # the generator reaches both answers for every model (a corpus of only junk would prove nothing)
    assert seen["accepted"] >= 10 and seen["refused"] >= 10, seen


def _ulid(n: int) -> str:
    return ULID[:-2] + "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[n // 32] + "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[n % 32]


def _lines(n: int) -> list[dict[str, Any]]:
    return [{"product_id": _ulid(i), "quantity": 1} for i in range(n)]


_PRODUCT = {"name": "Lamp", "price_cents": 1200, "currency": "EUR"}
_EVENT = {"event_id": "e", "type": "OrderCreated", "aggregate_id": "o", "occurred_at": "t", "data": {}}
# Each bound at and just past its edge, which random generation reaches rarely (long lists, long strings).
EDGES: dict[str, list[Any]] = {
    "bazaar.schemas.catalog:NewProduct": [
        {**_PRODUCT, "name": "x" * 200}, {**_PRODUCT, "name": "x" * 201}, {**_PRODUCT, "description": "d" * 5000},
        {**_PRODUCT, "description": "d" * 5001}, {**_PRODUCT, "price_cents": 10 ** 9},
        {**_PRODUCT, "price_cents": 10 ** 9 + 1}, {**_PRODUCT, "stock": 10 ** 6}, {**_PRODUCT, "stock": 10 ** 6 + 1}],
    "bazaar.schemas.catalog:ProductChanges": [
        {"name": "x" * 200}, {"name": "x" * 201}, {"description": "d" * 5001}, {"stock": 10 ** 6 + 1.0}],
    "bazaar.schemas.orders:NewOrder": [
        {"items": _lines(50), "payment_method": "pm_async"}, {"items": _lines(51), "payment_method": "pm_async"},
        {"items": _lines(51)[:-1] + [{"product_id": _ulid(0), "quantity": 1}], "payment_method": "pm_async"},
        {"items": [{"product_id": _ulid(1), "quantity": 100}], "payment_method": "pm_async"},
        {"items": [{"product_id": _ulid(1), "quantity": 101}], "payment_method": "pm_async"},
        {"items": [{"product_id": ULID.lower(), "quantity": 1}], "payment_method": "pm_async"},
        {"items": [{"product_id": _ulid(1), "quantity": 0}, {"product_id": ULID, "quantity": 1.5}],
         "payment_method": "pm_card_ok"}],
    "bazaar.schemas.orders:WebhookEvent": [
        {"event_id": "e" * 128, "type": "t" * 64, "order_id": "o" * 64},
        {"event_id": "e" * 129, "type": "t" * 65, "order_id": "o" * 65}, {"event_id": "\x7f", "type": "t",
                                                                        "order_id": "o"}],
    "bazaar.schemas.events:EventMessage": [
        {**_EVENT, "event_id": "e" * 64}, {**_EVENT, "event_id": "e" * 65}, {**_EVENT, "aggregate_id": "a" * 129}],
    "bazaar.schemas.order_events:OrderEventData": [
        {"order": {"order_id": "o", "customer_id": "c", "status": "s", "total_cents": 1, "currency": "EUR",
                   "items": [{"product_id": "p", "seller_id": "s", "name": "n", "quantity": 1,
                              "unit_price_cents": 1}] * 60},
         "released": [{"product_id": "p", "quantity": 2}] * 60}],
    "bazaar.schemas.order_events:RefundRequestedData": [
        {"order_id": "o", "amount_cents": 10 ** 30, "currency": "EUR", "idempotency_key": "k"}],
}


@pytest.mark.parametrize("ref", compiler.MODELS)
def test_a_compiled_validator_answers_as_its_model_at_every_edge(ref: str) -> None:
    model, fast = compiler.load_model(ref), compiled.model(ref)
    answers = set()
    for value in EDGES[ref]:
        expected = _answer(model.model_validate, value)
        assert _answer(fast.model_validate, value) == expected, value
        assert _answer(fast.model_validate_json, json.dumps(value)) == _answer(model.model_validate_json,
                                                                               json.dumps(value))
        answers.add(expected[0])
    assert answers == ({"accepted"} if len(EDGES[ref]) == 1 else {"accepted", "refused"})


def test_the_rules_refuse_as_the_models_do() -> None:
    order = compiled.model("bazaar.schemas.orders:NewOrder")
    twice = {"items": [{"product_id": ULID, "quantity": 1}, {"product_id": ULID, "quantity": 2.0}],
             "payment_method": "pm_card_ok"}
    with pytest.raises(ValidationError) as refused:
        order.model_validate(twice)
    assert [(e["type"], e["loc"], e["msg"]) for e in refused.value.errors()] == [
        ("value_error", ("items",), "Value error, each product may appear in one line only")]
    changes = compiled.model("bazaar.schemas.catalog:ProductChanges")
    assert changes.model_validate({"stock": 3.0}).model_dump(exclude_unset=True) == {"stock": 3}
    for body, msg in (({}, "the update changes nothing"), ({"name": None, "stock": None}, "for: name, stock")):
        with pytest.raises(ValidationError, match=msg):
            changes.model_validate(body)


# --- records and the compiler's refusals ------------------------------------------------------------------------

def test_a_record_reads_like_the_model_instance() -> None:
    event = compiled.model("bazaar.schemas.order_events:OrderEventData").model_validate(
        {"order": {"order_id": "o", "customer_id": "c", "status": "PENDING", "total_cents": 5, "currency": "EUR",
                   "items": [{"product_id": "p", "seller_id": "s", "name": "n", "quantity": 1,
                              "unit_price_cents": 5, "extra": True}]}})
    assert type(event).__name__ == "OrderEventData" and isinstance(event, compiled.Record)
    assert event.order.items[0].product_id == "p" and event.released == [] and event.reason is None
    assert event.model_fields_set == {"order"}
    assert event.model_dump(exclude_unset=True) == {"order": {
        "order_id": "o", "customer_id": "c", "status": "PENDING", "total_cents": 5, "currency": "EUR",
        "items": [{"product_id": "p", "seller_id": "s", "name": "n", "quantity": 1, "unit_price_cents": 5}]}}
    assert event.model_dump()["refund_requested"] is False
    again = compiled.model("bazaar.schemas.order_events:OrderEventData").model_validate(event.model_dump())
    assert again == event and again is not event  # records compare by their fields, nested ones too
    assert "OrderEventData(order=" in repr(event)


def test_the_compiler_refuses_what_it_could_not_reproduce() -> None:
    def local_rule(v: Any) -> Any:
        return v

    class OwnValidator(BaseModel):
        model_config = ConfigDict(defer_build=True)
        n: Annotated[int, BeforeValidator(local_rule)]

    class MethodValidator(BaseModel):
        n: int

        @field_validator("n")
        @classmethod
        def _check(cls, v: int) -> int:
            return v

    class ObjectDefault(BaseModel):
        n: float = math.pi
        when: Any = object()

    class Colour(str, Enum):
        RED = "red"

    class EnumDefault(BaseModel):
        colour: Colour = Colour.RED

    class TupleDefault(BaseModel):
        pair: Any = (1, 2)

    class KeepsExtra(BaseModel):
        model_config = ConfigDict(extra="allow")
        n: int

    class Computed(BaseModel):
        n: int

        @computed_field  # type: ignore[prop-decorator]
        @property
        def twice(self) -> int:
            return 2 * self.n

    for model in (OwnValidator, MethodValidator):
        with pytest.raises(compiler.NotCompilable, match="bazaar.schemas.rules"):
            compiler.compile_model(model)
    with pytest.raises(compiler.NotCompilable, match="cannot be written as JSON"):
        compiler.compile_model(ObjectDefault)
    refused = ((EnumDefault, "not a model class"), (TupleDefault, "survive JSON"), (KeepsExtra, "extra=.allow."),
               (Computed, "computed fields"))
    for model, why in refused:
        with pytest.raises(compiler.NotCompilable, match=why):
            compiler.compile_model(model)
    # a rule of the rules module is compiled by name
    class WithRule(BaseModel):
        n: Annotated[int, BeforeValidator(rules.whole_number)]

    assert '"rule": "whole_number"' in json.dumps(compiler.compile_model(WithRule))
