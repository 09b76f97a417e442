"""Shared helpers: compose a config and run it, as the command line would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from demandsim.config import PROJECT_DIR, load_config
from demandsim.runner import simulate


def run(overrides: list[str]):
    """Compose ``overrides`` and simulate, without a progress bar."""
    return simulate(load_config(overrides), progress=False)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m demandsim ARGS`` in a subprocess; returns the completed process."""
    env = dict(os.environ)
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run([sys.executable, "-m", "demandsim", *args], cwd=cwd or PROJECT_DIR,
                          capture_output=True, text=True, env=env, timeout=600)



def _session_folder() -> Path:
    """A temporary folder removed when the test process ends."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="demandsim-sweep-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


#: a small staffing sweep of the baseline: 2 points x 2 replications of 1.5 days
SMALL_SWEEP = ["scenario=baseline_2021", "staffing.call_handlers.shifts.2.staff=3,5", "run.replications=2",
               "run.days=1.5", "run.warmup_days=0.5"]
_made: dict = {}


def small_sweep() -> Path:
    """Run :data:`SMALL_SWEEP` once per test session (into a temporary folder) and return its folder."""
    if "sweep" not in _made:
        out = _session_folder() / "sw"
        done = cli("-m", *SMALL_SWEEP, f"hydra.sweep.dir={out}")
        assert done.returncode == 0, done.stderr
        _made["sweep"] = out
    return _made["sweep"]


#: the issue's sweep command on the Erlang A validation scenario, shortened: 2 points x 2 replications
ERLANG_SWEEP = ["scenario=validation/erlang_a", "validation.servers=28,32", "run.replications=2", "run.days=1",
                "run.warmup_days=0.25"]


def erlang_sweep() -> tuple[Path, subprocess.CompletedProcess]:
    """Run :data:`ERLANG_SWEEP` once per test session (joblib, the default launcher); (folder, process)."""
    if "erlang" not in _made:
        out = _session_folder() / "sw"
        done = cli("-m", *ERLANG_SWEEP, f"hydra.sweep.dir={out}")
        assert done.returncode == 0, done.stderr
        _made["erlang"] = out, done
    return _made["erlang"]
