"""THRIVE review of incidents still waiting at their target: victim updates, phone resolution, appointments.

The story (``review.enabled``; off by default, and then nothing here happens):

- an immediate, priority or prompt incident still waiting for its **first** unit when
  its grade's target passes (``t_call_start + target``; at once when it becomes ready
  if the target passed before that) is **reviewed** by the dispatcher, and again every
  ``review.interval`` minutes while it still waits. An incident that has had a unit
  (even one diverted away later) is not reviewed again;
- each review has one of three outcomes, by the grade's shares (``review.<grade>``):

  * ``stays``: it keeps waiting in the dispatch queue, in its place, and the victim is
    **updated**: a call of ``review.victim_update_time`` in call-handler time;
  * ``resolved_by_phone``: it leaves the dispatch queue for good and is **resolved by a
    call** of ``review.phone_resolution_time`` in call-handler time. No unit ever
    attends: it counts as resolved without attendance, never as attended in time;
  * ``appointment``: it leaves the dispatch queue and is **booked** into the first
    appointment slot with room that starts at least ``review.appointment_lead_time``
    hours after the review (:func:`book`), if one starts within ``review.appointment_max_wait``
    hours (:func:`book_within`; otherwise the review counts as ``stays``); telling the victim
    is a call of ``review.booking_time`` in call-handler time. At the slot's start it rejoins the
    dispatch queue with its own grade and its **own ready time** (its place, as an
    incident left by a diverted unit keeps it): otherwise, behind every newer incident
    of its grade, no appointment would be kept when units are short. It is **kept** if a
    unit arrives on scene before the slot ends.

- call handlers make these calls after live 999 calls and 999 call-backs, before the
  pooled secondary line, first come first served, while more than
  ``review.handlers_kept_free`` of them are free; a call of no time takes nobody, and a
  victim update for an incident that no longer waits for its first unit is dropped. The
  review itself is the dispatcher's decision and takes no modelled time.

Appointment slots (:class:`Slots`): every day the hours from
``review.appointment_hours.start_hour`` to ``end_hour`` are cut into windows of
``review.appointment_slot_minutes`` (a remainder too short for a window is unused);
``review.appointment_slots_per_day`` appointments a day are spread over the windows as
evenly as whole numbers allow, the earlier windows taking the one more. Booking
requests come in time order and each asks for the first window starting at or after
its earliest time, so the earliest window with room never moves back: the book is a
pointer to it and the appointments it holds (:func:`book`).

Random numbers: one uniform per row of the draws (``demandsim.draws``, purpose
``review``, attribute 0), the row of the call that made the incident. The first review
compares it with the grade's cumulative shares (stays, then resolved by phone, then
appointment). A review whose outcome is ``stays`` leaves ``u / stays``, uniform again
given that it stayed (and after an appointment no window could take, its place in the
appointment band), for the next review (:func:`review_outcome`): so each review's
outcome is independent with the configured shares, drawn from the incident's own number
(common random numbers: the same incident has the same reviews' outcomes in every
scenario where it waits as long). The call times are attributes 1-3 of the same purpose,
one per row: every update call of an incident takes its one drawn time.

The engines apply these rules in their own loops; the functions here are the rules'
statement, plain arithmetic on numbers, which the reference engine calls and the fast
engine compiles (``numba.njit`` of these very functions).

Example:
    >>> review_outcome(0.3, 0.6, 0.8)      # below stays: stays, and 0.3 / 0.6 for the next review
    (1, 0.5)
    >>> review_outcome(0.7, 0.6, 0.8)[0], review_outcome(0.9, 0.6, 0.8)[0]
    (2, 3)
    >>> s = Slots(day_start_s=8 * 3600.0, slot_s=7200.0, windows=6, per_day=8)
    >>> [slot_capacity(k, s.windows, s.per_day) for k in range(6)]
    [2, 2, 1, 1, 1, 1]
    >>> slot_start(first_slot_at_or_after(9 * 3600.0, *s.args()), *s.args()) / 3600   # 10:00
    10.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.errors import ConfigError, whole_number
from demandsim.model.calendar import DAY, HOUR
from demandsim.model.shares import cumulative_shares

#: incidents' ``review_outcome``: the last review's outcome (``none``: never reviewed)
REVIEW_OUTCOMES = ("none", "stays", "resolved_by_phone", "appointment")
OUTCOME_NONE, OUTCOME_STAYS, OUTCOME_RESOLVED_BY_PHONE, OUTCOME_APPOINTMENT = range(4)
#: the call-handler work a review makes, in the order of its draws (attributes 1-3 of "review")
WORK = ("victim_update", "phone_resolution", "booking")
WORK_VICTIM_UPDATE, WORK_PHONE_RESOLUTION, WORK_BOOKING = range(3)
#: the largest float below 1: a rescaled uniform never reaches 1 (u < stays gives u / stays < 1
#: in exact arithmetic, but the division may round up to 1.0)
BELOW_ONE = float(np.nextafter(1.0, 0.0))


@dataclass(frozen=True)
class Slots:
    """The appointment book's shape: windows a day and appointments a day (module docstring)."""

    day_start_s: float  # first window's start, seconds after midnight
    slot_s: float  # a window's length
    windows: int  # windows a day
    per_day: int  # appointments a day, over all windows

    def args(self) -> tuple:
        """The numbers the slot functions take, in their order."""
        return self.day_start_s, self.slot_s, self.windows, self.per_day


@dataclass(frozen=True)
class ReviewPolicy:
    """The review rules of a run, compiled from ``review`` (times in seconds)."""

    enabled: bool
    interval_s: float
    #: per deployed grade, cumulative shares (stays, stays + resolved_by_phone, 1)
    cumulative: np.ndarray
    #: call handlers make review calls only while more than this many are free (the rest kept for 999)
    handlers_kept_free: int
    lead_s: float
    max_wait_s: float  # an appointment is booked only in a window starting within this of the review
    slots: Slots


def _number(value, key: str, rule: str, ok) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not ok(value):
        raise ConfigError(key, value, rule)
    return float(value)


def _cumulative(shares, key: str) -> np.ndarray:
    """Cumulative shares (stays, stays + resolved_by_phone, 1); a band after which every share is 0
    ends at exactly 1, so that no uniform (< 1) falls in a band of share 0 by rounding (0.7 + 0.3
    is 0.99999999999999989 in floating point)."""
    cum = cumulative_shares({"stays": shares.stays, "resolved_by_phone": shares.resolved_by_phone,
                             "appointment": shares.appointment}, key)
    if shares.appointment == 0:
        cum[1] = 1.0
        if shares.resolved_by_phone == 0:
            cum[0] = 1.0
    return cum


def policy_from_config(review) -> ReviewPolicy:
    """Check ``review`` (a :class:`~demandsim.config.schema.ReviewConfig`) and compile it.

    Checked even when disabled, so that a scenario's bad value is found before it is
    switched on.

    >>> from demandsim.config.schema import ReviewConfig
    >>> policy_from_config(ReviewConfig(interval=0))
    Traceback (most recent call last):
    demandsim.errors.ConfigError: review.interval=0: must be a number of minutes > 0
    """
    interval = _number(review.interval, "review.interval", "must be a number of minutes > 0", lambda v: v > 0)
    cumulative = np.array([_cumulative(getattr(review, g), f"review.{g}") for g in DEPLOYED_GRADES])
    lead = _number(review.appointment_lead_time, "review.appointment_lead_time", "must be a number of hours >= 0",
                   lambda v: v >= 0)
    max_wait = _number(review.appointment_max_wait, "review.appointment_max_wait",
                       f"must be a number of hours >= review.appointment_lead_time ({lead:g})", lambda v: v >= lead)
    kept_free = whole_number(review.handlers_kept_free, "review.handlers_kept_free", 0)
    hours = review.appointment_hours
    start = whole_number(hours.start_hour, "review.appointment_hours.start_hour", 0, 23)
    end = whole_number(hours.end_hour, "review.appointment_hours.end_hour", start + 1, 24)
    slot_min = _number(review.appointment_slot_minutes, "review.appointment_slot_minutes",
                       "must be a number of minutes > 0", lambda v: v > 0)
    windows = int((end - start) * 60 // slot_min)
    if windows < 1:
        raise ConfigError("review.appointment_slot_minutes", review.appointment_slot_minutes,
                          f"longer than the appointment hours ({start}:00-{end}:00)")
    per_day = whole_number(review.appointment_slots_per_day, "review.appointment_slots_per_day", 0)
    books = review.enabled and any(getattr(review, g).appointment > 0 for g in DEPLOYED_GRADES)
    if books and per_day == 0:
        raise ConfigError("review.appointment_slots_per_day", per_day,
                          "must be >= 1 when a grade's reviews book appointments")
    return ReviewPolicy(enabled=bool(review.enabled), interval_s=interval * 60.0, cumulative=cumulative,
                        handlers_kept_free=kept_free, lead_s=lead * HOUR, max_wait_s=max_wait * HOUR,
                        slots=Slots(start * HOUR, slot_min * 60.0, windows, per_day))


# ----------------------------------------------------------------- the rules (plain arithmetic: numba compiles them)
def first_review_time(call_start: float, target_s: float, ready: float) -> float:
    """When an incident is first reviewed if it still waits: its target, or when it is ready if later.

    >>> first_review_time(100.0, 900.0, 400.0), first_review_time(100.0, 900.0, 1200.0)
    (1000.0, 1200.0)
    """
    due = call_start + target_s
    return due if due > ready else ready


def review_outcome(u: float, stays: float, stays_or_resolved: float) -> tuple:
    """The outcome of a review (an ``OUTCOME_*`` code) from the incident's uniform ``u``, and the
    uniform the next review reads if there is one: ``u`` rescaled within its outcome's band,
    uniform again given the outcome (``u / stays`` after ``stays``; after an appointment for
    which no slot is free soon enough, which counts as ``stays``, its place in the
    appointment band).

    ``stays`` and ``stays_or_resolved`` are the grade's cumulative shares; ``u`` at or above
    the second is an appointment.
    """
    if u < stays:
        nxt = u / stays
        return OUTCOME_STAYS, nxt if nxt < 1.0 else BELOW_ONE
    if u < stays_or_resolved:
        return OUTCOME_RESOLVED_BY_PHONE, u
    nxt = (u - stays_or_resolved) / (1.0 - stays_or_resolved)
    return OUTCOME_APPOINTMENT, nxt if nxt < 1.0 else BELOW_ONE


def slot_capacity(slot: int, windows: int, per_day: int) -> int:
    """Appointments window ``slot`` (numbered from the run's first day) holds: ``per_day`` spread
    over the day's windows, the earlier ones taking the remainder."""
    k = slot % windows
    return per_day // windows + (1 if k < per_day % windows else 0)


def slot_start(slot: int, day_start_s: float, slot_s: float, windows: int, per_day: int) -> float:
    """Start of window ``slot``, seconds from time 0 (midnight of the run's first day)."""
    return (slot // windows) * DAY + day_start_s + (slot % windows) * slot_s


def first_slot_at_or_after(t: float, day_start_s: float, slot_s: float, windows: int, per_day: int) -> int:
    """The first window starting at or after ``t`` (>= 0), whatever its room."""
    day = int(math.floor(t / DAY))
    base = day * DAY + day_start_s
    k = 0
    if t > base:
        k = int(math.ceil((t - base) / slot_s))
        while k > 0 and base + (k - 1) * slot_s >= t:  # the division's rounding, undone
            k -= 1
        while base + k * slot_s < t:
            k += 1
    if k >= windows:  # none left today: the next day's first
        return (day + 1) * windows
    return day * windows + k


def book_within(now: float, lead_s: float, max_wait_s: float, free: int, used: int, day_start_s: float,
                slot_s: float, windows: int, per_day: int) -> tuple:
    """Book an appointment for a review at ``now``: the first window with room from ``now + lead_s``,
    if it starts by ``now + max_wait_s``. Returns ``(slot, free, used)`` as :func:`book`, or
    ``(-1, free, used)`` with the book unchanged when no window that soon has room (the review's
    outcome is then ``stays``).

    >>> args = (8 * 3600.0, 7200.0, 6, 1)              # one appointment a day, in the 08:00 window
    >>> book_within(0.0, 3600.0, 86400.0, 0, 0, *args)  # midnight: 08:00 today
    (0, 1, 0)
    >>> book_within(0.0, 3600.0, 86400.0, 6, 0, *args)  # today's is taken; tomorrow's is 32 h away
    (-1, 6, 0)
    """
    slot, new_free, new_used = book(now + lead_s, free, used, day_start_s, slot_s, windows, per_day)
    if slot_start(slot, day_start_s, slot_s, windows, per_day) > now + max_wait_s:
        return -1, free, used
    return slot, new_free, new_used


def book(earliest: float, free: int, used: int, day_start_s: float, slot_s: float, windows: int,
         per_day: int) -> tuple:
    """Book an appointment in the first window with room starting at or after ``earliest``.

    ``free`` is the earliest window that may have room and ``used`` the appointments it
    holds (the book: 0 and 0 at the start). Requests come in time order, so windows before
    ``free`` are never asked for again. Returns ``(slot, free, used)``: the window booked
    and the book after it. Needs ``per_day`` >= 1.

    >>> args = (8 * 3600.0, 7200.0, 6, 7)              # 08:00-20:00, 2-hour windows: 2, 1, 1, 1, 1, 1
    >>> book(0.0, 0, 0, *args), book(0.0, 0, 1, *args)  # two in the 08:00 window, then 10:00
    ((0, 0, 1), (0, 1, 0))
    >>> book(30 * 3600.0, 1, 0, *args)                  # next day 06:00: its 08:00 window
    (6, 6, 1)
    """
    slot = first_slot_at_or_after(earliest, day_start_s, slot_s, windows, per_day)
    if slot > free:
        free, used = slot, 0
    while slot_capacity(free, windows, per_day) == 0:
        free, used = free + 1, 0
    slot = free
    used += 1
    if used >= slot_capacity(free, windows, per_day):
        free, used = free + 1, 0
    return slot, free, used
