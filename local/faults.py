"""Fault injection for the local moto server: the failures real AWS produces and moto never does.

- **Transaction contention.** DynamoDB cancels a ``TransactWriteItems`` that collides with another transaction on
  the same item (``TransactionConflict``) instead of waiting; moto serialises them and never does. A configured
  fraction of transactions is cancelled that way, before anything is written (as DynamoDB does).
- **Throttling.** A fraction of transactions cancelled with ``ThrottlingError``.
- **An SNS outage.** Every ``Publish``/``PublishBatch`` fails with ``InternalError`` (HTTP 500) while it lasts.

Settings, at start from the environment of ``make run`` (and so of the moto child):

| variable | meaning |
|---|---|
| ``BAZAAR_FAULT_TX_CONFLICT_RATE`` | 0..1: fraction of transactions cancelled with ``TransactionConflict`` |
| ``BAZAAR_FAULT_TX_THROTTLE_RATE`` | 0..1: fraction cancelled with ``ThrottlingError`` |
| ``BAZAAR_FAULT_SNS_OUTAGE`` | ``1``: SNS publishing fails until turned off |

and at run time through ``<local dir>/faults.json`` (``python -m local faults --sns-outage on``, or a test writing
it with ``write_settings``): the server re-reads the file when it changes, so a test can start and stop an outage
while the stack runs. The file overrides the environment key by key; it is deleted when the server starts.
Counts of what was injected are written to ``faults-stats.json`` beside it.

``install`` wraps the backend methods *after* any other patch of them (moto_child calls it last), so the faults
compose with local/moto_patches.py: an injected cancellation never reaches the real transaction code.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping, Optional

ENV = {
    "tx_conflict_rate": "BAZAAR_FAULT_TX_CONFLICT_RATE",
    "tx_throttle_rate": "BAZAAR_FAULT_TX_THROTTLE_RATE",
    "sns_outage": "BAZAAR_FAULT_SNS_OUTAGE",
}
SETTINGS_FILE = "faults.json"
STATS_FILE = "faults-stats.json"
_RECHECK_S = 0.05  # how often the settings file is stat()ed at most


@dataclass(frozen=True)
class FaultSettings:
    tx_conflict_rate: float = 0.0
    tx_throttle_rate: float = 0.0
    sns_outage: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "FaultSettings":
        return cls().merged({k: env[v] for k, v in ENV.items() if env.get(v, "") != ""})

    def merged(self, values: Mapping[str, Any]) -> "FaultSettings":
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        out: dict[str, Any] = {}
        for key, value in values.items():
            if key == "sns_outage":
                out[key] = value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "on")
            else:
                rate = float(value)
                if not 0.0 <= rate <= 1.0:
                    raise ValueError(f"{key} must be within 0..1, got {rate}")
                out[key] = rate
        return replace(self, **out)


class Faults:
    """The injector's state: base settings (environment), the run-time file, and counters."""

    def __init__(self, base: FaultSettings, settings_path: Optional[Path] = None,
                 rng: Optional[random.Random] = None) -> None:
        self.base = base
        self.path = settings_path
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._current = base
        self._mtime: Optional[float] = None
        self._checked = 0.0
        self.counts = {"tx_conflicts": 0, "tx_throttles": 0, "sns_publish_failures": 0}

    def settings(self) -> FaultSettings:
        if self.path is None:
            return self._current
        now = time.monotonic()
        with self._lock:
            if now - self._checked < _RECHECK_S:
                return self._current
            self._checked = now
            try:
                mtime = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                self._mtime, self._current = None, self.base
                return self._current
            if mtime != self._mtime:
                try:
                    self._current = self.base.merged(json.loads(self.path.read_text()))
                    self._mtime = mtime
                except (ValueError, OSError):
                    pass  # half-written or invalid: keep the last good settings, look again next time
            return self._current

    def set(self, **values: Any) -> None:
        """Change settings in memory (in-process servers, e.g. the integration tests)."""
        with self._lock:
            self._current = self._current.merged(values)

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1
            counts = dict(self.counts)
        if self.path is not None:
            _write_json(self.path.with_name(STATS_FILE), counts)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # readers see the old or the new file, never half of one


def write_settings(local_dir: Path, **values: Any) -> FaultSettings:
    """Change a running stack's faults (merged into what the file already says). Returns the file's settings."""
    path = Path(local_dir) / SETTINGS_FILE
    current = read_settings(local_dir)
    current.update(values)
    settings = FaultSettings().merged(current)  # validate before anything is written
    _write_json(path, {k: v for k, v in asdict(settings).items() if k in current})
    return settings


def read_settings(local_dir: Path) -> dict[str, Any]:
    """The run-time overrides in effect (empty: the environment's settings apply)."""
    path = Path(local_dir) / SETTINGS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def clear_settings(local_dir: Path) -> None:
    (Path(local_dir) / SETTINGS_FILE).unlink(missing_ok=True)


def read_stats(local_dir: Path) -> dict[str, int]:
    path = Path(local_dir) / STATS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


_installed: list[Faults] = []


def install(settings_path: Optional[Path] = None, env: Optional[Mapping[str, str]] = None) -> Faults:
    """Wrap moto's DynamoDB transaction and SNS publish backends (once per process). Returns the injector."""
    if _installed:
        return _installed[0]
    if settings_path is not None:
        settings_path.unlink(missing_ok=True)  # a previous run's faults never leak into this one
        settings_path.with_name(STATS_FILE).unlink(missing_ok=True)
    faults = Faults(FaultSettings.from_env(env if env is not None else os.environ), settings_path)

    from moto.dynamodb.exceptions import TransactionCanceledException
    from moto.dynamodb.models import DynamoDBBackend
    from moto.sns.exceptions import InternalError
    from moto.sns.models import SNSBackend

    inner_transact = DynamoDBBackend.transact_write_items  # whatever patch is in place: ours goes around it

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        s = faults.settings()
        if faults.roll(s.tx_conflict_rate):
            faults.count("tx_conflicts")
            raise TransactionCanceledException(
                [("TransactionConflict", "Transaction is ongoing for the item", None)] * len(transact_items))
        if faults.roll(s.tx_throttle_rate):
            faults.count("tx_throttles")
            raise TransactionCanceledException(
                [("ThrottlingError", "Throughput exceeds the current capacity of your table or index", None)]
                * len(transact_items))
        return inner_transact(self, transact_items, *args, **kwargs)

    def failing(method: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if faults.settings().sns_outage:
                faults.count("sns_publish_failures")
                raise InternalError("Simulated SNS outage (local fault injection)")
            return method(self, *args, **kwargs)
        wrapper.__wrapped__ = method  # type: ignore[attr-defined]
        return wrapper

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    SNSBackend.publish = failing(SNSBackend.publish)  # type: ignore[method-assign]
    SNSBackend.publish_batch = failing(SNSBackend.publish_batch)  # type: ignore[method-assign]
    _installed.append(faults)
    return faults
