"""How many call handlers (and response units) were available, per hour of the week.

**Head counts are not capacity.** The number of distinct agents who answered a call in an
hour overstates the handlers available to take calls wherever staff also do other work
(call-backs, admin, webchat, breaks): a back-test staffed with head counts shows almost no
queue where the real month had plenty. This module estimates availability from the
records themselves and reports head counts beside it.

**The estimator** (the "busy server" argument of queueing theory; Brown et al., "Statistical
analysis of a telephone call center", JASA 2005, section 2, on reading agents' states from
ACD records): while any caller of the line is waiting, every available handler is busy
(otherwise the waiting caller would be answered), so the number of calls *in progress*
(answered and not yet finished: ``[arrived_at + wait_s, arrived_at + wait_s + handle_s)``,
handling including wrap-up) at those moments *is* the number of handlers available then.
For each hour of the week the estimate is the time-weighted mean of calls in progress over
the moments when at least one caller waits (``[arrived_at, arrived_at + wait_s)``), pooled
over every occurrence of that hour in the period. It is computed by one sweep over the
sorted start and end times of both kinds of interval (``np.argsort`` of +1/-1 events,
cumulative sums; the hour boundaries are events too, so no interval crosses an hour): no
loop over calls, a year of 450,000 calls takes about a second.

**Hours that say nothing.** Where callers waited less than :data:`MIN_WAITING_MIN` minutes
in that hour of the week, summed over all its occurrences, the queue was (almost) never
non-empty and the moments above are too few to stand for the hour. There the records only
bound availability from below: at every moment at least as many handlers were available as
calls were in progress (one handler takes one call at a time), so the largest number in
progress during one occurrence of the hour (held for at least :data:`MIN_LEVEL_S` seconds,
as times are rounded) is a sure lower bound for that occurrence, and
the mean of those maxima over the occurrences is a lower bound for the mean available
(``busy_bound``; a time-weighted percentile of calls in progress would be no bound of
anything). With agent names the hour is filled as ``min(head count, max(busy_bound,
share x head count))`` (``head_count_share``), where ``share`` is the ratio of the estimate
to the head count over the hours that were estimated from waiting (at most 1): the head
count is an upper bound of who could have taken calls, and the share carries over the
proportion of present staff the busy hours show to be available, never below the sure
lower bound. Without names the hour takes the larger of the busy bound and the staff
whose Erlang A (units: Erlang C) share of arrivals that wait is nearest the share that
waited (:func:`queue_as_rare`, ``queue_floor``): the busy bound alone falls far below the
staff in a quiet hour (a model staffed with it makes queues the records never had). Hours with no call at all are
``no_calls`` (0); hours of the week the period does not contain are ``not_in_period``
(``None``).

**What the estimate assumes.** Calls of the line are answered first-come-first-served from
one pool of handlers: if the same handlers also answer another line with priority, a caller
of the lower line can wait while a handler takes the other line's call; pass the calls of
every line the pool answers together. Response units: the same argument with incidents
waiting for a unit (:func:`units_on_duty`), where a dispatcher who holds units back for
higher grades while a ``prompt`` incident waits makes the estimate a lower bound.

Example:
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> period = SimpleNamespace(start=pd.Timestamp("2024-01-01"), end=pd.Timestamp("2024-01-08"), days=7.0)
    >>> calls = pd.DataFrame({"arrived_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:00",
    ...                                                     "2024-01-01 10:01"]),
    ...                       "line": "999", "outcome": "answered", "wait_s": [0.0, 0.0, 600.0],
    ...                       "handle_s": [660.0, 900.0, 300.0], "agent": ["a", "b", "a"]})
    >>> result = available_handlers(calls, period)
    >>> result["staff_per_hour_of_week"][10], result["method_per_hour"][10], result["waiting_minutes"][10]
    (2.0, 'waiting', 10.0)
    >>> result["head_counts"][10]
    2.0
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: seconds in an hour; hours in a week
HOUR = 3600.0
WEEK_HOURS = 168
#: an hour of the week whose callers waited less than this (minutes, summed over all its
#: occurrences in the period) is not estimated from waiting: a few seconds of queue at a shift
#: change in one week would otherwise set the hour for every week
MIN_WAITING_MIN = 5.0
#: the same for units, longer: an incident's wait for a unit is tens of minutes where a caller's
#: is seconds, and the start of a CAD incident's wait is only known to within the time its
#: call takes (units_on_duty's ready_after_s), so a few minutes of it say little
MIN_WAITING_MIN_UNITS = 60.0
#: seconds a number of calls in progress must last to count towards the busy bound (see _sweep)
MIN_LEVEL_S = 5.0
#: the grades a unit is sent to at once, whose waiting means every available unit is busy
DEPLOYABLE_GRADES = ("immediate", "priority", "prompt")


def head_counts(calls_of_line: pd.DataFrame, period) -> np.ndarray | None:
    """Mean number of distinct agents who answered at least one call in each hour of the week.

    ``calls_of_line``: the clean calls table of one line (columns ``arrived_at``, ``outcome``,
    ``wait_s``, ``agent``); a call counts in the hour it was answered (``arrived_at + wait_s``).
    ``period``: the data's :class:`~demandsim.calibrate.read.Period` (``start``, ``end``).
    Returns 168 means per occurrence of the hour (Monday 00:00 first; NaN for an hour of the
    week the period does not contain), or None when no call names its agent.
    """
    clock = _WeekClock(period)
    answered = calls_of_line[(calls_of_line["outcome"] == "answered") & calls_of_line["agent"].notna()]
    if answered.empty:
        return None
    answer = clock.seconds(answered["arrived_at"]) + answered["wait_s"].to_numpy(dtype=np.float64)
    inside = (answer >= 0) & (answer < clock.hours * HOUR)
    hour = (answer[inside] // HOUR).astype(np.int64)
    agent = pd.factorize(answered["agent"].to_numpy()[inside])[0].astype(np.int64)
    return clock.per_occurrence(_distinct_per_hour(agent, hour, clock.hours))


def available_handlers(calls_of_line: pd.DataFrame, period) -> dict:
    """Call handlers available per hour of the week, estimated from the queue (module docstring).

    ``calls_of_line``: the clean calls table of the line (or of every line one pool answers);
    ``period``: the data's Period. Returns ``{"staff_per_hour_of_week": [168], "head_counts":
    [168] | None, "method_per_hour": [168 of "waiting" | "busy_bound" | "head_count_share" |
    "no_calls" | "not_in_period"], "waiting_minutes": [168], "busy_bound": [168]}``: means per
    occurrence of each hour, Monday 00:00 first; ``waiting_minutes`` is summed over the
    occurrences (the evidence behind a ``waiting`` hour). ``None`` for hours not in the period.
    """
    clock = _WeekClock(period)
    arrived = clock.seconds(calls_of_line["arrived_at"])
    wait = calls_of_line["wait_s"].to_numpy(dtype=np.float64)
    handle = calls_of_line["handle_s"].to_numpy(dtype=np.float64)
    answered = (calls_of_line["outcome"] == "answered").to_numpy() & np.isfinite(handle)
    answer = arrived + wait
    sweep = _sweep(arrived, answer, answer[answered], answer[answered] + handle[answered], clock)
    heads = head_counts(calls_of_line, period)
    waited = _share_by_hour_of_week(arrived, wait > 1.0, clock)  # more than a second: rounding aside
    # callers who hang up keep a queue short: the floor counts them (exponential patience, its
    # censored maximum-likelihood mean: all the time waited over the hang-ups), in handle times
    hung_up = int((~answered & np.isfinite(wait)).sum())
    patience = np.nansum(wait) / hung_up / np.nanmean(handle[answered]) if hung_up and answered.any() else None
    return _result(sweep, heads, clock, "staff_per_hour_of_week", waited=waited, patience=patience)


def units_on_duty(incidents: pd.DataFrame, period, ready_after_s: float = 0.0) -> dict | None:
    """Response units available per hour of the week, estimated from incidents waiting for a unit.

    While a deployable incident (immediate, priority, prompt) waits for a unit (``created_at``
    to ``assigned_at``), every available unit is busy, so the units busy (``assigned_at`` to
    ``cleared_at``, any grade) at those moments measure the units available; the rest as
    :func:`available_handlers`. Incidents never assigned do not count as waiting (when they
    stopped waiting is unknown). Head counts: distinct ``unit`` values busy at some moment
    of the hour. Returns the same layout with ``units_per_hour_of_week`` in place of
    ``staff_per_hour_of_week``, or None when no incident has both ``assigned_at`` and
    ``cleared_at``.

    ``ready_after_s``: an incident is counted as waiting only from ``created_at +
    ready_after_s``. A CAD incident is created while its call is still being taken, and
    cannot be dispatched until the call has got far enough: counting that time as waiting
    would take moments when units stood free for moments when none was (the estimate would
    fall far below the units on duty, most at night). The calibration passes the 95th
    percentile of a 999 call's wait + handle time: past it, an incident not yet assigned is
    (almost surely) ready and waiting for a unit.
    """
    clock = _WeekClock(period)
    created = clock.seconds(incidents["created_at"])
    assigned = clock.seconds(incidents["assigned_at"])
    cleared = clock.seconds(incidents["cleared_at"])
    busy = np.isfinite(assigned) & np.isfinite(cleared)
    if not busy.any():
        return None
    ready = created + ready_after_s
    waits = (incidents["grade"].isin(DEPLOYABLE_GRADES).to_numpy() & np.isfinite(created) & np.isfinite(assigned)
             & (assigned > ready))
    sweep = _sweep(ready[waits], assigned[waits], assigned[busy], cleared[busy], clock)
    heads = None
    named = busy & incidents["unit"].notna().to_numpy()
    if named.any():
        start, end = _clip(assigned[named], cleared[named], clock.hours * HOUR)
        unit = pd.factorize(incidents["unit"].to_numpy()[named])[0].astype(np.int64)
        # an assignment with no duration (cleared at once) still shows the unit on duty that hour
        keep = end >= start
        first = (start[keep] // HOUR).astype(np.int64)
        last = np.maximum(first, (np.ceil(end[keep] / HOUR) - 1).astype(np.int64))
        last = np.minimum(last, clock.hours - 1)
        span = last - first + 1
        rows = np.repeat(np.arange(len(first)), span)
        offset = np.arange(len(rows)) - np.repeat(np.cumsum(span) - span, span)
        heads = clock.per_occurrence(_distinct_per_hour(unit[keep][rows], first[rows] + offset, clock.hours))
    deployable = incidents["grade"].isin(DEPLOYABLE_GRADES).to_numpy() & np.isfinite(created) & np.isfinite(assigned)
    waited = _share_by_hour_of_week(created[deployable], (assigned > ready)[deployable], clock)
    return _result(sweep, heads, clock, "units_per_hour_of_week", MIN_WAITING_MIN_UNITS, waited=waited)


class _WeekClock:
    """The period's hours: seconds since its start, and which hour of the week each hour is."""

    def __init__(self, period) -> None:
        self.start = pd.Timestamp(period.start)
        self.hours = max(1, int(round((pd.Timestamp(period.end) - self.start) / pd.Timedelta(hours=1))))
        first = self.start.day_of_week * 24 + self.start.hour
        #: hour of the week of each hour of the period
        self.hour_of_week = (first + np.arange(self.hours)) % WEEK_HOURS
        #: how many times each hour of the week occurs in the period
        self.occurrences = np.bincount(self.hour_of_week, minlength=WEEK_HOURS)

    def seconds(self, column: pd.Series) -> np.ndarray:
        """Seconds since the period's start (NaN where the time is missing), any datetime unit."""
        values = pd.to_datetime(column).to_numpy()
        return (values - self.start.to_datetime64()) / np.timedelta64(1, "s")

    def per_week_hour(self, per_hour: np.ndarray) -> np.ndarray:
        """Sums of a per-hour-of-the-period quantity by hour of the week."""
        return np.bincount(self.hour_of_week, weights=per_hour, minlength=WEEK_HOURS)

    def per_occurrence(self, per_hour: np.ndarray) -> np.ndarray:
        """Means per occurrence of each hour of the week (NaN where it does not occur)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.per_week_hour(per_hour) / self.occurrences


def _clip(start: np.ndarray, end: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Intervals cut to the period ``[0, horizon]``; those with a missing end or outside dropped."""
    start, end = np.clip(start, 0.0, horizon), np.clip(end, 0.0, horizon)
    keep = np.isfinite(start) & np.isfinite(end) & (end >= start)
    return start[keep], end[keep]


def _sweep(wait_start, wait_end, busy_start, busy_end, clock: _WeekClock) -> dict:
    """One pass over the sorted interval ends: per hour of the week the seconds somebody waited
    and the integral of calls in progress over those seconds; per hour of the period the
    most calls in progress at once."""
    horizon = clock.hours * HOUR
    wait_start, wait_end = _clip(wait_start, wait_end, horizon)
    busy_start, busy_end = _clip(busy_start, busy_end, horizon)
    bounds = np.arange(clock.hours + 1, dtype=np.float64) * HOUR  # so that no piece crosses an hour
    n_wait, n_busy, n_bounds = len(wait_start), len(busy_start), len(bounds)
    times = np.concatenate([wait_start, wait_end, busy_start, busy_end, bounds])
    one = np.ones(1, dtype=np.int32)
    wait_step = np.concatenate([np.repeat(one, n_wait), np.repeat(-one, n_wait),
                                np.zeros(2 * n_busy + n_bounds, dtype=np.int32)])
    busy_step = np.concatenate([np.zeros(2 * n_wait, dtype=np.int32), np.repeat(one, n_busy),
                                np.repeat(-one, n_busy), np.zeros(n_bounds, dtype=np.int32)])
    order = np.argsort(times, kind="stable")
    times = times[order]
    # the counts after each event hold until the next one (pieces of zero length from ties
    # weigh nothing, so the order of simultaneous events does not matter)
    waiting = np.cumsum(wait_step[order])[:-1]
    in_progress = np.cumsum(busy_step[order])[:-1]
    length = np.diff(times)
    hour = np.minimum((times[:-1] // HOUR).astype(np.int64), clock.hours - 1)
    queued = (waiting > 0) & (length > 0)
    hour_of_week = clock.hour_of_week[hour[queued]]
    # a level of calls in progress counts towards the bound only when it lasts (summed over the
    # pieces it spans) at least MIN_LEVEL_S: records round times to the second, so one handler's
    # back-to-back calls can seem to overlap for a moment
    level_run = np.concatenate([[0], np.cumsum(np.diff(in_progress) != 0)])
    run_length = np.bincount(level_run, weights=length)
    lasting = (length > 0) & (run_length[level_run] >= MIN_LEVEL_S)
    most = np.zeros(clock.hours, dtype=np.int64)
    np.maximum.at(most, hour[lasting], in_progress[lasting])
    every = length > 0
    return {"waiting_s": np.bincount(hour_of_week, weights=length[queued], minlength=WEEK_HOURS),
            "busy_s": np.bincount(clock.hour_of_week[hour[every]], weights=(length * in_progress)[every],
                                  minlength=WEEK_HOURS),
            "busy_while_waiting_s": np.bincount(hour_of_week, weights=(length * in_progress)[queued],
                                                minlength=WEEK_HOURS),
            "busy_bound": clock.per_occurrence(most.astype(np.float64))}


def _share_by_hour_of_week(start: np.ndarray, flag: np.ndarray, clock) -> np.ndarray:
    """Share of the arrivals (seconds since the period's start) in each hour of the week with ``flag``."""
    inside = np.isfinite(start) & (start >= 0) & (start < clock.hours * HOUR)
    how = clock.hour_of_week[(start[inside] // HOUR).astype(np.int64)]
    n = np.bincount(how, minlength=WEEK_HOURS)
    with np.errstate(invalid="ignore", divide="ignore"):
        # none of n waited: read as half a caller in n (the share cannot be told from 0 below 1/n)
        return np.maximum(np.bincount(how, weights=flag[inside].astype(np.float64), minlength=WEEK_HOURS),
                          0.5) / n


def queue_as_rare(load: np.ndarray, waited: np.ndarray, patience: float | None = None) -> np.ndarray:
    """Per hour: the staff with which arrivals would wait as often as they did (Erlang C, or
    Erlang A when callers hang up: ``patience`` is their mean patience in mean handle times).

    In a quiet hour the most calls (or incidents) in hand at once falls below those on duty:
    thirty units at night with eight incidents in hand on average show at most a dozen busy at
    once, and a model staffed so makes queues the records never had. With the hour's mean load
    ``a`` (calls, or incidents, in progress on average) and the share of its arrivals that
    waited ``w``, this is the ``c`` whose probability that an arrival finds all ``c`` busy
    (PASTA: M/M/c, or M/M/c+M with hang-ups) is nearest ``w`` on the log-odds scale: a
    moment estimate of the staff from how often anybody had to wait. It is no exact
    measurement (the hour's load varies, handle times are not exponential), so the
    calibration uses it only where the queue was too rare to measure the staff directly, and
    never below the most in progress at once.

    Example:
        >>> [int(c) for c in queue_as_rare(np.array([2.0, 8.5, 0.0]), np.array([0.1, 0.05, 0.0]))]
        [5, 14, 0]
    """
    from demandsim.theory import _erlang_a_distribution, erlang_c

    def all_busy(c: int, a: float) -> float:
        if patience is None:
            return erlang_c(c, a) if c > a else 1.0
        return float(_erlang_a_distribution(c, a, 1.0, 1.0 / patience)[c:].sum())

    def logit(p: float) -> float:
        p = min(max(p, 1e-12), 1 - 1e-12)
        return math.log(p / (1 - p))

    out = np.zeros(len(load))
    for i, (a, w) in enumerate(zip(load, waited)):
        if not np.isfinite(a) or a <= 0 or not np.isfinite(w):
            continue
        c, best, gap = max(1, int(np.floor(a))), None, math.inf
        while True:  # all_busy falls as c grows: stop once past w
            p = all_busy(c, float(a))
            if abs(logit(p) - logit(w)) < gap:
                best, gap = c, abs(logit(p) - logit(w))
            if p < w:
                break
            c += 1
        out[i] = best
    return out


def _distinct_per_hour(who: np.ndarray, hour: np.ndarray, hours: int) -> np.ndarray:
    """Number of distinct ``who`` per hour of the period (``who`` and ``hour`` paired arrays)."""
    pairs = np.unique(who * hours + hour)
    return np.bincount(pairs % hours, minlength=hours).astype(np.float64)


def _result(sweep: dict, heads: np.ndarray | None, clock: _WeekClock, key: str,
            min_waiting_min: float = MIN_WAITING_MIN, waited: np.ndarray | None = None,
            patience: float | None = None) -> dict:
    """The estimate per hour of the week with the rule for hours without a queue (module docstring)."""
    waiting_min = sweep["waiting_s"] / 60.0
    with np.errstate(invalid="ignore", divide="ignore"):
        from_waiting = sweep["busy_while_waiting_s"] / sweep["waiting_s"]
    estimated = waiting_min >= min_waiting_min
    floor = np.zeros(WEEK_HOURS)
    if waited is not None:  # the most busy at once is below those on duty in a quiet hour
        with np.errstate(invalid="ignore", divide="ignore"):
            load = sweep["busy_s"] / (clock.occurrences * HOUR)
        floor = queue_as_rare(load, waited, patience)
    bound = np.fmax(sweep["busy_bound"], floor)
    staff = np.where(estimated, from_waiting, bound)
    method = np.where(estimated, "waiting", "busy_bound").astype(object)
    if heads is not None:
        known = estimated & (heads > 0)
        share = min(1.0, from_waiting[known].sum() / heads[known].sum()) if known.any() else None
        if share is not None:
            # names known: the share of present staff carries over (the queue floor is for anonymous
            # records, the head count being the better evidence), never under the most in progress
            fill = np.minimum(heads, np.maximum(sweep["busy_bound"], share * heads))
            use = ~estimated & (heads > 0)
            staff = np.where(use, fill, staff)
            method[use] = "head_count_share"
    quiet = ~estimated & (staff == 0)
    method[quiet] = "no_calls"
    absent = clock.occurrences == 0
    method[absent] = "not_in_period"
    return {key: _floats(staff, absent),
            "head_counts": None if heads is None else _floats(heads, absent),
            "method_per_hour": [str(m) for m in method],
            "waiting_minutes": _floats(waiting_min, absent),
            "busy_bound": _floats(sweep["busy_bound"], absent),
            "queue_floor": _floats(floor, absent)}


def _floats(values: np.ndarray, absent: np.ndarray) -> list:
    """Plain floats for JSON, ``None`` for hours of the week the period does not contain."""
    return [None if gone else float(v) for v, gone in zip(values, absent)]
