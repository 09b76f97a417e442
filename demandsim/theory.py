"""Exact queueing formulas that the control-room simulator is validated against.

All rates and times are in whatever time unit the caller uses consistently
(e.g. arrivals per minute with handle times in minutes).  Everything is
numerically robust for a few hundred servers and for heavy overload: no
factorials are formed, only stable recurrences and log-space products.

Models
------
* Erlang B  (M/M/c/c loss system)              -> :func:`erlang_b`
* Erlang C  (M/M/c delay system)               -> :func:`erlang_c`, :func:`erlang_c_metrics`
* Erlang A  (M/M/c+M, exponential patience)     -> :func:`erlang_a_metrics`
* M/M/c with non-preemptive priority classes   -> :func:`mmc_priority_waits`,
  :func:`mmc_priority_mean_wait`
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from scipy.sparse import diags
from scipy.sparse.linalg import expm_multiply

__all__ = [
    "QueueMetrics",
    "erlang_b",
    "erlang_c",
    "erlang_c_metrics",
    "erlang_a_metrics",
    "mmc_priority_waits",
    "mmc_priority_mean_wait",
]

# Erlang A: the birth-death chain is truncated at the first state N beyond
# which the (geometrically bounded) stationary tail mass is below this
# fraction of the mass already accumulated.
_TAIL_TOL = 1e-15
# Hard cap on the number of *waiting* positions considered by Erlang A.  It
# is only reached when patience is extremely long compared with the overload
# (queue ~ (lambda - c*mu) / theta), where the model is effectively unstable.
_MAX_QUEUE = 20_000


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state performance of a multi-server queue, per arriving call.

    Attributes:
        p_wait: P(an arrival is not answered at once), i.e. finds all servers busy.
        p_abandon: P(an arrival hangs up before being answered).
        service_level: P(an arrival is answered AND waits <= ``answer_within``).
            Abandoned callers stay in the denominator.
        asa: mean wait of answered calls (zero waits included).
        mean_wait_all: mean time in queue over all arrivals; abandoned callers
            count until they leave.
        answer_within: the service-level threshold t that was used.

    >>> m = QueueMetrics(0.2, 0.0, 0.9, 0.1, 0.1, 0.5)
    >>> m.service_level
    0.9
    """

    p_wait: float
    p_abandon: float
    service_level: float
    asa: float
    mean_wait_all: float
    answer_within: float


def _check_servers(servers: int) -> int:
    if isinstance(servers, bool) or int(servers) != servers or servers < 1:
        raise ValueError(f"servers must be a positive integer, got {servers!r}")
    return int(servers)


def _check_positive(name: str, value: float) -> float:
    if not value > 0:  # also rejects NaN
        raise ValueError(f"{name} must be positive, got {value!r}")
    return float(value)


def _check_non_negative(name: str, value: float) -> float:
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return float(value)


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B blocking probability of an M/M/c/c loss system.

    Args:
        servers: number of servers (trunks) c >= 0.
        offered_load: offered traffic a = lambda * mean holding time, in Erlangs.

    >>> round(erlang_b(15, 8.108), 4)
    0.01
    """
    if isinstance(servers, bool) or int(servers) != servers or servers < 0:
        raise ValueError(f"servers must be a non-negative integer, got {servers!r}")
    a = _check_non_negative("offered_load", offered_load)
    # Standard stable recurrence B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))
    # (Jagerman, "Some properties of the Erlang loss function", Bell Syst. Tech.
    # J. 53, 1974; Wikipedia "Erlang (unit)", Erlang B formula).  Every term
    # lies in [0, 1], so nothing overflows.
    b = 1.0
    for k in range(1, int(servers) + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: probability that an arrival has to wait in an M/M/c queue.

    Raises ``ValueError`` if ``offered_load >= servers`` (the queue is unstable).

    >>> round(erlang_c(14, 10.0), 7)
    0.1741319
    """
    c = _check_servers(servers)
    a = _check_non_negative("offered_load", offered_load)
    if a >= c:
        raise ValueError(
            f"M/M/c queue is unstable: offered load {a:g} Erlangs >= {c} servers "
            "(Erlang C needs offered_load < servers)"
        )
    # C = c B / (c - a (1 - B)) with B = Erlang B: the classical relation between
    # the two Erlang formulas (Wikipedia "Erlang (unit)", Erlang C formula).
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def erlang_c_metrics(
    servers: int, arrival_rate: float, mean_handle: float, answer_within: float
) -> QueueMetrics:
    """Exact M/M/c (Erlang C) metrics; nobody abandons.

    Args:
        servers: number of call-takers c.
        arrival_rate: lambda, calls per time unit.
        mean_handle: mean handling time 1/mu, same time unit.
        answer_within: service-level threshold t, same time unit.

    >>> m = erlang_c_metrics(14, 100 / 1800, 180.0, 20.0)   # seconds
    >>> round(m.service_level, 5), round(m.asa, 4)
    (0.88835, 7.8359)
    """
    c = _check_servers(servers)
    lam = _check_positive("arrival_rate", arrival_rate)
    h = _check_positive("mean_handle", mean_handle)
    t = _check_non_negative("answer_within", answer_within)
    p_wait = erlang_c(c, lam * h)
    drain = c / h - lam  # c*mu - lambda > 0
    # Waiting time: P(W > t) = C exp(-(c mu - lambda) t), E[W] = C / (c mu - lambda)
    # (Gross & Harris, "Fundamentals of Queueing Theory", 3rd ed., sec. 2.3).
    mean_wait = p_wait / drain
    return QueueMetrics(
        p_wait=p_wait,
        p_abandon=0.0,
        service_level=1.0 - p_wait * math.exp(-drain * t),
        asa=mean_wait,
        mean_wait_all=mean_wait,
        answer_within=t,
    )


def _erlang_a_distribution(c: int, lam: float, mu: float, theta: float) -> np.ndarray:
    """Stationary P(n in system), n = 0..N, of the M/M/c+M birth-death chain.

    Birth rate lambda, death rate min(n, c) mu + max(n - c, 0) theta
    (Mandelbaum & Zeltyn, "The Palm/Erlang-A Queue, with Applications to Call
    Centers", 2005, sec. 3).  Built in log space; truncated at the first N >= c
    whose ratio r = lambda / death(N+1) < 1 and whose geometric tail bound
    p_N r / (1 - r) is below _TAIL_TOL of the mass so far (the ratios decrease
    beyond c, so the bound is rigorous).
    """
    log_p = [0.0]
    log_total = 0.0
    n = 0
    while True:
        ratio = lam / (min(n + 1, c) * mu + max(n + 1 - c, 0) * theta)
        if n >= c and ratio < 1.0:
            log_tail = log_p[-1] + math.log(ratio / (1.0 - ratio))
            if log_tail < math.log(_TAIL_TOL) + log_total:
                break
        if n - c >= _MAX_QUEUE:
            raise ValueError(
                f"Erlang A queue exceeds {_MAX_QUEUE} waiting callers: patience "
                f"1/theta = {1 / theta:g} is too long for arrival rate {lam:g} "
                f"and {c} servers (use erlang_c_metrics if the load is stable)"
            )
        n += 1
        log_p.append(log_p[-1] + math.log(ratio))
        log_total = float(np.logaddexp(log_total, log_p[-1]))
    log_p_arr = np.asarray(log_p)
    return np.exp(log_p_arr - log_total)


def _pure_death_absorption(rates: np.ndarray, t: float) -> np.ndarray:
    """P(absorbed in 0 by time t | start in m), m = 1..len(rates).

    Pure-death chain m -> m-1 at rate rates[m-1]; the absorption time from m is
    hypoexponential with rates rates[0..m-1].  One sparse matrix-exponential
    action (Al-Mohy & Higham 2011, scipy ``expm_multiply``) gives all starting
    states at once and, unlike partial-fraction formulas, is stable when the
    rates are many and close together.
    """
    q = np.concatenate(([0.0], rates))  # state 0 is absorbing
    generator = diags([-q, rates], [0, -1], format="csc")
    target = np.zeros(q.size)
    target[0] = 1.0
    # u(t) = exp(Q t) 1_{0}:  u_m = P(X_t = 0 | X_0 = m)
    u = expm_multiply(generator * t, target)
    return np.clip(u[1:], 0.0, 1.0)


def erlang_a_metrics(
    servers: int,
    arrival_rate: float,
    mean_handle: float,
    mean_patience: Optional[float],
    answer_within: float,
) -> QueueMetrics:
    """Exact M/M/c+M (Palm / Erlang A) metrics: exponential patience, FCFS.

    A caller hangs up when its patience runs out before it is answered.  The
    model is stable at any load, so overload (offered load > servers) is fine.
    ``mean_patience=None`` or ``math.inf`` gives Erlang C (:func:`erlang_c_metrics`).

    Method: the stationary birth-death distribution (truncated with relative
    tail < 1e-15) and PASTA give the number n an arrival finds.  With
    j = n - c >= 0 callers ahead, the *offered wait* V (time until a server
    would take the tagged caller) is hypoexponential with rates
    r_k = c mu + k theta, k = 0..j, and the caller is answered iff its own
    patience tau ~ Exp(theta) exceeds V.  Hence, with L_j = E[exp(-theta V)]
    = prod_k r_k / (r_k + theta):

    * P(abandon | j) = 1 - L_j
    * P(answered, wait <= t | j) = L_j * P(V' <= t), V' hypoexponential with
      rates r_k + theta (exponential tilting of the density of V)
    * E[wait; answered | j] = L_j * sum_k 1 / (r_k + theta)
    * E[min(V, tau) | j] = (1 - L_j) / theta

    >>> m = erlang_a_metrics(30, 9.0, 4.0, 2.0, 1 / 6)   # overloaded, minutes
    >>> 0 < m.p_abandon < 1 and 0 < m.service_level < 1
    True
    """
    if mean_patience is None or mean_patience == math.inf:
        return erlang_c_metrics(servers, arrival_rate, mean_handle, answer_within)
    c = _check_servers(servers)
    lam = _check_positive("arrival_rate", arrival_rate)
    h = _check_positive("mean_handle", mean_handle)
    theta = 1.0 / _check_positive("mean_patience", mean_patience)
    t = _check_non_negative("answer_within", answer_within)
    mu = 1.0 / h

    p = _erlang_a_distribution(c, lam, mu, theta)
    p_queue = p[c:]  # arrival finds j = 0, 1, ... callers waiting (PASTA)
    # Phase rates of the offered wait, r_k = c mu + k theta: with k callers
    # ahead, the next one leaves the queue by being answered (any of c busy
    # servers frees, rate c mu) or by abandoning (rate theta each).
    r = c * mu + theta * np.arange(p_queue.size)
    log_l = -np.cumsum(np.log1p(theta / r))  # log L_j
    answered_given_j = np.exp(log_l)
    abandon_given_j = -np.expm1(log_l)

    p_abandon = float(p_queue @ abandon_given_j)
    within_t = _pure_death_absorption(r + theta, t)
    service_level = min(1.0, float(p[:c].sum() + p_queue @ (answered_given_j * within_t)))
    wait_answered = float(p_queue @ (answered_given_j * np.cumsum(1.0 / (r + theta))))
    return QueueMetrics(
        p_wait=float(p_queue.sum()),
        p_abandon=p_abandon,
        service_level=service_level,
        asa=wait_answered / (1.0 - p_abandon),
        # E[min(V, tau)] = P(abandon) / theta, i.e. Little's law theta E[Q] = lambda P(ab)
        mean_wait_all=p_abandon / theta,
        answer_within=t,
    )


def mmc_priority_waits(
    servers: int, arrival_rates: Sequence[float], mean_service: float
) -> list[float]:
    """Mean queue wait per class in an M/M/c queue with non-preemptive priority.

    Classes are given in priority order (index 0 = highest); all share the same
    exponential service time and are FCFS within a class.  Raises ``ValueError``
    if the total offered load is >= ``servers``.

    >>> [round(w, 3) for w in mmc_priority_waits(6, [2.0, 2.0, 1.0], 1.0)]
    [0.147, 0.441, 1.763]
    """
    c = _check_servers(servers)
    h = _check_positive("mean_service", mean_service)
    rates = [_check_non_negative("arrival rate", x) for x in arrival_rates]
    if not rates:
        raise ValueError("arrival_rates must contain at least one class")
    capacity = c / h  # c * mu
    w0 = erlang_c(c, sum(rates) * h) / capacity
    # Cobham (1954), "Priority assignment in waiting line problems", Oper. Res. 2:
    # W_k = C(c, a) / (c mu) / ((1 - sigma_{k-1}) (1 - sigma_k)),
    # sigma_k = sum_{i <= k} lambda_i / (c mu)  (also Gross & Harris, sec. 3.4).
    waits = []
    sigma = 0.0
    for lam_k in rates:
        sigma_prev, sigma = sigma, sigma + lam_k / capacity
        waits.append(w0 / ((1.0 - sigma_prev) * (1.0 - sigma)))
    return waits


def mmc_priority_mean_wait(
    servers: int, arrival_rates: Sequence[float], mean_service: float
) -> float:
    """Arrival-weighted mean of :func:`mmc_priority_waits` over all classes.

    With a common service time this equals the load-weighted mean, and by the
    work-conservation law (Kleinrock, "Queueing Systems" vol. 2, 1976, ch. 3)
    it equals the FCFS Erlang C mean wait C(c, a) / (c mu - lambda).

    >>> round(mmc_priority_mean_wait(6, [2.0, 2.0, 1.0], 1.0), 4)
    0.5875
    """
    waits = mmc_priority_waits(servers, arrival_rates, mean_service)
    total = float(sum(arrival_rates))
    if total == 0.0:
        return 0.0
    return sum(lam_k * w for lam_k, w in zip(arrival_rates, waits)) / total
