"""The sweep folder on disk: the plan (``sweep.json``), each job's run configs, leftovers.

**Skip logic.** A run's folder ``runs/<run_id>`` appears only when complete (written
under a temporary name, then renamed), so a run whose folder exists is done:
re-running an interrupted sweep, or a sweep with a wider range or more replications,
runs only what is missing. What an interrupted sweep leaves half-written is removed
by :func:`clean_leftovers` before the next one starts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from demandsim.outputs import write_atomic
from demandsim.sweep.layout import JOB_CONFIGS_DIR, MANIFEST, RUNS_DIR, SCRATCH_DIR
from demandsim.sweep.plan import PlannedRun


def write_job_configs(sweep_dir: Path, batches: list[list[PlannedRun]], configs: dict) -> None:
    """Each job's run configs, for its worker (``.jobs/configs/<batch>.pkl``): a job's first run is
    composed by Hydra in the worker; its other runs' configs are the ones planned here."""
    import pickle

    folder = sweep_dir / SCRATCH_DIR / JOB_CONFIGS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for n, batch in enumerate(batches):
        if len(batch) > 1:
            data = pickle.dumps({r.run_id: configs[r.run_id] for r in batch}, protocol=pickle.HIGHEST_PROTOCOL)
            write_atomic(folder / f"{n}.pkl", lambda p, data=data: p.write_bytes(data))


def job_configs(sweep_dir: Path, batch: int) -> dict:
    """The run configs :func:`write_job_configs` wrote for launcher job ``batch`` (run id -> Config)."""
    import pickle

    path = sweep_dir / SCRATCH_DIR / JOB_CONFIGS_DIR / f"{batch}.pkl"
    return pickle.loads(path.read_bytes()) if path.is_file() else {}


def runs_of_job(sweep_dir: Path, run_id: str, manifest: dict | None = None) -> list[PlannedRun]:
    """The runs a launcher job does: those of the batch of ``run_id`` in ``sweep.json`` (``manifest``:
    its content when already read)."""
    runs = planned_runs(manifest if manifest is not None else read_manifest(sweep_dir))
    batch = next((r.batch for r in runs if r.run_id == run_id and r.batch is not None), None)
    return [r for r in runs if r.batch is not None and r.batch == batch] if batch is not None else []


def write_manifest(sweep_dir: Path, arguments: list[str], swept: list[str], replications: int,
                   planned: list[PlannedRun], scenario: str) -> None:
    """Write ``sweep.json``, the plan: the command, swept keys and every run expected (with its job)."""
    data = {
        "format": 1,
        "scenario": scenario,
        "overrides": list(arguments),
        "swept_keys": swept,
        "replications": replications,
        "runs": [dict(vars(p), folder=p.folder) for p in planned],
    }
    text = json.dumps(data, indent=1, default=str) + "\n"
    write_atomic(sweep_dir / MANIFEST, lambda p: p.write_text(text))


def read_manifest(sweep_dir: Path) -> dict:
    """The plan a sweep wrote to ``sweep.json`` (:func:`write_manifest`)."""
    return json.loads((Path(sweep_dir) / MANIFEST).read_text())


def planned_runs(manifest: dict) -> list[PlannedRun]:
    """The runs of a plan read by :func:`read_manifest`."""
    fields = PlannedRun.__dataclass_fields__
    return [PlannedRun(**{k: v for k, v in run.items() if k in fields}) for run in manifest["runs"]]


def clean_leftovers(sweep_dir: Path) -> None:
    """Remove what an interrupted sweep left: half-written run folders and Hydra's scratch folders."""
    runs = sweep_dir / RUNS_DIR
    if runs.is_dir():
        for p in runs.glob(".*.tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
    shutil.rmtree(sweep_dir / SCRATCH_DIR, ignore_errors=True)
