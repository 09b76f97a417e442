"""demandsim's Hydra sweeper (``hydra/sweeper=demandsim``, the default in configs/hydra/default.yaml).

Hydra only instantiates plugins from the ``hydra_plugins`` package, so the class
lives here; the work is done in :func:`demandsim.sweep.run.run_sweep`: it adds the
replications as the innermost sweep, skips runs already finished, launches the
rest with the configured launcher and writes ``sweep.parquet`` and
``sweep_summary.parquet``.

It is built on Hydra's public plugin interface (``hydra.plugins.sweeper.Sweeper``),
as Hydra's example sweeper is, not on its basic sweeper, which is internal to Hydra:
the cartesian product of the swept values is :func:`demandsim.sweep.plan.split_jobs`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from hydra.plugins.sweeper import Sweeper


class DemandsimSweeper(Sweeper):
    """Every combination of the swept values (as Hydra's basic sweeper), plus replications.

    ``max_batch_size``: launcher jobs handed to the launcher at once (null: all);
    ``params``: swept values given in the config (``key: a,b``), before the command line's;
    ``runs_per_job``: runs one launcher job does (null: chosen per sweep).
    """

    def __init__(self, max_batch_size: Optional[int] = None, params: Optional[Dict[str, str]] = None,
                 runs_per_job: Optional[int] = None) -> None:
        self.max_batch_size = max_batch_size
        self.params = params or {}
        self.runs_per_job = runs_per_job
        self.hydra_context = self.config = self.launcher = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        """Keep Hydra's context and config, and make the launcher the config names."""
        from hydra.core.plugins import Plugins

        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        """Run the sweep the command line asks for (:func:`demandsim.sweep.run.run_sweep`)."""
        from demandsim.sweep.run import run_sweep

        return run_sweep(self, arguments)
