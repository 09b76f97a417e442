"""Start-up: how long a user waits for ``--help`` and for a one-day run, end to end.

Users iterate on small runs, so the fixed cost of a command matters as much as the
engine's speed. Each case is the real command in a fresh process (``python -m
demandsim ...``), timed by wall clock from launch to exit, ``--repeats`` times after one
untimed warm-up call (which compiles the fast engine on a fresh checkout: the goal is
stated with the compiled engine cached); the median is the figure, the range is shown.

Usage (from the project root)::

    python -m benchmarks.startup                 # both cases, 7 repeats, JSON record
    python -m benchmarks.startup --repeats 3 --no-json

Goals (issue 9): ``--help`` under 0.5 s; a one-day baseline run on the fast engine,
written to disk, under 1.5 s. The record goes to
``benchmarks/results/<date>-<commit>-startup.json`` with the machine and the commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # python benchmarks/startup.py
    sys.path.insert(0, str(ROOT))

from benchmarks.run import RESULTS_DIR, git_info, machine_info  # noqa: E402

#: case -> (command arguments after ``python -m demandsim``, goal in seconds)
CASES = {
    "help": (["--help"], 0.5),
    "one_day_baseline_fast": (["scenario=baseline_2021", "run.days=1", "run.warmup_days=0", "run.engine=fast",
                               "run.progress=false"], 1.5),
}


def time_command(args: list[str], out_dir: Path | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) for one ``python -m demandsim ARGS``."""
    extra = [f"hydra.run.dir={out_dir}"] if out_dir is not None else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "demandsim", *args, *extra], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(repeats: int) -> dict:
    """Every case: warm-up call, then ``repeats`` timed calls; median, range and CPU time."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="demandsim-startup-") as scratch:
        for name, (args, goal) in CASES.items():
            runs = args != ["--help"]
            folder = (lambda i: Path(scratch) / f"{name}-{i}") if runs else (lambda i: None)
            time_command(args, folder("warm"))
            walls, cpus = zip(*(time_command(args, folder(i)) for i in range(repeats)))
            median = statistics.median(walls)
            results[name] = {"command": "python -m demandsim " + " ".join(args), "goal_s": goal,
                             "median_s": round(median, 3), "min_s": round(min(walls), 3), "max_s": round(max(walls), 3),
                             "cpu_median_s": round(statistics.median(cpus), 3), "repeats": repeats,
                             "met": median < goal}
            print(f"{name:<24} median {median:6.3f} s  (range {min(walls):.3f}-{max(walls):.3f}, "
                  f"CPU {statistics.median(cpus):.3f} s)  goal < {goal} s: {'MET' if median < goal else 'MISSED'}")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=7, help="timed calls per case (default 7)")
    p.add_argument("--no-json", action="store_true", help="do not write benchmarks/results/*-startup.json")
    args = p.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    results = measure(args.repeats)
    if not args.no_json:
        git = git_info()
        record = {"kind": "startup", "date": dt.datetime.now().isoformat(timespec="seconds"), "git": git,
                  "machine": machine_info(), "load_average_1min_before": load, "cases": results}
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{dt.date.today().isoformat()}-{git['short']}-startup.json"
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"record: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
