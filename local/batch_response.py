"""How Lambda's event source mappings read a batch consumer's answer (``batchItemFailures``), for both pollers."""

from __future__ import annotations

from local.runtime import InvokeResult


def failed_item_ids(result: InvokeResult, all_ids: list[str]) -> set[str]:
    """The ids to retry. A failed invoke, or a malformed/unknown itemIdentifier, fails the whole batch (AWS)."""
    if not result.ok:
        return set(all_ids)
    payload = result.payload
    if not isinstance(payload, dict) or not payload.get("batchItemFailures"):
        return set()  # null, {} or [] all mean: every message succeeded
    failures = payload["batchItemFailures"]
    if not isinstance(failures, list):
        return set(all_ids)
    ids = set()
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or ident not in all_ids:
            return set(all_ids)
        ids.add(ident)
    return ids
