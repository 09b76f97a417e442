"""Paired comparison against a baseline: ``python -m demandsim.report DIR --baseline POINT``.

The baseline is a point of the same sweep (its label, ``scenario=baseline_2021``, or its
index, ``0``), another sweep's folder (with one point, or ``FOLDER#POINT``) or a run's
folder. Each point's replication with seed s is paired with the baseline's run with seed
s: under common random numbers both saw the same calls and draws, so the per-seed
difference of a KPI varies far less than either run, and the mean of those differences
(:func:`demandsim.stats.paired_interval`) is far tighter than two separate intervals.
A point with a seed the baseline has not run is an error, never a silently smaller pair.

Example:
    >>> split_label("staffing.units.extra.0.staff=2, scenario=demand_2024")
    [('staffing.units.extra.0.staff', '2'), ('scenario', 'demand_2024')]
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from demandsim import sweep as sw
from demandsim.outputs import is_complete_run
from demandsim.report.data import ReportError
from demandsim.stats import paired_interval

#: columns of the paired-difference table (:func:`paired_differences`), after the point and swept keys
PAIRED_COLUMNS = ["kpi", "n", "diff_mean", "sd", "ci_low", "ci_high", "baseline_mean", "point_mean"]


class BaselineError(ReportError):
    """``--baseline`` names nothing usable, or its seeds do not match (one line)."""


@dataclass
class Baseline:
    """The reference of a paired comparison: one run per seed, with every KPI."""

    spec: str  # what the user typed after --baseline
    label: str  # how the page names it
    folder: Path  # the folder its run_dir paths start from
    point: int  # its point in its own sweep (0 for a run folder)
    runs: pd.DataFrame  # one row per replication: seed, run_dir, every KPI
    same_sweep: bool  # a point of the sweep reported on

    def run_dir(self, seed: int) -> Path | None:
        """The folder of the baseline's run with ``seed`` (None if it has none)."""
        hit = self.runs[self.runs["seed"].astype("int64") == int(seed)]
        return None if hit.empty else self.folder / str(hit.iloc[0]["run_dir"])


def split_label(text: str) -> list[tuple[str, str]]:
    """``key=value, key=value`` (a point's label, as the report and sweep.parquet write it) as pairs.

    A comma starts a new pair only when a ``key=`` follows it, so a value may hold commas.
    """
    parts = re.split(r",\s*(?=[\w.+~/@-]+=)", text.strip())
    pairs = []
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise BaselineError(f"--baseline {text}: expected KEY=VALUE (a point's label), a point number "
                                "or a folder")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _same_value(cell, text: str) -> bool:
    """A table cell equals a value typed on the command line (``3`` matches 3 and 3.0)."""
    if str(cell) == text:
        return True
    try:
        return float(cell) == float(text)
    except (TypeError, ValueError):
        return False


def find_point(runs: pd.DataFrame, swept: list[str], wanted: str, where: str) -> int:
    """The point of a sweep named by ``wanted``: its number, or its label (all or some of its keys)."""
    points = sw.point_labels(runs, swept)
    listing = "; ".join(f"{p}: {label}" for p, label in points.items())
    if wanted.strip().isdigit():
        point = int(wanted)
        if point not in points:
            raise BaselineError(f"--baseline {wanted}: {where} has no point {point} (its points: {listing})")
        return point
    pairs = split_label(wanted)
    unknown = [k for k, _ in pairs if k not in swept]
    if unknown:
        raise BaselineError(f"--baseline {wanted}: {unknown[0]} is not swept in {where} (swept: "
                            f"{', '.join(swept) or 'nothing'}; its points: {listing})")
    first = runs.drop_duplicates("point")
    hits = [int(r["point"]) for _, r in first.iterrows() if all(_same_value(r[k], v) for k, v in pairs)]
    if len(hits) != 1:
        found = "no point" if not hits else f"{len(hits)} points ({', '.join(points[h] for h in hits)})"
        raise BaselineError(f"--baseline {wanted}: {found} of {where} has that; name one point (its points: "
                            f"{listing})")
    return hits[0]


def _run_table(folder: Path) -> pd.DataFrame:
    """A single run's folder as a one-row runs table (seed, run_dir, its KPIs)."""
    summary = json.loads((folder / "summary.json").read_text())
    return pd.DataFrame([{"point": 0, "seed": int(summary["seed"]), "run_dir": ".", **summary["kpis"]}])


def resolve(spec: str, folder: Path, runs: pd.DataFrame | None, swept: list[str]) -> Baseline:
    """The baseline ``spec`` names, for the report on ``folder`` (``runs``: its sweep's runs table, or None).

    In a sweep, a number or a ``key=value`` label is one of its points; anything else is a
    folder: another sweep's (``FOLDER#POINT`` when it has several points) or a run's.
    """
    spec = str(spec).strip()
    if runs is not None and (spec.isdigit() or ("=" in spec and not Path(spec).is_dir())):
        point = find_point(runs, swept, spec, "this sweep")
        label = f"{sw.point_labels(runs, swept)[point]} (point {point} of this sweep)"
        return Baseline(spec, label, folder, point, runs[runs["point"] == point].reset_index(drop=True),
                        same_sweep=True)
    target, point_part = Path(spec), None
    if not target.is_dir() and "#" in spec:
        target, point_part = Path(spec.rsplit("#", 1)[0]), spec.rsplit("#", 1)[1]
    if not target.is_dir():
        where = "no such folder" if runs is None else "not a point of this sweep (a number or a label such as " \
            f"{next(iter(sw.point_labels(runs, swept).values()))}) and no such folder"
        raise BaselineError(f"--baseline {spec}: {where}")
    if (target / sw.MANIFEST).is_file():
        agg = sw.aggregate(target)
        if agg.runs.empty:
            raise BaselineError(f"--baseline {spec}: that sweep has no finished run")
        points = sw.point_labels(agg.runs, agg.swept_keys)
        if point_part is None and len(points) > 1:
            raise BaselineError(f"--baseline {spec}: that sweep has {len(points)} points; name one as "
                                f"{target}#POINT (its points: "
                                + "; ".join(f"{p}: {label}" for p, label in points.items()) + ")")
        point = find_point(agg.runs, agg.swept_keys, point_part, str(target)) if point_part is not None \
            else next(iter(points))
        label = f"{points[point]} of the sweep in {target}" if agg.swept_keys else f"the sweep in {target}"
        return Baseline(spec, label, target, point, agg.runs[agg.runs["point"] == point].reset_index(drop=True),
                        same_sweep=False)
    if point_part is None and is_complete_run(target):
        return Baseline(spec, f"the run in {target}", target, 0, _run_table(target), same_sweep=False)
    raise BaselineError(f"--baseline {spec}: that folder is neither a sweep (sweep.json) nor a complete run")


def check_seeds(baseline: Baseline, runs: pd.DataFrame, swept: list[str]) -> None:
    """Every run reported on must have a baseline run with its seed, or a clear error."""
    have = set(baseline.runs["seed"].astype("int64"))
    labels = sw.point_labels(runs, swept)
    for point, group in runs.groupby("point", sort=True):
        lacking = sorted(set(group["seed"].astype("int64")) - have)
        if lacking:
            raise BaselineError(
                f"--baseline {baseline.spec}: the baseline has no run with seed "
                f"{', '.join(str(s) for s in lacking)} ({labels[int(point)]} has); a paired comparison needs the "
                f"same seeds (the baseline has {', '.join(str(s) for s in sorted(have)) or 'none'}: run it with "
                "the same run.seed and run.replications)")


def paired_differences(runs: pd.DataFrame, swept: list[str], kpis: list[str], baseline: Baseline) -> pd.DataFrame:
    """Per point and KPI: the mean of the per-seed differences (point minus baseline) and its 95% t interval.

    ``n`` is the number of seeds with the KPI measured on both sides; ``baseline_mean`` and
    ``point_mean`` are the means over those same seeds (so ``point_mean - baseline_mean``
    is ``diff_mean``).
    """
    base = baseline.runs.copy()
    base["seed"] = base["seed"].astype("int64")
    base = base.drop_duplicates("seed").set_index("seed")
    out = []
    for point, group in runs.groupby("point", sort=True):
        seeds = group["seed"].astype("int64").to_numpy()
        values = {k: group[k].iloc[0] for k in swept}
        for kpi in kpis:
            mine = _floats(group[kpi]) if kpi in group else np.full(len(group), np.nan)
            theirs = _floats(base[kpi].reindex(seeds)) if kpi in base else np.full(len(group), np.nan)
            both = ~(np.isnan(mine) | np.isnan(theirs))
            est = paired_interval(mine[both], theirs[both])
            out.append({"point": int(point), **values, "kpi": kpi, "n": est.n, "diff_mean": est.mean, "sd": est.sd,
                        "ci_low": est.low, "ci_high": est.high,
                        "baseline_mean": float(theirs[both].mean()) if both.any() else np.nan,
                        "point_mean": float(mine[both].mean()) if both.any() else np.nan})
    return pd.DataFrame(out, columns=["point", *swept, *PAIRED_COLUMNS])


def _floats(column: pd.Series) -> np.ndarray:
    """A KPI column as floats, missing values (None, pd.NA) as NaN."""
    return pd.to_numeric(column, errors="coerce").astype("float64").to_numpy()
