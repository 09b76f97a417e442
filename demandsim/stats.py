"""Confidence intervals that respect how simulation output is correlated.

Calls a few minutes apart see the same queue, so treating them as independent
understates the error. Batch means split the measured period into long batches
(a day by default), whose means are nearly independent, and take the standard
error across batches.

Across independent replications of a run (different seeds), :func:`t_interval`
gives the Student-t confidence interval of the mean.

Example:
    >>> import numpy as np
    >>> est = batch_estimate(np.array([1.0, 2, 3, 4]), np.array([10.0, 10, 10, 10]))
    >>> round(est.value, 3), round(est.se, 4)
    (0.25, 0.0645)
    >>> ci = t_interval([0.90, 0.92, 0.94])
    >>> round(ci.mean, 3), round(ci.low, 4), round(ci.high, 4), ci.n
    (0.92, 0.8703, 0.9697, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demandsim.model.calendar import DAY


@dataclass(frozen=True)
class Estimate:
    """A ratio estimate over batches, with its standard error and batch count."""

    value: float
    se: float
    batches: int

    def within(self, truth: float, z: float) -> bool:
        """True if ``truth`` lies within ``z`` standard errors of the estimate."""
        return abs(self.value - truth) <= z * self.se

    def __str__(self) -> str:
        return f"{self.value:.5g} ± {self.se:.2g} (SE over {self.batches} batches)"


def batch_estimate(numerators: np.ndarray, denominators: np.ndarray) -> Estimate:
    """Ratio sum(num)/sum(den), with the batch-means standard error of the batch ratios."""
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    keep = den > 0
    num, den = num[keep], den[keep]
    n = len(num)
    if n < 2:
        raise ValueError("need at least two non-empty batches for a standard error")
    ratios = num / den
    value = num.sum() / den.sum()
    # weight batches by size, as the ratio estimator does
    w = den / den.mean()
    se = math.sqrt(np.sum((w * (ratios - value)) ** 2) / (n * (n - 1)))
    return Estimate(float(value), float(se), n)


def batched(frame: pd.DataFrame, time_column: str, start: float, end: float,
            numerator: pd.Series, denominator: pd.Series, batch_s: float = DAY) -> Estimate:
    """Ratio of ``numerator`` to ``denominator`` over rows with ``start <= time < end``, in batches."""
    t = frame[time_column].to_numpy()
    keep = (t >= start) & (t < end)
    batch = ((t[keep] - start) // batch_s).astype(np.int64)
    n_batches = int(math.ceil((end - start) / batch_s))
    num = np.bincount(batch, weights=numerator.to_numpy(dtype=float)[keep], minlength=n_batches)
    den = np.bincount(batch, weights=denominator.to_numpy(dtype=float)[keep], minlength=n_batches)
    return batch_estimate(num, den)


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
