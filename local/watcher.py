"""Picks up code changes without a restart: polls mtimes under ``functions/`` and ``shared/`` once a second.

A change in ``functions/<name>/`` recycles that function (and every ``code="all"`` one); a change in
``shared/`` (the layer) or a new/removed function package recycles all. Recycled functions start cold with
the new code on their next invoke. Also reaps environments idle for too long.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Iterable

from bazaar.manifest import Function
from local.runtime import LambdaRuntime

IDLE_TTL_S = 600.0  # Lambda reclaims idle environments after minutes; keeps RSS bounded on a laptop


def snapshot(roots: Iterable[Path]) -> dict[str, float]:
    out: dict[str, float] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
            for name in filenames:
                if name.endswith((".pyc", ".pyo", ".swp", "~")):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    out[path] = os.stat(path).st_mtime_ns
                except OSError:
                    pass
    return out


def affected_functions(changed: Iterable[str], functions: Iterable[Function], functions_dir: Path) -> set[str]:
    functions = list(functions)
    names: set[str] = set()
    prefix = str(functions_dir) + os.sep
    for path in changed:
        if not path.startswith(prefix):
            return {f.name for f in functions}  # the shared layer
        rel = path[len(prefix):].split(os.sep)
        if len(rel) == 1:  # functions/__init__.py or a loose file
            return {f.name for f in functions}
        names.add(rel[0])
    return {f.name for f in functions if f.name in names or (f.code == "all" and names)}


class CodeWatcher(threading.Thread):
    def __init__(self, runtime: LambdaRuntime, functions: list[Function], functions_dir: Path, shared_dir: Path,
                 stop: threading.Event, log: Callable[[str], None], interval_s: float = 1.0) -> None:
        super().__init__(name="code-watcher", daemon=True)
        self.runtime, self.functions = runtime, functions
        self.roots = (functions_dir, shared_dir)
        self.functions_dir = functions_dir
        self._stop_event, self._log, self.interval_s = stop, log, interval_s
        self._state = snapshot(self.roots)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            try:
                self.check()
                self.runtime.reap(IDLE_TTL_S)
            except Exception as exc:  # never let the watcher die
                self._log(f"watch  error {type(exc).__name__}: {exc}")

    def check(self) -> set[str]:
        state = snapshot(self.roots)
        changed = {p for p in state.keys() | self._state.keys() if state.get(p) != self._state.get(p)}
        self._state = state
        if not changed:
            return set()
        names = affected_functions(changed, self.functions, self.functions_dir)
        if names:
            self.runtime.recycle(names)
            self._log(f"reload {len(changed)} file(s) changed -> next invoke cold: {', '.join(sorted(names))}")
        return names
