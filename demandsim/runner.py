"""One run, start to finish: config -> plan -> engine -> records -> KPIs.

Example:
    >>> from demandsim.config import load_config
    >>> cfg = load_config(["scenario=validation/erlang_a", "run.days=1", "run.warmup_days=0"])
    >>> result = simulate(cfg, progress=False)
    >>> result.kpis["calls_101_offered"], result.kpis["sl_999_10s"] is not None
    (0, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from demandsim.config import PROJECT_DIR
from demandsim.config.schema import Config
from demandsim.engines import get_engine
from demandsim.kpis import compute_kpis, run_counts
from demandsim.model.plan import ModelParts, build_plan
from demandsim.records import RunRecords


@dataclass
class RunResult:
    """The records of one run and what was computed from them."""

    config: Config
    model: ModelParts
    records: RunRecords
    kpis: dict
    counts: dict
    timings: dict = field(default_factory=dict)


def simulate(cfg: Config, progress: bool | None = None) -> RunResult:
    """Run ``cfg`` once. ``progress`` None follows ``cfg.run.progress``."""
    show = cfg.run.progress if progress is None else progress
    engine = get_engine(cfg.run.engine)
    started = time.perf_counter()
    plan = build_plan(cfg, base_dir=PROJECT_DIR)
    drawn = time.perf_counter()
    bar = _progress_bar(cfg, show)
    try:
        records = engine.run(plan, progress=(lambda days: bar.update(days - bar.n)) if bar else None)
    finally:
        if bar:
            bar.close()
    ran = time.perf_counter()
    kpis = compute_kpis(records, plan.model)
    counts = run_counts(records, plan.model)
    counts["calls_simulated"] = int(len(records.calls))
    timings = {"draw_s": drawn - started, "engine_s": ran - drawn, "kpis_s": time.perf_counter() - ran}
    return RunResult(cfg, plan.model, records, kpis, counts, timings)


def _progress_bar(cfg: Config, show: bool):
    if not show:
        return None
    from tqdm import tqdm

    # disable=None: drawn only when stderr is a terminal, silent in CI and pipes
    return tqdm(total=float(cfg.run.days), unit="day", desc=f"{cfg.scenario_name} (simulated days)",
                disable=None, leave=False, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} [{elapsed}<{remaining}]")
