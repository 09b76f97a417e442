"""Confidence intervals over independent replications of a run.

Across independent replications of a run (different seeds), :func:`t_interval`
gives the Student-t confidence interval of the mean; sweeps and the report use it.
A KPI that is a share (:data:`demandsim.kpis.SHARE_KPIS`) gets :func:`share_interval`
instead, which stays within 0..1; :func:`interval_for` picks one by the KPI's name.
:func:`paired_interval` is the interval of the mean of per-seed differences between
two settings run with the same seeds (common random numbers). (How a single run of a
validation scenario is judged against theory is in :mod:`demandsim.validation`.)

Example:
    >>> ci = t_interval([0.90, 0.92, 0.94])
    >>> round(ci.mean, 3), round(ci.low, 4), round(ci.high, 4), ci.n
    (0.92, 0.8703, 0.9697, 3)
    >>> ci = share_interval([0.0, 0.0, 0.012])  # the t interval would start below 0
    >>> round(ci.mean, 3), ci.low > 0, round(ci.high, 3), ci.n
    (0.004, True, 0.232, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` independent replications with its Student-t confidence interval.

    With one replication (or none) the interval is undefined: ``low``, ``high``,
    ``sd`` and ``half_width`` are NaN.
    """

    mean: float
    low: float
    high: float
    sd: float
    n: int
    level: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def above(self, goal: float) -> bool:
        """The whole interval lies at or above ``goal`` (met with this confidence)."""
        return not math.isnan(self.low) and self.low >= goal

    def below(self, limit: float) -> bool:
        """The whole interval lies at or below ``limit``."""
        return not math.isnan(self.high) and self.high <= limit


def t_interval(values, level: float = 0.95) -> Interval:
    """Student-t interval of the mean of replication results; missing values are left out."""
    # scipy.special's inverse t distribution is what scipy.stats.t.ppf calls (same values),
    # without importing scipy.stats (a second at the end of every sweep and report)
    from scipy.special import stdtrit

    x = np.asarray([v for v in np.asarray(values, dtype=float) if not math.isnan(v)])
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0, level)
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, math.nan, n, level)
    sd = float(x.std(ddof=1))
    half = float(stdtrit(n - 1, 0.5 + level / 2.0)) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, sd, n, level)


def share_interval(values, level: float = 0.95) -> Interval:
    """Interval of the mean of replication shares (values in 0..1) that stays within 0..1: a logit interval.

    Why this one. The replications are the independent observations of a sweep: the calls
    or incidents of one run are not (a busy hour fails many calls together), so an interval
    over calls (Wilson's) would be far too narrow, and the KPI tables do not hold every
    share's denominator anyway. The interval is therefore built from the replications, as
    the t interval is, but on the log-odds scale, where a share has no edge: the mean ``m``
    of the replications' shares (the same point estimate as :func:`t_interval`, so tables,
    charts and paired differences agree), its standard error ``s/sqrt(n)`` carried to the
    logit scale by the delta method (divided by ``m(1-m)``), the Student-t quantile there,
    and the ends mapped back with the logistic function. Away from 0 and 1 it matches the
    t interval to first order; near an edge it is lopsided the way a share's uncertainty
    is (it cannot go below 0, and may reach further up). All replications equal (``s`` = 0,
    or a mean of exactly 0 or 1, which needs every value there) give the point itself.
    With fewer than 2 replications it is undefined (NaN), as the t interval.

    >>> ci = share_interval([0.5, 0.5, 0.5])
    >>> (ci.low, ci.high)
    (0.5, 0.5)
    >>> ci = share_interval([0.90, 0.92, 0.94]); round(ci.low, 4), round(ci.high, 4)  # t: 0.8703, 0.9697
    (0.8541, 0.9576)
    """
    t = t_interval(values, level)
    if t.n < 2 or math.isnan(t.sd):
        return t
    m = t.mean
    if t.sd == 0.0 or m <= 0.0 or m >= 1.0:
        return Interval(m, m, m, t.sd, t.n, level)
    half_logit = t.half_width / (m * (1.0 - m))  # t * s / sqrt(n), carried to the logit scale
    centre = math.log(m / (1.0 - m))
    return Interval(m, _logistic(centre - half_logit), _logistic(centre + half_logit), t.sd, t.n, level)


def _logistic(x: float) -> float:
    """1 / (1 + e^-x), without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def interval_for(kpi: str, values, level: float = 0.95) -> Interval:
    """:func:`share_interval` for a share KPI (:data:`demandsim.kpis.SHARE_KPIS`), else :func:`t_interval`.

    >>> interval_for("calls_999_offered", [10, 12]).low < 0 < interval_for("sl_999_10s", [0.1, 0.9]).low
    True
    """
    from demandsim.kpis import SHARE_KPIS

    # a KPI over a window (``window.<kpi>``, demandsim.sweep.tables) is a share if its KPI is
    return share_interval(values, level) if kpi.rsplit(".", 1)[-1] in SHARE_KPIS else t_interval(values, level)


def paired_interval(values, baseline, level: float = 0.95) -> Interval:
    """Mean of the differences ``values[i] - baseline[i]`` (the same seed at two settings) and its t interval.

    Under common random numbers the two runs of a pair share their calls and draws, so
    their difference varies far less than either run: the interval of the mean difference
    is much narrower than two separate intervals would suggest. A difference of shares is
    not bounded to 0..1, and is close to normal, so the plain t interval is used. Pairs
    with a missing value on either side are left out (``n`` counts the pairs used).

    >>> ci = paired_interval([0.93, 0.95, 0.91], [0.90, 0.93, 0.88])
    >>> round(ci.mean, 4), round(ci.low, 4), round(ci.high, 4), ci.n
    (0.0267, 0.0123, 0.041, 3)
    """
    a = np.asarray(values, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need as many baseline values ({len(a)} and {len(b)})")
    return t_interval(a - b, level)
