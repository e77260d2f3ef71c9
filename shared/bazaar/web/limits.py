"""Request limits every route enforces before anything else (no framework import: the platform routes use it)."""

from __future__ import annotations

from typing import Any, Mapping


def body_size(event: Mapping[str, Any]) -> int:
    """The request body's size in bytes as the client sent it (base64 bodies: the decoded size)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4 - body[-2:].count("=")  # the decoded size: padding is not content
    return len(body.encode("utf-8", "surrogatepass"))
