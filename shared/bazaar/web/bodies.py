"""Request bodies: the one JSON parser every route uses, bounded so that no client text can make it raise
anything but a parse error.

Python's parser fails in two ways a client controls, neither of them ``JSONDecodeError``:
- deep nesting (``[[[[...``) raises ``RecursionError`` near 1,000 levels, and anything that walks such a value later
  (validation, error shaping, log redaction) recurses too;
- an integer literal of more than 4,300 digits raises ``ValueError`` (CVE-2020-10735's conversion limit).

Both are client errors (contract §2): deep nesting is refused as unparseable (400), an over-long integer becomes a
value no integer field accepts, so validation names the field (422).
"""

from __future__ import annotations

import json
import sys
from typing import Any

# No Bazaar request body nests deeper than 3 levels ({"items": [{...}]}); 32 leaves room and stays far from the
# interpreter's recursion limit wherever the value is walked.
MAX_DEPTH = 32
# Python refuses to convert longer digit strings to int (sys.int_info.default_max_str_digits); no field comes close.
MAX_INT_DIGITS = getattr(sys.int_info, "default_max_str_digits", 4300) or 4300


class OversizedInteger:
    """An integer literal too long to convert. Not an int, so every integer field rejects it (422)."""

    __slots__ = ("digits",)

    def __init__(self, literal: str) -> None:
        self.digits = len(literal.lstrip("-"))

    def __repr__(self) -> str:  # what an error message may show: never the literal itself
        return f"<integer of {self.digits} digits>"


def _parse_int(literal: str) -> Any:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        return OversizedInteger(literal)
    return int(literal)


def _depth(value: Any) -> int:
    """Nesting depth of a parsed value, without recursion (it may come straight from a hostile body)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def loads(text: str | bytes) -> Any:
    """``json.loads`` for request bodies. Raises only ``json.JSONDecodeError`` (Powertools maps it to 400)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError("the body is not UTF-8 text", "", 0) from exc
    try:
        value = json.loads(text, parse_int=_parse_int)
    except RecursionError:
        raise json.JSONDecodeError(f"JSON nested deeper than {MAX_DEPTH} levels", "", 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # any other conversion failure is still the client's malformed text
        raise json.JSONDecodeError("unparseable JSON", "", 0) from exc
    if _depth(value) > MAX_DEPTH:
        raise json.JSONDecodeError(f"JSON nested deeper than {MAX_DEPTH} levels", "", 0)
    return value
