"""``python -m demandsim.report SWEEP_OR_RUN_DIR [report.KEY=VALUE ...] [--baseline POINT] [--run RUN_ID] [--png]``:
write report.html and report.json there."""

from __future__ import annotations

import argparse
import sys

from demandsim.errors import ConfigError

EPILOG = """\
examples:
  python -m demandsim.report results/sweeps/late_shift
  python -m demandsim.report results/sweeps/late_shift report.attendance_goal.priority=0.45
  python -m demandsim.report results/sweeps/demand_2024 --baseline scenario=baseline_2021
  python -m demandsim.report results/sweeps/more_units --baseline 0
  python -m demandsim.report results/sweeps/more_units --baseline results/runs/baseline_2021/today

report.* keys (each a share between 0 and 1): report.sl_999_10s_goal, report.abandon_101_max,
report.attendance_goal.immediate, report.attendance_goal.priority, report.attendance_goal.prompt.
The page says where each goal line came from (the runs' config or the command line); runs that
carry different goals for a key not set here are an error naming the key.
See docs/report.md for the page, report.json and the statistics."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demandsim.report",
        description="Write report.html (self-contained: plotly.js embedded) and report.json (its numbers) into a "
                    "sweep's or a run's folder.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="a sweep folder (hydra.sweep.dir) or a run folder (hydra.run.dir)")
    parser.add_argument("overrides", nargs="*", metavar="report.KEY=VALUE",
                        help="set a goal when the report is made, over what the runs carried "
                             "(e.g. report.attendance_goal.priority=0.45)")
    parser.add_argument("--baseline", metavar="POINT",
                        help="compare every point with this one, seed by seed (mean of per-replication "
                             "differences and its 95%% interval): a point of this sweep by its label "
                             "(scenario=baseline_2021, staffing.add.units=0) or number (0), or another sweep's "
                             "folder (FOLDER#POINT if it has several points) or a run's folder, with the same seeds")
    parser.add_argument("--run", metavar="RUN_ID", help="for a sweep: the run behind the per-run charts "
                        "(a run_id of sweep.parquet, or its start); default: replication 0 of the middle point "
                        "(other than the baseline)")
    parser.add_argument("--png", action="store_true", help="also write one PNG per chart (needs kaleido and Chrome)")
    args = parser.parse_intermixed_args(argv)
    from demandsim.report import ReportError, build_report

    try:
        path = build_report(args.folder, run=args.run, png=args.png, overrides=args.overrides,
                            baseline=args.baseline)
    except (ReportError, ConfigError) as exc:
        print(f"demandsim.report: error: {exc}", file=sys.stderr)
        return 2
    print(f"Report: {path} (numbers: {path.with_name('report.json')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
