"""The fast engine: the reference model's event loop, compiled with numba.

It is the SimPy engine (:mod:`demandsim.engines.simpy_engine`) step for step:
the same handlers in the same order, the same tie rule (events at one instant
happen in the order they were scheduled), the same floating-point expressions
for every time, reading the same draws (a :class:`~demandsim.draw_window.DrawWindow`:
the draw columns hold the callers still needed; at the end of each simulated day Python
draws the next day's callers and lets go of those no pending event or queue can reach).
So both engines write identical ``calls.parquet`` and ``incidents.parquet``
(tests/test_engines_equal.py checks this on every shipped scenario). Keep the
two in step: a change to the model goes into both, or the equality test fails.

Speed comes from state in flat arrays (no Python object per call or event), a
binary heap of pending events ordered by (time, sequence number) with each
line's next arrival kept beside it, one event where two would fall at one
instant (the question set and the work ending together), and small
compiled functions, one per step of the story, that all take the same tuple
of state arrays ``W`` (positions ``W_*`` below), run without reference
counting and are inlined into the loop (``_step``). The loop is resumable: it stops at
a chosen time (for the progress bar) or when an array is full (Python grows it
and carries on), so memory follows the run instead of a worst-case bound. The
first run in a fresh checkout compiles; the compiled code is cached on disk.

Example:
    >>> from demandsim.config import load_config
    >>> from demandsim.model.plan import build_plan
    >>> plan = build_plan(load_config(["scenario=validation/erlang_a", "run.days=1", "run.warmup_days=0"]))
    >>> records = FastEngine().run(plan)
    >>> len(records.calls) == len(plan.arrivals_999)
    True
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from demandsim.draw_window import COLUMN_DTYPES, REVIEW_COLUMNS, DrawWindow
from demandsim.draws import caller_routes_101
from demandsim.model.calendar import HOUR
from demandsim.model.plan import RunPlan, STAFF_GROUPS
from demandsim.model.switchboard import ROUTE_SECONDARY, ROUTE_TO_999
from demandsim.records import (
    CALL_COLUMNS, INCIDENT_COLUMNS, LEVELS, ColumnLog, RunRecords, finish_records,
)

# Staff groups, in STAFF_GROUPS order (the order the roster process updates them). The units of
# area a (demandsim.model.areas) are group UNITS + a: one group per area, after the hub's four
CH, SEC, DD, SW, UNITS = range(5)
# Levels, in LEVELS order
W999, WSWITCH, WSEC, WDISPATCH, WCALLBACK = range(5)
BUSY0 = 5  # busy level of group g is BUSY0 + g
WREVIEW, WAPPOINTMENT = 10, 11  # review calls waiting for a call handler; incidents waiting for their slot
# Codes shared with demandsim.records / demandsim.model (checked in _check_codes below)
ANSWERED, ABANDONED, CLOSED_AT_SWITCHBOARD, TRANSFERRED_TO_999 = 0, 1, 2, 3
ANSWERED_SECONDARY, ABANDONED_SWITCHBOARD, ABANDONED_SECONDARY = 4, 5, 6
CALLBACK_UNREACHED, CALLBACK_CANCELLED = 7, 8
BY_CALL_HANDLER, BY_DIGITAL_DESK, BY_SWITCHBOARD, BY_SECONDARY_HANDLER = 0, 1, 2, 3
ORIGIN_REDIAL, ORIGIN_TRANSFER, ORIGIN_CALLBACK = 1, 2, 3
CALLBACK_SCHEDULED = -2  # a caller's call-back is due later (simpy_engine.CALLBACK_SCHEDULED)
LINE_999, LINE_101 = 0, 1
SOURCE_999, SOURCE_FROM_101, SOURCE_SECONDARY = 0, 1, 2
N_DEPLOYED = 3
NONE = -1
# Event kinds
EV_ARRIVAL_999, EV_ARRIVAL_101, EV_ROSTER, EV_HANGUP_999, EV_HANGUP_SWITCHBOARD = 0, 1, 2, 3, 4
EV_HANGUP_SECONDARY, EV_TRIAGE_ENDS, EV_QUESTION_SET_ENDS, EV_FINISH_WORK, EV_REDIAL = 5, 6, 7, 8, 9
EV_QUESTION_SET_ENDS_THEN_FINISH = 10  # both at one time: b = source + SOURCE_SPAN * staff group
EV_CALLBACK_DUE = 11
EV_UNIT_FREE = 12  # a = incident, b = its diversions when the unit was assigned (stale if they changed)
EV_REVIEW, EV_APPOINTMENT = 13, 14  # a = incident: its review is due; its appointment slot starts
EV_NEIGHBOURS_MAY_GO = 15  # a = incident: its grade's neighbour_after has passed (simpy_engine.neighbours_may_go)
# dispatch.divert_from codes and the grade that may divert (demandsim.model.dispatch)
DIVERT_NONE, DIVERT_TRAVELLING, DIVERT_ON_SCENE = 0, 1, 2
DIVERTS_TO = 0
SOURCE_SPAN = 8
# THRIVE review codes (demandsim.model.review)
OUTCOME_STAYS, OUTCOME_RESOLVED_BY_PHONE, OUTCOME_APPOINTMENT = 1, 2, 3
WORK_VICTIM_UPDATE, WORK_PHONE_RESOLUTION, WORK_BOOKING = 0, 1, 2
N_WORK = 4  # a review call in W_RQ is incident * N_WORK + its kind
DAY_S = 86400.0
BELOW_ONE = float(np.nextafter(1.0, 0.0))


def _check_codes() -> None:
    """The numeric codes above must match the reference definitions."""
    from demandsim import records as r
    from demandsim.model import grading as g
    from demandsim.model import plan as p

    assert STAFF_GROUPS == ("call_handlers", "secondary_handlers", "digital_desk", "switchboard", "units")
    from demandsim.engines import simpy_engine as e

    assert LEVELS[:BUSY0] == ("waiting_999", "waiting_switchboard", "waiting_secondary", "waiting_dispatch",
                              "waiting_callbacks")
    assert LEVELS[BUSY0:WREVIEW] == tuple(f"busy_{name}" for name in STAFF_GROUPS)
    assert LEVELS[WREVIEW:] == ("waiting_review_calls", "waiting_appointment")
    assert (r.ANSWERED, r.ABANDONED, r.CLOSED_AT_SWITCHBOARD, r.TRANSFERRED_TO_999, r.ANSWERED_SECONDARY,
            r.ABANDONED_SWITCHBOARD, r.ABANDONED_SECONDARY, r.CALLBACK_UNREACHED,
            r.CALLBACK_CANCELLED) == (0, 1, 2, 3, 4, 5, 6, 7, 8)
    assert (r.BY_CALL_HANDLER, r.BY_DIGITAL_DESK, r.BY_SWITCHBOARD, r.BY_SECONDARY_HANDLER) == (0, 1, 2, 3)
    assert (r.ORIGIN_REDIAL, r.ORIGIN_TRANSFER, r.ORIGIN_CALLBACK) == (1, 2, 3)
    assert (r.LINE_999, r.LINE_101, r.NONE) == (0, 1, -1)
    assert e.CALLBACK_SCHEDULED == CALLBACK_SCHEDULED
    assert tuple(e.CALLER_COLUMNS) == CI_CALLER_NAMES
    assert [default for _, default in e.CALLER_COLUMNS.values()] == list(CI_DEFAULTS[len(CI_NAMES):])
    assert (p.ROUTE_TO_999, p.ROUTE_SECONDARY) == (0, 1)
    assert (g.SOURCE_999, g.SOURCE_FROM_101, g.SOURCE_SECONDARY, g.N_DEPLOYED) == (0, 1, 2, 3)
    from demandsim.model import dispatch as dp

    assert (dp.DIVERT_NONE, dp.DIVERT_TRAVELLING, dp.DIVERT_ON_SCENE, dp.DIVERTS_TO) == (
        DIVERT_NONE, DIVERT_TRAVELLING, DIVERT_ON_SCENE, DIVERTS_TO)
    from demandsim.model import calendar as cal
    from demandsim.model import review as rv

    assert (rv.OUTCOME_STAYS, rv.OUTCOME_RESOLVED_BY_PHONE, rv.OUTCOME_APPOINTMENT) == (
        OUTCOME_STAYS, OUTCOME_RESOLVED_BY_PHONE, OUTCOME_APPOINTMENT)
    assert (rv.WORK_VICTIM_UPDATE, rv.WORK_PHONE_RESOLUTION, rv.WORK_BOOKING) == (
        WORK_VICTIM_UPDATE, WORK_PHONE_RESOLUTION, WORK_BOOKING) and len(rv.WORK) < N_WORK
    assert cal.DAY == DAY_S and rv.BELOW_ONE == BELOW_ONE
    assert tuple(e.INCIDENT_ENGINE_COLUMNS) == ("unit_now", "travel", "on_scene_left")  # II_UNIT_NOW, IF_*
    assert tuple(e.REVIEW_ENGINE_COLUMNS) == ("review_u", "victim_update_time", "phone_resolution_time",
                                              "booking_time")  # IF_REVIEW_U, then W_INC_RT's rows




# ---------------------------------------------------------------- the state W
# All state of a run is one tuple of arrays, W; these are the positions of its members.
# The compiled functions run without numba's reference counting (_nrt=False): they
# allocate nothing, and W's arrays are owned by the Python caller for the whole run,
# so no reference needs counting (counting them was half the loop's time).
#: the 1-D draw columns of CallDraws, each its own field of the state
DRAW_FIELDS = ("patience_999", "patience_switchboard", "patience_secondary", "triage", "question_999", "rest_999",
           "wrap_999", "question_secondary", "rest_secondary", "wrap_secondary", "u_grade", "u_redial",
           "redial_delay", "redial_999_delay", "callback_delay", "u_reach", "unreached_time", "rings_999_again")
PF_HORIZON, PF_TO_999, PF_TO_101, PF_REACH = range(4)
(PI_DD_THRESHOLD, PI_MAX_ATTEMPTS, PI_N_999, PI_ATTEMPTS, PI_SECONDARY_STAFF, PI_EVENT_MARGIN, PI_CALLBACKS,
 PI_PATIENCE_CONTINUES, PI_DIVERT_FROM) = range(9)
#: review.enabled, and the appointment book's windows a day and appointments a day
PI_REVIEW, PI_WINDOWS, PI_PER_DAY = range(9, 12)
PI_KEPT_FREE = 12  # review.handlers_kept_free
#: 1 if the run has more than one area (with one, every draw row's area is 0, the incidents' default)
PI_MANY_AREAS = 13
# what _advance returns
REACHED_UNTIL, NEED_ROOM, FINISHED = range(3)
FIELDS = ("now", "k", "staff", "q", "cf", "ci", "inc_f", "inc_i", "route", "gcum",
          "level", "since", "area", "evt", "evi", "dhf", "dhi", "pf", "pi", "head", "a999", "a101",
          "travel", "on_scene") + DRAW_FIELDS + ("arrival_t", "arrival_i", "divertable") + (
    "row_area", "dn", "neighbours", "travel_multiplier", "neighbour_after") + (
    "u_review", "victim_update_time", "phone_resolution_time", "booking_time", "rq", "rf", "dw", "inc_rt")
W_NOW = 0
W_K = 1
W_STAFF = 2
W_Q = 3
W_CF = 4
W_CI = 5
W_INC_F = 6
W_INC_I = 7
W_ROUTE = 8
W_GCUM = 9
W_LEVEL = 10
W_SINCE = 11
W_AREA = 12
W_EVT = 13
W_EVI = 14
W_DHF = 15
W_DHI = 16
W_PF = 17
W_PI = 18
W_HEAD = 19
W_A999 = 20
W_A101 = 21
W_TRAVEL = 22
W_ON_SCENE = 23
W_PATIENCE_999 = 24
W_PATIENCE_SWITCHBOARD = 25
W_PATIENCE_SECONDARY = 26
W_TRIAGE = 27
W_QUESTION_999 = 28
W_REST_999 = 29
W_WRAP_999 = 30
W_QUESTION_SECONDARY = 31
W_REST_SECONDARY = 32
W_WRAP_SECONDARY = 33
W_U_GRADE = 34
W_U_REDIAL = 35
W_REDIAL_DELAY = 36
W_REDIAL_999_DELAY = 37
W_CALLBACK_DELAY = 38
W_U_REACH = 39
W_UNREACHED_TIME = 40
W_RINGS_999_AGAIN = 41  # bool, as drawn (a float64 copy would be 8 bytes a draw row)
#: the next arrival of each line, kept out of the event heap: its time (W_ARRIVAL_T[line]),
#: sequence number and index in the line's arrivals (W_ARRIVAL_I[line], the index -1 if none)
W_ARRIVAL_T = 42
W_ARRIVAL_I = 43
#: with diversion on, the priority and prompt incidents with a unit that an immediate incident might
#: take (the first W[W_K][K_DIVERTABLE] entries, in no order; simpy_engine's ``divertable``). At most
#: one per busy unit, so never more than the most units ever rostered
W_DIVERTABLE = 44
#: areas (demandsim.model.areas): each draw row's area (int16); the number of incidents in each
#: dispatch heap (heap area * N_DEPLOYED + grade of W_DHF/W_DHI); each area's neighbours in the
#: order listed, padded with NONE; the travel multiplier [unit's area, incident's area]; each
#: deployed grade's neighbour_after in seconds
W_ROW_AREA = 45
W_DN = 46
W_NEIGHBOURS = 47
W_TRAVEL_MULTIPLIER = 48
W_NEIGHBOUR_AFTER = 49
#: THRIVE review (demandsim.model.review): its draws (as CallDraws' columns of those names)
W_U_REVIEW = 50
W_VICTIM_UPDATE_TIME = 51
W_PHONE_RESOLUTION_TIME = 52
W_BOOKING_TIME = 53
#: the calls reviews make, waiting for a call handler: entries W[W_K][K_RQ_HEAD:K_RQ_TAIL], each
#: incident * N_WORK + kind (simpy_engine's ``qreview``)
W_RQ = 54
#: the review's numbers (RF_* below)
W_RF = 55
RF_INTERVAL, RF_LEAD, RF_MAX_WAIT, RF_DAY_START, RF_SLOT = range(5)
RF_TARGET = 5  # + deployed grade: its target, seconds
RF_CUMULATIVE = 8  # + 2 x deployed grade: stays, stays + resolved_by_phone
N_RF = 14
#: the draw window (demandsim.draw_window.DrawWindow.offsets): the draw columns above hold only the
#: rows of the callers still needed; a row's place in them is _slot(W, row)
W_DW = 56
DW_999_ROWS, DW_FIRST_999, DW_FIRST_101, DW_AT_101 = range(4)
#: with review.enabled, each incident's review numbers, copied from its call's row when it is graded
#: (the row may be gone when the review comes): [RT_* , incident]; one column without review
W_INC_RT = 57
RT_VICTIM_UPDATE, RT_PHONE_RESOLUTION, RT_BOOKING = range(3)
#: the call events (their ``a`` is a call): a caller with one pending may still read its rows
CALL_EVENTS = (EV_HANGUP_999, EV_HANGUP_SWITCHBOARD, EV_HANGUP_SECONDARY, EV_TRIAGE_ENDS, EV_QUESTION_SET_ENDS,
               EV_REDIAL, EV_QUESTION_SET_ENDS_THEN_FINISH, EV_CALLBACK_DUE)

# counters in W[W_K] (K_DISPATCH: incidents in all dispatch heaps together)
K_CALLS, K_INCIDENTS, K_EVSEQ, K_EVENTS, K_DIVERTABLE, K_DISPATCH = range(6)
N_QUEUES = 4
K_HEAD, K_TAIL, K_WAITING = 6, 6 + N_QUEUES, 6 + 2 * N_QUEUES  # + queue index (Q999, QSWITCH, QSEC, QCALLBACK)
Q999, QSWITCH, QSEC, QCALLBACK = range(N_QUEUES)
#: the review calls' queue (W_RQ) and the appointment book (demandsim.model.review.book: the first
#: slot that may have room, and the appointments it holds)
K_RQ_HEAD, K_RQ_TAIL, K_BOOK_FREE, K_BOOK_USED = range(6 + 3 * N_QUEUES, 10 + 3 * N_QUEUES)
#: 1 + the first draw row read outside the window (a bug: the run stops with an error), else 0
K_MISSED = 10 + 3 * N_QUEUES
N_K = 11 + 3 * N_QUEUES
# the call columns (float, int) and the incident columns: W[W_CF][CF_T_END, call] and so on.
# Column-major, a column per row of the array, so that each output column is one contiguous
# slice at the end (numpy's conversions of strided columns took twice as long).
CF_T_OFFER, CF_T_ANSWER, CF_T_END, CF_T_SECONDARY_OFFER, CF_T_SECONDARY_ANSWER = range(5)
CF_NAMES = ("t_offer", "t_answer", "t_end", "t_secondary_offer", "t_secondary_answer")
(CI_ORIGIN_CALL, CI_PARENT, CI_ATTEMPT, CI_DRAW_ROW, CI_LINE, CI_ORIGIN, CI_ANSWERED_BY, CI_OUTCOME, CI_ROUTE,
 CI_SECONDARY_ANSWERED_BY, CI_INCIDENT, CI_NEXT_CALL) = range(12)
CI_NAMES = ("origin_call_id", "parent_call_id", "attempt", "draw_row", "line", "origin", "answered_by", "outcome",
            "route", "secondary_answered_by", "incident_id", "next_call_id")
#: the engine's own columns, after the written ones, kept on a caller's first call
#: (simpy_engine.CALLER_COLUMNS): contacts made, reached by a 999 handler, the call-back
CI_CONTACTS, CI_REACHED, CI_CALLBACK = range(len(CI_NAMES), len(CI_NAMES) + 3)
CI_CALLER_NAMES = ("contacts", "reached", "callback")
(IF_T_CALL_START, IF_T_READY, IF_T_ASSIGNED, IF_T_ON_SCENE, IF_T_CLEAR, IF_T_ASSIGNED_LAST, IF_T_REVIEW_LAST,
 IF_T_RESOLVED, IF_T_APPOINTMENT) = range(9)
IF_NAMES = ("t_call_start", "t_ready", "t_assigned", "t_on_scene", "t_clear", "t_assigned_last", "t_review_last",
            "t_resolved", "t_appointment")
#: the engine's own float rows, after the written ones: the uniform the incident's next review reads;
#: the time on scene its next unit spends (simpy_engine's ``on_scene_left``); the drawn travel time.
#: All three copied from its call's row when a deployed incident is graded (the row may be gone later)
IF_REVIEW_U, IF_ON_SCENE_LEFT, IF_TRAVEL = len(IF_NAMES), len(IF_NAMES) + 1, len(IF_NAMES) + 2
II_CALL_ID, II_SOURCE, II_GRADE, II_DIVERSIONS, II_REVIEWS, II_VICTIM_UPDATES, II_REVIEW_OUTCOME, II_AREA, II_UNIT_AREA = (
    range(9))
II_NAMES = ("call_id", "source", "grade", "diversions", "reviews", "victim_updates", "review_outcome", "area",
            "unit_area")
#: the engine's own incident rows, after the written ones: the incident's place in W_DIVERTABLE, or
#: NONE; 1 while a review has it out of the dispatch queue (simpy_engine's ``withdrawn``); the area of
#: the unit now on it (simpy_engine.INCIDENT_ENGINE_COLUMNS), NONE while it waits
II_DIVERTABLE_AT, II_WITHDRAWN, II_UNIT_NOW = len(II_NAMES), len(II_NAMES) + 1, len(II_NAMES) + 2
#: ids and codes of calls and incidents are int32 in the engine (half the memory of int64)
CI_DEFAULTS = np.array([CALL_COLUMNS[name][1] for name in CI_NAMES] + [1, 0, NONE], dtype=np.int32)
CF_DEFAULTS = np.array([CALL_COLUMNS[name][1] for name in CF_NAMES], dtype=np.float64)
#: a new incident's columns, as filled before the run (see _blank): every time missing (NaN), the
#: counts 0, no unit area; the engine's rows: the next review's uniform, the time on scene left and
#: the travel missing, not divertable, not withdrawn, no unit on it
IF_DEFAULTS = np.array([INCIDENT_COLUMNS[name][1] for name in IF_NAMES] + [np.nan] * 3, dtype=np.float64)
II_DEFAULTS = np.array([INCIDENT_COLUMNS[name][1] for name in II_NAMES] + [NONE, 0, NONE], dtype=np.int32)

_check_codes()


# ---------------------------------------------------------------- plumbing
@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _hour_of(t):
    """``int(t // HOUR)`` for a time ``t >= 0``, without float floor division (a call to fmod).

    ``t / HOUR`` rounds to the exact quotient's floor or to one above it, and ``h * HOUR``
    is exact, so the correction gives the same integer as ``t // HOUR``.
    """
    h = int(t / HOUR)
    if h * HOUR > t:
        h -= 1
    return h


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _slot(W, row):
    """Where draw ``row`` is in the draw columns (W_DW: the window's room for the row's line). A row
    before its line's room (let go and written over) is a bug in what the window lets go: noted
    in K_MISSED (the run then stops with an error) and read as slot 0 instead of outside the arrays."""
    dw = W[W_DW]
    if row < dw[DW_999_ROWS]:
        at = row - dw[DW_FIRST_999]
        ok = 0 <= at < dw[DW_AT_101]
    else:
        at = row - dw[DW_FIRST_101] + dw[DW_AT_101]
        ok = dw[DW_AT_101] <= at < W[W_PATIENCE_999].shape[0]
    if not ok:
        if W[W_K][K_MISSED] == 0:
            W[W_K][K_MISSED] = row + 1
        return 0
    return at


#: The steps of the story, compiled and then inlined by LLVM into their callers. Without
#: inlining every call copies W onto the stack, flattened (several machine words for each of
#: its 43 arrays), which was more than half of the loop's time. (Cold compilation takes a few
#: seconds longer.)
_step = njit(cache=True, error_model="numpy", _nrt=False, forceinline=True)


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _change(W, lv, delta):
    """Level ``lv`` changes by ``delta`` now (simpy_engine.Level.change, same arithmetic)."""
    t = W[W_NOW][0]
    level, since, area = W[W_LEVEL], W[W_SINCE], W[W_AREA]
    n_hours = area.shape[1]
    lev = level[lv]
    s0 = since[lv]
    if lev != 0 and t > s0:
        first = _hour_of(s0)
        last = _hour_of(t)
        if first == last:
            area[lv, first] += lev * (t - s0)
        else:
            last = min(last, n_hours)
            area[lv, first] += lev * ((first + 1) * HOUR - s0)
            for h in range(first + 1, last):
                area[lv, h] += lev * HOUR
            if last < n_hours:
                area[lv, last] += lev * (t - last * HOUR)
    level[lv] = lev + delta
    since[lv] = t


# Two binary heaps share one implementation: keys in a float array f and an int table d.
#   pending events:  f = time, d = (sequence, kind, a, b)             by (time, sequence)
#   dispatch queue:  f = ready time, d = (grade, incident, incident)  by (grade, ready, incident)
# ``by_grade`` (0 or 1) says which: it is also the column of d holding the sequence number.
@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _heap_less(f, d, by_grade, i, j):
    if by_grade and d[i, 0] != d[j, 0]:
        return d[i, 0] < d[j, 0]
    if f[i] != f[j]:
        return f[i] < f[j]
    return d[i, by_grade] < d[j, by_grade]


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _heap_swap(f, d, i, j):
    f[i], f[j] = f[j], f[i]
    for r in range(d.shape[1]):
        d[i, r], d[j, r] = d[j, r], d[i, r]


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _heap_sift_up(f, d, by_grade, i):
    """Move the new entry at ``i`` up to its place."""
    while i > 0:
        parent = (i - 1) // 2
        if _heap_less(f, d, by_grade, i, parent):
            _heap_swap(f, d, i, parent)
            i = parent
        else:
            break


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _heap_sift_down(f, d, by_grade, n, i):
    """Move the entry at ``i`` of a heap of ``n`` entries down to its place."""
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        child = left
        if left + 1 < n and _heap_less(f, d, by_grade, left + 1, left):
            child = left + 1
        if _heap_less(f, d, by_grade, child, i):
            _heap_swap(f, d, i, child)
            i = child
        else:
            break


@_step
def _heap_pop(f, d, by_grade, n):
    """Move the smallest of ``n`` entries to position ``n - 1``, restore the heap on the rest;
    returns ``n - 1``, the new size and the position of the entry taken."""
    n -= 1
    if n > 0:
        _heap_swap(f, d, 0, n)
        _heap_sift_down(f, d, by_grade, n, 0)
    return n


@njit(cache=True, error_model="numpy", _nrt=False)
def _heap_remove(f, d, by_grade, n, i):
    """Move the entry at ``i`` of ``n`` to position ``n - 1`` and restore the heap on the rest
    (the last entry takes its place and moves up or down); returns ``n - 1``."""
    n -= 1
    if i < n:
        _heap_swap(f, d, i, n)
        _heap_sift_up(f, d, by_grade, i)
        _heap_sift_down(f, d, by_grade, n, i)
    return n


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _schedule(W, delay, kind, a, b):
    """Run event ``kind`` with arguments ``a, b`` ``delay`` seconds from now."""
    K, t, e = W[W_K], W[W_EVT], W[W_EVI]
    n = K[K_EVENTS]
    t[n] = W[W_NOW][0] + delay
    e[n, 0] = K[K_EVSEQ]
    e[n, 1] = kind
    e[n, 2] = a
    e[n, 3] = b
    K[K_EVSEQ] += 1
    K[K_EVENTS] = n + 1
    _heap_sift_up(t, e, 0, n)


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _schedule_talk(W, call, source, g, q, r, w):
    """The question set ends after ``q``, the handler's work (group ``g``) after ``q + r + w``.

    When the two times are the same (no rest of call and no wrap-up, as on the Erlang-A
    core) one event does both, in that order, and the second sequence number goes unused:
    nothing can run between them, as events at one time run in the order they were
    scheduled. A third fewer events there.
    """
    if q + r + w == q:
        _schedule(W, q, EV_QUESTION_SET_ENDS_THEN_FINISH, call, source + SOURCE_SPAN * g)
        W[W_K][K_EVSEQ] += 1
    else:
        _schedule(W, q, EV_QUESTION_SET_ENDS, call, source)
        _schedule(W, q + r + w, EV_FINISH_WORK, g, 0)


@_step
def _pop_event(W):
    """Take the next event off the heap; it now sits at the returned position."""
    K = W[W_K]
    K[K_EVENTS] = _heap_pop(W[W_EVT], W[W_EVI], 0, K[K_EVENTS])
    return K[K_EVENTS]


# The dispatch queues: one heap per area and deployed grade (heap area * N_DEPLOYED + grade), by
# ready time, then incident id (incidents become ready in id order, so the id is the order of
# arrival for equal times); only the functions below touch them (simpy_engine: queue_incident,
# next_incident_for, pop_incident, withdraw_incident).
@_step
def _queue_incident(W, incident):
    """The incident waits for a unit in its area's queue, in its place; one more waiting."""
    K, II = W[W_K], W[W_INC_I]
    h = II[II_AREA, incident] * N_DEPLOYED + II[II_GRADE, incident]
    f, d, dn = W[W_DHF][h], W[W_DHI][h], W[W_DN]
    n = dn[h]
    f[n] = W[W_INC_F][IF_T_READY, incident]
    d[n, 0] = II[II_GRADE, incident]
    d[n, 1] = incident
    d[n, 2] = incident
    dn[h] = n + 1
    K[K_DISPATCH] += 1
    _heap_sift_up(f, d, 1, n)
    _change(W, WDISPATCH, 1)


@_step
def _pop_dispatch(W, h):
    """The first incident of dispatch heap ``h``, taken off it."""
    dn = W[W_DN]
    dn[h] = _heap_pop(W[W_DHF][h], W[W_DHI][h], 1, dn[h])
    W[W_K][K_DISPATCH] -= 1
    return W[W_DHI][h, dn[h], 2]


@njit(cache=True, error_model="numpy", _nrt=False)
def _withdraw_dispatch(W, incident):
    """Take a waiting incident out of its area's queue, wherever it is in it (the waiting level is
    the caller's to change). Not inlined: it runs only when a neighbour's unit is sent."""
    II, dn = W[W_INC_I], W[W_DN]
    h = II[II_AREA, incident] * N_DEPLOYED + II[II_GRADE, incident]
    d = W[W_DHI][h]
    for i in range(dn[h]):
        if d[i, 2] == incident:
            dn[h] = _heap_remove(W[W_DHF][h], d, 1, dn[h], i)
            W[W_K][K_DISPATCH] -= 1
            return


@_step
def _next_incident_for(W, area):
    """The dispatch heap whose first incident a free unit of ``area`` takes, or NONE
    (simpy_engine.next_incident_for: its own area's most urgent, and each neighbour's first of the
    most urgent grade whose neighbour_after has passed; by demandsim.model.areas.dispatch_key)."""
    dn, f, d, after = W[W_DN], W[W_DHF], W[W_DHI], W[W_NEIGHBOUR_AFTER]
    now = W[W_NOW][0]
    best, best_grade, best_ready, best_other, best_incident = NONE, 0, 0.0, 0, 0
    for g in range(N_DEPLOYED):
        h = area * N_DEPLOYED + g
        if dn[h] > 0:
            best, best_grade, best_ready, best_incident = h, g, f[h, 0], d[h, 0, 2]
            break
    neighbours = W[W_NEIGHBOURS]
    for k in range(neighbours.shape[1]):
        n = neighbours[area, k]
        if n == NONE:
            break
        for g in range(N_DEPLOYED):
            h = n * N_DEPLOYED + g
            if dn[h] > 0:
                ready = f[h, 0]
                if ready + after[g] <= now:  # demandsim.model.areas.may_go_to_neighbour
                    incident = d[h, 0, 2]
                    if best == NONE or g < best_grade or (g == best_grade and (ready < best_ready or (
                            ready == best_ready and best_other == 1 and incident < best_incident))):
                        best, best_grade, best_ready, best_other, best_incident = h, g, ready, 1, incident
                    break
    return best


@_step
def _withdraw_from_dispatch(W, incident):
    """A review takes the incident out of its area's dispatch queue (simpy_engine.withdraw_from_dispatch)."""
    W[W_INC_I][II_WITHDRAWN, incident] = 1
    _withdraw_dispatch(W, incident)
    _change(W, WDISPATCH, -1)


@njit(cache=True, error_model="numpy", _nrt=False)
def _back_to_dispatch(W, incident):
    """The incident waits for a unit again, in its place, and is offered to free units as a new one
    would be (simpy_engine.back_to_dispatch). Not inlined: it runs only at appointments."""
    II = W[W_INC_I]
    II[II_WITHDRAWN, incident] = 0
    _wait_for_unit(W, incident)


# ---------------------------------------------------------------- THRIVE review's rules
# demandsim.model.review states them; these are the same arithmetic, compiled
# (tests/test_review.py checks them against the rules on many inputs).
@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _first_review_time(call_start, target_s, ready):
    due = call_start + target_s
    return due if due > ready else ready


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _review_outcome(u, stays, stays_or_resolved):
    if u < stays:
        nxt = u / stays
        return OUTCOME_STAYS, nxt if nxt < 1.0 else BELOW_ONE
    if u < stays_or_resolved:
        return OUTCOME_RESOLVED_BY_PHONE, u
    nxt = (u - stays_or_resolved) / (1.0 - stays_or_resolved)
    return OUTCOME_APPOINTMENT, nxt if nxt < 1.0 else BELOW_ONE


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _slot_capacity(slot, windows, per_day):
    k = slot % windows
    return per_day // windows + (1 if k < per_day % windows else 0)


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _slot_start(slot, day_start_s, slot_s, windows, per_day):
    return (slot // windows) * DAY_S + day_start_s + (slot % windows) * slot_s


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _first_slot_at_or_after(t, day_start_s, slot_s, windows, per_day):
    day = int(math.floor(t / DAY_S))
    base = day * DAY_S + day_start_s
    k = 0
    if t > base:
        k = int(math.ceil((t - base) / slot_s))
        while k > 0 and base + (k - 1) * slot_s >= t:
            k -= 1
        while base + k * slot_s < t:
            k += 1
    if k >= windows:
        return (day + 1) * windows
    return day * windows + k


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _book(earliest, free, used, day_start_s, slot_s, windows, per_day):
    slot = _first_slot_at_or_after(earliest, day_start_s, slot_s, windows, per_day)
    if slot > free:
        free, used = slot, 0
    while _slot_capacity(free, windows, per_day) == 0:
        free, used = free + 1, 0
    slot = free
    used += 1
    if used >= _slot_capacity(free, windows, per_day):
        free, used = free + 1, 0
    return slot, free, used


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _book_within(now, lead_s, max_wait_s, free, used, day_start_s, slot_s, windows, per_day):
    slot, new_free, new_used = _book(now + lead_s, free, used, day_start_s, slot_s, windows, per_day)
    if _slot_start(slot, day_start_s, slot_s, windows, per_day) > now + max_wait_s:
        return NONE, free, used
    return slot, new_free, new_used


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _unanswered(W, call):
    """Still waiting in the 999 or switchboard queue."""
    return W[W_CI][CI_OUTCOME, call] == NONE and math.isnan(W[W_CF][CF_T_ANSWER, call])


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _join(W, q, lv, call):
    K = W[W_K]
    W[W_Q][q, K[K_TAIL + q]] = call
    K[K_TAIL + q] += 1
    K[K_WAITING + q] += 1
    _change(W, lv, 1)


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _leave(W, q, lv):
    W[W_K][K_WAITING + q] -= 1
    _change(W, lv, -1)


@_step
def _head(W, q):
    """Pop the first caller in queue ``q`` who has not hung up."""
    K, Q, CI = W[W_K], W[W_Q], W[W_CI]
    while True:
        call = Q[q, K[K_HEAD + q]]
        K[K_HEAD + q] += 1
        if q == QSEC:
            if CI[CI_OUTCOME, call] == NONE:
                return call
        elif _unanswered(W, call):
            return call


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _new_call(W, line, draw_row, origin_call):
    K, CF, CI = W[W_K], W[W_CF], W[W_CI]
    call = K[K_CALLS]
    K[K_CALLS] = call + 1
    # the other columns hold their defaults already (filled when the arrays are made, see _blank)
    CI[CI_LINE, call] = line
    CI[CI_DRAW_ROW, call] = draw_row
    CF[CF_T_OFFER, call] = W[W_NOW][0]
    CI[CI_ORIGIN_CALL, call] = call if origin_call == NONE else origin_call
    return call


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _start_work(W, g):
    """One more busy in group ``g`` (the units of every area count in the one busy_units level)."""
    W[W_STAFF][1, g] += 1
    _change(W, BUSY0 + min(g, UNITS), 1)


# ---------------------------------------------------------------- the story
@_step
def _talk_999(W, call, g):
    """A 999 handler of group ``g`` talks to the caller: question set (then grading), rest of call, wrap-up."""
    CF, CI = W[W_CF], W[W_CI]
    _start_work(W, g)
    row = _slot(W, CI[CI_DRAW_ROW, call])
    q, r, w = W[W_QUESTION_999][row], W[W_REST_999][row], W[W_WRAP_999][row]
    CF[CF_T_END, call] = W[W_NOW][0] + q + r
    source = SOURCE_999 if CI[CI_LINE, CI[CI_ORIGIN_CALL, call]] == LINE_999 else SOURCE_FROM_101
    _schedule_talk(W, call, source, g, q, r, w)


@_step
def _caller_reached(W, origin):
    """A 999 handler has the caller on the line: a call-back waiting for them is cancelled
    (left in its queue, skipped when reached) and any later contact is not made."""
    CI = W[W_CI]
    CI[CI_REACHED, origin] = 1
    callback = CI[CI_CALLBACK, origin]
    if callback >= 0:
        CI[CI_OUTCOME, callback] = CALLBACK_CANCELLED
        W[W_CF][CF_T_END, callback] = W[W_NOW][0]
        _leave(W, QCALLBACK, WCALLBACK)
        CI[CI_CALLBACK, origin] = NONE


@_step
def _answer_999(W, call, who):
    CF, CI = W[W_CF], W[W_CI]
    _leave(W, Q999, W999)
    CF[CF_T_ANSWER, call] = W[W_NOW][0]
    CI[CI_ANSWERED_BY, call] = who
    CI[CI_OUTCOME, call] = ANSWERED
    if W[W_PI][PI_MAX_ATTEMPTS] > 1:  # with one contact per caller no later contact or call-back reads it
        _caller_reached(W, CI[CI_ORIGIN_CALL, call])
    _talk_999(W, call, CH if who == BY_CALL_HANDLER else DD)


@_step
def _ring_back(W, call):
    """A call handler rings the caller back: reached, the ordinary 999 call; not reached, a
    short attempt (none at all if it takes no time)."""
    CF, CI = W[W_CF], W[W_CI]
    now = W[W_NOW][0]
    _leave(W, QCALLBACK, WCALLBACK)
    origin = CI[CI_ORIGIN_CALL, call]
    CI[CI_CALLBACK, origin] = NONE
    CF[CF_T_ANSWER, call] = now
    CI[CI_ANSWERED_BY, call] = BY_CALL_HANDLER
    row = _slot(W, CI[CI_DRAW_ROW, call])
    if W[W_U_REACH][row] < W[W_PF][PF_REACH]:
        CI[CI_OUTCOME, call] = ANSWERED
        _caller_reached(W, origin)
        _talk_999(W, call, CH)
    else:
        busy = W[W_UNREACHED_TIME][row]
        CI[CI_OUTCOME, call] = CALLBACK_UNREACHED
        CF[CF_T_END, call] = now + busy
        if busy > 0.0:
            _start_work(W, CH)
            _schedule(W, busy, EV_FINISH_WORK, CH, 0)


@_step
def _answer_secondary(W, call, who):
    CF, CI = W[W_CF], W[W_CI]
    now = W[W_NOW][0]
    _leave(W, QSEC, WSEC)
    CF[CF_T_SECONDARY_ANSWER, call] = now
    CI[CI_SECONDARY_ANSWERED_BY, call] = who
    CI[CI_OUTCOME, call] = ANSWERED_SECONDARY
    g = CH if who == BY_CALL_HANDLER else SEC
    _start_work(W, g)
    row = _slot(W, CI[CI_DRAW_ROW, call])
    q, r, w = W[W_QUESTION_SECONDARY][row], W[W_REST_SECONDARY][row], W[W_WRAP_SECONDARY][row]
    CF[CF_T_END, call] = now + q + r
    _schedule_talk(W, call, SOURCE_SECONDARY, g, q, r, w)


@_step
def _answer_switchboard(W, call):
    _leave(W, QSWITCH, WSWITCH)
    W[W_CF][CF_T_ANSWER, call] = W[W_NOW][0]
    W[W_CI][CI_ANSWERED_BY, call] = BY_SWITCHBOARD
    _start_work(W, SW)
    _schedule(W, W[W_TRIAGE][_slot(W, W[W_CI][CI_DRAW_ROW, call])], EV_TRIAGE_ENDS, call, 0)


@_step
def _assign_unit(W, incident, unit_area, unit_was_free):
    """A unit of ``unit_area`` goes to ``incident``: a free one, or one just taken off another
    incident (simpy_engine.assign_unit: first assignment and first arrival kept, the same drawn
    travel times the areas' multiplier, the time on scene left)."""
    IF, II = W[W_INC_F], W[W_INC_I]
    now = W[W_NOW][0]
    _change(W, WDISPATCH, -1)
    if unit_was_free:
        _start_work(W, UNITS + unit_area)
    # drawn for the incident's grade
    travel = IF[IF_TRAVEL, incident] * W[W_TRAVEL_MULTIPLIER][unit_area, II[II_AREA, incident]]
    on_scene = IF[IF_ON_SCENE_LEFT, incident]
    if math.isnan(IF[IF_T_ASSIGNED, incident]):
        IF[IF_T_ASSIGNED, incident] = now
    if math.isnan(IF[IF_T_ON_SCENE, incident]):
        IF[IF_T_ON_SCENE, incident] = now + travel
        II[II_UNIT_AREA, incident] = unit_area
    II[II_UNIT_NOW, incident] = unit_area
    IF[IF_T_ASSIGNED_LAST, incident] = now
    IF[IF_T_CLEAR, incident] = now + travel + on_scene
    if W[W_PI][PI_DIVERT_FROM] != DIVERT_NONE and II[II_GRADE, incident] > DIVERTS_TO:
        _add_divertable(W, incident)
    _schedule(W, travel + on_scene, EV_UNIT_FREE, incident, II[II_DIVERSIONS, incident])


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _add_divertable(W, incident):
    K = W[W_K]
    n = K[K_DIVERTABLE]
    W[W_DIVERTABLE][n] = incident
    W[W_INC_I][II_DIVERTABLE_AT, incident] = n
    K[K_DIVERTABLE] = n + 1


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _drop_divertable(W, incident):
    """Take ``incident`` out of the divertable list: the last entry moves into its place."""
    K, listed, II = W[W_K], W[W_DIVERTABLE], W[W_INC_I]
    at = II[II_DIVERTABLE_AT, incident]
    n = K[K_DIVERTABLE] - 1
    last = listed[n]
    listed[at] = last
    II[II_DIVERTABLE_AT, last] = at
    II[II_DIVERTABLE_AT, incident] = NONE
    K[K_DIVERTABLE] = n


@_step
def _unit_free(W, incident, diversions):
    """The unit on ``incident`` is free again, unless it was taken off it meanwhile (simpy_engine.unit_free)."""
    II = W[W_INC_I]
    if II[II_DIVERSIONS, incident] != diversions:
        return
    if II[II_DIVERTABLE_AT, incident] != NONE:
        _drop_divertable(W, incident)
    _finish_work(W, UNITS + II[II_UNIT_NOW, incident])


@njit(cache=True, error_model="numpy", _nrt=False)
def _unit_to_divert(W, area):
    """The incident whose unit of ``area`` is taken, or NONE (simpy_engine.unit_to_divert: prompt
    before priority, then the unit assigned last, then the lower incident id); entries that no
    longer qualify leave the list."""
    K, listed, IF, II = W[W_K], W[W_DIVERTABLE], W[W_INC_F], W[W_INC_I]
    now, mode = W[W_NOW][0], W[W_PI][PI_DIVERT_FROM]
    best, best_grade, best_assigned = NONE, -1, 0.0
    k = 0
    while k < K[K_DIVERTABLE]:
        incident = listed[k]
        assigned = IF[IF_T_ASSIGNED_LAST, incident]
        unit_area = II[II_UNIT_NOW, incident]
        if mode == DIVERT_TRAVELLING:
            ok = now < assigned + IF[IF_TRAVEL, incident] * W[W_TRAVEL_MULTIPLIER][unit_area, II[II_AREA, incident]]
        else:
            ok = now < IF[IF_T_CLEAR, incident]
        if not ok:
            _drop_divertable(W, incident)  # the last entry moved to k: look at k again
            continue
        if unit_area != area:
            k += 1
            continue
        grade = II[II_GRADE, incident]
        if best == NONE or grade > best_grade or (grade == best_grade and (
                assigned > best_assigned or (assigned == best_assigned and incident < best))):
            best, best_grade, best_assigned = incident, grade, assigned
        k += 1
    return best


@njit(cache=True, error_model="numpy", _nrt=False)
def _divert_units(W, area):
    """No unit of ``area`` is free and an immediate incident of the area waits: units of the area
    taken off lower-grade incidents for it and the next immediate ones, while any may be taken; the
    incident left is offered to free units at once (simpy_engine.divert_units).
    Not inlined: it runs only when diversion is on, and rarely."""
    IF, II, dn = W[W_INC_F], W[W_INC_I], W[W_DN]
    h = area * N_DEPLOYED + DIVERTS_TO
    while dn[h] > 0:
        taken_from = _unit_to_divert(W, area)
        if taken_from == NONE:
            return
        incident = _pop_dispatch(W, h)
        # the incident left waits again, with its grade and ready time (simpy_engine.take_unit_off)
        if II[II_DIVERTABLE_AT, taken_from] != NONE:
            _drop_divertable(W, taken_from)
        II[II_DIVERSIONS, taken_from] += 1
        # the work its next unit finds: what was left of the time on scene (all of it if not arrived)
        on_scene = IF[IF_ON_SCENE_LEFT, taken_from]
        IF[IF_ON_SCENE_LEFT, taken_from] = min(IF[IF_T_CLEAR, taken_from] - W[W_NOW][0], on_scene)
        if IF[IF_T_ON_SCENE, taken_from] > W[W_NOW][0]:
            IF[IF_T_ON_SCENE, taken_from] = np.nan
            II[II_UNIT_AREA, taken_from] = NONE
        IF[IF_T_ASSIGNED_LAST, taken_from] = np.nan
        IF[IF_T_CLEAR, taken_from] = np.nan
        II[II_UNIT_NOW, taken_from] = NONE
        _queue_incident(W, taken_from)
        _assign_unit(W, incident, area, False)
        _offer_waiting(W, taken_from)


@_step
def _free_units_take_work(W, area):
    """The free units of ``area`` take incidents while any may (simpy_engine.free_units_take_work)."""
    staff = W[W_STAFF]
    g = UNITS + area
    while staff[0, g] - staff[1, g] > 0:
        h = _next_incident_for(W, area)
        if h == NONE:
            return
        _assign_unit(W, _pop_dispatch(W, h), area, True)


@njit(cache=True, error_model="numpy", _nrt=False)
def _neighbours_may_go(W, incident):
    """The incident still waiting may have a neighbouring area's free unit: the neighbour with the
    most free units (ties: the first listed) sends one (simpy_engine.neighbours_may_go;
    demandsim.model.areas.neighbour_to_send). Not inlined: it runs only with areas."""
    if not math.isnan(W[W_INC_F][IF_T_ASSIGNED_LAST, incident]) or W[W_INC_I][II_WITHDRAWN, incident] != 0:
        return  # a unit is on it, or a review took it out of the queue (it is offered again if it returns)
    staff, neighbours = W[W_STAFF], W[W_NEIGHBOURS]
    area = W[W_INC_I][II_AREA, incident]
    sender, most = NONE, 0
    for k in range(neighbours.shape[1]):
        n = neighbours[area, k]
        if n == NONE:
            break
        free = staff[0, UNITS + n] - staff[1, UNITS + n]
        if free > most:
            sender, most = n, free
    if sender != NONE:
        _withdraw_dispatch(W, incident)
        _assign_unit(W, incident, sender, True)


@_step
def _offer_waiting(W, incident):
    """An incident has just joined its area's queue: a free unit of its area takes work; if it still
    waits, neighbours' units may go now or after its grade's neighbour_after (simpy_engine.offer_waiting,
    await_neighbours)."""
    II = W[W_INC_I]
    area = II[II_AREA, incident]
    _free_units_take_work(W, area)
    if math.isnan(W[W_INC_F][IF_T_ASSIGNED_LAST, incident]) and W[W_NEIGHBOURS][area, 0] != NONE:
        at = W[W_INC_F][IF_T_READY, incident] + W[W_NEIGHBOUR_AFTER][II[II_GRADE, incident]]
        now = W[W_NOW][0]
        if at <= now:
            _neighbours_may_go(W, incident)
        elif at < W[W_PF][PF_HORIZON]:
            _schedule(W, at - now, EV_NEIGHBOURS_MAY_GO, incident, 0)


@_step
def _wait_for_unit(W, incident):
    """The incident joins its area's queue and is offered to free units; if it is immediate and still
    waits, diversion may take a unit for it (simpy_engine.wait_for_unit)."""
    _queue_incident(W, incident)
    _offer_waiting(W, incident)
    area = W[W_INC_I][II_AREA, incident]
    if W[W_PI][PI_DIVERT_FROM] != DIVERT_NONE and W[W_DN][area * N_DEPLOYED + DIVERTS_TO] > 0:
        _divert_units(W, area)


# ---------------------------------------------------------------- THRIVE review (simpy_engine's section)
@_step
def _review_if_still_waiting(W, incident):
    """An incident just ready and given no unit is reviewed at its target (at once if that passed)."""
    IF, RF = W[W_INC_F], W[W_RF]
    if not math.isnan(IF[IF_T_ASSIGNED, incident]):
        return
    now = W[W_NOW][0]
    due = _first_review_time(IF[IF_T_CALL_START, incident], RF[RF_TARGET + W[W_INC_I][II_GRADE, incident]], now)
    if due < W[W_PF][PF_HORIZON]:
        _schedule(W, due - now, EV_REVIEW, incident, 0)


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _review_call(W, incident, kind):
    """A call the review makes joins the call handlers' work."""
    K = W[W_K]
    W[W_RQ][K[K_RQ_TAIL]] = incident * N_WORK + kind
    K[K_RQ_TAIL] += 1
    _change(W, WREVIEW, 1)


@njit(cache=True, error_model="numpy", _nrt=False)
def _review_due(W, incident):
    """The dispatcher reviews an incident still waiting for its first unit (simpy_engine.review_due).
    Not inlined: reviews are a small part of the events, and only with review on."""
    IF, II, RF, K = W[W_INC_F], W[W_INC_I], W[W_RF], W[W_K]
    if not math.isnan(IF[IF_T_ASSIGNED, incident]):
        return  # a unit was sent: no more reviews
    now = W[W_NOW][0]
    u = IF[IF_REVIEW_U, incident]
    grade = II[II_GRADE, incident]
    outcome, u = _review_outcome(u, RF[RF_CUMULATIVE + 2 * grade], RF[RF_CUMULATIVE + 2 * grade + 1])
    slot = NONE
    if outcome == OUTCOME_APPOINTMENT:
        PI = W[W_PI]
        slot, free, used = _book_within(now, RF[RF_LEAD], RF[RF_MAX_WAIT], K[K_BOOK_FREE], K[K_BOOK_USED],
                                        RF[RF_DAY_START], RF[RF_SLOT], PI[PI_WINDOWS], PI[PI_PER_DAY])
        if slot == NONE:
            outcome = OUTCOME_STAYS  # no window with room soon enough
        else:
            K[K_BOOK_FREE] = free
            K[K_BOOK_USED] = used
    II[II_REVIEWS, incident] += 1
    IF[IF_T_REVIEW_LAST, incident] = now
    II[II_REVIEW_OUTCOME, incident] = outcome
    if outcome == OUTCOME_STAYS:
        IF[IF_REVIEW_U, incident] = u  # what the next review reads
        _review_call(W, incident, WORK_VICTIM_UPDATE)
        if now + RF[RF_INTERVAL] < W[W_PF][PF_HORIZON]:
            _schedule(W, RF[RF_INTERVAL], EV_REVIEW, incident, 0)
    elif outcome == OUTCOME_RESOLVED_BY_PHONE:
        _withdraw_from_dispatch(W, incident)
        _review_call(W, incident, WORK_PHONE_RESOLUTION)
    else:
        _withdraw_from_dispatch(W, incident)
        PI = W[W_PI]
        start = _slot_start(slot, RF[RF_DAY_START], RF[RF_SLOT], PI[PI_WINDOWS], PI[PI_PER_DAY])
        IF[IF_T_APPOINTMENT, incident] = start
        _change(W, WAPPOINTMENT, 1)
        if start < W[W_PF][PF_HORIZON]:
            _schedule(W, start - now, EV_APPOINTMENT, incident, 0)
        _review_call(W, incident, WORK_BOOKING)
    _put_to_work(W, CH)


@njit(cache=True, error_model="numpy", _nrt=False)
def _make_review_call(W):
    """A call handler makes the first call reviews asked for (simpy_engine.make_review_call). Not
    inlined: ``_put_to_work`` is inlined in many places, and a copy of this in each took most of the
    compilation time the review added."""
    K, II = W[W_K], W[W_INC_I]
    item = W[W_RQ][K[K_RQ_HEAD]]
    K[K_RQ_HEAD] += 1
    _change(W, WREVIEW, -1)
    incident, kind = item // N_WORK, item % N_WORK
    RT = W[W_INC_RT]
    if kind == WORK_VICTIM_UPDATE:
        if not (math.isnan(W[W_INC_F][IF_T_ASSIGNED, incident]) and II[II_WITHDRAWN, incident] == 0):
            return  # no longer waiting for its first unit: the update is dropped
        busy = RT[RT_VICTIM_UPDATE, incident]
        II[II_VICTIM_UPDATES, incident] += 1
    elif kind == WORK_PHONE_RESOLUTION:
        busy = RT[RT_PHONE_RESOLUTION, incident]
        W[W_INC_F][IF_T_RESOLVED, incident] = W[W_NOW][0] + busy
    else:
        busy = RT[RT_BOOKING, incident]
    if busy > 0.0:
        _start_work(W, CH)
        _schedule(W, busy, EV_FINISH_WORK, CH, 0)


@njit(cache=True, error_model="numpy", _nrt=False)
def _appointment_starts(W, incident):
    """The appointment's slot starts: the incident waits for a unit again, in its place."""
    _change(W, WAPPOINTMENT, -1)
    _back_to_dispatch(W, incident)


@_step
def _put_to_work(W, g):
    """Give idle members of group ``g`` the work waiting for them, most urgent first; the units of an
    area (g >= UNITS): simpy_engine.area_units_take_work."""
    K, staff, PI = W[W_K], W[W_STAFF], W[W_PI]
    if g >= UNITS:
        area = g - UNITS
        _free_units_take_work(W, area)
        if PI[PI_DIVERT_FROM] != DIVERT_NONE and W[W_DN][area * N_DEPLOYED + DIVERTS_TO] > 0:
            _divert_units(W, area)
        return
    secondary_staff = PI[PI_SECONDARY_STAFF]
    while staff[0, g] - staff[1, g] > 0:
        if g == CH and K[K_WAITING + Q999] > 0:
            _answer_999(W, _head(W, Q999), BY_CALL_HANDLER)
        elif g == CH and K[K_WAITING + QCALLBACK] > 0:
            _ring_back(W, _head(W, QCALLBACK))
        elif g == CH and K[K_RQ_TAIL] > K[K_RQ_HEAD] and staff[0, g] - staff[1, g] > PI[PI_KEPT_FREE]:
            _make_review_call(W)
        elif g == DD and K[K_WAITING + Q999] >= PI[PI_DD_THRESHOLD]:
            _answer_999(W, _head(W, Q999), BY_DIGITAL_DESK)
        elif g == secondary_staff and K[K_WAITING + QSEC] > 0:
            _answer_secondary(W, _head(W, QSEC), BY_CALL_HANDLER if g == CH else BY_SECONDARY_HANDLER)
        elif g == SW and K[K_WAITING + QSWITCH] > 0:
            _answer_switchboard(W, _head(W, QSWITCH))
        else:
            break


@_step
def _finish_work(W, g):
    W[W_STAFF][1, g] -= 1
    _change(W, BUSY0 + min(g, UNITS), -1)
    _put_to_work(W, g)


@_step
def _offer_999(W, call):
    _join(W, Q999, W999, call)
    _put_to_work(W, CH)
    _put_to_work(W, DD)
    if _unanswered(W, call):
        CF, CI = W[W_CF], W[W_CI]
        patience = W[W_PATIENCE_999][_slot(W, CI[CI_DRAW_ROW, call])]
        if W[W_PI][PI_PATIENCE_CONTINUES] and CI[CI_ORIGIN, call] == ORIGIN_TRANSFER:
            # the caller's patience runs on from the switchboard queue
            parent = CI[CI_PARENT, call]
            patience = patience - (CF[CF_T_ANSWER, parent] - CF[CF_T_OFFER, parent])
            if patience < 0.0:
                patience = 0.0
        if patience < np.inf:
            _schedule(W, patience, EV_HANGUP_999, call, 0)


@_step
def _offer_101(W, call):
    _join(W, QSWITCH, WSWITCH, call)
    _put_to_work(W, SW)
    if _unanswered(W, call):
        patience = W[W_PATIENCE_SWITCHBOARD][_slot(W, W[W_CI][CI_DRAW_ROW, call])]
        if patience < np.inf:
            _schedule(W, patience, EV_HANGUP_SWITCHBOARD, call, 0)


@_step
def _offer_secondary(W, call):
    _join(W, QSEC, WSEC, call)
    _put_to_work(W, W[W_PI][PI_SECONDARY_STAFF])
    if W[W_CI][CI_OUTCOME, call] == NONE:
        patience = W[W_PATIENCE_SECONDARY][_slot(W, W[W_CI][CI_DRAW_ROW, call])]
        if patience < np.inf:
            _schedule(W, patience, EV_HANGUP_SECONDARY, call, 0)


@_step
def _maybe_redial(W, call):
    """A 101 caller who hung up may ring 999, or 101 again, after a while."""
    CI, PF = W[W_CI], W[W_PF]
    if CI[CI_CONTACTS, CI[CI_ORIGIN_CALL, call]] >= W[W_PI][PI_MAX_ATTEMPTS]:
        return
    row = _slot(W, CI[CI_DRAW_ROW, call])
    u = W[W_U_REDIAL][row]
    if u < PF[PF_TO_999]:
        line = LINE_999
    elif u < PF[PF_TO_999] + PF[PF_TO_101]:
        line = LINE_101
    else:
        return
    delay = W[W_REDIAL_DELAY][row]
    if W[W_NOW][0] + delay < PF[PF_HORIZON]:
        _schedule(W, delay, EV_REDIAL, call, line)


@_step
def _triage_ends(W, call):
    """The switchboard operator routes the call, then takes the next one."""
    CF, CI = W[W_CF], W[W_CI]
    now = W[W_NOW][0]
    route = W[W_ROUTE][_slot(W, CI[CI_DRAW_ROW, call])]
    CI[CI_ROUTE, call] = route
    if route == ROUTE_TO_999:
        CI[CI_OUTCOME, call] = TRANSFERRED_TO_999
        CF[CF_T_END, call] = now
        transfer = _new_call(W, LINE_999, CI[CI_DRAW_ROW, call], CI[CI_ORIGIN_CALL, call])
        CI[CI_ORIGIN, transfer] = ORIGIN_TRANSFER
        CI[CI_PARENT, transfer] = call
        CI[CI_ATTEMPT, transfer] = CI[CI_ATTEMPT, call]
        CI[CI_NEXT_CALL, call] = transfer
        _offer_999(W, transfer)
    elif route == ROUTE_SECONDARY:
        CF[CF_T_SECONDARY_OFFER, call] = now
        _offer_secondary(W, call)
    else:
        CI[CI_OUTCOME, call] = CLOSED_AT_SWITCHBOARD
        CF[CF_T_END, call] = now
    _finish_work(W, SW)


@_step
def _question_set_ends(W, call, source):
    """THRIVE grading done: the incident exists and, if deployed, waits for a unit."""
    K, CF, CI, IF, II, cum = W[W_K], W[W_CF], W[W_CI], W[W_INC_F], W[W_INC_I], W[W_GCUM]
    now = W[W_NOW][0]
    row = _slot(W, CI[CI_DRAW_ROW, call])
    u = W[W_U_GRADE][row]
    grade = 0  # searchsorted(cum[source], u, side="right"), as demandsim.model.shares.pick
    while grade < cum.shape[1] - 1 and cum[source, grade] <= u:
        grade += 1
    incident = K[K_INCIDENTS]
    K[K_INCIDENTS] = incident + 1
    CI[CI_INCIDENT, call] = incident
    started = CI[CI_PARENT, call] if CI[CI_ORIGIN, call] == ORIGIN_CALLBACK else call
    if CI[CI_ORIGIN, started] == ORIGIN_TRANSFER:
        start = CF[CF_T_OFFER, CI[CI_PARENT, started]]
    else:
        start = CF[CF_T_OFFER, started]
    # Only what differs from the defaults the columns were filled with (IF_DEFAULTS, II_DEFAULTS):
    # each column written here is one more stream of scattered stores per incident (the columns are
    # far apart). Writing 22 of them here took 40% of a 20-day Erlang-A run's loop (77 ms against 44 ms
    # with these 5 or 6), far more than the stores themselves; filling whole columns before the run
    # is one sequential pass each
    II[II_CALL_ID, incident] = call
    II[II_SOURCE, incident] = source
    II[II_GRADE, incident] = grade
    IF[IF_T_CALL_START, incident] = start
    IF[IF_T_READY, incident] = now
    if W[W_PI][PI_MANY_AREAS] != 0:  # with one area every row's area is 0, the default
        II[II_AREA, incident] = W[W_ROW_AREA][row]
    if grade < N_DEPLOYED:
        # what the incident reads later, from its call's row (drawn for this grade), while it is held
        IF[IF_TRAVEL, incident] = W[W_TRAVEL][row]
        IF[IF_ON_SCENE_LEFT, incident] = W[W_ON_SCENE][row]
        if W[W_PI][PI_REVIEW] != 0:
            IF[IF_REVIEW_U, incident] = W[W_U_REVIEW][row]
            RT = W[W_INC_RT]
            RT[RT_VICTIM_UPDATE, incident] = W[W_VICTIM_UPDATE_TIME][row]
            RT[RT_PHONE_RESOLUTION, incident] = W[W_PHONE_RESOLUTION_TIME][row]
            RT[RT_BOOKING, incident] = W[W_BOOKING_TIME][row]
        _wait_for_unit(W, incident)
        if W[W_PI][PI_REVIEW] != 0:
            _review_if_still_waiting(W, incident)


@_step
def _next_contact(W, line, kind, parent):
    """The caller's next contact (a redial or a call-back after ``parent``): a new call row
    reading the caller's row for that contact."""
    CI = W[W_CI]
    origin = CI[CI_ORIGIN_CALL, parent]
    attempt = CI[CI_CONTACTS, origin]
    CI[CI_CONTACTS, origin] = attempt + 1
    call = _new_call(W, line, CI[CI_DRAW_ROW, origin] + attempt, origin)
    CI[CI_ORIGIN, call] = kind
    CI[CI_PARENT, call] = parent
    CI[CI_ATTEMPT, call] = attempt
    if CI[CI_NEXT_CALL, parent] == NONE:  # the contact that followed it first
        CI[CI_NEXT_CALL, parent] = call
    return call


@_step
def _caller_redials(W, parent, line):
    """The caller rings again, unless a 999 handler reached them meanwhile or no contact is left."""
    CI = W[W_CI]
    origin = CI[CI_ORIGIN_CALL, parent]
    if CI[CI_REACHED, origin] != 0 or CI[CI_CONTACTS, origin] >= W[W_PI][PI_MAX_ATTEMPTS]:
        return
    call = _next_contact(W, line, ORIGIN_REDIAL, parent)
    if line == LINE_999:
        _offer_999(W, call)
    else:
        _offer_101(W, call)


@_step
def _after_999_hang_up(W, call):
    """The caller may be rung back (one call-back outstanding per caller) and may ring 999
    again, while the caller has contacts left."""
    CI, PF, PI = W[W_CI], W[W_PF], W[W_PI]
    origin = CI[CI_ORIGIN_CALL, call]
    if CI[CI_CONTACTS, origin] >= PI[PI_MAX_ATTEMPTS]:
        return
    row = _slot(W, CI[CI_DRAW_ROW, call])
    now = W[W_NOW][0]
    if PI[PI_CALLBACKS] != 0 and CI[CI_CALLBACK, origin] == NONE:
        delay = W[W_CALLBACK_DELAY][row]
        if now + delay < PF[PF_HORIZON]:
            CI[CI_CALLBACK, origin] = CALLBACK_SCHEDULED
            _schedule(W, delay, EV_CALLBACK_DUE, call, 0)
    if W[W_RINGS_999_AGAIN][row]:
        delay = W[W_REDIAL_999_DELAY][row]
        if now + delay < PF[PF_HORIZON]:
            _schedule(W, delay, EV_REDIAL, call, LINE_999)


@_step
def _callback_due(W, parent):
    """The call-back of the hung-up call ``parent`` joins the call-back queue, unless the
    caller got through meanwhile or has no contact left."""
    CI = W[W_CI]
    origin = CI[CI_ORIGIN_CALL, parent]
    if CI[CI_REACHED, origin] != 0 or CI[CI_CONTACTS, origin] >= W[W_PI][PI_MAX_ATTEMPTS]:
        CI[CI_CALLBACK, origin] = NONE
        return
    call = _next_contact(W, LINE_999, ORIGIN_CALLBACK, parent)
    CI[CI_CALLBACK, origin] = call
    _join(W, QCALLBACK, WCALLBACK, call)
    _put_to_work(W, CH)


@_step
def _next_roster_hour(head, after):
    for hour in range(after + 1, head.shape[1]):
        for g in range(head.shape[0]):
            if head[g, hour] != head[g, hour - 1]:
                return hour
    return -1


@_step
def _roster_changes(W, hour):
    """At an hour when headcounts change: update, put new staff to work, wait for the next change.
    The hub's groups first, then the units of each area (groups UNITS + area), in order."""
    head, staff = W[W_HEAD], W[W_STAFF]
    for g in range(head.shape[0]):
        if head[g, hour] != head[g, hour - 1]:
            staff[0, g] = head[g, hour]
    for g in range(head.shape[0]):
        if head[g, hour] != head[g, hour - 1]:
            _put_to_work(W, g)
    nxt = _next_roster_hour(head, hour)
    if nxt > 0:
        _schedule(W, nxt * HOUR - W[W_NOW][0], EV_ROSTER, nxt, 0)


@njit(cache=True, inline="always", error_model="numpy", _nrt=False)
def _schedule_arrival(W, line, index):
    """The line's arrival ``index`` (if there is one) happens at its time, as ``_schedule`` would have it.

    Arrivals are a third of all events on the Erlang-A core: each line's next one waits
    beside the heap instead of in it, and ``_advance`` takes whichever of the heap's top
    and the two arrivals comes first by (time, sequence number), the heap's own order.
    """
    times = W[W_A999] if line == LINE_999 else W[W_A101]
    K, nxt = W[W_K], W[W_ARRIVAL_I]
    if index < times.shape[0]:
        W[W_ARRIVAL_T][line] = W[W_NOW][0] + (times[index] - W[W_NOW][0])
        nxt[line, 0] = K[K_EVSEQ]
        nxt[line, 1] = index
        K[K_EVSEQ] += 1
    else:
        nxt[line, 1] = NONE


@njit(cache=True, error_model="numpy", _nrt=False)
def _start(W):
    """The reference engine's three processes start in this order."""
    _schedule_arrival(W, LINE_999, 0)
    _schedule_arrival(W, LINE_101, 0)
    hour = _next_roster_hour(W[W_HEAD], 0)
    if hour > 0:
        _schedule(W, hour * HOUR - W[W_NOW][0], EV_ROSTER, hour, 0)


@njit(cache=True, error_model="numpy", _nrt=False)
def _advance(W, until):
    """Run events before ``until`` (and before the horizon), while there is room to record them."""
    K, PI, t, e = W[W_K], W[W_PI], W[W_EVT], W[W_EVI]
    arrival_t, arrival_i = W[W_ARRIVAL_T], W[W_ARRIVAL_I]
    horizon = W[W_PF][PF_HORIZON]
    calls_room, incidents_room = W[W_CF].shape[1], W[W_INC_F].shape[1]
    while True:
        # the next event: the heap's top or a line's next arrival, the first by (time, sequence)
        kind, first, seq = NONE, 0.0, 0
        if K[K_EVENTS] > 0:
            kind, first, seq = e[0, 1], t[0], e[0, 0]
        for line in (LINE_999, LINE_101):
            if arrival_i[line, 1] != NONE and (kind == NONE or arrival_t[line] < first or (
                    arrival_t[line] == first and arrival_i[line, 0] < seq)):
                kind, first, seq = EV_ARRIVAL_999 if line == LINE_999 else EV_ARRIVAL_101, arrival_t[line], \
                    arrival_i[line, 0]
        if kind == NONE or first >= horizon:
            return FINISHED
        if first >= until:
            return REACHED_UNTIL
        if (K[K_CALLS] + 2 > calls_room or K[K_INCIDENTS] + 2 > incidents_room
                or K[K_EVENTS] + PI[PI_EVENT_MARGIN] > t.shape[0] or K[K_DISPATCH] + 2 > W[W_DHF].shape[1]
                or K[K_RQ_TAIL] + 2 > W[W_RQ].shape[0]):
            return NEED_ROOM
        W[W_NOW][0] = first
        if kind == EV_ARRIVAL_999:
            a = arrival_i[LINE_999, 1]
            _offer_999(W, _new_call(W, LINE_999, a * PI[PI_ATTEMPTS], NONE))
            _schedule_arrival(W, LINE_999, a + 1)
            continue
        if kind == EV_ARRIVAL_101:
            a = arrival_i[LINE_101, 1]
            _offer_101(W, _new_call(W, LINE_101, (PI[PI_N_999] + a) * PI[PI_ATTEMPTS], NONE))
            _schedule_arrival(W, LINE_101, a + 1)
            continue
        at = _pop_event(W)
        kind, a, b = e[at, 1], e[at, 2], e[at, 3]
        if kind == EV_ROSTER:
            _roster_changes(W, a)
        elif kind == EV_HANGUP_999:
            if _unanswered(W, a):
                W[W_CI][CI_OUTCOME, a] = ABANDONED
                W[W_CF][CF_T_END, a] = W[W_NOW][0]
                _leave(W, Q999, W999)
                _after_999_hang_up(W, a)
        elif kind == EV_HANGUP_SWITCHBOARD:
            if _unanswered(W, a):
                W[W_CI][CI_OUTCOME, a] = ABANDONED_SWITCHBOARD
                W[W_CF][CF_T_END, a] = W[W_NOW][0]
                _leave(W, QSWITCH, WSWITCH)
                _maybe_redial(W, a)
        elif kind == EV_HANGUP_SECONDARY:
            if W[W_CI][CI_OUTCOME, a] == NONE:
                W[W_CI][CI_OUTCOME, a] = ABANDONED_SECONDARY
                W[W_CF][CF_T_END, a] = W[W_NOW][0]
                _leave(W, QSEC, WSEC)
                _maybe_redial(W, a)
        elif kind == EV_TRIAGE_ENDS:
            _triage_ends(W, a)
        elif kind == EV_QUESTION_SET_ENDS:
            _question_set_ends(W, a, b)
        elif kind == EV_FINISH_WORK:
            _finish_work(W, a)
        elif kind == EV_QUESTION_SET_ENDS_THEN_FINISH:
            _question_set_ends(W, a, b % SOURCE_SPAN)
            _finish_work(W, b // SOURCE_SPAN)
        elif kind == EV_REDIAL:
            _caller_redials(W, a, b)
        elif kind == EV_CALLBACK_DUE:
            _callback_due(W, a)
        elif kind == EV_UNIT_FREE:
            _unit_free(W, a, b)
        elif kind == EV_REVIEW:
            _review_due(W, a)
        elif kind == EV_APPOINTMENT:
            _appointment_starts(W, a)
        elif kind == EV_NEIGHBOURS_MAY_GO:
            _neighbours_may_go(W, a)


@njit(cache=True, error_model="numpy", _nrt=False)
def _close(W):
    """Account every level up to the horizon, as the reference engine's close() does."""
    W[W_NOW][0] = W[W_PF][PF_HORIZON]
    for lv in range(W[W_LEVEL].shape[0]):
        _change(W, lv, 0)


# ---------------------------------------------------------------- the Python side
def _grow(array: np.ndarray, size: int, axis: int = 0) -> np.ndarray:
    """``array`` extended to ``size`` along ``axis`` (new cells uninitialised)."""
    shape = list(array.shape)
    shape[axis] = size
    grown = np.empty(shape, dtype=array.dtype)
    index = [slice(None)] * array.ndim
    index[axis] = slice(0, array.shape[axis])
    grown[tuple(index)] = array
    return grown


def _blank(defaults: np.ndarray, size: int) -> np.ndarray:
    """Columns of ``size`` records, column ``j`` filled with ``defaults[j]``.

    Filling whole columns here is cheaper than writing every column of each new call in
    the loop (17 scattered stores per call, as the columns are far apart).
    """
    blank = np.empty((len(defaults), size), dtype=defaults.dtype)
    blank[...] = defaults[:, None]
    return blank


def _state_name(column: str) -> str:
    """The state's field for a draw column (the draws' ``area`` is ``row_area``: W_AREA is the levels')."""
    return "row_area" if column == "area" else column


class FastEngine:
    """Run a :class:`~demandsim.model.plan.RunPlan` with the compiled loop; returns :class:`RunRecords`."""

    name = "fast"

    def run(self, plan: RunPlan, progress=None) -> RunRecords:
        """Simulate to the horizon. ``progress(days_done)`` is called after each simulated day."""
        m = plan.model
        window = DrawWindow(plan)
        window.cover(86400.0)  # the first day's callers (and the rest of their block)
        hours = len(m.calendar.hour_of_week)
        areas = m.areas
        # the hub's groups, then the units of each area (group UNITS + area)
        head = np.ascontiguousarray(np.concatenate([np.stack([m.headcount[g][:hours] for g in STAFF_GROUPS[:UNITS]]),
                                                    m.units_by_area[:, :hours]]).astype(np.int64))
        neighbours = np.full((areas.count, max(1, max(len(n) for n in areas.neighbours))), NONE, np.int64)
        for area, listed in enumerate(areas.neighbours):
            neighbours[area, :len(listed)] = listed
        first_calls = len(plan.arrivals_999) + len(plan.arrivals_101)
        # each 101 caller's own route (their first row): to 999 (a transfer, one more call) or to the
        # secondary line; with the 999 callers, those who can reach a handler and make an incident
        n_999 = len(plan.arrivals_999)
        routes_101 = caller_routes_101(m, n_999, len(plan.arrivals_101), plan.seed)
        reach_handler = n_999 + int(np.count_nonzero(routes_101 <= max(ROUTE_TO_999, ROUTE_SECONDARY)))
        # calls: first calls and their transfers when a caller has one contact (exact), else first calls
        # plus a fifth for redials, transfers and call-backs; grown by half when short. Every row
        # made is filled with defaults before the run (_blank), so the room is not overstated
        if m.max_attempts == 1:
            calls = first_calls + int(np.count_nonzero(routes_101 == ROUTE_TO_999)) + 1024
        else:
            calls = int(1.2 * first_calls) + 1024
        # incidents: at most one per caller who reaches a handler, most of whom do (a baseline year
        # 96%, the Erlang-A core 95%; a 101 caller closed at the switchboard only by redialling 999),
        # plus a fiftieth; grown by half when short
        incident_room = reach_handler + reach_handler // 50 + 1024
        events = 4096
        margin = 2 * int(head.sum(axis=0).max(initial=0)) + 16
        secondary_staff = CH if m.pooled_secondary else SEC
        W = {
            "now": np.zeros(1),
            "k": np.zeros(N_K, np.int64),
            "staff": np.stack([head[:, 0] if hours else np.zeros(len(head), np.int64), np.zeros(len(head), np.int64)]),
            "q": np.empty((N_QUEUES, calls), np.int32),
            # a new call's and a new incident's columns hold their defaults already
            "cf": _blank(CF_DEFAULTS, calls),
            "ci": _blank(CI_DEFAULTS, calls),
            "inc_f": _blank(IF_DEFAULTS, incident_room),  # + IF_REVIEW_U, IF_ON_SCENE_LEFT, IF_TRAVEL
            "inc_i": _blank(II_DEFAULTS, incident_room),  # + II_DIVERTABLE_AT, II_WITHDRAWN, II_UNIT_NOW
            "route": None,  # the draw columns (route, travel, ...) are the window's: _hold_draws
            "gcum": np.ascontiguousarray(m.grading.cumulative, dtype=np.float64),
            "level": np.zeros(len(LEVELS), np.int64),
            "since": np.zeros(len(LEVELS)),
            "area": np.zeros((len(LEVELS), hours)),
            "evt": np.zeros(events),
            "evi": np.zeros((events, 4), np.int64),
            "dhf": np.zeros((areas.count * N_DEPLOYED, events)),
            "dhi": np.zeros((areas.count * N_DEPLOYED, events, 3), np.int64),
            "pf": np.array([m.horizon_s, m.redial_to_999, m.redial_to_101, m.callback_reach],
                           dtype=np.float64),
            "pi": np.array([m.digital_desk_threshold, m.max_attempts, n_999, m.max_attempts, secondary_staff, margin,
                            m.callback_enabled, m.patience_continues, m.divert_from, m.review.enabled,
                            m.review.slots.windows, m.review.slots.per_day, m.review.handlers_kept_free,
                            areas.count > 1],
                           dtype=np.int64),
            "head": head,
            "a999": np.ascontiguousarray(plan.arrivals_999, dtype=np.float64),
            "a101": np.ascontiguousarray(plan.arrivals_101, dtype=np.float64),
            "travel": None,
            "on_scene": None,
        }
        W.update({name: None for name in DRAW_FIELDS})
        # at most one divertable incident per busy unit, and no area ever has more busy than its most available
        W.update(arrival_t=np.zeros(2), arrival_i=np.full((2, 2), NONE, np.int64),
                 divertable=np.zeros(int(head[UNITS:].max(axis=1, initial=0).sum()) + 1, np.int32),
                 row_area=None, dn=np.zeros(areas.count * N_DEPLOYED, np.int64),
                 neighbours=neighbours, travel_multiplier=np.ascontiguousarray(areas.travel_multiplier()),
                 neighbour_after=np.array(areas.neighbour_after_s, dtype=np.float64))
        W.update({name: None for name in REVIEW_COLUMNS})
        review, target = m.review, m.grading.target_s
        W.update(rq=np.zeros(1024 if review.enabled else 2, np.int64),
                 rf=np.array([review.interval_s, review.lead_s, review.max_wait_s, review.slots.day_start_s,
                              review.slots.slot_s,
                              *target[:N_DEPLOYED], *review.cumulative[:, :2].ravel()], dtype=np.float64),
                 dw=window.offsets, inc_rt=np.zeros((3, W["inc_f"].shape[1] if review.enabled else 1)))
        self._hold_draws(W, window)
        assert len(W["rf"]) == N_RF
        assert tuple(W) == FIELDS
        state = tuple(W.values())
        _start(state)
        day = 1
        while True:
            status = _advance(state, float(day * 86400.0))
            if W["k"][K_MISSED]:
                raise RuntimeError(f"internal error: draw row {W['k'][K_MISSED] - 1} was read after the draw "
                                   "window let it go (demandsim.draw_window); please report it")
            if status == NEED_ROOM:
                self._make_room(W, margin)
                state = tuple(W.values())
            elif status == REACHED_UNTIL:
                if progress is not None:
                    progress(day)
                day += 1
                # the next day's callers, and the blocks no caller can read again let go
                if window.cover(day * 86400.0, open_from=lambda: self._open_callers(W, window)):
                    self._hold_draws(W, window)
                    state = tuple(W.values())
            else:
                break
        _close(state)
        if progress is not None:
            progress(m.horizon_s / 86400.0)
        del state
        # Memory: the output columns are built one table at a time, each table's int32 block
        # dropped once its columns are converted (the float columns are views of cf and inc_f)
        for name in ("q", "evt", "evi", "dhf", "dhi", "rq", "inc_rt", *map(_state_name, window.columns)):
            del W[name]
        del window
        incidents = self._log(W, INCIDENT_COLUMNS, W["inc_f"], IF_NAMES, W.pop("inc_i"), II_NAMES, K_INCIDENTS)
        calls = self._log(W, CALL_COLUMNS, W["cf"], CF_NAMES, W.pop("ci"), CI_NAMES, K_CALLS)
        area = W["area"]
        W.clear()  # the engine's working arrays go before the output tables are built
        return finish_records(m, calls, incidents, area)

    @staticmethod
    def _hold_draws(W: dict, window: DrawWindow) -> None:
        """The window's columns as the state's draw fields (W_DW, its offsets, is the same array)."""
        for name, column in window.columns.items():  # in the dtypes compiled for (a test's own table may differ)
            W[_state_name(name)] = np.ascontiguousarray(column, dtype=COLUMN_DTYPES.get(name, np.float64))
        W["dw"] = window.offsets

    @staticmethod
    def _open_callers(W: dict, window: DrawWindow) -> tuple[int, int]:
        """Per line, the first caller who may still read a draw row: a call of theirs is in a
        pending event (a hang-up, the end of triage or of a question set, a redial or call-back
        due) or waits in a queue, or they have not arrived. Every read of a row is for such a call
        (or a new contact of its caller); incidents read their own copies."""
        K, evi, q, ci = W["k"], W["evi"], W["q"], W["ci"]
        pending = evi[:K[K_EVENTS]]
        calls = [pending[np.isin(pending[:, 1], CALL_EVENTS), 2]]
        calls += [q[j, K[K_HEAD + j]:K[K_TAIL + j]] for j in range(N_QUEUES)]
        rows = ci[CI_DRAW_ROW, np.concatenate(calls).astype(np.int64)].astype(np.int64)
        rows_999 = window.offsets[DW_999_ROWS]
        first = []
        for line, mine in ((LINE_999, rows[rows < rows_999]), (LINE_101, rows[rows >= rows_999] - rows_999)):
            nxt = W["arrival_i"][line, 1]
            arriving = window.n[line] if nxt == NONE else int(nxt)
            first.append(min(arriving, int(mine.min()) // window.attempts) if len(mine) else arriving)
        return first[LINE_999], first[LINE_101]

    @staticmethod
    def _make_room(W: dict, margin: int) -> None:
        K = W["k"]
        calls = W["cf"].shape[1]
        if K[K_CALLS] + 2 > calls:
            size = calls + calls // 2
            W["q"] = _grow(W["q"], size, axis=1)
            for name, defaults in (("cf", CF_DEFAULTS), ("ci", CI_DEFAULTS)):
                grown = _blank(defaults, size)
                grown[:, :calls] = W[name]
                W[name] = grown
        incidents = W["inc_f"].shape[1]
        if K[K_INCIDENTS] + 2 > incidents:
            size = incidents + incidents // 2
            for name, defaults in (("inc_f", IF_DEFAULTS), ("inc_i", II_DEFAULTS)):
                grown = _blank(defaults, size)
                grown[:, :incidents] = W[name]
                W[name] = grown
            if W["inc_rt"].shape[1] > 1:  # review.enabled: as many as inc_f
                W["inc_rt"] = _grow(W["inc_rt"], size, axis=1)
        if K[K_RQ_TAIL] + 2 > W["rq"].shape[0]:  # the calls still to make, moved to the front
            waiting = W["rq"][K[K_RQ_HEAD]:K[K_RQ_TAIL]]
            W["rq"] = np.zeros(max(1024, 2 * (len(waiting) + 2), W["rq"].shape[0]), np.int64)
            W["rq"][:len(waiting)] = waiting
            K[K_RQ_HEAD], K[K_RQ_TAIL] = 0, len(waiting)
        events = W["evt"].shape[0]
        if K[K_EVENTS] + margin > events or K[K_DISPATCH] + 2 > W["dhf"].shape[1]:
            size = 2 * max(events, K[K_EVENTS] + margin)
            W["evt"] = _grow(W["evt"], size)
            W["evi"] = _grow(W["evi"], size)
        if K[K_DISPATCH] + 2 > W["dhf"].shape[1]:  # a heap holds at most all the incidents waiting
            size = 2 * W["dhf"].shape[1]
            W["dhf"] = _grow(W["dhf"], size, axis=1)
            W["dhi"] = _grow(W["dhi"], size, axis=1)

    @staticmethod
    def _log(W: dict, columns: dict, floats, float_names, ints, int_names, counter) -> ColumnLog:
        n = int(W["k"][counter])
        arrays = {name: floats[row, :n] for row, name in enumerate(float_names)}
        arrays.update({name: ints[row, :n].astype(columns[name][0]) for row, name in enumerate(int_names)})
        return ColumnLog.from_arrays(columns, arrays)
