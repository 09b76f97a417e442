"""Each distribution kind: the right mean and spread, monotone in its uniform, clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from demandsim.config.schema import Dist
from demandsim.errors import ConfigError
from demandsim.model.distributions import Duration

N = 200_000
U = np.random.default_rng(5).random(N)


def sample(dist: Dist, base_dir=None) -> np.ndarray:
    return Duration.from_config(dist, "x", base_dir).minutes(U)


@pytest.mark.parametrize(
    "dist, mean, cv",
    [
        (Dist("exponential", mean=3.0), 3.0, 1.0),
        (Dist("lognormal", mean=4.0, cv=0.5), 4.0, 0.5),
        (Dist("gamma", mean=2.0, cv=0.7), 2.0, 0.7),
        # Weibull cv = sqrt(G(1+2/k) / G(1+1/k)^2 - 1): shape 1 is the exponential, 2 has cv 0.5227
        (Dist("weibull", mean=3.0, shape=1.0), 3.0, 1.0),
        (Dist("weibull", mean=3.0, shape=2.0), 3.0, math.sqrt(math.gamma(2.0) / math.gamma(1.5) ** 2 - 1)),
        (Dist("uniform", low=1.0, high=3.0), 2.0, (2 / math.sqrt(12)) / 2.0),
        (Dist("deterministic", value=1.5), 1.5, 0.0),
    ],
)
def test_mean_and_cv(dist, mean, cv):
    x = sample(dist)
    # sample mean within 5 standard errors of the true mean (SE = cv * mean / sqrt(N))
    assert abs(x.mean() - mean) <= 5 * cv * mean / math.sqrt(N) + 1e-12
    assert x.std() / x.mean() == pytest.approx(cv, abs=0.02)
    assert Duration.from_config(dist, "x").mean == pytest.approx(mean)


@pytest.mark.parametrize("dist", [Dist("exponential", mean=3.0), Dist("lognormal", mean=4.0, cv=0.5),
                                  Dist("gamma", mean=2.0, cv=0.7), Dist("weibull", mean=2.0, shape=0.6),
                                  Dist("empirical", values=[3.0, 1.0, 2.0])])
def test_inverse_transform_is_monotone(dist):
    """A larger uniform never gives a shorter time: the basis of fair scenario comparisons."""
    order = np.argsort(U)
    assert np.all(np.diff(sample(dist)[order]) >= 0)


def test_empirical_from_values_and_csv(tmp_path):
    values = [1.0, 2.0, 4.0, 8.0]
    x = sample(Dist("empirical", values=values))
    assert set(np.unique(x)) == set(values)
    assert x.mean() == pytest.approx(np.mean(values), rel=0.02)
    (tmp_path / "times.csv").write_text("call,talk_min\na,1\nb,2\nc,4\nd,8\n")
    y = sample(Dist("empirical", csv="times.csv", column="talk_min"), base_dir=tmp_path)
    np.testing.assert_array_equal(np.sort(np.unique(y)), values)


def test_none_is_infinite_patience():
    assert np.all(np.isinf(sample(Dist("none"))))


@pytest.mark.parametrize(
    "dist, key, value",
    [
        (Dist("erlang"), "x.kind", "erlang"),
        (Dist("weibull", mean=2.0), "x.shape", "null"),
        (Dist("weibull", mean=2.0, shape=0.001), "x.shape", "0.001"),
        (Dist("exponential"), "x.mean", "null"),
        (Dist("lognormal", mean=2.0, cv=-1.0), "x.cv", "-1.0"),
        (Dist("gamma", mean=0.0, cv=1.0), "x.mean", "0.0"),
        (Dist("uniform", low=3.0, high=1.0), "x.high", "1.0"),
        (Dist("empirical", values=[]), "x.values", "[]"),
        (Dist("empirical", values=[1.0, -2.0]), "x.values", "-2.0"),
        (Dist("empirical", csv="missing.csv", column="a"), "x.csv", "missing.csv"),
    ],
)
def test_bad_distribution_names_key_and_value(dist, key, value, tmp_path):
    with pytest.raises(ConfigError) as err:
        Duration.from_config(dist, "x", tmp_path)
    assert str(err.value).startswith(f"{key}={value}")


def test_csv_column_must_exist(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match=r"x.column=c: not a column of t.csv"):
        Duration.from_config(Dist("empirical", csv="t.csv", column="c"), "x", tmp_path)
