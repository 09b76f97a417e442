"""Sweeps with replications: ``python -m demandsim -m KEY=a,b run.replications=N``.

A sweep runs every combination of the swept values ("points"), each N times with
different seeds, skips runs already finished, and writes one table of runs and one of
means with 95% confidence intervals. One module per job:

- :mod:`~demandsim.sweep.layout`: the names of the sweep folder's files and folders;
- :mod:`~demandsim.sweep.plan`: the points, runs, seeds and run ids (``sweep.json``'s content);
- :mod:`~demandsim.sweep.compose`: each point's config, composed fast where that is safe;
- :mod:`~demandsim.sweep.batches`: which runs each launcher job does;
- :mod:`~demandsim.sweep.folders`: ``sweep.json``, each job's configs, leftovers of an interrupted sweep;
- :mod:`~demandsim.sweep.progress`: the progress bar and the workers' progress files;
- :mod:`~demandsim.sweep.tables`: ``sweep.parquet``, ``sweep_summary.parquet`` and the digest;
- :mod:`~demandsim.sweep.failures`: runs that failed, for one line at the end;
- :mod:`~demandsim.sweep.shifts`: the KPIs over a swept shift's own hours, written by the worker for the report;
- :mod:`~demandsim.sweep.run`: :func:`run_sweep`, what the Hydra sweeper
  (``hydra_plugins.demandsim_sweeper``) does with all of them.

The names other code uses are re-exported here (``from demandsim import sweep;
sweep.RUNS_DIR``); they are defined, and looked up by the code that uses them, in
the modules above.

Example:
    >>> point_label({"staffing.units.shifts.0.staff": 24, "scenario": "demand_2024"})
    'staffing.units.shifts.0.staff=24, scenario=demand_2024'
"""

from demandsim.sweep.batches import (JOBS_PER_WORKER, MAX_RUNS_PER_JOB, check_runs_per_job,
                                     choose_runs_per_job, make_batches, workers_of)
from demandsim.sweep.compose import PointComposer
from demandsim.sweep.failures import CONFIG_CHANGED, FAILURES, record_failures
from demandsim.sweep.folders import (clean_leftovers, job_configs, planned_runs, read_manifest, runs_of_job,
                                     write_job_configs, write_manifest)
from demandsim.sweep.layout import (JOB_CONFIGS_DIR, MANIFEST, PROGRESS_FILE, RUNS_DIR, SCRATCH_DIR,
                                    SUMMARY_TABLE, SWEEP_TABLE)
from demandsim.sweep.plan import (REPLICATION_KEY, PlannedRun, draws_group, expand_arguments, plan_runs,
                                  point_label, point_labels, point_overrides, split_jobs, swept_value)
from demandsim.sweep.progress import PROGRESS_EVERY_S, SweepProgress, progress_writer
from demandsim.sweep.run import SWEEP_ENGINE, run_sweep
from demandsim.sweep.tables import RUN_COLUMNS, Aggregate, aggregate, describe_missing, sweep_digest, write_tables

__all__ = [
    "JOBS_PER_WORKER", "MAX_RUNS_PER_JOB", "check_runs_per_job", "choose_runs_per_job", "make_batches", "workers_of",
    "PointComposer",
    "CONFIG_CHANGED", "FAILURES", "record_failures",
    "clean_leftovers", "job_configs", "planned_runs", "read_manifest", "runs_of_job", "write_job_configs",
    "write_manifest",
    "JOB_CONFIGS_DIR", "MANIFEST", "PROGRESS_FILE", "RUNS_DIR", "SCRATCH_DIR", "SUMMARY_TABLE", "SWEEP_TABLE",
    "REPLICATION_KEY", "PlannedRun", "draws_group", "expand_arguments", "plan_runs", "point_label",
    "point_overrides", "split_jobs", "swept_value",
    "PROGRESS_EVERY_S", "SweepProgress", "progress_writer",
    "SWEEP_ENGINE", "run_sweep",
    "RUN_COLUMNS", "Aggregate", "aggregate", "describe_missing", "sweep_digest", "write_tables",
]
