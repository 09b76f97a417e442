"""The simulator against queueing theory, where theory is exact.

With one 999 line, Poisson arrivals and exponential handling and patience the hub
is M/M/c+M (Erlang A; Erlang C without abandonment); dispatch with zero travel and
exponential time on scene is M/M/c with non-preemptive priority. Each check runs
the validation scenario, estimates the KPI with batch means (one batch per
four simulated hours for the call line, two days for dispatch), and asserts the exact value lies within
Z standard errors. Z = 4: a correct simulator fails one such check in about
16,000; seeds are fixed, so the outcome does not change from run to run.

The fast subset runs in CI; `pytest -m slow` (or `make test-full`) runs longer
runs on more loads.
"""

from __future__ import annotations

import pytest

from helpers import run
from demandsim.kpis import ANSWER_WITHIN_S
from demandsim.model.calendar import DAY
from demandsim.stats import batched
from demandsim.theory import erlang_a_metrics, erlang_c_metrics, mmc_priority_waits

Z = 4.0
#: 4-hour batches: far longer than the queue's memory (minutes), so batch means are
#: close to independent, and many enough (30 in 5 days) for a stable standard error
LINE_BATCH_S = 4 * 3600.0


def erlang_overrides(servers, per_min, handle_min, patience_min, days, seed):
    patience = "null" if patience_min is None else patience_min
    return ["scenario=validation/erlang_a", f"validation.servers={servers}",
            f"validation.arrivals_per_min={per_min}", f"validation.mean_handle_min={handle_min}",
            f"validation.mean_patience_min={patience}", f"run.days={days}", "run.warmup_days=1",
            f"run.seed={seed}"]


def line_estimates(result):
    """Batch-means estimates of SL(10 s), abandonment and ASA on the 999 line."""
    calls = result.records.calls
    calls = calls[calls["line"] == "999"]
    m = result.model
    answered = calls["outcome"] == "answered"
    one = answered | ~answered
    span = (calls, "t_offer", m.warmup_s, m.horizon_s)
    return {
        "service_level": batched(*span, answered & (calls["wait_s"] <= ANSWER_WITHIN_S), one, batch_s=LINE_BATCH_S),
        "p_abandon": batched(*span, calls["outcome"] == "abandoned", one, batch_s=LINE_BATCH_S),
        "asa": batched(*span, calls["wait_s"].where(answered, 0.0), answered, batch_s=LINE_BATCH_S),
    }


def check_erlang(servers, per_min, handle_min, patience_min, days, seed):
    result = run(erlang_overrides(servers, per_min, handle_min, patience_min, days, seed))
    if patience_min is None:
        exact = erlang_c_metrics(servers, per_min / 60, handle_min * 60, ANSWER_WITHIN_S)
    else:
        exact = erlang_a_metrics(servers, per_min / 60, handle_min * 60, patience_min * 60, ANSWER_WITHIN_S)
    est = line_estimates(result)
    for name, estimate in est.items():
        truth = getattr(exact, name)
        assert estimate.within(truth, Z), f"{name}: simulated {estimate}, exact {truth:.5g}"
    # the KPIs in summary.json are the same estimates
    assert result.kpis["sl_999_10s"] == pytest.approx(est["service_level"].value, rel=1e-12)
    assert result.kpis["abandon_rate_999"] == pytest.approx(est["p_abandon"].value, rel=1e-12)
    assert result.kpis["asa_999_s"] == pytest.approx(est["asa"].value, rel=1e-12)
    return est


@pytest.mark.parametrize(
    "servers, per_min, handle_min, patience_min",
    [
        (30, 7, 4, 2),  # the case: 93% offered load
        (30, 9, 4, 2),  # overloaded: 36 Erlangs offered to 30 handlers
        (8, 1.5, 4, 1),  # a small line, short patience
    ],
)
def test_erlang_a(servers, per_min, handle_min, patience_min):
    check_erlang(servers, per_min, handle_min, patience_min, days=6, seed=11)


@pytest.mark.parametrize("servers, per_min, handle_min", [(32, 7, 4), (5, 1, 4)])
def test_erlang_c(servers, per_min, handle_min):
    est = check_erlang(servers, per_min, handle_min, None, days=6, seed=12)
    assert est["p_abandon"].value == 0.0


def check_priority(units, rates_per_hour, on_scene_min, days, seed, batch_days):
    imm, pri, pro = rates_per_hour
    result = run(["scenario=validation/priority_dispatch", f"validation.units={units}",
                  f"validation.per_hour_immediate={imm}", f"validation.per_hour_priority={pri}",
                  f"validation.per_hour_prompt={pro}", f"validation.mean_on_scene_min={on_scene_min}",
                  f"run.days={days}", "run.warmup_days=2", f"run.seed={seed}"])
    exact = mmc_priority_waits(units, [r / 60 for r in rates_per_hour], on_scene_min)
    inc = result.records.incidents
    m = result.model
    for grade, truth in zip(("immediate", "priority", "prompt"), exact):
        mine = inc[inc["grade"] == grade]
        assigned = mine["dispatch_wait_s"].notna()
        est = batched(mine, "t_call_start", m.warmup_s, m.horizon_s,
                      (mine["dispatch_wait_s"] / 60).where(assigned, 0.0), assigned, batch_s=batch_days * DAY)
        assert est.within(truth, Z), f"{grade}: simulated {est} min, exact {truth:.5g} min"
        assert result.kpis[f"dispatch_wait_mean_min_{grade}"] == pytest.approx(est.value, rel=1e-9)


def test_priority_dispatch():
    check_priority(12, (2, 4, 6), 45, days=40, seed=13, batch_days=2)


def test_priority_dispatch_heavy():
    # 90% of unit time busy: the lowest grade waits much longer than the others
    check_priority(10, (2, 3, 7), 45, days=40, seed=14, batch_days=2)


# ---------------------------------------------------------------- full set (pytest -m slow)
@pytest.mark.slow
@pytest.mark.parametrize(
    "servers, per_min, handle_min, patience_min",
    [(30, 7, 4, 2), (30, 9, 4, 2), (30, 12, 4, 2), (30, 5, 4, 2), (1, 0.2, 4, 2), (10, 2, 4, 10), (60, 14, 4, 3)],
)
def test_erlang_a_long(servers, per_min, handle_min, patience_min):
    check_erlang(servers, per_min, handle_min, patience_min, days=20, seed=21)


@pytest.mark.slow
@pytest.mark.parametrize("servers, per_min, handle_min", [(30, 7, 4), (1, 0.15, 4), (50, 11, 4)])
def test_erlang_c_long(servers, per_min, handle_min):
    check_erlang(servers, per_min, handle_min, None, days=20, seed=22)


@pytest.mark.slow
@pytest.mark.parametrize("units, rates", [(12, (2, 4, 6)), (10, (2, 3, 7)), (3, (0.5, 1, 1.5))])
def test_priority_dispatch_long(units, rates):
    check_priority(units, rates, 45, days=200, seed=23, batch_days=4)
