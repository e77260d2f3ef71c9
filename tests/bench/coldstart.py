"""Cold starts as Lambda has them: a fresh process per measurement, init (the handler module's import) plus the
first invocation with a realistic event, in the environment the synthesized template gives the function (tracing
as deployed), against local moto and Valkey. Each is reported as a ratio to a floor measured in the same rounds:
a fresh process that imports boto3 and creates one DynamoDB client.

Rounds are interleaved (the floor and every function once per round, in a shuffled order) and every ratio is the
median of the per-round ratios, so a busy host slows numerator and denominator alike.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from tests.bench.measure import ChildFailed, _python_cmd, paired_ratio, run_child, summary

FLOOR = "(floor: boto3 + DynamoDB client)"
FLOOR_LAYER_SDK = "(the floor with the layer's SDK)"  # informative: what the trimmed SDK data saves every function
# The goals (issue "cold starts halved"): functions that call AWS within 1.3x the floor; the platform routes within
# half of it.
GOAL_AWS = 1.3
GOAL_PLATFORM = 0.5
PLATFORM = ("health", "openapi", "docs")


@dataclass(frozen=True)
class ColdTarget:
    key: str
    module: str
    attr: str
    paths: tuple[str, ...]
    env: dict[str, str]
    first_event: Callable[[int], tuple[dict[str, Any], int]]  # run -> (event, expected status; 0 = batch)
    function_name: str = "bench"
    traced: bool = False  # active tracing: Lambda sets _X_AMZN_TRACE_ID for every invocation
    mode: str = "cold"


@dataclass
class ColdSamples:
    cold_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # the process's CPU time, start-up to first answer
    init_ms: list[float] = field(default_factory=list)
    invoke_ms: list[float] = field(default_factory=list)
    aws_wait_ms: list[float] = field(default_factory=list)  # botocore round trips to moto in the first invocation
    aws_calls: int = 0
    startup_ms: list[float] = field(default_factory=list)
    rss_kib: list[float] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    modules: int = 0
    error: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        if self.error or not self.cold_ms:
            return {"error": self.error or "no samples"}
        return {"cold_ms": summary(self.cold_ms), "cpu_ms": summary(self.cpu_ms), "init_ms": summary(self.init_ms),
                "first_invoke_ms": summary(self.invoke_ms), "startup_ms": summary(self.startup_ms),
                "aws_wait_ms": summary(self.aws_wait_ms), "aws_calls": self.aws_calls,
                "cold_without_aws_wait_ms": summary([c - w for c, w in zip(self.cold_ms, self.aws_wait_ms)]),
                "peak_rss_mib": round(max(self.rss_kib) / 1024, 1),
                "median_rss_mib": round(summary(self.rss_kib)["median"] / 1024, 1),
                "loaded": self.loaded, "modules": self.modules}


def run_once(target: ColdTarget, run: int, scratch: Path, events_path: str,
             python: str = sys.executable) -> dict[str, Any]:
    from tests.bench.template import trace_header

    event, expect = target.first_event(run)
    event_path = scratch.resolve() / f"{target.key.strip('()').split(':')[0]}-{run}.json"
    event_path.write_text(json.dumps(event))
    spec = {"event_path": str(event_path), "events_path": events_path, "function_name": target.function_name,
            "expect": expect, "trace_header": trace_header() if target.traced else ""}
    cmd = _python_cmd(python) + [target.mode, target.module, target.attr, os.pathsep.join(target.paths),
                                 json.dumps(spec)]
    spawned = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    try:
        report, _ = run_child(cmd, target.env, target.paths[0] if target.paths else None, target.key)
    finally:
        event_path.unlink(missing_ok=True)
    if "error" in report:
        raise ChildFailed(f"{target.key}: {report['error']}\n{report.get('traceback', '')}")
    report["startup_ms"] = (report["started_ns"] - spawned) / 1e6
    report["cold_ms"] = (report["done_ns"] - spawned) / 1e6
    return report


def collect(floor: ColdTarget, targets: Sequence[ColdTarget], runs: int, scratch: Path, events_path: str,
            warmup: int = 1, progress: Optional[Callable[[str], None]] = None) -> dict[str, ColdSamples]:
    out = {t.key: ColdSamples() for t in [floor, *targets]}
    scratch.mkdir(parents=True, exist_ok=True)
    order = random.Random(2027)
    for r in range(warmup + runs):
        round_targets = [floor, *targets]
        order.shuffle(round_targets)  # no target always runs right after another (page cache, CPU state)
        for t in round_targets:
            s = out[t.key]
            if s.error:
                continue
            try:
                rep = run_once(t, r, scratch, events_path)
            except (ChildFailed, subprocess.TimeoutExpired, OSError) as exc:
                s.error = str(exc)
                continue
            if r < warmup:
                continue
            s.cold_ms.append(rep["cold_ms"])
            s.cpu_ms.append(rep["cpu_ms"])
            s.init_ms.append(rep["init_ms"])
            s.invoke_ms.append(rep["invoke_ms"])
            s.aws_wait_ms.append(rep.get("aws_wait_ms", 0.0))
            s.aws_calls = rep.get("aws_calls", 0)
            s.startup_ms.append(rep["startup_ms"])
            s.rss_kib.append(float(rep["rss_kib"]))
            s.loaded = rep.get("loaded", [])
            s.modules = rep.get("modules", 0)
        if progress:
            progress(f"  cold-start round {r + 1}/{warmup + runs}")
    return out


def results(samples: dict[str, ColdSamples], floor_key: str = FLOOR) -> dict[str, Any]:
    floor = samples[floor_key]
    out: dict[str, Any] = {"floor": floor.as_dict(), "functions": {}}
    for key, s in samples.items():
        if key == floor_key:
            continue
        row = s.as_dict()
        if "error" not in row and not floor.error:
            ratio = paired_ratio(s.cold_ms, floor.cold_ms)
            # The floor creates a client and sends nothing; a first invocation's calls go to local moto, whose
            # latency is not DynamoDB's (a transaction deep-copies the table): also shown without that wait.
            own = paired_ratio([c - w for c, w in zip(s.cold_ms, s.aws_wait_ms)], floor.cold_ms)
            # The goals are the deployed configuration's: none for the comparisons (the floor with the layer's SDK,
            # a function as a stage that opts in to in-process tracing runs it).
            goal = (None if key == FLOOR_LAYER_SDK or " + " in key
                    else GOAL_PLATFORM if key.split(" ")[0] in PLATFORM else GOAL_AWS)
            row.update(ratio_to_floor=ratio, ratio_without_aws_wait=own, goal=goal,
                       cpu_ratio_to_floor=paired_ratio(s.cpu_ms, floor.cpu_ms),
                       meets_goal=None if goal is None else ratio is not None and ratio <= goal)
        out["functions"][key] = row
    return out
