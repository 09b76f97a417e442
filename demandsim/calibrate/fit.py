"""What a line's calls say about its demand, its callers' patience and its handling times.

Pure functions on the clean ``calls`` table of :mod:`demandsim.calibrate.read` (one line's
rows at a time) that return plain dicts of floats, ints, lists and None, ready for
``json.dump``. Seconds throughout (``*_s``), except :func:`empirical_values_min`, whose
values go into a scenario's ``empirical`` distribution, in minutes. Every estimator is a
standard one; its name and reference are in the docstring of the function that computes it.

- :func:`arrivals`: the volume, the mean calls in each hour of the week, the month factors
  and how far the hourly counts stray from a Poisson process with that profile.
- :func:`patience`: how long callers wait before hanging up, from abandonments (events) and
  answered calls (right-censored): Kaplan-Meier, and exponential, Weibull, lognormal and
  gamma fits by maximum likelihood on the same censored data, chosen by AIC.
- :func:`handling`: the mean handle time, the empirical distribution that keeps it exactly
  (what the scenario uses), the best lognormal/gamma fit with its error on the mean (what
  the page shows against the histogram).
- :func:`fitted_survival`, :func:`fitted_pdf`: a fitted family's survival / density curve
  for the page's charts.

Example:
    >>> import pandas as pd
    >>> calls = pd.DataFrame({"arrived_at": pd.to_datetime(["2024-01-01 00:10", "2024-01-01 00:40",
    ...                                                     "2024-01-01 01:05"]),
    ...                       "line": "999", "outcome": ["answered", "abandoned", "answered"],
    ...                       "wait_s": [4.0, 30.0, 12.0], "handle_s": [300.0, float("nan"), 420.0]})
    >>> period = Period(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02"), zone=None)
    >>> a = arrivals(calls, period)
    >>> a["calls"], a["per_hour_of_week"][:3], a["month_factors"]
    (3, [2.0, 1.0, 0.0], None)
    >>> p = patience(calls)
    >>> p["n_events"], p["n_censored"], p["candidates"]["exponential"]["mean_s"]  # (4 + 30 + 12) s / 1
    (1, 2, 46.0)
    >>> h = handling(calls)
    >>> h["mean_s"], h["fit"], [round(v, 4) for v in h["empirical_values_min"][::100]]
    (360.0, {'family': 'empirical', 'params': {'bins': 200}}, [5.0, 7.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from demandsim.calibrate.read import Period, hour_of_week  # noqa: F401 - Period: the doctest's

#: hours in a year: ``per_year`` = mean calls per hour x this (the simulator divides by it)
HOURS_PER_YEAR = 8760.0
#: the parametric families fitted to patience, in the order AIC ties are broken (simplest first)
PATIENCE_FAMILIES = ("exponential", "weibull", "lognormal", "gamma")
#: the families compared with the handling times' histogram
HANDLING_FAMILIES = ("lognormal", "gamma")
#: most points of the Kaplan-Meier curve handed to the page
KM_POINTS = 200
#: groups of the empirical handling distribution (the scenario's ``empirical`` values)
HANDLE_BINS = 200
#: bars of the handling histogram, over 0 .. this percentile
HIST_BINS, HIST_TOP_PERCENTILE = 60, 99.5
#: the shape (Weibull) or cv (lognormal, gamma) a patience fit may take: beyond these the
#: family cannot describe the data and the simulator's quantile functions lose precision
SPREAD_BOUNDS = {"weibull": (0.05, 20.0), "lognormal": (0.05, 50.0), "gamma": (0.05, 20.0)}
#: relative resolution to which the patience fits round durations (see :func:`fit_censored`)
TIME_RESOLUTION = 1e-3
_HOUR = pd.Timedelta(hours=1)


# ----------------------------------------------------------------- hours of the week
def naive_hours(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """The start of every wall-clock hour in ``[start, end)``, read as naive times (every hour
    once, so a clock change's repeated autumn hour is one hour here and the skipped spring
    hour is one hour too). :func:`arrivals` divides by the Period's counts of wall-clock hours
    (``read.Period.hour_of_week_counts``) and uses these only where it needs the hours
    themselves (month factors, the dispersion)."""
    return pd.date_range(start, end, freq="h", inclusive="left")


# ----------------------------------------------------------------- arrivals
def arrivals(calls_of_line: pd.DataFrame, period) -> dict:
    """Volume, hour-of-week profile and month factors of one line's calls, with a fit quality.

    Returns a dict:

    - ``calls``: the number of calls.
    - ``per_hour_of_week``: 168 floats, Monday 00:00-01:00 first: the calls that arrived in
      that hour of the week divided by how many times that hour occurs in the period
      (``period.hour_of_week_counts()``): the maximum-likelihood rate of a Poisson process
      whose rate repeats every week. An hour of the week the period never covers (a period
      shorter than a week) takes the mean rate of its hour of the day over the days covered,
      and is listed in ``uncovered_hours``.
    - ``per_hour_of_week_se``: the Poisson standard error of each, sqrt(calls) / occurrences
      (for an uncovered hour, that of the hour-of-day mean it took).
    - ``hour_of_week_occurrences``: the divisors (168 ints).
    - ``per_year``: the mean of ``per_hour_of_week`` x 8760: the calls of a year of such weeks.
      The mean of the profile (each hour of the week weighted alike) rather than calls / hours
      of the period, so that a period of whole weeks plus a few days is not tilted towards the
      weekdays it covers twice; with whole weeks the two are equal. It is what the simulator
      needs: its rate is ``per_year / 8760 * profile / mean(profile) * month factor``.
    - ``month_factors``: None when the period touches one calendar month or less; else 12
      floats, January first: for each month the period covers, the calls that arrived in it
      divided by the calls the hour-of-week profile predicts for its hours in the period (the
      profile summed over those hours), scaled so that the covered months average 1;
      uncovered months 1.0. A month covered by a few days gives a noisy factor:
      ``month_hours`` says how many hours of each month the period holds.
    - ``quality``: ``dispersion`` = Pearson's chi-square of the hourly counts around the fitted
      means (profile x month's ratio) divided by its degrees of freedom (hours - fitted rates):
      the Poisson dispersion index, 1 for a Poisson process, above 1 when calls bunch (weather,
      incidents that ring many callers), None without degrees of freedom; ``n_hours`` the
      hours compared, ``dof``. (McCullagh &
      Nelder, *Generalized Linear Models*, 2nd ed., 1989, section 4.5: the moment estimator
      of the dispersion.) On the autumn clock-change day the repeated hour holds two hours'
      calls in one naive hour, one outlier among a month's hours.

    ``period``: the :class:`read.Period <demandsim.calibrate.read.Period>` of the whole export
    (every line shares it, so a line without calls on the last day still counts that day).
    """
    times = pd.DatetimeIndex(calls_of_line["arrived_at"])
    counts = np.bincount(hour_of_week(times), minlength=168).astype(np.float64)
    occurrences = np.asarray(period.hour_of_week_counts(), dtype=np.float64)
    covered = occurrences > 0
    profile = np.divide(counts, occurrences, out=np.zeros(168), where=covered)
    se = np.divide(np.sqrt(counts), occurrences, out=np.zeros(168), where=covered)
    if not covered.all():  # a period shorter than a week: the hour of the day's mean stands in
        hod = np.arange(168) % 24
        hod_calls = np.bincount(hod[covered], weights=counts[covered], minlength=24)
        hod_occurs = np.bincount(hod[covered], weights=occurrences[covered], minlength=24)
        hod_rate = np.divide(hod_calls, hod_occurs, out=np.zeros(24), where=hod_occurs > 0)
        hod_se = np.divide(np.sqrt(hod_calls), hod_occurs, out=np.zeros(24), where=hod_occurs > 0)
        profile[~covered], se[~covered] = hod_rate[hod[~covered]], hod_se[hod[~covered]]

    # the period's own hours, for the month totals and the hourly counts
    hours = naive_hours(period.start, period.end)
    hour_index = np.floor(((times - period.start) / _HOUR).to_numpy(dtype=np.float64)).astype(np.int64)
    inside = (hour_index >= 0) & (hour_index < len(hours))
    hourly = np.bincount(hour_index[inside], minlength=len(hours)).astype(np.float64)
    month = hours.month.to_numpy() - 1
    expected = profile[hour_of_week(hours)]
    month_hours = np.bincount(month, minlength=12)
    in_month = month_hours > 0
    observed_m = np.bincount(month, weights=hourly, minlength=12)
    predicted_m = np.bincount(month, weights=expected, minlength=12)
    ratio = np.divide(observed_m, predicted_m, out=np.ones(12), where=in_month & (predicted_m > 0))
    month_factors = None
    if in_month.sum() >= 2:
        factors = np.ones(12)
        factors[in_month] = ratio[in_month] / ratio[in_month].mean()
        month_factors = factors.tolist()
        expected = expected * ratio[month]  # the fitted mean of each hour: profile x its month's level

    # Pearson dispersion over the hours with a positive fitted mean
    used = expected > 0
    fitted_rates = int(covered.sum()) + (int(in_month.sum()) - 1 if month_factors is not None else 0)
    dof = max(int(used.sum()) - fitted_rates, 0)
    chi2 = float(np.sum((hourly[used] - expected[used]) ** 2 / expected[used]))
    dispersion = chi2 / dof if dof > 0 else None

    out = {
        "calls": int(len(times)),
        "per_hour_of_week": profile.tolist(),
        "per_hour_of_week_se": se.tolist(),
        "hour_of_week_occurrences": [int(v) for v in occurrences],
        "uncovered_hours": np.flatnonzero(~covered).tolist(),
        "per_year": float(profile.mean() * HOURS_PER_YEAR),
        "month_factors": month_factors,
        "quality": {"dispersion": dispersion, "n_hours": int(used.sum()), "dof": dof},
    }
    if month_factors is not None:
        out["month_hours"] = month_hours.tolist()
    return out


# ----------------------------------------------------------------- patience
def patience(calls_of_line: pd.DataFrame) -> dict:
    """How long one line's callers are prepared to wait, from censored waits.

    A caller who hung up after waiting ``wait_s`` had that patience (an event); a caller who
    was answered after ``wait_s`` would have waited at least that long (right-censored:
    their patience is unknown but longer). Using abandoners alone measures how long the
    impatient waited, not how long callers would wait: it underestimates patience, the more
    so the shorter the waits (Brown, Gans, Mandelbaum, Sakov, Shen, Zeltyn & Zhao,
    "Statistical analysis of a telephone call center: a queueing-science perspective",
    JASA 100(469), 2005, section 6). Both estimators below use events and censored waits.

    Returns a dict:

    - ``km_median_s``: the median of the Kaplan-Meier estimate of the patience survival
      function (Kaplan & Meier, "Nonparametric estimation from incomplete observations", JASA
      53(282), 1958; ``scipy.stats.ecdf`` on ``CensoredData``): the smallest wait at which the
      estimated share still waiting is 0.5 or less. None when it never gets there (few
      abandonments and short waits: most callers' patience outlasts every wait observed).
    - ``fit``: ``{"family", "params", "mean_s"}``: the family with the smallest AIC (Akaike,
      "A new look at the statistical model identification", IEEE Trans. Autom. Control 19(6),
      1974) among ``candidates``. ``params`` are in seconds and named as the simulator's
      distributions: exponential ``{mean_s}``, weibull ``{mean_s, shape}``, lognormal and
      gamma ``{mean_s, cv}``. With no abandonment at all the family is ``none`` (nobody hangs
      up), ``params`` ``{}`` and ``mean_s`` None (infinite).
    - ``candidates``: every family fitted, each with ``params``, ``mean_s``, ``mean_se_s``
      (standard error of the mean from the observed information, by the delta method),
      ``loglik`` (log-likelihood of the censored data, densities in 1/s), ``aic``,
      ``n_params`` and ``at_bound`` (the optimum hit a limit of :data:`SPREAD_BOUNDS`: the
      family does not describe these data).
    - ``n_events`` (abandoned), ``n_censored`` (answered), ``n_zero_events``, ``abandon_rate``,
      ``abandoners_mean_wait_s`` (the biased estimate, for comparison only).
    - ``km_curve``: ``{"t_s", "survival"}``, the Kaplan-Meier step function at its steps,
      starting at (0, 1) and ending at the longest wait, thinned to at most
      :data:`KM_POINTS` points for a chart.

    The parametric fits maximise the censored log-likelihood
    ``sum over abandoned of log f(wait) + sum over answered of log S(wait)`` directly
    (L-BFGS-B on log mean and log shape/cv; the exponential has the closed form
    mean = total wait of all calls / abandonments). An answered call that waited 0 s says
    nothing (S(0) = 1). An abandonment at 0 s (a clock rounding a short wait down) is
    counted at half the shortest positive wait in the data (at most 0.5 s): the middle of
    the clock's first tick, since a density may be 0 or infinite at 0 itself.
    """
    outcome = calls_of_line["outcome"].to_numpy()
    waits = calls_of_line["wait_s"].to_numpy(dtype=np.float64)
    abandoned = outcome == "abandoned"
    events, censored = waits[abandoned], waits[outcome == "answered"]
    out: dict = {
        "km_median_s": None,
        "fit": {"family": "none", "params": {}, "mean_s": None},
        "candidates": {},
        "n_events": int(events.size),
        "n_censored": int(censored.size),
        "n_zero_events": int(np.sum(events == 0)),
        "abandon_rate": float(events.size / waits.size) if waits.size else None,
        "abandoners_mean_wait_s": float(events.mean()) if events.size else None,
        "km_curve": {"t_s": [0.0], "survival": [1.0]},
        "chosen_by": "AIC",
    }
    if events.size == 0:
        return out
    out["km_median_s"], out["km_curve"] = km_survival(events, censored)

    positive = waits[waits > 0]
    tick = min(0.5 * float(positive.min()), 0.5) if positive.size else 0.5
    candidates = fit_censored(np.where(events > 0, events, tick), censored[censored > 0])
    out["candidates"] = candidates
    best = min(PATIENCE_FAMILIES, key=lambda f: (candidates[f]["aic"], PATIENCE_FAMILIES.index(f)))
    out["fit"] = {"family": best, "params": dict(candidates[best]["params"]), "mean_s": candidates[best]["mean_s"]}
    return out


def km_survival(events: np.ndarray, censored: np.ndarray, points: int = KM_POINTS) -> tuple[float | None, dict]:
    """Kaplan-Meier survival of patience: (median or None, ``{"t_s", "survival"}`` thinned to
    at most ``points`` points).

    ``events``: waits of the calls abandoned; ``censored``: waits of the calls answered.
    The curve holds (0, 1), the times where the estimate steps down, and the longest wait
    (where the estimate ends); when there are more, evenly spaced steps are kept (always the
    first and the last).

    Example:
        >>> median, curve = km_survival(np.array([1.0, 2.0, 3.0]), np.array([2.5]))
        >>> median, curve["survival"]  # 4 at risk: 3/4 after 1 s, 1/2 after 2 s, 0 after 3 s
        (2.0, [1.0, 0.75, 0.5, 0.0])
    """
    data = stats.CensoredData(uncensored=events, right=censored) if censored.size else \
        stats.CensoredData(uncensored=events)
    sf = stats.ecdf(data).sf
    t, s = np.asarray(sf.quantiles, dtype=np.float64), np.asarray(sf.probabilities, dtype=np.float64)
    below = np.flatnonzero(s <= 0.5)
    median = float(t[below[0]]) if below.size else None
    steps = np.flatnonzero(np.diff(np.concatenate([[1.0], s])) != 0)
    keep = np.unique(np.concatenate([steps, [len(t) - 1]])) if len(t) else steps
    t, s = np.concatenate([[0.0], t[keep]]), np.concatenate([[1.0], s[keep]])
    if t[1:2].size and t[1] == 0.0:  # a step at 0 (abandonments at 0 s): the curve starts there
        t, s = t[1:], s[1:]
    if len(t) > points:
        pick = np.unique(np.linspace(0, len(t) - 1, points).round().astype(np.int64))
        t, s = t[pick], s[pick]
    return median, {"t_s": t.tolist(), "survival": s.tolist()}


def fit_censored(events: np.ndarray, censored: np.ndarray, resolution: float | None = TIME_RESOLUTION) -> dict:
    """Maximum-likelihood fits of every family of :data:`PATIENCE_FAMILIES` to right-censored data.

    ``events``: observed durations (> 0); ``censored``: durations known only to be longer
    (> 0). Returns ``{family: {"params", "mean_s", "mean_se_s", "loglik", "aic", "n_params",
    "at_bound"}}`` (see :func:`patience`).

    For speed, durations are rounded to a relative ``resolution`` (:data:`TIME_RESOLUTION`,
    0.1%: far finer than an export's whole seconds above 1 s) and equal ones merged (a value
    with its count), so a year's 450,000 calls fit as fast as a few thousand: the likelihood
    is evaluated on a few thousand distinct values. Rounding is to the nearest point of a
    logarithmic grid, so it moves no estimate by more than a small fraction of the
    resolution (tests compare with ``resolution=None``: exact ties only). The exponential's
    closed form uses the exact sums.

    Example:
        >>> fits = fit_censored(np.array([10.0, 20.0]), np.array([30.0, 60.0]))
        >>> fits["exponential"]["mean_s"], round(fits["exponential"]["mean_se_s"], 3)  # 120 s / 2
        (60.0, 42.426)
    """
    total = float(events.sum() + censored.sum())
    d = events.size
    scale = total / d  # the exponential's mean: every fit works in these units (values near 1)
    (ev, ev_n), (ce, ce_n) = _merge(events / scale, resolution), _merge(censored / scale, resolution)
    data = _Censored(np.exp(ev), ev_n, ev, np.exp(ce), ce_n, ce)
    log_scale_events = d * math.log(scale)  # densities in 1/s: log f(t s) = log f_scaled(t) - log scale

    fits = {"exponential": {
        "params": {"mean_s": scale}, "mean_s": scale, "mean_se_s": scale / math.sqrt(d),
        "loglik": -d * math.log(scale) - d, "aic": 2.0 * (d * math.log(scale) + d) + 2.0, "n_params": 1,
        "at_bound": False}}
    for family in PATIENCE_FAMILIES[1:]:
        low, high = SPREAD_BOUNDS[family]
        bounds = [(-12.0, 12.0), (math.log(low), math.log(high))]

        def nll(x, family=family):
            return -_loglik(family, x[0], x[1], data) / d  # per event: values near 1 for the optimiser

        result = optimize.minimize(nll, x0=np.array([0.0, 0.0]), method="L-BFGS-B", bounds=bounds)
        x = result.x
        at_bound = bool(np.any(np.isclose(x, [b[0] for b in bounds], atol=1e-6)
                               | np.isclose(x, [b[1] for b in bounds], atol=1e-6)))
        loglik = _loglik(family, x[0], x[1], data) - log_scale_events
        mean = float(math.exp(x[0]) * scale)
        spread_name = "shape" if family == "weibull" else "cv"
        fits[family] = {
            "params": {"mean_s": mean, spread_name: float(math.exp(x[1]))}, "mean_s": mean,
            "mean_se_s": _mean_se(family, x, data, mean), "loglik": float(loglik),
            "aic": float(-2.0 * loglik + 4.0), "n_params": 2, "at_bound": at_bound}
    return fits


def _merge(values: np.ndarray, resolution: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(distinct log values, their counts as floats), after rounding log values to multiples
    of ``resolution`` (None: no rounding)."""
    logs = np.log(values)
    if resolution is None:
        distinct, counts = np.unique(logs, return_counts=True)
        return distinct, counts.astype(np.float64)
    keys, counts = np.unique(np.rint(logs / resolution).astype(np.int64), return_counts=True)
    return keys * resolution, counts.astype(np.float64)


@dataclass(frozen=True)
class _Censored:
    """Distinct event and censored times (scaled) with their counts and logs."""

    events: np.ndarray
    event_n: np.ndarray
    log_events: np.ndarray
    censored: np.ndarray
    censored_n: np.ndarray
    log_censored: np.ndarray


def _loglik(family: str, log_mean: float, log_spread: float, data: _Censored) -> float:
    """Censored log-likelihood of ``family`` with mean exp(log_mean) and shape/cv exp(log_spread)."""
    log_f, log_s = _log_density_survival(family, log_mean, log_spread, data)
    # einsum, not @: a BLAS dot product waits for its threads on a busy machine (ms, not µs)
    value = float(np.einsum("i,i", data.event_n, log_f) + np.einsum("i,i", data.censored_n, log_s))
    return value if math.isfinite(value) else -1e300


def _log_density_survival(family: str, log_mean: float, log_spread: float, data: _Censored):
    """log f at the events and log S at the censored times (both arrays)."""
    spread = math.exp(log_spread)
    if family == "weibull":
        k = spread
        log_lam = log_mean - math.lgamma(1.0 + 1.0 / k)
        ze, zc = k * (data.log_events - log_lam), k * (data.log_censored - log_lam)
        with np.errstate(over="ignore"):
            log_f = math.log(k) - data.log_events + ze - np.exp(ze)
            log_s = -np.exp(zc)
        return log_f, log_s
    if family == "lognormal":
        s2 = math.log1p(spread * spread)
        sigma, mu = math.sqrt(s2), log_mean - 0.5 * s2
        ze, zc = (data.log_events - mu) / sigma, (data.log_censored - mu) / sigma
        log_f = -data.log_events - math.log(sigma) - 0.5 * math.log(2 * math.pi) - 0.5 * ze * ze
        return log_f, special.log_ndtr(-zc)
    if family == "gamma":
        a = 1.0 / (spread * spread)
        log_theta = log_mean - math.log(a)
        theta = math.exp(log_theta)
        log_f = (a - 1.0) * data.log_events - data.events / theta - a * log_theta - math.lgamma(a)
        x = data.censored / theta
        q = special.gammaincc(a, x)
        with np.errstate(divide="ignore"):
            log_s = np.log(q)
        tiny = q < 1e-300  # far in the tail: the leading term of Q(a, x) for large x
        if tiny.any():
            log_s[tiny] = (a - 1.0) * np.log(x[tiny]) - x[tiny] - math.lgamma(a)
        return log_f, log_s
    raise ValueError(f"unknown family {family!r}")


def _mean_se(family: str, x: np.ndarray, data: _Censored, mean: float) -> float | None:
    """Standard error of the fitted mean: the observed information (a central-difference
    Hessian of the log-likelihood in log mean and log spread), inverted; the mean's entry by
    the delta method. None where the Hessian is not positive definite (an optimum at a bound)."""
    h = 1e-3

    def ll(a: float, b: float) -> float:
        return _loglik(family, a, b, data)

    f0 = ll(x[0], x[1])
    hess = np.empty((2, 2))
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        hess[i, i] = -(ll(*(x + e)) - 2 * f0 + ll(*(x - e))) / (h * h)
    e0, e1 = np.array([h, 0.0]), np.array([0.0, h])
    hess[0, 1] = hess[1, 0] = -(ll(*(x + e0 + e1)) - ll(*(x + e0 - e1)) - ll(*(x - e0 + e1))
                                + ll(*(x - e0 - e1))) / (4 * h * h)
    if not (np.all(np.isfinite(hess)) and hess[0, 0] > 0 and np.linalg.det(hess) > 0):
        return None
    var_log_mean = float(np.linalg.inv(hess)[0, 0])
    return float(mean * math.sqrt(var_log_mean)) if var_log_mean > 0 else None


# ----------------------------------------------------------------- handling
def handling(calls_of_line: pd.DataFrame, bins: int = HANDLE_BINS) -> dict:
    """Handle time (talk + wrap-up) of one line's answered calls.

    A fit must keep the mean: the handling load is calls x mean handle, and a maximum-
    likelihood lognormal can miss the mean of real handle times by 20% (issue 12), which a
    back-test then shows as a queue that was not there. The scenario therefore uses the
    empirical distribution (:func:`empirical_values_min`), which keeps the mean exactly and
    every quantile to within a 1/``bins`` step; the best parametric fit is reported beside
    it, with its error on the mean, to show against the histogram.

    Returns a dict:

    - ``n``: answered calls with a handle time; ``mean_s``: their mean (None when there are
      none, and then ``fit``, ``parametric`` and ``hist`` are None too).
    - ``fit``: ``{"family": "empirical", "params": {"bins": bins}}``, the scenario's family;
      ``empirical_values_min``: its ``bins`` values, in minutes.
    - ``parametric``: the lognormal or gamma maximum-likelihood fit with the larger likelihood
      (both have two parameters, so this is also the smaller AIC), ``{"family", "params":
      {mean_s, cv}, "mean_s", "mean_error", "loglik", "aic"}``, ``mean_error`` = (fit mean -
      data mean) / data mean; ``candidates``: both. Lognormal: mu, sigma = mean and standard
      deviation of log handle times (closed form). Gamma: shape a solves
      log a - digamma(a) = log(mean) - mean(log) (Choi & Wette, Technometrics 11(4), 1969),
      scale = mean / a, so its mean is the data's. Zero handle times have no logarithm and
      are left out of these two fits (counted in ``n_zero``), not of the mean.
    - ``hist``: ``{"edges_s", "counts", "beyond"}``: :data:`HIST_BINS` equal bars over 0 ..
      the :data:`HIST_TOP_PERCENTILE` th percentile; ``beyond`` counts the longer ones.
    """
    answered = calls_of_line["outcome"].to_numpy() == "answered"
    x = calls_of_line["handle_s"].to_numpy(dtype=np.float64)[answered]
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"n": 0, "mean_s": None, "fit": None, "empirical_values_min": None, "parametric": None,
                "candidates": {}, "n_zero": 0, "hist": None}
    mean = float(x.mean())
    positive = x[x > 0]
    candidates = _fit_positive(positive, mean) if positive.size >= 2 and np.ptp(positive) > 0 else {}
    best = max(candidates, key=lambda f: candidates[f]["loglik"]) if candidates else None
    top = float(np.percentile(x, HIST_TOP_PERCENTILE))
    top = top if top > 0 else max(float(x.max()), 1.0)
    counts, edges = np.histogram(x, bins=HIST_BINS, range=(0.0, top))
    return {
        "n": int(x.size),
        "mean_s": mean,
        "fit": {"family": "empirical", "params": {"bins": int(bins)}},
        "empirical_values_min": empirical_values_min(x, bins),
        "parametric": {"family": best, **candidates[best]} if best else None,
        "candidates": candidates,
        "n_zero": int(x.size - positive.size),
        "hist": {"edges_s": edges.tolist(), "counts": counts.astype(int).tolist(), "beyond": int(np.sum(x > top))},
    }


def empirical_values_min(values_s, bins: int = HANDLE_BINS) -> list[float]:
    """``bins`` values, in minutes, whose equal-weight distribution keeps the data's mean exactly.

    The sorted data are cut into ``bins`` groups of equal count and each group is replaced
    by its mean. When the count does not divide, a value on a boundary is shared between
    the two groups in proportion (each group is exactly n / bins values' worth), so the
    groups' average is the data's mean up to rounding: the means of the ``bins`` equal-
    probability slices of the empirical quantile function. It is a quantile-preserving
    compression of the empirical distribution, with which the simulator samples (each value
    with probability 1 / bins).

    Example:
        >>> empirical_values_min([60.0, 120.0, 180.0], bins=2)  # [60, half of 120] and [half of 120, 180]
        [1.3333333333333333, 2.6666666666666665]
    """
    x = np.sort(np.asarray(values_s, dtype=np.float64))
    n = x.size
    if n == 0:
        raise ValueError("no values to summarise")
    cumulative = np.concatenate([[0.0], np.cumsum(x)])
    cuts = n * np.arange(bins + 1) / bins  # positions in the sorted data, fractional
    whole = np.minimum(np.floor(cuts).astype(np.int64), n - 1)
    # the sum of the first ``cut`` values, a fractional value counted in part
    partial = cumulative[whole] + (cuts - whole) * x[whole]
    return (np.diff(partial) * bins / n / 60.0).tolist()


def _fit_positive(x: np.ndarray, data_mean: float) -> dict:
    """Lognormal and gamma maximum-likelihood fits to positive values (see :func:`handling`)."""
    n = x.size
    logs = np.log(x)
    sum_log, mean_log = float(logs.sum()), float(logs.mean())
    sigma = float(logs.std())
    ln_mean, ln_cv = math.exp(mean_log + 0.5 * sigma * sigma), math.sqrt(math.expm1(sigma * sigma))
    ln_ll = -sum_log - n * math.log(sigma) - 0.5 * n * math.log(2 * math.pi) - 0.5 * n

    m = float(x.mean())
    s = math.log(m) - mean_log  # > 0 unless every value is equal (refused by the caller)
    a = optimize.brentq(lambda a: math.log(a) - special.digamma(a) - s, 1e-8, 1e10, xtol=1e-14, rtol=1e-14)
    theta = m / a
    g_ll = (a - 1.0) * sum_log - n * m / theta - n * a * math.log(theta) - n * math.lgamma(a)

    def entry(mean: float, cv: float, loglik: float) -> dict:
        return {"params": {"mean_s": float(mean), "cv": float(cv)}, "mean_s": float(mean),
                "mean_error": float((mean - data_mean) / data_mean), "loglik": float(loglik),
                "aic": float(-2.0 * loglik + 4.0)}

    return {"lognormal": entry(ln_mean, ln_cv, ln_ll), "gamma": entry(m, 1.0 / math.sqrt(a), g_ll)}


# ----------------------------------------------------------------- curves for the page
def _frozen(fit: dict):
    """The scipy.stats distribution of a fit ``{"family", "params"}`` (params in seconds)."""
    family, p = fit["family"], fit["params"]
    if family == "exponential":
        return stats.expon(scale=p["mean_s"])
    if family == "weibull":
        k = p["shape"]
        return stats.weibull_min(k, scale=p["mean_s"] / math.gamma(1.0 + 1.0 / k))
    if family == "lognormal":
        s2 = math.log1p(p["cv"] ** 2)
        return stats.lognorm(math.sqrt(s2), scale=math.exp(math.log(p["mean_s"]) - 0.5 * s2))
    if family == "gamma":
        a = 1.0 / p["cv"] ** 2
        return stats.gamma(a, scale=p["mean_s"] / a)
    raise ValueError(f"no curve for family {family!r}")


def fitted_survival(fit: dict, t_s) -> np.ndarray:
    """Share of callers still waiting after ``t_s`` seconds under a fit ``{"family", "params"}``
    (as in :func:`patience`); all ones for ``none``.

    Example:
        >>> fitted_survival({"family": "exponential", "params": {"mean_s": 60.0}}, [0.0, 60.0]).round(4).tolist()
        [1.0, 0.3679]
    """
    t = np.asarray(t_s, dtype=np.float64)
    if fit["family"] == "none":
        return np.ones_like(t)
    return _frozen(fit).sf(t)


def fitted_pdf(fit: dict, t_s) -> np.ndarray:
    """Density (per second) at ``t_s`` of a parametric fit ``{"family", "params"}``: the curve
    over a histogram of counts is ``n x bar width x density``.

    Example:
        >>> float(fitted_pdf({"family": "gamma", "params": {"mean_s": 60.0, "cv": 1.0}}, [0.0])[0])  # exponential
        0.016666666666666666
    """
    return _frozen(fit).pdf(np.asarray(t_s, dtype=np.float64))
