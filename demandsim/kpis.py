"""KPI definitions (names from shared/KPIS.md), one small function each.

Every KPI is a pure function of the run's tables over the measured period
(after warm-up): calls by offer time, incidents by the start of their call,
utilisation by the hours after warm-up. A KPI with nothing to measure is
``None`` (``null`` in JSON), never 0.

Nothing is dropped silently: a duration still running when the run ends (an
incident with no unit yet) is right-censored at the end of the run and the
attendance percentile and dispatch wait use the Kaplan-Meier estimate
(:func:`kaplan_meier`); how many were censored goes into the run's counts.
The report takes its row selections (:func:`from_public_999`, ...) from here,
so each KPI has one definition.

Example:
    >>> import pandas as pd
    >>> share(pd.Series([True, False, True, True]))
    0.75
    >>> share(pd.Series([], dtype=bool)) is None
    True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.model.plan import STAFF_GROUPS, ModelParts
from demandsim.records import RunRecords

#: "answered within 10 seconds" (national 999 standard)
ANSWER_WITHIN_S = 10.0
#: attend_p90_min_*: the percentile reported, in whole percent, so that "at least 90% of n" is
#: integer arithmetic, exact by construction rather than by floating-point luck
ATTEND_PERCENT = 90
#: slack when asking whether the Kaplan-Meier curve reached a share: its running product is off
#: by a few rounding errors, far less than one of its steps (over 1e-7 for a million incidents)
_KM_SLACK = 1e-9


def share(flags, among: np.ndarray | None = None):
    """Share of True among the known values (of the rows ``among``), or None when there are none."""
    flags = _known(flags, among)
    return float(np.count_nonzero(flags) / len(flags)) if len(flags) else None


def mean_or_none(values, scale: float = 1.0, among: np.ndarray | None = None):
    """Mean of the known values (of the rows ``among``) divided by ``scale``, or None when there are none."""
    values = _known(values, among)
    return float(values.mean() / scale) if len(values) else None


def _known(values, among: np.ndarray | None) -> np.ndarray:
    """The values that are not missing, as a numpy array (rows ``among`` only, if given)."""
    if isinstance(values, np.ndarray):
        known = ~np.isnan(values) if values.dtype.kind == "f" else np.ones(len(values), dtype=bool)
    else:
        values = values if isinstance(values, pd.Series) else pd.Series(values)
        known = values.notna().to_numpy()
        values = values.array  # pandas' own array (a BooleanArray keeps its missing values)
    if among is not None:
        known = known & among
    return np.asarray(values[known])


#: the columns the KPIs read; only these are copied when the warm-up is cut off (a year's
#: call table has 21 columns, and copying them all was most of the time spent on KPIs)
CALL_KPI_COLUMNS = ["line", "origin", "outcome", "route", "wait_s"]
INCIDENT_KPI_COLUMNS = ["grade", "within_target", "t_call_start", "t_ready", "attendance_s", "dispatch_wait_s",
                        "victim_update_due"]


def measured_calls(calls: pd.DataFrame, warmup_s: float, columns: list[str] | None = CALL_KPI_COLUMNS) -> pd.DataFrame:
    """``columns`` (all if None) of the calls offered after warm-up."""
    keep = calls["t_offer"].to_numpy() >= warmup_s
    return calls.loc[keep, columns] if columns is not None else calls.loc[keep]


def measured_incidents(incidents: pd.DataFrame, warmup_s: float,
                       columns: list[str] | None = INCIDENT_KPI_COLUMNS) -> pd.DataFrame:
    """``columns`` (all if None) of the incidents whose call started after warm-up."""
    keep = incidents["t_call_start"].to_numpy() >= warmup_s
    return incidents.loc[keep, columns] if columns is not None else incidents.loc[keep]


def _is(column: pd.Series, *names: str) -> np.ndarray:
    """Rows whose categorical value is one of ``names`` (compares codes: far faster than
    boolean-indexing a pandas Series, which each KPI did before)."""
    out = (column == names[0]).to_numpy()
    for name in names[1:]:
        out = out | (column == name).to_numpy()
    return out


# ----------------------------------------------------------------- which calls count (the report uses these too)
def from_public_999(calls: pd.DataFrame) -> np.ndarray:
    """Rows of 999 calls from the public: first calls and redials, not switchboard transfers.

    The Home Office's 999 answer times are about calls reaching the force on 999; a
    101 call the switchboard puts into the 999 queue is counted apart
    (:func:`switchboard_transfers`).

    >>> calls = pd.DataFrame({"line": ["999", "999", "101", "999"],
    ...                       "origin": ["original", "redial", "original", "switchboard_transfer"]})
    >>> from_public_999(calls).tolist()
    [True, True, False, False]
    """
    return _is(calls["line"], "999") & ~_is(calls["origin"], "switchboard_transfer")


def switchboard_transfers(calls: pd.DataFrame) -> np.ndarray:
    """Rows of 999 calls that are 101 calls the switchboard put into the 999 queue."""
    return _is(calls["line"], "999") & _is(calls["origin"], "switchboard_transfer")


def answered_in_time(calls: pd.DataFrame) -> np.ndarray:
    """Rows answered (999: by a call handler or the digital desk) within :data:`ANSWER_WITHIN_S` seconds.

    >>> answered_in_time(pd.DataFrame({"outcome": ["answered", "answered", "abandoned"],
    ...                                "wait_s": [10.0, 10.5, 3.0]})).tolist()
    [True, False, False]
    """
    return _is(calls["outcome"], "answered") & (calls["wait_s"].to_numpy() <= ANSWER_WITHIN_S)


def on_101(calls: pd.DataFrame) -> np.ndarray:
    """Rows of calls on the 101 line: first calls and redials to 101."""
    return _is(calls["line"], "101")


def abandoned_101(calls: pd.DataFrame) -> np.ndarray:
    """Rows that ended abandoned on 101, at any stage (switchboard queue or secondary line)."""
    return _is(calls["outcome"], "abandoned_switchboard", "abandoned_secondary")


def deployed(incidents: pd.DataFrame) -> np.ndarray:
    """Rows of incidents of a grade that gets a unit within a target (immediate, priority, prompt)."""
    return _is(incidents["grade"], *DEPLOYED_GRADES)


# ----------------------------------------------------------------- durations cut short by the end of the run
def censored_at_end(durations: np.ndarray, started: np.ndarray, end_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Each duration, or the time from its start to the end of the run where it had not ended (missing).

    Returns the times and whether each ended; one that had not is right-censored: it
    lasted at least its time.

    >>> times, ended = censored_at_end(np.array([5.0, np.nan]), np.array([0.0, 80.0]), 100.0)
    >>> times.tolist(), ended.tolist()
    ([5.0, 20.0], [True, False])
    """
    ended = ~np.isnan(durations)
    return np.where(ended, durations, end_s - started), ended


def kaplan_meier(times: np.ndarray, ended: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate of the share of durations longer than each distinct time.

    ``ended[i]`` False means duration ``i`` was cut short (right-censored at ``times[i]``).
    Returns the distinct times, sorted, and the share still running just after each.
    A duration censored at a time counts as still at risk at that time (the usual
    convention, and ``scipy.stats.ecdf``'s, which gives the same curve; scipy.stats is
    not used here because importing it takes over a second, more than a whole run).

    >>> t, still = kaplan_meier(np.array([1.0, 2, 2, 3]), np.array([True, True, False, True]))
    >>> t.tolist(), still.tolist()
    ([1.0, 2.0, 3.0], [0.75, 0.5, 0.0])
    """
    order = np.argsort(times)  # not stable: ties are summed by time below (a stable sort took 8 times longer)
    t, ended = times[order], ended[order]
    if not len(t):
        return t, np.ones(0)
    first = np.empty(len(t), dtype=bool)
    first[0] = True
    np.not_equal(t[1:], t[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    at_risk = len(t) - starts
    ending = np.add.reduceat(ended.astype(np.int64), starts)
    return t[starts], np.cumprod((at_risk - ending) / at_risk)


def percentile_censored(times: np.ndarray, ended: np.ndarray, percent: int) -> float | None:
    """The least time by which ``percent`` % of the durations had ended, censored ones counted.

    With nothing censored this is the empirical percentile with no interpolation,
    ``np.percentile(times, percent, method="inverted_cdf")``; otherwise it is read off
    the Kaplan-Meier curve. None when there are no durations, or when the curve never
    gets to ``percent`` % (so many were cut short that the percentile lies beyond the
    longest time seen: it is known only to exceed ``times.max()``).

    >>> percentile_censored(np.arange(1.0, 11), np.ones(10, dtype=bool), 90)
    9.0
    >>> percentile_censored(np.array([1.0, 2, 5]), np.array([True, False, False]), 90) is None
    True
    """
    n = len(times)
    if ended.all():
        if not n:
            return None
        k = -(-percent * n // 100)  # least k with k / n >= percent / 100, in integers
        return float(np.partition(times, k - 1)[k - 1])
    t, still = kaplan_meier(times, ended)
    reached = np.flatnonzero(still <= (100 - percent) / 100 + _KM_SLACK)
    return float(t[reached[0]]) if len(reached) else None


def mean_censored(times: np.ndarray, ended: np.ndarray) -> float | None:
    """Mean duration, censored ones counted: the area under the Kaplan-Meier curve up to the longest time.

    With nothing censored this is the plain mean. With censored durations it is the
    restricted mean (each duration cut at the longest time seen), a lower bound when
    durations longer than that exist. None when there are no durations.

    >>> mean_censored(np.array([2.0, 4.0]), np.array([True, True]))
    3.0
    >>> mean_censored(np.array([2.0, 4.0]), np.array([True, False]))
    3.0
    """
    if not len(times):
        return None
    if ended.all():
        return float(times.mean())
    t, still = kaplan_meier(times, ended)
    before = np.concatenate(([1.0], still[:-1]))  # the share still running over each gap between times
    return float(np.dot(before, np.diff(t, prepend=0.0)))


# ----------------------------------------------------------------- the KPIs
def line_kpis(calls: pd.DataFrame) -> dict:
    """The call-line KPIs: 999 over calls from the public, switchboard transfers apart; 101."""
    public_999, transfers = from_public_999(calls), switchboard_transfers(calls)
    is_999, is_101 = _is(calls["line"], "999"), on_101(calls)
    outcome, wait = calls["outcome"], calls["wait_s"].to_numpy()
    in_time, abandoned = answered_in_time(calls), _is(outcome, "abandoned")
    forwarded = is_101 & _is(calls["route"], "secondary")
    return {
        "calls_999_offered": int(public_999.sum()),
        "calls_101_offered": int(is_101.sum()),
        "sl_999_10s": share(in_time, among=public_999),
        "abandon_rate_999": share(abandoned, among=public_999),
        "abandon_rate_101": share(abandoned_101(calls), among=is_101),
        "abandon_rate_101_secondary": share(_is(outcome, "abandoned_secondary"), among=forwarded),
        "asa_999_s": mean_or_none(wait, among=public_999 & _is(outcome, "answered")),
        "asa_101_s": mean_or_none(wait, among=is_101),
        "redials_999_from_101": int((is_999 & _is(calls["origin"], "redial")).sum()),
        "transfers_101_to_999": int(transfers.sum()),
        "sl_999_10s_transfers": share(in_time, among=transfers),
        "abandon_rate_999_transfers": share(abandoned, among=transfers),
    }


def attendance_kpis(incidents: pd.DataFrame, end_s: float) -> tuple[dict, dict]:
    """The incident KPIs, and counts of the incidents whose attendance or dispatch wait was censored.

    ``end_s`` is the end of the run: an incident without a unit on scene (assigned)
    then is censored at ``end_s`` minus its call's start (its ready time).
    """
    of_grade = {g: _is(incidents["grade"], g) for g in DEPLOYED_GRADES}  # each grade's rows, found once
    within = incidents["within_target"]
    start, ready = incidents["t_call_start"].to_numpy(), incidents["t_ready"].to_numpy()
    attendance, waits = incidents["attendance_s"].to_numpy(), incidents["dispatch_wait_s"].to_numpy()
    out, counted = {}, {}
    for g in DEPLOYED_GRADES:
        out[f"incidents_{g}"] = int(of_grade[g].sum())
    for g in DEPLOYED_GRADES:
        out[f"attend_within_target_{g}"] = share(within, among=of_grade[g])
    out["attend_within_target_all"] = share(within, among=deployed(incidents))
    for g in DEPLOYED_GRADES:
        rows = of_grade[g]
        times, ended = censored_at_end(attendance[rows], start[rows], end_s)
        p90 = percentile_censored(times, ended, ATTEND_PERCENT)
        out[f"attend_p90_min_{g}"] = None if p90 is None else p90 / 60.0
        counted[f"attend_censored_{g}"] = int(len(ended) - np.count_nonzero(ended))
        # the percentile lies beyond the longest time seen: say how far it is at least
        counted[f"attend_p90_min_lower_bound_{g}"] = float(times.max() / 60.0) if p90 is None and len(times) else None
    for g in DEPLOYED_GRADES:
        rows = of_grade[g]
        times, ended = censored_at_end(waits[rows], ready[rows], end_s)
        mean = mean_censored(times, ended)
        out[f"dispatch_wait_mean_min_{g}"] = None if mean is None else mean / 60.0
        counted[f"dispatch_wait_censored_{g}"] = int(len(ended) - np.count_nonzero(ended))
    return out, counted


#: the staff groups with a utilisation KPI
UTILISATION_GROUPS = ("call_handlers", "switchboard", "units")


def available_column(group: str) -> str:
    """The intervals column of the staff who could take work: units net of breaks and
    abstraction (``available_units``); every other group as rostered."""
    return "available_units" if group == "units" else f"rostered_{group}"


def _measured_weight(iv: pd.DataFrame, warmup_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Each hour's length (s) and the share of it after warm-up."""
    start, length = iv["t_start"].to_numpy(), iv["length_s"].to_numpy()
    return length, np.clip((start + length - warmup_s) / length, 0.0, 1.0)


def busy_within_and_over(iv: pd.DataFrame, group: str, warmup_s: float) -> tuple[float, float, float]:
    """Seconds of ``group``'s measured time: (busy within the available headcount, busy above it, available).

    Hour by hour, busy time up to the hour's available staff counts as work; any above it
    is people finishing a job after the roster (or the units available) dropped at the
    hour: overtime. The engines keep hourly means only, so an hour that starts over its
    headcount and ends under it nets the two: overtime is a lower bound.

    >>> iv = pd.DataFrame({"t_start": [0, 3600], "length_s": [3600, 3600], "mean_busy_units": [2.0, 3.5],
    ...                    "available_units": [2, 3]})
    >>> busy_within_and_over(iv, "units", 0.0)
    (18000.0, 1800.0, 18000.0)
    """
    length, weight = _measured_weight(iv, warmup_s)
    busy = iv[f"mean_busy_{group}"].to_numpy() * length * weight
    available = iv[available_column(group)].to_numpy() * length * weight
    within = np.minimum(busy, available)
    return float(within.sum()), float((busy - within).sum()), float(available.sum())


def utilisation_kpis(records: RunRecords, model: ModelParts) -> dict:
    """Busy time within the available headcount over available time, in the measured hours (never above 1)."""
    out = {}
    for group in UTILISATION_GROUPS:
        within, _, available = busy_within_and_over(records.intervals, group, model.warmup_s)
        out[f"utilisation_{group}"] = within / available if available > 0 else None
    return out


def overtime_hours(records: RunRecords, model: ModelParts) -> dict:
    """Per staff group, hours busy above the available headcount in the measured hours (for summary.json counts)."""
    return {f"overtime_hours_{group}": busy_within_and_over(records.intervals, group, model.warmup_s)[1] / 3600.0
            for group in STAFF_GROUPS}


def counts(calls: pd.DataFrame, incidents: pd.DataFrame) -> dict:
    """Counts that explain the KPIs (for summary.json), of the measured calls and incidents."""
    grade = incidents["grade"]
    with_target = deployed(incidents)
    unknown = incidents["within_target"].isna().to_numpy()
    unattended = incidents["attendance_s"].isna().to_numpy()
    return {
        "calls_open_at_end": int(_is(calls["outcome"], "open_at_end").sum()),
        "incidents_excluded_target_not_yet_due": int((with_target & unknown).sum()),
        "incidents_unattended_past_target": int((with_target & unattended & ~unknown).sum()),
        "victim_updates_due": int((with_target & incidents["victim_update_due"].to_numpy()).sum()),
        "incidents_scheduled": int(_is(grade, "scheduled").sum()),
        "incidents_no_deployment": int(_is(grade, "no_deployment").sum()),
    }


def kpis_and_counts(records: RunRecords, model: ModelParts) -> tuple[dict, dict]:
    """All KPIs of shared/KPIS.md for one run, and its :func:`counts`; the warm-up cut off once."""
    calls = measured_calls(records.calls, model.warmup_s)
    incidents = measured_incidents(records.incidents, model.warmup_s)
    kpis = line_kpis(calls)
    incident_kpis, censored = attendance_kpis(incidents, model.horizon_s)
    kpis.update(incident_kpis)
    kpis.update(utilisation_kpis(records, model))
    return kpis, {**counts(calls, incidents), **censored, **overtime_hours(records, model)}
