"""Notes under the sweep charts: a line that is flat, or moves against intuition, with the reason the model gives.

A board shown a line that falls as staff are added, or one that does not move at all,
asks why; the note answers under the chart. Everything is read from the sweep's tables,
nothing is written in for a scenario:

- **the line's trend** (:func:`trend`): the change from the smallest to the largest swept
  value, paired seed by seed when the runs are there (common random numbers: both ends saw
  the same calls), else from the two points' own intervals. It *moves* when that change's
  95% interval excludes 0 and the change is at least half a percentage point; it is *flat*
  when it does not move and every point's mean lies within one percentage point;
- **what the lever should do** (:func:`demandsim.report.words.lever`): staff who answer 999
  calls should raise 999 answered within 10 s, staff who answer 101 should cut 101
  abandonment, units should raise attendance, officers on the phones not on overtime take
  units away; every other pairing should leave the line alone;
- **the note**: a line that gets *worse* as staff are added (any lever), with the model's
  reason when the tables show it (e.g. attendance falls as call handlers are added: fewer
  999 callers abandon, so more incidents reach units, and how busy the units were); a
  *flat* line, with why (the staff swept do not answer those calls; already at the goal's
  side at every point; units not what holds attendance back).

Example:
    >>> join(["priority"]), join(["immediate", "priority", "prompt"])
    ('priority', 'immediate, priority and prompt')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.report.words import Lever, key_words, lever, setting_words
from demandsim.stats import paired_interval

#: a line whose points' means all lie within this of each other is flat (a share: 1 percentage point)
FLAT = 0.01
#: a change smaller than this is not called a move, however tight its interval (half a point)
MOVE = 0.005
#: with one replication (no interval) a change of this much is read as a move
MOVE_WITHOUT_CI = 0.02


@dataclass
class Trend:
    """A line from its smallest to its largest swept value."""

    first: float  # mean at the smallest swept value
    last: float  # mean at the largest
    low: float  # 95% interval of last - first (NaN: no interval)
    high: float
    spread: float  # largest minus smallest mean over the points
    n: int  # replications behind the change

    @property
    def moves(self) -> int:
        """+1 rises, -1 falls, 0 neither."""
        change = self.last - self.first
        if math.isnan(self.low) or math.isnan(self.high):
            return int(np.sign(change)) if abs(change) >= MOVE_WITHOUT_CI else 0
        if abs(change) < MOVE or self.low <= 0 <= self.high:
            return 0
        return 1 if change > 0 else -1

    @property
    def flat(self) -> bool:
        return self.moves == 0 and self.spread < FLAT


def _select(frame: pd.DataFrame, setting: dict) -> pd.DataFrame:
    for k, v in setting.items():
        frame = frame[(frame[k] == v) | (frame[k].isna() & pd.isna(v))]
    return frame


def trend(data, column: str, setting: dict) -> Trend | None:
    """The trend of KPI ``column`` along ``data.x_key`` at one ``setting`` of the other swept keys
    (None with fewer than two points measured)."""
    x_key = data.x_key
    part = _select(data.summary[data.summary["kpi"] == column], setting)
    part = part[part["mean"].notna()].sort_values(x_key)
    if len(part) < 2:
        return None
    means = part["mean"].to_numpy(dtype=float)
    first, last = part.iloc[0], part.iloc[-1]
    runs = data.runs
    if column in getattr(runs, "columns", ()) and "seed" in runs.columns:
        runs = _select(runs, setting)
        ends = [runs[runs[x_key] == first[x_key]], runs[runs[x_key] == last[x_key]]]
        pair = ends[1].set_index("seed")[column].astype("float64").to_frame("last").join(
            ends[0].set_index("seed")[column].astype("float64").to_frame("first"), how="inner")
        est = paired_interval(pair["last"].to_numpy(), pair["first"].to_numpy())
        low, high, n = est.low, est.high, est.n
    else:  # no runs table (a report built by hand): the two points' own intervals, conservatively
        low = float(last["ci_low"]) - float(first["ci_high"])
        high = float(last["ci_high"]) - float(first["ci_low"])
        n = int(min(first["n"], last["n"]))
    return Trend(float(means[0]), float(means[-1]), low, high, float(means.max() - means.min()), n)


def join(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _subjects(subjects: list[str]) -> tuple[str, list[str]]:
    """Several subjects as one (``immediate and priority incidents attended within target`` when they share
    all but their first word), and the word that tells each apart."""
    heads = [s.split(" ", 1)[0] for s in subjects]
    tails = {s.split(" ", 1)[1] if " " in s else "" for s in subjects}
    if len(tails) == 1 and tails != {""}:
        return f"{join(heads)} {tails.pop()}", heads
    return join(subjects), subjects


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _mean_at(data, kpi: str, setting: dict, end: int) -> float:
    """A KPI's mean at the smallest (end=0) or largest (end=-1) swept value of a setting; NaN if absent."""
    part = _select(data.summary[data.summary["kpi"] == kpi], setting).sort_values(data.x_key)
    part = part[part["mean"].notna()]
    return float(part.iloc[end]["mean"]) if len(part) else math.nan


def _range_of(data, kpi: str, setting: dict) -> tuple[float, float] | None:
    part = _select(data.summary[data.summary["kpi"] == kpi], setting)
    values = part["mean"].dropna().astype(float)
    return (float(values.min()), float(values.max())) if len(values) else None


def _busy(data, setting: dict) -> str:
    """``units at 99-103% utilisation`` over the setting's points, or '' without the KPI."""
    span = _range_of(data, "utilisation_units", setting)
    if span is None:
        return ""
    lo, hi = (round(100 * v) for v in span)
    return f"units at {lo}% utilisation" if lo == hi else f"units at {lo}-{hi}% utilisation"


def _why_worse(data, kpi: str, lev: Lever, setting: dict, n: int) -> str:
    """The model's reason for a line that gets worse as staff are added, from the sweep's tables."""
    if kpi.startswith("attend_within_target") and lev.units >= 0 and lev.answers_999:
        incidents = [sum(_mean_at(data, f"incidents_{g}", setting, end) for g in DEPLOYED_GRADES) for end in (0, -1)]
        abandon = [_mean_at(data, "abandon_rate_999", setting, end) for end in (0, -1)]
        busy = _busy(data, setting)
        if not any(math.isnan(v) for v in incidents) and incidents[1] > incidents[0]:
            fewer = (f"fewer 999 callers abandon ({_pct(abandon[0])} to {_pct(abandon[1])})"
                     if not any(math.isnan(v) for v in abandon) and abandon[1] < abandon[0]
                     else "more 999 calls are answered")
            return (f"{fewer}, so more incidents reach units ({incidents[0]:,.0f} to {incidents[1]:,.0f} in the "
                    f"measured period){' at ' + busy.removeprefix('units at ') if busy else ''}")
        if busy:
            return f"{busy} at every point; no more incidents reach them, so this may be noise ({n} replications)"
    return (f"{lev.staff} do not act on it directly in the model: an indirect effect, or noise "
            f"({n} replication{'s' if n != 1 else ''} per point; the paired comparison, --baseline, says which)")


def _why_untouched(kpi: str, lev: Lever, config: dict) -> str:
    """Why a lever leaves a line alone: its staff do not do that work."""
    if kpi == "sl_999_10s":
        return f"{lev.staff} do not answer 999 calls"
    if kpi == "abandon_rate_101":
        pooled = bool(((config or {}).get("staffing") or {}).get("pooled_secondary", False))
        if lev.answers_999 and not pooled:
            return (f"{lev.staff} do not answer 101 calls here: the secondary line has its own handlers "
                    "(staffing.pooled_secondary is false)")
        return f"{lev.staff} do not answer 101 calls"
    return f"{lev.staff} do not attend incidents"


def _why_flat(data, kpi: str, at_least: bool, lev: Lever, setting: dict) -> str:
    """Why a lever that should move a line leaves it flat."""
    span = _range_of(data, kpi, setting)
    if span is not None and at_least and span[0] >= 0.97:
        return f"already {_pct(span[0])} or more at every point"
    if span is not None and not at_least and span[1] <= 0.01:
        return f"already {_pct(span[1])} or less at every point"
    if kpi.startswith("attend_within_target") and lev.units:
        busy = _range_of(data, "utilisation_units", setting)
        if busy is not None and busy[1] < 0.75:
            return (f"units are only {round(100 * busy[0])}-{round(100 * busy[1])}% busy: travel to the "
                    "incident, not waiting for a unit, decides what is attended in target")
    return "over this range the lever moves it by less than a percentage point"


@dataclass
class _Note:
    subject: str
    verb: tuple[str, str]  # for one subject, for several
    reason: str
    values: str  # "54.0% to 52.1%": the line's mean at its two ends


def notes(data, lines: list[tuple[str, str, bool, str]]) -> list[str]:
    """Notes for one chart: ``lines`` are (KPI, its column in the sweep tables, higher is better, subject
    in words), e.g. ``("sl_999_10s", "sl_999_10s", True, "999 calls answered within 10 s")``. Lines with
    the same verdict and reason share a note."""
    if not data.is_sweep or data.x_key is None or data.summary.empty or data.x_key not in data.summary:
        return []
    xs = data.summary[data.x_key].dropna()
    if not len(xs) or not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                              for v in xs):
        return []  # scenarios side by side have no direction
    config = data.chosen.config if data.chosen is not None else {}
    lev = lever(data.x_key, config)
    if lev is None:
        return []
    settings = [dict(zip(data.series_keys, values if isinstance(values, tuple) else (values,)))
                for values, _ in data.summary.groupby(data.series_keys, sort=True, dropna=False)] \
        if data.series_keys else [{}]
    by_text: dict[str, list[str]] = {}  # a note and the settings of the other swept keys it holds for
    for setting in settings:
        found: list[_Note] = []
        for kpi, column, at_least, subject in lines:
            t = trend(data, column, setting)
            if t is None:
                continue
            values = f"{_pct(t.first)} to {_pct(t.last)}"
            if kpi.startswith("attend_within_target"):
                expected = lev.units
            else:
                expected = int(lev.answers_999) if kpi == "sl_999_10s" else int(lev.answers_101)
            better = t.moves * (1 if at_least else -1)
            if better < 0 and expected >= 0:  # worse as staff are added: against intuition
                verb = ("falls", "fall") if t.moves < 0 else ("rises", "rise")
                found.append(_Note(subject, verb, _why_worse(data, kpi, lev, setting, t.n), values))
            elif t.flat and expected == 0:  # the lever's staff do not do this work
                found.append(_Note(subject, ("does not move", "do not move"), _why_untouched(kpi, lev, config),
                                   values))
            elif t.flat:  # the lever should move it, and does not
                found.append(_Note(subject, ("hardly moves", "hardly move"),
                                   _why_flat(data, kpi, at_least, lev, setting), values))
        merged: dict[tuple, list[_Note]] = {}
        for note in found:
            merged.setdefault((note.verb, note.reason), []).append(note)
        for (verb, reason), group in merged.items():
            if len(group) == 1:
                text = f"{group[0].subject} {verb[0]} {lev.adding}, {group[0].values}: {reason}"
            else:
                subjects, firsts = _subjects([g.subject for g in group])
                values = "; ".join(f"{f} {g.values}" for f, g in zip(firsts, group))
                text = f"{subjects} {verb[1]} {lev.adding} ({values}): {reason}"
            by_text.setdefault(text, []).append(setting_words(setting, config))
    out = []
    for text, where in by_text.items():
        if len(where) == len(settings) and len(settings) > 1:  # the same whatever the other swept keys
            prefix = "In every scenario: " if data.series_keys == ["scenario"] else \
                f"At every value of {join([key_words(k, config) for k in data.series_keys])}: "
        else:
            prefix = f"With {join(where)}: " if any(where) else ""
        out.append(prefix + (text if prefix else text[0].upper() + text[1:]) + ".")
    return out
