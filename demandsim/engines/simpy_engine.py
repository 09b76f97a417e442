"""The reference engine: the demand hub as SimPy callbacks, in the story's order.

Each step of a call's journey is one method named for what happens
(``call_999_arrives``, ``caller_hangs_up``, ``question_set_ends``, ...). Calls
are rows of the call log, not Python objects: a call's state is its row
(answered? abandoned?), so a queue holds row numbers and a hung-up caller (or a
call-back no longer needed) is skipped when reached (lazy removal). What belongs to
the caller rather than to one call (contacts made, reached yet, the call-back
outstanding) is kept on the caller's first call, in columns of the log that are
not written out (:data:`CALLER_COLUMNS`).

Tie rule (shared with every engine): events at the same instant happen in the
order they were scheduled; within one event, the call moves on before the
freed staff member takes the next piece of work.

Speed without changing the model: each callback is handed the time it fires at
(``now``) and passes it on; the draws (a :class:`~demandsim.draw_window.DrawWindow`:
a call's place in its columns is :meth:`_Hub.place`) and the logs are read and written through
memoryviews of their numpy arrays (plain Python numbers per element, no copies);
each queue and staff group keeps its own time-integrated hourly level
(:class:`Level`).

Example:
    >>> from demandsim.config.schema import Config
    >>> from demandsim.model.plan import build_plan
    >>> cfg = Config()
    >>> cfg.arrivals.line_999.per_year = 8760.0 * 4
    >>> cfg.staffing.call_handlers.hour_of_week = [2] * 168
    >>> cfg.run.days, cfg.run.warmup_days = 1.0, 0.0
    >>> records = SimpyEngine().run(build_plan(cfg))
    >>> set(records.calls["outcome"]) <= {"answered", "open_at_end"}
    True
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import deque
from types import SimpleNamespace

import numpy as np
import simpy
from simpy.events import NORMAL

from demandsim.draw_window import DrawWindow
from demandsim.model.calendar import DAY, HOUR
from demandsim.model.areas import dispatch_key, may_go_to_neighbour, neighbour_to_send
from demandsim.model.dispatch import DIVERTS_TO, can_divert, diversion_key
from demandsim.model.grading import N_DEPLOYED, SOURCE_999, SOURCE_FROM_101, SOURCE_SECONDARY
from demandsim.model.plan import STAFF_GROUPS, RunPlan
from demandsim.model.review import (
    OUTCOME_APPOINTMENT, OUTCOME_RESOLVED_BY_PHONE, OUTCOME_STAYS, WORK_BOOKING, WORK_PHONE_RESOLUTION,
    WORK_VICTIM_UPDATE, book_within, first_review_time, review_outcome, slot_start,
)
from demandsim.model.switchboard import ROUTE_SECONDARY, ROUTE_TO_999
from demandsim.records import (
    ABANDONED, ABANDONED_SECONDARY, ABANDONED_SWITCHBOARD, ANSWERED, ANSWERED_SECONDARY,
    BY_CALL_HANDLER, BY_DIGITAL_DESK, BY_SECONDARY_HANDLER, BY_SWITCHBOARD, CALL_COLUMNS,
    CALLBACK_CANCELLED, CALLBACK_UNREACHED, CLOSED_AT_SWITCHBOARD, INCIDENT_COLUMNS, LEVELS, LINE_101, LINE_999,
    NONE, ORIGIN_CALLBACK, ORIGIN_REDIAL, ORIGIN_TRANSFER, TRANSFERRED_TO_999, ColumnLog, RunRecords,
    finish_records,
)

CALL_HANDLERS, SECONDARY_HANDLERS, DIGITAL_DESK, SWITCHBOARD, UNITS = STAFF_GROUPS
INF = math.inf
#: what a caller's call-back is doing (column ``callback`` of the caller's first call): none
#: outstanding (NONE), due later (CALLBACK_SCHEDULED), or waiting for a handler (its call id)
CALLBACK_SCHEDULED = -2
#: the engine's own columns of the call log, kept on a caller's first call and not written
#: out: contacts made so far (the next contact reads the caller's row of that number),
#: whether a 999 handler has reached the caller, and the caller's call-back
CALLER_COLUMNS = {"contacts": (np.int16, 1), "reached": (np.int8, 0), "callback": (np.int64, NONE)}
#: the engine's own columns of the incident log, not written out: the area of the unit now on the
#: incident (the one freed when its job ends), NONE while it waits; the drawn travel time and the
#: time on scene its next unit spends (all of it unless a unit was taken off it on scene: the job
#: resumes, demandsim.model.dispatch), both copied from its call's row when graded (the draw window
#: may let the row go before a unit is sent)
INCIDENT_ENGINE_COLUMNS = {"unit_now": (np.int16, NONE), "travel": (np.float64, np.nan),
                           "on_scene_left": (np.float64, np.nan)}
#: with review.enabled, the review's numbers of each incident, copied from its call's row likewise:
#: the uniform its next review reads and the handler's time on each kind of call a review makes
REVIEW_ENGINE_COLUMNS = {"review_u": (np.float64, np.nan), "victim_update_time": (np.float64, np.nan),
                         "phone_resolution_time": (np.float64, np.nan), "booking_time": (np.float64, np.nan)}
#: the SimPy engine lets callers' draws go once they arrived this long ago; a later contact of one
#: whose rows were written over draws the caller's block again (demandsim.draw_window.DrawWindow.slot)
KEEP_DRAWS_S = 2 * 86400.0


class _Alarm(simpy.events.Event):
    """A timeout that fires ``callback``: what ``env.timeout(delay).callbacks.append(callback)`` makes,
    without the call through the environment's bound class and the append (about 3% of a run: the
    hub books one per step of a call). Its fields are the ones SimPy's own Timeout sets; the caller
    schedules it (:meth:`_Hub.after`)."""

    def __init__(self, env: simpy.Environment, callback) -> None:
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True


class Level:
    """A level of :data:`~demandsim.records.LEVELS` and its time integral per simulated hour.

    It runs at every queue and staff change, so the areas are a Python list (an
    item is much cheaper to update than an element of a numpy array). The fast
    engine's ``_change`` does the same arithmetic in the same order.
    """

    def __init__(self, hours: int) -> None:
        self.level = 0
        self.since = 0.0
        self.area = [0.0] * hours  # level-seconds per hour
        # the hour ``since`` falls in, and when it ends: most changes come within the
        # same hour as the last one, and then need no division to find it (float //
        # by HOUR is exact floor, so ``now < hour_end`` iff ``int(now // HOUR) == hour``)
        self.hour, self.hour_end = 0, HOUR

    def change(self, now: float, delta: int) -> None:
        """The level changes by ``delta`` at time ``now`` (never before the last change)."""
        level = self.level
        if now < self.hour_end:  # same hour as ``since``: int(now // HOUR) == self.hour
            if level and now > self.since:
                self.area[self.hour] += level * (now - self.since)
        else:
            if level and now > self.since:
                self._account_hours(now)
            self.hour = int(now // HOUR)
            self.hour_end = (self.hour + 1) * HOUR
        self.level = level + delta
        self.since = now

    def _account_hours(self, now: float) -> None:
        """Add the level from ``since`` to ``now``, a later hour, spread over the hours."""
        area, level, since = self.area, self.level, self.since
        first, last = self.hour, int(now // HOUR)
        last = min(last, len(area))
        area[first] += level * ((first + 1) * HOUR - since)
        full = level * HOUR
        for hour in range(first + 1, last):
            area[hour] += full
        if last < len(area):
            area[last] += level * (now - last * HOUR)


class Staff(Level):
    """One staff group: rostered headcount now, and how many are busy (``level``).

    Nobody is sent home mid-call: when the roster drops below the number busy,
    the extra people finish their call and then are not replaced.
    ``takes_work(now)`` gives the group's idle members the work waiting for them.
    """

    def __init__(self, headcount: np.ndarray, hours: int) -> None:
        super().__init__(hours)
        self.headcount = headcount
        self.rostered = int(headcount[0]) if len(headcount) else 0
        self.takes_work = None  # set by the hub: the group's rule for what to do next


class Queue(Level):
    """First-come-first-served queue of call rows with lazy removal of hang-ups.

    ``level`` counts the live callers (hung-up ones may still sit in ``rows``).
    """

    def __init__(self, hours: int) -> None:
        super().__init__(hours)
        self.rows: deque = deque()


class _Log:
    """The columns of a :class:`~demandsim.records.ColumnLog`, written through memoryviews.

    Each column is a numpy array (same dtypes and defaults as the ColumnLog)
    exposed as a memoryview attribute: one element read or written through a
    memoryview is a plain Python number and costs a fraction of numpy scalar
    indexing, without the memory of Python lists.
    """

    def __init__(self, columns: dict, internal: dict | None = None) -> None:
        self._out = columns  # the columns handed over; ``internal`` ones are the engine's own
        self._spec = {**columns, **(internal or {})}
        self._n = 0
        self._capacity = 1024
        self._arrays = {name: np.full(self._capacity, default, dtype=dtype)
                        for name, (dtype, default) in self._spec.items()}
        self._view()

    def _view(self) -> None:
        for name, array in self._arrays.items():
            setattr(self, name, memoryview(array))

    def new(self) -> int:
        """Append a row of defaults and return its index."""
        n = self._n
        if n == self._capacity:
            self._capacity *= 2
            for name, (dtype, default) in self._spec.items():
                grown = np.full(self._capacity, default, dtype=dtype)
                grown[:n] = self._arrays[name]
                self._arrays[name] = grown
            self._view()
        self._n = n + 1
        return n

    def column_log(self) -> ColumnLog:
        """The filled rows as a :class:`~demandsim.records.ColumnLog` (no copy)."""
        for name in self._spec:
            delattr(self, name)  # release the views
        return ColumnLog.from_arrays(self._out, {name: self._arrays[name][: self._n] for name in self._out})


class _Hub:
    def __init__(self, env: simpy.Environment, plan: RunPlan) -> None:
        self.env, self.plan, self.m = env, plan, plan.model
        # the draws of the callers still needed (demandsim.draw_window): ``self.d``'s attributes are
        # the window's columns as memoryviews, renewed in place when the window moves; a call's
        # place in them is ``self.place(call)``
        self.window = DrawWindow(plan)
        self.d = SimpleNamespace()
        self._view_draws()
        self.calls = _Log(CALL_COLUMNS, CALLER_COLUMNS)
        self.incidents = _Log(INCIDENT_COLUMNS, {**INCIDENT_ENGINE_COLUMNS,
                                                 **(REVIEW_ENGINE_COLUMNS if plan.model.review.enabled else {})})
        hours = len(self.m.calendar.hour_of_week)
        self.staff = {g: Staff(self.m.headcount[g], hours) for g in STAFF_GROUPS}
        self.call_handlers, self.secondary_handlers = self.staff[CALL_HANDLERS], self.staff[SECONDARY_HANDLERS]
        self.digital_desk, self.switchboard, self.units = (self.staff[DIGITAL_DESK], self.staff[SWITCHBOARD],
                                                           self.staff[UNITS])
        self.call_handlers.takes_work = self.call_handlers_take_work
        self.secondary_handlers.takes_work = self.secondary_handlers_take_work
        self.digital_desk.takes_work = self.digital_desk_takes_work
        self.switchboard.takes_work = self.switchboard_takes_work
        # units are based in areas (demandsim.model.areas): ``self.units`` keeps the force's busy level;
        # each area's units on duty (available) and busy are counted here, and dispatch is per area
        areas = self.m.areas
        self.unit_heads = [row.tolist() for row in self.m.units_by_area[:, :hours]]
        self.area_rostered = [head[0] if hours else 0 for head in self.unit_heads]
        self.area_busy = [0] * areas.count
        self.neighbours = [list(n) for n in areas.neighbours]
        self.neighbour_after = list(areas.neighbour_after_s)
        self.travel_multiplier = areas.travel_multiplier().tolist()  # [unit's area][incident's area]
        self.q999, self.qswitch, self.qsec, self.qcallback = Queue(hours), Queue(hours), Queue(hours), Queue(hours)
        # per area and deployed grade, a heap of (t_ready, incident): the incident id breaks ties of
        # ready time, as incidents become ready in id order. Only the dispatch functions below
        # (queue_incident, next_incident_for, pop_incident, withdraw_incident) touch them
        self.dispatch: list = [[[] for _ in range(N_DEPLOYED)] for _ in range(areas.count)]
        self.dispatch_waiting = Level(hours)
        #: dispatch.divert_from's code (0: never); with it, the priority and prompt incidents with a
        #: unit that an immediate incident might take (pruned as they stop qualifying)
        self.divert_from = self.m.divert_from
        self.divertable: set = set()
        self.pooled_secondary = self.m.pooled_secondary
        self.secondary_staff = self.call_handlers if self.pooled_secondary else self.secondary_handlers
        # grades are picked by shares.pick, np.searchsorted(side="right"); bisect_right on the same
        # numbers gives the same grade without a numpy call per incident
        self.grade_cumulative = [np.asarray(c).tolist() for c in self.m.grading.cumulative]
        # THRIVE review (demandsim.model.review): the calls reviews make, waiting for a call handler
        # ((incident, kind) in the order made); incidents a review took out of the dispatch queue
        # (their heap entries are skipped when reached); incidents waiting for their appointment
        # slot; the appointment book
        self.review = self.m.review
        self.review_on = self.review.enabled
        self.qreview = Queue(hours)
        self.withdrawn: set = set()
        self.waiting_appointment = Level(hours)
        self.book_free, self.book_used = 0, 0
        self.slot_args = self.review.slots.args()
        self.target_s = [float(t) for t in self.m.grading.target_s]
        self.review_cumulative = [(float(c[0]), float(c[1])) for c in self.review.cumulative]

    def levels(self) -> list[Level]:
        """Every level, in the order of :data:`~demandsim.records.LEVELS`."""
        by_name = {"waiting_999": self.q999, "waiting_switchboard": self.qswitch,
                   "waiting_secondary": self.qsec, "waiting_dispatch": self.dispatch_waiting,
                   "waiting_callbacks": self.qcallback, "waiting_review_calls": self.qreview,
                   "waiting_appointment": self.waiting_appointment}
        by_name.update({f"busy_{g}": s for g, s in self.staff.items()})
        return [by_name[name] for name in LEVELS]

    # ------------------------------------------------------------ plumbing
    def after(self, now: float, delay: float, action, arg) -> None:
        """Run ``action(arg, then)`` ``delay`` seconds after ``now``, the current time.

        ``then`` is the time the event fires at: SimPy files it under ``now + delay``,
        the same sum, so callbacks get the clock without asking the environment.
        """
        if delay < 0:  # as env.timeout would: an event in the past would run the clock backwards
            raise ValueError(f"negative delay {delay}")
        then = now + delay
        self.env.schedule(_Alarm(self.env, lambda _event: action(arg, then)), NORMAL, delay)

    def arrivals(self, times: np.ndarray, action) -> None:
        """Feed pre-drawn arrival times, in order, to ``action(index, now)``; each arrival books the next."""
        times = memoryview(times)

        def arrive(index: int, now: float) -> None:
            action(index, now)
            if index + 1 < len(times):
                self.after(now, times[index + 1] - now, arrive, index + 1)

        if len(times):
            now = self.env.now
            self.after(now, times[0] - now, arrive, 0)

    def roster_changes(self):
        """Process: at each hour when any headcount changes, update and put new staff to work: the
        hub's groups, then the units of each area whose number changed, in the groups' and areas' order."""
        hours = len(self.m.calendar.hour_of_week)
        hub = [s for group, s in self.staff.items() if group != UNITS]
        heads = self.unit_heads
        for hour in range(1, hours):
            changed = [s for s in hub if s.headcount[hour] != s.headcount[hour - 1]]
            areas = [a for a, head in enumerate(heads) if head[hour] != head[hour - 1]]
            if not changed and not areas:
                continue
            yield self.env.timeout(hour * HOUR - self.env.now)
            for s in changed:
                s.rostered = int(s.headcount[hour])
            for a in areas:
                self.area_rostered[a] = heads[a][hour]
            for s in changed:
                s.takes_work(self.env.now)
            for a in areas:
                self.area_units_take_work(a, self.env.now)

    def finish_work(self, staff: Staff, now: float) -> None:
        staff.change(now, -1)
        staff.takes_work(now)

    def head(self, queue: Queue, still_waiting) -> int:
        """Pop the first caller in ``queue`` who has not hung up."""
        while True:
            call = queue.rows.popleft()
            if still_waiting(call):
                return call

    def new_call(self, line: int, draw_row: int, now: float, origin_call: int = NONE) -> int:
        c = self.calls
        call = c.new()
        c.line[call], c.draw_row[call], c.t_offer[call] = line, draw_row, now
        c.origin_call_id[call] = call if origin_call == NONE else origin_call
        return call

    def next_contact(self, line: int, origin_kind: int, parent: int, now: float) -> int:
        """The caller's next contact (a redial or a call-back after ``parent``): a new call row
        reading the caller's row for that contact."""
        c = self.calls
        origin = c.origin_call_id[parent]
        attempt = c.contacts[origin]
        c.contacts[origin] = attempt + 1
        call = self.new_call(line, c.draw_row[origin] + attempt, now, origin)
        c.origin[call], c.parent_call_id[call], c.attempt[call] = origin_kind, parent, attempt
        if c.next_call_id[parent] == NONE:  # the contact that followed it first
            c.next_call_id[parent] = call
        return call

    # ------------------------------------------------------------ who takes what next
    # Each group's idle members (rostered > busy) take the work waiting for them, most urgent first.
    def call_handlers_take_work(self, now: float) -> None:
        """999 callers; then call-backs due; then the calls THRIVE reviews make; then, if the
        secondary line is pooled with the call handlers, its callers."""
        staff = self.call_handlers
        while staff.rostered > staff.level:
            if self.q999.level:
                self.answer_999(self.head(self.q999, self.unanswered), BY_CALL_HANDLER, now)
            elif self.qcallback.level:
                self.ring_back(self.head(self.qcallback, self.unanswered), now)
            elif self.qreview.level and staff.rostered - staff.level > self.review.handlers_kept_free:
                self.make_review_call(now)
            elif self.pooled_secondary and self.qsec.level:
                self.answer_secondary(self.head(self.qsec, self.waiting_secondary), BY_CALL_HANDLER, now)
            else:
                return

    def digital_desk_takes_work(self, now: float) -> None:
        """999 callers, only while the 999 queue is at least the desk's threshold long."""
        staff = self.digital_desk
        while staff.rostered > staff.level and self.q999.level >= self.m.digital_desk_threshold:
            self.answer_999(self.head(self.q999, self.unanswered), BY_DIGITAL_DESK, now)

    def secondary_handlers_take_work(self, now: float) -> None:
        """Secondary-line callers, unless that line is pooled with the call handlers."""
        staff = self.secondary_handlers
        while staff.rostered > staff.level and not self.pooled_secondary and self.qsec.level:
            self.answer_secondary(self.head(self.qsec, self.waiting_secondary), BY_SECONDARY_HANDLER, now)

    def switchboard_takes_work(self, now: float) -> None:
        """101 callers."""
        staff = self.switchboard
        while staff.rostered > staff.level and self.qswitch.level:
            self.answer_switchboard(self.head(self.qswitch, self.unanswered), now)

    def area_units_take_work(self, area: int, now: float) -> None:
        """The free units of ``area`` take the incidents they may, most urgent first (its own
        queue's, and its neighbours' that have waited their grade's neighbour_after); then, if
        immediate incidents of the area still wait and diversion is on, units taken off
        lower-grade incidents for them."""
        self.free_units_take_work(area, now)
        if self.divert_from and self.dispatch[area][DIVERTS_TO]:
            self.divert_units(area, now)

    def free_units_take_work(self, area: int, now: float) -> None:
        """The free units of ``area`` take incidents (:meth:`next_incident_for`) while any may."""
        rostered, busy = self.area_rostered, self.area_busy
        while rostered[area] > busy[area]:
            found = self.next_incident_for(area, now)
            if found is None:
                return
            self.assign_unit(self.pop_incident(*found), area, now)

    # ------------------------------------------------------------ the dispatch queues of the areas
    def queue_incident(self, incident: int, now: float) -> None:
        """The incident waits for a unit in its area's queue, in its place (grade, ready time, id)."""
        i = self.incidents
        heapq.heappush(self.dispatch[i.area[incident]][i.grade[incident]], (i.t_ready[incident], incident))
        self.dispatch_waiting.change(now, +1)

    def next_incident_for(self, area: int, now: float):
        """``(area, grade)`` of the queue whose first incident a free unit of ``area`` takes, or None:
        the most urgent (demandsim.model.areas.dispatch_key) of its own area's first incident and,
        for each neighbour, the first of the most urgent grade that may have a neighbour's unit now
        (in a grade incidents wait by ready time, so its first one is the first to qualify)."""
        best, best_key = None, None
        neighbours = self.neighbours[area]
        for grade, queue in enumerate(self.dispatch[area]):
            if queue:
                if not neighbours:  # one area, or one without neighbours: its own first incident
                    return area, grade
                ready, incident = queue[0]
                best, best_key = (area, grade), dispatch_key(grade, ready, True, incident)
                break
        for n in neighbours:
            queues = self.dispatch[n]
            for grade in range(N_DEPLOYED):
                if queues[grade]:
                    ready, incident = queues[grade][0]
                    if may_go_to_neighbour(now, ready, self.neighbour_after[grade]):
                        key = dispatch_key(grade, ready, False, incident)
                        if best_key is None or key < best_key:
                            best, best_key = (n, grade), key
                        break
        return best

    def pop_incident(self, area: int, grade: int) -> int:
        """Take the first incident of an area's queue of a grade (it leaves the waiting count when assigned)."""
        return heapq.heappop(self.dispatch[area][grade])[1]

    def withdraw_incident(self, incident: int) -> None:
        """Take a waiting incident out of its area's queue, wherever it is in it (the waiting count
        is the caller's to change). The first in its queue leaves as by :meth:`pop_incident`."""
        i = self.incidents
        queue = self.dispatch[i.area[incident]][i.grade[incident]]
        if queue[0][1] == incident:
            heapq.heappop(queue)
        else:
            queue.remove((i.t_ready[incident], incident))
            heapq.heapify(queue)

    def free_units(self, area: int) -> int:
        return self.area_rostered[area] - self.area_busy[area]

    def offer_waiting(self, incident: int, now: float) -> None:
        """An incident has just joined its area's queue: a free unit of its area takes work (this
        one, if nothing more urgent waits); if it still waits, a neighbour's free unit may come now
        or after its grade's neighbour_after."""
        area = self.incidents.area[incident]
        self.free_units_take_work(area, now)
        if math.isnan(self.incidents.t_assigned_last[incident]) and self.neighbours[area]:
            self.await_neighbours(incident, now)

    def wait_for_unit(self, incident: int, now: float) -> None:
        """The incident joins its area's queue and is offered to free units (its area's, then a
        neighbour's); if it is immediate and still waits, diversion may take a unit for it."""
        self.queue_incident(incident, now)
        self.offer_waiting(incident, now)
        area = self.incidents.area[incident]
        if self.divert_from and self.dispatch[area][DIVERTS_TO]:
            self.divert_units(area, now)

    def await_neighbours(self, incident: int, now: float) -> None:
        """Neighbours' units may go to the waiting ``incident`` from its ready time plus its grade's
        neighbour_after: now, if that has passed, else at that time (an event)."""
        i = self.incidents
        at = i.t_ready[incident] + self.neighbour_after[i.grade[incident]]
        if at <= now:
            self.neighbours_may_go(incident, now)
        elif at < self.m.horizon_s:
            self.after(now, at - now, self.neighbours_may_go, incident)

    def neighbours_may_go(self, incident: int, now: float) -> None:
        """The incident still waiting may have a neighbouring area's free unit: the neighbour with
        the most free units (ties: the first listed) sends one. Free units of an area take any work
        they may, so a neighbour with one free has nothing more urgent to do."""
        i = self.incidents
        if not math.isnan(i.t_assigned_last[incident]) or incident in self.withdrawn:
            return  # a unit is on it, or a review took it out of the queue (it is offered again if it returns)
        area = i.area[incident]
        sender = neighbour_to_send([self.free_units(n) for n in range(len(self.neighbours))], self.neighbours[area])
        if sender != NONE:
            self.withdraw_incident(incident)
            self.assign_unit(incident, sender, now)

    def unanswered(self, call: int) -> bool:
        """Still waiting in the 999, switchboard or call-back queue (not answered, hung up or cancelled)."""
        return self.calls.outcome[call] == NONE and math.isnan(self.calls.t_answer[call])

    def _view_draws(self) -> None:
        for name, column in self.window.columns.items():
            setattr(self.d, name, memoryview(column))
        self._columns = self.window.columns

    def place(self, call: int) -> int:
        """Where the call's draw row is in ``self.d``'s columns (its block drawn first if the
        window does not hold it)."""
        row = self.calls.draw_row[call]
        (first_999, stop_999, shift_999), (first_101, stop_101, shift_101) = self.window.held_rows
        if first_999 <= row < stop_999:  # (DrawWindow.slot's first steps, without its call)
            return row - shift_999
        if first_101 <= row < stop_101:
            return row - shift_101
        at = self.window.slot(row)
        if self.window.columns is not self._columns:
            self._view_draws()
        return at

    def waiting_secondary(self, call: int) -> bool:
        """Still waiting on the secondary line."""
        return self.calls.outcome[call] == NONE

    # ------------------------------------------------------------ 999 line
    def call_999_arrives(self, index: int, now: float) -> None:
        self.offer_999(self.new_call(LINE_999, self.window.row_of_999(index, 0), now), now)

    def offer_999(self, call: int, now: float) -> None:
        """A caller reaches the 999 queue: answered at once if a handler is free."""
        self.q999.rows.append(call)
        self.q999.change(now, +1)
        self.call_handlers_take_work(now)
        self.digital_desk_takes_work(now)
        c = self.calls
        if self.unanswered(call):
            at = self.place(call)  # first: it may renew self.d's columns
            patience = self.d.patience_999[at]
            if self.m.patience_continues and c.origin[call] == ORIGIN_TRANSFER:
                # the caller's patience runs on from the switchboard queue
                parent = c.parent_call_id[call]
                patience = patience - (c.t_answer[parent] - c.t_offer[parent])
                if patience < 0.0:
                    patience = 0.0
            if patience < INF:
                self.after(now, patience, self.caller_hangs_up_999, call)

    def caller_hangs_up_999(self, call: int, now: float) -> None:
        if self.unanswered(call):
            self.calls.outcome[call], self.calls.t_end[call] = ABANDONED, now
            self.q999.change(now, -1)
            self.after_999_hang_up(call, now)

    def answer_999(self, call: int, who: int, now: float) -> None:
        c = self.calls
        self.q999.change(now, -1)
        c.t_answer[call], c.answered_by[call], c.outcome[call] = now, who, ANSWERED
        self.caller_reached(c.origin_call_id[call], now)
        self.talk_999(call, self.call_handlers if who == BY_CALL_HANDLER else self.digital_desk, now)

    def talk_999(self, call: int, staff: Staff, now: float) -> None:
        """A 999 handler talks to the caller: question set (then grading), rest of call, wrap-up."""
        c, d = self.calls, self.d
        staff.change(now, +1)
        row = self.place(call)
        question, rest, wrap = d.question_999[row], d.rest_999[row], d.wrap_999[row]
        c.t_end[call] = now + question + rest
        source = SOURCE_999 if c.line[c.origin_call_id[call]] == LINE_999 else SOURCE_FROM_101
        self.after(now, question, self.question_set_ends, (call, source))
        self.after(now, question + rest + wrap, self.finish_work, staff)

    def caller_reached(self, origin: int, now: float) -> None:
        """A 999 handler has the caller on the line: a call-back waiting for them is cancelled
        (left in its queue, skipped when reached) and any later contact is not made."""
        c = self.calls
        c.reached[origin] = 1
        callback = c.callback[origin]
        if callback >= 0:
            c.outcome[callback], c.t_end[callback] = CALLBACK_CANCELLED, now
            self.qcallback.change(now, -1)
            c.callback[origin] = NONE

    # ------------------------------------------------------------ after a hang-up in the 999 queue
    def after_999_hang_up(self, call: int, now: float) -> None:
        """The caller may be rung back (one call-back outstanding per caller) and may ring 999
        again, while the caller has contacts left."""
        c, d, m = self.calls, self.d, self.m
        origin = c.origin_call_id[call]
        if c.contacts[origin] >= m.max_attempts:
            return
        row = self.place(call)
        if m.callback_enabled and c.callback[origin] == NONE:
            delay = d.callback_delay[row]
            if now + delay < m.horizon_s:
                c.callback[origin] = CALLBACK_SCHEDULED
                self.after(now, delay, self.callback_due, call)
        if d.rings_999_again[row]:
            delay = d.redial_999_delay[row]
            if now + delay < m.horizon_s:
                self.after(now, delay, self.caller_redials, (call, LINE_999))

    def callback_due(self, parent: int, now: float) -> None:
        """The call-back of the hung-up call ``parent`` joins the call-back queue, unless the
        caller got through meanwhile or has no contact left."""
        c = self.calls
        origin = c.origin_call_id[parent]
        if c.reached[origin] or c.contacts[origin] >= self.m.max_attempts:
            c.callback[origin] = NONE
            return
        call = self.next_contact(LINE_999, ORIGIN_CALLBACK, parent, now)
        c.callback[origin] = call
        self.qcallback.rows.append(call)
        self.qcallback.change(now, +1)
        self.call_handlers_take_work(now)

    def ring_back(self, call: int, now: float) -> None:
        """A call handler rings the caller back: reached, the ordinary 999 call; not reached, a
        short attempt (none at all if it takes no time)."""
        c, d, m = self.calls, self.d, self.m
        self.qcallback.change(now, -1)
        origin = c.origin_call_id[call]
        c.callback[origin] = NONE
        c.t_answer[call], c.answered_by[call] = now, BY_CALL_HANDLER
        row = self.place(call)
        if d.u_reach[row] < m.callback_reach:
            c.outcome[call] = ANSWERED
            self.caller_reached(origin, now)
            self.talk_999(call, self.call_handlers, now)
        else:
            busy = d.unreached_time[row]
            c.outcome[call], c.t_end[call] = CALLBACK_UNREACHED, now + busy
            if busy > 0.0:
                self.call_handlers.change(now, +1)
                self.after(now, busy, self.finish_work, self.call_handlers)

    # ------------------------------------------------------------ 101 line
    def call_101_arrives(self, index: int, now: float) -> None:
        self.offer_101(self.new_call(LINE_101, self.window.row_of_101(index, 0), now), now)

    def offer_101(self, call: int, now: float) -> None:
        self.qswitch.rows.append(call)
        self.qswitch.change(now, +1)
        self.switchboard_takes_work(now)
        if self.unanswered(call):
            at = self.place(call)  # first: it may renew self.d's columns
            patience = self.d.patience_switchboard[at]
            if patience < INF:
                self.after(now, patience, self.caller_hangs_up_switchboard, call)

    def caller_hangs_up_switchboard(self, call: int, now: float) -> None:
        if self.unanswered(call):
            self.calls.outcome[call], self.calls.t_end[call] = ABANDONED_SWITCHBOARD, now
            self.qswitch.change(now, -1)
            self.maybe_redial(call, now)

    def answer_switchboard(self, call: int, now: float) -> None:
        self.qswitch.change(now, -1)
        self.calls.t_answer[call], self.calls.answered_by[call] = now, BY_SWITCHBOARD
        self.switchboard.change(now, +1)
        at = self.place(call)  # first: it may renew self.d's columns
        self.after(now, self.d.triage[at], self.triage_ends, call)

    def triage_ends(self, call: int, now: float) -> None:
        """The switchboard operator routes the call, then takes the next one."""
        c = self.calls
        at = self.place(call)  # first: it may renew self.d's columns
        route = self.d.route[at]
        c.route[call] = route
        if route == ROUTE_TO_999:
            c.outcome[call], c.t_end[call] = TRANSFERRED_TO_999, now
            transfer = self.new_call(LINE_999, c.draw_row[call], now, c.origin_call_id[call])
            c.origin[transfer], c.parent_call_id[transfer], c.attempt[transfer] = ORIGIN_TRANSFER, call, c.attempt[call]
            c.next_call_id[call] = transfer
            self.offer_999(transfer, now)
        elif route == ROUTE_SECONDARY:
            c.t_secondary_offer[call] = now
            self.offer_secondary(call, now)
        else:
            c.outcome[call], c.t_end[call] = CLOSED_AT_SWITCHBOARD, now
        self.switchboard.change(now, -1)  # the operator is free for the next caller
        self.switchboard_takes_work(now)

    def offer_secondary(self, call: int, now: float) -> None:
        self.qsec.rows.append(call)
        self.qsec.change(now, +1)
        self.secondary_staff.takes_work(now)
        if self.waiting_secondary(call):
            at = self.place(call)  # first: it may renew self.d's columns
            patience = self.d.patience_secondary[at]
            if patience < INF:
                self.after(now, patience, self.caller_hangs_up_secondary, call)

    def caller_hangs_up_secondary(self, call: int, now: float) -> None:
        if self.waiting_secondary(call):
            self.calls.outcome[call], self.calls.t_end[call] = ABANDONED_SECONDARY, now
            self.qsec.change(now, -1)
            self.maybe_redial(call, now)

    def answer_secondary(self, call: int, who: int, now: float) -> None:
        c, d = self.calls, self.d
        self.qsec.change(now, -1)
        c.t_secondary_answer[call], c.secondary_answered_by[call], c.outcome[call] = now, who, ANSWERED_SECONDARY
        staff = self.call_handlers if who == BY_CALL_HANDLER else self.secondary_handlers
        staff.change(now, +1)
        row = self.place(call)
        question, rest, wrap = d.question_secondary[row], d.rest_secondary[row], d.wrap_secondary[row]
        c.t_end[call] = now + question + rest
        self.after(now, question, self.question_set_ends, (call, SOURCE_SECONDARY))
        self.after(now, question + rest + wrap, self.finish_work, staff)

    # ------------------------------------------------------------ redial
    def maybe_redial(self, call: int, now: float) -> None:
        """A 101 caller who hung up may ring 999, or 101 again, after a while."""
        c, m = self.calls, self.m
        if c.contacts[c.origin_call_id[call]] >= m.max_attempts:
            return
        row = self.place(call)
        u = self.d.u_redial[row]
        if u < m.redial_to_999:
            line = LINE_999
        elif u < m.redial_to_999 + m.redial_to_101:
            line = LINE_101
        else:
            return
        delay = self.d.redial_delay[row]
        if now + delay < m.horizon_s:
            self.after(now, delay, self.caller_redials, (call, line))

    def caller_redials(self, args, now: float) -> None:
        """The caller rings again, unless a 999 handler reached them meanwhile or no contact is left."""
        parent, line = args
        c = self.calls
        origin = c.origin_call_id[parent]
        if c.reached[origin] or c.contacts[origin] >= self.m.max_attempts:
            return
        call = self.next_contact(line, ORIGIN_REDIAL, parent, now)
        (self.offer_999 if line == LINE_999 else self.offer_101)(call, now)

    # ------------------------------------------------------------ grading and dispatch
    def question_set_ends(self, args, now: float) -> None:
        """THRIVE grading done: the incident exists and, if deployed, waits for a unit."""
        call, source = args
        c, d = self.calls, self.d
        row = self.place(call)
        grade = bisect_right(self.grade_cumulative[source], d.u_grade[row])  # shares.pick
        i = self.incidents
        incident = i.new()
        c.incident_id[call] = incident
        # attendance runs from the start of the call: the 101 call for a transfer; for a call-back,
        # the start of the call it rang back (the emergency started then)
        started = c.parent_call_id[call] if c.origin[call] == ORIGIN_CALLBACK else call
        start = c.t_offer[c.parent_call_id[started]] if c.origin[started] == ORIGIN_TRANSFER else c.t_offer[started]
        i.call_id[incident], i.source[incident], i.grade[incident] = call, source, grade
        i.t_call_start[incident], i.t_ready[incident] = start, now
        i.area[incident] = d.area[row]
        if grade < N_DEPLOYED:
            # what the incident reads later, from its call's row (drawn for this grade)
            i.travel[incident], i.on_scene_left[incident] = d.travel[row], d.on_scene[row]
            if self.review_on:
                i.review_u[incident], i.victim_update_time[incident] = d.u_review[row], d.victim_update_time[row]
                i.phone_resolution_time[incident], i.booking_time[incident] = (d.phone_resolution_time[row],
                                                                               d.booking_time[row])
            self.wait_for_unit(incident, now)
            if self.review_on:
                self.review_if_still_waiting(incident, now)

    def withdraw_from_dispatch(self, incident: int, now: float) -> None:
        """A review takes the incident out of its area's dispatch queue (resolved by phone, or booked)."""
        self.withdrawn.add(incident)
        self.withdraw_incident(incident)
        self.dispatch_waiting.change(now, -1)

    def back_to_dispatch(self, incident: int, now: float) -> None:
        """The incident waits for a unit again, in its place (its grade and its ready time), and is
        offered to free units as a new one would be."""
        self.withdrawn.discard(incident)
        self.wait_for_unit(incident, now)

    # ------------------------------------------------------------ THRIVE review (demandsim.model.review)
    def review_if_still_waiting(self, incident: int, now: float) -> None:
        """An incident just ready and given no unit is reviewed at its target (at once if that passed)."""
        i = self.incidents
        if not math.isnan(i.t_assigned[incident]):
            return
        due = first_review_time(i.t_call_start[incident], self.target_s[i.grade[incident]], now)
        if due < self.m.horizon_s:
            self.after(now, due - now, self.review_due, incident)

    def review_due(self, incident: int, now: float) -> None:
        """The dispatcher reviews an incident still waiting for its first unit: it stays (and the
        victim is updated), is resolved by phone, or is booked in; a call handler makes the call."""
        i = self.incidents
        if not math.isnan(i.t_assigned[incident]):
            return  # a unit was sent: no more reviews
        stays, stays_or_resolved = self.review_cumulative[i.grade[incident]]
        outcome, u = review_outcome(i.review_u[incident], stays, stays_or_resolved)
        if outcome == OUTCOME_APPOINTMENT:
            review = self.review
            slot, free, used = book_within(now, review.lead_s, review.max_wait_s, self.book_free, self.book_used,
                                           *self.slot_args)
            if slot == NONE:
                outcome = OUTCOME_STAYS  # no window with room soon enough
            else:
                self.book_free, self.book_used = free, used
        i.reviews[incident] += 1
        i.t_review_last[incident], i.review_outcome[incident] = now, outcome
        if outcome == OUTCOME_STAYS:
            i.review_u[incident] = u  # what the next review reads
            self.review_call(incident, WORK_VICTIM_UPDATE, now)
            if now + self.review.interval_s < self.m.horizon_s:
                self.after(now, self.review.interval_s, self.review_due, incident)
        elif outcome == OUTCOME_RESOLVED_BY_PHONE:
            self.withdraw_from_dispatch(incident, now)
            self.review_call(incident, WORK_PHONE_RESOLUTION, now)
        else:
            self.withdraw_from_dispatch(incident, now)
            start = slot_start(slot, *self.slot_args)
            i.t_appointment[incident] = start
            self.waiting_appointment.change(now, +1)
            if start < self.m.horizon_s:
                self.after(now, start - now, self.appointment_starts, incident)
            self.review_call(incident, WORK_BOOKING, now)
        self.call_handlers_take_work(now)

    def review_call(self, incident: int, kind: int, now: float) -> None:
        """A call the review makes joins the call handlers' work."""
        self.qreview.rows.append((incident, kind))
        self.qreview.change(now, +1)

    def make_review_call(self, now: float) -> None:
        """A call handler makes the first call reviews asked for (none at all if it takes no time). A victim
        update for an incident that no longer waits for its first unit (sent one, or taken out of the
        queue by a later review) is dropped: nobody rings."""
        i = self.incidents
        incident, kind = self.qreview.rows.popleft()
        self.qreview.change(now, -1)
        if kind == WORK_VICTIM_UPDATE:
            if not (math.isnan(i.t_assigned[incident]) and incident not in self.withdrawn):
                return  # no longer waiting for its first unit: the update is dropped
            busy = i.victim_update_time[incident]
            i.victim_updates[incident] += 1
        elif kind == WORK_PHONE_RESOLUTION:
            busy = i.phone_resolution_time[incident]
            i.t_resolved[incident] = now + busy
        else:
            busy = i.booking_time[incident]
        if busy > 0.0:
            self.call_handlers.change(now, +1)
            self.after(now, busy, self.finish_work, self.call_handlers)

    def appointment_starts(self, incident: int, now: float) -> None:
        """The appointment's slot starts: the incident waits for a unit again, in its place."""
        self.waiting_appointment.change(now, -1)
        self.back_to_dispatch(incident, now)

    def assign_unit(self, incident: int, unit_area: int, now: float, unit_was_free: bool = True) -> None:
        """A unit of ``unit_area`` goes to ``incident``: a free one, or one just taken off another incident.

        An incident assigned again after a diversion keeps its first assignment and first
        arrival on scene (attendance), and its unit repeats the same drawn travel (times its
        area's multiplier, demandsim.model.areas) and then does the time on scene left
        (``on_scene_left``: all of it unless a unit was taken off it on scene). The unit's free event
        names the incident and its diversions so far (the assignment's number less one), so
        that a unit taken off the incident meanwhile does not come free twice.
        """
        i = self.incidents
        self.dispatch_waiting.change(now, -1)
        if unit_was_free:
            self.units.change(now, +1)
            self.area_busy[unit_area] += 1
        # drawn for the incident's grade
        travel = i.travel[incident] * self.travel_multiplier[unit_area][i.area[incident]]
        on_scene = i.on_scene_left[incident]
        if math.isnan(i.t_assigned[incident]):
            i.t_assigned[incident] = now
        if math.isnan(i.t_on_scene[incident]):
            i.t_on_scene[incident] = now + travel
            i.unit_area[incident] = unit_area
        i.unit_now[incident] = unit_area
        i.t_assigned_last[incident] = now
        i.t_clear[incident] = now + travel + on_scene
        if self.divert_from and i.grade[incident] > DIVERTS_TO:
            self.divertable.add(incident)
        self.after(now, travel + on_scene, self.unit_free, (incident, i.diversions[incident]))

    def unit_free(self, args, now: float) -> None:
        """The unit on an incident is free again, unless it was taken off it meanwhile (it is then
        on another incident, whose own event will free it)."""
        incident, diversions = args
        i = self.incidents
        if i.diversions[incident] != diversions:
            return
        self.divertable.discard(incident)
        area = i.unit_now[incident]
        self.area_busy[area] -= 1
        self.units.change(now, -1)
        self.area_units_take_work(area, now)

    # ------------------------------------------------------------ diversion
    def divert_units(self, area: int, now: float) -> None:
        """No unit of ``area`` is free and an immediate incident of the area waits: give it a unit
        of the area taken off a lower-grade incident, and so on for the next immediate one, while
        any may be taken. The incident left waits again, and is offered to free units at once."""
        queue = self.dispatch[area][DIVERTS_TO]
        while queue:
            taken_from = self.unit_to_divert(area, now)
            if taken_from == NONE:
                return
            incident = self.pop_incident(area, DIVERTS_TO)
            self.take_unit_off(taken_from, now)
            self.assign_unit(incident, area, now, unit_was_free=False)
            self.offer_waiting(taken_from, now)

    def unit_to_divert(self, area: int, now: float) -> int:
        """The incident whose unit of ``area`` is taken (demandsim.model.dispatch.diversion_key), or NONE.

        Incidents that no longer qualify (the unit arrived, or is due free) never will again
        for this assignment, so they leave the set.
        """
        i = self.incidents
        best, best_key = NONE, None
        for incident in list(self.divertable):
            assigned = i.t_assigned_last[incident]
            unit_area = i.unit_now[incident]
            arrives = assigned + i.travel[incident] * self.travel_multiplier[unit_area][i.area[incident]]
            if not can_divert(self.divert_from, now, arrives, i.t_clear[incident]):
                self.divertable.discard(incident)
                continue
            if unit_area != area:
                continue
            key = diversion_key(i.grade[incident], assigned, incident)
            if best_key is None or key > best_key:
                best, best_key = incident, key
        return best

    def take_unit_off(self, incident: int, now: float) -> None:
        """The incident's unit is taken away: the incident waits again, with its grade and ready time.

        If the unit had not arrived, nobody has attended yet (its arrival is undone); if it had,
        the first arrival stands.
        """
        i = self.incidents
        self.divertable.discard(incident)
        i.diversions[incident] += 1
        # the work its next unit finds: what was left of the time on scene (all of it if not arrived)
        i.on_scene_left[incident] = min(i.t_clear[incident] - now, i.on_scene_left[incident])
        if i.t_on_scene[incident] > now:
            i.t_on_scene[incident] = math.nan
            i.unit_area[incident] = NONE
        i.t_assigned_last[incident] = math.nan
        i.t_clear[incident] = math.nan
        i.unit_now[incident] = NONE
        self.queue_incident(incident, now)


class SimpyEngine:
    """Run a :class:`~demandsim.model.plan.RunPlan` with SimPy; returns :class:`RunRecords`."""

    name = "simpy"

    def run(self, plan: RunPlan, progress=None) -> RunRecords:
        """Simulate to the horizon. ``progress(days_done)`` is called once per simulated day."""
        env = simpy.Environment()
        hub = _Hub(env, plan)
        hub.arrivals(plan.arrivals_999, hub.call_999_arrives)
        hub.arrivals(plan.arrivals_101, hub.call_101_arrives)
        env.process(hub.roster_changes())
        horizon = plan.model.horizon_s
        day = 0
        window = hub.window
        while day * DAY < horizon:
            day += 1
            env.run(until=min(day * DAY, horizon))
            if progress is not None:
                progress(min(day * DAY, horizon) / DAY)
            # callers who arrived long ago are let go (a late contact of one draws its block again)
            if window.whole is None:
                window.let_go_before(tuple(window.first_caller_arriving_from(line, day * DAY - KEEP_DRAWS_S)
                                           for line in (0, 1)))
        levels = hub.levels()
        for level in levels:
            level.change(horizon, 0)  # account every level up to the horizon
        areas = np.array([level.area for level in levels], dtype=np.float64).reshape(len(LEVELS), -1)
        return finish_records(plan.model, hub.calls.column_log(), hub.incidents.column_log(), areas)
