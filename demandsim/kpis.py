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

Whether the units keep up is judged from the backlog of incidents waiting for a
unit (:func:`backlog_kpis`): its size at the end, its trend over the measured
period, and whether that trend is a real, material growth (``stable`` false).

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
from demandsim.model.calendar import DAY, HOUR
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

#: the KPIs that are shares (0..1): their confidence intervals over replications stay within 0..1
#: (demandsim.stats.share_interval; sweep_summary.parquet and the report's report.json). ``stable`` is
#: true/false per run, so its mean over replications is the share of replications that were stable
SHARE_KPIS = ("sl_999_10s", "abandon_rate_999", "abandon_rate_101", "abandon_rate_101_secondary",
              "sl_999_10s_transfers", "abandon_rate_999_transfers", "abandoned_999_never_reached",
              *(f"attend_within_target_{g}" for g in DEPLOYED_GRADES), "attend_within_target_all",
              "appointments_kept_rate", "utilisation_call_handlers", "utilisation_switchboard",
              "utilisation_units", "stable")


def share(flags, among: np.ndarray | None = None):
    """Share of True among the known values (of the rows ``among``), or None when there are none."""
    if isinstance(flags, np.ndarray) and flags.dtype == bool:  # all known: two counts, no copy of the rows
        n = len(flags) if among is None else np.count_nonzero(among)
        return float(np.count_nonzero(flags if among is None else flags & among) / n) if n else None
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


def _flags_and_known(column) -> tuple[np.ndarray, np.ndarray]:
    """A column of True, False and missing as two numpy flags: True (missing as False), and known.
    ``share(flags, among=known & rows)`` is ``share(column, among=rows)``.

    >>> flags, known = _flags_and_known(pd.Series(pd.array([True, None, False], dtype="boolean")))
    >>> flags.tolist(), known.tolist()
    ([True, False, False], [True, False, True])
    """
    column = column if isinstance(column, pd.Series) else pd.Series(column)
    return column.to_numpy(dtype=bool, na_value=False), column.notna().to_numpy()


#: the columns the KPIs read; only these are copied when the warm-up is cut off (a year's
#: call table has 21 columns, and copying them all was most of the time spent on KPIs)
CALL_KPI_COLUMNS = ["line", "origin", "outcome", "route", "wait_s"]
INCIDENT_KPI_COLUMNS = ["grade", "within_target", "t_call_start", "t_ready", "attendance_s", "dispatch_wait_s",
                        "victim_update_due", "diversions", "reviews", "victim_updates", "review_outcome",
                        "t_review_last", "appointment_kept"]


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
    """Rows of 999 calls from the public: first calls and redials, not switchboard transfers
    nor call-backs.

    The Home Office's 999 answer times are about calls reaching the force on 999; a
    101 call the switchboard puts into the 999 queue is counted apart
    (:func:`switchboard_transfers`), and a call-back is a call the force makes.

    >>> calls = pd.DataFrame({"line": ["999", "999", "101", "999", "999"],
    ...                       "origin": ["original", "redial", "original", "switchboard_transfer", "callback"]})
    >>> from_public_999(calls).tolist()
    [True, True, False, False, False]
    """
    return _is(calls["line"], "999") & _is(calls["origin"], "original", "redial")


def follows_999(calls: pd.DataFrame) -> np.ndarray:
    """Per row of a whole calls table (row i is call i): whether the call it follows
    (``parent_call_id``) was on 999. A 999 redial that does is a caller who hung up on 999.

    >>> follows_999(pd.DataFrame({"line": ["999", "101", "999", "999"], "parent_call_id": [-1, -1, 0, 1]})).tolist()
    [False, False, True, False]
    """
    parent = calls["parent_call_id"].to_numpy()
    has_parent = parent >= 0
    out = np.zeros(len(parent), dtype=bool)
    out[has_parent] = _is(calls["line"], "999")[parent[has_parent]]
    return out


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
def line_kpis(calls: pd.DataFrame, after_999: np.ndarray | None = None) -> dict:
    """The call-line KPIs: 999 over calls from the public, switchboard transfers apart; 101.

    ``after_999`` (:func:`follows_999` of these rows) tells a 999 redial after a hang-up on
    999 from one after a hang-up on 101; without it every 999 redial counts as from 101.
    """
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
        "redials_999_from_101": int((is_999 & _is(calls["origin"], "redial")
                                     & (True if after_999 is None else ~after_999)).sum()),
        "transfers_101_to_999": int(transfers.sum()),
        "sl_999_10s_transfers": share(in_time, among=transfers),
        "abandon_rate_999_transfers": share(abandoned, among=transfers),
    }


def recontact_kpis(calls: pd.DataFrame, warmup_s: float, counted: np.ndarray | None = None) -> dict:
    """What became of 999 callers who hung up in the 999 queue, from the whole calls table.

    - ``callbacks_999``: call-backs a call handler made (rang: the caller reached or not),
      due after the warm-up;
    - ``redials_999_from_999``: 999 calls after the warm-up from callers who had hung up on 999;
    - ``abandoned_999_never_reached``: of the callers with a 999 call from the public that
      hung up after the warm-up, the share no 999 handler reached by the end of the run (no
      redial or transfer answered, no call-back that reached them); None if there are none.

    ``counted``: the rows that count (default: offered after the warm-up; a window's KPIs pass
    those offered in its hours too); the contacts that reached a caller count from the whole table.

    >>> calls = pd.DataFrame({"line": ["999", "999", "999", "999"],
    ...     "origin": ["original", "callback", "original", "redial"],
    ...     "outcome": ["abandoned", "answered", "abandoned", "abandoned"],
    ...     "t_offer": [10.0, 200.0, 20.0, 90.0], "origin_call_id": [0, 0, 2, 2], "parent_call_id": [-1, 0, -1, 2]})
    >>> recontact_kpis(calls, 0.0)
    {'callbacks_999': 1, 'redials_999_from_999': 1, 'abandoned_999_never_reached': 0.5}
    """
    origin, outcome = calls["origin"], calls["outcome"]
    measured = calls["t_offer"].to_numpy() >= warmup_s if counted is None else counted
    is_999 = _is(calls["line"], "999")
    callbacks = is_999 & _is(origin, "callback") & _is(outcome, "answered", "callback_unreached") & measured
    caller = calls["origin_call_id"].to_numpy()
    hung_up = np.unique(caller[from_public_999(calls) & _is(outcome, "abandoned") & measured])
    reached = np.zeros(len(caller), dtype=bool)  # by caller (the call id of the caller's first call)
    reached[caller[is_999 & _is(outcome, "answered")]] = True
    return {
        "callbacks_999": int(callbacks.sum()),
        "redials_999_from_999": int((is_999 & _is(origin, "redial") & follows_999(calls) & measured).sum()),
        "abandoned_999_never_reached": share(~reached[hung_up]),
    }


def attendance_kpis(incidents: pd.DataFrame, end_s: float) -> tuple[dict, dict]:
    """The incident KPIs, and counts of the incidents whose attendance or dispatch wait was censored.

    ``end_s`` is the end of the run: an incident without a unit on scene (assigned)
    then is censored at ``end_s`` minus its call's start (its ready time).
    """
    of_grade = {g: _is(incidents["grade"], g) for g in DEPLOYED_GRADES}  # each grade's rows, found once
    # known and True, found once as numpy flags (indexing the pandas BooleanArray per grade was slow)
    within, known = _flags_and_known(incidents["within_target"])
    start, ready = incidents["t_call_start"].to_numpy(), incidents["t_ready"].to_numpy()
    attendance, waits = incidents["attendance_s"].to_numpy(), incidents["dispatch_wait_s"].to_numpy()
    out, counted = {}, {}
    for g in DEPLOYED_GRADES:
        out[f"incidents_{g}"] = int(of_grade[g].sum())
    for g in DEPLOYED_GRADES:
        out[f"attend_within_target_{g}"] = share(within, among=known & of_grade[g])
    out["attend_within_target_all"] = share(within, among=known & deployed(incidents))
    rows_of = {g: np.flatnonzero(of_grade[g]) for g in DEPLOYED_GRADES}  # indexed once, read from several columns
    for g in DEPLOYED_GRADES:
        rows = rows_of[g]
        times, ended = censored_at_end(attendance[rows], start[rows], end_s)
        p90 = percentile_censored(times, ended, ATTEND_PERCENT)
        out[f"attend_p90_min_{g}"] = None if p90 is None else p90 / 60.0
        counted[f"attend_censored_{g}"] = int(len(ended) - np.count_nonzero(ended))
        # the percentile lies beyond the longest time seen: say how far it is at least
        counted[f"attend_p90_min_lower_bound_{g}"] = float(times.max() / 60.0) if p90 is None and len(times) else None
    # an incident resolved by phone stopped waiting for a unit when its review took it out of the queue:
    # its wait is censored there, not at the end of the run (it would never end)
    wait_end = np.where(resolved_by_phone(incidents), _column(incidents, "t_review_last"), end_s)
    for g in DEPLOYED_GRADES:
        rows = rows_of[g]
        times, ended = censored_at_end(waits[rows], ready[rows], wait_end[rows])
        mean = mean_censored(times, ended)
        out[f"dispatch_wait_mean_min_{g}"] = None if mean is None else mean / 60.0
        counted[f"dispatch_wait_censored_{g}"] = int(len(ended) - np.count_nonzero(ended))
    return out, counted


def _column(incidents: pd.DataFrame, name: str) -> np.ndarray:
    """A float column of the incidents, all missing if the table has none (a table from before it existed)."""
    return incidents[name].to_numpy(dtype=np.float64) if name in incidents else np.full(len(incidents), np.nan)


def resolved_by_phone(incidents: pd.DataFrame) -> np.ndarray:
    """Rows of incidents a THRIVE review resolved by phone (never attended: demandsim.model.review)."""
    if "review_outcome" not in incidents:
        return np.zeros(len(incidents), dtype=bool)
    return _is(incidents["review_outcome"], "resolved_by_phone")


def review_kpis(incidents: pd.DataFrame) -> dict:
    """The work a backlog makes and its outcomes, over the measured incidents (each counts with its
    incident, as diversions do; 0 when review is off).

    - ``thrive_reviews``: reviews of incidents still waiting for a unit past their target;
    - ``victim_updates_made``: victim-update calls call handlers made;
    - ``resolved_by_phone_after_review``: incidents a review resolved by phone;
    - ``appointments_booked``: incidents a review booked into an appointment slot;
    - ``appointments_kept_rate``: of those whose slot has ended or that a unit attended, the share
      attended before the slot ended; None when there are none.

    >>> inc = pd.DataFrame({"reviews": [0, 3, 1, 2], "victim_updates": [0, 2, 0, 1],
    ...     "review_outcome": ["none", "stays", "resolved_by_phone", "appointment"],
    ...     "appointment_kept": pd.array([None, None, None, True], dtype="boolean")})
    >>> review_kpis(inc)["thrive_reviews"], review_kpis(inc)["appointments_kept_rate"]
    (6, 1.0)
    """
    outcome = incidents["review_outcome"]
    booked = _is(outcome, "appointment")
    return {
        "thrive_reviews": int(incidents["reviews"].to_numpy().sum()),
        "victim_updates_made": int(incidents["victim_updates"].to_numpy().sum()),
        "resolved_by_phone_after_review": int(_is(outcome, "resolved_by_phone").sum()),
        "appointments_booked": int(booked.sum()),
        "appointments_kept_rate": share(incidents["appointment_kept"], among=booked),
    }


def diversion_kpis(incidents: pd.DataFrame) -> tuple[dict, dict]:
    """``diversions``, units taken off a lower-grade incident for an immediate one, and the count
    of incidents that lost a unit so (``incidents_diverted``), of the measured incidents.

    A diversion counts with the incident the unit was taken from, measured as every incident
    KPI is (its call started after warm-up). 0, not null, when nothing was diverted: a count,
    like ``callbacks_999``.

    >>> diversion_kpis(pd.DataFrame({"diversions": [0, 2, 1, 0]}))
    ({'diversions': 3}, {'incidents_diverted': 2})
    """
    diversions = incidents["diversions"].to_numpy()
    return {"diversions": int(diversions.sum())}, {"incidents_diverted": int(np.count_nonzero(diversions))}


def area_kpis(incidents: pd.DataFrame, model: ModelParts) -> dict | None:
    """summary.json's ``by_area``: per area (demandsim.model.areas), the incident KPIs of
    :func:`attendance_kpis` (``incidents_*``, ``attend_*``, ``dispatch_wait_*``, the force-wide
    names and definitions) over the measured incidents of that area, and
    ``attended_by_neighbour``: the share of its attended incidents (immediate, priority, prompt)
    whose first unit on scene was a neighbouring area's. None with one area.

    Weighted by each area's incidents of a grade, an area KPI that is a share gives the
    force-wide one (the same incidents, split by area).

    >>> from types import SimpleNamespace
    >>> inc = pd.DataFrame({"grade": pd.Categorical(["prompt", "prompt", "prompt"], categories=DEPLOYED_GRADES),
    ...     "area": pd.Categorical(["A", "B", "B"]), "unit_area": pd.Categorical(["A", "A", None]),
    ...     "within_target": pd.array([True, False, pd.NA]), "t_call_start": [0.0, 0.0, 10.0],
    ...     "t_ready": [0.0, 0.0, 10.0], "attendance_s": [60.0, 20000.0, np.nan],
    ...     "dispatch_wait_s": [0.0, 100.0, np.nan], "victim_update_due": False, "diversions": 0,
    ...     "reviews": 0, "victim_updates": 0, "review_outcome": "none", "t_review_last": np.nan,
    ...     "appointment_kept": pd.NA})
    >>> m = SimpleNamespace(areas=SimpleNamespace(count=2, names=("A", "B")), warmup_s=0.0, horizon_s=100.0)
    >>> by = area_kpis(inc, m)
    >>> by["A"]["attend_within_target_prompt"], by["B"]["attend_within_target_prompt"], by["B"]["attended_by_neighbour"]
    (1.0, 0.0, 1.0)
    """
    if model.areas.count < 2:
        return None
    measured = measured_incidents(incidents, model.warmup_s, INCIDENT_KPI_COLUMNS + ["area", "unit_area"])
    area_codes = measured["area"].cat.codes.to_numpy()
    unit_codes = measured["unit_area"].cat.codes.to_numpy()  # -1: no unit on scene (yet)
    with_unit = deployed(measured) & (unit_codes >= 0)
    out = {}
    for code, name in enumerate(model.areas.names):
        rows = area_codes == code
        kpis, _ = attendance_kpis(measured.loc[rows], model.horizon_s)
        kpis["attended_by_neighbour"] = share(unit_codes != code, among=rows & with_unit)
        out[name] = kpis
    return out


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


def utilisation_kpis(intervals: pd.DataFrame, warmup_s: float) -> dict:
    """Busy time within the available headcount over available time, in the measured hours (never above 1).

    ``intervals``: the run's hourly table, or the rows of a window's hours (demandsim.window):
    the hours are whole clock hours, so over a window this is exactly busy over rostered (units:
    available) in those hours.
    """
    out = {}
    for group in UTILISATION_GROUPS:
        within, _, available = busy_within_and_over(intervals, group, warmup_s)
        out[f"utilisation_{group}"] = within / available if available > 0 else None
    return out


def overtime_hours(intervals: pd.DataFrame, warmup_s: float) -> dict:
    """Per staff group, hours busy above the available headcount in the measured hours (for summary.json counts)."""
    return {f"overtime_hours_{group}": busy_within_and_over(intervals, group, warmup_s)[1] / 3600.0
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


# ----------------------------------------------------------------- the backlog: do the units keep up?
#: backlog_growth_per_day needs this many complete measured days (a slope with residuals to judge it by)
GROWTH_MIN_DAYS = 3
#: stable needs this many: a whole week, so that the weekly cycle of demand and rosters is seen at least once
STABLE_MIN_DAYS = 7
#: a growth counts as real when the slope exceeds this many of its standard errors. Three, not two: the
#: standard error is itself estimated from a few weeks of autocorrelated days, so it is uncertain
STABLE_Z = 3.0
#: ... and material when the fitted rise over the measured period exceeds the deployed incidents that
#: arrive in this many hours (half a shift's intake; and one incident). A busy but stationary queue (the
#: baseline's units, over 90% busy) wanders over weeks by up to a couple of hours' intake, now and then
#: steadily enough to pass the test of real growth
MATERIAL_RISE_HOURS = 4.0
#: the lag-1 autocorrelation used to widen the standard error is capped here: a backlog that wanders like
#: a random walk has residuals correlated near 1, and an uncapped factor sqrt((1 + r)/(1 - r)) would then
#: call no growth real however steep (0.9 widens at most 4.4 times)
MAX_AUTOCORRELATION = 0.9


def backlog_at(incidents: pd.DataFrame, t: float) -> int:
    """Deployed incidents (immediate, priority, prompt) ready to dispatch at ``t`` with no unit on them.

    Read from ``t_assigned_last``: missing while an incident waits, never assigned or diverted
    (its unit taken for an immediate incident) and not assigned again. Exact at the end of the
    run, where the KPIs ask; at an earlier ``t`` an incident diverted and re-assigned later
    counts as waiting from its ready time to its last assignment. Incidents a THRIVE review took
    out of the queue are not waiting in it (:func:`out_of_queue_after_review`): resolved by
    phone, or booked into an appointment slot not yet started (counted apart,
    :func:`appointments_waiting_at`); from its slot's start an appointment waits again.

    >>> incidents = pd.DataFrame({"grade": pd.Categorical(["prompt", "prompt", "scheduled", "immediate"]),
    ...                           "t_ready": [10.0, 20.0, 30.0, 200.0],
    ...                           "t_assigned_last": [np.nan, 50.0, np.nan, np.nan]})
    >>> backlog_at(incidents, 100.0)  # the first prompt one; the other was assigned, the immediate one not yet ready
    1
    """
    ready, assigned = incidents["t_ready"].to_numpy(), incidents["t_assigned_last"].to_numpy()
    waiting = (ready <= t) & ~(assigned <= t)  # a missing t_assigned_last compares False: waiting
    return int(np.count_nonzero(deployed(incidents) & waiting & ~out_of_queue_after_review(incidents, t)))


def out_of_queue_after_review(incidents: pd.DataFrame, t: float) -> np.ndarray:
    """Rows of incidents a THRIVE review had taken out of the dispatch queue at ``t``: resolved by
    phone, or booked into an appointment slot that had not started (all False without review columns).

    >>> inc = pd.DataFrame({"review_outcome": ["resolved_by_phone", "appointment", "appointment", "stays"],
    ...                     "t_review_last": [50.0, 50.0, 50.0, 50.0], "t_appointment": [np.nan, 90.0, 200.0, np.nan]})
    >>> out_of_queue_after_review(inc, 100.0).tolist()
    [True, False, True, False]
    """
    if "review_outcome" not in incidents:
        return np.zeros(len(incidents), dtype=bool)
    outcome = incidents["review_outcome"]
    reviewed = _column(incidents, "t_review_last") <= t
    before_slot = ~(_column(incidents, "t_appointment") <= t)
    return reviewed & (_is(outcome, "resolved_by_phone") | (_is(outcome, "appointment") & before_slot))


def appointments_waiting_at(incidents: pd.DataFrame, t: float) -> int:
    """Incidents booked into an appointment slot that had not started at ``t``: waiting for a unit, but
    not in the dispatch queue (so not in :func:`backlog_at`; counted apart)."""
    if "review_outcome" not in incidents:
        return 0
    booked = _is(incidents["review_outcome"], "appointment") & (_column(incidents, "t_review_last") <= t)
    return int(np.count_nonzero(booked & ~(_column(incidents, "t_appointment") <= t)))


def daily_backlog(intervals: pd.DataFrame, warmup_s: float) -> np.ndarray:
    """Mean number of incidents waiting for a unit on each complete day of the measured period.

    From the hourly ``mean_waiting_dispatch`` of the whole hours that start after
    warm-up, 24 at a time; a last part-day is left out (so the daily cycle of demand
    and rosters weighs the same in every value).

    >>> hours = pd.DataFrame({"t_start": np.arange(60) * HOUR, "length_s": np.full(60, HOUR),
    ...                       "mean_waiting_dispatch": np.repeat([9.0, 1.0, 2.0, 4.0], [6, 24, 24, 6])})
    >>> daily_backlog(hours, 6 * HOUR).tolist()  # hours 6-29 and 30-53; 54-59 are a part-day
    [1.0, 2.0]
    """
    start, length = intervals["t_start"].to_numpy(), intervals["length_s"].to_numpy()
    level = intervals["mean_waiting_dispatch"].to_numpy()[(start >= warmup_s) & (length == HOUR)]
    per_day = int(DAY // HOUR)
    days = len(level) // per_day
    return level[: days * per_day].reshape(days, per_day).mean(axis=1)


def trend(values: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of ``values`` against their position (per step), and its standard error.

    The standard error is the ordinary one widened for autocorrelation, as is usual for
    trends in serially correlated series (an AR(1) "effective sample size"): times
    ``sqrt((1 + r) / (1 - r))``, ``r`` the lag-1 autocorrelation of the residuals, taken
    as 0 when negative and capped at :data:`MAX_AUTOCORRELATION`. Days of a busy queue
    are correlated (a bad day leaves work for the next), and the ordinary error would
    call their wanders trends. Needs at least 3 values.

    >>> trend(np.array([1.0, 3.0, 5.0, 7.0]))
    (2.0, 0.0)
    >>> trend(np.array([5.0, 3.0, 6.0, 4.0, 7.0]))  # residuals 1, -1.5, 1, -1.5, 1: r < 0, taken as 0
    (0.5, 0.5)
    """
    n = len(values)
    x = np.arange(n) - (n - 1) / 2
    sxx = float(x @ x)
    centred = values - values.mean()
    slope = float(x @ centred / sxx)
    residuals = centred - slope * x
    spread = float(residuals @ residuals)
    if spread == 0.0:
        return slope, 0.0
    r = min(max(float(residuals[1:] @ residuals[:-1]) / spread, 0.0), MAX_AUTOCORRELATION)
    return slope, float(np.sqrt(spread / (n - 2) / sxx * (1 + r) / (1 - r)))


def backlog_kpis(intervals: pd.DataFrame, incidents: pd.DataFrame, warmup_s: float, end_s: float) -> dict:
    """``backlog_end``, ``backlog_growth_per_day`` and ``stable``: do the units keep up?

    - ``backlog_end``: deployed incidents waiting for a unit (ready, no unit on them) at
      ``end_s``, whenever their call came (:func:`backlog_at`);
    - ``backlog_growth_per_day``: the least-squares slope of the daily mean backlog over
      the complete days of the measured period (:func:`daily_backlog`, :func:`trend`),
      incidents per day. Daily means, so the daily cycle does not read as a trend; null
      with fewer than :data:`GROWTH_MIN_DAYS` days;
    - ``stable``: false when the backlog grows without settling, that is when its growth
      is both real, slope > :data:`STABLE_Z` standard errors, and material, a fitted rise
      over the measured days of more than one incident and more than the deployed
      incidents of :data:`MATERIAL_RISE_HOURS` hours (from the incidents whose call
      started after warm-up); true otherwise; null with fewer than
      :data:`STABLE_MIN_DAYS` days.

    Limits: true means no real, material growth was seen, not that the queue is proven
    stationary. A small overload in a short run can pass for noise (a few incidents a
    day over four weeks, when a busy queue's days wander by tens). A queue still
    filling up when the warm-up ends is called unstable even if it would settle later:
    the measured period is then not a steady state either (lengthen ``run.warmup_days``).
    A run with a seasonal pattern (``arrivals.month_factors``) over months is judged on
    its overall trend.

    >>> hours = pd.DataFrame({"t_start": np.arange(240) * HOUR, "length_s": np.full(240, HOUR),
    ...                       "mean_waiting_dispatch": np.repeat(np.arange(10.0) * 5, 24)})
    >>> incidents = pd.DataFrame({"grade": pd.Categorical(["prompt"] * 48), "t_call_start": np.arange(48) * 5 * HOUR,
    ...                           "t_ready": np.arange(48) * 5 * HOUR, "t_assigned_last": np.nan})
    >>> backlog_kpis(hours, incidents, 0.0, 240 * HOUR)
    {'backlog_end': 48, 'backlog_growth_per_day': 5.0, 'stable': False}
    """
    daily = daily_backlog(intervals, warmup_s)
    out = {"backlog_end": backlog_at(incidents, end_s), "backlog_growth_per_day": None, "stable": None}
    if len(daily) < GROWTH_MIN_DAYS:
        return out
    slope, se = trend(daily)
    out["backlog_growth_per_day"] = slope
    if len(daily) >= STABLE_MIN_DAYS:
        measured = incidents["t_call_start"].to_numpy() >= warmup_s
        per_hour = np.count_nonzero(deployed(incidents) & measured) / ((end_s - warmup_s) / HOUR)
        rise = slope * (len(daily) - 1)  # of the fitted line, from the first measured day to the last
        out["stable"] = not (slope > STABLE_Z * se and rise > max(1.0, MATERIAL_RISE_HOURS * per_hour))
    return out


def kpis_and_counts(records: RunRecords, model: ModelParts) -> tuple[dict, dict]:
    """All KPIs of shared/KPIS.md for one run, and its :func:`counts`; the warm-up cut off once."""
    return measured_kpis(records, model.warmup_s, model.horizon_s)


def measured_kpis(records: RunRecords, warmup_s: float, end_s: float, window=None) -> tuple[dict, dict]:
    """:func:`kpis_and_counts` from the tables alone: the run's warm-up and end in seconds.

    ``window`` (a :class:`demandsim.window.Window`) restricts every KPI to the calls offered,
    and the incidents whose call started, in its hours of the week (after warm-up), and the
    utilisation KPIs to the staff busy and on duty in its hours: the same functions over fewer
    rows, so a window KPI means what the whole-run KPI means. Two KPIs are of the run, not of
    hours of the week: ``backlog_end`` counts the incidents of the window's hours still waiting
    at the end (whenever their call came, as the whole-run one does), and
    ``backlog_growth_per_day`` and ``stable`` are null (their trend is over whole days;
    the whole-run KPIs judge it).
    """
    calls, incidents, intervals = records.calls, records.incidents, records.intervals
    measured = calls["t_offer"].to_numpy() >= warmup_s
    started = incidents["t_call_start"].to_numpy() >= warmup_s
    if window is not None:
        measured &= window.contains(calls["hour_of_week"].to_numpy())
        in_hours = window.contains(incidents["hour_of_week"].to_numpy())
        started &= in_hours
        intervals = intervals.loc[window.contains(intervals["hour_of_week"].to_numpy())]
    measured_calls_ = calls.loc[measured, CALL_KPI_COLUMNS]
    measured_incidents_ = incidents.loc[started, INCIDENT_KPI_COLUMNS]
    kpis = line_kpis(measured_calls_, follows_999(calls)[measured])
    # a caller's later contacts may come after the warm-up and the first before it: the whole table
    kpis.update(recontact_kpis(calls, warmup_s, counted=measured))
    incident_kpis, censored = attendance_kpis(measured_incidents_, end_s)
    kpis.update(incident_kpis)
    diverted, diverted_counts = diversion_kpis(measured_incidents_)
    kpis.update(diverted)
    kpis.update(review_kpis(measured_incidents_))
    kpis.update(utilisation_kpis(intervals, warmup_s))
    if window is None:
        # the backlog at the end counts incidents from the warm-up too: the whole table
        kpis.update(backlog_kpis(intervals, incidents, warmup_s, end_s))
        waiting = incidents
    else:
        waiting = incidents.loc[in_hours]
        kpis.update({"backlog_end": backlog_at(waiting, end_s), "backlog_growth_per_day": None, "stable": None})
    waiting_apart = {"appointments_waiting_at_end": appointments_waiting_at(waiting, end_s)}
    return kpis, {**counts(measured_calls_, measured_incidents_), **censored, **diverted_counts, **waiting_apart,
                  **overtime_hours(intervals, warmup_s)}
