"""Render the bench results as aligned text tables."""

from __future__ import annotations

from typing import Any, Optional, Sequence

SHORT = {  # labels for the "loads" column (child.WATCH)
    "aws_lambda_powertools.event_handler.middlewares.openapi_validation": "pt.openapi_validation",
    "aws_lambda_powertools.event_handler.openapi.models": "pt.openapi.models",
    "aws_lambda_powertools.event_handler.openapi.swagger_ui": "pt.swagger_ui",
    "aws_lambda_powertools.utilities.idempotency": "pt.idempotency",
    "aws_xray_sdk": "xray",
}


def _short(module: str) -> str:
    return SHORT.get(module) or module.replace("aws_lambda_powertools.", "pt.")


def _num(v: Optional[float], fmt: str = "{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def _x(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.2f}x"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if ra else str(c).ljust(w) for c, w, ra in zip(r, widths, right)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), sep, *(fmt(r) for r in rows)])


def _med(block: dict[str, Any], key: str) -> Optional[float]:
    return block[key]["median"] if isinstance(block.get(key), dict) and "median" in block[key] else None


def _row(name: str, code: str, b: dict[str, Any], package: Optional[dict[str, Any]]) -> list[str]:
    pkg_b = str(package["zipped_bytes"]) if package else ""
    pkg_k = f"{package['zipped_kib']:.1f}" if package else ""
    if "error" in b:
        return [name, code, "ERROR", "", "", "", "", "", "", "", "", "", "", pkg_b, pkg_k]
    imp, ratio = b["import_ms"], b.get("ratio", {})
    nopyc = b.get("nopyc_layer") or {}
    return [
        name, code,
        _num(imp["median"]), _num(imp["p90"]), _num(imp["min"]), _num(_med(b, "import_cpu_ms")),
        _x(ratio.get("import_vs_bare_cold")), _x(ratio.get("import_vs_boto3")),
        _num(_med(nopyc, "import_ms")) if nopyc and "error" not in nopyc else ("ERROR" if nopyc else "-"),
        _x(ratio.get("nopyc_import_vs_import")),
        _num(_med(b, "startup_ms")), _num(_med(b, "cold_ms")),
        _num(b["rss_kib"]["median"] / 1024), str(b["modules_imported"]),
        pkg_b, pkg_k,
    ]


def render_cold(res: dict[str, Any]) -> list[str]:
    cold, s = res.get("cold_start") or {}, res["settings"]
    if not cold:
        return []
    out = [f"Cold starts = init + first invocation with a realistic event, in the environment the {s['stage']} "
           f"template gives each function (tracing: {', '.join(sorted(set(s['tracing'].values())))}; in-process "
           f"SDK: {', '.join(s['sdk_tracing']) or 'none'}), against local moto + Valkey; "
           f"{s['cold_runs']} fresh processes per row, interleaved with the floor", ""]
    floor = cold["floor"]
    header = ["function", "cold ms", "p90", "init ms", "1st call ms", "AWS wait", "x floor", "goal", "",
              "x w/o wait", "cpu ms", "x floor cpu", "peak MiB"]
    rows = []
    if "error" in floor:
        rows.append(["(floor)", "ERROR"] + [""] * 11)
    else:
        rows.append(["(floor: boto3 + DynamoDB client)", _num(floor["cold_ms"]["median"]),
                     _num(floor["cold_ms"]["p90"]), _num(floor["init_ms"]["median"]), "-", "-", "1.00x", "", "",
                     "", _num(floor["cpu_ms"]["median"]), "1.00x", _num(floor["peak_rss_mib"])])
    for name, r in cold["functions"].items():
        if "error" in r:
            rows.append([name, "ERROR"] + [""] * 11)
            continue
        rows.append([name, _num(r["cold_ms"]["median"]), _num(r["cold_ms"]["p90"]), _num(r["init_ms"]["median"]),
                     _num(r["first_invoke_ms"]["median"]),
                     f"{r['aws_wait_ms']['median']:.1f} ({r['aws_calls']})", _x(r.get("ratio_to_floor")),
                     f"<= {r['goal']:.1f}x" if r.get("goal") else "",
                     "" if r.get("meets_goal") is None else "ok" if r["meets_goal"] else "OVER",
                     _x(r.get("ratio_without_aws_wait")), _num(r["cpu_ms"]["median"]),
                     _x(r.get("cpu_ratio_to_floor")), _num(r["peak_rss_mib"])])
    out.append(table(header, rows, [False] + [True] * 12))
    out.append("  cold ms   spawn of a fresh interpreter to the end of the first invocation (median; p90 beside it)")
    out.append("  init      the handler module's import; 1st call = the first invocation (lazy imports, clients, "
               "connections, requests)")
    out.append("  AWS wait  of the 1st call: botocore round trips to local moto (calls); moto's latencies are not "
               "DynamoDB's")
    out.append("  x floor   median of per-round ratios to the floor; goal: functions that call AWS <= 1.3x, "
               "health/openapi/docs <= 0.5x; w/o wait: the same with the AWS wait taken out")
    out.append("  cpu ms    the process's CPU time (user + system) to the end of the first invocation: steadier than "
               "wall time on a busy host; x floor cpu = the same paired ratio on CPU time")
    out.append("  peak MiB  VmHWM of the process after the first invocation")
    for name, r in cold["functions"].items():
        if "error" in r:
            out.append(f"ERROR cold start {name}: {r['error'][-800:]}")
    return out + [""]


def render_cache(res: dict[str, Any]) -> list[str]:
    cache = res.get("cache") or {}
    if not cache:
        return []
    s = res["settings"]
    out = [f"Cached vs uncached reads (warm, handler entry to exit, {s['cache_n']} interleaved pairs; reads saved "
           f"over a {s['cache_requests']}-request Zipf mix with a change before 2% of requests)", ""]
    header = ["route", "uncached us", "cached us", "speed-up", "DynamoDB reads: without", "with", "saved",
              "hit ratio", "goal"]
    rows = []
    for name, r in cache.items():
        if "error" in r:
            rows.append([name, "ERROR", "", "", "", "", "", "", ""])
            continue
        w = r["workload"]
        rows.append([name, _num(r["uncached_us"]["median"]), _num(r["cached_us"]["median"]),
                     f"{r['speedup']:.1f}x", str(w["reads_without_cache"]), str(w["reads_with_cache"]),
                     f"{r['reads_saved'] * 100:.1f}%", f"{r['hit_ratio'] * 100:.1f}%",
                     "ok" if r["meets_goal"] else "OVER"])
    out.append(table(header, rows, [False] + [True] * 8))
    out.append("  goal: >= 5x faster median and >= 90% of DynamoDB reads saved")
    for name, r in cache.items():
        if "error" in r:
            out.append(f"ERROR cache {name}: {r['error'][-800:]}")
    return out + [""]


def render(res: dict[str, Any]) -> str:
    s, host = res["settings"], res["host"]
    out: list[str] = []
    out.append(f"Bazaar bench: python {host['python']} ({host['machine']}, {host['cpus']} cpus, load average "
               f"{host.get('load_average', ['?'])[0]}) standing in for Lambda python{host['lambda_python']} arm64; "
               f"{res['elapsed_s']:.0f} s")
    out.append("")
    out += render_cold(res)
    out += render_cache(res)
    out.append(f"Imports only ({s['runs']} fresh processes per row, median/p90/min):")
    out.append("")
    header = ["function", "code", "import ms", "p90", "min", "cpu ms", "x bare", "x boto3", "no-pyc ms", "x",
              "start-up", "cold ms", "RSS MiB", "modules", "zip bytes", "KiB"]
    right = [False, False] + [True] * (len(header) - 2)
    rows = [_row("(bare: json)", "", res["baselines"]["bare"], None),
            _row("(boto3)", "", res["baselines"]["boto3"], None)]
    rows += [_row(name, f["code"], f, f["package"]) for name, f in res["functions"].items()]
    out.append(table(header, rows, right))
    out.append("")
    out.append("  import ms  importlib.import_module(handler module) in a fresh process with the function's "
               "Lambda env and sys.path")
    out.append("  cpu ms     CPU time (process_time) of the same import: steadier than wall time on a busy host")
    out.append("  x bare     import ms / cold ms of a bare interpreter (start-up + import json); every x is the median "
               "of per-round ratios")
    out.append("  x boto3    import ms / import ms of `import boto3` (what every AWS Python Lambda pays)")
    out.append("  no-pyc     import ms with the layer as layers/build.sh ships it (no bytecode: compiled on every cold "
               f"start, /opt is read-only), {s['shipped_runs']} runs; x = vs import ms")
    out.append("  start-up   spawn -> first line of the child (interpreter + site), measured from outside; "
               "cold ms = start-up + import")
    out.append("  RSS        peak RSS of the child after the import (ru_maxrss); "
               "modules = sys.modules added by the import")
    out.append("  zip        the function's deployment package (its staged code dir, DEFLATED, in memory)")

    out.append("")
    layers = res["layers"]
    lrows = []
    dep = layers.get("dependencies", {})
    if "error" in dep:
        lrows.append(["dependency layer", dep["path"], "-", "-", "-", dep["error"]])
    else:
        lrows.append(["dependency layer", dep["path"], str(dep["files"]), f"{dep['unzipped_bytes'] / 2**20:.2f} MiB",
                      f"{dep['zipped_bytes'] / 2**20:.2f} MiB", f"{dep['zipped_bytes']} bytes zipped"])
    sh = layers["shared"]
    lrows.append(["shared-code layer", sh["path"], str(sh["files"]), f"{sh['unzipped_bytes'] / 1024:.1f} KiB",
                  f"{sh['zipped_kib']:.1f} KiB", f"{sh['zipped_bytes']} bytes zipped"])
    out.append(table(["layer", "source", "files", "unzipped", "zipped", ""], lrows,
                     [False, False, True, True, True, False]))
    mism = res.get("nopyc_layer", {}).get("version_mismatches")
    if mism:
        out.append(f"  note: layer versions not installed here (no-pyc stand-in differs): {', '.join(mism)}")

    w = res.get("warm") or {}
    if w:
        out.append("")
        if "error" in w:
            out.append(f"warm {w['function']}: ERROR {w['error']}")
        else:
            h, t = w["handler_us"], w["trivial_us"]
            out.append(table(
                ["warm invocation", "n", "median us", "p90 us", "min us", "x trivial"],
                [[f"{w['function']} (API GW v2 event)", str(h["n"]), f"{h['median']:.1f}", f"{h['p90']:.1f}",
                  f"{h['min']:.1f}", _x(w.get("ratio_vs_trivial"))],
                 ['trivial: return {"statusCode": 200}', str(t["n"]), f"{t['median']:.2f}", f"{t['p90']:.2f}",
                  f"{t['min']:.2f}", "1.00x"]],
                [False, True, True, True, True, True]))

    loads = [(n, f.get("loaded")) for n, f in res["functions"].items() if f.get("loaded") is not None]
    if loads:
        out.append("")
        out.append("heavy modules in sys.modules after the handler import:")
        width = max(len(n) for n, _ in loads)
        for n, mods in loads:
            out.append(f"  {n.ljust(width)}  {' '.join(_short(m) for m in mods) or '-'}")

    bds = [(n, f["breakdown"]) for n, f in res["functions"].items() if "breakdown" in f]
    if bds:
        out.append("")
        out.append("where the import time goes (one extra process per function under -X importtime, which inflates "
                   "times):")
        out.append("  direct = the handler module's imports by cumulative ms (incl. lazy ones its top-level code "
                   "runs); packages = self ms per package")
        width = max(len(n) for n, _ in bds)
        for n, bd in bds:
            if "error" in bd:
                out.append(f"  {n.ljust(width)}  ERROR {bd['error']}")
                continue
            direct = [f"{_short(k)} {v:.0f}" for k, v in list(bd["direct_ms"].items())[:5] if v >= 1]
            pkgs = [f"{_short(k)} {v:.0f}" for k, v in list(bd["by_package_ms"].items())[:6]]
            out.append(f"  {n.ljust(width)}  direct:   " + ", ".join(direct))
            out.append(f"  {''.ljust(width)}  packages: " + ", ".join(pkgs) + f"  (total {bd['total_ms']:.0f})")
    errors = [n for n, f in res["functions"].items() if "error" in f]
    if errors:
        out.append("")
        for n in errors:
            out.append(f"ERROR {n}: {res['functions'][n]['error']}")
    return "\n".join(out)
