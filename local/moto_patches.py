"""Where moto differs from AWS in a way Bazaar depends on (correctness, or cost under load), and the fix.

``apply()`` installs every fix; the local stack's moto child and the test suite's moto server both call it.

- **One request at a time in DynamoDB.** moto's threaded server runs requests concurrently without a lock.
  Every DynamoDB and DynamoDB Streams request runs under one process-wide lock here, so a transaction is isolated
  from single-item reads and writes, and from other transactions, as DynamoDB serialises them.
- **Transactions cost what they touch.** moto's ``TransactWriteItems`` deep-copies every table it touches (stream
  records included) before applying, and swaps the copy back when a condition fails: cost and garbage grow with
  the table. Here every condition is evaluated against the current items first, with nothing mutated; only when
  all hold are the writes applied, with a snapshot of just the touched items (and the stream length) to undo
  them if a write step raises. Cancellation reasons keep moto's shape and codes.
- **Queries cost what they read.** moto sorts every item of the table on every ``Query`` (table and index alike).
  Here a query only looks at its partition: the table's own, or the index partition found in a per-table
  catalog of GSI hash keys that every write keeps up to date.
- **Nothing kept for ever by accident.** moto's ``BaseModel`` appends every instance it ever creates (each item
  version, stream record, shard iterator, message...) to a class-level list that only its dashboard reads; here
  that list holds weak references, so it lists what is alive and keeps nothing alive. moto's Flask apps run in
  debug mode, which builds a new class for every request; they run without it here.
- **Bounded history.** moto keeps every stream record, every SNS notification, every shard iterator it handed
  out and every deleted SQS receipt handle, forever. Stream records can be trimmed (``trim_stream``: 24 h, as
  DynamoDB, and once every registered consumer has passed them, see ``local/moto_control.py``); the others are
  capped. GetItem of a missing item no longer leaves an empty partition behind.
"""

from __future__ import annotations

import copy
import functools
import threading
import weakref
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Iterator, Optional

_lock = threading.RLock()
_applied = False

MAX_SHARD_ITERATORS = 1000  # DynamoDB expires iterators after 15 min; the oldest are dropped beyond this
SNS_HISTORY = 100  # notifications kept per topic for moto's inspection API
SQS_DELETED_RECEIPTS = 10_000  # receipt handles remembered per queue so a repeated delete still succeeds
STREAM_RETENTION = timedelta(hours=24)  # DynamoDB Streams keeps records for 24 hours


def lock() -> threading.RLock:
    """The lock every DynamoDB request holds (control routes and maintenance take it too)."""
    return _lock


def apply() -> None:
    """Install every fix (idempotent)."""
    global _applied
    if _applied:
        return
    _track_instances_weakly()
    _serialise_dynamodb_requests()
    _transactions_cost_what_they_touch()
    _queries_cost_what_they_read()
    _no_empty_partitions()
    _trimmable_streams()
    _bound_stream_iterators()
    _bound_sns_history()
    _bound_sqs_deleted_receipts()
    _applied = True


# --- what moto keeps alive ---------------------------------------------------------------------------------------

class LiveInstances:
    """A model class's ``instances_tracked``: the instances still alive, held by weak references."""

    def __init__(self, instances: Iterable[Any] = ()) -> None:
        self._refs: dict[int, weakref.ref] = {}
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        key, refs = id(instance), self._refs
        try:  # the callback runs when the instance is freed, before its id can be reused
            refs[key] = weakref.ref(instance, lambda _ref, key=key: refs.pop(key, None))
        except TypeError:  # a class without weak reference support: not listed
            pass

    def __iter__(self) -> Iterator[Any]:
        return iter([obj for ref in list(self._refs.values()) if (obj := ref()) is not None])

    def __len__(self) -> int:
        return len(self._refs)


def _track_instances_weakly() -> None:
    from moto.core.common_models import BaseModel

    def __new__(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        instance = super(BaseModel, cls).__new__(cls)
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, LiveInstances):  # first use, or replaced by a plain list on /moto-api/reset
            tracked = LiveInstances(tracked or ())
            cls.instances_tracked = tracked
        tracked.append(instance)
        return instance

    BaseModel.__new__ = __new__  # type: ignore[method-assign]


def without_debug(create_app: Callable[..., Any]) -> Callable[..., Any]:
    """moto's per-service Flask app factory, with debug mode off (it built a class per request)."""

    @functools.wraps(create_app)
    def create(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)
        app.debug = False
        return app

    return create


# --- isolation --------------------------------------------------------------------------------------------------

def _serialise_dynamodb_requests() -> None:
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        handler.call_action = locked(handler.call_action)  # type: ignore[method-assign]


# --- transactions -----------------------------------------------------------------------------------------------

_TRANSACT_OPS = ("ConditionCheck", "Put", "Delete", "Update")


def _transactions_cost_what_they_touch() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """``DynamoDBBackend.transact_write_items``: check everything, then apply, undoing only what it touched."""
    from moto.dynamodb.exceptions import TooManyTransactionsException, TransactionCanceledException

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with _lock:
        planned, reasons = _check(backend, transact_items)
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)
        reasons = _apply(backend, planned)
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)


def _check(backend: Any, transact_items: list[dict[str, Any]]) -> tuple[list[tuple], list[tuple]]:
    """Evaluate unicity and every condition against the current items. Nothing is mutated.

    Returns the planned writes and one (code, message, item) per entry, as moto reports them."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (ConditionalCheckFailed, MockValidationException,
                                          MultipleTransactionsException, TransactWriteSingleOpException)

    seen: set[tuple[str, str]] = set()
    planned: list[tuple] = []
    reasons: list[tuple] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException()
        old_image: Optional[dict[str, Any]] = None
        try:
            op_type, op = next(iter(entry.items()))
            if op_type not in _TRANSACT_OPS:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            if op_type == "Put":
                table = backend.get_table(table_name)
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            identity = (str(table_name), str(dict(sorted(key.items()))))
            if identity in seen:
                raise MultipleTransactionsException()
            seen.add(identity)
            current = backend.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(condition, op.get("ExpressionAttributeNames"),
                                              op.get("ExpressionAttributeValues"))
                if not check.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        old_image = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=old_image)
            planned.append((op_type, op, table_name, key))
            reasons.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise  # a bad request, not a cancellation (nothing was applied)
        except ConditionalCheckFailed as exc:
            reasons.append(("ConditionalCheckFailed", str(exc.message), old_image))
        except Exception as exc:  # moto reports any other failure as a reason named after the error
            reasons.append((type(exc).__name__, str(exc), old_image))
    return planned, reasons


def _apply(backend: Any, planned: list[tuple]) -> list[tuple]:
    """Apply the writes. On any failure every touched item and stream is put back as it was."""
    from moto.dynamodb.exceptions import MockValidationException

    undo: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key, the item before or None)
    stream_marks: dict[int, tuple[Any, int]] = {}
    reasons: list[tuple] = []
    try:
        for op_type, op, table_name, key in planned:
            table = backend.get_table(table_name)
            if table.stream_shard is not None and id(table) not in stream_marks:
                stream_marks[id(table)] = (table.stream_shard, len(table.stream_shard.items))
            hash_key, range_key = backend.get_keys_value(table, key)
            before = table.get_item(hash_key, range_key)
            undo.append((table, hash_key, range_key, copy.deepcopy(before)))  # Update mutates in place
            try:
                if op_type == "Put":
                    backend.put_item(table_name, op["Item"])
                elif op_type == "Delete":
                    backend.delete_item(table_name, key)
                elif op_type == "Update":
                    backend.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                        expression_attribute_names=op.get("ExpressionAttributeNames"),
                                        expression_attribute_values=op.get("ExpressionAttributeValues"))
                reasons.append((None, None, None))
            except MockValidationException:
                raise
            except Exception as exc:
                reasons.append((type(exc).__name__, str(exc), None))
    except BaseException:
        _undo(undo, stream_marks)
        raise
    if any(code is not None for code, _, _ in reasons):
        _undo(undo, stream_marks)
    return reasons


def _undo(undo: list[tuple[Any, Any, Any, Any]], stream_marks: dict[int, tuple[Any, int]]) -> None:
    for table, hash_key, range_key, before in reversed(undo):
        if range_key is not None:
            partition = table.items.get(hash_key)
            if before is not None:
                table.items[hash_key][range_key] = before
            elif partition is not None:
                partition.pop(range_key, None)
                if not partition:
                    del table.items[hash_key]
        elif before is not None:
            table.items[hash_key] = before
        else:
            table.items.pop(hash_key, None)
        _catalog_place(table, hash_key, range_key)
    for shard, length in stream_marks.values():
        del shard.items[length:]


# --- queries ----------------------------------------------------------------------------------------------------

class _IndexCatalog:
    """For each GSI of a table: hash-key values -> the keys of the items in that index partition."""

    def __init__(self, table: Any) -> None:
        self.signature = _index_signature(table)
        self.hash_attrs = {name: attrs for name, attrs in self.signature}
        self.partitions: dict[str, dict[tuple, dict[tuple, None]]] = {name: {} for name in self.hash_attrs}
        self.placed: dict[str, dict[tuple, tuple]] = {name: {} for name in self.hash_attrs}
        for item in iter_items(table):
            self.place((item.hash_key, item.range_key), item)

    def place(self, key: tuple, item: Any) -> None:
        for name, attrs in self.hash_attrs.items():
            old = self.placed[name].pop(key, None)
            if old is not None:
                members = self.partitions[name][old]
                members.pop(key, None)
                if not members:
                    del self.partitions[name][old]
            if item is not None and all(a in item.attrs for a in attrs):
                values = tuple(item.attrs[a] for a in attrs)
                self.partitions[name].setdefault(values, {})[key] = None
                self.placed[name][key] = values


def _index_signature(table: Any) -> tuple:
    return tuple((idx.name, tuple(k["AttributeName"] for k in idx.schema if k["KeyType"] == "HASH"))
                 for idx in table.global_indexes or [])


def iter_items(table: Any) -> Iterator[Any]:
    for partition in table.items.values():
        if table.range_key_attr:
            yield from partition.values()
        else:
            yield partition


def _lookup(table: Any, hash_key: Any, range_key: Any) -> Any:
    partition = table.items.get(hash_key)
    if partition is None:
        return None
    return partition.get(range_key) if table.range_key_attr else partition


def _catalog(table: Any) -> _IndexCatalog:
    catalog = table.__dict__.get("_bazaar_catalog")
    if catalog is None or catalog.signature != _index_signature(table):
        catalog = table._bazaar_catalog = _IndexCatalog(table)
    return catalog


def _catalog_place(table: Any, hash_key: Any, range_key: Any) -> None:
    """Re-read one item into the catalog (after any write to it). Built lazily: no catalog, nothing to do."""
    catalog = table.__dict__.get("_bazaar_catalog")
    if catalog is None:
        return
    if catalog.signature != _index_signature(table):
        del table._bazaar_catalog
        return
    catalog.place((hash_key, range_key if table.range_key_attr else None), _lookup(table, hash_key, range_key))


def _all_items_order(item: Any) -> Any:
    return (item.hash_key, item.range_key) if item.range_key else item.hash_key


def _query_candidates(table: Any, hash_key: Any, index_name: Optional[str],
                      hash_key_conditions: Optional[list[tuple[str, Any]]]) -> Optional[list[Any]]:
    """The items a query can match, or None when they can't be narrowed (moto then looks at every item)."""
    if index_name is None or any(i.name == index_name for i in table.indexes or []):  # table or LSI: one partition
        if index_name is not None:  # an LSI query names the table's hash key among its conditions
            hash_key = dict(hash_key_conditions or []).get(table.hash_key_attr, hash_key)
        if hash_key is None:
            return None
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]
    catalog = _catalog(table)
    attrs = catalog.hash_attrs.get(index_name)
    conditions = dict(hash_key_conditions or [])
    if attrs is None or not all(a in conditions for a in attrs):
        return None
    keys = catalog.partitions[index_name].get(tuple(conditions[a] for a in attrs), {})
    return [item for key in keys if (item := _lookup(table, *key)) is not None]


def _queries_cost_what_they_read() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original_query = Table.query

    @functools.wraps(original_query)
    def query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,  # type: ignore[no-untyped-def]
              scan_index_forward, projection_expressions, index_name=None, consistent_read=False,
              filter_expression=None, hash_key_conditions=None, range_key_conditions=None, **filter_kwargs):
        args = (self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
                projection_expressions, index_name, consistent_read, filter_expression)
        kwargs = dict(hash_key_conditions=hash_key_conditions, range_key_conditions=range_key_conditions,
                      **filter_kwargs)
        with _lock:
            candidates = _query_candidates(self, hash_key, index_name, hash_key_conditions)
            if candidates is None:
                return original_query(*args, **kwargs)
            # moto's query starts from ``self.all_items()`` (every item, sorted); hand it only the candidates, in
            # the same order, and let it do the rest (conditions, sort, paging, filters) unchanged.
            self.all_items = lambda: sorted(candidates, key=_all_items_order)
            try:
                return original_query(*args, **kwargs)
            finally:
                del self.all_items

    Table.query = query  # type: ignore[method-assign]

    # Every write keeps the catalog current: single-item writes, batch writes, PartiQL and TTL deletes all end in
    # Table.put_item / Table.delete_item; UpdateItem mutates the stored item in place.
    original_put, original_delete = Table.put_item, Table.delete_item
    original_update = DynamoDBBackend.update_item

    @functools.wraps(original_put)
    def put_item(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        item = original_put(self, *args, **kwargs)
        _catalog_place(self, item.hash_key, item.range_key)
        return item

    @functools.wraps(original_delete)
    def delete_item(self, hash_key, range_key):  # type: ignore[no-untyped-def]
        try:
            return original_delete(self, hash_key, range_key)
        finally:
            _catalog_place(self, hash_key, range_key)

    @functools.wraps(original_update)
    def update_item(self, table_name, key, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return original_update(self, table_name, key, *args, **kwargs)
        finally:
            try:
                table = self.get_table(table_name)
                _catalog_place(table, *self.get_keys_value(table, key))
            except Exception:  # the update failed on its key or table: nothing was stored
                pass

    Table.put_item, Table.delete_item = put_item, delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]


def _no_empty_partitions() -> None:
    """moto's ``items`` is a defaultdict: a GetItem of a missing item created an empty partition that stayed."""
    from moto.dynamodb.models.table import Table

    original_get, original_delete = Table.get_item, Table.delete_item

    @functools.wraps(original_get)
    def get_item(self, hash_key, range_key=None, projection_expression=None):  # type: ignore[no-untyped-def]
        if self.has_range_key and range_key and hash_key not in self.items:
            return None
        return original_get(self, hash_key, range_key, projection_expression)

    @functools.wraps(original_delete)
    def delete_item(self, hash_key, range_key):  # type: ignore[no-untyped-def]
        if self.has_range_key and hash_key not in self.items:
            return None
        item = original_delete(self, hash_key, range_key)
        if self.has_range_key and not self.items.get(hash_key, True):
            del self.items[hash_key]
        return item

    Table.get_item, Table.delete_item = get_item, delete_item  # type: ignore[method-assign]


# --- streams ----------------------------------------------------------------------------------------------------

def trimmed_data_access() -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("TrimmedDataAccessException",
                         "The operation attempted to read past the oldest stream record in a shard.")


def first_sequence_number(shard: Any) -> int:
    """The shard's first sequence number ever (``starting_sequence_number`` moves forward as records are trimmed)."""
    return int(shard.__dict__.get("_bazaar_first_sequence", shard.starting_sequence_number))


def _created(record: Any) -> datetime:
    return record.record["dynamodb"]["ApproximateCreationDateTime"]


def trim_stream(shard: Any, through: Optional[int] = None, now: Optional[datetime] = None) -> int:
    """Drop the records older than the retention and, with ``through``, every record up to that sequence number.

    moto numbers records by position (``starting_sequence_number`` + index), so the start moves with the trim and
    every later sequence number stays valid. Returns the number of records dropped."""
    from moto.core.utils import utcnow

    with _lock:
        if "_bazaar_first_sequence" not in shard.__dict__:
            shard._bazaar_first_sequence = shard.starting_sequence_number
        count = 0
        if through is not None:
            count = max(0, min(len(shard.items), through - shard.starting_sequence_number + 1))
        cutoff = (now or utcnow()) - STREAM_RETENTION
        while count < len(shard.items) and _created(shard.items[count]) < cutoff:
            count += 1
        if count:
            del shard.items[:count]
            shard.starting_sequence_number += count
        return count


def _trimmable_streams() -> None:
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    original_to_json, original_iterator = StreamShard.to_json, DynamoDBStreamsBackend.get_shard_iterator

    def to_json(self):  # type: ignore[no-untyped-def]
        out = original_to_json(self)
        out["SequenceNumberRange"]["StartingSequenceNumber"] = str(first_sequence_number(self))
        return out

    def get(self, start: int, quantity: int) -> list[dict[str, Any]]:
        offset = start - self.starting_sequence_number
        if offset < 0:
            raise trimmed_data_access()
        return [record.to_json() for record in self.items[offset:offset + quantity]]

    @functools.wraps(original_iterator)
    def get_shard_iterator(self, arn, shard_id, shard_iterator_type, sequence_number=None):  # type: ignore[no-untyped-def]
        if shard_iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and sequence_number is not None:
            shard = self._get_table_from_arn(arn).stream_shard
            first = int(sequence_number) + (1 if shard_iterator_type == "AFTER_SEQUENCE_NUMBER" else 0)
            if shard is not None and first < shard.starting_sequence_number:
                raise trimmed_data_access()
        return original_iterator(self, arn, shard_id, shard_iterator_type, sequence_number)

    StreamShard.to_json, StreamShard.get = to_json, get  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator  # type: ignore[method-assign]


def _bound_stream_iterators() -> None:
    """moto keeps every shard iterator it ever handed out (and the NextShardIterator of every GetRecords), so a
    poller taking a fresh iterator per poll grows the server by ~3 KB a poll. The oldest are dropped beyond
    ``MAX_SHARD_ITERATORS`` (recent ones still chain)."""
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    originals = (DynamoDBStreamsBackend.get_shard_iterator, DynamoDBStreamsBackend.get_records)

    def _trim(backend: Any) -> None:
        with _lock:
            excess = len(backend.shard_iterators) - MAX_SHARD_ITERATORS
            for arn in list(backend.shard_iterators)[:max(0, excess)]:
                backend.shard_iterators.pop(arn, None)

    def get_shard_iterator(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = originals[0](self, *args, **kwargs)
        _trim(self)
        return result

    def get_records(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = originals[1](self, *args, **kwargs)
        _trim(self)
        return result

    DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]


# --- SNS and SQS ------------------------------------------------------------------------------------------------

def _bound_sns_history() -> None:
    """Each topic kept every message ever published (only moto's inspection API reads them)."""
    from moto.sns.models import Topic

    original_init = Topic.__init__

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)
        self.sent_notifications = deque(self.sent_notifications, maxlen=SNS_HISTORY)

    Topic.__init__ = __init__  # type: ignore[method-assign]


class BoundedSet:
    """The most recent ``maxlen`` members of a set (insertion order)."""

    def __init__(self, maxlen: int, members: Iterable[Any] = ()) -> None:
        self._members: OrderedDict[Any, None] = OrderedDict()
        self.maxlen = maxlen
        self.update(members)

    def add(self, member: Any) -> None:
        self._members[member] = None
        self._members.move_to_end(member)
        while len(self._members) > self.maxlen:
            self._members.popitem(last=False)

    def update(self, members: Iterable[Any]) -> None:
        for member in members:
            self.add(member)

    def discard(self, member: Any) -> None:
        self._members.pop(member, None)

    def __contains__(self, member: object) -> bool:
        return member in self._members

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._members))

    def __len__(self) -> int:
        return len(self._members)


def _bound_sqs_deleted_receipts() -> None:
    """A queue remembered the receipt handles of every message ever deleted (so that deleting twice succeeds)."""
    from moto.sqs.models import Queue

    original_init = Queue.__init__

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)
        self.deleted_messages = BoundedSet(SQS_DELETED_RECEIPTS, self.deleted_messages)

    Queue.__init__ = __init__  # type: ignore[method-assign]


def locked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` under the DynamoDB lock."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return fn(*args, **kwargs)

    return wrapper
