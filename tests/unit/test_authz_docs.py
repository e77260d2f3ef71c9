"""docs/security.md shows the authorization matrix exactly as the manifest generates it."""

from __future__ import annotations

from pathlib import Path

from bazaar import manifest
from tests.support.authz import OK, PRINCIPALS, expected, with_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_the_documented_matrix_is_the_generated_one() -> None:
    text = DOC.read_text()
    assert with_table(text) == text, "regenerate it: PYTHONPATH=shared .venv/bin/python -m tests.support.authz"


def test_the_matrix_follows_the_contract_for_the_catalog() -> None:
    patch = manifest.get("update_product").route
    create = manifest.get("create_product").route
    assert patch is not None and create is not None
    assert [expected(patch, p) for p in PRINCIPALS] == ["401", "403", "403", OK, "403", OK]
    assert [expected(create, p) for p in PRINCIPALS] == ["401", "403", "403", OK, OK, "403"]
    for fn in manifest.routes():
        if fn.route and fn.route.public:
            assert {expected(fn.route, p) for p in PRINCIPALS} == {OK}
