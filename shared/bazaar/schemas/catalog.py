"""Request and response bodies of the catalog routes (contract §3: Product)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bazaar.schemas import rules
from bazaar.schemas.numbers import WHOLE_NUMBER

Currency = Literal["EUR", "USD", "GBP"]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=5000)]
PriceCents = Annotated[int, Field(ge=1, le=1_000_000_000), WHOLE_NUMBER]
Stock = Annotated[int, Field(ge=0, le=1_000_000), WHOLE_NUMBER]

# strict: "12" is not a price and true is not a stock count (12.0 is 12: bazaar.schemas.numbers); forbid: unknown
# fields are a client bug (422). defer_build: a model is built when first used (the OpenAPI document, the compiler,
# tests), not every model of the module at import; the functions run the compiled validators (bazaar.schemas.compiled).
_STRICT = ConfigDict(strict=True, extra="forbid", defer_build=True)
_DEFERRED = ConfigDict(defer_build=True)


class NewProduct(BaseModel):
    model_config = _STRICT

    name: Name
    description: Description = ""
    price_cents: PriceCents
    currency: Currency
    stock: Stock = 0


def _changes_schema(schema: dict[str, Any]) -> None:
    """The document says what the server takes: no ``null`` for any field, and at least one field."""
    for prop in schema.get("properties", {}).values():
        variants = [v for v in prop.pop("anyOf", []) if v.get("type") != "null"]
        if len(variants) == 1:
            prop.update(variants[0])
        elif variants:
            prop["anyOf"] = variants
        prop.pop("default", None)
    schema["minProperties"] = 1


class ProductChanges(BaseModel):
    """A partial update: only the fields sent change; ``null`` is not a value for any of them."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra=_changes_schema, defer_build=True)

    name: Optional[Name] = None
    description: Optional[Description] = None
    price_cents: Optional[PriceCents] = None
    currency: Optional[Currency] = None
    stock: Optional[Stock] = None

    _some_and_no_nulls = model_validator(mode="after")(rules.changes_some_and_no_nulls)


class ProductOut(BaseModel):
    model_config = _DEFERRED

    product_id: str
    seller_id: str
    name: str
    description: str
    price_cents: int
    currency: Currency
    stock: int
    version: int
    created_at: str
    updated_at: str


class ProductPage(BaseModel):
    model_config = _DEFERRED

    items: list[ProductOut]
    next_cursor: Optional[str]
