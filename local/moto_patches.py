"""Where moto differs from AWS in a way Bazaar's correctness depends on, and the fix applied to the local server.

moto snapshots every table a ``TransactWriteItems`` touches and, when a condition fails, restores the snapshot.
Its threaded server runs requests concurrently without a lock, so a failing transaction can undo another
request's committed write (seen as two conditional updates both succeeding on the same version). DynamoDB
serialises conflicting transactions; one process-wide lock around the backend method gives the same isolation.
"""

from __future__ import annotations

import functools
import threading

_lock = threading.RLock()
_applied = False


def make_transactions_atomic() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with _lock:
            return original(self, *args, **kwargs)

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _applied = True
