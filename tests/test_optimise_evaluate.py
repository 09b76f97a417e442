"""The optimiser's inner loop (demandsim.optimise.evaluate): per-hour KPIs mean what the KPIs mean."""

from __future__ import annotations

import math

import numpy as np
import pytest

from demandsim.config import load_config
from demandsim.config.schema import Shift, WindowConfig
from demandsim.errors import ConfigError
from demandsim.kpis import measured_kpis
from demandsim.model.rosters import headcount_by_hour_of_week
from demandsim.model.staffing import paid_by_hour_of_week
from demandsim.optimise.evaluate import (
    GROUPS, KPIS, check_goal, evaluate, kpis_by_hour, run_replication, with_staff,
)
from demandsim.runner import simulate
from demandsim.window import window_from_config

# a baseline week: both lines, dispatch with diversions and reviews, some prompt waits censored at the end
BASELINE = ["scenario=baseline_2021", "run.days=8", "run.warmup_days=1"]
#: a few hours of the week: Monday night, a Tuesday morning, Friday's late evening, Sunday's last hour
HOURS = [2, 24 + 9, 4 * 24 + 21, 167]


def _one_hour(hour_of_week: int):
    """demandsim.window's window of one hour of the week."""
    day, hour = divmod(hour_of_week, 24)
    from demandsim.config.schema import WEEKDAYS

    return window_from_config(WindowConfig(hours=f"{hour:02d}-{hour + 1:02d}", days=[WEEKDAYS[day]]))


def _same(a, b) -> bool:
    """Equal KPI values (None and NaN both mean nothing measured); means to rounding."""
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and not math.isnan(b) and a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_per_hour_values_are_the_window_kpis_and_overall_the_summary():
    cfg = load_config(BASELINE)
    result = simulate(cfg, progress=False)
    plan, records = run_replication(cfg, 0)
    per_hour, overall = kpis_by_hour(records, plan.model.warmup_s, plan.model.horizon_s, list(KPIS))
    for name in KPIS:  # the same run, so the summary's KPIs exactly
        assert _same(result.kpis[name], overall[name]), name
    assert result.counts["dispatch_wait_censored_prompt"] > 0  # the censored (Kaplan-Meier) path is checked too
    for h in HOURS:
        window = measured_kpis(result.records, result.model.warmup_s, result.model.horizon_s, _one_hour(h))[0]
        for name in KPIS:
            assert _same(window[name], per_hour[name][h]), (name, h)
    measured_hours = [name for name in KPIS if np.isfinite(per_hour[name]).sum() > 100]
    assert "sl_999_10s" in measured_hours and "dispatch_wait_mean_min_prompt" in measured_hours


def test_evaluate_with_todays_roster_gives_the_runs_kpis():
    """Today's roster as 168 numbers runs the same model, so replication r is simulate's replication r."""
    cfg = load_config(BASELINE)
    today = paid_by_hour_of_week(cfg.staffing)
    names = ["sl_999_10s", "abandon_rate_101", "attend_within_target_immediate", "dispatch_wait_mean_min_prompt"]
    # units as 168 numbers would be refused: the baseline's meal breaks are placed in shifts (with_staff says so)
    ev = evaluate(cfg, {g: today[g] for g in GROUPS if g != "units"}, names, replications=2, seed_offset=3)
    for r in range(2):
        cfg_r = load_config(BASELINE + [f"run.replication={r + 3}"])
        kpis = simulate(cfg_r, progress=False).kpis
        for name in names:
            assert _same(kpis[name], ev.per_rep_overall[name][r]), (name, r)
    # the interval is the t interval of the two replications' values
    values = ev.per_rep_overall["sl_999_10s"]
    half = 12.706204736174703 * values.std(ddof=1) / math.sqrt(2)  # t(0.975, 1 degree of freedom)
    assert ev.overall["sl_999_10s"]["ci_high"] == pytest.approx(values.mean() + half)
    assert ev.runs == 2 and ev.seconds > 0
    block = ev.achieved()
    assert len(block["by_hour_of_week"]["sl_999_10s"]["mean"]) == 168
    assert all(x is None or 0 <= x <= 1 for x in block["by_hour_of_week"]["sl_999_10s"]["mean"])


def test_with_staff_gives_the_roster_asked_for():
    cfg = load_config(["scenario=baseline_2021", "staffing.scale.call_handlers=0.8", "staffing.add.call_handlers=2"])
    cfg.staffing.call_handlers.extra = [Shift(start_hour=8, hours=2, staff=1, days=["Mon"])]
    week = (np.arange(168) % 7 + 3).astype(np.int64)
    out = with_staff(cfg, {"call_handlers": week, "units": week * 2})
    assert headcount_by_hour_of_week(out.staffing.call_handlers, "x").tolist() == week.tolist()
    paid = paid_by_hour_of_week(out.staffing)
    assert paid["call_handlers"].tolist() == week.tolist()  # scale 1, add 0, no extra shift
    assert paid["units"].tolist() == (week * 2).tolist()
    assert paid["switchboard"].tolist() == paid_by_hour_of_week(cfg.staffing)["switchboard"].tolist()
    assert cfg.staffing.scale.call_handlers == 0.8 and cfg.staffing.call_handlers.extra  # the original is unchanged
    with pytest.raises(ConfigError, match="staffing.call_handlers.hour_of_week.*168"):
        with_staff(cfg, {"call_handlers": week[:100]})
    with pytest.raises(ConfigError, match="optimise.group=digital_desk"):
        with_staff(cfg, {"digital_desk": week})
    with pytest.raises(ConfigError, match=r"hour_of_week\[5\]=-1"):
        with_staff(cfg, {"units": np.where(np.arange(168) == 5, -1, 1)})


def test_goals_are_checked():
    assert KPIS["asa_999_s"].direction == "at_most" and not KPIS["asa_999_s"].share
    assert KPIS["attend_within_target_prompt"].direction == "at_least"
    with pytest.raises(ConfigError, match="optimise.goal.sl_999_10s=1.5"):
        check_goal("sl_999_10s", 1.5)
    with pytest.raises(ConfigError, match="optimise.goal.utilisation_units"):
        check_goal("utilisation_units", 0.8)
    assert check_goal("asa_999_s", 12) == 12.0


def test_more_staff_never_gives_a_worse_hour_under_the_same_seeds():
    """Erlang A with a daily cycle: two more handlers in every hour, the same callers (common random
    numbers): no replication's service level in any hour is lower."""
    cfg = load_config(["scenario=validation/erlang_a", "run.days=8", "run.warmup_days=1",
                       "validation.arrivals_per_min=4", "validation.mean_handle_min=4"])
    cfg.arrivals.hour_of_week = [1.0 + 0.6 * math.sin(2 * math.pi * (h % 24) / 24) for h in range(168)]
    staff = np.full(168, 16)
    fewer = evaluate(cfg, {"call_handlers": staff}, ["sl_999_10s", "abandon_rate_999"], replications=2)
    more = evaluate(cfg, {"call_handlers": staff + 2}, ["sl_999_10s", "abandon_rate_999"], replications=2)
    low, high = fewer.per_rep_hour["sl_999_10s"], more.per_rep_hour["sl_999_10s"]
    assert np.all(high >= low)
    assert np.mean(high > low) > 0.5  # and better in most hours: a real change, not a test that cannot fail
    assert np.all(more.per_rep_hour["abandon_rate_999"] <= fewer.per_rep_hour["abandon_rate_999"])
    # the per-hour mean is the mean of the replications, and seed_offset changes the callers
    assert np.allclose(fewer.per_hour["sl_999_10s"]["mean"], low.mean(axis=0))
    other = evaluate(cfg, {"call_handlers": staff}, ["sl_999_10s"], replications=1, seed_offset=1000)
    assert not np.array_equal(other.per_rep_hour["sl_999_10s"][0], low[0])


def test_worker_processes_give_the_same_numbers():
    """optimise.n_jobs: replications in joblib workers, the same seeds, the same numbers."""
    import functools

    from demandsim.optimise.isa import number_in_system_counts

    cfg = load_config(["scenario=validation/erlang_a", "validation.arrivals_per_min=1", "run.days=3",
                       "run.warmup_days=1", "run.engine=fast"])
    staff = {"call_handlers": np.full(168, 6)}
    collect = functools.partial(number_in_system_counts, "call_handlers")
    one = evaluate(cfg, staff, ["sl_999_10s"], 2, collect=collect)
    two = evaluate(cfg, staff, ["sl_999_10s"], 2, collect=collect, n_jobs=2)
    np.testing.assert_array_equal(one.per_rep_hour["sl_999_10s"], two.per_rep_hour["sl_999_10s"])
    for a, b in zip(one.collected, two.collected):
        np.testing.assert_array_equal(a, b)
