"""When calls arrive: a non-homogeneous Poisson process per line.

The rate in each simulated hour is::

    per_year / 8760 * growth * shape[hour of week] / mean(shape) * month_factor[month]

so ``per_year`` is the volume of a year whose months all have factor 1. Arrival
times come from one exponential stream by inverting the cumulative rate (exact
for a piecewise-constant rate), so a higher rate compresses the same draws.

Example:
    >>> import numpy as np
    >>> times = arrival_times(np.full(24, 60.0), np.random.default_rng(1))
    >>> 1200 < len(times) < 1700, bool(np.all(np.diff(times) > 0))
    (True, True)
"""

from __future__ import annotations

import math

import numpy as np

from demandsim.errors import ConfigError
from demandsim.model.calendar import HOUR, Calendar


def _numbers(values, key: str, count: int, what: str) -> np.ndarray:
    """``count`` finite numbers >= 0 as floats, else ConfigError naming the list or the element."""
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise ConfigError(key, values, f"needs a list of {count} {what}")
    values = list(values)
    if len(values) != count:
        raise ConfigError(key, f"{len(values)} values", f"needs exactly {count} {what}")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"{key}[{i}]", v, "must be a finite number >= 0")
    return np.asarray(values, dtype=np.float64)


def hour_of_week_shape(weights, key: str) -> np.ndarray:
    """Check 168 non-negative weights and scale them to mean 1."""
    w = _numbers(weights, key, 168, "hour-of-week weights (Mon 00-01 first)")
    if w.max() <= 0:
        raise ConfigError(key, 0, "weights are all zero")
    with np.errstate(over="ignore"):
        overflows = not np.isfinite(w.sum())
    if overflows:  # weights so large their sum is not a number: scale them to at most 1 first
        w = w / w.max()
    return w / w.mean()


def hourly_rates(line, arrivals, calendar: Calendar, key: str) -> np.ndarray:
    """Expected calls in each simulated hour for one line."""
    for name in ("per_year", "growth"):
        value = getattr(line, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"{key}.{name}", value, "must be >= 0")
    months = _numbers(arrivals.month_factors, "arrivals.month_factors", 12, "finite factors >= 0, Jan..Dec")
    if line.hour_of_week is not None:
        shape = hour_of_week_shape(line.hour_of_week, f"{key}.hour_of_week")
    else:
        shape = hour_of_week_shape(arrivals.hour_of_week, "arrivals.hour_of_week")
    base = line.per_year / 8760.0 * line.growth
    with np.errstate(over="ignore"):  # an overflow is refused below, naming the key
        rates = base * shape[calendar.hour_of_week] * months[calendar.month - 1]
    if not (math.isfinite(base) and np.all(np.isfinite(rates))):
        # name the growth if the line's rate at growth 1 is a number, else its volume
        name = "growth" if line.growth > 1 and math.isfinite(line.per_year / 8760.0 * shape.max() * months.max()) \
            else "per_year"
        raise ConfigError(f"{key}.{name}", getattr(line, name), "too large: per_year x growth x hour-of-week weight x "
                          "month factor is beyond what a computer can count")
    return rates


def arrival_times(rates_per_hour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Arrival times in seconds for a rate that is constant within each hour."""
    cumulative = np.concatenate([[0.0], np.cumsum(rates_per_hour)])
    total = cumulative[-1]
    if total <= 0:
        return np.empty(0)
    # Unit-rate Poisson points on [0, total], drawn in chunks so the stream
    # is consumed the same way whatever the chunking.
    # (Exponential(1) draws; standard_exponential gives the same numbers as exponential(1.0),
    # faster. Arithmetic in place: a year's arrays are large.)
    points = []
    reached = 0.0
    chunk = int(total + 10 * np.sqrt(total) + 100)
    while reached <= total:
        steps = np.cumsum(rng.standard_exponential(chunk))
        steps += reached
        points.append(steps)
        reached = steps[-1]
    points = np.concatenate(points) if len(points) > 1 else points[0]
    points = points[: np.searchsorted(points, total, side="left")]  # sorted: the points < total
    # the hour of each point: the last hour whose cumulative rate is <= the point. The
    # points are sorted, so find where each hour starts among them (a search per hour,
    # not per point: the same hours, several times faster)
    starts = np.searchsorted(points, cumulative, side="left")
    hour = np.repeat(np.arange(len(rates_per_hour)), np.diff(starts))
    times = points - cumulative[hour]
    times /= rates_per_hour[hour]
    times += hour
    times *= HOUR
    return times
