"""``python -m demandsim.report SWEEP_OR_RUN_DIR [--run RUN_ID] [--png]``: write report.html there."""

from __future__ import annotations

import argparse
import sys

from demandsim.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demandsim.report",
        description="Write report.html (self-contained: plotly.js embedded) into a sweep's or a run's folder.")
    parser.add_argument("folder", help="a sweep folder (hydra.sweep.dir) or a run folder (hydra.run.dir)")
    parser.add_argument("--run", metavar="RUN_ID", help="for a sweep: the run behind the per-run charts "
                        "(a run_id of sweep.parquet, or its start); default: replication 0 of the middle point")
    parser.add_argument("--png", action="store_true", help="also write one PNG per chart (needs kaleido and Chrome)")
    args = parser.parse_args(argv)
    from demandsim.report import ReportError, build_report

    try:
        path = build_report(args.folder, run=args.run, png=args.png)
    except (ReportError, ConfigError) as exc:
        print(f"demandsim.report: error: {exc}", file=sys.stderr)
        return 2
    print(f"Report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
