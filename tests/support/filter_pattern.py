"""A reading of CloudWatch Logs JSON filter patterns, for the subset Bazaar's metric filters use, so tests can
check a pattern against real log lines: ``{ $.a = "x" }``, ``{ $.a[0] = "x" }``, ``{ $.flag IS TRUE }``, joined
with ``&&`` / ``||`` and parentheses. Anything else raises, so a pattern outside the subset cannot pass unread.

As CloudWatch documents it: a string comparison matches the JSON value exactly (so ``"401"`` does not match the
number 401), a missing property or index never matches, ``IS TRUE`` matches the JSON literal true only.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(r'\s*(\(|\)|&&|\|\||IS TRUE|=|"(?:[^"\\]|\\.)*"|\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+)')
_MISSING = object()


def _tokens(text: str) -> list[str]:
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"not a JSON filter pattern: {text!r}")
    body, out, pos = text[1:-1].strip(), [], 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m:
            raise ValueError(f"unsupported pattern syntax at {body[pos:]!r}")
        out.append(m.group(1))
        pos = m.end()
        while pos < len(body) and body[pos].isspace():
            pos += 1
    return out


def _select(doc: Any, selector: str) -> Any:
    for part in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", selector[1:]):
        key, index = part
        if key:
            doc = doc.get(key, _MISSING) if isinstance(doc, dict) else _MISSING
        else:
            i = int(index)
            doc = doc[i] if isinstance(doc, list) and i < len(doc) else _MISSING
        if doc is _MISSING:
            return _MISSING
    return doc


class _Parser:
    def __init__(self, tokens: list[str], doc: Any) -> None:
        self.t, self.i, self.doc = tokens, 0, doc

    def _peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def _take(self) -> str:
        tok = self._peek()
        if tok is None:
            raise ValueError("unexpected end of pattern")
        self.i += 1
        return tok

    def expr(self) -> bool:
        value = self.conj()
        while self._peek() == "||":
            self._take()
            value = self.conj() or value
        return value

    def conj(self) -> bool:
        value = self.atom()
        while self._peek() == "&&":
            self._take()
            value = self.atom() and value
        return value

    def atom(self) -> bool:
        tok = self._take()
        if tok == "(":
            value = self.expr()
            if self._take() != ")":
                raise ValueError("unbalanced parentheses")
            return value
        if not tok.startswith("$"):
            raise ValueError(f"expected a selector, got {tok!r}")
        actual = _select(self.doc, tok)
        op = self._take()
        if op == "IS TRUE":
            return actual is True
        if op != "=":
            raise ValueError(f"unsupported operator {op!r}")
        literal = self._take()
        if not literal.startswith('"'):
            raise ValueError(f"only string comparisons are supported, got {literal!r}")
        return isinstance(actual, str) and actual == json.loads(literal)


def matches(pattern: str, line: str) -> bool:
    """Whether CloudWatch would count the log event ``line`` (one JSON object) under ``pattern``."""
    try:
        doc = json.loads(line)
    except ValueError:
        return False
    parser = _Parser(_tokens(pattern), doc)
    value = parser.expr()
    if parser._peek() is not None:
        raise ValueError(f"trailing tokens in {pattern!r}")
    return value
