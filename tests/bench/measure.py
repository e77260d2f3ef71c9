"""Spawn fresh interpreters (tests/bench/child.py) and turn their reports into figures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

CHILD = Path(__file__).with_name("child.py")
MARKER = "BENCH_RESULT "
CHILD_TIMEOUT_S = 120


class ChildFailed(RuntimeError):
    pass


def percentile(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    if not s:
        raise ValueError("no samples")
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> Optional[float]:
    """Median of the per-round ratios a[i]/b[i]: rounds are interleaved, so each pair saw the same host load."""
    pairs = [x / y for x, y in zip(a, b) if y]
    return round(percentile(pairs, 0.5), 2) if pairs else None


def summary(values: Sequence[float]) -> dict[str, Any]:
    return {"median": percentile(values, 0.5), "p90": percentile(values, 0.9), "min": min(values),
            "max": max(values), "n": len(values), "samples": [round(v, 3) for v in values]}


@dataclass(frozen=True)
class Target:
    """One kind of fresh process: import ``module`` with ``paths`` in front of sys.path, in ``env``."""

    key: str
    module: str
    paths: tuple[str, ...]
    env: dict[str, str]
    attr: str = ""  # checked to be callable after the import (the handler)
    runs: int = 0  # measured runs of this target; 0: the ``runs`` given to collect()


@dataclass
class Samples:
    import_ms: list[float] = field(default_factory=list)
    import_cpu_ms: list[float] = field(default_factory=list)
    startup_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    modules: list[int] = field(default_factory=list)
    modules_at_start: list[int] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    error: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        if self.error or not self.import_ms:
            return {"error": self.error or "no samples"}
        cold = [s + i for s, i in zip(self.startup_ms, self.import_ms)]
        return {
            "import_ms": summary(self.import_ms),
            "import_cpu_ms": summary(self.import_cpu_ms),
            "startup_ms": summary(self.startup_ms),
            "cold_ms": summary(cold),  # interpreter start-up + import, per process
            "process_wall_ms": summary(self.wall_ms),  # spawn to exit, including interpreter teardown
            "rss_kib": summary([float(x) for x in self.rss_kib]),
            "modules_imported": int(percentile(self.modules, 0.5)),
            "modules_total": int(percentile([a + b for a, b in zip(self.modules, self.modules_at_start)], 0.5)),
            "loaded": self.loaded,
        }


def _python_cmd(python: str, *flags: str) -> list[str]:
    # -I: no PYTHONPATH/user site/cwd on sys.path; -B: Lambda's code and layers are read-only, no .pyc written.
    return [python, "-I", "-B", *flags, str(CHILD)]


def _parse(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    raise ChildFailed("child printed no result")


def run_child(cmd: list[str], env: dict[str, str], cwd: Optional[str], what: str,
              timeout_s: float = CHILD_TIMEOUT_S) -> tuple[dict[str, Any], subprocess.CompletedProcess]:
    """Run one child and return its report (with the process); a child that printed none is a ``ChildFailed``."""
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s,
                          stdin=subprocess.DEVNULL, cwd=cwd)
    try:
        return _parse(proc.stdout), proc
    except ChildFailed:
        raise ChildFailed(f"{what}: exit {proc.returncode}: {proc.stderr.strip()[-1500:]}") from None


def run_import(target: Target, python: str = sys.executable, importtime: bool = False) -> dict[str, Any]:
    """One fresh process importing ``target.module``. Returns the child's report plus start-up and wall time."""
    cmd = _python_cmd(python, *(("-X", "importtime") if importtime else ())) + [
        "import", target.module, target.attr, os.pathsep.join(target.paths)]
    spawned = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    report, proc = run_child(cmd, target.env, target.paths[0] if target.paths else None, target.key)
    ended = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    if "error" in report:
        return report
    report["startup_ms"] = (report["started_ns"] - spawned) / 1e6  # CLOCK_MONOTONIC is system-wide on Linux
    report["wall_ms"] = (ended - spawned) / 1e6
    if importtime:
        report["importtime"] = proc.stderr
    return report


def collect(targets: Sequence[Target], runs: int, warmup: int = 1, python: str = sys.executable,
            progress=None) -> dict[str, Samples]:
    """``runs`` fresh processes per target, interleaved round by round so drift on a noisy host hits all alike."""
    out = {t.key: Samples() for t in targets}
    rounds = max([runs] + [t.runs for t in targets])
    for r in range(warmup + rounds):
        for t in targets:
            s = out[t.key]
            if s.error or r >= warmup + (t.runs or runs):
                continue
            try:
                rep = run_import(t, python)
            except (ChildFailed, subprocess.TimeoutExpired) as exc:
                s.error = str(exc)
                continue
            if "error" in rep:
                s.error = rep["error"]
                continue
            if r < warmup:
                continue
            s.import_ms.append(rep["import_ms"])
            s.import_cpu_ms.append(rep["import_cpu_ms"])
            s.startup_ms.append(rep["startup_ms"])
            s.wall_ms.append(rep["wall_ms"])
            s.rss_kib.append(rep["rss_kib"])
            s.modules.append(rep["modules_after"] - rep["modules_before"])
            s.modules_at_start.append(rep["modules_before"])
            s.loaded = rep["loaded"]
        if progress:
            progress(r + 1, warmup + rounds)
    return out


_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)")


def importtime_breakdown(stderr: str, module: str = "") -> dict[str, Any]:
    """Where the measured import's time goes, from ``-X importtime`` (only the lines between the child's markers).

    ``direct``: the handler module's own imports (including lazy ones run by its top-level code, e.g. inside
    ``make_app()``) by cumulative time, i.e. what each import statement of the handler costs given the ones before
    it; ``by_package_ms``: self time summed per top-level package (powertools split by subpackage).
    """
    lines = stderr.splitlines()
    try:
        lines = lines[lines.index("BENCH_IMPORT_BEGIN") + 1:lines.index("BENCH_IMPORT_END")]
    except ValueError:
        pass
    rows: list[tuple[str, int, int, int]] = []  # name, self us, cumulative us, depth (0 = imported by import_module)
    for line in lines:
        m = _IMPORTTIME.match(line)
        if m:
            rows.append((m[4], int(m[1]), int(m[2]), (len(m[3]) - 1) // 2))
    by_package: dict[str, int] = defaultdict(int)
    for name, self_us, _, _ in rows:
        parts = name.split(".")
        top = ".".join(parts[:2]) if parts[0] == "aws_lambda_powertools" and len(parts) > 1 else parts[0]
        by_package[top] += self_us
    # importtime prints a module after its children. importlib.import_module does not go through the instrumented
    # import statement, so the handler module has no line of its own: its direct imports are the depth-0 lines.
    # (Should it have one, they are the depth-1 lines right before it.)
    end = next((i for i, r in enumerate(rows) if r[3] == 0 and module and r[0] == module), None)
    if end is None:
        direct = [(n, c) for n, _, c, d in rows if d == 0]
    else:
        direct = []
        i = end - 1
        while i >= 0 and rows[i][3] > 0:
            if rows[i][3] == 1:
                direct.append((rows[i][0], rows[i][2]))
            i -= 1
    total = sum(by_package.values()) or 1
    packages = sorted(by_package.items(), key=lambda kv: -kv[1])
    return {
        "total_ms": round(total / 1000, 1),
        "direct_ms": {n: round(c / 1000, 1) for n, c in sorted(direct, key=lambda x: -x[1])},
        "by_package_ms": {k: round(v / 1000, 1) for k, v in packages},
    }


def run_warm(target: Target, options: dict[str, Any], python: str = sys.executable) -> dict[str, Any]:
    cmd = _python_cmd(python) + ["warm", target.module, target.attr or "handler", os.pathsep.join(target.paths),
                                 json.dumps(options)]
    proc = subprocess.run(cmd, env=target.env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S,
                          stdin=subprocess.DEVNULL, cwd=target.paths[0] if target.paths else None)
    try:
        return _parse(proc.stdout)
    except ChildFailed:
        raise ChildFailed(f"warm {target.key}: exit {proc.returncode}: {proc.stderr.strip()[-1500:]}") from None
