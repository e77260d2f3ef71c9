"""Secrets from Secrets Manager, cached per container (Powertools Parameters) so a warm call costs nothing."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

SECRET_MAX_AGE_S = 300  # rotation is picked up within 5 minutes


def get_secret_bytes(secret_id: str, force_fetch: bool = False) -> bytes:
    """The secret's value, from the container's cache unless ``force_fetch`` (e.g. after a signature mismatch
    that a rotated secret would explain)."""
    value = parameters.get_secret(secret_id, max_age=SECRET_MAX_AGE_S, force_fetch=force_fetch)
    return value.encode() if isinstance(value, str) else bytes(value)
