"""Numbers as JSON has them.

JSON has one number type: ``12.0`` is the integer 12 (RFC 8259 §6), and JSON Schema's ``"type": "integer"`` admits
it, so the OpenAPI document cannot promise a client that ``12.0`` is refused. Integer fields therefore take a
whole number in either spelling; ``12.5``, ``"12"``, ``true`` and ``null`` stay refused (the models are strict).
"""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():  # inf and nan are not: they stay refused
        return int(value)
    return value


# Use last in the field's annotations, after its bounds: ``Annotated[int, Field(ge=1), WHOLE_NUMBER]`` (then the
# bounds stay JSON Schema ``minimum``/``maximum`` in the document).
WHOLE_NUMBER = BeforeValidator(_whole)
