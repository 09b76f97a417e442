"""Say when capacity is exceeded: backlog_end, backlog_growth_per_day and stable (issue 10).

- hand-built tables give the exact backlog at the end and the exact slope, whatever the
  daily cycle, the warm-up and a last part-day hold; the standard error is checked by hand;
- on the M/M/c priority queue (scenarios/validation/priority_dispatch.yaml) a load below 1
  is stable in several seeds; a load above 1 is not, and the backlog grows by the excess of
  arrivals over what the units clear, within a tolerance from the random-walk theory of an
  overloaded queue and the run's length;
- the baseline is stable, demand_2024 over 120 days is not, and then the command line's
  table and summary.json say so in words, with the figures.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from demandsim.config.schema import GRADES
from demandsim.kpis import (MATERIAL_RISE_HOURS, MAX_AUTOCORRELATION, STABLE_MIN_DAYS, backlog_at, backlog_kpis,
                            trend)
from demandsim.model.calendar import DAY, HOUR
from demandsim.outputs import capacity_warnings, headline_table, summary
from helpers import run

HOURS_A_DAY = int(DAY // HOUR)


def hours_table(levels: np.ndarray) -> pd.DataFrame:
    """An intervals table whose hourly mean backlog is ``levels``; the last hour half an hour long."""
    n = len(levels)
    length = np.full(n, HOUR)
    length[-1] = HOUR / 2
    return pd.DataFrame({"t_start": np.arange(n) * HOUR, "length_s": length, "mean_waiting_dispatch": levels})


def incidents_table(grades, ready, assigned, call_start=None) -> pd.DataFrame:
    """An incidents table with the columns the backlog KPIs read."""
    ready = np.asarray(ready, dtype=float)
    return pd.DataFrame({"grade": pd.Categorical(grades, categories=list(GRADES)),
                         "t_call_start": ready if call_start is None else np.asarray(call_start, dtype=float),
                         "t_ready": ready, "t_assigned_last": np.asarray(assigned, dtype=float)})


# ----------------------------------------------------------------- hand-built
def test_backlog_at_the_end_counts_deployed_incidents_ready_and_unassigned():
    end = 100.0
    incidents = incidents_table(
        ["immediate", "priority", "prompt", "prompt", "scheduled", "no_deployment", "prompt", "priority"],
        ready=[10, 20, 30, 40, 50, 60, 100, 100.5],
        assigned=[np.nan, 90, np.nan, 100.5, np.nan, np.nan, np.nan, np.nan])
    # waiting: the immediate one, the first prompt one, the prompt one assigned only after the end, the
    # prompt one ready exactly at the end; not: the assigned priority one, scheduled and no-deployment
    # incidents (no unit within a target), the priority one ready after the end
    assert backlog_at(incidents, end) == 4
    assert backlog_at(incidents, 95.0) == 3


def growing_run(per_day: float, days: int, warmup_days: int = 2, noise: np.ndarray | None = None):
    """Hourly backlog ``100 + per_day * day + noise[day]`` over the measured days, with a daily cycle
    summing to 0 over each day, rubbish in the warm-up and a last part-day of 7 hours to be left out."""
    cycle = 30 * np.sin(2 * np.pi * (np.arange(HOURS_A_DAY) + 0.5) / HOURS_A_DAY)
    daily = 100 + per_day * np.arange(days) + (0 if noise is None else noise)
    measured = (daily[:, None] + cycle[None, :]).ravel()
    warmup = np.full(warmup_days * HOURS_A_DAY, 1e6)
    part_day = np.full(7, -1e6)
    return np.concatenate([warmup, measured, part_day]), warmup_days * DAY


def test_hand_built_tables_give_the_exact_backlog_and_slope():
    levels, warmup = growing_run(per_day=12.5, days=10)
    end = (len(levels) - 0.5) * HOUR
    # 3 incidents waiting at the end (one from the warm-up), 2 assigned; 20 incidents in all after
    # warm-up, so the floor of a material rise is well below the rise of 12.5 a day over 9 days
    ready = np.concatenate([[DAY], np.linspace(warmup, end - 1, 20)])
    assigned = np.full(21, np.nan)
    assigned[3:] = ready[3:] + 60
    assigned[-1] = end + 1  # assigned only after the end: still waiting at the end
    kpis = backlog_kpis(hours_table(levels), incidents_table(["prompt"] * 21, ready, assigned), warmup, end)
    assert kpis["backlog_end"] == 4
    assert kpis["backlog_growth_per_day"] == pytest.approx(12.5, abs=1e-9)
    assert kpis["stable"] is False


def test_a_flat_backlog_is_stable():
    levels, warmup = growing_run(per_day=0.0, days=10)
    end = (len(levels) - 0.5) * HOUR
    kpis = backlog_kpis(hours_table(levels), incidents_table([], [], []), warmup, end)
    assert kpis == {"backlog_end": 0, "backlog_growth_per_day": pytest.approx(0.0, abs=1e-9), "stable": True}


def test_a_real_growth_smaller_than_the_floor_is_stable():
    # a noiseless rise (beyond any number of standard errors) of 0.5 a day from the first of 10 days to
    # the last: 4.5 incidents. Material only when less than MATERIAL_RISE_HOURS of incidents needing a unit
    levels, warmup = growing_run(per_day=0.5, days=10)
    end = (len(levels) - 0.5) * HOUR
    rise = 0.5 * 9
    for per_hour, stable in ((rise / MATERIAL_RISE_HOURS * 2, True), (rise / MATERIAL_RISE_HOURS / 2, False)):
        n = round(per_hour * (end - warmup) / HOUR)
        incidents = incidents_table(["priority"] * n, np.linspace(warmup, end, n), np.full(n, np.nan))
        assert backlog_kpis(hours_table(levels), incidents, warmup, end)["stable"] is stable, per_hour


def test_a_growth_within_its_noise_is_stable():
    # noise of +-40 symmetric about the middle (so orthogonal to the days) on a rise of 2 a day, far
    # more than the floor: slope 2, with a standard error well above 2/3
    noise = 40.0 * np.array([1, -1, -1, 1, 1, 1, 1, -1, -1, 1])
    levels, warmup = growing_run(per_day=2.0, days=10, noise=noise)
    end = (len(levels) - 0.5) * HOUR
    slope, se = trend(100 + 2.0 * np.arange(10) + noise)
    assert slope == pytest.approx(2.0, abs=1e-9) and slope < 3 * se  # the case is what it claims to be
    assert backlog_kpis(hours_table(levels), incidents_table([], [], []), warmup, end)["stable"] is True


def test_trend_standard_error_by_hand():
    # residuals 1, 1, -2, -2, 1, 1 about the line 10 + 3 x: orthogonal to x and to 1, so the slope is 3;
    # residual sum of squares 12, lag-1 sum 1 - 2 + 4 - 2 + 1 = 2, r = 1/6; sum of squared x 17.5:
    # ordinary error sqrt(12 / 4 / 17.5) = sqrt(6/35), widened by sqrt((7/6) / (5/6)): sqrt(6) / 5
    values = 10 + 3.0 * np.arange(6) + np.array([1, 1, -2, -2, 1, 1])
    slope, se = trend(values)
    assert slope == pytest.approx(3.0, abs=1e-12)
    assert se == pytest.approx(math.sqrt(6) / 5, rel=1e-12)


def test_autocorrelation_widening_is_capped():
    # a curve (a queue settling) leaves residuals correlated near 1 (over 100 days, 0.95): the widening
    # stops at the cap
    x = np.arange(100.0)
    values = x - 0.005 * x**2
    slope, se = trend(values)
    fitted = np.polyval(np.polyfit(x, values, 1), x)
    residuals = values - fitted
    assert residuals[1:] @ residuals[:-1] / (residuals @ residuals) > MAX_AUTOCORRELATION
    ordinary = math.sqrt(residuals @ residuals / 98 / ((x - x.mean()) @ (x - x.mean())))
    cap = MAX_AUTOCORRELATION
    assert se == pytest.approx(ordinary * math.sqrt((1 + cap) / (1 - cap)), rel=1e-9)


@pytest.mark.parametrize("days, growth_known, stable_known", [(2, False, False), (3, True, False),
                                                               (STABLE_MIN_DAYS - 1, True, False),
                                                               (STABLE_MIN_DAYS, True, True)])
def test_too_short_a_measured_period_gives_null_not_a_guess(days, growth_known, stable_known):
    levels, warmup = growing_run(per_day=50.0, days=days)
    end = (len(levels) - 0.5) * HOUR
    kpis = backlog_kpis(hours_table(levels), incidents_table([], [], []), warmup, end)
    assert (kpis["backlog_growth_per_day"] is not None) is growth_known
    assert (kpis["stable"] is not None) is stable_known


# ----------------------------------------------------------------- the M/M/c priority queue
PRIORITY_QUEUE = ["scenario=validation/priority_dispatch", "run.engine=fast", "run.warmup_days=2"]


@pytest.mark.parametrize("units", [12, 10])  # loads 0.75 and 0.9 with the scenario's 12 an hour of 45 min
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_queue_below_capacity_is_stable(units, seed):
    result = run([*PRIORITY_QUEUE, "run.days=60", f"validation.units={units}", f"run.seed={seed}"])
    v = result.config.validation
    assert v["per_hour_all"] * v["mean_on_scene_min"] / 60 < units  # the load is below 1
    assert result.kpis["stable"] is True, result.kpis["backlog_growth_per_day"]
    assert capacity_warnings(result.kpis) == []


@pytest.mark.parametrize("units", [8, 6])  # loads 1.125 and 1.5
@pytest.mark.parametrize("seed", [1, 2])
def test_a_queue_above_capacity_grows_by_the_excess_rate(units, seed):
    result = run([*PRIORITY_QUEUE, "run.days=100", f"validation.units={units}", f"run.seed={seed}"])
    v = result.config.validation
    arrivals = v["per_hour_all"] * HOURS_A_DAY  # a day
    cleared = units * 60 / v["mean_on_scene_min"] * HOURS_A_DAY  # a day, all units busy
    assert arrivals > cleared
    # with every unit busy the backlog is a random walk: +1 at each arrival, -1 at each unit freed, two
    # Poisson streams, so drift (arrivals - cleared) and variance (arrivals + cleared) a day; the least-
    # squares slope of such a walk over T days has standard deviation sqrt(6 variance / (5 T))
    measured_days = int((result.model.horizon_s - result.model.warmup_s) // DAY)
    sd = math.sqrt(6 * (arrivals + cleared) / (5 * measured_days))
    kpis = result.kpis
    assert kpis["stable"] is False
    assert kpis["backlog_growth_per_day"] == pytest.approx(arrivals - cleared, abs=3 * sd)
    # most of what arrived in excess since the start is still waiting at the end
    assert kpis["backlog_end"] == pytest.approx((arrivals - cleared) * result.config.run.days,
                                                abs=3 * math.sqrt((arrivals + cleared) * result.config.run.days))


# ----------------------------------------------------------------- the force's scenarios, and what users see
def test_the_baseline_is_stable_and_says_nothing_alarming():
    result = run(["scenario=baseline_2021"])
    assert result.kpis["stable"] is True, (result.kpis["backlog_growth_per_day"], result.kpis["backlog_end"])
    table = headline_table(result)
    assert "incidents waiting for a unit at the end" in table and "WARNING" not in table
    assert summary(result)["warnings"] == []


def test_demand_2024_over_120_days_is_not_stable_and_says_so():
    # review off: the scenario's THRIVE review is what keeps it stable (tests/test_scenarios.py)
    result = run(["scenario=demand_2024", "review.enabled=false", "run.days=120", "run.engine=fast"])
    kpis = result.kpis
    assert kpis["stable"] is False and kpis["backlog_growth_per_day"] > 0
    warnings = summary(result)["warnings"]
    assert len(warnings) == 1
    figures = [f"{kpis['backlog_growth_per_day']:,.1f} a day", f"{kpis['backlog_end']:,} waiting at the end"]
    assert all(f in warnings[0] for f in figures), warnings
    assert f"WARNING: {warnings[0]}" in headline_table(result).splitlines()
