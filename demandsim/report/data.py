"""What the report shows, computed from a sweep's or a run's folder (no plotting here).

- :func:`load` reads a folder: a sweep (``sweep.json``: tables rebuilt with
  :func:`demandsim.sweep.write_tables`) or a single run (``summary.json``);
- :func:`standards` are the lines drawn on the charts (``report.*`` in the run's config);
- :func:`smallest_staffing` is the table of least values meeting each standard
  (:func:`least_from_which_all_meet` reads it off the swept values);
- :func:`hour_of_week_grid`, :func:`heatmaps` and :func:`average_day` feed the per-run
  charts; which calls and incidents count comes from :mod:`demandsim.kpis`, so a
  heatmap cell is the KPI's definition over one hour of the week.

Example:
    >>> import pandas as pd
    >>> calls = pd.DataFrame({"hour_of_week": [0, 0, 25], "ok": [True, False, True]})
    >>> grid, counts = hour_of_week_grid(calls, "ok")
    >>> grid.shape, float(grid[0, 0]), float(grid[1, 1]), int(counts[0, 0])
    ((7, 24), 0.5, 1.0, 2)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from demandsim import kpis
from demandsim import sweep as sw
from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.errors import ConfigError
from demandsim.outputs import is_complete_run, read_yaml
from demandsim.stats import Interval
from demandsim.sweep.tables import WINDOW_PREFIX

#: keys left out of a sweep's shared-config hash: they vary between its runs by design
PER_RUN_KEYS = ("run.seed", "run.replication", "run.replications", "run.progress")


class ReportError(ValueError):
    """The folder cannot be reported on (one line, naming the folder)."""


@dataclass
class Standard:
    """A line on a chart: ``kpi`` should be >= ``value`` (``at_least``) or <= it."""

    kpi: str
    label: str
    value: float
    at_least: bool
    note: str = ""
    #: the sweep tables' KPI this standard reads: ``kpi``, or ``window.<kpi>`` when the runs set a window
    column: str = ""

    def __post_init__(self) -> None:
        self.column = self.column or self.kpi

    def met(self, interval: Interval) -> bool:
        return interval.above(self.value) if self.at_least else interval.below(self.value)

    @property
    def text(self) -> str:
        return f"{self.label} {'≥' if self.at_least else '≤'} {100 * self.value:g}%"


@dataclass
class RunData:
    """One run's tables and metadata."""

    folder: Path
    summary: dict
    config: dict
    calls: pd.DataFrame
    incidents: pd.DataFrame
    intervals: pd.DataFrame

    @property
    def warmup_s(self) -> float:
        return float(self.summary["warmup_days"]) * 86400.0


@dataclass
class ReportData:
    """Everything the page needs."""

    folder: Path
    scenario: str
    is_sweep: bool
    chosen: RunData
    chosen_label: str
    standards: list[Standard]
    config_hash: str
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    swept_keys: list[str] = field(default_factory=list)
    x_key: str | None = None
    series_keys: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    replications: int = 1
    #: the runs' window (window.hours, window.days) in words, when they set one: the standards read it
    window: str | None = None


# ----------------------------------------------------------------- loading
def load_run(folder: Path) -> RunData:
    folder = Path(folder)
    if not is_complete_run(folder):
        raise ReportError(f"{folder}: not a complete run folder (summary.json, the Parquet tables and "
                          "config.yaml are expected)")
    summary = json.loads((folder / "summary.json").read_text())
    config = read_yaml(folder / "config.yaml")
    return RunData(folder, summary, config, pd.read_parquet(folder / "calls.parquet"),
                   pd.read_parquet(folder / "incidents.parquet"), pd.read_parquet(folder / "intervals.parquet"))


def standards(config: dict) -> list[Standard]:
    """The lines drawn on the charts, from ``report.*`` of a run's config (shares in [0, 1])."""
    rep = config.get("report") or {}
    goals = rep.get("attendance_goal") or {}
    targets = (config.get("grading") or {}).get("targets") or {}

    def share(key: str, value) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            raise ConfigError(key, value, "must be a share between 0 and 1")
        return float(value)

    out = [Standard("sl_999_10s", "999 calls answered within 10 s", share("report.sl_999_10s_goal",
                                                                          rep.get("sl_999_10s_goal", 0.9)), True,
                    "national expectation"),
           Standard("abandon_rate_101", "101 calls abandoned", share("report.abandon_101_max",
                                                                     rep.get("abandon_101_max", 0.05)), False,
                    "national standard for forces with a switchboard")]
    for grade in DEPLOYED_GRADES:
        target = targets.get(grade)
        within = f" (target {_minutes(target)})" if target else ""
        out.append(Standard(f"attend_within_target_{grade}", f"{grade} incidents attended within target{within}",
                            share(f"report.attendance_goal.{grade}", goals.get(grade, 0.9)), True,
                            "goal share assumed (the sources set none): report.attendance_goal"))
    return out


def _minutes(m: float) -> str:
    return f"{m / 60:g} h" if m >= 120 and m % 60 == 0 else f"{m:g} min"


def shared_config_hash(configs: list[dict]) -> str:
    """Hash of what every run of a sweep shares: the config keys whose value is the same in all.

    Swept keys (and whatever they set through interpolation), seeds and replication
    indices drop out by construction, so a sweep has one hash; each run's own hash is
    the ``config_hash`` column of sweep.parquet.
    """
    flat = [_flatten(c) for c in configs]
    if not flat:
        return ""
    shared = {k: v for k, v in flat[0].items()
              if k not in PER_RUN_KEYS and all(f.get(k, _ABSENT) == v for f in flat[1:])}
    return hashlib.sha256(json.dumps(shared, sort_keys=True, default=str).encode()).hexdigest()[:12]


_ABSENT = object()


def _flatten(node, prefix: str = "") -> dict:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(node, list):
        out = {}
        for i, v in enumerate(node):
            out.update(_flatten(v, f"{prefix}.{i}"))
        return out or {prefix: "[]"}
    return {prefix: node}


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def load(folder: Path, run: str | None = None) -> ReportData:
    """Read a sweep folder (with sweep.json) or a run folder; ``run`` picks the per-run charts' run."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such folder")
    if not (folder / sw.MANIFEST).is_file():
        data = load_run(folder)
        window = window_in_words(data.config)
        std = over_window(standards(data.config), window)
        return ReportData(folder, str(data.summary.get("scenario", "")), False, data, "this run", std,
                          str(data.summary.get("config_hash", "")), window=window)
    agg = sw.write_tables(folder)
    if agg.runs.empty:
        raise ReportError(f"{folder}: no finished run in this sweep yet (re-run the sweep command to complete it)")
    runs = agg.runs
    swept = agg.swept_keys
    numeric = [k for k in swept if all(_is_number(v) for v in runs[k].dropna()) and runs[k].notna().any()]
    x_key = numeric[0] if numeric else (swept[0] if swept else None)
    series = [k for k in swept if k != x_key]
    chosen_row = _choose_run(runs, x_key, run)
    chosen = load_run(folder / chosen_row["run_dir"])
    label = (sw.point_label({k: chosen_row[k] for k in swept}) or "the point") + \
        f", replication {int(chosen_row['replication'])} (seed {int(chosen_row['seed'])}, {chosen_row['run_dir']})"
    # the replications of a point differ only in PER_RUN_KEYS: one config per point says what the
    # runs share (reading all 200 of a sweep's took two seconds)
    configs = [read_yaml(folder / d / "config.yaml") for d in runs.drop_duplicates("point")["run_dir"]]
    names = list(dict.fromkeys(str(c.get("scenario_name", "")) for c in configs))
    windows = {window_in_words(c) for c in configs}
    if len(windows) > 1:  # a standard read over one run's window would not be the others'
        raise ReportError(f"{folder}: the runs set different windows ({', '.join(sorted(map(str, windows)))}); "
                          "report on a sweep with one window.hours and window.days")
    window = windows.pop()
    return ReportData(folder, ", ".join(names) or str(agg.manifest.get("scenario", "")), True, chosen,
                      label, over_window(standards(chosen.config), window), shared_config_hash(configs), runs,
                      agg.summary, swept, x_key, series, sw.describe_missing(agg.missing),
                      int(agg.manifest.get("replications", 1)), window)


def window_in_words(config: dict) -> str | None:
    """A run's window (``window.hours``, ``window.days`` of its config.yaml) in words, None without one.

    >>> window_in_words({"window": {"hours": "17-03", "days": ["Fri", "Sat"]}})
    '17:00-03:00, Fri, Sat'
    >>> window_in_words({}) is None
    True
    """
    from demandsim.config.schema import WindowConfig
    from demandsim.window import window_from_config

    block = config.get("window") or {}
    window = window_from_config(WindowConfig(block.get("hours"), block.get("days")))
    return None if window is None else window.label


def over_window(stds: list[Standard], window: str | None) -> list[Standard]:
    """The standards read over the runs' window (``window.<kpi>`` of the sweep tables) when they set one."""
    if window is None:
        return stds
    return [dataclasses.replace(s, column=f"{WINDOW_PREFIX}{s.kpi}", label=f"{s.label}, {window}") for s in stds]


def _choose_run(runs: pd.DataFrame, x_key: str | None, wanted: str | None) -> pd.Series:
    """The run behind the per-run charts: ``wanted`` (a run_id or its start), else
    the lowest replication of the middle point (by the x value)."""
    if wanted:
        hit = runs[runs["run_id"].str.startswith(wanted)]
        if hit.empty:
            raise ReportError(f"--run {wanted}: no finished run of this sweep has that run_id "
                              f"(see the run_id column of sweep.parquet)")
        return hit.iloc[0]
    points = runs.drop_duplicates("point")
    if x_key is not None:
        points = points.sort_values(x_key, kind="stable")
    middle = points.iloc[(len(points) - 1) // 2]["point"]
    return runs[runs["point"] == middle].sort_values("replication").iloc[0]


# ----------------------------------------------------------------- the smallest-staffing table
def capacity_warnings(data: ReportData) -> list[str]:
    """Plain-words warnings for runs whose units could not keep up (``stable`` false).

    A single run carries its own (summary.json's ``warnings``). For a sweep, one line per point
    where any replication's backlog grew without settling, with how many, the mean growth a day
    and the mean backlog at the end: such a point's attendance figures describe a queue still
    growing, so they depend on the run length.

    Example:
        >>> import pandas as pd
        >>> runs = pd.DataFrame({"point": [0, 0, 1, 1], "x": [2, 2, 3, 3], "stable": [0, 0, 1, None],
        ...                      "backlog_growth_per_day": [40.0, 42.0, 0.1, None], "backlog_end": [900, 1100, 2, 3]})
        >>> d = ReportData(Path("."), "s", True, None, "", [], "", runs=runs, swept_keys=["x"])
        >>> capacity_warnings(d)  # doctest: +NORMALIZE_WHITESPACE
        ['x=2: units cannot keep up in 2 of 2 replications: the backlog of incidents waiting for a unit grew by
          41.0 a day (1,000 waiting at the end, means over those replications); attendance figures at this point
          depend on the run length']
    """
    if not data.is_sweep:
        return list(data.chosen.summary.get("warnings", []))
    runs = data.runs
    if "stable" not in runs:
        return []
    out = []
    for point, group in runs.groupby("point", sort=True):
        unstable = group[group["stable"].astype("float64") == 0]
        if unstable.empty:
            continue
        label = sw.point_label({k: group[k].iloc[0] for k in data.swept_keys}) or "the point"
        growth = float(unstable["backlog_growth_per_day"].astype("float64").mean())
        end = float(unstable["backlog_end"].astype("float64").mean())
        out.append(f"{label}: units cannot keep up in {len(unstable)} of {len(group)} replications: the backlog of "
                   f"incidents waiting for a unit grew by {growth:,.1f} a day ({end:,.0f} waiting at the end, "
                   f"means over those replications); attendance figures at this point depend on the run length")
    return out


def smallest_staffing(data: ReportData) -> list[dict]:
    """For each swept key and standard, the least value from which the standard is met with 95% confidence.

    "Met with 95% confidence": the whole 95% confidence interval of the mean over the
    replications lies on the right side of the standard. The answer is the least swept
    value at which it is met and at every larger swept value too
    (:func:`least_from_which_all_meet`); when it is also met at a smaller value below one
    that fails (results not monotone in the key), the row's ``note`` says so. With other
    keys swept too, there is one row per setting of the other keys.

    Each row says which hours it is ``over``: the runs' window (window.hours, window.days) when
    they set one, else the whole week. When a swept key is one shift's staff
    (``staffing.<group>.shifts.<i>.staff``, or ``extra``), its rows come twice: over the whole
    week (or window), and over that shift's own hours (:func:`swept_shift`, computed from each
    run's tables by :func:`shift_summary`), the answer for that shift (:func:`which_answer`).
    """
    if not data.is_sweep or not data.swept_keys:
        return []
    rows = _least_values(data, data.summary, data.standards, data.window or "whole week", data.swept_keys)
    for key in data.swept_keys:  # a shift's staff: its standards over its own hours too, unasked
        window = swept_shift(data, key)
        if window is not None:
            own = standards(data.chosen.config)  # the whole-run KPIs' names, read over the shift's hours
            rows += _least_values(data, shift_summary(data, window, own), own, window.label, [key])
    return rows


def _least_values(data: ReportData, summary: pd.DataFrame, stds: list[Standard], over: str,
                  keys: list[str]) -> list[dict]:
    """:func:`smallest_staffing`'s rows for the swept ``keys`` from a summary table (a ``kpi`` per row,
    read as each standard's ``column``), each row saying which hours it is ``over``."""
    rows = []
    numeric = [k for k in keys if all(_is_number(v) for v in summary[k].dropna())]
    for key in numeric:  # "least value" means nothing for a scenario name
        others = [k for k in data.swept_keys if k != key]
        groups = summary.groupby(others, dropna=False, sort=True) if others else [((), summary)]
        for other_values, group in groups:
            other_values = other_values if isinstance(other_values, tuple) else (other_values,)
            setting = sw.point_label(dict(zip(others, other_values)))
            for std in stds:
                part = group[group["kpi"] == std.column]
                note = ""
                if part.empty or part["mean"].isna().all():
                    answer = "not measured (nothing to measure in these runs)"
                elif (part["n"] < 2).all():
                    answer = "needs 2 or more replications (no confidence interval)"
                else:
                    met = {r[key]: std.met(Interval(r["mean"], r["ci_low"], r["ci_high"], r["sd"], int(r["n"])))
                           for _, r in part.iterrows()}
                    least, stray = least_from_which_all_meet(met)
                    if least is not None:
                        answer = str(least)
                    else:
                        answer = "not met at the largest value in range" if stray else "not met in range"
                    notes = []
                    if stray:
                        notes.append(f"not monotone: also met at {', '.join(str(v) for v in stray)}, "
                                     "below a value that fails")
                    unknown = [str(r[key]) for _, r in part.iterrows() if r["n"] < 2 or r["ci_low"] != r["ci_low"]]
                    if unknown:
                        notes.append(f"no confidence interval at {', '.join(unknown)} (counted as not met)")
                    note = "; ".join(notes)
                rows.append({"key": key, "setting": setting, "over": over, "standard": std.text, "least": answer,
                             "note": note})
    return rows


#: a swept key that is one shift's headcount: the roster's key, shifts or extra, and the shift's index
_SHIFT_STAFF = re.compile(r"^(staffing\.[\w.]+)\.(shifts|extra)\.(\d+)\.staff$")


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
    from demandsim.window import shift_window

    found = _SHIFT_STAFF.match(key)
    if found is None or data.chosen is None:  # no run to read the shift from (a report built by hand)
        return None
    node = data.chosen.config
    for part in found.group(1).split("."):
        node = node.get(part) if isinstance(node, dict) else None
    shifts = node.get(found.group(2)) if isinstance(node, dict) else None
    index = int(found.group(3))
    if not isinstance(shifts, list) or index >= len(shifts):
        return None
    shift = shifts[index]
    start, hours, days = int(shift["start_hour"]), int(shift["hours"]), list(shift["days"])
    end = (start + hours) % 24
    when = f"{start:02d}:00-{end:02d}:00" if hours < 24 else f"{hours} h from {start:02d}:00"
    on = "every day" if sorted(days, key=WEEKDAYS.index) == WEEKDAYS else ", ".join(days)
    shift_key = f"{found.group(1)}.{found.group(2)}.{index}"
    return shift_window(start, hours, days, f"the hours of {shift_key} ({when}, {on})")


def shift_summary(data: ReportData, window, stds: list[Standard]) -> pd.DataFrame:
    """sweep_summary.parquet's rows for the standards' KPIs over ``window``'s hours, per point.

    Each run's KPIs come from its own tables (calls, incidents, intervals) by the functions that
    make the whole-run KPIs (:func:`demandsim.kpis.measured_kpis`), then a 95% t interval over
    each point's replications, as :func:`demandsim.sweep.aggregate` does.
    """
    from demandsim.records import RunRecords
    from demandsim.stats import t_interval

    names = list(dict.fromkeys(s.kpi for s in stds))
    per_run = []
    for _, row in data.runs.iterrows():
        run = load_run(data.folder / row["run_dir"])
        values, _ = kpis.measured_kpis(RunRecords(run.calls, run.incidents, run.intervals), run.warmup_s,
                                       float(run.summary["days"]) * 86400.0, window)
        per_run.append({"point": row["point"], **{k: row[k] for k in data.swept_keys},
                        **{n: np.nan if values[n] is None else float(values[n]) for n in names}})
    table = pd.DataFrame(per_run)
    out = []
    for point, group in table.groupby("point", sort=True):
        for name in names:
            est = t_interval(group[name].to_numpy())
            out.append({"point": point, **{k: group[k].iloc[0] for k in data.swept_keys}, "kpi": name, "n": est.n,
                        "mean": est.mean, "sd": est.sd, "ci_low": est.low, "ci_high": est.high})
    return pd.DataFrame(out, columns=["point", *data.swept_keys, "kpi", "n", "mean", "sd", "ci_low", "ci_high"])


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
def hour_of_week_grid(frame: pd.DataFrame, flag: str) -> tuple[np.ndarray, np.ndarray]:
    """Share of True in column ``flag`` per weekday (rows, Mon first) and hour (columns), and counts.

    Cells with nothing to measure are NaN.
    """
    known = frame[frame[flag].notna()]
    how = known["hour_of_week"].to_numpy(dtype=np.int64)
    hits = np.bincount(how, weights=known[flag].astype(float).to_numpy(), minlength=168)[:168]
    counts = np.bincount(how, minlength=168)[:168]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    return share.reshape(7, 24), counts.reshape(7, 24)


def heatmaps(run: RunData) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The three hour-of-week grids of the per-run chart, over the measured period.

    Each grid is a KPI by hour of the week, with the KPI's own selection of rows:
    ``sl_999_10s`` (999 calls from the public), ``abandon_rate_101`` and
    ``attend_within_target_all``.
    """
    calls = kpis.measured_calls(run.calls, run.warmup_s, columns=None)
    c999 = calls[kpis.from_public_999(calls)]
    c999 = c999.assign(ok=kpis.answered_in_time(c999))
    c101 = calls[kpis.on_101(calls)]
    c101 = c101.assign(abandoned=kpis.abandoned_101(c101))
    inc = kpis.measured_incidents(run.incidents, run.warmup_s, columns=None)
    inc = inc[kpis.deployed(inc)]
    inc = inc.assign(ok=inc["within_target"].astype("float64"))
    return {"sl_999": hour_of_week_grid(c999, "ok"), "abandon_101": hour_of_week_grid(c101, "abandoned"),
            "attendance": hour_of_week_grid(inc, "ok")}


def area_attendance(run: RunData) -> dict[str, dict[str, tuple[float | None, int]]]:
    """Per area of the run (summary.json's ``by_area``, in the run's order), per deployed grade:
    (share attended within target, incidents of the grade). Empty for a run without areas.

    >>> run = RunData(Path("."), {"by_area": {"North": {"attend_within_target_immediate": 0.5,
    ...     "incidents_immediate": 4}}}, {}, None, None, None)
    >>> area_attendance(run)["North"]["immediate"], area_attendance(run)["North"]["prompt"]
    ((0.5, 4), (None, 0))
    """
    by_area = run.summary.get("by_area") or {}
    return {area: {g: (kpis.get(f"attend_within_target_{g}"), int(kpis.get(f"incidents_{g}") or 0))
                   for g in DEPLOYED_GRADES} for area, kpis in by_area.items()}


def average_day(run: RunData) -> pd.DataFrame:
    """Mean of each ``mean_*``/``rostered_*``/``available_*`` column of the intervals table by hour of the day."""
    iv = run.intervals
    iv = iv[iv["t_start"] >= run.warmup_s - 1e-9]
    cols = [c for c in iv.columns if c.startswith(("mean_", "rostered_", "available_"))]
    day = iv.assign(hour_of_day=iv["hour_of_week"] % 24).groupby("hour_of_day")[cols].mean()
    return day.reindex(range(24))
