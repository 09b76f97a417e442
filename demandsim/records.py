"""The event log: flat, columnar records that every statistic is computed from.

An engine fills three logs while it runs (calls, incidents, hourly levels) and
:func:`finish_records` turns them into the tables written to Parquet. The
tables, not the engine, are the single source of truth: KPIs, sweeps and
reports read only these.

Example:
    >>> log = ColumnLog.from_arrays({"t": (np.float64, np.nan), "n": (np.int64, -1)}, {"t": [2.5], "n": [-1]})
    >>> len(log), log.frame()["t"].tolist(), log.frame()["n"].tolist()
    (1, [2.5], [-1])
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demandsim.config.schema import DEPLOYED_GRADES, GRADES
from demandsim.model.calendar import HOUR
from demandsim.model.grading import SOURCES
from demandsim.model.plan import STAFF_GROUPS, ModelParts
from demandsim.model.review import OUTCOME_APPOINTMENT, REVIEW_OUTCOMES
from demandsim.model.switchboard import ROUTES

LINES = ("999", "101")
LINE_999, LINE_101 = 0, 1
ORIGINS = ("original", "redial", "switchboard_transfer", "callback")
ORIGIN_ORIGINAL, ORIGIN_REDIAL, ORIGIN_TRANSFER, ORIGIN_CALLBACK = range(4)
ANSWERERS = ("call_handler", "digital_desk", "switchboard", "secondary_handler")
BY_CALL_HANDLER, BY_DIGITAL_DESK, BY_SWITCHBOARD, BY_SECONDARY_HANDLER = range(4)
#: every call ends in exactly one of these
OUTCOMES = (
    "answered",  # 999: a call handler or digital-desk officer answered
    "abandoned",  # 999: hung up while waiting
    "closed_at_switchboard",  # 101: dealt with by the switchboard
    "transferred_to_999",  # 101: switchboard put the caller in the 999 queue (a new 999 call row)
    "answered_secondary",  # 101: answered on the secondary line
    "abandoned_switchboard",  # 101: hung up waiting for the switchboard
    "abandoned_secondary",  # 101: hung up waiting on the secondary line
    "callback_unreached",  # 999 call-back: the handler rang, the caller did not answer
    "callback_cancelled",  # 999 call-back: the caller got through first (answered on another contact)
    "open_at_end",  # still waiting, or with the switchboard, when the run ended
)
(ANSWERED, ABANDONED, CLOSED_AT_SWITCHBOARD, TRANSFERRED_TO_999, ANSWERED_SECONDARY,
 ABANDONED_SWITCHBOARD, ABANDONED_SECONDARY, CALLBACK_UNREACHED, CALLBACK_CANCELLED, OPEN_AT_END) = range(len(OUTCOMES))

NAN, NONE = np.nan, -1
CALL_COLUMNS = {
    "origin_call_id": (np.int64, NONE),  # first call of this caller's chain
    "parent_call_id": (np.int64, NONE),  # call this one came from (redial, transfer, call-back)
    "attempt": (np.int16, 0),  # the caller's contact: 0 = first call; a transfer keeps its 101 call's
    "draw_row": (np.int64, NONE),  # row of demandsim.draws.CallDraws
    "line": (np.int8, NONE),
    "origin": (np.int8, ORIGIN_ORIGINAL),
    "t_offer": (np.float64, NAN),  # call-back: when it became due
    "t_answer": (np.float64, NAN),  # 101: switchboard answer; call-back: when a handler rang
    "answered_by": (np.int8, NONE),
    "t_end": (np.float64, NAN),  # end of talk, hang-up, or transfer
    "outcome": (np.int8, NONE),
    "route": (np.int8, NONE),  # 101: switchboard decision
    "t_secondary_offer": (np.float64, NAN),
    "t_secondary_answer": (np.float64, NAN),
    "secondary_answered_by": (np.int8, NONE),
    "incident_id": (np.int64, NONE),
    "next_call_id": (np.int64, NONE),  # the first contact this call led to: redial, transfer or call-back
}
INCIDENT_COLUMNS = {
    "call_id": (np.int64, NONE),
    "source": (np.int8, NONE),  # grading source (demandsim.model.grading.SOURCES)
    "grade": (np.int8, NONE),
    "t_call_start": (np.float64, NAN),  # attendance is measured from here
    "t_ready": (np.float64, NAN),  # question set finished: ready to dispatch
    # With dispatch.divert_from, a priority or prompt incident's unit may be taken off it for an
    # immediate one (demandsim.model.dispatch); it then waits again and gets another unit later.
    # For an incident never diverted (diversions 0) t_assigned_last equals t_assigned and every
    # other column means what it meant before diversion existed.
    "t_assigned": (np.float64, NAN),  # the first unit assigned: the dispatch wait ends here
    "t_on_scene": (np.float64, NAN),  # the first unit on scene: attendance, even if it was diverted later
    "t_clear": (np.float64, NAN),  # the unit on it free again; missing while diverted and waiting again
    "t_assigned_last": (np.float64, NAN),  # the unit now on it (or that cleared it) assigned; missing while waiting
    "diversions": (np.int32, 0),  # units taken off this incident for an immediate one
    # THRIVE review (review.enabled, demandsim.model.review): of an incident still waiting for its
    # first unit at its target, then every review.interval while it waits. All 0 / none / missing
    # when review is off or the incident was never reviewed
    "reviews": (np.int32, 0),  # reviews made
    "victim_updates": (np.int32, 0),  # victim-update calls a call handler made (one per review that kept it)
    "review_outcome": (np.int8, 0),  # the last review's outcome (REVIEW_OUTCOMES; 0 "none": never reviewed)
    "t_review_last": (np.float64, NAN),  # the last review: for resolved_by_phone and appointment, when it left the queue
    "t_resolved": (np.float64, NAN),  # resolved_by_phone: the end of the call that resolved it
    "t_appointment": (np.float64, NAN),  # appointment: start of its slot, when it waits for a unit again
    # areas (demandsim.model.areas): the incident's, and that of the unit that attended (arrived
    # first, or is on its way to arrive after the end of the run), a neighbouring area's when it
    # differs; missing while no unit has arrived or is on its way
    "area": (np.int16, 0),
    "unit_area": (np.int16, NONE),
}
#: time-integrated levels kept per simulated hour
LEVELS = ("waiting_999", "waiting_switchboard", "waiting_secondary", "waiting_dispatch", "waiting_callbacks") + tuple(
    f"busy_{g}" for g in STAFF_GROUPS
) + (
    "waiting_review_calls",  # victim updates, phone resolutions and bookings waiting for a call handler
    "waiting_appointment",  # incidents booked into an appointment slot that has not started
)


class ColumnLog:
    """An engine's finished log: numpy columns, one row per record; columns are attributes.

    Each engine fills its own growing log while it runs (the SimPy engine's ``_Log``,
    the fast engine's arrays) and hands it over as one of these.
    """

    def __len__(self) -> int:
        return self._n

    @classmethod
    def from_arrays(cls, columns: dict, arrays: dict) -> "ColumnLog":
        """A full log made of the given column arrays (all of one length, names as ``columns``)."""
        log = cls.__new__(cls)
        log._spec = columns
        lengths = {len(arrays[name]) for name in columns}
        if len(lengths) != 1:
            raise ValueError(f"columns of unequal length: {sorted(lengths)}")
        log._n = lengths.pop()
        for name, (dtype, _default) in columns.items():
            setattr(log, name, np.asarray(arrays[name], dtype=dtype))
        return log

    def frame(self) -> dict:
        """The filled rows, column by column."""
        return {name: getattr(self, name)[: self._n] for name in self._spec}


@dataclass
class RunRecords:
    """What one run produced: the three tables, in seconds from time 0."""

    calls: pd.DataFrame
    incidents: pd.DataFrame
    intervals: pd.DataFrame


@functools.lru_cache(maxsize=None)
def _category_dtype(names: tuple) -> pd.CategoricalDtype:
    """One dtype per list of names, built once (building it is most of a small table's cost)."""
    return pd.CategoricalDtype(list(names))


def _categorical(codes: np.ndarray, names) -> pd.Categorical:
    """The codes as a categorical of ``names``, without copying them when they are already small ints."""
    return pd.Categorical.from_codes(codes, dtype=_category_dtype(tuple(names)))


def _hour_index(t: np.ndarray) -> np.ndarray:
    """``(t // HOUR).astype(np.int64)`` for times ``t >= 0``, without float floor division (slow in numpy).

    ``t / HOUR`` rounds to the exact quotient's floor or to one above it, and ``h * HOUR``
    is exact, so the correction gives the same integers.
    """
    q = t / HOUR
    h = q.astype(np.int64)
    h -= np.multiply(h, HOUR, out=q) > t  # q's memory reused: a fresh array costs more than the arithmetic
    return h


def _hour_of_week(t: np.ndarray, horizon: float, start_how: int) -> np.ndarray:
    """``(t // HOUR + start_how) % 168`` for times ``0 <= t <= horizon``: the hour's entry in a
    table of every hour of the run (an integer modulo per time is several times slower)."""
    week = (np.arange(int(horizon // HOUR) + 1, dtype=np.int64) + start_how) % 168
    return week[_hour_index(t)]


def _past_horizon_missing(t: np.ndarray, horizon: float) -> np.ndarray:
    """A copy of ``t`` with times after the horizon missing (few are: cheaper than np.where)."""
    t = t.copy()
    t[t > horizon] = np.nan
    return t


def finish_records(model: ModelParts, calls: ColumnLog, incidents: ColumnLog, levels: np.ndarray) -> RunRecords:
    """Build the output tables from an engine's logs at the end of the run.

    Times after the horizon (a talk or an attendance still under way) become
    missing; calls without an outcome become ``open_at_end``. Columns are not
    copied unless changed here (a year's log is large).
    """
    horizon = model.horizon_s
    start_how = model.calendar.start_hour_of_week
    c = dict(calls.frame())
    c["outcome"] = np.where(c["outcome"] == NONE, OPEN_AT_END, c["outcome"])
    c["t_end"] = _past_horizon_missing(c["t_end"], horizon)
    codes = {"line": LINES, "origin": ORIGINS, "outcome": OUTCOMES, "answered_by": ANSWERERS,
             "secondary_answered_by": ANSWERERS, "route": ROUTES}
    columns = {"call_id": np.arange(len(calls), dtype=np.int64)}
    for name, values in c.items():
        columns[name] = _categorical(values, codes[name]) if name in codes else values
    columns["wait_s"] = c["t_answer"] - c["t_offer"]  # missing if unanswered: NaN - t is that NaN
    columns["secondary_wait_s"] = c["t_secondary_answer"] - c["t_secondary_offer"]
    columns["hour_of_week"] = _hour_of_week(c["t_offer"], horizon, start_how)
    calls_df = pd.DataFrame(columns, copy=False)

    i = dict(incidents.frame())
    for name in ("t_on_scene", "t_clear", "t_resolved"):
        i[name] = _past_horizon_missing(i[name], horizon)
    grade = i["grade"]
    deployed = grade < len(DEPLOYED_GRADES)
    # target by grade code: the deployed grades' targets, missing for the others
    target_of = np.full(len(GRADES), np.nan)
    target_of[: len(DEPLOYED_GRADES)] = model.grading.target_s[: len(DEPLOYED_GRADES)]
    target = target_of[grade]
    deadline = i["t_call_start"] + target
    attendance = i["t_on_scene"] - i["t_call_start"]
    attended = ~np.isnan(i["t_on_scene"])
    # True/False where known; missing (NA) if not deployed, or unattended and the target has not passed yet
    within = pd.arrays.BooleanArray(attended & (attendance <= target),
                                    ~deployed | (~attended & (deadline > horizon)))
    # still waiting for a unit when the target passed: the victim is owed an update
    waited_until = np.where(np.isnan(i["t_assigned"]), horizon, i["t_assigned"])
    columns = {"incident_id": np.arange(len(incidents), dtype=np.int64)}
    for name, values in i.items():
        columns[name] = values
    columns["source"] = _categorical(i["source"], SOURCES)
    columns["review_outcome"] = _categorical(i["review_outcome"], REVIEW_OUTCOMES)
    columns["grade"] = _categorical(i["grade"], GRADES)
    columns["area"] = _categorical(i["area"], model.areas.names)
    columns["unit_area"] = _categorical(i["unit_area"], model.areas.names)
    columns["target_s"] = target
    columns["attendance_s"] = attendance
    columns["dispatch_wait_s"] = i["t_assigned"] - i["t_ready"]
    columns["within_target"] = within
    columns["victim_update_due"] = deployed & (waited_until > deadline) & (deadline <= horizon)
    # an appointment is kept when a unit is on scene before its slot ends; missing when not booked,
    # or when no unit has arrived and the slot had not ended when the run ended
    booked = i["review_outcome"] == OUTCOME_APPOINTMENT
    slot_end = i["t_appointment"] + model.review.slots.slot_s
    on_time = attended & (i["t_on_scene"] <= slot_end)
    columns["appointment_kept"] = pd.arrays.BooleanArray(booked & on_time, ~booked | (~on_time & (slot_end > horizon)))
    columns["hour_of_week"] = _hour_of_week(i["t_call_start"], horizon, start_how)
    inc = pd.DataFrame(columns, copy=False)

    # the hourly table is small: its columns are copied, so none of them is a view of the model
    hours = levels.shape[1]
    t_start = np.arange(hours, dtype=np.int64) * HOUR
    length = np.minimum(HOUR, horizon - t_start)
    columns = {"hour": np.arange(hours, dtype=np.int64), "hour_of_week": model.calendar.hour_of_week[:hours].copy(),
               "t_start": t_start, "length_s": length}
    for k, name in enumerate(LEVELS):
        columns[f"mean_{name}"] = levels[k] / length
    for group in STAFF_GROUPS:  # on duty and paid
        columns[f"rostered_{group}"] = model.rostered[group][:hours].copy()
    # what the engine staffed dispatch with: net of meal breaks and abstraction (demandsim.model.response)
    columns["available_units"] = model.headcount["units"][:hours].copy()
    if model.areas.count > 1:  # and in each area
        for area, name in enumerate(model.areas.names):
            columns[f"available_units_{name}"] = model.units_by_area[area, :hours].copy()
    return RunRecords(calls_df, inc, pd.DataFrame(columns, copy=False))
