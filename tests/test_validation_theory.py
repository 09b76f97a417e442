"""The simulator against queueing theory, where theory is exact.

With one 999 line, Poisson arrivals and exponential handling and patience the hub
is M/M/c+M (Erlang A; Erlang C without abandonment); dispatch with zero travel and
exponential time on scene is M/M/c with non-preemptive priority, and with units taken
off lower-grade incidents on scene (``dispatch.divert_from=on_scene``) preemptive for
immediate incidents, which then wait as in an M/M/c queue of their own load alone
(Erlang C; the other grades are not checked). Each test runs the
validation scenario on the compiled engine (the one sweeps use; the SimPy engine writes
the same records, tests/test_engines_equal.py, and is judged in
tests/test_validation_power.py) and judges it with :func:`demandsim.validation.validate`:
every KPI within max(q * sd, 1% of the exact value) of the exact value, where sd is the
estimator's standard deviation over 100 independent replications of the textbook queue
at the same run length (a separate small simulation, not the run being judged) and
q ~ 4.2 (a correct simulator fails one check in about 16,000). The module docstring of
demandsim/validation.py says why. Seeds are fixed, so the outcome does not change from
run to run.

On the compiled engine 20 days of a 999 line and 200 days of dispatch take about a
second each, so every case runs in CI; most of a test's time, 1 to 8 seconds, is its
reference replications (100 runs of up to 400,000 calls). The preemptive check also runs
over 2,000 days (a window about three times narrower), marked slow.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from helpers import run
from demandsim.errors import ConfigError
from demandsim.theory import erlang_c_metrics, mmc_priority_waits
from demandsim.validation import (
    REL_FLOOR, ErlangCase, PriorityCase, case_of, judge, tolerance_quantile, validate,
)

LINE_DAYS, LINE_WARMUP = 20, 1
DISPATCH_DAYS, DISPATCH_WARMUP = 200, 2


def check_run(case, seed: int):
    """Run ``case`` with ``seed`` on the compiled engine, assert it passes; returns the verdict."""
    result = run(case.overrides(seed))
    verdict = validate(result)
    assert verdict.passed, str(verdict)
    # the reference replications reproduce theory (their mean, K times tighter): the
    # reference simulation is right and start-up bias is negligible at this run length
    for check in verdict.checks:
        assert check.reference_agrees, (f"reference: {check.kpi} mean {check.reference_mean:.5g}, "
                                        f"exact {check.exact:.5g}")
        # the KPIs in summary.json are the estimates judged, except that a dispatch wait KPI
        # also counts the incidents still waiting at the end (censored), which the judged
        # estimate leaves out (as its reference replications do)
        censored = result.counts.get(check.kpi.replace("_mean_min_", "_censored_"), 0)
        if not censored:
            assert result.kpis[check.kpi] == pytest.approx(check.estimate, rel=1e-12), check.kpi
    return verdict


@pytest.mark.parametrize(
    "servers, per_min, handle_min, patience_min",
    [
        (30, 7, 4, 2),  # the case: 93% offered load
        (30, 9, 4, 2),  # overloaded: 36 Erlangs offered to 30 handlers
        (30, 5, 4, 2),  # light load
        (8, 1.5, 4, 1),  # a small line, short patience
        (1, 0.2, 4, 2),  # one handler
        (10, 2, 4, 10),  # patient callers
        (30, 12, 4, 2),  # 1.6 times overloaded
        (60, 14, 4, 3),  # a large line
    ],
)
def test_erlang_a(servers, per_min, handle_min, patience_min):
    check_run(ErlangCase(servers, per_min, handle_min, patience_min, LINE_DAYS, LINE_WARMUP), seed=21)


@pytest.mark.parametrize("servers, per_min, handle_min", [(30, 7, 4), (32, 7, 4), (5, 1, 4), (1, 0.15, 4), (50, 11, 4)])
def test_erlang_c(servers, per_min, handle_min):
    verdict = check_run(ErlangCase(servers, per_min, handle_min, None, LINE_DAYS, LINE_WARMUP), seed=22)
    # nobody hangs up: the exact zero has a zero tolerance
    assert verdict.check("abandon_rate_999").estimate == 0.0 == verdict.check("abandon_rate_999").tolerance


@pytest.mark.parametrize(
    "units, rates",
    [
        (12, (2, 4, 6)),  # 75% of unit time busy
        (10, (2, 3, 7)),  # 90% busy: the lowest grade waits much longer than the others
        (3, (0.5, 1, 1.5)),  # three units
    ],
)
def test_priority_dispatch(units, rates):
    check_run(PriorityCase(units, rates, 45, DISPATCH_DAYS, DISPATCH_WARMUP), seed=23)


#: preemptive cases: (units, incidents per hour by grade); 45 min on scene
PREEMPTIVE = [
    (6, (4, 1, 1)),  # immediate 3 Erlangs of 4.5 on 6 units: Erlang C wait 1.5 min, non-preemptive 6.3
    (3, (1.5, 0.5, 0.5)),  # three units
    (10, (6, 2, 4)),  # 90% busy: immediate waits 0.15 min alone, 5.5 behind units committed to others
]


@pytest.mark.parametrize("units, rates", PREEMPTIVE[:2])
def test_preemptive_priority_dispatch(units, rates):
    """divert_from=on_scene, zero travel: the immediate grade's mean wait for a unit is Erlang C's
    for the immediate load alone. The check can fail: the same case without diversion (whose
    immediate incidents wait behind units committed to lower grades) fails it, and the two exact
    values lie far more than a tolerance apart."""
    case = PriorityCase(units, rates, 45, DISPATCH_DAYS, DISPATCH_WARMUP, "on_scene")
    verdict = check_run(case, seed=24)
    check = verdict.check("dispatch_wait_mean_min_immediate")
    assert [c.kpi for c in verdict.checks] == ["dispatch_wait_mean_min_immediate"]
    assert check.exact == pytest.approx(erlang_c_metrics(units, rates[0] / 60, 45, 0).mean_wait_all, rel=1e-12)
    non_preemptive = mmc_priority_waits(units, [r / 60 for r in rates], 45)[0]
    assert non_preemptive - check.exact > 3 * check.tolerance
    without = run(dataclasses.replace(case, divert_from="none").overrides(24))
    assert without.kpis["diversions"] == 0
    assert judge(case, case.estimates(without)).failed == ["dispatch_wait_mean_min_immediate"]


@pytest.mark.slow
@pytest.mark.parametrize("units, rates", PREEMPTIVE)
def test_preemptive_priority_dispatch_long(units, rates):
    check_run(PriorityCase(units, rates, 45, 10 * DISPATCH_DAYS, 5, "on_scene"), seed=25)


def test_travelling_units_with_zero_travel_keep_dispatch_non_preemptive():
    """In the validation scenario no unit is ever on its way: divert_from=travelling is judged,
    and passes, as the non-preemptive queue."""
    case = PriorityCase(3, (0.5, 1, 1.5), 45, DISPATCH_DAYS, DISPATCH_WARMUP, "travelling")
    assert not case.preemptive and len(case.exact()) == 3
    check_run(case, seed=23)


# ---------------------------------------------------------------- the check itself
def test_tolerance_does_not_depend_on_the_run_judged():
    case = PriorityCase(12, (2, 4, 6), 45, DISPATCH_DAYS, DISPATCH_WARMUP)
    exact = case.exact()
    right = judge(case, exact)
    wrong = judge(case, {kpi: 3 * value for kpi, value in exact.items()})
    assert right.passed and not wrong.passed
    assert wrong.failed == list(exact)
    assert [c.tolerance for c in right.checks] == [c.tolerance for c in wrong.checks]


def test_tolerance_rule():
    case = ErlangCase(30, 7, 4, 2, LINE_DAYS, LINE_WARMUP)
    verdict = judge(case, case.exact())
    q = tolerance_quantile(100)
    for c in verdict.checks:
        assert c.tolerance == max(q * c.reference_sd, REL_FLOOR * abs(c.exact))
        assert c.reference_sd > 0
    # a tolerance just misses or just catches
    sl = verdict.check("sl_999_10s")
    edge = {**case.exact(), "sl_999_10s": sl.exact + 1.001 * sl.tolerance}
    assert judge(case, edge).failed == ["sl_999_10s"]
    inside = {**case.exact(), "sl_999_10s": sl.exact - 0.999 * sl.tolerance}
    assert judge(case, inside).passed


def test_missing_estimate_fails():
    case = PriorityCase(3, (0.5, 1, 1.5), 45, DISPATCH_DAYS, DISPATCH_WARMUP)
    estimates = {**case.exact(), "dispatch_wait_mean_min_prompt": math.nan}
    assert judge(case, estimates).failed == ["dispatch_wait_mean_min_prompt"]


def test_only_validation_scenarios_can_be_judged():
    from demandsim.config import load_config

    with pytest.raises(ConfigError, match="^scenario=baseline_2021: validation needs"):
        case_of(load_config(["scenario=baseline_2021"]))
