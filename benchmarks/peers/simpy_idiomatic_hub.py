"""The full demand-hub journey as an idiomatic SimPy model: one process per caller.

The yardstick for "the reference engine is at least 3x an idiomatic SimPy
model" on the full baseline. It is written the way the SimPy documentation
teaches (generator processes, ``with resource.request() as req``, reneging by
``yield req | env.timeout(patience)``) and reads everything from the same
:class:`~demandsim.model.plan.RunPlan` as the project's engines (``plan.model``,
``plan.draws``, ``plan.arrivals_999`` / ``plan.arrivals_101``), so both simulate
the same callers with the same random draws and the work per call is the same:

- a **999 caller** queues for a call handler with patience; once answered the
  handler asks the question set, the incident is graded (THRIVE mix of its
  source), then the rest of the call and the wrap-up follow;
- a **101 caller** queues for the switchboard with patience; the operator
  triages and routes the call: into the 999 queue (a second call, graded as
  ``from_101``, attendance measured from the start of the 101 call), to the
  **secondary line** (its own queue with patience, then question set, grading,
  rest of call and wrap-up) or closed;
- a 101 caller who hangs up on the switchboard or the secondary line may
  **redial** 999 or 101 after a delay, up to ``max_attempts`` contacts; the caller's
  process loops over its attempts, reading the draw row of each attempt;
- a caller who hangs up in the 999 queue is **called back** (a process that waits for
  the call-back's delay, then for a call handler behind live 999 calls) and may ring 999
  again (another process); whichever reaches the caller first makes the incident, the
  other finds the caller reached and does nothing;
- a **graded incident** that needs a unit is its own process: it requests a unit
  from a ``simpy.PriorityResource`` (the grade is the priority, first come first
  served within a grade), then travels and stays on scene;
- **rosters**: every staff group is a ``simpy.PriorityResource`` sized to its
  largest headcount; a roster process takes the members who are off duty out
  with top-priority "off duty" requests at each hour when the headcount changes
  (someone busy when their shift ends finishes the call first, as in the
  reference engine), and releases them when staff come back on;
- **records**: one tuple per call offered and per incident appended to lists,
  turned into numpy arrays at the end; the number of callers waiting and staff
  busy is sampled once per simulated hour by a monitor process.

Simplified against the reference engine (demandsim/engines/simpy_engine.py):

- the **digital desk** (webchat staff who take 999 calls above a queue threshold)
  is not modelled: the baseline rosters nobody there;
- hourly levels are **sampled** at each hour by a monitor process instead of being
  integrated over time at every change (less work than the reference engine does);
- the end-of-run tables are plain numpy arrays, not the typed pandas tables of
  :func:`demandsim.records.finish_records` (again less work);
- when the pooled secondary line is used, secondary callers queue behind 999 callers
  by request priority, which is the reference engine's rule as well.
- a call-back cancelled because the caller got through first stays in the handlers'
  queue until a handler reaches it (the reference engine takes it out of the queue's
  count at once); ``callers.patience_after_transfer: continue`` is not modelled.

So where the two differ the idiomatic model does slightly *less* work, and the
ratio measured against it slightly understates the reference engine's advantage.
With the same plan its KPIs agree with the reference engine's within sampling
noise (see ``benchmarks/smoke_test.py``): same callers, same draws; event order at
ties and the roster hand-over differ, so individual calls need not match.

Example:
    >>> from demandsim.config import load_config
    >>> from demandsim.model.plan import build_plan
    >>> plan = build_plan(load_config(["run.days=1", "run.warmup_days=0"]))
    >>> log = simulate(plan)
    >>> log.calls > len(plan.arrivals_999)
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from demandsim.model.calendar import HOUR
from demandsim.model.grading import N_DEPLOYED, SOURCE_999, SOURCE_FROM_101, SOURCE_SECONDARY
from demandsim.model.plan import RunPlan
from demandsim.model.switchboard import ROUTE_SECONDARY, ROUTE_TO_999

LINE_999, LINE_101 = 0, 1
(ANSWERED, ABANDONED, CLOSED, TRANSFERRED, ANSWERED_SECONDARY,
 ABANDONED_SWITCHBOARD, ABANDONED_SECONDARY) = range(7)
CALLBACK_UNREACHED, CALLBACK_CANCELLED = 7, 8
LINE_CALLBACK = 2  # a call-back in the log: a call the force makes, not a 999 call from the public
OFF_DUTY = -1  # request priority of an off-duty "call": ahead of every caller
P_999, P_CALLBACK, P_SECONDARY = 0, 1, 2
NAN = float("nan")
INF = float("inf")


class Team:
    """A staff group: a PriorityResource sized to the largest headcount, and its roster."""

    def __init__(self, env: simpy.Environment, headcount: np.ndarray) -> None:
        self.env = env
        self.headcount = [int(h) for h in headcount]
        self.size = max(max(self.headcount, default=0), 1)
        self.resource = simpy.PriorityResource(env, capacity=self.size)
        self.off_duty: list = []
        self.set_on_duty(self.headcount[0] if self.headcount else 0)
        env.process(self.roster())

    def set_on_duty(self, staff: int) -> None:
        """Take people off duty (top-priority requests) or bring them back."""
        want_off = self.size - staff
        while len(self.off_duty) < want_off:
            self.off_duty.append(self.resource.request(priority=OFF_DUTY))
        while len(self.off_duty) > want_off:
            req = self.off_duty.pop()
            if req.triggered:
                self.resource.release(req)
            else:
                req.cancel()  # was still waiting for someone to finish a call

    def roster(self):
        """Process: at each hour when the headcount changes, update who is on duty."""
        for hour in range(1, len(self.headcount)):
            if self.headcount[hour] != self.headcount[hour - 1]:
                yield self.env.timeout(hour * HOUR - self.env.now)
                self.set_on_duty(self.headcount[hour])

    @property
    def busy(self) -> int:
        return self.resource.count - sum(1 for r in self.off_duty if r.triggered)

    @property
    def waiting(self) -> int:
        return len(self.resource.queue) - sum(1 for r in self.off_duty if not r.triggered)


class Caller:
    """One caller's matter: contacts made (the next reads row ``first_row + contacts``),
    reached by a 999 handler yet, a call-back outstanding."""

    __slots__ = ("first_row", "contacts", "reached", "callback")

    def __init__(self, first_row: int) -> None:
        self.first_row, self.contacts, self.reached, self.callback = first_row, 1, False, False


@dataclass
class HubLog:
    """What the idiomatic hub recorded (numpy arrays built at the end of the run)."""

    calls: int
    call_line: np.ndarray
    call_t_offer: np.ndarray
    call_wait: np.ndarray  # answer wait (999 handler or switchboard), NaN if never answered
    call_outcome: np.ndarray
    incident_grade: np.ndarray
    incident_t_start: np.ndarray
    incident_t_ready: np.ndarray
    incident_t_assigned: np.ndarray
    incident_t_on_scene: np.ndarray
    hourly: np.ndarray  # (hours, 8): waiting 999/switchboard/secondary/dispatch, busy handlers/secondary/switchboard/units


class IdiomaticHub:
    """The hub: teams, a process per caller, a process per deployed incident."""

    def __init__(self, env: simpy.Environment, plan: RunPlan) -> None:
        self.env, self.m = env, plan.model
        m, d = plan.model, plan.draws
        self.n_999, self.attempts = d.n_999, d.attempts
        # the draws as Python lists: what a careful SimPy modeller hands to timeouts
        self.patience_999 = d.patience_999.tolist()
        self.patience_switchboard = d.patience_switchboard.tolist()
        self.patience_secondary = d.patience_secondary.tolist()
        self.triage = d.triage.tolist()
        self.route = d.route.tolist()
        self.question_999, self.rest_999, self.wrap_999 = d.question_999.tolist(), d.rest_999.tolist(), d.wrap_999.tolist()
        self.question_sec, self.rest_sec, self.wrap_sec = (d.question_secondary.tolist(), d.rest_secondary.tolist(),
                                                           d.wrap_secondary.tolist())
        self.u_grade = d.u_grade.tolist()
        self.travel, self.on_scene = d.travel.tolist(), d.on_scene.tolist()
        self.u_redial, self.redial_delay = d.u_redial.tolist(), d.redial_delay.tolist()
        self.rings_999_again = d.rings_999_again.tolist()
        self.redial_999_delay, self.callback_delay = d.redial_999_delay.tolist(), d.callback_delay.tolist()
        self.u_reach, self.unreached_time = d.u_reach.tolist(), d.unreached_time.tolist()
        self.grade_cumulative = m.grading.cumulative.tolist()

        self.handlers = Team(env, m.headcount["call_handlers"])
        self.switchboard = Team(env, m.headcount["switchboard"])
        self.secondary = self.handlers if m.pooled_secondary else Team(env, m.headcount["secondary_handlers"])
        self.units = Team(env, m.headcount["units"])
        self.dispatch_waiting = 0
        self.calls: list = []  # (line, t_offer, wait, outcome)
        self.incidents: list = []  # (grade, t_start, t_ready, t_assigned, t_on_scene)
        self.hourly: list = []

    # ------------------------------------------------------------ sources
    def arrivals_999(self, times):
        for index, t in enumerate(times):
            yield self.env.timeout(t - self.env.now)
            self.env.process(self.caller_999(index))

    def arrivals_101(self, times):
        for index, t in enumerate(times):
            yield self.env.timeout(t - self.env.now)
            self.env.process(self.caller_101(index))

    def monitor(self, hours: int):
        """Process: sample queue lengths and busy staff at the start of each hour."""
        for hour in range(hours):
            yield self.env.timeout(hour * HOUR - self.env.now)
            self.hourly.append((self.handlers.waiting, self.switchboard.waiting,
                                0 if self.secondary is self.handlers else self.secondary.waiting, self.dispatch_waiting,
                                self.handlers.busy, self.secondary.busy, self.switchboard.busy, self.units.busy))

    # ------------------------------------------------------------ callers
    def caller_999(self, index: int):
        """A caller who rings 999; after a hang-up the 999 rules below carry on."""
        caller = Caller(index * self.attempts)
        yield from self.ring_999(caller, caller.first_row, SOURCE_999, self.env.now)

    def caller_101(self, index: int):
        """A caller who rings 101, and redials (999 or 101) after hanging up, up to max_attempts contacts."""
        env, m = self.env, self.m
        caller = Caller((self.n_999 + index) * self.attempts)
        line = LINE_101
        while True:
            row = caller.first_row + caller.contacts - 1
            if line == LINE_101:
                fate = yield from self.ring_101(caller, row)
            else:
                fate = yield from self.ring_999(caller, row, SOURCE_FROM_101, env.now)
            if fate != ABANDONED_SWITCHBOARD and fate != ABANDONED_SECONDARY:
                return  # served, closed, or hung up on 999 (the 999 rules carry on)
            u = self.u_redial[row]
            if u < m.redial_to_999:
                line = LINE_999
            elif u < m.redial_to_999 + m.redial_to_101:
                line = LINE_101
            else:
                return
            delay = self.redial_delay[row]
            if caller.contacts >= self.attempts or env.now + delay >= m.horizon_s:
                return
            yield env.timeout(delay)
            caller.contacts += 1

    def after_999_hang_up(self, caller: Caller, row: int, source: int, t_start: float) -> None:
        """A call-back (one outstanding per caller) and perhaps a redial to 999, contacts allowing."""
        m = self.m
        if caller.contacts >= self.attempts:
            return
        if m.callback_enabled and not caller.callback:
            caller.callback = True
            self.env.process(self.call_back(caller, row, source, t_start))
        if self.rings_999_again[row]:
            self.env.process(self.redial_999(caller, row, source))

    def redial_999(self, caller: Caller, row: int, source: int):
        """Process: the caller rings 999 again, unless reached meanwhile."""
        env = self.env
        yield env.timeout(self.redial_999_delay[row])
        if caller.reached or caller.contacts >= self.attempts:
            return
        row = caller.first_row + caller.contacts
        caller.contacts += 1
        yield from self.ring_999(caller, row, source, env.now)

    def call_back(self, caller: Caller, row: int, source: int, t_start: float):
        """Process: the call-back is due, waits for a call handler behind 999 callers, rings."""
        env, m = self.env, self.m
        yield env.timeout(self.callback_delay[row])
        if caller.reached or caller.contacts >= self.attempts:
            caller.callback = False
            return
        row = caller.first_row + caller.contacts
        caller.contacts += 1
        t_due = env.now
        with self.handlers.resource.request(priority=P_CALLBACK) as req:
            yield req
            caller.callback = False
            if caller.reached:  # got through first: nothing to ring (the handler is free at once)
                self.calls.append((LINE_CALLBACK, t_due, NAN, CALLBACK_CANCELLED))
                return
            if self.u_reach[row] >= m.callback_reach:
                self.calls.append((LINE_CALLBACK, t_due, env.now - t_due, CALLBACK_UNREACHED))
                yield env.timeout(self.unreached_time[row])
                return
            caller.reached = True
            self.calls.append((LINE_CALLBACK, t_due, env.now - t_due, ANSWERED))
            yield env.timeout(self.question_999[row])
            self.grade(row, source, t_start)
            yield env.timeout(self.rest_999[row])
            yield env.timeout(self.wrap_999[row])

    def ring_999(self, caller: Caller, row: int, source: int, t_start: float):
        """Queue for a call handler; if answered, question set, grading, rest of call, wrap-up."""
        env = self.env
        t_offer = env.now
        with self.handlers.resource.request(priority=P_999) as req:
            patience = self.patience_999[row]
            # infinite patience (e.g. a caller who needs a unit, on the last contact): wait until answered
            got = (yield req | env.timeout(patience)) if patience < INF else {req: (yield req)}
            if req not in got:
                self.calls.append((LINE_999, t_offer, NAN, ABANDONED))
                self.after_999_hang_up(caller, row, source, t_start)
                return ABANDONED
            caller.reached = True
            self.calls.append((LINE_999, t_offer, env.now - t_offer, ANSWERED))
            yield env.timeout(self.question_999[row])
            self.grade(row, source, t_start)
            yield env.timeout(self.rest_999[row])
            yield env.timeout(self.wrap_999[row])
        return ANSWERED

    def ring_101(self, caller: Caller, row: int):
        """Queue for the switchboard; triage; then the 999 queue, the secondary line, or closed."""
        env = self.env
        t_offer = env.now
        with self.switchboard.resource.request(priority=P_999) as req:
            patience = self.patience_switchboard[row]
            # infinite patience (e.g. a caller who needs a unit, on the last contact): wait until answered
            got = (yield req | env.timeout(patience)) if patience < INF else {req: (yield req)}
            if req not in got:
                self.calls.append((LINE_101, t_offer, NAN, ABANDONED_SWITCHBOARD))
                return ABANDONED_SWITCHBOARD
            wait = env.now - t_offer
            yield env.timeout(self.triage[row])
        route = self.route[row]
        if route == ROUTE_TO_999:
            self.calls.append((LINE_101, t_offer, wait, TRANSFERRED))
            return (yield from self.ring_999(caller, row, SOURCE_FROM_101, t_offer))
        if route != ROUTE_SECONDARY:
            self.calls.append((LINE_101, t_offer, wait, CLOSED))
            return CLOSED
        with self.secondary.resource.request(priority=P_SECONDARY) as req:
            patience = self.patience_secondary[row]
            # infinite patience (e.g. a caller who needs a unit, on the last contact): wait until answered
            got = (yield req | env.timeout(patience)) if patience < INF else {req: (yield req)}
            if req not in got:
                self.calls.append((LINE_101, t_offer, wait, ABANDONED_SECONDARY))
                return ABANDONED_SECONDARY
            self.calls.append((LINE_101, t_offer, wait, ANSWERED_SECONDARY))
            yield env.timeout(self.question_sec[row])
            self.grade(row, SOURCE_SECONDARY, t_offer)
            yield env.timeout(self.rest_sec[row])
            yield env.timeout(self.wrap_sec[row])
        return ANSWERED_SECONDARY

    # ------------------------------------------------------------ grading and dispatch
    def grade(self, row: int, source: int, t_start: float) -> None:
        """THRIVE grading at the end of the question set; a deployed grade waits for a unit."""
        u, cumulative = self.u_grade[row], self.grade_cumulative[source]
        grade = 0
        while grade < len(cumulative) - 1 and u >= cumulative[grade]:
            grade += 1
        if grade < N_DEPLOYED:
            self.env.process(self.incident(row, grade, t_start))
        else:
            self.incidents.append((grade, t_start, self.env.now, NAN, NAN))

    def incident(self, row: int, grade: int, t_start: float):
        """A deployed incident: wait for a unit (grade = priority), travel, on scene."""
        env = self.env
        record = [grade, t_start, env.now, NAN, NAN]  # grade, call start, ready, assigned, on scene
        self.incidents.append(record)
        self.dispatch_waiting += 1
        with self.units.resource.request(priority=grade) as req:
            yield req
            self.dispatch_waiting -= 1
            record[3] = env.now
            yield env.timeout(self.travel[row])  # drawn for this row's grade
            record[4] = env.now
            yield env.timeout(self.on_scene[row])


def simulate(plan: RunPlan) -> HubLog:
    """Run the idiomatic hub over ``plan`` to its horizon."""
    env = simpy.Environment()
    hub = IdiomaticHub(env, plan)
    env.process(hub.arrivals_999(plan.arrivals_999.tolist()))
    env.process(hub.arrivals_101(plan.arrivals_101.tolist()))
    hours = int(math.ceil(plan.model.horizon_s / HOUR))
    env.process(hub.monitor(hours))
    env.run(until=plan.model.horizon_s)

    calls = np.array(hub.calls, dtype=float).reshape(-1, 4)
    incidents = np.array(hub.incidents, dtype=float).reshape(-1, 5)
    return HubLog(
        calls=len(hub.calls),
        call_line=calls[:, 0].astype(np.int8), call_t_offer=calls[:, 1], call_wait=calls[:, 2],
        call_outcome=calls[:, 3].astype(np.int8),
        incident_grade=incidents[:, 0].astype(np.int8), incident_t_start=incidents[:, 1],
        incident_t_ready=incidents[:, 2], incident_t_assigned=incidents[:, 3], incident_t_on_scene=incidents[:, 4],
        hourly=np.array(hub.hourly, dtype=float).reshape(-1, 8),
    )


def stats(log: HubLog, plan: RunPlan) -> dict:
    """A few headline KPIs over the measured period, defined as in demandsim.kpis.

    Calls still waiting at the horizon are not in the log (they have no outcome yet);
    attendance within target leaves out incidents not attended whose target had not
    passed at the horizon.
    """
    m = plan.model
    after = log.call_t_offer >= m.warmup_s
    c999 = after & (log.call_line == LINE_999)
    c101 = after & (log.call_line == LINE_101)
    answered = log.call_outcome == ANSWERED
    out = {
        "calls_999_offered": int(c999.sum()),
        "calls_101_offered": int(c101.sum()),
        "sl_999_10s": float((answered & (log.call_wait <= 10.0))[c999].mean()),
        "abandon_rate_999": float((log.call_outcome == ABANDONED)[c999].mean()),
        "abandon_rate_101": float(np.isin(log.call_outcome, (ABANDONED_SWITCHBOARD, ABANDONED_SECONDARY))[c101].mean()),
    }
    deployed = (log.incident_grade < N_DEPLOYED) & (log.incident_t_start >= m.warmup_s)
    target = m.grading.target_s[np.minimum(log.incident_grade, N_DEPLOYED - 1)]
    within = (log.incident_t_on_scene - log.incident_t_start) <= target  # False when not attended
    known = deployed & ((log.incident_t_on_scene <= m.horizon_s) | (log.incident_t_start + target <= m.horizon_s))
    out["attend_within_target_all"] = float(within[known].mean()) if known.any() else None
    return out


def run(plan: RunPlan):
    """Simulate and summarise: a :class:`benchmarks.peers.PeerResult`."""
    from benchmarks.peers import PeerResult

    log = simulate(plan)
    return PeerResult(calls=log.calls, stats=stats(log, plan))
