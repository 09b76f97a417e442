"""The sweep in the main process: plan, skip finished runs, launch the rest, write the tables."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from demandsim.outputs import is_complete_run
from demandsim.sweep.batches import check_runs_per_job, choose_runs_per_job, make_batches, workers_of
from demandsim.sweep.compose import PointComposer
from demandsim.sweep.failures import FAILURES, record_failures
from demandsim.sweep.folders import clean_leftovers, write_job_configs, write_manifest
from demandsim.sweep.layout import SCRATCH_DIR
from demandsim.sweep.plan import expand_arguments, plan_runs
from demandsim.sweep.progress import SweepProgress
from demandsim.sweep.tables import sweep_digest, write_tables

#: the engine a sweep uses unless run.engine is given: the compiled one, proven equal to
#: the reference engine (tests/test_engines_equal.py)
SWEEP_ENGINE = "fast"


def run_sweep(sweeper, arguments: list[str]):
    """What ``DemandsimSweeper.sweep`` does: plan, skip finished runs, launch the rest, aggregate."""
    from omegaconf import read_write

    from demandsim import config as config_pkg

    config_pkg.setup()
    FAILURES.clear()
    config, context, launcher = sweeper.config, sweeper.hydra_context, sweeper.launcher
    from demandsim.runner import check_replications

    check_replications(config)  # before expanding them: a huge number would take forever to plan
    replications = config.run.replications
    check_runs_per_job(getattr(sweeper, "runs_per_job", None))
    params = [f"{k}={v}" for k, v in (sweeper.params or {}).items()]
    if config_pkg.override_value("run.engine", params + list(arguments)) is None:
        params.append(f"run.engine={SWEEP_ENGINE}")  # identical results, many times faster
    _, swept, jobs = expand_arguments(params + list(arguments), replications, context.config_loader)
    started = time.perf_counter()
    composer = PointComposer(lambda o: context.config_loader.load_sweep_config(config, o), context.config_loader)
    configs: dict = {}
    planned = plan_runs(jobs, swept, composer, configs)
    sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
    # fixed here, once: a worker (another process, another machine's working directory)
    # would otherwise resolve ${now:...} and relative paths for itself
    with read_write(config.hydra.sweep):
        config.hydra.sweep.dir = str(sweep_dir)
    existed = sweep_dir.exists()
    sweep_dir.mkdir(parents=True, exist_ok=True)
    clean_leftovers(sweep_dir)

    todo, seen = [], set()
    for run in planned:
        if run.run_id not in seen and not is_complete_run(sweep_dir / run.folder):
            todo.append(run)
        seen.add(run.run_id)
    per_job = choose_runs_per_job(getattr(sweeper, "runs_per_job", None), len(todo),
                                  workers_of(config.hydra.get("launcher")))
    batches = make_batches(todo, per_job)
    write_job_configs(sweep_dir, batches, configs)
    write_manifest(sweep_dir, params + list(arguments), swept, replications, planned, str(config.scenario_name))
    points = len({r.point for r in planned})
    already = len({r.run_id for r in planned}) - len(todo)
    print(f"demandsim: sweep of {len(planned)} runs ({points} point{'s' * (points != 1)} x {replications} "
          f"replication{'s' * (replications != 1)}) in {sweep_dir}"
          + (f"; {already} already done, skipped" if already else ""), flush=True)

    results = []
    if batches:
        with SweepProgress(sweep_dir, todo, show=bool(config.run.progress)):
            batch_size = sweeper.max_batch_size or len(batches)
            for start in range(0, len(batches), batch_size):
                launch = batches[start:start + batch_size]
                results += launcher.launch([b[0].overrides for b in launch], initial_job_idx=start)
    for batch, ret in zip(batches, results):
        record_failures(batch, ret)
    shutil.rmtree(sweep_dir / SCRATCH_DIR, ignore_errors=True)

    agg = write_tables(sweep_dir)
    if agg.runs.empty and not existed:  # nothing ran: leave nothing behind
        shutil.rmtree(sweep_dir, ignore_errors=True)
    else:
        print(sweep_digest(agg, time.perf_counter() - started, sweep_dir), flush=True)
    return [results]
