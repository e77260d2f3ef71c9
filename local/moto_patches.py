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


MAX_SHARD_ITERATORS = 1000


def bound_stream_iterators() -> None:
    """moto keeps every shard iterator it ever handed out (and the NextShardIterator of every GetRecords), so a
    stream poller taking a fresh iterator per poll grows the server by ~3 KB a poll. DynamoDB expires iterators
    after 15 minutes; here the oldest are dropped beyond ``MAX_SHARD_ITERATORS`` (recent ones still chain)."""
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    if getattr(DynamoDBStreamsBackend, "_bazaar_bounded", False):
        return
    originals = (DynamoDBStreamsBackend.get_shard_iterator, DynamoDBStreamsBackend.get_records)

    def _trim(backend) -> None:  # type: ignore[no-untyped-def]
        with _lock:
            excess = len(backend.shard_iterators) - MAX_SHARD_ITERATORS
            for arn in list(backend.shard_iterators)[:max(0, excess)]:
                backend.shard_iterators.pop(arn, None)

    def get_shard_iterator(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = originals[0](self, *args, **kwargs)
        _trim(self)
        return result

    def get_records(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Under the transaction lock: moto applies a transaction's items one by one and rolls them back when a
        # condition fails, so a read in between would see records of a transaction that never committed
        # (phantom INSERTs: an OrderCreated event for an order that does not exist). DynamoDB never shows them.
        with _lock:
            result = originals[1](self, *args, **kwargs)
        _trim(self)
        return result

    DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]
    DynamoDBStreamsBackend._bazaar_bounded = True  # type: ignore[attr-defined]
