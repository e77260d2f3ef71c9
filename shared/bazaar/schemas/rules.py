"""The rules the request and event models check beyond types and bounds, in plain Python (no pydantic).

The models (``bazaar.schemas.catalog``, ``orders``, ``numbers``) declare them as validators, and the validators
compiled from those models (``bazaar.schemas.compiled``) call the same functions by name at run time, so each
rule lives here once. A rule gets what pydantic gives a validator at its place in the schema: a field's value,
or the validated instance (a model's, or a compiled record's: both have the fields as attributes and
``model_fields_set``). A rule refuses with ``ValueError``, which becomes a ``value_error`` (422 on the routes).
"""

from __future__ import annotations

from typing import Any, Iterable


def whole_number(value: Any) -> Any:
    """``12.0`` is the integer 12 (JSON has one number type); ``12.5``, ``inf`` and ``nan`` stay floats, refused by
    the strict integer field the rule stands before."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def distinct_products(lines: Iterable[Any]) -> Any:
    """An order's lines name each product once (a product's quantity is one line's ``quantity``)."""
    ids = [line.product_id for line in lines]
    if len(set(ids)) != len(ids):
        raise ValueError("each product may appear in one line only")
    return lines


def changes_some_and_no_nulls(changes: Any) -> Any:
    """A partial update sends at least one field, and ``null`` for none of them: a validation error (422) before
    any precondition is looked at (RFC 9110)."""
    sent = changes.model_fields_set
    nulls = sorted(f for f in sent if getattr(changes, f) is None)
    if nulls:
        raise ValueError(f"null is not allowed for: {', '.join(nulls)}")
    if not sent:
        raise ValueError("the update changes nothing: send at least one field")
    return changes
