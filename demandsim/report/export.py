"""``report.json``, written beside ``report.html``: what the page shows, for other programs.

The schema (issue 11), exactly::

    {"window": {"hours": str|null, "days": [str]|null},
     "points": [{"point": int, "label": str, "overrides": {...},
                 "kpis": {"<kpi>": {"mean": f, "ci_low": f, "ci_high": f, "n": int}}}],
     "standards": [{"kpi": str, "goal": f, "direction": ">="|"<=", "least_value": any|null, "monotone": bool}],
     "comparison": null | {"baseline_point": int,
                           "points": [{"point": int, "kpis": {"<kpi>": {"diff_mean": f, "ci_low": f,
                                                                          "ci_high": f, "n": int}}}]}}

- ``window``: the runs' ``window`` config (the hours and days every KPI is restricted to),
  nulls when the runs have none (the whole week);
- ``points``: one per point of a sweep (one for a single run: its KPIs, no interval),
  ``overrides`` the swept keys' values (a single run: its command-line overrides); every
  KPI of the runs, its mean over replications and 95% interval (a share's stays within
  0..1: :func:`demandsim.stats.share_interval`), ``n`` the replications measured;
- ``standards``: each goal drawn, with ``goal`` the line (set when the report was made,
  or the runs' config); ``least_value`` the least swept value from which every larger
  value in range meets the goal with the whole 95% interval on the right side
  (:func:`demandsim.report.standards.judge`), null when none does, when the swept key is not
  a number or when other keys are swept too (the page's table has one per setting);
  ``monotone`` whether the points' means move one way along the swept key (false when
  there is no numeric swept key). With ``--baseline``, a second entry per KPI follows
  the fixed goals: "back to the baseline's level", ``goal`` the baseline's mean, judged
  on the interval of the paired difference (its whole interval at or above 0 for a
  ``>=`` KPI, at or below 0 for ``<=``); its ``monotone`` is of the mean differences; a
  baseline that is a point of the same sweep is left out of both (its difference is 0);
- ``comparison``: with ``--baseline``, per point and KPI the mean of per-seed differences
  (point minus baseline) and its 95% t interval, ``n`` the seeds paired;
  ``baseline_point`` the baseline's point in its own sweep (0 for a run folder).

Missing numbers (nothing measured, no interval from one replication) are ``null``.
"""

from __future__ import annotations

import json
import math

import numpy as np

from demandsim.report.data import ReportData
from demandsim.report.standards import judge

REPORT_JSON = "report.json"


def plain(value):
    """A table cell as JSON: numpy numbers as Python's, NaN and missing as None.

    >>> plain(np.int64(3)), plain(float("nan")), plain(np.float64(0.5)), plain("x")
    (3, None, 0.5, 'x')
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _number(value):
    """A mean or bound: a float, or None when missing."""
    value = plain(value)
    return None if value is None else float(value)


def window_block(data: ReportData) -> dict:
    """``{"hours": ..., "days": ...}`` from the runs' ``window`` config; nulls without one."""
    window = data.chosen.config.get("window") or {}
    hours, days = window.get("hours"), window.get("days")
    return {"hours": None if hours is None else str(hours),
            "days": None if days is None else [str(d) for d in days]}


def _points(data: ReportData) -> list[dict]:
    if not data.is_sweep:
        from demandsim.config import override_key

        kpis = data.chosen.summary.get("kpis", {})
        words = [w for w in data.chosen.summary.get("overrides", []) if "=" in w]
        return [{"point": 0, "label": "this run",
                 "overrides": {override_key(w): w.partition("=")[2] for w in words},
                 "kpis": {k: {"mean": _number(v), "ci_low": None, "ci_high": None, "n": 0 if v is None else 1}
                          for k, v in kpis.items()}}]
    from demandsim.sweep.plan import point_label

    out = []
    for point, group in data.summary.groupby("point", sort=True):
        first = group.iloc[0]
        overrides = {k: plain(first[k]) for k in data.swept_keys}
        out.append({"point": int(point), "label": point_label(overrides) or "mean of replications",
                    "overrides": overrides,
                    "kpis": {r["kpi"]: {"mean": _number(r["mean"]), "ci_low": _number(r["ci_low"]),
                                        "ci_high": _number(r["ci_high"]), "n": int(r["n"])}
                             for _, r in group.iterrows()}})
    return out


def _standards(data: ReportData) -> list[dict]:
    key = data.x_key if data.is_sweep and data.x_key is not None and \
        data.x_key not in data.series_keys and _numeric_key(data) else None
    out = []
    for std in data.standards:
        least, monotone = None, False
        if key is not None:
            verdict = judge(std, data.judged(std), key)
            monotone = verdict.monotone
            least = plain(verdict.least) if not data.series_keys else None
            if data.series_keys:  # one line per setting of the other keys: monotone only if each is
                frame = data.judged(std)
                monotone = all(judge(std, part, key).monotone
                               for _, part in frame.groupby(data.series_keys, dropna=False))
        out.append({"kpi": std.kpi, "goal": _number(std.value), "direction": std.direction,
                    "least_value": least, "monotone": bool(monotone)})
    return out


def _numeric_key(data: ReportData) -> bool:
    from demandsim.report.data import _is_number

    return all(_is_number(v) for v in data.summary[data.x_key].dropna())


def _comparison(data: ReportData) -> dict | None:
    if data.baseline is None:
        return None
    points = []
    for point, group in data.comparison.groupby("point", sort=True):
        points.append({"point": int(point),
                       "kpis": {r["kpi"]: {"diff_mean": _number(r["diff_mean"]), "ci_low": _number(r["ci_low"]),
                                           "ci_high": _number(r["ci_high"]), "n": int(r["n"])}
                                for _, r in group.iterrows()}})
    return {"baseline_point": int(data.baseline.point), "points": points}


def report_json(data: ReportData) -> dict:
    """The content of report.json (see the module docstring for the schema)."""
    return {"window": window_block(data), "points": _points(data), "standards": _standards(data),
            "comparison": _comparison(data)}


def dumps(data: ReportData) -> str:
    """report.json's text: strict JSON (no NaN), indented."""
    return json.dumps(report_json(data), indent=1, allow_nan=False) + "\n"
