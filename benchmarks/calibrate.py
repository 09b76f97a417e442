"""How long the calibration takes on a year of a force's calls, and a month's back-test.

Issue 12's size: a year of calls (450,000 rows) calibrates in under 30 s and under 1 GB; the
back-test of a month with 10 replications runs on the fast engine. A measurement, not a test:
nothing here asserts a time.

    python -m benchmarks.calibrate                 # both cases, figures printed
    python -m benchmarks.calibrate --rows 100000   # a smaller year

The year is synthetic (Poisson arrivals through the day, waits and hang-ups, lognormal
handling, agent names), written once to a temporary CSV; each case runs the real command in
a child process, timed from outside, its peak memory from the kernel (getrusage).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def year_of_calls(rows: int, seed: int = 12) -> pd.DataFrame:
    """``rows`` calls over 364 days, 999 and 101, shaped through the day."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.uniform(0, 364 * 86400, rows * 2))
    hour = (seconds // 3600) % 24
    keep = rng.random(len(seconds)) < 0.35 + 0.65 * np.sin(np.pi * hour / 24) ** 2  # quiet nights
    seconds = seconds[keep][:rows]
    n = len(seconds)
    abandoned = rng.random(n) < 0.12
    return pd.DataFrame({
        "arrived_at": (pd.Timestamp("2023-04-03") + pd.to_timedelta(seconds, unit="s")).strftime("%Y-%m-%d %H:%M:%S"),
        "line": np.where(rng.random(n) < 0.35, "999", "101"),
        "outcome": np.where(abandoned, "abandoned", "answered"),
        "wait_s": np.round(rng.exponential(25, n), 1),
        "handle_s": np.where(abandoned, np.nan, np.round(rng.lognormal(5.5, 0.6, n), 1)),
        "agent": np.where(abandoned, "", rng.integers(0, 60, n).astype(str))})


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of a child process."""
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return took, peak


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.calibrate", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=450_000, help="calls in the year (default 450,000)")
    p.add_argument("--replications", type=int, default=10, help="back-test replications (default 10)")
    args = p.parse_args(argv)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        year = year_of_calls(args.rows)
        year.to_csv(tmp / "year.csv", index=False)
        took, peak = timed([py, "-m", "demandsim.calibrate", str(tmp / "year.csv"), "--name", "year",
                            "--out", str(tmp / "out")])
        print(f"calibrate a year: {len(year):,} calls in {took:.1f} s, peak {peak:.0f} MB (target: 30 s, 1 GB)")
        run = tmp / "run"
        subprocess.run([py, "-m", "demandsim", "scenario=tests/data/roundtrip_force.yaml", "run.engine=fast",
                        f"hydra.run.dir={run}"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        subprocess.run([py, "-m", "demandsim.export", str(run), "--out", str(tmp / "month")], check=True,
                       cwd=ROOT, stdout=subprocess.DEVNULL)
        (tmp / "map.yaml").write_text("calls:\n  zone: none\n")
        took, _ = timed([py, "-m", "demandsim.calibrate", str(tmp / "month" / "calls.csv"), "--incidents",
                         str(tmp / "month" / "incidents.csv"), "--mapping", str(tmp / "map.yaml"), "--name",
                         "month", "--out", str(tmp / "out"), "--backtest", "--replications",
                         str(args.replications)])
        print(f"calibrate + back-test a month (56,000 calls, 22,000 incidents, {args.replications} replications, "
              f"fast engine): {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
