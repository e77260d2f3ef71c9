"""The soak's verdict on made-up samples: what fails it and what doesn't."""

from __future__ import annotations

from tests.load.verdict import Limits, RouteMinute, Sample, memory_growth, problems, render, summary

MOTO, MAIN, WORKER = 2, 1, 10


def minute(n: int, phase: str, moto_mib: float, writes: int, latency_ms: float = 10.0, probe_ms: float = 20.0,
           cpu_s: float = 3.0, requests: int = 30) -> Sample:
    processes = {MAIN: ("main", 120.0), MOTO: ("moto", moto_mib), WORKER: ("worker:bazaar-local-get-product", 60.0)}
    routes = {"GET /products/{product_id}": RouteMinute([latency_ms] * requests)} if phase != "idle" else {}
    return Sample(n, phase, processes, writes, routes, probe_ms=probe_ms, cpu_s=cpu_s if phase != "idle" else 0)


def run(moto: list[float], latency: list[float] | None = None, idle: tuple[float, float] = (0, 0),
        writes_per_minute: int = 100, probe: list[float] | None = None, cpu: list[float] | None = None
        ) -> list[Sample]:
    latency = latency or [10.0] * len(moto)
    probe, cpu = probe or [20.0] * len(moto), cpu or [3.0] * len(moto)
    samples = [minute(i + 1, "warm-up" if i < 2 else "load", m, (i + 1) * writes_per_minute, latency[i], probe[i],
                      cpu[i]) for i, m in enumerate(moto)]
    last = moto[-1]
    samples += [minute(len(moto) + 1, "idle", last + idle[0], len(moto) * writes_per_minute),
                minute(len(moto) + 2, "idle", last + idle[1], len(moto) * writes_per_minute)]
    return samples


def test_a_steady_run_passes():
    samples = run([100, 105, 106, 107, 108, 109, 110, 111])  # +5 MiB over 600 writes after the warm-up
    assert problems(samples, Limits()) == []
    per_1k, writes, grown = memory_growth(samples)
    assert (writes, grown) == (600, 6.0) and round(per_1k, 1) == 10.0
    table = render(samples)
    assert "GET /products/{product_id}" in table and "warm-up" in table and "idle" in table
    assert "10.0 MiB per 1,000 writes" in summary(samples, Limits())


def test_memory_that_keeps_growing_per_write_fails():
    samples = run([100, 110, 130, 150, 170, 190, 210, 230])  # 20 MiB per 100 writes = 200 per 1,000
    assert any("per 1,000 writes" in p for p in problems(samples, Limits()))


def test_memory_that_grows_while_idle_fails():
    samples = run([100] * 8, idle=(0, 5))
    assert problems(samples, Limits()) == ["memory grew 5.0 MiB while idle (limit 2)"]


def test_memory_growth_without_writes_fails():
    samples = run([100, 100, 104, 108, 112, 116, 120, 124], writes_per_minute=0)
    assert any("without a single write" in p for p in problems(samples, Limits()))


def test_an_environment_started_after_the_warm_up_is_reported_not_counted():
    samples = run([100] * 8)
    for s in samples[4:]:
        s.processes[99] = ("worker:bazaar-local-update-product", 70.0)
    assert problems(samples, Limits()) == []
    assert "environments started meanwhile (not counted): 1, 70 MiB (bazaar-local-update-product)" in summary(
        samples, Limits())


def test_latency_drift_over_half_fails_and_small_or_noisy_rises_pass():
    # 2 minutes of warm-up, 8 under load: the first 3 against the last 3
    noisy = [10, 10, 40, 40, 40, 40, 40, 40, 40, 90]
    assert problems(run([100] * 10, latency=noisy), Limits()) == []  # one noisy minute does not decide
    drifting = problems(run([100] * 10, latency=[10, 10, 40, 40, 40, 50, 60, 70, 70, 70]), Limits())
    assert drifting == ["GET /products/{product_id}: median 40.0 -> 70.0 ms (1.75x in machine terms; limit 1.5x)"]
    assert problems(run([100] * 10, latency=[1, 1, 2, 2, 2, 3, 3, 4, 4, 4]), Limits()) == []  # 2x, but 2 ms: noise


def test_latency_that_rises_with_the_machine_s_load_passes():
    """Other work took the machine: the probe ran 2x slower, and so did the requests."""
    slower = run([100] * 10, latency=[10] * 7 + [20] * 3, probe=[20] * 7 + [40] * 3)
    assert problems(slower, Limits()) == []
    assert "the machine probe 2.00x" in summary(slower, Limits())


def test_the_stack_doing_more_work_per_request_fails():
    busier = run([100] * 10, cpu=[3] * 7 + [6] * 3)  # same latency (idle cores absorbed it), twice the CPU
    assert problems(busier, Limits()) == ["the stack's CPU per request rose 100.0 -> 200.0 ms (2.00x; limit 1.5x)"]


def test_a_run_too_short_to_judge_fails():
    assert problems(run([100, 100, 100]), Limits())


def test_order_routes_are_judged_beside_the_catalog_s_and_a_rare_route_is_listed_not_judged():
    """The workload's customers: POST /orders often enough to be judged, a cancel now and then (too few to judge)."""
    samples = run([100] * 10)
    order_ms = [30, 30, 30, 30, 30, 30, 30, 60, 60, 60]
    for s, ms in zip(samples, order_ms):
        if s.phase != "idle":
            s.routes["POST /orders"] = RouteMinute([float(ms)] * 10)
            s.routes["POST /orders/{order_id}/cancel"] = RouteMinute([5.0 * s.minute])  # one a minute, rising
    assert problems(samples, Limits()) == ["POST /orders: median 30.0 -> 60.0 ms (2.00x in machine terms; limit 1.5x)"]
    table = render(samples)
    assert "POST /orders " in table and "POST /orders/{order_id}/cancel" in table
    assert "POST /orders/{order_id}/cancel" not in summary(samples, Limits())
