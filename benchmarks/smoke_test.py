"""Smoke test of the benchmarks: the peers are correct and the harness runs a case.

Not part of ``make test`` (it lives outside tests/); run it with
``python -m pytest benchmarks/smoke_test.py``. No assertion here is about time.
"""

from __future__ import annotations

import importlib.util

import pytest

from benchmarks import run as bench
from benchmarks.peers import simpy_erlang_a


def _check(stats: dict) -> dict:
    return bench._erlang_a_check(stats)


def test_simpy_peer_agrees_with_erlang_a():
    r = simpy_erlang_a.run(**bench.ERLANG_A, days=4, warmup_days=0.5, seed=3)
    check = _check(r.stats)
    assert r.calls > 35_000
    assert abs(check["abandon_z"]) < 5 and abs(check["sl_10s_z"]) < 5, check


@pytest.mark.skipif(importlib.util.find_spec("ciw") is None, reason="ciw not installed (pip install -e '.[bench]')")
def test_ciw_peer_agrees_with_erlang_a():
    from benchmarks.peers import ciw_erlang_a

    r = ciw_erlang_a.run(**bench.ERLANG_A, days=4, warmup_days=0.5, seed=3)
    check = _check(r.stats)
    assert r.calls > 35_000
    assert abs(check["abandon_z"]) < 5 and abs(check["sl_10s_z"]) < 5, check


def test_idiomatic_hub_matches_reference_engine():
    """Same plan: the idiomatic hub's headline KPIs agree with the reference engine's. The peer has
    one pool of units (no areas, demandsim.model.areas) and no diversion, so the plan has neither."""
    from benchmarks.peers import simpy_idiomatic_hub as hub
    from demandsim.config import load_config
    from demandsim.engines import get_engine
    from demandsim.kpis import kpis_and_counts
    from demandsim.model.plan import build_plan

    plan = build_plan(load_config(["scenario=baseline_2021", "run.days=7", "run.warmup_days=1", *bench.ONE_AREA]))
    records = get_engine("simpy").run(plan)
    ref, _ = kpis_and_counts(records, plan.model)
    log = hub.simulate(plan)
    ours = hub.stats(log, plan)
    assert abs(log.calls - len(records.calls)) <= 0.01 * len(records.calls)
    for name in ("sl_999_10s", "abandon_rate_999", "abandon_rate_101", "attend_within_target_all"):
        assert ours[name] == pytest.approx(ref[name], abs=0.02), name


def test_harness_runs_a_case_in_a_subprocess():
    r = bench.run_case({"id": "peer:simpy_idiomatic/erlang_a", "kind": "peer_erlang_a", "peer": "simpy_erlang_a",
                        "days": 0.5, "repeats": 2, "min_time": 0})
    assert r["status"] == "ok", r
    assert r["calls"] > 0 and r["peak_mb"] > 0 and len(r["walls_s"]) == 2
