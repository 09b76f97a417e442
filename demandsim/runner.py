"""One run, start to finish: config -> plan -> engine -> records -> KPIs.

Example:
    >>> from demandsim.config import load_config
    >>> cfg = load_config(["scenario=validation/erlang_a", "run.days=1", "run.warmup_days=0"])
    >>> result = simulate(cfg, progress=False)
    >>> result.kpis["calls_101_offered"], result.kpis["sl_999_10s"] is not None
    (0, True)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from demandsim.config.schema import Config
from demandsim.engines import get_engine
from demandsim.errors import INT_MAX, ConfigError
from demandsim.kpis import area_kpis, kpis_and_counts, measured_kpis
from demandsim.model.plan import ModelParts, available_memory, build_plan, readable_bytes
from demandsim.records import RunRecords
from demandsim.window import check_window


#: memory a replication takes before any runs, in a run's list of replications and a sweep's
#: plan (its config, run id and overrides: about 1 KB measured; the rest is margin)
BYTES_PER_REPLICATION = 4096


@dataclass
class RunResult:
    """The records of one run and what was computed from them."""

    config: Config
    model: ModelParts
    records: RunRecords
    kpis: dict
    counts: dict
    timings: dict = field(default_factory=dict)
    #: the attendance KPIs per area (demandsim.kpis.area_kpis), None with one area
    by_area: dict | None = None
    #: summary.json's ``window`` block: {"hours", "days", "kpis"} over window.hours and
    #: window.days (demandsim.window), None when no window is set
    window: dict | None = None


def check_replications(cfg: Config) -> None:
    """Refuse replication settings the runner cannot use (one line naming the key)."""
    run = cfg.run
    if isinstance(run.replications, bool) or not isinstance(run.replications, int) or run.replications < 1:
        raise ConfigError("run.replications", run.replications, "must be >= 1")
    if isinstance(run.replication, bool) or not isinstance(run.replication, int) or run.replication < 0:
        raise ConfigError("run.replication", run.replication, "must be >= 0")
    limit = available_memory()
    if limit is not None and run.replications * BYTES_PER_REPLICATION > limit:  # each is planned before any runs
        raise ConfigError("run.replications", run.replications, f"planning them needs about "
                          f"{readable_bytes(run.replications * BYTES_PER_REPLICATION)} of memory, more than the "
                          f"{readable_bytes(limit)} available")
    if isinstance(run.seed, int) and run.seed + max(run.replication, run.replications - 1) > INT_MAX:
        raise ConfigError("run.seed", run.seed, f"too large: run.seed + replication must be at most {INT_MAX} "
                          "(seeds are stored as 64-bit whole numbers)")


def effective_seed(cfg: Config) -> int:
    """The seed a run draws with: ``run.seed + run.replication``.

    Replication 0 is the single run; replication r of every point of a sweep uses
    the same seed, so points compare like with like (common random numbers).
    """
    return cfg.run.seed + cfg.run.replication


def simulate(cfg: Config, progress: bool | None = None, on_progress: Callable[[float], None] | None = None,
             reuse_draws: bool = False) -> RunResult:
    """Run ``cfg`` once (replication ``cfg.run.replication``).

    ``progress`` None follows ``cfg.run.progress``; ``on_progress(days)`` is called
    with the simulated days done as the run goes (e.g. to report to a sweep).
    ``result.config`` is ``cfg`` as given; the draws use :func:`effective_seed`.
    ``reuse_draws``: draw the whole table once for several runs of one seed
    (:func:`demandsim.model.plan.build_plan`; a sweep's worker), at the cost of its memory.
    """
    check_replications(cfg)
    window = check_window(cfg)
    show = cfg.run.progress if progress is None else progress
    engine = get_engine(cfg.run.engine)
    started = time.perf_counter()
    seeded = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, seed=effective_seed(cfg), replication=0))
    plan = build_plan(seeded, base_dir=Path(seeded.paths.data_dir), reuse_draws=reuse_draws)
    drawn = time.perf_counter()
    bar = _progress_bar(cfg, show)

    def report(days: float) -> None:
        if bar:
            bar.update(days - bar.n)
        if on_progress:
            on_progress(days)

    try:
        records = engine.run(plan, progress=report if (bar or on_progress) else None)
    finally:
        if bar:
            bar.close()
    ran = time.perf_counter()
    kpis, counts = kpis_and_counts(records, plan.model)
    by_area = area_kpis(records.incidents, plan.model)
    in_window = None
    if window is not None:  # the same KPI functions over the window's rows (demandsim.kpis.measured_kpis)
        in_window = {**window.block(),
                     "kpis": measured_kpis(records, plan.model.warmup_s, plan.model.horizon_s, window)[0]}
    counts["calls_simulated"] = int(len(records.calls))
    timings = {"draw_s": drawn - started, "engine_s": ran - drawn, "kpis_s": time.perf_counter() - ran}
    return RunResult(cfg, plan.model, records, kpis, counts, timings, by_area, in_window)


def _progress_bar(cfg: Config, show: bool):
    if not show:
        return None
    from tqdm import tqdm

    # disable=None: drawn only when stderr is a terminal, silent in CI and pipes
    return tqdm(total=float(cfg.run.days), unit="day", desc=f"{cfg.scenario_name} (simulated days)",
                disable=None, leave=False, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} [{elapsed}<{remaining}]")
