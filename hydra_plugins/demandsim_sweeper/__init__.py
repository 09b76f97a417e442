"""demandsim's Hydra sweeper (``hydra/sweeper=demandsim``, the default in configs/hydra/default.yaml).

Hydra only instantiates plugins from the ``hydra_plugins`` package, so the class
lives here; the work is done in :func:`demandsim.sweep.run_sweep`: it adds the
replications as the innermost sweep, skips runs already finished, launches the
rest with the configured launcher and writes ``sweep.parquet`` and
``sweep_summary.parquet``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper


class DemandsimSweeper(BasicSweeper):
    """Hydra's basic sweeper (cartesian product of the swept values), plus replications."""

    def __init__(self, max_batch_size: Optional[int] = None, params: Optional[Dict[str, str]] = None,
                 runs_per_job: Optional[int] = None) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.runs_per_job = runs_per_job

    def sweep(self, arguments: List[str]) -> Any:
        from demandsim.sweep import run_sweep

        return run_sweep(self, arguments)
