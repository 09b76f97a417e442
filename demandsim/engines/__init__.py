"""Engines schedule and queue; they take a RunPlan and return RunRecords.

Every engine follows one tie rule: events at the same instant happen in the
order they were scheduled, and within one event the call moves on before the
freed staff member takes the next piece of work.

Example:
    >>> get_engine("simpy").name
    'simpy'
"""

from __future__ import annotations

from demandsim.allocator import keep_freed_memory
from demandsim.errors import ConfigError

ENGINES = ("simpy", "fast")


def get_engine(name: str):
    """The engine called ``name`` (``run.engine``).

    Loading an engine also lets this process keep the memory a run frees for the
    next run (:func:`demandsim.allocator.keep_freed_memory`).
    """
    keep_freed_memory()
    if name == "simpy":
        from demandsim.engines.simpy_engine import SimpyEngine

        return SimpyEngine()
    if name == "fast":
        from demandsim.engines.fast_engine import FastEngine

        return FastEngine()
    raise ConfigError("run.engine", name, f"unknown engine; available: {', '.join(ENGINES)}")
