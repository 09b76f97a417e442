"""Launcher jobs: how many runs each job does, and which runs go together.

A launcher job runs several runs one after another (``hydra.sweeper.runs_per_job``,
default: enough jobs to keep every worker busy, at most :data:`MAX_RUNS_PER_JOB` runs
each): composing a run's config in a worker costs about as much as a quarter of a
simulated year, so a worker composes only its job's first run (to check it against the
plan) and its other runs take the configs planned for them; runs that draw the same
random numbers are put in one job, which draws them once (:func:`make_batches`).
The job's runs are listed in ``sweep.json`` (``batch``); the worker reads them from there.
"""

from __future__ import annotations

import os

from demandsim.sweep.plan import PlannedRun, point_overrides

#: most runs one launcher job does (hydra.sweeper.runs_per_job=null chooses up to this)
MAX_RUNS_PER_JOB = 10
#: with runs_per_job=null, aim for at least this many jobs per worker, so that workers
#: finish close together
JOBS_PER_WORKER = 8


def workers_of(launcher_cfg) -> int | None:
    """How many runs the launcher runs at once, as far as its config says (else this machine's
    cores); None for a Ray cluster, whose size is not known before the sweep joins it."""
    cores = os.cpu_count() or 1
    if launcher_cfg is None:
        return cores
    n_jobs = launcher_cfg.get("n_jobs")
    if isinstance(n_jobs, int) and n_jobs != 0:
        return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)  # joblib: -1 = every core
    ray = launcher_cfg.get("ray")
    if ray is not None:
        init = ray.get("init") or {}
        if init.get("address") or os.environ.get("RAY_ADDRESS"):
            return None
        return init.get("num_cpus") or cores
    return cores


def check_runs_per_job(setting) -> None:
    """Refuse a ``hydra.sweeper.runs_per_job`` that is not null or a whole number >= 1."""
    if setting is not None and (not isinstance(setting, int) or isinstance(setting, bool) or setting < 1):
        from demandsim.errors import ConfigError

        raise ConfigError("hydra.sweeper.runs_per_job", setting, "must be >= 1 (or null: chosen per sweep)")


def choose_runs_per_job(setting, todo: int, workers: int | None) -> int:
    """Runs per launcher job: ``setting`` if given, else enough jobs for every worker
    (one run per job when the number of workers is unknown: a Ray cluster).

    Example:
        >>> choose_runs_per_job(None, todo=200, workers=2), choose_runs_per_job(None, todo=6, workers=2)
        (10, 1)
    """
    if setting is not None:
        check_runs_per_job(setting)
        return setting
    if workers is None:
        return 1
    return max(1, min(MAX_RUNS_PER_JOB, todo // (JOBS_PER_WORKER * max(1, workers))))


def make_batches(todo: list[PlannedRun], runs_per_job: int) -> list[list[PlannedRun]]:
    """Split the runs to do into launcher jobs of ``runs_per_job`` runs at most.

    A job's runs share their draws group (:func:`~demandsim.sweep.plan.draws_group`: one
    replication of points that differ only in staffing), so its worker draws the random numbers once; runs
    alone in their group (e.g. points differing in demand) are batched by point
    (replications of one point: the worker composes one config for them).
    Groups are taken in the order their first run was planned. Sets each run's
    ``batch``. Example:
        >>> runs = [PlannedRun(j, [f"x={j // 3}", f"run.replication={j % 3}"], j // 3, {}, j % 3, f"id{j}", j % 3,
        ...                    1.0, draws=f"seed{j % 3}") for j in range(6)]
        >>> [[r.run_id for r in b] for b in make_batches(runs, 2)]
        [['id0', 'id3'], ['id1', 'id4'], ['id2', 'id5']]
    """
    size: dict = {}
    for run in todo:
        size[run.draws] = size.get(run.draws, 0) + 1

    def group(run: PlannedRun):
        if run.draws and size[run.draws] > 1:
            return ("draws", run.draws)
        return ("point", run.point, point_overrides(run.overrides))

    order: dict = {}
    for run in todo:
        order.setdefault(group(run), len(order))
    batches: list[list[PlannedRun]] = []
    for run in sorted(todo, key=lambda r: order[group(r)]):  # stable: planned order within a group
        last = batches[-1] if batches else None
        if last is None or len(last) >= runs_per_job or group(last[0]) != group(run):
            batches.append([])
        run.batch = len(batches) - 1
        batches[-1].append(run)
    return batches
