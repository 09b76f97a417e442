"""Confidence intervals that respect how simulation output is correlated.

Calls a few minutes apart see the same queue, so treating them as independent
understates the error. Batch means split the measured period into long batches
(a day by default), whose means are nearly independent, and take the standard
error across batches.

Example:
    >>> import numpy as np
    >>> est = batch_estimate(np.array([1.0, 2, 3, 4]), np.array([10.0, 10, 10, 10]))
    >>> round(est.value, 3), round(est.se, 4)
    (0.25, 0.0645)
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
