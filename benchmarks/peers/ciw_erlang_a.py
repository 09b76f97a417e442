"""Erlang A (M/M/c+M) in Ciw, with reneging: the same model as simpy_erlang_a.

One node, ``c`` servers, exponential arrivals, service and reneging times
(``reneging_time_distributions``: a waiting customer leaves when it runs out),
simulated with ``Simulation.simulate_until_max_time`` and read back with
``get_all_records``. Ciw samples its own random numbers as it goes (seeded with
``ciw.seed``); that sampling and collecting the records are part of the timed
work. Times are seconds.

The Ciw version is pinned in the ``bench`` extra of pyproject.toml.

Example:
    >>> r = run(servers=3, per_min=0.5, handle_min=4, patience_min=2, days=0.2, warmup_days=0, seed=1)
    >>> r.calls > 100 and 0 <= r.stats["abandon"] <= 1
    True
"""

from __future__ import annotations

import ciw
import numpy as np

from benchmarks.peers import PeerResult, erlang_a_stats

DAY = 86400.0


def run(servers: int = 30, per_min: float = 7.0, handle_min: float = 4.0, patience_min: float = 2.0,
        days: float = 20.0, warmup_days: float = 1.0, seed: int = 1) -> PeerResult:
    """Simulate ``days`` of M/M/c+M; ``calls`` counts customers who arrived before the horizon."""
    horizon = days * DAY
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=per_min / 60.0)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / (handle_min * 60.0))],
        number_of_servers=[servers],
        reneging_time_distributions=[ciw.dists.Exponential(rate=1.0 / (patience_min * 60.0))],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(horizon)
    # every customer who arrived: served ("service"), reneged ("renege"), or still in the
    # system at the horizon ("incomplete": in service if it has a service start, else waiting)
    records = sim.get_all_records(only=["service", "renege"], include_incomplete=True)
    arrive = np.array([r.arrival_date for r in records], dtype=float)
    served = np.array([r.record_type == "service" or (r.record_type == "incomplete" and r.service_start_date is not None)
                       for r in records])
    reneged = np.array([r.record_type == "renege" for r in records])
    wait = np.array([np.nan if r.waiting_time is None else r.waiting_time for r in records], dtype=float)
    calls = len({r.id_number for r in records})
    stats = erlang_a_stats(arrive, wait, served, reneged, warmup_days * DAY, horizon)
    return PeerResult(calls=calls, stats=stats)
