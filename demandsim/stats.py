"""Confidence intervals over independent replications of a run.

Across independent replications of a run (different seeds), :func:`t_interval`
gives the Student-t confidence interval of the mean; sweeps and the report use it.
(How a single run of a validation scenario is judged against theory is in
:mod:`demandsim.validation`.)

Example:
    >>> ci = t_interval([0.90, 0.92, 0.94])
    >>> round(ci.mean, 3), round(ci.low, 4), round(ci.high, 4), ci.n
    (0.92, 0.8703, 0.9697, 3)
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
