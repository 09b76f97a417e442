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

