"""Turn a configured distribution into draws, by inverse transform.

Every random duration is the distribution's quantile function applied to a
uniform number from a purpose-specific stream. One uniform per call and
purpose means a call's draws do not depend on which distribution is chosen
or on how busy the hub is, and a larger mean moves every call's time the same
way (monotone coupling): the fairest comparison between two scenarios.

Example:
    >>> import numpy as np
    >>> from demandsim.config.schema import Dist
    >>> d = Duration.from_config(Dist("exponential", mean=2.0), "x")
    >>> float(d.minutes(np.array([0.5]))[0])  # median of Exp(mean 2)
    1.3862943611198906
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import special

from demandsim.errors import ConfigError

KINDS = ("exponential", "lognormal", "gamma", "weibull", "deterministic", "uniform", "empirical", "none")


@dataclass(frozen=True)
class Duration:
    """A validated distribution of a duration in minutes.

    Build it with :meth:`from_config`; ``minutes(u)`` maps uniforms in [0, 1)
    to durations (``inf`` for kind ``none``).
    """

    kind: str
    params: tuple

    @classmethod
    def from_config(cls, dist, key: str, base_dir: Path | None = None) -> "Duration":
        """Check ``dist`` (a :class:`~demandsim.config.schema.Dist`) and build it.

        ``key`` names the config entry in any error message.
        """
        kind = dist.kind
        if not isinstance(kind, str) or kind not in KINDS:
            raise ConfigError(f"{key}.kind", kind, f"unknown distribution; use one of {', '.join(KINDS)}")

        def need(name: str, positive: bool = False, nonneg: bool = False) -> float:
            value = getattr(dist, name)
            if value is None:
                raise ConfigError(f"{key}.{name}", None, f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} distribution "
                                  f"needs {name}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{key}.{name}", value, "must be a number")
            value = float(value)
            if not math.isfinite(value) or (positive and value <= 0) or (nonneg and value < 0):
                rule = "must be > 0" if positive else "must be >= 0"
                raise ConfigError(f"{key}.{name}", value, rule)
            return value

        if kind == "exponential":
            return cls(kind, (need("mean", positive=True),))._in_seconds(key)
        if kind in ("lognormal", "gamma"):
            mean, cv = need("mean", positive=True), need("cv", positive=True)
            # the quantile functions use cv squared (and gamma its inverse, the shape)
            if not (math.isfinite(cv * cv) and cv * cv > 0 and math.isfinite(1 / (cv * cv))):
                raise ConfigError(f"{key}.cv", cv, "out of range: cv squared must be a finite number above 0")
            if kind == "gamma" and not math.isfinite(mean * cv * cv * 60.0):  # the scale, in seconds
                raise ConfigError(f"{key}.cv", cv, f"too large for mean {mean:g}: mean x cv squared (the gamma "
                                  "scale) is beyond what a computer can count")
            return cls(kind, (mean, cv))._in_seconds(key)
        if kind == "weibull":
            mean, shape = need("mean", positive=True), need("shape", positive=True)
            # the quantile function divides by the shape and the scale uses Gamma(1 + 1/shape)
            if not math.isfinite(math.lgamma(1.0 + 1.0 / shape)) or 1.0 / shape > 100:
                raise ConfigError(f"{key}.shape", shape, "too small: use a shape of at least 0.01")
            return cls(kind, (mean, shape))._in_seconds(key)
        if kind == "deterministic":
            return cls(kind, (need("value", nonneg=True),))._in_seconds(key)
        if kind == "uniform":
            low, high = need("low", nonneg=True), need("high", nonneg=True)
            if high < low:
                raise ConfigError(f"{key}.high", high, f"must be >= low ({low})")
            return cls(kind, (low, high))._in_seconds(key)
        if kind == "empirical":
            # sorted, so the quantile function is monotone like the others
            values = sorted(_empirical_values(dist, key, base_dir))
            return cls(kind, (tuple(values),))._in_seconds(key)
        return cls(kind, ())  # none

    def _in_seconds(self, key: str) -> "Duration":
        """Refuse parameters too large to count in seconds (engines work in seconds)."""
        names = {"exponential": ("mean",), "lognormal": ("mean",), "gamma": ("mean",), "weibull": ("mean",),
                 "deterministic": ("value",),
                 "uniform": ("low", "high")}.get(self.kind, ())
        for name, value in zip(names, self.params):
            if not math.isfinite(value * 60.0):
                raise ConfigError(f"{key}.{name}", value, "too large: not a number of seconds a computer can count")
        if self.kind == "empirical" and not math.isfinite(max(self.params[0]) * 60.0):
            raise ConfigError(f"{key}.values", max(self.params[0]), "too large: not a number of seconds a computer "
                              "can count")
        return self

    @property
    def mean(self) -> float:
        """Mean duration in minutes (``inf`` for ``none``)."""
        if self.kind in ("exponential", "lognormal", "gamma", "weibull"):
            return self.params[0]
        if self.kind == "deterministic":
            return self.params[0]
        if self.kind == "uniform":
            return 0.5 * (self.params[0] + self.params[1])
        if self.kind == "empirical":
            return float(np.mean(self.params[0]))
        return math.inf

    @property
    def fixed_seconds(self) -> float | None:
        """The duration in seconds if it does not depend on the uniform (deterministic,
        ``none``), else None: such a duration needs no random number."""
        if self.kind == "deterministic":
            return self.params[0] * 60.0
        if self.kind == "none":
            return np.inf * 60.0
        return None

    def minutes(self, u: np.ndarray) -> np.ndarray:
        """Durations in minutes for uniforms ``u`` (same shape)."""
        with np.errstate(over="ignore"):  # a draw too long for a float is infinite: it never ends
            return self._minutes(np.asarray(u, dtype=np.float64))

    def _minutes(self, u: np.ndarray) -> np.ndarray:
        kind, p = self.kind, self.params
        if kind == "exponential":
            return -p[0] * np.log1p(-u)
        if kind == "lognormal":
            sigma2 = math.log1p(p[1] ** 2)
            mu = math.log(p[0]) - sigma2 / 2
            return np.exp(mu + math.sqrt(sigma2) * special.ndtri(u))
        if kind == "gamma":
            shape = 1.0 / p[1] ** 2
            return special.gammaincinv(shape, u) * (p[0] / shape)
        if kind == "weibull":
            # scale so that the mean is p[0]: mean = scale * Gamma(1 + 1/shape)
            scale = p[0] / math.exp(math.lgamma(1.0 + 1.0 / p[1]))
            return scale * (-np.log1p(-u)) ** (1.0 / p[1])
        if kind == "deterministic":
            return np.full(u.shape, p[0])
        if kind == "uniform":
            return p[0] + (p[1] - p[0]) * u
        if kind == "empirical":
            values = np.asarray(p[0])
            return values[np.minimum((u * len(values)).astype(np.int64), len(values) - 1)]
        return np.full(u.shape, np.inf)

    def seconds(self, u: np.ndarray) -> np.ndarray:
        """Durations in seconds for uniforms ``u``."""
        out = self.minutes(u)
        with np.errstate(over="ignore"):  # as in minutes(): too long for a float is infinite
            out *= 60.0  # in place: a year's column is large
        return out


def _empirical_values(dist, key: str, base_dir: Path | None) -> list[float]:
    if dist.values is not None and dist.csv is not None:
        raise ConfigError(f"{key}.csv", dist.csv, "give either values or csv, not both")
    if dist.values is not None:
        if isinstance(dist.values, str) or not hasattr(dist.values, "__iter__"):
            raise ConfigError(f"{key}.values", dist.values, "must be a list of durations")
        values = list(dist.values)
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))]
        if bad:
            raise ConfigError(f"{key}.values", bad[0], "durations must be numbers")
        values = [float(v) for v in values]
    elif dist.csv is not None:
        path = Path(dist.csv)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise ConfigError(f"{key}.csv", dist.csv, "file not found")
        if not dist.column:
            raise ConfigError(f"{key}.column", dist.column, "an empirical csv needs the column to read")
        import pandas as pd

        try:
            frame = pd.read_csv(path)
        except (ValueError, OSError) as exc:  # pandas' parser and decoding errors are ValueErrors
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"{key}.csv", dist.csv, f"cannot be read as a CSV file ({reason})") from None
        if dist.column not in frame.columns:
            raise ConfigError(f"{key}.column", dist.column, f"not a column of {path.name}: {list(frame.columns)}")
        values = pd.to_numeric(frame[dist.column], errors="coerce").dropna().tolist()
    else:
        raise ConfigError(f"{key}.values", None, "an empirical distribution needs values or csv")
    if not values:
        raise ConfigError(f"{key}.values", values, "empirical distribution has no values")
    bad = [v for v in values if not math.isfinite(v) or v < 0]
    if bad:
        raise ConfigError(f"{key}.values", bad[0], "durations must be finite and >= 0")
    return values
