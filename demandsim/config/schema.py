"""The structured config: every knob of the model, typed, with its default.

Hydra merges the YAML files of ``configs/`` and the chosen ``scenarios/`` file
onto these dataclasses, so a mistyped key or a value of the wrong type is
refused before a run starts. Defaults that a force should replace with its own
data are set in the YAML group files (``configs/<group>/default.yaml``), where
a comment says where each figure comes from; the values here are only neutral
fall-backs.

All durations are in **minutes** unless a name says otherwise.

Example:
    >>> from omegaconf import OmegaConf
    >>> cfg = OmegaConf.structured(Config)
    >>> cfg.grading.targets.priority
    60.0
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
GRADES = ["immediate", "priority", "prompt", "scheduled", "no_deployment"]
#: grades that send a response unit and carry an attendance target
DEPLOYED_GRADES = ["immediate", "priority", "prompt"]


@dataclass
class Dist:
    """A random duration (minutes) or a fixed one.

    ``kind`` is one of ``exponential`` (mean), ``lognormal`` (mean, cv),
    ``gamma`` (mean, cv), ``weibull`` (mean, shape), ``deterministic`` (value), ``uniform`` (low, high),
    ``empirical`` (sampled with equal weight from ``values``, or from column
    ``column`` of the CSV file ``csv``) and ``none`` (never happens: infinite
    patience).
    """

    kind: str = "exponential"
    mean: Optional[float] = None
    cv: Optional[float] = None
    shape: Optional[float] = None
    value: Optional[float] = None
    low: Optional[float] = None
    high: Optional[float] = None
    values: Optional[List[float]] = None
    csv: Optional[str] = None
    column: Optional[str] = None


# ----------------------------------------------------------------- arrivals
@dataclass
class LineArrivals:
    """Demand on one phone line: a non-homogeneous Poisson process."""

    #: calls in a year at month factor 1 and growth 1
    per_year: float = 0.0
    #: multiplier on the whole line, e.g. 1.27 for "+27% 999 demand"
    growth: float = 1.0
    #: 168 hour-of-week weights (Mon 00-01 first); null uses arrivals.hour_of_week
    hour_of_week: Optional[List[float]] = None


@dataclass
class ArrivalsConfig:
    line_999: LineArrivals = field(default_factory=LineArrivals)
    line_101: LineArrivals = field(default_factory=LineArrivals)
    #: shared hour-of-week shape, 168 weights (only their relative size matters)
    hour_of_week: List[float] = field(default_factory=lambda: [1.0] * 168)
    #: multiplier per calendar month, Jan..Dec (not normalised: 1.1 means +10%)
    month_factors: List[float] = field(default_factory=lambda: [1.0] * 12)


# ----------------------------------------------------------------- staffing
@dataclass
class Shift:
    """``staff`` people on duty from ``start_hour`` for ``hours`` on ``days``."""

    start_hour: int = 7
    hours: int = 10
    staff: int = 0
    days: List[str] = field(default_factory=lambda: list(WEEKDAYS))


@dataclass
class Roster:
    """Headcount through the week: from shifts, or 168 hour-of-week numbers.

    ``extra`` shifts add on top (e.g. a temporary extra shift); an extra shift with
    negative ``staff`` takes that many away in its hours (never below 0). Officers taken
    off response to answer calls are ``staffing.officers_on_phones``.
    """

    shifts: List[Shift] = field(default_factory=list)
    hour_of_week: Optional[List[int]] = None
    extra: List[Shift] = field(default_factory=list)


@dataclass
class DigitalDeskConfig:
    """Webchat staff who answer 999 only when the 999 queue is long."""

    roster: Roster = field(default_factory=Roster)
    #: they pick up a 999 call only while at least this many 999 calls wait
    queue_threshold: int = 5


@dataclass
class StaffScale:
    """One key per lever: every roster of a group (shifts, extra, hour_of_week) times this.

    Per hour of the week, headcount x scale rounded half up (demandsim/model/staffing.py
    says why per hour, not per shift). >= 0; 1 changes nothing.
    """

    #: multiplier on staffing.call_handlers
    call_handlers: float = 1.0
    #: multiplier on staffing.switchboard
    switchboard: float = 1.0
    #: multiplier on staffing.secondary_handlers
    secondary_handlers: float = 1.0
    #: multiplier on staffing.digital_desk.roster
    digital_desk: float = 1.0
    #: multiplier on staffing.units (before officers on the phones are taken out)
    units: float = 1.0


@dataclass
class StaffAdd:
    """One key per lever: people (or units) added to a group's roster in every hour of the week.

    Added after ``staffing.scale`` (round(roster x scale) + N), before officers on the phones
    are taken out of the units; may be negative (taken away), never leaving fewer than 0 on
    duty in any hour. Units are force-wide: with areas, each area gets its ``units_share`` of
    them, as of every rostered unit. 0 changes nothing.
    """

    #: added to staffing.call_handlers in every hour
    call_handlers: int = 0
    #: added to staffing.switchboard in every hour
    switchboard: int = 0
    #: added to staffing.secondary_handlers in every hour
    secondary_handlers: int = 0
    #: added to staffing.digital_desk.roster in every hour
    digital_desk: int = 0
    #: response units added to staffing.units in every hour (sweep one key: staffing.add.units=range(0,9))
    units: int = 0


@dataclass
class ResponseConfig:
    """What takes a rostered response officer away from the incident queue."""

    #: share of rostered unit time (after meal breaks) taken by custody, constant watch, court,
    #: training (the force's "abstraction tracker"); in [0, 1)
    abstraction: float = 0.0
    #: refreshment break per officer per shift, minutes, spread evenly over the shift's hours; >= 0
    meal_break_min: float = 0.0
    #: shifts of at least this many hours include the meal break; shorter ones none; >= 0
    break_from_hours: float = 0.0


@dataclass
class OfficersOnPhones:
    """Response officers put on the phones: call handlers in these shifts, units no more."""

    #: when and how many: they join staffing.call_handlers in these hours
    shifts: List[Shift] = field(default_factory=list)
    #: true: on overtime, so the units roster keeps its officers; false: they are taken
    #: out of staffing.units in the same hours (the real lever's cost)
    overtime: bool = False


@dataclass
class StaffingConfig:
    call_handlers: Roster = field(default_factory=Roster)
    switchboard: Roster = field(default_factory=Roster)
    #: true: call handlers also answer the secondary line when no 999 call waits
    pooled_secondary: bool = True
    #: used only when pooled_secondary is false
    secondary_handlers: Roster = field(default_factory=Roster)
    digital_desk: DigitalDeskConfig = field(default_factory=DigitalDeskConfig)
    units: Roster = field(default_factory=Roster)
    #: multipliers on whole rosters, one per staff group (sweep one key: staffing.scale.units=0.8,1.0,1.2)
    scale: StaffScale = field(default_factory=StaffScale)
    #: people added round the clock, one per staff group (sweep one key: staffing.add.units=0,2,4; may be < 0)
    add: StaffAdd = field(default_factory=StaffAdd)
    #: response officers' time not available for incidents: abstraction and meal breaks
    response: ResponseConfig = field(default_factory=ResponseConfig)
    #: response officers answering calls at peak (moved from units to call handlers)
    officers_on_phones: OfficersOnPhones = field(default_factory=OfficersOnPhones)


# ----------------------------------------------------------------- triage
@dataclass
class RouteShares:
    """Where the switchboard sends a 101 call; shares sum to 1."""

    to_999: float = 0.0
    secondary: float = 1.0
    closed: float = 0.0


@dataclass
class TriageConfig:
    #: switchboard operator's time per call
    triage_time: Dist = field(default_factory=lambda: Dist("exponential", mean=1.0))
    route: RouteShares = field(default_factory=RouteShares)


# ----------------------------------------------------------------- handling
@dataclass
class CallHandling:
    """Talk time = question set + rest of call; then wrap-up (handler still busy)."""

    question_set: Dist = field(default_factory=lambda: Dist("exponential", mean=3.0))
    rest_of_call: Dist = field(default_factory=lambda: Dist("exponential", mean=2.0))
    wrap_up: Dist = field(default_factory=lambda: Dist("deterministic", value=1.0))


@dataclass
class HandlingConfig:
    line_999: CallHandling = field(default_factory=CallHandling)
    secondary: CallHandling = field(default_factory=CallHandling)


# ----------------------------------------------------------------- callers
@dataclass
class PatienceConfig:
    """How long a caller waits in each queue before hanging up."""

    line_999: Dist = field(default_factory=lambda: Dist("none"))
    switchboard: Dist = field(default_factory=lambda: Dist("none"))
    secondary: Dist = field(default_factory=lambda: Dist("none"))


@dataclass
class RedialConfig:
    """What a 101 caller who hung up does next."""

    #: probability the caller rings 999 instead
    to_999: float = 0.0
    #: probability the caller rings 101 again
    to_101: float = 0.0
    #: time from hanging up to the new call
    delay: Dist = field(default_factory=lambda: Dist("exponential", mean=10.0))
    #: most contacts about one matter, for any caller (999 or 101): the first call, redials and
    #: call-backs each count; a switchboard transfer does not
    max_attempts: int = 3


@dataclass
class Redial999Config:
    """What a 999 caller who hung up in the 999 queue does next (any origin: first call,
    redial or switchboard transfer)."""

    #: probability the caller rings 999 again
    to_999: float = 0.0
    #: the same for a caller whose need is for a unit to attend (the grade the caller's incident
    #: would get is immediate, priority or prompt); null: as ``to_999``
    to_999_needing_attendance: Optional[float] = None
    #: time from hanging up to the new call
    delay: Dist = field(default_factory=lambda: Dist("exponential", mean=2.0))


@dataclass
class Callback999Config:
    """A call handler rings back a caller who hung up in the 999 queue."""

    #: true: every call that hangs up in the 999 queue is called back (one call-back
    #: outstanding per caller), unless the caller gets through first
    enabled: bool = False
    #: time from the hang-up until the call-back is due (it then waits for a call handler,
    #: behind live 999 calls)
    delay: Dist = field(default_factory=lambda: Dist("deterministic", value=3.0))
    #: probability a call-back reaches the caller (each call-back draws its own chance)
    reach: float = 1.0
    #: call handler's time on a call-back that does not reach the caller
    unreached_time: Dist = field(default_factory=lambda: Dist("deterministic", value=1.0))


@dataclass
class CallersConfig:
    patience: PatienceConfig = field(default_factory=PatienceConfig)
    redial: RedialConfig = field(default_factory=RedialConfig)
    redial_999: Redial999Config = field(default_factory=Redial999Config)
    callback_999: Callback999Config = field(default_factory=Callback999Config)
    #: patience of a 101 caller the switchboard puts into the 999 queue: restart (a fresh
    #: 999 patience: the caller has been spoken to) or continue (the 999 patience minus the
    #: time already waited in the switchboard queue, at least 0)
    patience_after_transfer: str = "restart"


# ----------------------------------------------------------------- grading
@dataclass
class GradeMix:
    """Share of graded calls per THRIVE grade; sums to 1."""

    #: minutes for immediate incidents
    immediate: float = 0.0
    #: minutes for priority incidents
    priority: float = 0.0
    #: minutes for prompt incidents
    prompt: float = 0.0
    scheduled: float = 0.0
    no_deployment: float = 1.0


@dataclass
class GradeMixes:
    #: calls first made to 999
    line_999: GradeMix = field(default_factory=GradeMix)
    #: 101 callers answered by a 999 handler (switchboard transfer or redial to 999)
    from_101: GradeMix = field(default_factory=GradeMix)
    #: calls handled on the secondary line
    secondary: GradeMix = field(default_factory=GradeMix)


@dataclass
class GradeTargets:
    """Attendance target per grade, minutes from the start of the call."""

    immediate: float = 15.0
    priority: float = 60.0
    prompt: float = 240.0


@dataclass
class GradingConfig:
    mix: GradeMixes = field(default_factory=GradeMixes)
    targets: GradeTargets = field(default_factory=GradeTargets)


# ----------------------------------------------------------------- dispatch
@dataclass
class GradeDeployment:
    """A unit's time on an incident of one grade: travel, on scene, and follow-up work for some."""

    #: from assignment to arrival on scene
    travel: Dist = field(default_factory=lambda: Dist("deterministic", value=0.0))
    #: from arrival until the unit is free again, unless the incident has follow-up work
    on_scene: Dist = field(default_factory=lambda: Dist("exponential", mean=60.0))
    #: share of the grade's incidents with follow-up work after attending (statements,
    #: custody, hospital), in [0, 1]
    follow_up_share: float = 0.0
    #: the follow-up work's time, added to the time on scene of those incidents
    follow_up: Dist = field(default_factory=lambda: Dist("deterministic", value=0.0))


#: values of dispatch.divert_from, from never to most often
DIVERT_FROM = ["none", "travelling", "on_scene"]


@dataclass
class NeighbourAfter:
    """Minutes an incident of each grade waits for a unit of its own area before a free unit
    of a neighbouring area may be sent (0: at once). Used only with more than one area."""

    #: minutes for immediate incidents
    immediate: float = 0.0
    #: minutes for priority incidents
    priority: float = 0.0
    #: minutes for prompt incidents
    prompt: float = 0.0


@dataclass
class DispatchConfig:
    """Units go to the highest grade first, first come first served within it; an immediate
    incident may take a unit off a lower-grade one (``divert_from``)."""

    immediate: GradeDeployment = field(default_factory=GradeDeployment)
    priority: GradeDeployment = field(default_factory=GradeDeployment)
    prompt: GradeDeployment = field(default_factory=GradeDeployment)
    #: an immediate incident that finds no unit free takes one from a priority or prompt
    #: incident: none (never), travelling (a unit still on its way there) or on_scene (also
    #: one already there). Prompt before priority, then the unit assigned last; the incident
    #: left goes back to the queue with its ready time
    divert_from: str = "none"
    #: with areas (areas.districts): how long an incident waits for a unit of its own area before a
    #: neighbouring area's free unit may be sent, per grade, minutes >= 0 (0: at once)
    neighbour_after: NeighbourAfter = field(default_factory=NeighbourAfter)


# ----------------------------------------------------------------- areas
@dataclass
class District:
    """One area of the force: its share of demand and of the units, and how far its units travel."""

    #: the area's name (records and summary.json's by_area use it); unique
    name: str = ""
    #: share of callers whose need (incident) is in this area; the districts' shares sum to 1
    demand_share: float = 0.0
    #: share of the available response units based here, every hour; the shares sum to 1
    units_share: float = 0.0
    #: multiplier on every grade's travel time (dispatch.<grade>.travel) to an incident here; 0 to 100
    travel_factor: float = 1.0
    #: names of the areas next to this one, whose units may be sent here (and this one's there):
    #: every pair listed both ways
    neighbours: List[str] = field(default_factory=list)


@dataclass
class AreasConfig:
    """Where incidents arise and where units are based (demandsim/model/areas.py).

    No districts (an empty list): one force-wide area, every unit free for every incident.
    """

    #: the areas, in the order records number them; [] for one force-wide pool of units
    districts: List[District] = field(default_factory=list)
    #: travel multiplier when a neighbouring area's unit attends (on top of the area's factor); 0 to 100
    neighbour_travel_factor: float = 1.0


# ----------------------------------------------------------------- review
@dataclass
class ReviewShares:
    """What a THRIVE review of an incident still waiting decides, as shares summing to 1."""

    #: it keeps waiting for a unit, in its place; the victim is updated (a call-handler call)
    stays: float = 1.0
    #: a call handler resolves it by phone; no unit attends (never counted as attended in time)
    resolved_by_phone: float = 0.0
    #: it is booked into an appointment slot and waits for a unit again from the slot's start
    appointment: float = 0.0


@dataclass
class AppointmentHours:
    """The hours of each day that appointment windows are offered in."""

    #: first window starts at this hour, 0-23
    start_hour: int = 8
    #: windows end by this hour, start_hour+1..24
    end_hour: int = 20


@dataclass
class ReviewConfig:
    """THRIVE review of incidents still waiting for a unit at their target (demandsim/model/review.py).

    First review when the grade's target passes (from the start of the call) while the incident
    still waits for its first unit, then every ``interval`` minutes while it waits.
    """

    #: true: incidents waiting past their target are reviewed; false: nothing here happens
    enabled: bool = False
    #: minutes between reviews of an incident still waiting; > 0
    interval: float = 120.0
    #: outcome shares of a review of an immediate incident
    immediate: ReviewShares = field(default_factory=ReviewShares)
    #: outcome shares of a review of a priority incident
    priority: ReviewShares = field(default_factory=ReviewShares)
    #: outcome shares of a review of a prompt incident
    prompt: ReviewShares = field(default_factory=ReviewShares)
    #: call handler's time on a victim update (every review that keeps the incident waiting)
    victim_update_time: Dist = field(default_factory=lambda: Dist("lognormal", mean=3.0, cv=0.5))
    #: call handler's time on the call that resolves an incident by phone
    phone_resolution_time: Dist = field(default_factory=lambda: Dist("lognormal", mean=15.0, cv=0.6))
    #: call handler's time on the call that books an appointment with the victim
    booking_time: Dist = field(default_factory=lambda: Dist("lognormal", mean=4.0, cv=0.5))
    #: call handlers make review calls only while more than this many call handlers are free, so
    #: that a 999 call finds one; >= 0 (0: any free call handler makes them)
    handlers_kept_free: int = 2
    #: an appointment starts at least this many hours after the review that books it; >= 0
    appointment_lead_time: float = 4.0
    #: ... and at most this many: with no window with room that soon, the incident stays (and the
    #: victim is updated); >= appointment_lead_time
    appointment_max_wait: float = 48.0
    #: appointments a day, spread over the day's windows (the earlier windows take any remainder); >= 0
    appointment_slots_per_day: int = 30
    #: the hours of each day with appointment windows
    appointment_hours: AppointmentHours = field(default_factory=AppointmentHours)
    #: length of an appointment window, minutes: kept if a unit arrives on scene before it ends
    appointment_slot_minutes: float = 120.0


# ----------------------------------------------------------------- run
@dataclass
class RunConfig:
    #: simulated days, warm-up included
    days: float = 28.0
    #: days at the start left out of every KPI
    warmup_days: float = 2.0
    seed: int = 1
    #: calendar date of time 0 (sets weekday and month)
    start_date: str = "2021-04-05"
    engine: str = "simpy"
    #: progress bar on stderr (shown only on a terminal)
    progress: bool = True
    #: replications per point: runs that differ only in seed. Replication r uses seed
    #: run.seed + r, so replication 0 is the single run; the same r uses the same seed at
    #: every point of a sweep (common random numbers). >= 1
    replications: int = 1
    #: which replication this run is (0-based; its seed is run.seed + replication). A sweep
    #: sets it for each run; set it by hand to re-run one replication of a sweep exactly
    replication: int = 0


@dataclass
class AttendanceGoals:
    """Share of each grade's incidents that should be attended within the grade's target.

    The sources publish the targets (minutes) but no goal share; 0.9 is an assumption.
    """

    #: goal for immediate incidents (target grading.targets.immediate)
    immediate: float = 0.9
    #: goal for priority incidents (target grading.targets.priority)
    priority: float = 0.9
    #: goal for prompt incidents (target grading.targets.prompt)
    prompt: float = 0.9


@dataclass
class ReportConfig:
    """The standards drawn on the report's charts (python -m demandsim.report)."""

    #: national expectation: this share of 999 calls answered within 10 s
    sl_999_10s_goal: float = 0.9
    #: national standard for forces with a switchboard: 101 abandonment at most this share
    abandon_101_max: float = 0.05
    #: goal share attended within target, per grade (no source sets one: 0.9 assumed)
    attendance_goal: AttendanceGoals = field(default_factory=AttendanceGoals)


@dataclass
class WindowConfig:
    """Hours and days every KPI is also given over (summary.json's ``window`` block, the sweep
    tables' ``window.*`` KPIs, the report's standards): calls offered and incidents whose call
    started in those hours, after warm-up (demandsim/window.py). Both null: no window."""

    #: "START-END" in whole hours of the clock, START 0-23, END 1-24; END below START wraps midnight
    #: ("17-03": 17:00 to 03:00); null: the whole day (as "0-24")
    hours: Optional[str] = None
    #: the weekdays on which the window starts (Mon..Sun), as a shift's days: [Fri] with 17-03 is
    #: Friday 17:00 to Saturday 03:00; null: every day
    days: Optional[List[str]] = None


@dataclass
class PathsConfig:
    #: folder that relative paths in the config (empirical distributions' csv) start from
    data_dir: str = "."
    #: folder under which runs and sweeps are written (see configs/hydra/default.yaml)
    results_dir: str = "results"


@dataclass
class Config:
    """The whole run: ``python -m demandsim --cfg job`` prints it merged."""

    scenario_name: str = "unnamed"
    description: str = ""
    arrivals: ArrivalsConfig = field(default_factory=ArrivalsConfig)
    staffing: StaffingConfig = field(default_factory=StaffingConfig)
    triage: TriageConfig = field(default_factory=TriageConfig)
    handling: HandlingConfig = field(default_factory=HandlingConfig)
    callers: CallersConfig = field(default_factory=CallersConfig)
    grading: GradingConfig = field(default_factory=GradingConfig)
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    areas: AreasConfig = field(default_factory=AreasConfig)
    run: RunConfig = field(default_factory=RunConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    #: KPIs over a window of hours and days too (both null: none)
    window: WindowConfig = field(default_factory=WindowConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    #: plain parameters of the validation scenarios (servers, rates, ...)
    validation: Optional[Dict[str, Any]] = None


def walk(node, key: str = ""):
    """``(key, value)`` for ``node`` and everything inside it (dataclass fields, mapping entries, list
    items), keyed as errors name them (``staffing.call_handlers.shifts[2].staff``).

    Example:
        >>> [k for k, v in walk(Config()) if isinstance(v, Dist)][:2]
        ['triage.triage_time', 'handling.line_999.question_set']
    """
    yield key, node
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            yield from walk(getattr(node, f.name), f"{key}.{f.name}" if key else f.name)
    elif isinstance(node, dict):
        for name, value in node.items():
            yield from walk(value, f"{key}.{name}" if key else str(name))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from walk(value, f"{key}[{i}]")


def register_schema() -> None:
    """Register :class:`Config` with Hydra so ``configs/demandsim.yaml`` can use it."""
    ConfigStore.instance().store(name="demandsim_schema", node=Config)
