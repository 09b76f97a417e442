"""The reference engine: the demand hub as SimPy callbacks, in the story's order.

Each step of a call's journey is one method named for what happens
(``call_999_arrives``, ``caller_hangs_up``, ``question_set_ends``, ...). Calls
are rows of the call log, not Python objects: a call's state is its row
(answered? abandoned?), so a queue holds row numbers and a hung-up caller is
skipped when reached (lazy removal).

Tie rule (shared with every engine): events at the same instant happen in the
order they were scheduled; within one event, the call moves on before the
freed staff member takes the next piece of work.

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
from collections import deque

import numpy as np
import simpy

from demandsim.model.calendar import DAY, HOUR
from demandsim.model.grading import N_DEPLOYED, SOURCE_999, SOURCE_FROM_101, SOURCE_SECONDARY
from demandsim.model.plan import ROUTE_SECONDARY, ROUTE_TO_999, STAFF_GROUPS, RunPlan
from demandsim.records import (
    ABANDONED, ABANDONED_SECONDARY, ABANDONED_SWITCHBOARD, ANSWERED, ANSWERED_SECONDARY,
    BY_CALL_HANDLER, BY_DIGITAL_DESK, BY_SECONDARY_HANDLER, BY_SWITCHBOARD, CALL_COLUMNS,
    CLOSED_AT_SWITCHBOARD, INCIDENT_COLUMNS, LEVELS, LINE_101, LINE_999, NONE, ORIGIN_REDIAL,
    ORIGIN_TRANSFER, TRANSFERRED_TO_999, ColumnLog, HourlyLevels, RunRecords, finish_records,
)

CALL_HANDLERS, SECONDARY_HANDLERS, DIGITAL_DESK, SWITCHBOARD, UNITS = STAFF_GROUPS
BUSY = {g: LEVELS.index(f"busy_{g}") for g in STAFF_GROUPS}
W999, WSWITCH, WSEC, WDISPATCH = (LEVELS.index(n) for n in
                                  ("waiting_999", "waiting_switchboard", "waiting_secondary", "waiting_dispatch"))


class Staff:
    """One staff group: rostered headcount now, and how many are busy.

    Nobody is sent home mid-call: when the roster drops below the number busy,
    the extra people finish their call and then are not replaced.
    """

    def __init__(self, name: str, headcount: np.ndarray) -> None:
        self.name = name
        self.headcount = headcount
        self.rostered = int(headcount[0]) if len(headcount) else 0
        self.busy = 0  # may exceed rostered for a while after a shift ends


class Queue:
    """First-come-first-served queue of call rows with lazy removal of hang-ups."""

    def __init__(self) -> None:
        self.rows: deque = deque()
        self.waiting = 0  # live callers (hung-up ones may still sit in ``rows``)


class _Hub:
    def __init__(self, env: simpy.Environment, plan: RunPlan) -> None:
        self.env, self.plan, self.m, self.d = env, plan, plan.model, plan.draws
        self.calls = ColumnLog(CALL_COLUMNS)
        self.incidents = ColumnLog(INCIDENT_COLUMNS)
        self.levels = HourlyLevels(len(self.m.calendar.hour_of_week))
        self.staff = {g: Staff(g, self.m.headcount[g]) for g in STAFF_GROUPS}
        self.q999, self.qswitch, self.qsec = Queue(), Queue(), Queue()
        self.dispatch: list = []  # heap of (grade, t_ready, seq, incident)
        self.seq = 0
        self.secondary_staff = CALL_HANDLERS if self.m.pooled_secondary else SECONDARY_HANDLERS

    # ------------------------------------------------------------ plumbing
    def after(self, delay: float, action, arg) -> None:
        """Run ``action(arg)`` ``delay`` seconds from now."""
        self.env.timeout(delay).callbacks.append(lambda _event: action(arg))

    def arrivals(self, times: np.ndarray, action):
        """Process: feed pre-drawn arrival times, in order, to ``action(index)``."""
        for index, t in enumerate(times):
            yield self.env.timeout(t - self.env.now)
            action(index)

    def roster_changes(self):
        """Process: at each hour when any headcount changes, update and put new staff to work."""
        hours = len(self.m.calendar.hour_of_week)
        for hour in range(1, hours):
            changed = [s for s in self.staff.values() if s.headcount[hour] != s.headcount[hour - 1]]
            if not changed:
                continue
            yield self.env.timeout(hour * HOUR - self.env.now)
            for s in changed:
                s.rostered = int(s.headcount[hour])
            for s in changed:
                self.put_to_work(s.name)

    def start_work(self, group: str) -> None:
        self.staff[group].busy += 1
        self.levels.change(BUSY[group], self.env.now, +1)

    def finish_work(self, group: str) -> None:
        self.staff[group].busy -= 1
        self.levels.change(BUSY[group], self.env.now, -1)
        self.put_to_work(group)

    def join(self, queue: Queue, level: int, row: int) -> None:
        queue.rows.append(row)
        queue.waiting += 1
        self.levels.change(level, self.env.now, +1)

    def leave(self, queue: Queue, level: int) -> None:
        queue.waiting -= 1
        self.levels.change(level, self.env.now, -1)

    def head(self, queue: Queue, still_waiting) -> int:
        """Pop the first caller in ``queue`` who has not hung up."""
        while True:
            call = queue.rows.popleft()
            if still_waiting(call):
                return call

    def new_call(self, line: int, draw_row: int, origin_call: int = NONE) -> int:
        c = self.calls
        call = c.new()
        c.line[call], c.draw_row[call], c.t_offer[call] = line, draw_row, self.env.now
        c.origin_call_id[call] = call if origin_call == NONE else origin_call
        return call

    # ------------------------------------------------------------ who takes what next
    def put_to_work(self, group: str) -> None:
        """Give idle members of ``group`` the work waiting for them, most urgent first."""
        staff = self.staff[group]
        while staff.rostered > staff.busy:  # someone idle
            if group == CALL_HANDLERS and self.q999.waiting:
                self.answer_999(self.head(self.q999, self.unanswered), BY_CALL_HANDLER)
            elif group == DIGITAL_DESK and self.q999.waiting >= self.m.digital_desk_threshold:
                self.answer_999(self.head(self.q999, self.unanswered), BY_DIGITAL_DESK)
            elif group == self.secondary_staff and self.qsec.waiting:
                who = BY_CALL_HANDLER if group == CALL_HANDLERS else BY_SECONDARY_HANDLER
                self.answer_secondary(self.head(self.qsec, self.waiting_secondary), who)
            elif group == SWITCHBOARD and self.qswitch.waiting:
                self.answer_switchboard(self.head(self.qswitch, self.unanswered))
            elif group == UNITS and self.dispatch:
                self.assign_unit(heapq.heappop(self.dispatch)[3])
            else:
                return

    def unanswered(self, call: int) -> bool:
        """Still waiting in the 999 or switchboard queue (not answered, not hung up)."""
        return self.calls.outcome[call] == NONE and math.isnan(self.calls.t_answer[call])

    def waiting_secondary(self, call: int) -> bool:
        """Still waiting on the secondary line."""
        return self.calls.outcome[call] == NONE

    # ------------------------------------------------------------ 999 line
    def call_999_arrives(self, index: int) -> None:
        self.offer_999(self.new_call(LINE_999, index))

    def offer_999(self, call: int) -> None:
        """A caller reaches the 999 queue: answered at once if a handler is free."""
        self.join(self.q999, W999, call)
        self.put_to_work(CALL_HANDLERS)
        self.put_to_work(DIGITAL_DESK)
        if self.unanswered(call):
            patience = self.d.patience_999[self.calls.draw_row[call]]
            if patience < np.inf:
                self.after(patience, self.caller_hangs_up_999, call)

    def caller_hangs_up_999(self, call: int) -> None:
        if self.unanswered(call):
            self.calls.outcome[call], self.calls.t_end[call] = ABANDONED, self.env.now
            self.leave(self.q999, W999)

    def answer_999(self, call: int, who: int) -> None:
        c, now = self.calls, self.env.now
        self.leave(self.q999, W999)
        c.t_answer[call], c.answered_by[call], c.outcome[call] = now, who, ANSWERED
        group = CALL_HANDLERS if who == BY_CALL_HANDLER else DIGITAL_DESK
        self.start_work(group)
        row = c.draw_row[call]
        question, rest, wrap = self.d.question_999[row], self.d.rest_999[row], self.d.wrap_999[row]
        c.t_end[call] = now + question + rest
        source = SOURCE_999 if c.line[c.origin_call_id[call]] == LINE_999 else SOURCE_FROM_101
        self.after(question, self.question_set_ends, (call, source))
        self.after(question + rest + wrap, self.finish_work, group)

    # ------------------------------------------------------------ 101 line
    def call_101_arrives(self, index: int) -> None:
        self.offer_101(self.new_call(LINE_101, self.d.row_of_101(index, 0)))

    def offer_101(self, call: int) -> None:
        self.join(self.qswitch, WSWITCH, call)
        self.put_to_work(SWITCHBOARD)
        if self.unanswered(call):
            patience = self.d.patience_switchboard[self.calls.draw_row[call]]
            if patience < np.inf:
                self.after(patience, self.caller_hangs_up_switchboard, call)

    def caller_hangs_up_switchboard(self, call: int) -> None:
        if self.unanswered(call):
            self.calls.outcome[call], self.calls.t_end[call] = ABANDONED_SWITCHBOARD, self.env.now
            self.leave(self.qswitch, WSWITCH)
            self.maybe_redial(call)

    def answer_switchboard(self, call: int) -> None:
        self.leave(self.qswitch, WSWITCH)
        self.calls.t_answer[call], self.calls.answered_by[call] = self.env.now, BY_SWITCHBOARD
        self.start_work(SWITCHBOARD)
        self.after(self.d.triage[self.calls.draw_row[call]], self.triage_ends, call)

    def triage_ends(self, call: int) -> None:
        """The switchboard operator routes the call, then takes the next one."""
        c, now = self.calls, self.env.now
        route = self.d.route[c.draw_row[call]]
        c.route[call] = route
        if route == ROUTE_TO_999:
            c.outcome[call], c.t_end[call] = TRANSFERRED_TO_999, now
            transfer = self.new_call(LINE_999, c.draw_row[call], c.origin_call_id[call])
            c.origin[transfer], c.parent_call_id[transfer], c.attempt[transfer] = ORIGIN_TRANSFER, call, c.attempt[call]
            c.next_call_id[call] = transfer
            self.offer_999(transfer)
        elif route == ROUTE_SECONDARY:
            c.t_secondary_offer[call] = now
            self.offer_secondary(call)
        else:
            c.outcome[call], c.t_end[call] = CLOSED_AT_SWITCHBOARD, now
        self.finish_work(SWITCHBOARD)

    def offer_secondary(self, call: int) -> None:
        self.join(self.qsec, WSEC, call)
        self.put_to_work(self.secondary_staff)
        if self.waiting_secondary(call):
            patience = self.d.patience_secondary[self.calls.draw_row[call]]
            if patience < np.inf:
                self.after(patience, self.caller_hangs_up_secondary, call)

    def caller_hangs_up_secondary(self, call: int) -> None:
        if self.waiting_secondary(call):
            self.calls.outcome[call], self.calls.t_end[call] = ABANDONED_SECONDARY, self.env.now
            self.leave(self.qsec, WSEC)
            self.maybe_redial(call)

    def answer_secondary(self, call: int, who: int) -> None:
        c, now = self.calls, self.env.now
        self.leave(self.qsec, WSEC)
        c.t_secondary_answer[call], c.secondary_answered_by[call], c.outcome[call] = now, who, ANSWERED_SECONDARY
        group = CALL_HANDLERS if who == BY_CALL_HANDLER else SECONDARY_HANDLERS
        self.start_work(group)
        row = c.draw_row[call]
        question, rest, wrap = self.d.question_secondary[row], self.d.rest_secondary[row], self.d.wrap_secondary[row]
        c.t_end[call] = now + question + rest
        self.after(question, self.question_set_ends, (call, SOURCE_SECONDARY))
        self.after(question + rest + wrap, self.finish_work, group)

    # ------------------------------------------------------------ redial
    def maybe_redial(self, call: int) -> None:
        """A 101 caller who hung up may ring 999, or 101 again, after a while."""
        c, m = self.calls, self.m
        attempt = int(c.attempt[call])
        if attempt + 1 >= m.max_attempts:
            return
        row = c.draw_row[call]
        u = self.d.u_redial[row]
        if u < m.redial_to_999:
            line = LINE_999
        elif u < m.redial_to_999 + m.redial_to_101:
            line = LINE_101
        else:
            return
        delay = self.d.redial_delay[row]
        if self.env.now + delay < m.horizon_s:
            self.after(delay, self.caller_redials, (call, line))

    def caller_redials(self, args) -> None:
        parent, line = args
        c = self.calls
        call = self.new_call(line, c.draw_row[parent] + 1, c.origin_call_id[parent])
        c.origin[call], c.parent_call_id[call], c.attempt[call] = ORIGIN_REDIAL, parent, c.attempt[parent] + 1
        c.next_call_id[parent] = call
        (self.offer_999 if line == LINE_999 else self.offer_101)(call)

    # ------------------------------------------------------------ grading and dispatch
    def question_set_ends(self, args) -> None:
        """THRIVE grading done: the incident exists and, if deployed, waits for a unit."""
        call, source = args
        c, now = self.calls, self.env.now
        row = c.draw_row[call]
        grade = self.m.grading.grade(source, self.d.u_grade[row])
        i = self.incidents
        incident = i.new()
        c.incident_id[call] = incident
        # attendance runs from the start of the call: the 101 call for a transfer
        start = c.t_offer[c.parent_call_id[call]] if c.origin[call] == ORIGIN_TRANSFER else c.t_offer[call]
        i.call_id[incident], i.source[incident], i.grade[incident] = call, source, grade
        i.t_call_start[incident], i.t_ready[incident] = start, now
        if grade < N_DEPLOYED:
            heapq.heappush(self.dispatch, (grade, now, self.seq, incident))
            self.seq += 1
            self.levels.change(WDISPATCH, now, +1)
            self.put_to_work(UNITS)

    def assign_unit(self, incident: int) -> None:
        i, now = self.incidents, self.env.now
        self.levels.change(WDISPATCH, now, -1)
        self.start_work(UNITS)
        row, grade = self.calls.draw_row[i.call_id[incident]], i.grade[incident]
        travel, on_scene = self.d.travel[row, grade], self.d.on_scene[row, grade]
        i.t_assigned[incident] = now
        i.t_on_scene[incident] = now + travel
        i.t_clear[incident] = now + travel + on_scene
        self.after(travel + on_scene, self.finish_work, UNITS)


class SimpyEngine:
    """Run a :class:`~demandsim.model.plan.RunPlan` with SimPy; returns :class:`RunRecords`."""

    name = "simpy"

    def run(self, plan: RunPlan, progress=None) -> RunRecords:
        """Simulate to the horizon. ``progress(days_done)`` is called once per simulated day."""
        env = simpy.Environment()
        hub = _Hub(env, plan)
        env.process(hub.arrivals(plan.arrivals_999, hub.call_999_arrives))
        env.process(hub.arrivals(plan.arrivals_101, hub.call_101_arrives))
        env.process(hub.roster_changes())
        horizon = plan.model.horizon_s
        day = 0
        while day * DAY < horizon:
            day += 1
            env.run(until=min(day * DAY, horizon))
            if progress is not None:
                progress(min(day * DAY, horizon) / DAY)
        levels = hub.levels.close(horizon)
        return finish_records(plan.model, hub.calls, hub.incidents, levels)
