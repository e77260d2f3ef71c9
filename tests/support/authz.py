"""The authorization matrix: every manifest route × every kind of caller, and what each must get.

Generated from the manifest (public or groups) plus one rule per kind of owned resource (named by its path
parameter). ``tests/e2e/test_authz_matrix.py`` runs it against the local stack; ``docs/security.md`` shows it, and
``tests/unit/test_authz_docs.py`` keeps the two equal. A route whose path names a resource without a rule here
fails both, so a new owned resource cannot slip through unchecked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from bazaar import manifest

PRINCIPALS = ("anonymous", "customer", "other_customer", "seller", "other_seller", "admin")
GROUP_OF: dict[str, Optional[str]] = {"anonymous": None, "customer": "customer", "other_customer": "customer",
                                      "seller": "seller", "other_seller": "seller", "admin": "admin"}
OK = "ok"  # the route's success status (2xx)


@dataclass(frozen=True)
class OwnedKind:
    """A resource with an owner, and what a caller who may use the route but is neither its owner nor an admin gets:
    403 for products (contract §3: another seller's PATCH is 403), 404 for orders (contract §3: anyone else 404,
    so an order's existence is not revealed)."""

    param: str
    owner: str  # the principal that owns the resource under test
    stranger_status: int


OWNED: dict[str, OwnedKind] = {
    "product_id": OwnedKind("product_id", owner="seller", stranger_status=403),
    "order_id": OwnedKind("order_id", owner="customer", stranger_status=404),
}


def path_params(route: manifest.Route) -> list[str]:
    return re.findall(r"\{([a-z_]+)\+?\}", route.path)


def owned_kind(route: manifest.Route) -> Optional[OwnedKind]:
    """The owned resource a route acts on (its last path parameter), or None for collection routes."""
    params = path_params(route)
    if not params:
        return None
    if params[-1] not in OWNED:
        raise LookupError(f"{route.key}: no ownership rule for {{{params[-1]}}} in tests/support/authz.py")
    return OWNED[params[-1]]


def expected(route: manifest.Route, principal: str) -> str:
    """``OK`` or the refusal status (as text) that ``principal`` must get on ``route``."""
    if route.public:
        return OK  # no authorizer (a webhook proves itself with its signature, not a token)
    group = GROUP_OF[principal]
    if group is None:
        return "401"  # API Gateway's JWT authorizer, before any function runs
    if group not in route.groups:
        return "403"  # the function, from the manifest's groups
    kind = owned_kind(route)
    if kind is None or principal in (kind.owner, "admin"):
        return OK
    return str(kind.stranger_status)  # the function's object-level check


def checked_by(route: manifest.Route) -> str:
    if route.public:
        return "public: no authorizer"
    parts = ["authorizer: token (401)", f"function: groups {'/'.join(route.groups)} (403)"]
    kind = owned_kind(route)
    if kind is not None:
        parts.append(f"function: owner or admin ({kind.stranger_status})")
    return "; ".join(parts)


def markdown_table() -> str:
    """The matrix as docs/security.md shows it."""
    head = "| route | " + " | ".join(p.replace("_", " ") for p in PRINCIPALS) + " | checked by |"
    rule = "|" + "---|" * (len(PRINCIPALS) + 2)
    rows = []
    for fn in manifest.routes():
        route = fn.route
        assert route is not None
        cells = ["✓" if expected(route, p) == OK else expected(route, p) for p in PRINCIPALS]
        rows.append(f"| `{route.key}` | " + " | ".join(cells) + f" | {checked_by(route)} |")
    return "\n".join([head, rule, *rows])


DOC_START = "<!-- authz-matrix:start (generated from the manifest by tests/support/authz.py) -->"
DOC_END = "<!-- authz-matrix:end -->"


def with_table(text: str) -> str:
    """``text`` (docs/security.md) with its matrix replaced by the generated one."""
    head, _, rest = text.partition(DOC_START)
    _, _, tail = rest.partition(DOC_END)
    return f"{head}{DOC_START}\n{markdown_table()}\n{DOC_END}{tail}"


if __name__ == "__main__":  # PYTHONPATH=shared .venv/bin/python -m tests.support.authz: rewrite docs/security.md
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "security.md"
    doc.write_text(with_table(doc.read_text()))
