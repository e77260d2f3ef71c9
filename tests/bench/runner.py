"""The whole bench as one call: stage, measure, size; returns a JSON-able dict (written to build/bench.json)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from bazaar import manifest
from bazaar.manifest import Function
from bazaar.runtime import LAMBDA_PYTHON_VERSION

from tests.bench import cachebench, coldstart, lambda_env, measure, staging, template

SCHEMA = 2
EVENTS_HELPERS = staging.REPO_ROOT / "tests" / "support" / "events.py"
WARM_FUNCTION = "health"
NOPYC = " (no-pyc layer)"
SDK_SUFFIX = "+ X-Ray SDK"


def _log(progress: Optional[Callable[[str], None]], msg: str) -> None:
    if progress:
        progress(msg)


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return round(a / b, 2) if a is not None and b else None


def _ratios(s: measure.Samples, bare: measure.Samples, boto3: measure.Samples) -> dict[str, Optional[float]]:
    """Ratios against the baselines, each the median of per-round ratios (rounds are interleaved)."""
    if s.error or bare.error or boto3.error:
        return {}
    cold = [a + b for a, b in zip(s.startup_ms, s.import_ms)]
    bare_cold = [a + b for a, b in zip(bare.startup_ms, bare.import_ms)]
    return {
        "import_vs_bare_cold": measure.paired_ratio(s.import_ms, bare_cold),
        "import_vs_boto3": measure.paired_ratio(s.import_ms, boto3.import_ms),
        "cold_vs_bare_cold": measure.paired_ratio(cold, bare_cold),
        "import_cpu_vs_boto3": measure.paired_ratio(s.import_cpu_ms, boto3.import_cpu_ms),
    }


def stage_and_size(fns: Sequence[Function], stage_root: Path) -> tuple[dict[str, Path], dict[str, staging.Size]]:
    """Stage each function's code dir (Lambda's /var/task) and size its deployment zip."""
    code_dirs = {fn.name: staging.stage_function(fn, stage_root) for fn in fns}
    return code_dirs, {fn.name: staging.zip_size(code_dirs[fn.name]) for fn in fns}


def run(functions: Optional[Sequence[Function]] = None, runs: int = 7, shipped_runs: int = 5, warm_n: int = 200,
        breakdown: bool = True, stage_root: Path = staging.DEFAULT_STAGE_ROOT, warmup: int = 1,
        progress: Optional[Callable[[str], None]] = None, stage: Optional[str] = None, cold_runs: int = 0,
        cache_n: int = 0, cache_requests: int = 500, compare_sdk: Sequence[str] = (),
        catalog: int = 30) -> dict[str, Any]:
    """Measure ``functions`` (default: the whole manifest) in the environment the ``stage`` template gives them
    (``None``: built by the same code from the manifest, without a synth).

    ``cold_runs``: cold starts (init + first invocation) per function against local moto/Valkey, 0 skips;
    ``catalog``: products seeded for them (more than a page, so a list's first page signs a cursor);
    ``cache_n``: cached/uncached read pairs per read route, 0 skips; ``compare_sdk``: functions also measured
    with in-process tracing (the X-Ray SDK, as a stage that opts in runs them); ``shipped_runs=0`` skips the no-bytecode
    layer pass, ``warm_n=0`` the warm-invocation micro-benchmark, ``breakdown=False`` the -X importtime pass."""
    started = time.monotonic()
    fns = list(functions if functions is not None else manifest.FUNCTIONS)
    stage_root = Path(stage_root).resolve()
    home = stage_root / "home"
    home.mkdir(parents=True, exist_ok=True)
    _log(progress, f"function configurations: {'synthesized template of stage ' + stage if stage else 'manifest'}")
    configs = template.stage_configs(stage)
    shared_python = staging.stage_shared_layer(stage_root)
    staging.compile_bytecode(shared_python)
    # Behind the shared layer, as on Lambda: the dependency layer's trimmed AWS SDK (pure Python; the rest of the
    # arm64 layer is stood in for by this interpreter's site-packages).
    sdk_python = staging.stage_sdk(stage_root)
    layer_paths = (str(shared_python),) + ((str(sdk_python),) if sdk_python else ())
    site = str(staging.site_packages())
    layer_built = (staging.LAYER_DIR / "python").is_dir()

    # --- stage code dirs and size the packages -------------------------------------------------------------
    _log(progress, f"staging {len(fns)} function(s) under {stage_root}")
    code_dirs, sizes = stage_and_size(fns, stage_root)
    for code_dir in code_dirs.values():
        staging.compile_bytecode(code_dir)  # the assets ship bytecode (layers/bytecode.py)
    layers: dict[str, Any] = {
        "shared": {"path": str(staging.SHARED_DIR / "bazaar"),
                   **staging.zip_size(shared_python, prefix="python/").as_dict()},
    }
    if layer_built:
        layers["dependencies"] = {"path": str(staging.LAYER_DIR), **staging.zip_size(staging.LAYER_DIR).as_dict()}
    else:
        layers["dependencies"] = {"path": str(staging.LAYER_DIR), "error": "not built: run `make layer`"}

    backend = None
    cold: dict[str, Any] = {}
    cache: dict[str, Any] = {}
    try:
        if cold_runs or cache_n:
            _log(progress, "backend: moto + Valkey, provisioned from the manifest, catalog seeded")
            from tests.bench import backend as backend_mod

            backend = backend_mod.start(stage_root / "local", products=catalog)
        if cold_runs and backend is not None:
            cold = _cold_starts(fns, configs, code_dirs, layer_paths, home, backend, cold_runs, warmup,
                                stage_root, progress, compare_sdk)
        if cache_n and backend is not None:
            cache = _cache_figures(fns, configs, code_dirs, layer_paths, home, backend, cache_n, cache_requests,
                                   stage_root, progress)
    finally:
        if backend is not None:
            backend.stop()

    # --- fresh-process imports -------------------------------------------------------------------------------
    ref_env = lambda_env.reference_environment(home)
    baselines = [
        measure.Target("bare", "json", (), ref_env),
        measure.Target("boto3", "boto3", (), ref_env),
    ]
    fn_targets = [
        measure.Target(fn.name, fn.handler.rsplit(".", 1)[0],
                       (str(code_dirs[fn.name]), *layer_paths),
                       lambda_env.lambda_environment(configs[fn.name], fn, code_dirs[fn.name], home),
                       attr=fn.handler.rsplit(".", 1)[1])
        for fn in fns
    ]
    # The layer as build.sh ships it: no bytecode (a stand-in copy of this platform's installs, see staging).
    shipped_targets: list[measure.Target] = []
    shipped_meta: dict[str, Any] = {"runs": shipped_runs}
    if shipped_runs and layer_built:
        nopyc, missing = staging.stage_nopyc_layer(stage_root)
        shipped_meta.update(missing=missing, version_mismatches=staging.layer_version_mismatches())
        shipped_targets = [measure.Target(f"{t.key}{NOPYC}", t.module, (*t.paths, str(nopyc)), t.env, t.attr,
                                          runs=shipped_runs) for t in fn_targets]
    elif shipped_runs:
        shipped_meta["skipped"] = "dependency layer not built"

    _log(progress, f"import: {len(baselines) + len(fn_targets)} targets x {runs} fresh processes"
                   + (f", {len(shipped_targets)} without .pyc x {shipped_runs}" if shipped_targets else "")
                   + f" (+{warmup} warm-up round), interleaved")
    samples = measure.collect(baselines + fn_targets + shipped_targets, runs=runs, warmup=warmup,
                              progress=lambda r, n: _log(progress, f"  round {r}/{n}"))
    bare, boto3 = samples["bare"], samples["boto3"]
    base = {k: {**samples[k].as_dict(), "ratio": _ratios(samples[k], bare, boto3)} for k in ("bare", "boto3")}
    shipped = {t.key[:-len(NOPYC)]: samples[t.key] for t in shipped_targets}

    # --- where the import time goes ----------------------------------------------------------------------------
    breakdowns: dict[str, Any] = {}
    if breakdown:
        _log(progress, "import breakdown (-X importtime), one process per function")
        for t in fn_targets:
            if samples[t.key].error:
                continue
            try:
                rep = measure.run_import(t, importtime=True)
                breakdowns[t.key] = measure.importtime_breakdown(rep.get("importtime", ""), t.module)
            except (measure.ChildFailed, OSError) as exc:
                breakdowns[t.key] = {"error": str(exc)}

    # --- assemble per function ------------------------------------------------------------------------------------
    out_fns: dict[str, Any] = {}
    for fn in fns:
        row: dict[str, Any] = {"handler": fn.handler, "code": fn.code, "memory_mb": fn.memory_mb,
                               "grants": [g.value for g in fn.grants], "env_names": list(fn.env_names),
                               "package": sizes[fn.name].as_dict(), **samples[fn.name].as_dict()}
        if "error" not in row:
            row["ratio"] = _ratios(samples[fn.name], bare, boto3)
        if fn.name in shipped:
            nopyc = shipped[fn.name]
            row["nopyc_layer"] = nopyc.as_dict()
            if "error" not in row and not nopyc.error:
                row["ratio"]["nopyc_import_vs_import"] = measure.paired_ratio(nopyc.import_ms,
                                                                              samples[fn.name].import_ms)
                row["ratio"]["nopyc_import_cpu_vs_import_cpu"] = measure.paired_ratio(
                    nopyc.import_cpu_ms, samples[fn.name].import_cpu_ms)
        if fn.name in breakdowns:
            row["breakdown"] = breakdowns[fn.name]
        out_fns[fn.name] = row

    # --- warm invocations -----------------------------------------------------------------------------------------
    warm: dict[str, Any] = {}
    if warm_n:
        fn_by_name = {fn.name: fn for fn in fns}
        wfn = fn_by_name.get(WARM_FUNCTION) or manifest.BY_NAME.get(WARM_FUNCTION)
        if wfn is not None and wfn.route is not None:
            if wfn.name not in code_dirs:
                code_dirs[wfn.name] = staging.stage_function(wfn, stage_root)
            target = measure.Target(wfn.name, wfn.handler.rsplit(".", 1)[0],
                                    (str(code_dirs[wfn.name]), *layer_paths),
                                    lambda_env.lambda_environment(configs[wfn.name], wfn, code_dirs[wfn.name], home),
                                    attr=wfn.handler.rsplit(".", 1)[1])
            _log(progress, f"warm: {wfn.name} x {warm_n} invocations in one process")
            options = {"n": warm_n, "method": wfn.route.method, "path": wfn.route.path,
                       "route_key": wfn.route.key, "function_name": target.env["AWS_LAMBDA_FUNCTION_NAME"],
                       "events_path": str(EVENTS_HELPERS) if EVENTS_HELPERS.exists() else ""}
            try:
                warm = {"function": wfn.name, "invocations": warm_n, **measure.run_warm(target, options)}
            except (measure.ChildFailed, OSError) as exc:
                warm = {"function": wfn.name, "error": str(exc)}
            if "error" not in warm:
                warm["ratio_vs_trivial"] = _ratio(warm["handler_us"]["median"], warm["trivial_us"]["median"])
                warm["overhead_us"] = round(warm["handler_us"]["median"] - warm["trivial_us"]["median"], 2)

    return {
        "schema": SCHEMA,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"python": staging.python_version(), "executable": sys.executable, "machine": platform.machine(),
                 "cpus": os.cpu_count(), "lambda_python": LAMBDA_PYTHON_VERSION,
                 "load_average": list(os.getloadavg())},
        "settings": {"runs": runs, "warmup": warmup, "shipped_runs": shipped_runs, "warm_n": warm_n,
                     "stage_root": str(stage_root), "site_packages": site, "stage": stage or "(manifest)",
                     "cold_runs": cold_runs, "cache_n": cache_n, "cache_requests": cache_requests,
                     "tracing": {name: configs[name].tracing or "off" for name in code_dirs},
                     "sdk_tracing": sorted(n for n in code_dirs if configs[n].environment.get("BAZAAR_TRACING"))},
        "cold_start": cold,
        "cache": cache,
        "baselines": base,
        "functions": out_fns,
        "layers": layers,
        "nopyc_layer": shipped_meta,
        "warm": warm,
        "elapsed_s": round(time.monotonic() - started, 1),
    }


def _cold_starts(fns: Sequence[Function], configs: dict[str, template.FunctionConfig], code_dirs: dict[str, Path],
                 layer_paths: tuple[str, ...], home: Path, backend: Any, runs: int, warmup: int, stage_root: Path,
                 progress: Optional[Callable[[str], None]], compare_sdk: Sequence[str] = ()) -> dict[str, Any]:
    from bazaar.settings import TRACING_ENV, TRACING_SDK
    from tests.bench.events import first_event

    targets = []
    for fn in fns:
        cfg = configs[fn.name]
        env = cfg.lambda_environment(backend.grant_values(fn), code_dirs[fn.name], home, backend.endpoint_url,
                                     backend.region)
        targets.append(coldstart.ColdTarget(
            fn.name, fn.handler.rsplit(".", 1)[0], fn.handler.rsplit(".", 1)[1],
            (str(code_dirs[fn.name]), *layer_paths), env,
            (lambda name: lambda run: first_event(name, backend, run))(fn.name), cfg.physical_name,
            traced=cfg.tracing == "Active"))
    for t in [t for t in targets if t.key in compare_sdk]:  # the same function, as a stage that opts in runs it
        targets.append(coldstart.ColdTarget(f"{t.key} {SDK_SUFFIX}", t.module, t.attr, t.paths,
                                            {**t.env, TRACING_ENV: TRACING_SDK}, t.first_event, t.function_name,
                                            traced=True))
    floor_env = {k: v for k, v in targets[0].env.items() if k.startswith(("AWS_", "PATH", "HOME", "LANG", "TZ"))}
    floor = coldstart.ColdTarget(coldstart.FLOOR, "boto3", "", (), floor_env, lambda run: ({}, 0), mode="floor")
    if len(layer_paths) > 1:  # the floor is the runtime's SDK; the same floor with the layer's, for comparison
        targets.append(coldstart.ColdTarget(coldstart.FLOOR_LAYER_SDK, "boto3", "", layer_paths[1:], floor_env,
                                            lambda run: ({}, 0), mode="floor"))
    _log(progress, f"cold starts: floor + {len(targets)} function(s) x {runs} fresh processes (+{warmup} warm-up), "
                   "interleaved")
    samples = coldstart.collect(floor, targets, runs, stage_root / "events", str(EVENTS_HELPERS), warmup=warmup,
                                progress=progress)
    return coldstart.results(samples)


def _cache_figures(fns: Sequence[Function], configs: dict[str, template.FunctionConfig],
                   code_dirs: dict[str, Path], layer_paths: tuple[str, ...], home: Path, backend: Any, n: int,
                   requests: int,
                   stage_root: Path, progress: Optional[Callable[[str], None]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    wanted = {"get_product": cachebench.product_events(backend), "list_products": cachebench.list_events()}
    for fn in fns:
        if fn.name not in wanted:
            continue
        _log(progress, f"cache: {fn.name}, {n} cached/uncached pairs, {requests}-request mix with and without")
        cfg = configs[fn.name]
        env = cfg.lambda_environment(backend.grant_values(fn), code_dirs[fn.name], home, backend.endpoint_url,
                                     backend.region)
        try:
            out[fn.name] = cachebench.run(fn.handler.rsplit(".", 1)[0], (str(code_dirs[fn.name]), *layer_paths),
                                          env, wanted[fn.name], n, requests, stage_root / "events",
                                          str(EVENTS_HELPERS), backend.cache_url, cfg.physical_name)
        except (measure.ChildFailed, OSError, subprocess.TimeoutExpired) as exc:
            out[fn.name] = {"error": str(exc)}
    return out
