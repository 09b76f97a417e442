"""Each standard judged along a sweep: the least swept value from which it is met with 95% confidence.

- :func:`smallest_staffing` is the page's table: per swept key and standard, the least value
  from which the whole 95% interval is on the right side of the line
  (:func:`least_from_which_all_meet`), judged by :func:`judge`, which ``report.json`` uses too;
- over the whole week, or the runs' window (``window.hours``, ``window.days``), and when the
  swept key is one shift's staff also over that shift's own hours (:func:`swept_shift`,
  :func:`shift_summary`, :func:`which_answer`).

Example:
    >>> least_from_which_all_meet({1: False, 2: True, 3: True})
    (2, [])
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from demandsim import kpis
from demandsim import sweep as sw
from demandsim.report.data import ReportData, RunData, Standard, _is_number
from demandsim.report.words import clock_words
from demandsim.stats import Interval
from demandsim.window import shift_window, swept_shift_hours


def smallest_staffing(data: ReportData) -> list[dict]:
    """For each swept key and standard, the least value from which the standard is met with 95% confidence.

    "Met with 95% confidence": the whole 95% confidence interval of the mean over the
    replications lies on the right side of the standard. The answer is the least swept
    value at which it is met and at every larger swept value too
    (:func:`least_from_which_all_meet`); when it is also met at a smaller value below one
    that fails (results not monotone in the key), the row's ``note`` says so. With other
    keys swept too, there is one row per setting of the other keys. A baseline standard
    ("back to the baseline's level", with ``--baseline``) is judged on the interval of
    the paired difference against 0 (:meth:`ReportData.judged`).

    Each row says which hours it is ``over``: the runs' window (window.hours, window.days) when
    they set one, else the whole week. When a swept key is one shift's staff
    (``staffing.<group>.shifts.<i>.staff``, or ``extra``), its rows come twice: over the whole
    week (or window), and over that shift's own hours (:func:`swept_shift`, computed from each
    run's tables by :func:`shift_summary`), the answer for that shift (:func:`which_answer`).
    """
    if not data.is_sweep or not data.swept_keys:
        return []
    rows = _least_values(data, data.standards, data.judged, data.window or "whole week", data.swept_keys)
    for key in data.swept_keys:  # a shift's staff: its standards over its own hours too, unasked
        window = swept_shift(data, key)
        if window is not None:
            # the fixed goals (as set for this report), read by their whole-run KPI names over the shift's hours
            own = [dataclasses.replace(s, column=s.kpi, label=s.label.removesuffix(f", {data.window}"))
                   for s in data.standards if not s.of_baseline]
            table = shift_summary(data, key, window, own)
            rows += _least_values(data, own, lambda std: table[table["kpi"] == std.kpi], window.label, [key])
    return rows


def _least_values(data: ReportData, stds: list[Standard], judged_by, over: str, keys: list[str]) -> list[dict]:
    """:func:`smallest_staffing`'s rows for the swept ``keys``: each standard judged (:func:`judge`)
    on the rows ``judged_by(std)`` gives (one per point), each row saying which hours it is ``over``."""
    summary = data.summary
    rows = []
    numeric = [k for k in keys if all(_is_number(v) for v in summary[k].dropna())]
    for key in numeric:  # "least value" means nothing for a scenario name
        others = [k for k in data.swept_keys if k != key]
        settings = summary[others].drop_duplicates().sort_values(others).itertuples(index=False, name=None) \
            if others else [()]
        judged = [(std, judged_by(std)) for std in stds]
        for other_values in settings:
            setting = sw.point_label(dict(zip(others, other_values)))
            for std, frame in judged:
                part = frame
                for k, v in zip(others, other_values):
                    part = part[(part[k] == v) | (part[k].isna() & pd.isna(v))]
                verdict = judge(std, part, key)
                rows.append({"key": key, "setting": setting, "over": over, "standard": std.text,
                             "least": verdict.answer, "note": verdict.note})
    return rows


@dataclass
class Verdict:
    """A standard judged along one swept key (:func:`judge`)."""

    answer: str  # for the table: the least value, or why there is none
    note: str  # strays (not monotone in the verdicts), points without an interval
    least: object | None  # the least value from which every larger one meets it (None: none)
    monotone: bool  # the means move one way along the key (never up then down, or down then up)


def judge(std: Standard, part: pd.DataFrame, key: str) -> Verdict:
    """``std`` along the swept ``key``, over ``part`` (one row per value: ``mean``, ``ci_low``, ``ci_high``,
    ``sd``, ``n``, from :meth:`ReportData.judged`).

    >>> part = pd.DataFrame({"k": [1, 2, 3], "mean": [0.8, 0.95, 0.93], "ci_low": [0.79, 0.94, 0.92],
    ...                      "ci_high": [0.81, 0.96, 0.94], "sd": 0.01, "n": 5})
    >>> v = judge(Standard("sl_999_10s", "999", 0.9, True), part, "k")
    >>> v.least, v.monotone, v.answer
    (2, False, '2')
    """
    part = part.sort_values(key, kind="stable")
    monotone = moves_one_way(part["mean"].to_numpy(dtype=float))
    if part.empty or part["mean"].isna().all():
        return Verdict("not measured (nothing to measure in these runs)", "", None, monotone)
    if (part["n"] < 2).all():
        return Verdict("needs 2 or more replications (no confidence interval)", "", None, monotone)
    # columns, not rows: iterrows would turn a whole swept value into a float where the other columns are
    rows = list(zip(part[key].tolist(), *(part[c].astype("float64").tolist()
                                          for c in ("mean", "ci_low", "ci_high", "sd", "n"))))
    met = {v: std.met(Interval(m, lo, hi, sd, int(n))) for v, m, lo, hi, sd, n in rows}
    least, stray = least_from_which_all_meet(met)
    if least is not None:
        answer = str(least)
    else:
        answer = "not met at the largest value in range" if stray else "not met in range"
    notes = []
    if stray:
        notes.append(f"not monotone: also met at {', '.join(str(v) for v in stray)}, below a value that fails")
    unknown = [str(v) for v, _, lo, _, _, n in rows if n < 2 or lo != lo]
    if unknown:
        notes.append(f"no confidence interval at {', '.join(unknown)} (counted as not met)")
    return Verdict(answer, "; ".join(notes), least, monotone)


def moves_one_way(means) -> bool:
    """The means (in the order of the swept value) never rise after falling nor fall after rising;
    equal neighbours and missing values break neither.

    >>> moves_one_way([0.5, 0.6, 0.6, 0.9]), moves_one_way([0.9, 0.7]), moves_one_way([0.5, 0.7, 0.6])
    (True, True, False)
    """
    x = np.asarray(means, dtype=float)
    steps = np.diff(x[~np.isnan(x)])
    return bool((steps >= 0).all() or (steps <= 0).all())


def swept_shift(data: ReportData, key: str):
    """The hours of the shift whose staff ``key`` is (a :class:`demandsim.window.Window`), or None when
    ``key`` is not one shift's staff (read from the per-run charts' run's config: a sweep of a
    shift's staff changes nothing else of it).

    >>> run = RunData(Path("."), {}, {"staffing": {"call_handlers": {"shifts": [{}, {}, {"start_hour": 17,
    ...     "hours": 10, "staff": 3, "days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}]}}}, None, None, None)
    >>> d = ReportData(Path("."), "s", True, run, "", [], "")
    >>> swept_shift(d, "staffing.call_handlers.shifts.2.staff").label
    'the hours of staffing.call_handlers.shifts.2 (17:00-03:00, every day)'
    >>> swept_shift(d, "staffing.scale.units") is None
    True
    """
    from demandsim.config.schema import WEEKDAYS

    if data.chosen is None:  # no run to read the shift from (a report built by hand)
        return None
    found = swept_shift_hours(key, data.chosen.config)
    if found is None:
        return None
    name, start, hours, days = found
    on = "every day" if sorted(days, key=WEEKDAYS.index) == WEEKDAYS else ", ".join(days)
    return shift_window(start, hours, days, f"the hours of {name} ({clock_words(start, hours)}, {on})")


def shift_summary(data: ReportData, key: str, window, stds: list[Standard]) -> pd.DataFrame:
    """sweep_summary.parquet's rows for the standards' KPIs over ``window``'s hours (the hours of the
    shift whose staff the swept ``key`` is), per point.

    Each run's KPIs over those hours are the ones its worker wrote into its summary.json
    (:mod:`demandsim.sweep.shifts`), or, for a run written without them, computed from its tables
    by the same function (:func:`demandsim.kpis.measured_kpis`); then a 95% t interval over each
    point's replications, as :func:`demandsim.sweep.aggregate` does.
    """
    from demandsim.stats import interval_for
    from demandsim.sweep.shifts import stored_shift_kpis

    names = list(dict.fromkeys(s.kpi for s in stds))
    per_run = []
    for _, row in data.runs.iterrows():
        folder = data.folder / row["run_dir"]
        summary = json.loads((folder / "summary.json").read_text())
        values = stored_shift_kpis(summary, key, window)
        if values is None:
            values = _kpis_from_tables(folder, summary, window)
        per_run.append({"point": row["point"], **{k: row[k] for k in data.swept_keys},
                        **{n: np.nan if values.get(n) is None else float(values[n]) for n in names}})
    table = pd.DataFrame(per_run)
    out = []
    for point, group in table.groupby("point", sort=True):
        for name in names:
            est = interval_for(name, group[name].to_numpy())
            out.append({"point": point, **{k: group[k].iloc[0] for k in data.swept_keys}, "kpi": name, "n": est.n,
                        "mean": est.mean, "sd": est.sd, "ci_low": est.low, "ci_high": est.high})
    return pd.DataFrame(out, columns=["point", *data.swept_keys, "kpi", "n", "mean", "sd", "ci_low", "ci_high"])


def _kpis_from_tables(folder: Path, summary: dict, window) -> dict:
    """A run's KPIs over ``window``, from its three tables (:func:`demandsim.kpis.measured_kpis`)."""
    from demandsim.records import RunRecords

    calls, incidents, intervals = (pd.read_parquet(folder / f"{name}.parquet")
                                   for name in ("calls", "incidents", "intervals"))
    return kpis.measured_kpis(RunRecords(calls, incidents, intervals), float(summary["warmup_days"]) * 86400.0,
                              float(summary["days"]) * 86400.0, window)[0]


def which_answer(data: ReportData) -> str | None:
    """A sentence for the smallest-staffing table: which hours its answers are over, and which to use.

    >>> run = RunData(Path("."), {}, {}, None, None, None)
    >>> which_answer(ReportData(Path("."), "s", True, run, "", [], "", swept_keys=["x"], window="17:00-03:00, Fri"))
    "Every standard is read over the runs' window (window.hours, window.days): 17:00-03:00, Fri."
    """
    sentences = []
    if data.window:
        sentences.append(f"Every standard is read over the runs' window (window.hours, window.days): {data.window}.")
    for key in data.swept_keys:
        window = swept_shift(data, key)
        if window is not None:
            whole = f"the window {data.window}" if data.window else "the whole week"
            sentences.append(f"{key} is the staff of one shift, who answer only the calls of its hours: the answer "
                             f"to use is the one over {window.label}; the one over {whole} is shown for comparison "
                             "(the shift's own hours can need more staff than a wider span of hours shows).")
    return " ".join(sentences) or None


def least_from_which_all_meet(met: dict) -> tuple[object, list]:
    """The least value ``v`` such that ``met`` is True at ``v`` and at every larger value, and the strays.

    ``met`` maps each swept value to whether the standard is met there. The least value
    is None when the largest value fails. The strays are the values where the standard
    is met but some larger value fails (so they are not an answer): none when the
    results are monotone in the key.

    >>> least_from_which_all_meet({3: False, 4: True, 5: True})
    (4, [])
    >>> least_from_which_all_meet({2: False, 3: True, 4: False, 5: True, 6: True})
    (5, [3])
    >>> least_from_which_all_meet({3: True, 4: False})
    (None, [3])
    """
    values = sorted(met)
    least = None
    for value in reversed(values):
        if not met[value]:
            break
        least = value
    stray = [v for v in values if met[v] and (least is None or v < least)]
    return least, stray


# ----------------------------------------------------------------- per-run views
