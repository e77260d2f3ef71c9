"""The bench runs and reports every figure it promises. Structure only: timings are never asserted here."""

from __future__ import annotations

import json

import pytest

from bazaar import manifest

from tests.bench import lambda_env, measure, report, runner, staging, template


def test_every_manifest_function_is_staged_and_sized(tmp_path):
    code_dirs, sizes = runner.stage_and_size(manifest.FUNCTIONS, tmp_path)
    assert set(sizes) == set(manifest.BY_NAME)
    for fn in manifest.FUNCTIONS:
        handler = code_dirs[fn.name] / "functions" / fn.name / "handler.py"
        assert handler.is_file(), fn.name
        assert sizes[fn.name].zipped_bytes > 0 and sizes[fn.name].files > 0
        staged = {p.name for p in (code_dirs[fn.name] / "functions").iterdir() if p.is_dir()}
        assert staged == ({fn.name} if fn.code == "own" else {d.name for d in staging.function_dirs(fn)}), fn.name
        env = lambda_env.lambda_environment(template.manifest_config(fn), fn, code_dirs[fn.name], tmp_path)
        assert set(fn.env_names) <= env.keys()
        # tracing as deployed: active (the daemon address Lambda sets), no in-process SDK, not switched off
        assert env["AWS_LAMBDA_FUNCTION_NAME"] and env["AWS_XRAY_DAEMON_ADDRESS"]
        assert "POWERTOOLS_TRACE_DISABLED" not in env and "BAZAAR_TRACING" not in env


def test_functions_run_with_the_layer_sdk_botocore_and_urllib3(tmp_path):
    layer = staging.LAYER_DIR / "python"
    if not layer.is_dir():
        pytest.skip("the dependency layer is not built (`make layer`)")
    sdk = staging.stage_sdk(tmp_path)
    assert sdk is not None and {p.name for p in sdk.iterdir()} == {"botocore", "urllib3"}
    # the layer's copies, not the venv's: trimmed data, patched sources (layers/sdk_data.py, layers/patches.py)
    for rel in ("botocore/data/endpoints.json", "urllib3/http2/__init__.py"):
        assert (sdk / rel).read_bytes() == (layer / rel).read_bytes(), rel


def test_bench_reports_complete_structure_for_one_function(tmp_path):
    layer_built = (staging.LAYER_DIR / "python").is_dir()
    res = runner.run([manifest.get("health")], runs=1, shipped_runs=1 if layer_built else 0, warm_n=5,
                     breakdown=True, warmup=0, stage_root=tmp_path)

    for name in ("bare", "boto3"):
        base = res["baselines"][name]
        assert "error" not in base, base
        assert {"import_ms", "startup_ms", "cold_ms", "rss_kib", "modules_imported", "ratio"} <= base.keys()

    row = res["functions"]["health"]
    assert "error" not in row, row
    for key in ("import_ms", "startup_ms", "cold_ms", "rss_kib"):
        assert {"median", "p90", "min", "n"} <= row[key].keys() and row[key]["n"] == 1
    assert row["modules_imported"] > 0
    assert {"import_vs_bare_cold", "import_vs_boto3", "cold_vs_bare_cold"} <= row["ratio"].keys()
    assert row["package"]["zipped_bytes"] > 0
    assert row["breakdown"]["direct_ms"] and row["breakdown"]["by_package_ms"]

    assert res["layers"]["shared"]["zipped_bytes"] > 0
    dep = res["layers"]["dependencies"]
    if layer_built:
        assert dep["zipped_bytes"] > 0 and dep["unzipped_bytes"] > dep["zipped_bytes"]
        assert "error" not in row["nopyc_layer"] and row["nopyc_layer"]["import_ms"]["n"] == 1
        assert row["ratio"]["nopyc_import_vs_import"] is not None
    else:
        assert "error" in dep

    warm = res["warm"]
    assert "error" not in warm, warm
    assert warm["status"] == 200 and warm["handler_us"]["n"] == 5 and warm["trivial_us"]["n"] == 5
    assert warm["ratio_vs_trivial"] is not None

    json.dumps(res)  # what build/bench.json holds
    text = report.render(res)
    assert "health" in text and "(bare: json)" in text and "(boto3)" in text


def test_importtime_breakdown_parses_direct_imports():
    stderr = "\n".join([
        "import time:       100 |        100 | site",
        "BENCH_IMPORT_BEGIN",
        "import time:      1000 |       1000 |   pydantic_core",
        "import time:      2000 |       3000 | pydantic",
        "import time:       500 |        500 | bazaar.settings",
        "BENCH_IMPORT_END",
    ])
    bd = measure.importtime_breakdown(stderr, "functions.x.handler")
    assert bd["direct_ms"] == {"pydantic": 3.0, "bazaar.settings": 0.5}
    assert bd["by_package_ms"] == {"pydantic": 2.0, "pydantic_core": 1.0, "bazaar": 0.5}


def test_cold_starts_and_cache_figures_for_a_read_route(tmp_path):
    """Init + first invocation against local moto/Valkey, the floor beside it, and the cache figures."""
    res = runner.run([manifest.get("get_product")], runs=1, shipped_runs=0, warm_n=0, breakdown=False, warmup=0,
                     stage_root=tmp_path, cold_runs=1, cache_n=5, cache_requests=40, catalog=6)
    cold = res["cold_start"]
    assert "error" not in cold["floor"], cold["floor"]
    row = cold["functions"]["get_product"]
    assert "error" not in row, row
    assert row["cold_ms"]["n"] == 1 and row["init_ms"]["median"] > 0 and row["first_invoke_ms"]["median"] > 0
    assert row["cold_ms"]["median"] > row["init_ms"]["median"] + row["first_invoke_ms"]["median"]  # + start-up
    assert row["ratio_to_floor"] > 0 and row["goal"] == 1.3 and row["peak_rss_mib"] > 10
    assert 0 < row["cpu_ms"]["median"] and row["cpu_ratio_to_floor"] > 0
    assert "aws_xray_sdk" not in row["loaded"]  # tracing as deployed: active, without an in-process SDK

    cache = res["cache"]["get_product"]
    assert "error" not in cache, cache
    assert cache["cached_us"]["n"] == cache["uncached_us"]["n"] == 5
    w = cache["workload"]
    assert w["requests"] == 40 and w["reads_without_cache"] == 40  # every uncached request reads the table
    assert 0 < w["reads_with_cache"] < w["reads_without_cache"]
    assert cache["reads_saved"] == round(1 - w["reads_with_cache"] / 40, 3)
    text = report.render(res)
    assert "(floor: boto3 + DynamoDB client)" in text and "reads saved" in text


def test_the_template_reader_resolves_every_grant_and_refuses_unknown_tokens(tmp_path):
    fn = manifest.get("list_products")
    cfg = template.manifest_config(fn)
    env = cfg.lambda_environment({"TABLE_NAME": "t", "CACHE_URL": "redis://x", "CURSOR_KEY_SECRET_ID": "s"},
                                 tmp_path, tmp_path, "http://127.0.0.1:1", "eu-west-1")
    assert (env["TABLE_NAME"], env["CACHE_URL"], env["CURSOR_KEY_SECRET_ID"]) == ("t", "redis://x", "s")
    assert env["AWS_LAMBDA_LOG_FORMAT"] == "JSON" and env["_HANDLER"] == fn.handler
    with pytest.raises(template.TemplateError, match="cannot resolve"):
        cfg.lambda_environment({}, tmp_path, tmp_path, "http://127.0.0.1:1", "eu-west-1")


def test_every_manifest_function_has_a_realistic_first_event():
    from tests.bench import events

    assert set(events.FIRST_EVENTS) == set(manifest.BY_NAME)
