"""``python -m tests.bench``: per manifest function, the import+init time of its handler in fresh processes with a
Lambda-like environment and sys.path, its deployment package size, the layers' sizes and a warm-invocation
micro-benchmark of ``health``. Prints a table and writes build/bench.json.

Options: ``-n RUNS`` (fresh processes per function, default 7), ``--shipped-runs`` (runs with the layer as
shipped, without bytecode; 0 skips), ``--warm N`` (invocations, 0 skips), ``--no-breakdown`` (skip the
``-X importtime`` pass), ``-f NAME`` (repeatable: only these functions), ``--json PATH``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bazaar import manifest

from tests.bench import report, runner, staging

DEFAULT_JSON = staging.REPO_ROOT / "build" / "bench.json"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--runs", type=int, default=7, help="fresh processes per function (default 7)")
    p.add_argument("--shipped-runs", type=int, default=5,
                   help="fresh processes per function with the layer as shipped, no .pyc (default 5, 0 skips)")
    p.add_argument("--warm", type=int, default=200, help="warm invocations of health (default 200, 0 skips)")
    p.add_argument("--no-breakdown", action="store_true", help="skip the -X importtime pass")
    p.add_argument("-f", "--function", action="append", choices=sorted(manifest.BY_NAME), help="only this function")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"output JSON (default {DEFAULT_JSON})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--orders", type=int, default=200, help="orders for the purchase-path bench (0 skips)")
    a = p.parse_args(argv)
    if a.runs < 1:
        p.error("--runs must be >= 1")
    fns = [manifest.get(n) for n in a.function] if a.function else None
    progress = None if a.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    res = runner.run(fns, runs=a.runs, shipped_runs=a.shipped_runs, warm_n=a.warm, breakdown=not a.no_breakdown,
                     progress=progress)
    print(report.render(res))
    if a.orders:  # the purchase path on the local stack (tests/bench/orders.py)
        from tests.bench import orders

        res["orders"] = orders.run(a.orders, progress=progress)
        print("\n" + orders.render(res["orders"]))
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(res, indent=2) + "\n")
    print(f"\nwrote {a.json}")
    failed = [n for n, f in res["functions"].items() if "error" in f]
    return 1 if failed or "error" in res["baselines"]["bare"] or "error" in res["baselines"]["boto3"] else 0


if __name__ == "__main__":
    sys.exit(main())
