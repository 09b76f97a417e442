"""``python -m demandsim.calibrate CALLS [--incidents INCIDENTS] --name NAME ...``

Reads a force's call (ACD) export, and optionally its incident (CAD) export, fits the
scenario, and with ``--backtest`` simulates it over the records' own period. Nothing is
written until everything has worked: the files appear together or not at all.

Example:
    python -m demandsim.calibrate calls.csv --incidents incidents.csv --name last_month --backtest
    python -m demandsim scenario=calibrated/last_month
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from demandsim.config import SCENARIOS_DIR

DEFAULT_OUT = SCENARIOS_DIR / "calibrated"
EXIT_BAD_INPUT = 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m demandsim.calibrate",
                                description="Fit a scenario to a force's call (and incident) records; with "
                                            "--backtest, simulate it over the records' period and compare.")
    p.add_argument("calls", help="calls export: CSV or Parquet, one row per call (docs/calibration.md: columns)")
    p.add_argument("--incidents", help="incidents export: CSV or Parquet, one row per incident")
    p.add_argument("--name", required=True, help="scenario name: letters, digits, _ and - (NAME.yaml, ...)")
    p.add_argument("--mapping", help="MAP.yaml renaming the export's own columns and values (docs/calibration.md)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="folder for the outputs (default: scenarios/calibrated/)")
    p.add_argument("--backtest", action="store_true", help="simulate the scenario over the records' period")
    p.add_argument("--replications", type=int, default=10, help="back-test replications (default 10)")
    p.add_argument("--seed", type=int, default=1, help="back-test seed (replication r uses seed + r; default 1)")
    return p


def how_to_run(path: Path) -> str:
    """The command that runs the written scenario."""
    try:
        name = path.resolve().relative_to(SCENARIOS_DIR.resolve()).with_suffix("")
        return f"python -m demandsim scenario={name.as_posix()}"
    except ValueError:
        return f"python -m demandsim scenario={path.resolve()}"


def calibrate(args, say) -> dict[str, str]:
    """Everything in memory, then the files' texts: {file name: text}."""
    import pandas as pd
    import plotly.offline

    from demandsim.calibrate import backtest as bt
    from demandsim.calibrate import page
    from demandsim.calibrate.estimate import estimate
    from demandsim.calibrate.read import CalibrationError, load_mapping, read_calls, read_incidents
    from demandsim.calibrate.scenario import scenario_yaml
    from demandsim.config import load_config

    if not re.fullmatch(r"[A-Za-z0-9_-]+", args.name):
        raise CalibrationError(f"--name={args.name}: use letters, digits, _ and - only (it names the files)")
    if args.backtest and args.replications < 2:
        raise CalibrationError(f"--replications={args.replications}: the back-test needs at least 2 for a band")
    mapping = load_mapping(args.mapping) if args.mapping else None
    say(f"reading {args.calls}")
    calls, excluded, period = read_calls(args.calls, mapping)
    incidents = incidents_excluded = None
    if args.incidents:
        say(f"reading {args.incidents}")
        incidents, incidents_excluded = read_incidents(args.incidents, mapping)
    say(f"fitting {len(calls):,} calls" + (f" and {len(incidents):,} incidents" if incidents is not None else ""))
    source = Path(args.calls).name + (f" + {Path(args.incidents).name}" if args.incidents else "")
    cal = estimate(calls, excluded, period, source, incidents, incidents_excluded)
    text = scenario_yaml(args.name, cal.json, cal.parts)
    files = {f"{args.name}.yaml": text,
             f"{args.name}.calibration.json": json.dumps(cal.json, indent=1, allow_nan=False) + "\n"}
    with tempfile.TemporaryDirectory(prefix="demandsim-calibrate-") as scratch:
        trial = Path(scratch) / f"{args.name}.yaml"
        trial.write_text(text)
        cfg = load_config([f"scenario={trial}"])  # the scenario must load before anything is written
        backtest = None
        if args.backtest:
            say(f"back-test: {args.replications} replications of {period.days:g} days on the fast engine")
            inp = bt.BacktestInput(calls=calls, incidents=incidents, period_end=pd.Timestamp(period.end),
                                   overrides=[f"scenario={trial}"],
                                   targets_min={g: float(getattr(cfg.grading.targets, g))
                                                for g in ("immediate", "priority", "prompt")})
            backtest = bt.backtest(inp, args.replications, args.seed, progress=bt.print_progress)
            files[f"{args.name}.backtest.json"] = json.dumps(backtest, indent=1, allow_nan=False) + "\n"
    files[f"{args.name}.calibration.html"] = page.render(args.name, cal.json, cal.charts, backtest,
                                                        plotly.offline.get_plotlyjs())
    return files


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input, said in one line)."""
    args = parser().parse_args(argv)
    from demandsim.calibrate.read import CalibrationError
    from demandsim.errors import ConfigError

    started = time.perf_counter()

    def say(text: str) -> None:
        print(f"calibrate: {text}", file=sys.stderr, flush=True)

    try:
        files = calibrate(args, say)
        out = Path(args.out)
        from demandsim.outputs import write_files

        write_files(out, files)
    except (CalibrationError, ConfigError, FileNotFoundError) as exc:
        print(f"demandsim.calibrate: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("demandsim.calibrate: interrupted (nothing written)", file=sys.stderr)
        return 130
    for name in files:
        print(out / name)
    print(f"calibrated in {time.perf_counter() - started:.1f} s; run it: {how_to_run(out / f'{args.name}.yaml')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
