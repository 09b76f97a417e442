"""KPIs that leave nothing out: censored durations, switchboard transfers counted apart.

- attendance p90 and mean dispatch wait take incidents still without a unit at the end
  as right-censored (Kaplan-Meier), checked against hand-worked values, a brute-force
  product-limit estimate in exact fractions and scipy.stats.ecdf;
- with nothing censored they are the plain empirical percentile and mean;
- sl_999_10s, abandon_rate_999, asa_999_s and calls_999_offered count 999 calls from the
  public only; transfers have their own KPIs; checked by hand on a run's calls.parquet.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from demandsim.config.schema import GRADES
from demandsim.kpis import (ATTEND_PERCENT, attendance_kpis, kaplan_meier, mean_censored, percentile_censored)
from helpers import cli

END_S = 10_000.0 * 60  # end of the run of the built tables


def built_incidents(rows: list[tuple[str, float | None, float | None, float]]) -> pd.DataFrame:
    """A measured-incidents table: (grade, attendance min or None, dispatch wait min or None, minutes
    waited so far at the end for the ones without a unit); the censored ones start that long before the end."""
    grade, attendance, wait, start, ready = [], [], [], [], []
    for g, att_min, wait_min, waited_min in rows:
        grade.append(g)
        attendance.append(np.nan if att_min is None else att_min * 60)
        wait.append(np.nan if wait_min is None else wait_min * 60)
        # a censored incident started (and was ready) ``waited_min`` before the end of the run
        start.append(END_S - waited_min * 60 if att_min is None else 0.0)
        ready.append(END_S - waited_min * 60 if wait_min is None else 0.0)
    n = len(rows)
    return pd.DataFrame({
        "grade": pd.Categorical(grade, categories=list(GRADES)),
        "within_target": pd.array([pd.NA] * n, dtype="boolean"),
        "t_call_start": start, "t_ready": ready,
        "attendance_s": attendance, "dispatch_wait_s": wait,
        "victim_update_due": np.zeros(n, dtype=bool),
    })


# ----------------------------------------------------------------- hand-worked
# priority: 10 attended (1..8, 20 and 30 min) and 2 waiting for a unit at the end, for 10 and 11 min.
# Kaplan-Meier: after the events at 1..8 min, 4 of 12 are left (S = 4/12); the two censored leave
# 2 at risk, so S = 4/12 * 1/2 = 1/6 after 20 min and 0 after 30 min: 90% is first reached at 30 min.
# Dropping the two censored (as before) gave the 9th of 10, 20 min: the waits hid the tail.
# Restricted mean: 1 + (11+10+9+8+7+6+5)/12 + 4/12 * (20 - 8) + 2/12 * (30 - 20) = 34/3 min
# (dropping them gave 86/10 = 8.6 min).
PRIORITY = [("priority", float(m), float(m), 0.0) for m in (1, 2, 3, 4, 5, 6, 7, 8, 20, 30)] + \
    [("priority", None, None, 10.0), ("priority", None, None, 11.0)]
# prompt: 2 attended (1, 2 min), 3 still waiting (3, 4, 5 min): the curve stops at S = 3/5
PROMPT = [("prompt", 1.0, 1.0, 0.0), ("prompt", 2.0, 2.0, 0.0)] + [("prompt", None, None, w) for w in (3.0, 4.0, 5.0)]
# immediate: nothing censored, 15 attendances with ties
IMMEDIATE = [("immediate", m, m, 0.0) for m in (3.0, 7, 7, 2, 9, 11, 4, 4, 4, 13, 6, 8, 10, 5, 12)]


@pytest.fixture(scope="module")
def built():
    return attendance_kpis(built_incidents(PRIORITY + PROMPT + IMMEDIATE + [("scheduled", None, None, 99.0)]), END_S)


def test_hand_worked_censored_percentile_and_mean(built):
    kpis, counts = built
    assert kpis["attend_p90_min_priority"] == pytest.approx(30.0, abs=1e-9)
    assert kpis["dispatch_wait_mean_min_priority"] == pytest.approx(34 / 3, rel=1e-12)
    assert counts["attend_censored_priority"] == counts["dispatch_wait_censored_priority"] == 2
    assert counts["attend_p90_min_lower_bound_priority"] is None
    assert kpis["incidents_priority"] == 12  # the censored ones are counted, not dropped


def test_percentile_beyond_the_run_is_null_with_its_lower_bound(built):
    kpis, counts = built
    assert kpis["attend_p90_min_prompt"] is None
    assert counts["attend_censored_prompt"] == 3
    assert counts["attend_p90_min_lower_bound_prompt"] == pytest.approx(5.0, abs=1e-9)
    # S stays 3/5 from 2 min on: the restricted mean is 1 + 4/5 + 3/5 * (5 - 2) = 3.6 min
    assert kpis["dispatch_wait_mean_min_prompt"] == pytest.approx(3.6, rel=1e-12)


def test_without_censoring_the_plain_percentile_and_mean(built):
    kpis, counts = built
    minutes = np.array([m for _, m, _, _ in IMMEDIATE])
    assert kpis["attend_p90_min_immediate"] == np.percentile(minutes * 60, ATTEND_PERCENT, method="inverted_cdf") / 60
    assert kpis["dispatch_wait_mean_min_immediate"] == pytest.approx(minutes.mean(), rel=1e-12)
    assert counts["attend_censored_immediate"] == counts["dispatch_wait_censored_immediate"] == 0


def test_no_incidents_is_null():
    kpis, counts = attendance_kpis(built_incidents(IMMEDIATE), END_S)
    assert kpis["attend_p90_min_prompt"] is None and kpis["dispatch_wait_mean_min_prompt"] is None
    assert counts["attend_censored_prompt"] == 0 and counts["attend_p90_min_lower_bound_prompt"] is None


# ----------------------------------------------------------------- brute force and scipy
def brute_force(times: np.ndarray, ended: np.ndarray, percent: int) -> tuple[Fraction | None, Fraction]:
    """Product-limit estimate in exact fractions, straight from its definition: the percentile
    (least event time with S <= 1 - percent/100) and the area under S up to the longest time."""
    t = [Fraction(x) for x in times.tolist()]
    still, area, previous, percentile = Fraction(1), Fraction(0), Fraction(0), None
    for time in sorted(set(t)):
        area += still * (time - previous)
        previous = time
        at_risk = sum(1 for x in t if x >= time)
        ending = sum(1 for x, e in zip(t, ended) if x == time and e)
        still *= Fraction(at_risk - ending, at_risk)
        if percentile is None and still <= Fraction(100 - percent, 100):
            percentile = time
    return percentile, area


@pytest.mark.parametrize("seed", range(40))
def test_censored_estimates_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    times = rng.integers(1, 25, n).astype(float)  # whole minutes: many ties, also between ended and censored
    ended = rng.random(n) < rng.uniform(0.3, 1.0)
    percentile, area = brute_force(times, ended, ATTEND_PERCENT)
    got = percentile_censored(times, ended, ATTEND_PERCENT)
    assert got == (None if percentile is None else float(percentile))
    assert mean_censored(times, ended) == pytest.approx(float(area), rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 9, 10, 11, 29, 30, 70, 71, 100, 1234])
def test_uncensored_percentile_is_numpys_inverted_cdf(n):
    times = np.random.default_rng(n).exponential(600.0, n).round(0) + 1.0  # rounded: ties; all after 0
    ended = np.ones(n, dtype=bool)
    expected = np.percentile(times, ATTEND_PERCENT, method="inverted_cdf")
    assert percentile_censored(times, ended, ATTEND_PERCENT) == expected
    assert mean_censored(times, ended) == pytest.approx(times.mean(), rel=1e-12)
    # the Kaplan-Meier path gives the same: one duration censored at 0 only leaves the risk set
    with_zero = np.append(times, 0.0), np.append(ended, False)
    assert percentile_censored(*with_zero, ATTEND_PERCENT) == expected
    assert mean_censored(*with_zero) == pytest.approx(times.mean(), rel=1e-12)


def test_kaplan_meier_is_scipys():
    from scipy import stats

    rng = np.random.default_rng(5)
    times = rng.integers(0, 200, 3000).astype(float)
    ended = rng.random(3000) < 0.7
    t, still = kaplan_meier(times, ended)
    sf = stats.ecdf(stats.CensoredData(uncensored=times[ended], right=times[~ended])).sf
    np.testing.assert_array_equal(t, sf.quantiles)
    np.testing.assert_allclose(still, sf.probabilities, rtol=0, atol=1e-12)


# ----------------------------------------------------------------- a run, by hand from its tables
@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("kpis") / "run"
    done = cli("scenario=baseline_2021", "run.days=2", "run.warmup_days=0.5", f"hydra.run.dir={out}")
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    return summary, pd.read_parquet(out / "calls.parquet"), pd.read_parquet(out / "incidents.parquet")


def test_transfers_are_counted_apart_from_999_calls(baseline_run):
    summary, calls, _ = baseline_run
    k = summary["kpis"]
    calls = calls[calls["t_offer"] >= summary["warmup_days"] * 86400]
    line, origin = calls["line"].astype(str), calls["origin"].astype(str)
    in_time = (calls["outcome"].astype(str) == "answered") & (calls["wait_s"] <= 10)
    public = (line == "999") & origin.isin(["original", "redial"])
    transfers = (line == "999") & (origin == "switchboard_transfer")
    assert transfers.sum() > 10  # the run has switchboard transfers
    assert k["calls_999_offered"] == public.sum()
    assert k["transfers_101_to_999"] == transfers.sum()
    assert k["sl_999_10s"] == pytest.approx(in_time[public].mean(), rel=1e-12)
    assert k["sl_999_10s_transfers"] == pytest.approx(in_time[transfers].mean(), rel=1e-12)
    abandoned = calls["outcome"].astype(str) == "abandoned"
    assert k["abandon_rate_999"] == pytest.approx(abandoned[public].mean(), rel=1e-12)
    assert k["abandon_rate_999_transfers"] == pytest.approx(abandoned[transfers].mean(), rel=1e-12)
    answered = public & (calls["outcome"].astype(str) == "answered")
    assert k["asa_999_s"] == pytest.approx(calls.loc[answered, "wait_s"].mean(), rel=1e-12)
    # every 999 row is one or the other, or a call-back (a call the force makes)
    assert public.sum() + transfers.sum() + (origin == "callback").sum() == (line == "999").sum()


def test_censored_counts_and_p90_match_the_incidents_table(baseline_run):
    from scipy import stats

    summary, _, incidents = baseline_run
    k, counts = summary["kpis"], summary["counts"]
    end = summary["days"] * 86400
    incidents = incidents[incidents["t_call_start"] >= summary["warmup_days"] * 86400]
    censored_total = 0
    for grade in ("immediate", "priority", "prompt"):
        mine = incidents[incidents["grade"].astype(str) == grade]
        unattended = mine["t_on_scene"].isna()
        assert counts[f"attend_censored_{grade}"] == unattended.sum()
        assert counts[f"dispatch_wait_censored_{grade}"] == mine["t_assigned"].isna().sum()
        censored_total += int(unattended.sum())
        # the percentile off scipy's Kaplan-Meier curve, censored at the end of the run
        attended = mine.loc[~unattended, "attendance_s"].to_numpy()
        waited = end - mine.loc[unattended, "t_call_start"].to_numpy()
        cdf = stats.ecdf(stats.CensoredData(uncensored=attended, right=waited)).cdf
        reached = cdf.quantiles[cdf.probabilities >= ATTEND_PERCENT / 100 - 1e-9]
        if len(reached):
            assert k[f"attend_p90_min_{grade}"] == pytest.approx(reached[0] / 60, rel=1e-12)
        else:  # too many still waiting at the end: the percentile is not reached, a lower bound is given
            assert k[f"attend_p90_min_{grade}"] is None
            longest = np.concatenate([attended, waited]).max()  # attended or still waiting at the end
            assert counts[f"attend_p90_min_lower_bound_{grade}"] == pytest.approx(longest / 60, rel=1e-12)
    assert censored_total > 0  # incidents still waiting for a unit at the end of two days
    assert censored_total == counts["incidents_unattended_past_target"] + \
        counts["incidents_excluded_target_not_yet_due"]
