"""The call-side estimators of a calibration (demandsim/calibrate/fit.py) recover known truths.

Every tolerance is a standard error of the estimator at the data's size (Poisson counts,
the fit's own observed information, Greenwood's formula for Kaplan-Meier), times 4: a
correct estimator fails a check with probability about 6e-5, and the seeds are fixed.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats

from demandsim.calibrate import fit
from demandsim.calibrate.read import Period

Z = 4.0
#: chi-square(1) quantile at the same level: a likelihood-ratio test of one extra parameter
LR_LIMIT = stats.chi2.isf(2 * stats.norm.sf(Z), 1)
HOUR = pd.Timedelta(hours=1)


# ----------------------------------------------------------------- data with a known truth
def poisson_calls(start: str, end: str, rate_of_hour, rng: np.random.Generator,
                  overdispersion_k: float | None = None) -> tuple[pd.DataFrame, Period]:
    """Calls of a Poisson process whose rate in each hour is ``rate_of_hour(hour starts)``;
    with ``overdispersion_k``, each hour's rate is first multiplied by a gamma(k, 1/k) draw."""
    period = Period(pd.Timestamp(start), pd.Timestamp(end), zone=None)  # naive hours, as the draws are
    hours = fit.naive_hours(period.start, period.end)
    rates = np.asarray(rate_of_hour(hours), dtype=np.float64)
    if overdispersion_k is not None:
        rates = rates * rng.gamma(overdispersion_k, 1.0 / overdispersion_k, rates.size)
    counts = rng.poisson(rates)
    hour_of_call = np.repeat(np.arange(hours.size), counts)
    arrived = period.start + pd.to_timedelta((hour_of_call + rng.random(hour_of_call.size)) * 3600.0, unit="s")
    n = arrived.size
    calls = pd.DataFrame({"arrived_at": np.sort(arrived.to_numpy()), "line": "999", "outcome": "answered",
                          "wait_s": np.zeros(n), "handle_s": np.full(n, 240.0), "agent": None})
    return calls, period


def weekly_rate(how: np.ndarray) -> np.ndarray:
    """A known hour-of-week profile: a daily sinusoid, busier on weekdays (calls per hour)."""
    return 20.0 + 15.0 * np.sin(2 * np.pi * (how % 24 - 9) / 24) + 5.0 * (how < 120)


def patience_calls(truth, abandon_rate: float, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` calls whose callers' patience is ``truth`` (a frozen scipy distribution) and whose
    offered waits are exponential, with the mean wait that gives ``abandon_rate``:
    P(patience < wait) = E[exp(-patience / mean wait)]."""
    def rate(w: float) -> float:
        return integrate.quad(lambda t: math.exp(-t / w) * truth.pdf(t), 0, np.inf, limit=200)[0]

    w = optimize.brentq(lambda w: rate(w) - abandon_rate, 1e-6 * truth.mean(), 1e6 * truth.mean())
    patience_s = truth.rvs(size=n, random_state=rng)
    offered = rng.exponential(w, n)
    abandoned = patience_s < offered
    return pd.DataFrame({"outcome": np.where(abandoned, "abandoned", "answered"),
                         "wait_s": np.where(abandoned, patience_s, offered),
                         "handle_s": np.where(abandoned, np.nan, 240.0)})


def weibull(mean: float, shape: float):
    return stats.weibull_min(shape, scale=mean / math.gamma(1 + 1 / shape))


# ----------------------------------------------------------------- arrivals
def test_hour_of_week_profile_recovered_within_poisson_error():
    rng = np.random.default_rng(20240101)
    calls, period = poisson_calls("2024-01-01", "2024-02-26", lambda h: weekly_rate(fit.hour_of_week(h)), rng)
    out = fit.arrivals(calls, period)
    truth = weekly_rate(np.arange(168))
    weeks = 8
    assert out["calls"] == len(calls)
    assert out["hour_of_week_occurrences"] == [weeks] * 168 and out["uncovered_hours"] == []
    profile = np.array(out["per_hour_of_week"])
    assert np.all(np.abs(profile - truth) <= Z * np.sqrt(truth / weeks))
    assert np.allclose(out["per_hour_of_week_se"], np.sqrt(profile / weeks))
    se_year = math.sqrt(len(calls)) / (weeks * 168) * 8760
    assert abs(out["per_year"] - truth.mean() * 8760) <= Z * se_year
    # a Poisson process: the dispersion is 1 within its sampling error (chi-square / dof)
    quality = out["quality"]
    assert quality["n_hours"] == weeks * 168 and quality["dof"] == weeks * 168 - 168 - 1
    assert abs(quality["dispersion"] - 1) <= Z * math.sqrt(2 / quality["dof"])
    # January and February at the same level: factors 1 within the Poisson error of their ratio
    factors = np.array(out["month_factors"])
    assert np.all(factors[2:] == 1.0) and factors[:2].mean() == pytest.approx(1.0)
    jan, feb = int((calls["arrived_at"].dt.month == 1).sum()), int((calls["arrived_at"].dt.month == 2).sum())
    assert abs(math.log(factors[1] / factors[0])) <= Z * math.sqrt(1 / jan + 1 / feb)


def test_overdispersed_hours_show_a_dispersion_above_one():
    rng = np.random.default_rng(7)
    # rate x gamma(k=10): variance = mean + mean^2 / 10, about 3 x the mean at 20 calls an hour
    calls, period = poisson_calls("2024-01-01", "2024-01-29", lambda h: np.full(h.size, 20.0), rng,
                                  overdispersion_k=10.0)
    quality = fit.arrivals(calls, period)["quality"]
    assert quality["dispersion"] > 1 + 10 * math.sqrt(2 / quality["dof"])
    assert 2.0 < quality["dispersion"] < 4.0


def test_month_factors_recover_a_known_ratio():
    rng = np.random.default_rng(31)
    level = {3: 1.0, 4: 1.2}

    def rate(hours):
        return weekly_rate(fit.hour_of_week(hours)) * np.array([level[m] for m in hours.month])

    calls, period = poisson_calls("2024-03-01", "2024-05-01", rate, rng)
    out = fit.arrivals(calls, period)
    factors = np.array(out["month_factors"])
    march, april = factors[2], factors[3]
    assert (march + april) / 2 == pytest.approx(1.0)
    assert np.all(np.delete(factors, [2, 3]) == 1.0)
    assert out["month_hours"][2:4] == [31 * 24, 30 * 24] and sum(out["month_hours"]) == 61 * 24
    n_mar, n_apr = (int((calls["arrived_at"].dt.month == m).sum()) for m in (3, 4))
    assert abs(math.log(april / march) - math.log(1.2)) <= Z * math.sqrt(1 / n_mar + 1 / n_apr)
    # the months' levels are in the fitted hourly means, so the dispersion stays Poisson
    quality = out["quality"]
    assert abs(quality["dispersion"] - 1) <= Z * math.sqrt(2 / quality["dof"])


def test_a_short_period_has_no_month_factors_and_fills_uncovered_hours_by_hour_of_day():
    rng = np.random.default_rng(3)
    calls, period = poisson_calls("2024-01-03", "2024-01-06", lambda h: weekly_rate(fit.hour_of_week(h)), rng)
    out = fit.arrivals(calls, period)  # Wednesday to Friday
    assert out["month_factors"] is None and "month_hours" not in out
    assert out["uncovered_hours"] == list(range(0, 48)) + list(range(120, 168))
    profile = np.array(out["per_hour_of_week"])
    by_hour_of_day = profile[48:120].reshape(3, 24).mean(axis=0)
    assert np.allclose(profile[:48], np.tile(by_hour_of_day, 2))
    assert np.allclose(profile[120:], np.tile(by_hour_of_day, 2))


# ----------------------------------------------------------------- patience
PATIENCE_CASES = [("exponential", stats.expon(scale=120.0)), ("weibull", weibull(120.0, 0.6))]


@pytest.mark.parametrize("abandon_rate", [0.05, 0.30])
@pytest.mark.parametrize("family,truth", PATIENCE_CASES, ids=[c[0] for c in PATIENCE_CASES])
def test_patience_recovers_mean_and_family_under_censoring(family, truth, abandon_rate):
    rng = np.random.default_rng(int(abandon_rate * 100) + (0 if family == "exponential" else 1000))
    n = 40_000
    calls = patience_calls(truth, abandon_rate, n, rng)
    out = fit.patience(calls)
    d = out["n_events"]
    assert d + out["n_censored"] == n
    assert abs(out["abandon_rate"] - abandon_rate) <= Z * math.sqrt(abandon_rate * (1 - abandon_rate) / n)
    chosen = out["candidates"][out["fit"]["family"]]
    assert chosen["mean_se_s"] is not None
    assert abs(out["fit"]["mean_s"] - truth.mean()) <= Z * chosen["mean_se_s"]
    exponential = out["candidates"]["exponential"]
    # the exponential's standard error is the closed form mean / sqrt(events)
    assert exponential["mean_se_s"] == pytest.approx(exponential["mean_s"] / math.sqrt(d))
    if family == "exponential":
        # the exponential is nested in the Weibull and the gamma (shape or cv 1): a richer
        # family may win AIC by chance, but never by a significant likelihood ratio
        best = out["candidates"][out["fit"]["family"]]
        assert out["fit"]["family"] == "exponential" or 2 * (best["loglik"] - exponential["loglik"]) < LR_LIMIT
    else:
        assert out["fit"]["family"] == "weibull"
        shape = out["fit"]["params"]["shape"]
        assert abs(shape - 0.6) < 0.05
    assert set(out["fit"]) == {"family", "params", "mean_s"}


def test_abandoners_alone_underestimate_patience_and_the_censored_fit_does_not():
    rng = np.random.default_rng(12)
    mean = 120.0
    calls = patience_calls(stats.expon(scale=mean), 0.30, 20_000, rng)
    out = fit.patience(calls)
    naive = calls.loc[calls["outcome"] == "abandoned", "wait_s"].mean()
    assert out["abandoners_mean_wait_s"] == pytest.approx(naive)
    se = out["candidates"]["exponential"]["mean_se_s"]
    # min(patience, wait) of the abandoners: mean x (1 - abandon rate) x ... about 0.3 x the mean
    assert naive < 0.5 * mean and mean - naive > 20 * se
    assert out["fit"]["family"] == "exponential" or abs(out["fit"]["mean_s"] - mean) <= Z * se
    assert abs(out["candidates"]["exponential"]["mean_s"] - mean) <= Z * se


def test_kaplan_meier_median_and_curve():
    rng = np.random.default_rng(5)
    mean, n = 120.0, 20_000
    calls = patience_calls(stats.expon(scale=mean), 0.30, n, rng)
    out = fit.patience(calls)
    # Greenwood's variance at the median of exponential patience (rate a) under exponential
    # waits (rate b), at risk exp(-(a + b) t): var S = S^2 a/(a+b) (exp((a+b) t) - 1) / n,
    # and the median's standard error is sd(S) / density
    a = 1 / mean
    b = a * 0.7 / 0.3  # abandon rate a / (a + b) = 0.3
    median = mean * math.log(2)
    var_s = 0.25 * a / (a + b) * math.expm1((a + b) * median) / n
    se_median = math.sqrt(var_s) / (a * 0.5)
    assert abs(out["km_median_s"] - median) <= Z * se_median
    curve = out["km_curve"]
    t, s = np.array(curve["t_s"]), np.array(curve["survival"])
    assert len(t) <= fit.KM_POINTS and t[0] == 0.0 and s[0] == 1.0
    assert np.all(np.diff(t) > 0) and np.all(np.diff(s) <= 0)
    assert t[-1] == calls["wait_s"].max()


def test_kaplan_meier_median_is_none_when_survival_stays_above_half():
    # patience far longer than any wait: few abandon, and survival ends near 0.95
    calls = patience_calls(stats.expon(scale=120.0), 0.05, 5000, np.random.default_rng(8))
    calls["wait_s"] = np.minimum(calls["wait_s"], 5.0)  # the answered waited at most 5 s
    calls.loc[calls["outcome"] == "abandoned", "wait_s"] = np.minimum(
        calls.loc[calls["outcome"] == "abandoned", "wait_s"], 4.0)
    out = fit.patience(calls)
    assert out["km_median_s"] is None and out["km_curve"]["survival"][-1] > 0.5


def test_nobody_hangs_up_gives_family_none():
    calls = pd.DataFrame({"outcome": ["answered"] * 3, "wait_s": [0.0, 3.0, 40.0], "handle_s": [60.0] * 3})
    out = fit.patience(calls)
    assert out["fit"] == {"family": "none", "params": {}, "mean_s": None}
    assert out["km_median_s"] is None and out["n_events"] == 0 and out["candidates"] == {}
    assert np.all(fit.fitted_survival(out["fit"], [0.0, 1e6]) == 1.0)


def test_abandonments_at_zero_seconds_are_counted_at_half_a_clock_tick():
    rng = np.random.default_rng(9)
    calls = patience_calls(stats.expon(scale=60.0), 0.3, 4000, rng)
    calls["wait_s"] = np.round(calls["wait_s"])  # an export in whole seconds: some abandon at 0
    out = fit.patience(calls)
    assert out["n_zero_events"] > 0
    for c in out["candidates"].values():
        assert math.isfinite(c["loglik"]) and math.isfinite(c["mean_s"]) and c["mean_s"] > 0
    # the tick is half a second: the exponential's total exposure counts each such call at 0.5 s
    ab, ans = calls["outcome"] == "abandoned", calls["outcome"] == "answered"
    total = calls.loc[ans, "wait_s"].sum() + np.where(calls.loc[ab, "wait_s"] > 0, calls.loc[ab, "wait_s"], 0.5).sum()
    assert out["candidates"]["exponential"]["mean_s"] == pytest.approx(total / ab.sum())


def test_rounding_to_the_fit_resolution_moves_no_estimate():
    rng = np.random.default_rng(10)
    calls = patience_calls(weibull(90.0, 0.8), 0.2, 20_000, rng)
    ab = calls["outcome"] == "abandoned"
    events, censored = calls.loc[ab, "wait_s"].to_numpy(), calls.loc[~ab, "wait_s"].to_numpy()
    fast, exact = fit.fit_censored(events, censored), fit.fit_censored(events, censored, resolution=None)
    for family in fit.PATIENCE_FAMILIES:
        assert fast[family]["mean_s"] == pytest.approx(exact[family]["mean_s"], rel=1e-3)
        assert abs(fast[family]["mean_s"] - exact[family]["mean_s"]) < 0.05 * exact[family]["mean_se_s"]
        assert fast[family]["loglik"] == pytest.approx(exact[family]["loglik"], rel=1e-5)


# ----------------------------------------------------------------- fitted curves
FITS = [{"family": "exponential", "params": {"mean_s": 90.0}},
        {"family": "weibull", "params": {"mean_s": 90.0, "shape": 0.7}},
        {"family": "lognormal", "params": {"mean_s": 90.0, "cv": 1.5}},
        {"family": "gamma", "params": {"mean_s": 90.0, "cv": 0.6}}]


@pytest.mark.parametrize("one_fit", FITS, ids=[f["family"] for f in FITS])
def test_fitted_curves_have_the_fit_mean_and_the_simulators_meaning(one_fit):
    mean = integrate.quad(lambda t: float(fit.fitted_survival(one_fit, [t])[0]), 0, np.inf, limit=200)[0]
    assert mean == pytest.approx(90.0, rel=1e-6)
    area = integrate.quad(lambda t: float(fit.fitted_pdf(one_fit, [t])[0]), 0, np.inf, limit=200)[0]
    assert area == pytest.approx(1.0, rel=1e-6)
    # the simulator's distribution of the same name and parameters (minutes) draws these times
    from demandsim.config.schema import Dist
    from demandsim.model.distributions import KINDS, Duration

    family, params = one_fit["family"], one_fit["params"]
    if family not in KINDS:
        pytest.skip(f"the simulator has no {family} kind in this checkout")
    spread = {k: v for k, v in params.items() if k != "mean_s"}
    duration = Duration.from_config(Dist(family, mean=params["mean_s"] / 60.0, **spread), "patience")
    u = np.linspace(0.01, 0.99, 50)
    assert np.allclose(fit.fitted_survival(one_fit, duration.seconds(u)), 1 - u, atol=1e-9)


# ----------------------------------------------------------------- handling
def test_handling_empirical_keeps_the_mean_and_reports_the_parametric_error():
    rng = np.random.default_rng(14)
    n = 12_345  # not a multiple of 200: groups share boundary values
    # mostly 5-minute calls, a fifth of very short ones: a lognormal misses this mean widely
    handle = np.where(rng.random(n) < 0.2, rng.exponential(15.0, n), rng.gamma(4.0, 75.0, n))
    calls = pd.DataFrame({"outcome": ["answered"] * n + ["abandoned"] * 5,
                          "wait_s": np.zeros(n + 5), "handle_s": np.concatenate([handle, np.full(5, np.nan)])})
    out = fit.handling(calls)
    assert out["n"] == n and out["mean_s"] == pytest.approx(handle.mean(), rel=1e-12)
    assert out["fit"] == {"family": "empirical", "params": {"bins": 200}}
    values = np.array(out["empirical_values_min"])
    assert len(values) == 200 and np.all(np.diff(values) >= 0)
    assert values.mean() * 60 == pytest.approx(handle.mean(), rel=1e-12)
    # each value is the mean of its 1/200 slice of the sorted data: the 100th lies between the quartiles
    assert np.percentile(handle, 25) < values[100] * 60 < np.percentile(handle, 75)
    cands = out["candidates"]
    assert cands["gamma"]["mean_error"] == pytest.approx(0.0, abs=1e-9)  # gamma ML keeps the mean
    assert cands["lognormal"]["mean_error"] > 0.10  # the trap of issue 12
    logs = np.log(handle)
    assert cands["lognormal"]["params"]["mean_s"] == pytest.approx(math.exp(logs.mean() + logs.var() / 2))
    assert out["parametric"]["family"] == max(cands, key=lambda f: cands[f]["loglik"])
    hist = out["hist"]
    assert len(hist["counts"]) == fit.HIST_BINS and len(hist["edges_s"]) == fit.HIST_BINS + 1
    assert hist["edges_s"][0] == 0.0 and hist["edges_s"][-1] == pytest.approx(np.percentile(handle, 99.5))
    assert sum(hist["counts"]) + hist["beyond"] == n and hist["beyond"] <= 0.005 * n + 1


def test_empirical_values_of_few_calls_and_of_no_calls():
    assert fit.empirical_values_min([30.0, 90.0], bins=4) == [0.5, 0.5, 1.5, 1.5]
    out = fit.handling(pd.DataFrame({"outcome": ["abandoned"], "wait_s": [3.0], "handle_s": [np.nan]}))
    assert out["n"] == 0 and out["mean_s"] is None and out["fit"] is None


# ----------------------------------------------------------------- size
def test_a_year_of_450k_calls_fits_in_seconds(capsys):
    """A force's year: arrivals, patience and handling on 450,000 calls; the time is printed
    (a shared machine's timing is no test), the estimates checked."""
    rng = np.random.default_rng(2023)
    per_hour = 450_000 / 8760
    calls, period = poisson_calls("2023-01-01", "2024-01-01", lambda h: np.full(h.size, per_hour), rng)
    n = len(calls)
    mean_patience = 150.0
    waits = patience_calls(stats.expon(scale=mean_patience), 0.10, n, rng)
    calls[["outcome", "wait_s"]] = waits[["outcome", "wait_s"]].to_numpy()
    calls["wait_s"] = calls["wait_s"].astype(np.float64)
    calls["handle_s"] = np.where(calls["outcome"] == "answered", rng.lognormal(5.5, 0.7, n), np.nan)
    started = time.perf_counter()
    a = fit.arrivals(calls, period)
    p = fit.patience(calls)
    h = fit.handling(calls)
    took = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n  fit.arrivals + patience + handling of {n} calls: {took:.2f} s")
    assert abs(a["per_year"] - per_hour * 8760) <= Z * math.sqrt(n) * 8760 / (365 * 24)
    se = p["candidates"]["exponential"]["mean_se_s"]
    assert abs(p["candidates"]["exponential"]["mean_s"] - mean_patience) <= Z * se
    assert h["n"] == int((calls["outcome"] == "answered").sum())
