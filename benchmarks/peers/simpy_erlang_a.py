"""Erlang A (M/M/c+M) as an idiomatic SimPy model: one process per caller.

The textbook style of the SimPy documentation's "bank renege" example: a
``simpy.Resource`` of call handlers, each caller a generator process that
requests a handler and waits ``yield req | env.timeout(patience)``; if the
request wins it holds the handler for its handling time, otherwise it hangs up
(leaving the ``with`` block cancels the request). Random numbers are drawn up
front with numpy (exponential inter-arrival, handling and patience times) and
are part of the timed work. Times are seconds.

This is the peer the project's engines are measured against on the Erlang-A
core; :func:`run` returns the number of callers simulated and the abandon share
and service level (answered within 10 s, abandoned callers in the denominator)
so that :func:`demandsim.theory.erlang_a_metrics` can check it.

Example:
    >>> r = run(servers=3, per_min=0.5, handle_min=4, patience_min=2, days=0.2, warmup_days=0, seed=1)
    >>> r.calls > 100 and 0 <= r.stats["abandon"] <= 1
    True
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from benchmarks.peers import PeerResult, erlang_a_stats

DAY = 86400.0


def caller(env: simpy.Environment, handlers: simpy.Resource, patience: float, handling: float, log: list):
    """One caller: queue for a handler, hang up when patience runs out, else talk."""
    arrive = env.now
    with handlers.request() as req:
        result = yield req | env.timeout(patience)
        if req in result:
            log.append((arrive, env.now - arrive, True))
            yield env.timeout(handling)
        else:
            log.append((arrive, env.now - arrive, False))


def source(env: simpy.Environment, handlers: simpy.Resource, arrivals, patience, handling, log: list):
    """Start a caller process at each pre-drawn arrival time."""
    for t, p, h in zip(arrivals, patience, handling):
        yield env.timeout(t - env.now)
        env.process(caller(env, handlers, p, h, log))


def run(servers: int = 30, per_min: float = 7.0, handle_min: float = 4.0, patience_min: float = 2.0,
        days: float = 20.0, warmup_days: float = 1.0, seed: int = 1) -> PeerResult:
    """Simulate ``days`` of M/M/c+M; ``calls`` counts callers who arrived before the horizon."""
    horizon = days * DAY
    rate = per_min / 60.0
    rng = np.random.default_rng(seed)
    expected = rate * horizon
    n = int(expected + 8 * math.sqrt(expected) + 100)  # enough inter-arrival draws to pass the horizon
    arrivals = np.cumsum(rng.exponential(1.0 / rate, n))
    arrivals = arrivals[arrivals < horizon]
    n = len(arrivals)
    handling = rng.exponential(handle_min * 60.0, n)
    patience = rng.exponential(patience_min * 60.0, n)

    env = simpy.Environment()
    handlers = simpy.Resource(env, capacity=servers)
    log: list = []
    env.process(source(env, handlers, arrivals.tolist(), patience.tolist(), handling.tolist(), log))
    env.run(until=horizon)

    arrive, wait, answered = (np.array(col) for col in zip(*log)) if log else (np.zeros(0),) * 3
    answered = answered.astype(bool)
    stats = erlang_a_stats(arrive, wait, answered, ~answered, warmup_days * DAY, horizon)
    return PeerResult(calls=n, stats=stats)
