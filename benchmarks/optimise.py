"""How long the optimiser takes on the baseline: the time-stable staffing of a week (issue 13's
target: 168 hours with 95% confidence in under 60 s). A measurement, not a test.

    python -m benchmarks.optimise                     # every_hour, 28 days x 5 replications
    python -m benchmarks.optimise --mode overall

Runs the real command in a child process, timed from outside; prints optimise.json's own
runs and seconds beside the wall time (which includes start-up and numba's compile cache load).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.optimise", description=__doc__.splitlines()[0])
    p.add_argument("--mode", default="every_hour", choices=("every_hour", "overall"))
    p.add_argument("--days", type=int, default=28)
    p.add_argument("--replications", type=int, default=5)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "demandsim.optimise", "scenario=baseline_2021",
                        "optimise.group=call_handlers", "optimise.goal.sl_999_10s=0.9", f"optimise.mode={args.mode}",
                        f"run.days={args.days}", f"run.replications={args.replications}", f"hydra.run.dir={tmp}"],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        result = json.loads((Path(tmp) / "optimise.json").read_text())
    print(f"baseline call handlers, sl_999_10s 0.9, {args.mode}, {args.days} days x {args.replications} "
          f"replications: {wall:.1f} s wall ({result['seconds']:.1f} s in the search, {result['runs']} runs, "
          f"{result['iterations']} iterations, finished {result['finished']}); {result['staff_hours_per_week']:,} "
          f"staff-hours a week against today's {result['today_staff_hours_per_week']:,} (target: under 60 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
