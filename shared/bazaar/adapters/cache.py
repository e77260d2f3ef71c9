"""The catalog cache on Valkey (ElastiCache Serverless in AWS): ``bazaar.domain.ports.ProductCache``.

It never makes a request slow or failed: short socket timeouts, no retries and a circuit breaker, so a dead or
hung cache costs at most one timeout per request and ~nothing once the breaker is open. Only single-key commands
and one-key scripts: what ElastiCache Serverless accepts from a non-cluster client (``bazaar.adapters.valkey``).

How entries are encoded is this module's business alone (docs/caching.md):

| key                                | value                                 | written by                       |
|------------------------------------|---------------------------------------|----------------------------------|
| ``product:<id>``                   | ``<v>|<product JSON>``                | readers (fill), writers (store)  |
|                                    | ``<v+1>|`` tombstone                  | delete, ``ProductDeleted`` event |
|                                    | ``<v>|evicted``: versions < v stale   | ``ProductUpdated`` event         |
| ``product:<id>:fill``              | claim token (single flight)           | the reader that loads the entry  |
| ``products:gen``                   | list page generation (INCR)           | every catalog change             |
| ``products:settling``              | present for ``LIST_SETTLE_MS`` after a change                           |
| ``products:list:<gen>:<seller>:<limit>:<cursor>`` | a page as JSON         | readers                          |

Every product write is a compare-and-set (one Lua script): the entry is replaced only by a later version, and at
one version an eviction mark < the product < a tombstone. The one exception is ``refresh`` (an order moved the
stock, not the version): it may replace the product at its own version, never a later version or a tombstone.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any, Callable, Optional, TypeVar, Union

from bazaar import settings
from bazaar.adapters.valkey import Connection, Script, ValkeyError
from bazaar.domain.catalog import Listing, ListPage, Product
from bazaar.domain.ports import MISS, UNAVAILABLE, Absent, Cached, Claim, ListingState, Lookup, Tombstone
from bazaar.observability import logger

T = TypeVar("T")
SOCKET_TIMEOUT_S = 0.2
LIST_GENERATION_KEY = "products:gen"
LIST_SETTLING_KEY = "products:settling"
EVICTED = "evicted"
# Rank of an entry at one version: a fill or a store replaces an eviction mark of its own version, nothing else;
# a refresh also replaces the product of its own version (same rank).
_EVICTION_MARK, _PRODUCT, _TOMBSTONE = 0, 1, 2

_COMPARE_AND_SET = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  local v = sep and tonumber(string.sub(cur, 1, sep - 1))
  if v then
    local rank = 1
    if sep == #cur then rank = 2 elseif string.sub(cur, sep + 1) == 'evicted' then rank = 0 end
    local nv, nrank = tonumber(ARGV[1]), tonumber(ARGV[2])
    if v > nv or (v == nv and (rank > nrank or (rank == nrank and ARGV[5] ~= '1'))) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
"""
_COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def product_key(product_id: str) -> str:
    return f"product:{product_id}"


def fill_claim_key(product_id: str) -> str:
    return f"product:{product_id}:fill"


def page_key(generation: int, listing: Listing) -> str:
    return f"products:list:{generation}:{listing.seller_id or '*'}:{listing.limit}:{listing.cursor or '-'}"


def encode_product(product: Product) -> str:
    return f"{product.version}|{json.dumps(product.to_dict(), separators=(',', ':'))}"


def decode_entry(entry: str) -> Union[Cached, Tombstone, Absent]:
    """Raises ValueError (or TypeError) on an entry this code did not write."""
    version, sep, payload = entry.partition("|")
    if not sep or not version.isdigit():
        raise ValueError("corrupt cache entry")
    if payload == "":
        return Tombstone(int(version))
    if payload == EVICTED:
        return MISS
    product = Product(**json.loads(payload))
    if product.version != int(version):
        raise ValueError("corrupt cache entry")
    return Cached(product)


def encode_page(page: ListPage) -> str:
    return json.dumps(page.to_dict(), separators=(",", ":"))


def decode_page(entry: str) -> ListPage:
    body = json.loads(entry)
    cursor = body["next_cursor"]
    if cursor is not None and not isinstance(cursor, str):
        raise ValueError("corrupt list page")
    return ListPage(tuple(Product(**item) for item in body["items"]), cursor)


class CircuitBreaker:
    """Closed -> open after ``failure_threshold`` consecutive failures; after ``cool_down_s`` it is half-open:
    the next call is a probe, whose success closes it and whose failure re-opens it at once (a hung cache then
    costs one timeout per cool-down per container, not ``failure_threshold`` of them). Transitions are logged."""

    def __init__(self, failure_threshold: int = 3, cool_down_s: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.cool_down_s = settings.CACHE_BREAKER_COOL_DOWN_S if cool_down_s is None else cool_down_s
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0
        self._tripped = False  # opened since the last success: the next failure after the cool-down re-opens
        self._opened_at = 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def success(self) -> None:
        with self._lock:
            if self._tripped:
                logger.info("cache circuit closed: the cache answers again",
                            extra={"open_s": round(self._clock() - self._opened_at, 3)})
            self._failures = 0
            self._tripped = False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._tripped or self._failures >= self.failure_threshold:
                if not self._tripped:
                    self._opened_at = self._clock()
                    logger.warning("cache circuit opened: reading without the cache",
                                   extra={"cool_down_s": self.cool_down_s})
                self._open_until = self._clock() + self.cool_down_s
                self._failures = 0
                self._tripped = True


class ValkeyCache:
    def __init__(self, connection: Connection, breaker: Optional[CircuitBreaker] = None) -> None:
        self._valkey = connection
        self._breaker = breaker or CircuitBreaker()
        self._compare_and_set = Script(connection, _COMPARE_AND_SET)
        self._compare_and_delete = Script(connection, _COMPARE_AND_DELETE)
        self._product_ttl_ms = settings.PRODUCT_CACHE_TTL_S * 1000
        self._list_ttl_ms = settings.LIST_CACHE_TTL_S * 1000

    @classmethod
    def from_url(cls, url: str) -> "ValkeyCache":
        return cls(Connection.from_url(url, timeout_s=SOCKET_TIMEOUT_S))

    def _call(self, op: Callable[[], T], default: T) -> T:
        if self._breaker.is_open:
            return default
        try:
            result = op()
        except ValkeyError as exc:
            self._breaker.failure()
            logger.warning("cache unavailable, continuing without it", extra={"error": type(exc).__name__})
            return default
        self._breaker.success()
        return result

    # --- products ------------------------------------------------------------------------------------------
    def lookup(self, product_id: str) -> Lookup:
        key = product_key(product_id)
        entry = self._call(lambda: self._valkey.execute("GET", key), UNAVAILABLE)
        if entry is UNAVAILABLE or entry is None:
            return entry if entry is UNAVAILABLE else MISS
        return self._decoded(product_id, str(entry))

    def _decoded(self, product_id: str, entry: str) -> Lookup:
        try:
            return decode_entry(entry)
        except (ValueError, TypeError, KeyError):
            # Not written by this code: drop it (unless it changed meanwhile) and read the table.
            logger.warning("corrupt cache entry dropped", extra={"product_id": product_id})
            self._call(lambda: self._compare_and_delete([product_key(product_id)], [entry]), None)
            return MISS

    def _put(self, product_id: str, version: int, rank: int, value: str, same_rank: bool = False) -> bool:
        """Set unless the entry holds a newer version, or this version at a higher rank (at the same rank too,
        unless ``same_rank``)."""
        return self._call(lambda: self._compare_and_set(
            [product_key(product_id)], [version, rank, value, self._product_ttl_ms, int(same_rank)]) is not None,
            False)

    def fill(self, product: Product) -> bool:
        return self._put(product.product_id, product.version, _PRODUCT, encode_product(product))

    def store(self, product: Product) -> bool:
        return self._put(product.product_id, product.version, _PRODUCT, encode_product(product))

    def refresh(self, product: Product) -> bool:
        return self._put(product.product_id, product.version, _PRODUCT, encode_product(product), same_rank=True)

    def bury(self, product_id: str, last_version: int) -> bool:
        return self._put(product_id, last_version + 1, _TOMBSTONE, f"{last_version + 1}|")

    def evict(self, product_id: str, version: Optional[int]) -> bool:
        if version is None:
            return self._call(lambda: self._valkey.execute("DEL", product_key(product_id)) is not None, False)
        return self._put(product_id, version, _EVICTION_MARK, f"{version}|{EVICTED}")

    def claim_fill(self, product_id: str) -> Claim:
        token = secrets.token_hex(8)
        claimed = self._call(lambda: self._valkey.execute("SET", fill_claim_key(product_id), token, "NX", "PX",
                                                          settings.FILL_CLAIM_MS), UNAVAILABLE)
        if claimed is UNAVAILABLE:
            return Claim.UNAVAILABLE
        return Claim.CLAIMED if claimed else Claim.TAKEN

    def await_fill(self, product_id: str) -> tuple[Lookup, bool]:
        def read() -> tuple[Any, Any]:
            entry, claimed = self._valkey.pipeline([("GET", product_key(product_id)),
                                                    ("EXISTS", fill_claim_key(product_id))])
            for reply in (entry, claimed):
                if isinstance(reply, ValkeyError):
                    raise reply
            return entry, claimed

        got = self._call(read, None)
        if got is None:
            return UNAVAILABLE, False
        entry, claimed = got
        if entry is None:
            return MISS, bool(claimed)
        return self._decoded(product_id, str(entry)), bool(claimed)

    def release_fill(self, product_id: str) -> None:
        self._call(lambda: self._valkey.execute("DEL", fill_claim_key(product_id)), None)

    # --- list pages ----------------------------------------------------------------------------------------
    def catalog_changed(self) -> bool:
        def bump() -> bool:
            replies = self._valkey.pipeline([("INCR", LIST_GENERATION_KEY),
                                             ("SET", LIST_SETTLING_KEY, "1", "PX", settings.LIST_SETTLE_MS)])
            for reply in replies:
                if isinstance(reply, ValkeyError):
                    raise reply
            return True

        return self._call(bump, False)

    def listing_state(self) -> Optional[ListingState]:
        def read() -> ListingState:
            generation, settling = self._valkey.pipeline([("GET", LIST_GENERATION_KEY), ("PTTL", LIST_SETTLING_KEY)])
            for reply in (generation, settling):
                if isinstance(reply, ValkeyError):
                    raise reply
            return ListingState(int(generation) if isinstance(generation, str) and generation.isdigit() else 0,
                                max(int(settling), 0) if isinstance(settling, int) else 0)

        return self._call(read, None)

    def page(self, state: ListingState, listing: Listing) -> Union[ListPage, Absent]:
        entry = self._call(lambda: self._valkey.execute("GET", page_key(state.generation, listing)), UNAVAILABLE)
        if entry is UNAVAILABLE or entry is None:
            return entry if entry is UNAVAILABLE else MISS
        try:
            return decode_page(str(entry))
        except (ValueError, TypeError, KeyError):
            return MISS

    def keep_page(self, state: ListingState, listing: Listing, page: ListPage) -> None:
        # Computed while a change is settling: the index it came from may not show that change yet, so keep the
        # page only until the change has settled, not for the whole TTL.
        ttl_ms = min(self._list_ttl_ms, state.settling_ms) if state.settling_ms else self._list_ttl_ms
        self._call(lambda: self._valkey.execute("SET", page_key(state.generation, listing), encode_page(page), "NX",
                                                "PX", max(ttl_ms, 1)), None)
