"""Secrets from Secrets Manager, cached per container for ``SECRET_MAX_AGE_S`` so a warm call costs nothing.

Fetched with botocore (which every function that reads a secret has loaded for its table client already), not
through boto3 and Powertools Parameters: the cursor key is on the cold path of ``GET /products``, and importing
boto3 plus a second SDK session there cost a large part of its cold start (``make bench``). The client comes from
the session the other adapters share (``bazaar.adapters.sdk``)."""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from typing import Any

SECRET_MAX_AGE_S = 300  # rotation is picked up within 5 minutes

_values: dict[str, tuple[bytes, float]] = {}
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _client() -> Any:
    from bazaar.adapters import sdk  # the container's one botocore session

    return sdk.client("secretsmanager")


def get_secret_bytes(secret_id: str, force_fetch: bool = False) -> bytes:
    """The secret's value, from the container's cache unless it is older than the max age or ``force_fetch``
    (e.g. after a signature mismatch that a rotated secret would explain)."""
    with _lock:
        cached = _values.get(secret_id)
    if cached is not None and not force_fetch and time.monotonic() - cached[1] < SECRET_MAX_AGE_S:
        return cached[0]
    answer = _client().get_secret_value(SecretId=secret_id)
    value = answer["SecretString"].encode() if "SecretString" in answer else bytes(answer["SecretBinary"])
    with _lock:
        _values[secret_id] = (value, time.monotonic())
    return value


def clear() -> None:
    """Forget every value and the client (tests that switch endpoints or secrets between cases)."""
    with _lock:
        _values.clear()
    _client.cache_clear()
