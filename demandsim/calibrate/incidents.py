"""What a command-and-control (CAD) export says about the response side (issue 12).

From the clean incidents table (demandsim/calibrate/read.py: ``created_at``, ``grade``,
``assigned_at``, ``arrived_at``, ``cleared_at``, ``area``, ``unit``, ``call_line``):

- :func:`grade_mix`: the share of a line's answered calls that became an incident of each
  grade, the simulator's ``grading.mix`` (an answered call that raised no incident is a
  ``no_deployment`` call there);
- :func:`response_times`: per deployed grade the travel time (``arrived_at - assigned_at``)
  and the job time (``cleared_at - arrived_at``: on scene and follow-up together, as the
  export cannot tell them apart), each as an empirical distribution that keeps the mean
  (:func:`mean_keeping_values`), the attendance within target the back-test compares with, and
  per area the demand share, travel per grade, travel factor and the units' home areas.

Times are seconds (``*_s``); the empirical values are minutes, as the scenario YAML takes them.

Example:
    >>> import pandas as pd
    >>> incidents = pd.DataFrame({"created_at": pd.to_datetime(["2024-01-01 10:00"] * 3),
    ...     "grade": ["immediate", "prompt", "no_deployment"],
    ...     "assigned_at": pd.to_datetime(["2024-01-01 10:02", "2024-01-01 11:00", None]),
    ...     "arrived_at": pd.to_datetime(["2024-01-01 10:12", "2024-01-01 11:30", None]),
    ...     "cleared_at": pd.to_datetime(["2024-01-01 11:12", "2024-01-01 12:30", None]),
    ...     "area": None, "unit": None, "call_line": ["999", "101", "999"]})
    >>> mix = grade_mix(incidents, {"999": 10, "101": 4})
    >>> mix["lines"]["999"]["mix"]["immediate"], mix["lines"]["999"]["mix"]["no_deployment"]
    (0.1, 0.9)
    >>> times = response_times(incidents)
    >>> times["grades"]["immediate"]["travel"]["mean_s"], times["grades"]["immediate"]["attendance"]["within_target"]
    (600.0, 1.0)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from demandsim.config.schema import DEPLOYED_GRADES, GRADES

try:  # the calibration's own error, once demandsim/calibrate/read.py defines it
    from demandsim.calibrate.read import CalibrationError
except ImportError:  # pragma: no cover - until then, the ValueError it will derive from
    CalibrationError = ValueError

#: lines whose calls raise incidents
LINES = ("999", "101")
#: the grades an answered call's share is counted for; the rest of the calls are no_deployment
COUNTED_GRADES = tuple(g for g in GRADES if g != "no_deployment")
#: at most this many values describe an empirical distribution (means of equal-count groups)
EMPIRICAL_VALUES = 100


def grade_mix(incidents: pd.DataFrame, answered_calls_by_line: dict[str, int]) -> dict:
    """Share of each line's answered calls that became an incident of each grade.

    ``answered_calls_by_line``: answered calls per line (``{"999": n, "101": m}``). An incident
    belongs to the line in its ``call_line``; one without counts as 999 (a note says how many).
    The shares of immediate, priority, prompt and scheduled are their incidents over the line's
    answered calls; ``no_deployment`` is the rest, 1 minus those four (incidents graded
    ``no_deployment`` and answered calls that raised no incident alike: the simulator's
    ``grading.mix`` has no other place for them). Returns ``{"lines": {line: {"answered_calls",
    "incidents": {grade: count}, "mix": {grade: share} | None}}, "notes": [str]}``; ``mix`` is
    None for a line with no answered call and no incident. More incidents than answered calls
    on a line raises CalibrationError (a ValueError) naming ``call_line``.
    """
    notes = []
    line = incidents["call_line"]
    missing = int(line.isna().sum())
    if missing:
        notes.append(f"{missing} incidents without call_line counted as 999")
        line = line.fillna("999")
    line = line.astype(str)
    other = sorted(set(line.unique()) - set(LINES))
    if other:
        example = int(np.flatnonzero(line.to_numpy() == other[0])[0])
        raise CalibrationError(f"call_line={other[0]!r} (incident row {example}): must be one of {list(LINES)}")
    counts = pd.crosstab(line, incidents["grade"]).reindex(index=list(LINES), columns=GRADES, fill_value=0)
    lines = {}
    for name in LINES:
        answered = int(answered_calls_by_line.get(name, 0))
        per_grade = {grade: int(counts.at[name, grade]) for grade in GRADES}
        raised = sum(per_grade.values())
        if name not in answered_calls_by_line and raised == 0:
            continue
        if raised > answered:
            raise CalibrationError(f"call_line={name}: {raised} incidents but only {answered} answered calls on "
                                   "that line (each incident comes from one answered call)")
        mix = None
        if answered:
            mix = {grade: per_grade[grade] / answered for grade in COUNTED_GRADES}
            mix["no_deployment"] = max(0.0, 1.0 - sum(mix.values()))  # rounding only: raised <= answered
        lines[name] = {"answered_calls": answered, "incidents": per_grade, "mix": mix}
    return {"lines": lines, "notes": notes}


def response_times(incidents: pd.DataFrame, period=None, targets_min: dict[str, float] | None = None) -> dict:
    """Travel, job time and attendance within target per deployed grade, and per area.

    ``period``: the data's Period (its ``end`` decides which unattended incidents' targets
    passed); without it, midnight after the last ``created_at``. ``targets_min``: attendance
    targets in minutes per grade, by default ``configs/grading/default.yaml``'s.

    Per grade (``grades``): ``travel`` and ``job`` each ``{"n", "mean_s", "empirical": {"kind":
    "empirical", "values": [minutes]} | None}`` over the incidents with both times (a negative
    duration is left out and counted in ``excluded``); ``attendance``: ``{"target_min", "n",
    "within", "within_target", "not_attended"}``, attendance measured from ``created_at``, over
    the incidents attended plus those never attended whose target passed before the period's
    end (counted outside target); the others' outcome is unknown and they are left out.

    Per area (``areas``, None without any ``area``): ``demand_share`` (of incidents with an
    area), ``travel_mean_s`` per grade, ``travel_factor`` and ``units_home_share``; see
    :func:`area_summary`.
    """
    targets = targets_min if targets_min is not None else default_targets_min()
    end = _period_end(incidents, period)
    grades, excluded = {}, {}
    for grade in DEPLOYED_GRADES:
        rows = incidents[incidents["grade"] == grade]
        travel, bad_travel = _durations(rows["assigned_at"], rows["arrived_at"])
        job, bad_job = _durations(rows["arrived_at"], rows["cleared_at"])
        excluded[grade] = {"negative_travel": bad_travel, "negative_job": bad_job}
        grades[grade] = {"travel": describe(travel), "job": describe(job),
                         "attendance": _attendance(rows, float(targets[grade]), end)}
    return {"grades": grades, "excluded": excluded, "areas": area_summary(incidents)}


def area_summary(incidents: pd.DataFrame) -> dict | None:
    """Per area: demand, travel and where the units are based; None when no incident has an area.

    - ``demand_share``: the area's share of the incidents that name an area (any grade);
    - ``travel_mean_s``: mean travel per deployed grade (None without any);
    - ``travel_factor``: the area's travel against the force's, standardised for its grade mix
      (indirect standardisation): the sum of its travel times over the sum its incidents would
      take at the force-wide mean of their grade. 1 is the force's average; a rural area with
      many prompt incidents is not made slow by prompt's longer travel alone. Travel of units
      from a neighbouring area is included, as the export cannot tell it apart;
    - ``units_home_share``: the share of the units whose home is the area, a unit's home being
      the area it attended most (ties: the first area by name); None without ``unit``.
    """
    has_area = incidents["area"].notna()
    if not has_area.any():
        return None
    located = incidents[has_area]
    area = located["area"].astype(str)
    names = sorted(area.unique())
    demand = area.value_counts().reindex(names) / len(area)
    travel_s, _ = _durations(located["assigned_at"], located["arrived_at"], keep_index=True)
    travel = pd.DataFrame({"area": area[travel_s.index], "grade": located["grade"][travel_s.index],
                           "travel_s": travel_s})
    travel = travel[travel["grade"].isin(DEPLOYED_GRADES)]
    force_mean = travel.groupby("grade")["travel_s"].mean()
    expected = travel["grade"].map(force_mean)
    observed = travel.groupby("area")["travel_s"].sum()
    standard = expected.groupby(travel["area"]).sum()
    by_grade = travel.groupby(["area", "grade"])["travel_s"].mean()
    units_home = None
    attended = located[located["unit"].notna() & located["arrived_at"].notna()]
    if not attended.empty:
        visits = attended.groupby([attended["unit"].astype(str), attended["area"].astype(str)]).size()
        visits = visits.rename("n").reset_index().sort_values(["unit", "n", "area"], ascending=[True, False, True])
        home = visits.drop_duplicates("unit")["area"]
        units_home = {name: float((home == name).sum() / len(home)) for name in names}
    result = {}
    for name in names:
        factor = observed.get(name, 0.0) / standard[name] if standard.get(name, 0.0) > 0 else None
        result[name] = {"demand_share": float(demand[name]),
                        "travel_mean_s": {g: _float_or_none(by_grade.get((name, g))) for g in DEPLOYED_GRADES},
                        "travel_factor": None if factor is None else float(factor),
                        "units_home_share": None if units_home is None else units_home[name]}
    return result


def describe(seconds: np.ndarray) -> dict:
    """``{"n", "mean_s", "empirical"}`` of durations in seconds; the empirical values in minutes."""
    if len(seconds) == 0:
        return {"n": 0, "mean_s": None, "empirical": None}
    return {"n": int(len(seconds)), "mean_s": float(np.mean(seconds)),
            "empirical": {"kind": "empirical", "values": mean_keeping_values(np.asarray(seconds) / 60.0)}}


def mean_keeping_values(values: np.ndarray, groups: int = EMPIRICAL_VALUES) -> list[float]:
    """Up to ``groups`` values whose mean is the data's mean: the means of equal shares of the
    sorted data (a value on a boundary between two groups is split between them, so every
    group weighs exactly n/groups and the mean is kept to rounding, not only approximately).
    The simulator's ``empirical`` kind draws each value with equal probability.

    Example:
        >>> mean_keeping_values(np.array([1.0, 2.0, 3.0, 10.0]), groups=3)
        [1.25, 2.5, 8.25]
        >>> mean_keeping_values(np.array([4.0, 1.0]))
        [1.0, 4.0]
    """
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    n = len(ordered)
    k = min(groups, n)
    cumulative = np.concatenate([[0.0], np.cumsum(ordered)])
    position = np.arange(k + 1) * (n / k)  # group edges, in values
    whole = np.minimum(np.floor(position).astype(np.int64), n)
    part = position - whole
    below = cumulative[whole] + part * ordered[np.minimum(whole, n - 1)]  # sum of the first `position` values
    return [float(v) for v in np.diff(below) * (k / n)]


def default_targets_min() -> dict[str, float]:
    """Attendance targets in minutes per deployed grade, from configs/grading/default.yaml."""
    from demandsim.config import CONFIG_DIR

    with open(Path(CONFIG_DIR) / "grading" / "default.yaml", encoding="utf-8") as handle:
        return {grade: float(minutes) for grade, minutes in yaml.safe_load(handle)["targets"].items()}


def _durations(start: pd.Series, end: pd.Series, keep_index: bool = False):
    """Seconds from ``start`` to ``end`` where both exist and the duration is >= 0; and how many
    were negative (a clock or entry error, left out)."""
    seconds = (pd.to_datetime(end) - pd.to_datetime(start)).dt.total_seconds()
    seconds = seconds[seconds.notna()]
    negative = int((seconds < 0).sum())
    seconds = seconds[seconds >= 0]
    return (seconds if keep_index else seconds.to_numpy(dtype=np.float64)), negative


def _attendance(rows: pd.DataFrame, target_min: float, end: pd.Timestamp) -> dict:
    """Attended within target over the incidents whose outcome is known by ``end``."""
    target = pd.Timedelta(minutes=target_min)
    attended = rows["arrived_at"].notna().to_numpy()
    in_time = attended & ((rows["arrived_at"] - rows["created_at"]) <= target).to_numpy()
    known = attended | (rows["created_at"] + target <= end).to_numpy()
    n = int(known.sum())
    within = int(in_time[known].sum())
    return {"target_min": target_min, "n": n, "within": within, "within_target": within / n if n else None,
            "not_attended": int((known & ~attended).sum())}


def _period_end(incidents: pd.DataFrame, period) -> pd.Timestamp:
    """The period's end, or midnight after the last incident's day."""
    if period is not None:
        return pd.Timestamp(period.end)
    last = pd.to_datetime(incidents["created_at"]).max()
    return (last.normalize() + pd.Timedelta(days=1)) if pd.notna(last) else pd.Timestamp.max


def _float_or_none(value) -> float | None:
    """A plain float, or None for a missing or NaN value."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
