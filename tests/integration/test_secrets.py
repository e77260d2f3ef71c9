"""Secrets are read once per container and max age (bazaar.adapters.secrets), refetched on demand."""

from __future__ import annotations

import boto3
import pytest

from bazaar.adapters import secrets


def test_cached_for_the_max_age_and_refetched_on_demand(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets.clear()
    sm = boto3.client("secretsmanager")
    arn = sm.create_secret(Name="bazaar/test/k", SecretString="first")["ARN"]
    assert secrets.get_secret_bytes(arn) == b"first"
    sm.put_secret_value(SecretId=arn, SecretString="second")
    assert secrets.get_secret_bytes(arn) == b"first"  # within the max age: no call
    assert secrets.get_secret_bytes(arn, force_fetch=True) == b"second"
    sm.put_secret_value(SecretId=arn, SecretString="third")
    monkeypatch.setattr(secrets, "SECRET_MAX_AGE_S", 0)
    assert secrets.get_secret_bytes(arn) == b"third"  # older than the max age: fetched again
    binary = sm.create_secret(Name="bazaar/test/b", SecretBinary=b"\x00\x01")["ARN"]
    assert secrets.get_secret_bytes(binary) == b"\x00\x01"
    secrets.clear()
