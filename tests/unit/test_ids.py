"""ULID identifiers (bazaar.domain.ids): time-sortable, and a cheap shape check that rejects anything odd."""

from __future__ import annotations

import pytest

from bazaar.domain.ids import is_valid_id, new_id


def test_new_id_is_26_crockford_characters() -> None:
    value = new_id()
    assert len(value) == 26
    assert is_valid_id(value)
    assert not set(value) & set("ILOU")  # excluded from Crockford base32


def test_ids_sort_by_creation_time() -> None:
    times = [0, 1, 999, 1_000, 1_700_000_000_000, 1_700_000_000_001, 2**48 - 1]
    ids = [new_id(t) for t in times]
    assert ids == sorted(ids)
    assert len({new_id(5) for _ in range(100)}) == 100  # same millisecond: still unique (80 random bits)


def test_the_timestamp_is_the_leading_part() -> None:
    a, b = new_id(1_700_000_000_000), new_id(1_700_000_000_000)
    assert a[:10] == b[:10] and a != b


@pytest.mark.parametrize("value", [
    "", " ", "0" * 25, "0" * 27, new_id().lower(), new_id() + "\n", " " + new_id(), new_id()[:-1] + "I",
    new_id()[:-1] + "U", "../" + new_id()[3:], "0" * 3000, "A" * 10**6, "ÄÖÜ" * 9, "０" * 26,
    new_id()[:-1] + "\u0000",
], ids=["empty", "space", "short", "long", "lowercase", "trailing-newline", "leading-space", "letter-I", "letter-U",
        "path", "3000-chars", "1MB", "unicode", "fullwidth-digits", "nul"])
def test_odd_inputs_are_not_ids(value: str) -> None:
    assert is_valid_id(value) is False
