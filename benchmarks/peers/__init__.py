"""Peer models the project's engines are measured against.

- :mod:`benchmarks.peers.simpy_erlang_a`: M/M/c+M, idiomatic SimPy (a process per caller);
- :mod:`benchmarks.peers.ciw_erlang_a`: the same M/M/c+M in Ciw, with reneging;
- :mod:`benchmarks.peers.simpy_idiomatic_hub`: the full demand-hub journey, idiomatic SimPy,
  reading the same :class:`~demandsim.model.plan.RunPlan` as the project's engines.

Each returns a :class:`PeerResult`: calls simulated plus the few statistics a sanity check
compares with theory (Erlang A) or with the reference engine (the hub).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PeerResult:
    """What a peer model simulated, and its basic statistics."""

    calls: int
    stats: dict = field(default_factory=dict)


def erlang_a_stats(arrive: np.ndarray, wait: np.ndarray, answered: np.ndarray, abandoned: np.ndarray,
                   warmup_s: float, horizon_s: float, within_s: float = 10.0, batches: int = 20) -> dict:
    """Abandon share, service level and their batch-means standard errors.

    Counts callers who arrived after the warm-up and whose fate is known by the horizon
    (answered or abandoned). Service level: answered within ``within_s`` over all such
    callers, abandoned ones included (as :func:`demandsim.theory.erlang_a_metrics`).
    """
    done = (arrive >= warmup_s) & (answered | abandoned)
    arrive, wait, answered, abandoned = arrive[done], wait[done], answered[done], abandoned[done]
    quick = answered & (wait <= within_s)
    out = {"n": int(done.sum()), "abandon": float(abandoned.mean()) if done.any() else float("nan"),
           "sl_10s": float(quick.mean()) if done.any() else float("nan")}
    edges = np.linspace(warmup_s, horizon_s, batches + 1)
    which = np.clip(np.searchsorted(edges, arrive, side="right") - 1, 0, batches - 1)
    counts = np.bincount(which, minlength=batches)
    if (counts > 0).all():
        ab = np.bincount(which, abandoned, minlength=batches) / counts
        sl = np.bincount(which, quick, minlength=batches) / counts
        out["abandon_se"] = float(ab.std(ddof=1) / np.sqrt(batches))
        out["sl_10s_se"] = float(sl.std(ddof=1) / np.sqrt(batches))
    return out
