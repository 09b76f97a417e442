"""A sweep's tables: ``sweep.parquet``, ``sweep_summary.parquet`` and the digest printed at the end.

:func:`aggregate` rebuilds both tables from ``sweep.json`` and the run folders alone
(the report calls it too); runs of the plan that have no folder are listed as
missing, never dropped silently. With ``window.hours`` or ``window.days`` set, every KPI over
that window comes too, as ``window.<kpi>`` (a column of sweep.parquet, a ``kpi`` of
sweep_summary.parquet). Each point's KPIs get a 95% confidence interval
over its replications (:func:`demandsim.stats.interval_for`): Student-t, or for a share
(:data:`demandsim.kpis.SHARE_KPIS`, over a window too) a logit interval that stays within 0..1,
whose ``half_width`` is then half its length (the interval is not symmetric about the mean).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.outputs import is_complete_run, write_parquet
from demandsim.sweep.folders import planned_runs, read_manifest
from demandsim.sweep.layout import SUMMARY_TABLE, SWEEP_TABLE
from demandsim.sweep.plan import PlannedRun, point_label

#: columns of sweep.parquet before the swept keys and the KPIs
RUN_COLUMNS = ["point", "replication", "seed", "run_id", "config_hash", "run_dir"]


@dataclass
class Aggregate:
    """The tables of a sweep and the planned runs that have no results."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    missing: list[PlannedRun]
    swept_keys: list[str]
    manifest: dict


def kpi_names(rows: list[dict]) -> list[str]:
    """Every KPI name of the runs' summaries, in the order first seen.

    Example:
        >>> kpi_names([{"a": 1, "b": 2}, {"c": 3, "a": 4}])
        ['a', 'b', 'c']
    """
    names: list[str] = []
    for row in rows:
        for name in row:
            if name not in names:
                names.append(name)
    return names


#: prefix of a KPI over window.hours / window.days in the sweep tables (summary.json's ``window`` block)
WINDOW_PREFIX = "window."


def window_kpis(summary: dict) -> dict:
    """A run's KPIs over its window (summary.json's ``window`` block), named ``window.<kpi>``; none without one.

    Example:
        >>> window_kpis({"window": {"hours": "17-03", "days": None, "kpis": {"sl_999_10s": 0.9}}})
        {'window.sl_999_10s': 0.9}
        >>> window_kpis({"kpis": {}})
        {}
    """
    return {f"{WINDOW_PREFIX}{k}": v for k, v in ((summary.get("window") or {}).get("kpis") or {}).items()}


def aggregate(sweep_dir: Path) -> Aggregate:
    """Build sweep.parquet's and sweep_summary.parquet's tables from the run folders."""
    from demandsim.stats import interval_for

    sweep_dir = Path(sweep_dir)
    manifest = read_manifest(sweep_dir)
    swept = list(manifest["swept_keys"])
    rows, kpis, missing = [], [], []
    for run in planned_runs(manifest):
        folder = sweep_dir / run.folder
        if not is_complete_run(folder):
            missing.append(run)
            continue
        summary = json.loads((folder / "summary.json").read_text())
        rows.append({"point": run.point, **run.values, "replication": run.replication, "seed": summary["seed"],
                     "run_id": run.run_id, "config_hash": summary.get("config_hash"), "run_dir": run.folder})
        kpis.append({**summary["kpis"], **window_kpis(summary)})
    names = kpi_names(kpis)
    columns = ["point", *swept, *[c for c in RUN_COLUMNS if c != "point"], *names]
    table = pd.DataFrame([{**r, **{n: k.get(n) for n in names}} for r, k in zip(rows, kpis)], columns=columns)
    for name in names:  # counts stay integers; null KPIs (nothing to measure) stay missing, never 0
        values = pd.to_numeric(table[name], errors="coerce")
        whole = all(isinstance(k.get(name), int) or k.get(name) is None for k in kpis)
        table[name] = values.astype("Int64" if whole and values.notna().all() else "float64")
    table = table.sort_values(["point", "replication"], kind="stable").reset_index(drop=True)

    point_values = {run["point"]: run["values"] for run in manifest["runs"]}
    out = []
    for point, group in table.groupby("point", sort=True):
        for name in names:
            est = interval_for(name, group[name].to_numpy())
            out.append({"point": point, **point_values[point], "kpi": name, "n": est.n, "mean": est.mean,
                        "sd": est.sd, "ci_low": est.low, "ci_high": est.high, "half_width": est.half_width})
    summary = pd.DataFrame(out, columns=["point", *swept, "kpi", "n", "mean", "sd", "ci_low", "ci_high",
                                         "half_width"])
    return Aggregate(table, summary, missing, swept, manifest)


def write_tables(sweep_dir: Path) -> Aggregate:
    """(Re)write sweep.parquet and sweep_summary.parquet; returns what was written."""
    agg = aggregate(sweep_dir)
    for name, frame in ((SWEEP_TABLE, agg.runs), (SUMMARY_TABLE, agg.summary)):
        write_parquet(Path(sweep_dir) / name, frame)
    return agg


def describe_missing(missing: list[PlannedRun]) -> list[str]:
    """One line per point with runs missing: its values and which replications."""
    by_point: dict[int, list[PlannedRun]] = {}
    for run in missing:
        by_point.setdefault(run.point, []).append(run)
    lines = []
    for point, runs in sorted(by_point.items()):
        reps = ", ".join(str(r.replication) for r in sorted(runs, key=lambda r: r.replication))
        label = point_label(runs[0].values) or "the run"
        lines.append(f"{label}: replication{'s' if len(runs) > 1 else ''} {reps}")
    return lines


#: the KPIs the digest shows per point: (KPI, column title, shown as a percentage)
HEADLINE = [("sl_999_10s", "999 in 10 s", True), ("abandon_rate_101", "101 abandoned", True),
            ("attend_within_target_all", "attended (all)", True),
            ("utilisation_call_handlers", "handlers busy", True)]


def _fmt(mean, half, pct: bool, low=None, high=None) -> str:
    """A mean and its 95% interval for the terminal: a share as ``54.2% (41.0-63.0)``, its interval read
    from ``low`` and ``high`` (a logit interval, not symmetric about the mean: a ± would misstate it);
    any other KPI as ``12.3 ±1.2``.

    >>> _fmt(0.542, 0.11, True, 0.41, 0.63), _fmt(0.004, 0.003, True, 0.001, 0.007), _fmt(12.34, 1.2, False)
    ('54.2% (41.0-63.0)', '0.4% (0.1-0.7)', '12.3 ±1.2')
    """
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    text = f"{100 * mean:.1f}%" if pct else f"{mean:.3g}"
    known = [v for v in (low, high) if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if pct and len(known) == 2:
        text += f" ({100 * low:.1f}-{100 * high:.1f})"
    elif half is not None and not math.isnan(half):
        text += f" ±{100 * half:.1f}" if pct else f" ±{half:.2g}"
    return text


def _cell(by: pd.DataFrame, kpi: str, pct: bool) -> str:
    """One KPI of one point (``by``: sweep_summary rows indexed by KPI) as :func:`_fmt` writes it."""
    if kpi not in by.index:
        return "n/a"
    row = by.loc[kpi]
    return _fmt(row["mean"], row["half_width"], pct, row["ci_low"], row["ci_high"])


#: width of a digest cell: "100.0% (100.0-100.0)"
CELL = 21

def sweep_digest(agg: Aggregate, took: float, sweep_dir: Path) -> str:
    """A few lines for the terminal: per point, the headline KPIs with their 95% intervals, and under
    it attendance within target per grade (all grades together hide which one misses)."""
    lines = []
    summary = agg.summary
    if not summary.empty:
        labels = {p: (point_label(v) or "mean of replications")
                  for p, v in ((r["point"], r["values"]) for r in agg.manifest["runs"])}
        width = max(len(v) for v in labels.values())
        head = "  ".join(f"{name:>{CELL}}" for _, name, _ in HEADLINE)
        lines.append(f"  {'point':<{width}}  {head}")
        for point, group in summary.groupby("point", sort=True):
            by = group.set_index("kpi")
            cells = []
            for kpi, _, pct in HEADLINE:
                cells.append(f"{_cell(by, kpi, pct):>{CELL}}")
            lines.append(f"  {labels[point]:<{width}}  {'  '.join(cells)}")
            # attendance per deployed grade under each point (the headline column is all grades)
            grades = [(g, f"attend_within_target_{g}") for g in DEPLOYED_GRADES]
            if any(kpi in by.index for _, kpi in grades):
                lines.append("    attended in target by grade: " + ", ".join(
                    f"{g} {_cell(by, kpi, True)}" for g, kpi in grades))
        if summary["half_width"].notna().any():
            lines.append("  (mean of replications (its 95% confidence interval: for a share a logit interval, "
                         "not symmetric about the mean))")
    if agg.missing:
        lines.append(f"  missing: {len(agg.missing)} run(s): " + "; ".join(describe_missing(agg.missing)))
    lines.append(f"Results: {sweep_dir / SWEEP_TABLE}, {SUMMARY_TABLE} ({len(agg.runs)} runs, {took:.1f} s)")
    return "\n".join(lines)
