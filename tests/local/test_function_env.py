"""The local stack's fault-injection knob: per-function environment overrides (BAZAAR_LOCAL_FUNCTION_ENV)."""

from __future__ import annotations

import json

import pytest

from local.config import FUNCTION_ENV_ENV, function_env_overrides


def test_unset_means_no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FUNCTION_ENV_ENV, raising=False)
    assert function_env_overrides() == {}


def test_overrides_are_read_per_function(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"update_product": {"CACHE_URL": "redis://127.0.0.1:1/0"}}
    monkeypatch.setenv(FUNCTION_ENV_ENV, json.dumps(value))
    assert function_env_overrides() == value


@pytest.mark.parametrize("bad", ['["x"]', '{"f": "v"}', '{"f": {"V": 1}}', "not json"])
def test_a_malformed_value_is_an_error_not_a_silent_no_op(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(FUNCTION_ENV_ENV, bad)
    with pytest.raises(ValueError):
        function_env_overrides()
