"""Request and response bodies of the catalog routes (contract §3: Product)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bazaar.schemas.numbers import WholeNumber

Currency = Literal["EUR", "USD", "GBP"]
Name = Field(min_length=1, max_length=200)
Description = Field(max_length=5000)
PriceCents = Field(ge=1, le=1_000_000_000)
Stock = Field(ge=0, le=1_000_000)

# strict: "12" is not a price and true is not a stock count (12.0 is 12: bazaar.schemas.numbers); forbid: unknown
# fields are a client bug (422).
_STRICT = ConfigDict(strict=True, extra="forbid")


class NewProduct(BaseModel):
    model_config = _STRICT

    name: str = Name
    description: str = Field(default="", max_length=5000)
    price_cents: WholeNumber = PriceCents
    currency: Currency
    stock: WholeNumber = Field(default=0, ge=0, le=1_000_000)


class ProductChanges(BaseModel):
    """A partial update: only the fields sent change; ``null`` is not a value for any of them."""

    model_config = _STRICT

    name: Optional[str] = Field(default=None, min_length=1, max_length=200)
    description: Optional[str] = Field(default=None, max_length=5000)
    price_cents: Optional[WholeNumber] = Field(default=None, ge=1, le=1_000_000_000)
    currency: Optional[Currency] = None
    stock: Optional[WholeNumber] = Field(default=None, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _no_nulls(self) -> "ProductChanges":
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"null is not allowed for: {', '.join(nulls)}")
        return self

    def changes(self) -> dict:
        return self.model_dump(exclude_unset=True)


class ProductOut(BaseModel):
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
    items: list[ProductOut]
    next_cursor: Optional[str]
