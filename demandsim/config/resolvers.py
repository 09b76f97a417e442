"""Arithmetic for scenario files, so validation scenarios can state textbook
parameters (calls per minute, servers) and derive the model's keys from them.

These are the only resolvers demandsim adds; they compute numbers and nothing else.

Example (in a scenario)::

    arrivals:
      line_999:
        per_year: ${ds.mul:${validation.arrivals_per_min},525600}   # minutes in a year
"""

from __future__ import annotations

from omegaconf import OmegaConf


def _number(x):
    if x is None or isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"expected a number, got {x!r}")
    return x


def register_resolvers() -> None:
    """Register ``ds.mul``, ``ds.div``, ``ds.add`` and ``ds.kind_or_none`` (idempotent)."""
    resolvers = {
        "ds.mul": lambda a, b: _number(a) * _number(b),
        "ds.div": lambda a, b: _number(a) / _number(b),
        "ds.add": lambda *xs: sum(_number(x) for x in xs),
        # "none" when the parameter is null (e.g. no abandonment), else the given kind
        "ds.kind_or_none": lambda value, kind: "none" if value is None else kind,
    }
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
