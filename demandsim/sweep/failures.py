"""Runs of a sweep that failed: collected in the main process, reported by ``demandsim.cli.main``.

A launcher job returns its outcome instead of raising (across joblib or Ray workers),
so the sweep can go on with its other jobs and say every failure in one line at the end.
"""

from __future__ import annotations

from demandsim.sweep.plan import PlannedRun

#: why a run of a job failed when the job's config was not the one planned
CONFIG_CHANGED = ("its run id changed while the sweep ran (were config, scenario or data files, or demandsim's "
                  "code, edited?); run the sweep command again")
#: failures of the last sweep in this process (read by demandsim.cli.main); cleared in place, never
#: rebound, so ``from demandsim.sweep import FAILURES`` sees the same list
FAILURES: list[dict] = []


def record_failures(batch: list[PlannedRun], ret) -> None:
    """Add to :data:`FAILURES` the runs of one launcher job that did not finish.

    A job returns ``{"runs": [outcome per run]}`` or, if it failed before its first
    run (e.g. bad input), one outcome for all its runs.
    """
    from hydra.core.utils import JobStatus

    value = ret._return_value if ret.status == JobStatus.COMPLETED else None
    if not isinstance(value, dict):
        message = f"{type(ret._return_value).__name__}: {ret._return_value}"
        FAILURES.extend({"run": run, "message": message, "bad_input": False, "details": None} for run in batch)
        return
    by_id = {o.get("run_id"): o for o in value.get("runs", [])}
    for run in batch:
        outcome = by_id.get(run.run_id, value if "runs" not in value else None)
        if outcome is None:  # the job ran other runs than planned
            outcome = {"status": "failed", "bad_input": True, "message": CONFIG_CHANGED}
        if outcome.get("status") == "failed":
            FAILURES.append({"run": run, "message": outcome.get("message"),
                             "bad_input": outcome.get("bad_input", False), "details": outcome.get("details")})
