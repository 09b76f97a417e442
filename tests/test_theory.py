"""Tests for demandsim.theory: published worked examples plus independent checks.

Published sources (found in stored copies of public pages; cited per test):
* erlang.com calculator manual, "How much traffic can a trunk group handle?"
  https://erlang.com/calculatormanual/howmuchtrafficcanatrunkgrouphandle.htm
* CRAN package ErlangC 0.1.0 README (https://stat.ethz.ch/CRAN/web/packages/
  ErlangC/readme/README.html) and pyworkforce 0.1.0 on PyPI
  (https://pypi.org/project/pyworkforce/0.1.0/): the same Erlang C example.
* Telefonica Erlang C calculator help page
  http://personal.telefonica.terra.es/web/vr/erlang/eng/mcerlc.htm
* pyworkforce "Erlang A (abandonment)" guide
  https://pyworkforce.rodrigo-arenas.com/stable/guide/erlanga
* Stevenson, "Operations Management" (McGraw-Hill), ch. 18 "Management of
  Waiting Lines": 14th ed. Example 8 (https://fliphtml5.com/cviyu/vkrs/OPERAT%7E1/835/)
  and the 12th-ed. solution manual, problem 16
  (https://www.coursepaper.com/solution-manual/978-0078024108-chapter-18-part-4/).

No published Erlang A table with enough digits was available, so Erlang A is
also checked against (a) Erlang C as theta -> 0, (b) an independent ODE
computation of the tagged caller's fate (c = 1 and an overloaded c = 30 case),
(c) Little's law on abandoning callers, (d) a fixed-seed Monte-Carlo
simulation with batch-means error bars, and the Mandelbaum-Zeltyn closed form.
"""

from __future__ import annotations

import doctest
import heapq
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq
from scipy.special import gammainc, gammaln

from demandsim import theory
from demandsim.theory import (
    QueueMetrics,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    mmc_priority_mean_wait,
    mmc_priority_waits,
)


def test_docstring_examples():
    result = doctest.testmod(theory)
    assert result.attempted >= 7 and result.failed == 0


# --------------------------------------------------------------------- Erlang B


def test_erlang_b_published_erlang_com():
    # erlang.com calculator manual: "15 lines ... one call in one hundred will be
    # blocked ... the figure 8.108 will be displayed in the B.H.T. edit box"
    # (the maximum offered load, in Erlangs, at 1% blocking).
    load = brentq(lambda a: erlang_b(15, a) - 0.01, 1.0, 15.0, xtol=1e-12)
    assert round(load, 3) == 8.108


@pytest.mark.parametrize("servers, load", [(1, 1.0), (5, 2.0), (10, 5.0), (14, 10.0), (30, 30.0)])
def test_erlang_b_matches_direct_sum(servers, load):
    # Independent textbook form (a^c / c!) / sum_k a^k / k!, safe for small c.
    terms = [load**k / math.factorial(k) for k in range(servers + 1)]
    assert erlang_b(servers, load) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)


def test_erlang_b_large_and_edge_cases():
    assert erlang_b(0, 3.0) == 1.0  # no trunks: everything blocked
    assert erlang_b(5, 0.0) == 0.0
    values = [erlang_b(c, 400.0) for c in (100, 200, 300, 400)]  # 2x overload at c=200
    assert all(0.0 < v < 1.0 for v in values)
    assert values == sorted(values, reverse=True)
    # Heavy overload: B -> 1 - c/a (carried load saturates the servers).
    assert erlang_b(200, 400.0) == pytest.approx(0.5, abs=0.01)


# --------------------------------------------------------------------- Erlang C


def test_erlang_c_published_cran_and_pyworkforce():
    # CRAN ErlangC README: erlang_c(100 calls / 30 min, AHT 180 s, target 20 s,
    # 14 agents) -> wait_probability 0.1741319, service_level 0.88835,
    # average_speed_of_answer "7.83593701177724s"; with 11 agents
    # wait_probability 0.6821182, service_level 0.3896138.
    # pyworkforce 0.1.0 (PyPI) prints the same case at full double precision:
    # 'service_level': 0.8883500191794669, 'waiting_probability': 0.1741319335950498.
    lam = 100 / 1800  # calls per second
    m14 = erlang_c_metrics(14, lam, 180.0, 20.0)
    assert round(m14.p_wait, 7) == 0.1741319
    assert round(m14.service_level, 5) == 0.88835
    assert m14.asa == pytest.approx(7.83593701177724, rel=1e-12)
    assert m14.p_wait == pytest.approx(0.1741319335950498, rel=1e-12)
    assert m14.service_level == pytest.approx(0.8883500191794669, rel=1e-12)
    m11 = erlang_c_metrics(11, lam, 180.0, 20.0)
    assert round(m11.p_wait, 7) == 0.6821182
    assert round(m11.service_level, 7) == 0.3896138


def test_erlang_c_published_telefonica():
    # Telefonica calculator help: 600 calls/hour of 120 s = 20 Erlangs; for a
    # 15% delay-probability target 26 circuits are needed, with an average delay
    # of "3 seconds per call"; with 30 circuits "delay is reduced to 2.5%";
    # 30 circuits at 15% delay "could attend a traffic of 23.6 erlangs".
    assert erlang_c(25, 20.0) > 0.15 >= erlang_c(26, 20.0)
    assert round(erlang_c_metrics(26, 600 / 3600, 120.0, 0.0).asa) == 3
    assert round(100 * erlang_c(30, 20.0), 1) == 2.5
    load = brentq(lambda a: erlang_c(30, a) - 0.15, 1.0, 29.9, xtol=1e-12)
    assert round(load, 1) == 23.6


def test_erlang_c_unstable_raises_with_load_and_servers():
    with pytest.raises(ValueError, match=r"48.*45"):
        erlang_c(45, 48.0)
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(10, 10.0)  # load == servers is unstable too
    with pytest.raises(ValueError, match="unstable"):
        erlang_c_metrics(30, 9.0, 4.0, 1 / 6)


def test_erlang_c_metrics_consistency():
    m = erlang_c_metrics(55, 12.0, 4.0, 0.25)
    assert isinstance(m, QueueMetrics) and m.p_abandon == 0.0
    assert m.asa == m.mean_wait_all == pytest.approx(m.p_wait / (55 / 4 - 12), rel=1e-14)
    assert erlang_c_metrics(55, 12.0, 4.0, 0.0).service_level == pytest.approx(1 - m.p_wait)
    # Robust for large c and heavy (but stable) load.
    big = erlang_c_metrics(200, 49.5, 4.0, 0.25)
    assert 0.0 < big.p_wait < 1.0 and math.isfinite(big.asa)


# --------------------------------------------------------------------- Erlang A
# Independent reference computations used below.


def _stationary(c, lam, mu, theta, max_queue):
    """M/M/c+M stationary distribution by plain products (no log space)."""
    p = [1.0]
    for n in range(1, c + max_queue + 1):
        p.append(p[-1] * lam / (min(n, c) * mu + max(n - c, 0) * theta))
    p = np.array(p)
    assert p[-1] / p.sum() < 1e-16  # the fixed truncation is harmless
    return p / p.sum()


def _tagged_caller_ode(c, lam, h, patience, t, max_queue=120):
    """Fate of an arriving caller from the ODEs of its absorbing Markov chain.

    State: probability the caller is still waiting with j callers ahead, plus
    accumulators for "answered" mass, "answered by time t" (read at t) and
    E[W; answered].  Integrated with an implicit solver to a long horizon.
    Independent of theory.py's Laplace-transform / tilting / expm formulas.
    """
    mu, theta = 1.0 / h, 1.0 / patience
    p = _stationary(c, lam, mu, theta, max_queue)
    ahead = np.arange(max_queue + 1)
    drain = c * mu + ahead * theta  # queue ahead shrinks at c mu + j theta

    def rhs(s, y):
        x = y[:-2]
        dx = -(drain + theta) * x
        dx[:-1] += drain[1:] * x[1:]
        answer_rate = c * mu * x[0]
        return np.concatenate((dx, [answer_rate, s * answer_rate]))

    y0 = np.concatenate((p[c:], [0.0, 0.0]))
    horizon = 80.0 * (patience + h)
    sol = solve_ivp(rhs, (0.0, horizon), y0, method="Radau", t_eval=[t, horizon],
                    rtol=1e-11, atol=1e-14)
    answered_by_t, answered = sol.y[-2]
    wait_answered = sol.y[-1][-1]
    p_answered = p[:c].sum() + answered
    return {
        "p_wait": p[c:].sum(),
        "p_abandon": 1.0 - p_answered,
        "service_level": p[:c].sum() + answered_by_t,
        "asa": wait_answered / p_answered,
        "mean_queue": float(ahead @ p[c:]),
    }


def _mandelbaum_zeltyn(c, lam, h, patience):
    """Closed forms for Erlang A (Mandelbaum & Zeltyn, "The Palm/Erlang-A Queue,
    with Applications to Call Centers", 2005, sec. 4):
    A(x, y) = x e^y y^-x gamma(x, y), x = c mu / theta, y = lambda / theta,
    P(W>0) = E_B A / (1 + (A - 1) E_B),  P(Ab | W>0) = 1/(rho A) + 1 - 1/rho."""
    mu, theta = 1.0 / h, 1.0 / patience
    x, y, rho = c * mu / theta, lam / theta, lam / (c * mu)
    a_xy = math.exp(math.log(x) + y - x * math.log(y) + gammaln(x) + math.log(gammainc(x, y)))
    e_b = erlang_b(c, lam * h)
    p_wait = e_b * a_xy / (1 + (a_xy - 1) * e_b)
    return p_wait, p_wait * (1 / (rho * a_xy) + 1 - 1 / rho)


ERLANG_A_CASES = [
    # (servers, arrivals/min, handle min, patience min, t min)
    (30, 7.0, 4.0, 2.0, 1 / 6),  # the brief's reference case
    (30, 9.0, 4.0, 2.0, 1 / 6),  # overloaded: 36 Erlangs on 30 servers
    (1, 0.8, 1.0, 2.0, 0.5),
    (1, 1.5, 1.0, 0.5, 0.25),  # single server, 1.5x overloaded
    (200, 100.0, 4.0, 2.0, 1 / 6),  # 400 Erlangs on 200 servers
]


def test_erlang_a_published_pyworkforce_guide():
    # pyworkforce Erlang A guide: ErlangA(transactions=100, aht=3, asa=20/60,
    # interval=30, patience=5) -> 'raw_positions': 13, 'service_level': 0.858...,
    # 'occupancy': 0.750..., 'abandonment_probability': 0.025...,
    # 'waiting_probability': 0.226..., 'average_speed_of_answer': 0.125...
    # (3 decimals shown; their ASA averages over all arrivals = our mean_wait_all,
    # our answered-only asa is 0.115).  Minutes throughout.
    m = erlang_a_metrics(13, 100 / 30, 3.0, 5.0, 20 / 60)
    assert round(m.service_level, 3) == 0.858
    assert round(m.p_abandon, 3) == 0.025
    assert round(m.p_wait, 3) == 0.226
    assert round(m.mean_wait_all, 3) == 0.125
    assert round(100 / 30 * (1 - m.p_abandon) * 3.0 / 13, 3) == 0.750


@pytest.mark.parametrize("case", ERLANG_A_CASES)
def test_erlang_a_closed_form(case):
    c, lam, h, patience, t = case
    m = erlang_a_metrics(c, lam, h, patience, t)
    p_wait, p_abandon = _mandelbaum_zeltyn(c, lam, h, patience)
    assert m.p_wait == pytest.approx(p_wait, rel=1e-10)
    assert m.p_abandon == pytest.approx(p_abandon, rel=1e-10)


@pytest.mark.parametrize("case", ERLANG_A_CASES)
def test_erlang_a_little_law_on_abandonment(case):
    # Little's law on callers who abandon: theta E[Q] = lambda P(ab), and on the
    # queue as a whole: E[Q] = lambda * mean wait over all arrivals.
    c, lam, h, patience, t = case
    m = erlang_a_metrics(c, lam, h, patience, t)
    p = _stationary(c, lam, 1 / h, 1 / patience, max_queue=600)
    mean_queue = float(np.arange(p.size - c) @ p[c:])
    assert m.p_abandon == pytest.approx(mean_queue / patience / lam, rel=1e-10)
    assert m.mean_wait_all == pytest.approx(mean_queue / lam, rel=1e-10)


@pytest.mark.parametrize("case", [ERLANG_A_CASES[i] for i in (2, 3, 0, 1)])
def test_erlang_a_matches_independent_ode(case):
    # c = 1 (stable and overloaded) and c = 30 (normal and overloaded).
    c, lam, h, patience, t = case
    m = erlang_a_metrics(c, lam, h, patience, t)
    ref = _tagged_caller_ode(c, lam, h, patience, t)
    for field in ("p_wait", "p_abandon", "service_level", "asa"):
        assert getattr(m, field) == pytest.approx(ref[field], rel=1e-9), field


def test_erlang_a_tends_to_erlang_c():
    c_metrics = erlang_c_metrics(55, 12.0, 4.0, 0.25)
    assert erlang_a_metrics(55, 12.0, 4.0, None, 0.25) == c_metrics
    assert erlang_a_metrics(55, 12.0, 4.0, math.inf, 0.25) == c_metrics
    nearly = erlang_a_metrics(55, 12.0, 4.0, 1e8, 0.25)  # theta = 1e-8 / min
    assert nearly.p_abandon < 1e-8
    for field in ("p_wait", "service_level", "asa", "mean_wait_all"):
        assert getattr(nearly, field) == pytest.approx(getattr(c_metrics, field), rel=1e-6)


def _simulate_fcfs_abandonment(c, lam, h, patience, t, n_calls, seed, batches=20):
    """Fixed-seed simulation of FCFS M/M/c+M by offered (virtual) waits.

    With FCFS, a caller's offered wait depends only on earlier *answered*
    callers, so a heap of server-free times suffices.  Returns batch means and
    their standard errors (batch means absorb the autocorrelation of waits).
    """
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / lam, n_calls))
    services = rng.exponential(h, n_calls)
    patiences = rng.exponential(patience, n_calls)
    free = [0.0] * c
    stats = np.zeros((n_calls, 5))  # waited, abandoned, answered<=t, wait if answered, wait
    for i in range(n_calls):
        a = arrivals[i]
        earliest_free = heapq.heappop(free)
        offered = max(0.0, earliest_free - a)
        if offered > patiences[i]:
            heapq.heappush(free, earliest_free)  # caller left; server untouched
            stats[i] = (1.0, 1.0, 0.0, 0.0, patiences[i])
        else:
            heapq.heappush(free, a + offered + services[i])
            stats[i] = (offered > 0, 0.0, offered <= t, offered, offered)
    stats = stats[n_calls // 20:]  # warm-up
    batch = stats[: len(stats) // batches * batches].reshape(batches, -1, 5)
    means = batch.mean(axis=1)
    # asa = E[wait; answered] / P(answered), taken per batch
    per_batch = np.column_stack((means[:, :3], means[:, 3] / (1 - means[:, 1]), means[:, 4]))
    return per_batch.mean(axis=0), per_batch.std(axis=0, ddof=1) / math.sqrt(batches)


def test_erlang_a_monte_carlo():
    # 5 servers, 6 calls/min of 1 min (1.2x overloaded), patience 0.5 min,
    # t = 0.1 min; 200k calls, 20 batches.  Tolerance: 4.5 batch-means standard
    # errors (t-distribution with 19 d.o.f.: two-sided p ~ 2e-4 per check).
    c, lam, h, patience, t = 5, 6.0, 1.0, 0.5, 0.1
    est, se = _simulate_fcfs_abandonment(c, lam, h, patience, t, 200_000, seed=20240611)
    m = erlang_a_metrics(c, lam, h, patience, t)
    exact = [m.p_wait, m.p_abandon, m.service_level, m.asa, m.mean_wait_all]
    names = ("p_wait", "p_abandon", "service_level", "asa", "mean_wait_all")
    for name, e, s, x in zip(names, est, se, exact):
        assert abs(e - x) < 4.5 * s, (name, e, s, x)


def test_erlang_a_monotonicity_and_bounds():
    base = dict(servers=30, mean_handle=4.0, mean_patience=2.0)
    sl = [erlang_a_metrics(arrival_rate=7.0, answer_within=t, **base).service_level
          for t in (1.0, 0.5, 1 / 6, 0.05, 0.0)]
    assert all(a > b for a, b in zip(sl, sl[1:]))  # SL falls as t shrinks
    ab = [erlang_a_metrics(arrival_rate=lam, answer_within=1 / 6, **base).p_abandon
          for lam in (5.0, 7.0, 7.5, 9.0, 12.0, 15.0)]
    assert all(a < b for a, b in zip(ab, ab[1:]))  # abandonment grows with load
    impatient = [erlang_a_metrics(30, 9.0, 4.0, pat, 1 / 6).p_abandon for pat in (0.5, 2.0, 8.0)]
    assert impatient == sorted(impatient, reverse=True)
    m = erlang_a_metrics(30, 9.0, 4.0, 2.0, 1 / 6)
    assert m.service_level <= 1 - m.p_abandon and m.service_level <= 1
    at_zero = erlang_a_metrics(30, 9.0, 4.0, 2.0, 0.0)
    assert at_zero.service_level == pytest.approx(1 - at_zero.p_wait, rel=1e-12)
    assert 0 < m.asa and 0 < m.mean_wait_all < 2.0  # can't wait longer than patience on average


def test_erlang_a_rejects_bad_input():
    with pytest.raises(ValueError, match="mean_patience"):
        erlang_a_metrics(30, 7.0, 4.0, 0.0, 1 / 6)
    with pytest.raises(ValueError, match="servers"):
        erlang_a_metrics(0, 7.0, 4.0, 2.0, 1 / 6)
    with pytest.raises(ValueError, match="answer_within"):
        erlang_a_metrics(30, 7.0, 4.0, 2.0, -1.0)


# ------------------------------------------------------------ priority M/M/c


def test_priority_published_stevenson_solution_manual():
    # Stevenson, Operations Management 12e solution manual, ch. 18 problem 16:
    # four classes arriving 2, 4, 3, 2 per hour, five servers (each 4 per hour;
    # the rate that reproduces all eight published 4-decimal figures).
    # Published Wq: class 1 0.0099 h, class 2 0.0142, class 3 0.0232, class 4
    # 0.0361; Lq class 2 0.0567, class 3 0.0696.  Part c moves one class-2
    # arrival per hour to class 3: Wq2 0.0132, Wq3 0.0217, Lq2 0.0397, Lq3 0.0867.
    w = mmc_priority_waits(5, [2.0, 4.0, 3.0, 2.0], 0.25)
    assert [round(x, 4) for x in w] == [0.0099, 0.0142, 0.0232, 0.0361]
    assert round(4 * w[1], 4) == 0.0567 and round(3 * w[2], 4) == 0.0696
    w = mmc_priority_waits(5, [2.0, 3.0, 4.0, 2.0], 0.25)
    assert [round(x, 4) for x in w] == [0.0099, 0.0132, 0.0217, 0.0361]
    assert round(3 * w[1], 4) == 0.0397 and round(4 * w[2], 4) == 0.0867


def test_priority_published_stevenson_example_8():
    # Stevenson 14e, Example 8/9 (tool-repair shop): M = 6 servers, mu = 1 per
    # hour, lambda_3 = 1.0, total lambda = 5.0 (Example 9), and "a waiting time
    # of .147 hour for tools in the first class"; that figure pins lambda_1 = 2.
    assert round(mmc_priority_waits(6, [2.0, 2.0, 1.0], 1.0)[0], 3) == 0.147


@pytest.mark.parametrize(
    "servers, rates, service",
    [(6, [2.0, 2.0, 1.0], 1.0), (5, [2.0, 4.0, 3.0, 2.0], 0.25), (30, [1.0, 3.0, 3.0], 4.0),
     (200, [10.0, 20.0, 19.0], 4.0), (1, [0.3, 0.0, 0.5], 1.0)],
)
def test_priority_conservation_law(servers, rates, service):
    # Load-weighted mean of class waits equals the FCFS Erlang C mean wait.
    fcfs = erlang_c_metrics(servers, sum(rates), service, 0.0).asa
    assert mmc_priority_mean_wait(servers, rates, service) == pytest.approx(fcfs, rel=1e-12)
    waits = mmc_priority_waits(servers, rates, service)
    loads = [r * service for r in rates]
    assert np.dot(loads, waits) / sum(loads) == pytest.approx(fcfs, rel=1e-12)
    assert waits == sorted(waits)  # lower priority never waits less


def test_priority_single_class_is_erlang_c_and_unstable_raises():
    single = mmc_priority_waits(14, [100 / 1800], 180.0)[0]
    assert single == pytest.approx(7.83593701177724, rel=1e-12)  # CRAN ErlangC ASA
    with pytest.raises(ValueError, match="unstable"):
        mmc_priority_waits(5, [10.0, 10.0, 1.0], 0.25)  # 5.25 Erlangs on 5 servers
    with pytest.raises(ValueError):
        mmc_priority_waits(5, [], 0.25)
