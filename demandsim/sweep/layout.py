"""Where a sweep keeps what: the names of the files and folders in a sweep folder.

Layout of the sweep folder (``hydra.sweep.dir``)::

    sweep.json              the plan: command, swept keys, every run expected (written first)
    runs/<run_id>/          one finished run: summary.json, *.parquet, config.yaml
    sweep.parquet           one row per finished run: swept values, seed, replication, every KPI
    sweep_summary.parquet   one row per point and KPI: n, mean, sd, 95% confidence interval
    report.html             written by ``python -m demandsim.report DIR``
    .jobs/                  scratch space while the sweep runs (removed when it ends)

Example:
    >>> f"{RUNS_DIR}/0123456789abcdef", MANIFEST
    ('runs/0123456789abcdef', 'sweep.json')
"""

MANIFEST = "sweep.json"
RUNS_DIR = "runs"
SWEEP_TABLE = "sweep.parquet"
SUMMARY_TABLE = "sweep_summary.parquet"
#: Hydra's own per-job folder (hydra.sweep.subdir): scratch space, removed when a job ends
SCRATCH_DIR = ".jobs"
#: where the planner leaves each job's run configs for its worker (under SCRATCH_DIR)
JOB_CONFIGS_DIR = "configs"
PROGRESS_FILE = "progress"
