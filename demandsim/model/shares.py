"""Shares that must add up to one (routing, grade mix), and picking from them.

A category is picked by comparing one uniform with the cumulative shares, so a
call's category depends only on its own draw.

Example:
    >>> cum = cumulative_shares({"a": 0.25, "b": 0.75}, "x")
    >>> int(pick(cum, 0.2)), int(pick(cum, 0.3))
    (0, 1)
"""

from __future__ import annotations

import math

import numpy as np

from demandsim.errors import ConfigError

TOLERANCE = 1e-6


def cumulative_shares(shares: dict, key: str) -> np.ndarray:
    """Check shares (>= 0, sum 1) and return their running total."""
    for name, value in shares.items():
        if value is None or not math.isfinite(value) or value < 0:
            raise ConfigError(f"{key}.{name}", value, "share must be a number >= 0")
    total = sum(shares.values())
    if abs(total - 1.0) > TOLERANCE:
        listed = "+".join(f"{name} {value:g}" for name, value in shares.items())
        raise ConfigError(key, f"{listed} = {total:g}", "shares must sum to 1")
    cum = np.cumsum(list(shares.values()))
    cum[-1] = 1.0  # so that u < 1 always lands in a category
    return cum


def pick(cumulative: np.ndarray, u):
    """Index of the category for uniform(s) ``u``."""
    return np.searchsorted(cumulative, u, side="right")
