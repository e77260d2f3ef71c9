"""Numbers as JSON has them.

JSON has one number type: ``12.0`` is the integer 12 (RFC 8259 §6), and JSON Schema's ``"type": "integer"`` admits
it, so the OpenAPI document cannot promise a client that ``12.0`` is refused. Integer fields therefore take a
whole number in either spelling; ``12.5``, ``"12"``, ``true`` and ``null`` stay refused (the models are strict).
"""

from __future__ import annotations

from pydantic import BeforeValidator

from bazaar.schemas import rules

# Use last in the field's annotations, after its bounds: ``Annotated[int, Field(ge=1), WHOLE_NUMBER]`` (then the
# bounds stay JSON Schema ``minimum``/``maximum`` in the document).
WHOLE_NUMBER = BeforeValidator(rules.whole_number)
