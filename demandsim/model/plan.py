"""The model compiled from a config: validated, in seconds, ready for an engine.

:func:`build_model` checks every value and turns the config into plain arrays
and distributions (:class:`ModelParts`); :func:`build_plan` adds the run's
random draws (arrival times and :class:`~demandsim.draws.CallDraws`) and the units
available in each hour (:mod:`~demandsim.model.response`: rounded at random, so they
need the seed). Engines consume a :class:`RunPlan` and nothing else, so both engines
see the same model.

Example:
    >>> from demandsim.config.schema import Config
    >>> cfg = Config()
    >>> cfg.arrivals.line_999.per_year = 8760.0          # one call an hour
    >>> cfg.staffing.call_handlers.hour_of_week = [1] * 168
    >>> cfg.run.days, cfg.run.warmup_days = 1.0, 0.0
    >>> plan = build_plan(cfg)
    >>> plan.model.horizon_s, len(plan.arrivals_101)
    (86400.0, 0)
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from demandsim.config.schema import DEPLOYED_GRADES, Config, walk
from demandsim.draws import LINE_101, LINE_999, CallDraws, draw_calls, stream
from demandsim.errors import ConfigError, whole_number
from demandsim.model.areas import Areas, areas_from_config, units_available_by_area
from demandsim.model.arrivals import arrival_times, hourly_rates
from demandsim.model.calendar import DAY, Calendar
from demandsim.model.dispatch import divert_code
from demandsim.model.distributions import Duration
from demandsim.model.grading import SOURCE_999, SOURCE_FROM_101, SOURCE_SECONDARY, Grading
from demandsim.model.response import break_share_by_hour_of_week, check_response, expected_available
from demandsim.model.review import WORK, ReviewPolicy, policy_from_config
from demandsim.model.shares import cumulative_shares, pick
from demandsim.model.staffing import paid_by_hour_of_week
from demandsim.model.switchboard import ROUTE_SECONDARY, ROUTE_TO_999

STAFF_GROUPS = ("call_handlers", "secondary_handlers", "digital_desk", "switchboard", "units")
#: values of callers.patience_after_transfer
PATIENCE_AFTER_TRANSFER = ("restart", "continue")


@dataclass(frozen=True)
class ModelParts:
    """Everything about the hub except the random draws. Times in seconds."""

    horizon_s: float
    warmup_s: float
    calendar: Calendar
    rate_999: np.ndarray  # expected calls per simulated hour
    rate_101: np.ndarray
    rostered: dict  # staff group -> on duty and paid, per simulated hour (officers on the phones moved)
    units_expected: np.ndarray  # mean units available per simulated hour (net of breaks and abstraction)
    #: staff group -> who takes work, per simulated hour: the engines' input. As rostered, except
    #: units: those available, rounded at random for the run's seed. None until build_plan sets it
    headcount: dict | None
    pooled_secondary: bool
    digital_desk_threshold: int
    patience_999: Duration
    patience_switchboard: Duration
    patience_secondary: Duration
    triage_time: Duration
    route_cumulative: np.ndarray
    handling_999: tuple
    handling_secondary: tuple
    grading: Grading
    travel: tuple  # per deployed grade
    on_scene: tuple
    follow_up_share: tuple  # per deployed grade, the share of incidents with follow-up work
    follow_up: tuple  # per deployed grade, its time
    redial_to_999: float
    redial_to_101: float
    redial_delay: Duration
    max_attempts: int  # contacts per caller (999 or 101): rows of draws per caller
    redial_999_to_999: float  # a caller who hung up in the 999 queue rings 999 again
    redial_999_to_999_needing: float  # the same, for a caller whose need is for a unit to attend
    redial_999_delay: Duration
    callback_enabled: bool
    callback_delay: Duration  # from the hang-up until the call-back is due
    callback_reach: float
    callback_unreached_time: Duration
    patience_continues: bool  # callers.patience_after_transfer == "continue"
    divert_from: int  # dispatch.divert_from as a code of demandsim.model.dispatch (DIVERT_NONE, ...)
    review: ReviewPolicy  # THRIVE review of incidents waiting past their target (demandsim.model.review)
    review_enabled: bool  # review.enabled: the review draws are made only then
    review_times: tuple  # call handlers' time per review call, in the order of review.WORK
    areas: Areas  # where incidents arise and units are based (demandsim.model.areas); one without districts
    area_cumulative: np.ndarray  # the areas' cumulative demand shares: a caller's area is picked from them
    #: units available per area (rows, in the order of areas.names) and simulated hour, rounded at
    #: random for the run's seed; headcount["units"] is their sum. None until build_plan sets it
    units_by_area: np.ndarray | None = None

    def route_code(self, u: np.ndarray) -> np.ndarray:
        """Switchboard route per call (see :data:`demandsim.model.switchboard.ROUTES`) from its uniform."""
        return pick(self.route_cumulative, u).astype(np.int8)


@dataclass
class RunPlan:
    """A model plus one seed's arrivals and draws: the complete input of an engine.

    The engines read the draws through a :class:`demandsim.draw_window.DrawWindow`: a block
    of callers at a time, drawn as the run reaches them, unless the plan has the whole table
    (``drawn``: a sweep's worker reusing one seed's draws at several staffing points, or a
    test's own table).
    """

    model: ModelParts
    seed: int
    arrivals_999: np.ndarray  # seconds, increasing
    arrivals_101: np.ndarray
    drawn: CallDraws | None = None

    @property
    def draws(self) -> CallDraws:
        """The whole table of draws (:func:`demandsim.draws.draw_calls`), drawn on first use and
        kept: for checks and exports after a run (the engines do not need it)."""
        if self.drawn is None:
            self.drawn = draw_calls(self.model, len(self.arrivals_999), len(self.arrivals_101), self.seed)
        return self.drawn


#: peak memory of a run, writing its results included, per call attempt (a row of the draws,
#: demandsim.draws) and per simulated hour (calendar, rates, headcounts, intervals), in bytes.
#: Measured at most about 290 and 360 (the SimPy engine; the fast one less), as the growth of
#: peak memory from a short run to a long one (tests/test_input_property.py checks that a run
#: never needs more); the rest is margin for the allocator and pandas' copies.
BYTES_PER_ATTEMPT = 512
BYTES_PER_HOUR = 512
#: the fast engine allocates room in its event list for two events per person on duty
#: (72 bytes each), doubled when it grows: 288 bytes, rounded up as the others
BYTES_PER_STAFF = 512
DAYS_PER_YEAR = 365.25


def refuse_non_finite(node, key: str = "") -> None:
    """Refuse NaN and infinity anywhere in a config object, naming the full key.

    Example:
        >>> from demandsim.config.schema import Shift
        >>> refuse_non_finite([Shift(), Shift(staff=float("nan"))], "staffing.call_handlers.shifts")
        Traceback (most recent call last):
        ...
        demandsim.errors.ConfigError: staffing.call_handlers.shifts[1].staff=nan: must be a finite number
    """
    for name, value in walk(node, key):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(name, value, "must be a finite number")


def _run_window(run) -> tuple[float, float]:
    if isinstance(run.days, bool) or not (isinstance(run.days, (int, float)) and math.isfinite(run.days)
                                          and run.days > 0):
        raise ConfigError("run.days", run.days, "must be > 0")
    if isinstance(run.warmup_days, bool) or not (isinstance(run.warmup_days, (int, float))
                                                 and math.isfinite(run.warmup_days)
                                                 and 0 <= run.warmup_days < run.days):
        raise ConfigError("run.warmup_days", run.warmup_days, f"must be >= 0 and below run.days ({run.days:g})")
    whole_number(run.seed, "run.seed", 0)
    hours = run.days * 24
    limit = available_memory()
    if limit is not None and hours * BYTES_PER_HOUR > limit:  # before the calendar, which has an entry per hour
        raise ConfigError("run.days", run.days, f"{_count(hours)} simulated hours need about "
                          f"{readable_bytes(hours * BYTES_PER_HOUR)} of memory, more than the "
                          f"{readable_bytes(limit)} available")
    if not math.isfinite(hours * DAY):  # memory unknown: still a number of hours the calendar can count
        raise ConfigError("run.days", run.days, "too long to simulate")
    return run.days * DAY, run.warmup_days * DAY


def available_memory() -> int | None:
    """Bytes a run may use: the system's available memory (``MemAvailable``, else the free
    pages), capped by this process's cgroup limit if one is set; None if not known.

    Example:
        >>> available_memory() is None or available_memory() > 0
        True
    """
    found = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return None
    try:  # a container's limit (cgroup v2) can be far below the machine's memory
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit.isdigit():
            found = min(found, int(limit) - used)
    except (OSError, ValueError):
        pass
    return max(found, 0)


def readable_bytes(n: float) -> str:
    """An amount of memory as a person reads it.

    Example:
        >>> readable_bytes(3 * 2**20), readable_bytes(1.5 * 2**30)
        ('3 MiB', '1.5 GiB')
    """
    if not math.isfinite(n):
        return "an unbounded amount"
    return f"{_count(n / 2**30, 1)} GiB" if n >= 2**30 else f"{n / 2**20:,.0f} MiB"


def _count(n: float, decimals: int = 0) -> str:
    """A number as a person reads it: with thousands separators, or in powers of ten if huge."""
    if not math.isfinite(n):
        return "unbounded"
    return f"{n:,.{decimals}f}" if n < 1e12 else f"{n:.2e}"


def check_memory(cfg: Config, model: "ModelParts", limit: int | None = None) -> None:
    """Refuse a run whose draws and records would not fit in memory, before drawing them.

    The estimate is the expected call attempts (expected calls from the hourly rates,
    ``callers.redial.max_attempts`` rows per caller, 999 or 101: demandsim.draws) times
    :data:`BYTES_PER_ATTEMPT`, plus :data:`BYTES_PER_HOUR` per simulated hour and
    :data:`BYTES_PER_STAFF` per person on duty in the busiest hour; ``limit`` defaults to
    :func:`available_memory`. The key named is what to change: the roster if the run would
    fit without its people, the attempts if the calls alone would fit, else the run's length
    if a year of these calls would fit, else the busier line's volume (or its growth).
    """
    limit = available_memory() if limit is None else limit
    if limit is None:
        return
    n_999, n_101 = float(model.rate_999.sum()), float(model.rate_101.sum())
    hours_bytes = len(model.rate_999) * BYTES_PER_HOUR
    # as floats: a sum of huge headcounts is still compared, not wrapped round
    on_duty = np.sum([model.rostered[g].astype(np.float64) for g in STAFF_GROUPS], axis=0)
    staff_bytes = float(on_duty.max(initial=0.0)) * BYTES_PER_STAFF
    calls = n_999 + n_101
    rows = calls * model.max_attempts
    need = hours_bytes + rows * BYTES_PER_ATTEMPT + staff_bytes
    if need <= limit:
        return
    days = cfg.run.days
    if hours_bytes + rows * BYTES_PER_ATTEMPT <= limit:
        group = max(STAFF_GROUPS, key=lambda g: int(model.rostered[g].max(initial=0)))
        key = "staffing.digital_desk.roster" if group == "digital_desk" else f"staffing.{group}"
        value, change = f"{int(model.rostered[group].max(initial=0))} on duty", f"lower the headcount of {key}"
    elif hours_bytes + calls * BYTES_PER_ATTEMPT <= limit:
        key, value, change = "callers.redial.max_attempts", model.max_attempts, "lower callers.redial.max_attempts"
    elif (hours_bytes + calls * BYTES_PER_ATTEMPT) * min(1.0, DAYS_PER_YEAR / days) <= limit:
        key, value, change = "run.days", days, "shorten run.days"
    else:
        line_name = "line_999" if n_999 >= n_101 else "line_101"
        line = getattr(cfg.arrivals, line_name)
        # the growth if this line's calls at growth 1 would fit, else its yearly volume
        at_growth_1 = hours_bytes + (calls - max(n_999, n_101) * (1 - 1 / line.growth)) * BYTES_PER_ATTEMPT \
            if line.growth > 1 else math.inf
        name = "growth" if at_growth_1 <= limit else "per_year"
        key, value = f"arrivals.{line_name}.{name}", getattr(line, name)
        change = f"lower {key} or shorten run.days"
    attempts = f" (each caller up to {model.max_attempts} attempts)" if model.max_attempts > 1 else ""
    raise ConfigError(key, value, f"about {_count(calls)} calls expected in {days:g} days{attempts} "
                                  f"and {_count(on_duty.max(initial=0.0))} people on duty at the busiest hour "
                                  f"need about {readable_bytes(need)} of memory, more than the "
                                  f"{readable_bytes(limit)} available; {change}")


def _durations(node, key: str, names, base_dir) -> tuple:
    return tuple(Duration.from_config(getattr(node, n), f"{key}.{n}", base_dir) for n in names)


def _probability(value: float, key: str) -> float:
    if value is None or not math.isfinite(value) or not 0 <= value <= 1:
        raise ConfigError(key, value, "must be a probability in [0, 1]")
    return float(value)


def build_model(cfg: Config, base_dir: Path | None = None) -> ModelParts:
    """Validate ``cfg`` (a :class:`Config` object) and compile it; raises ConfigError."""
    refuse_non_finite(cfg)
    horizon, warmup = _run_window(cfg.run)
    calendar = Calendar.from_config(cfg.run.start_date, cfg.run.days)
    rate_999 = hourly_rates(cfg.arrivals.line_999, cfg.arrivals, calendar, "arrivals.line_999")
    rate_101 = hourly_rates(cfg.arrivals.line_101, cfg.arrivals, calendar, "arrivals.line_101")

    staffing = cfg.staffing
    paid = paid_by_hour_of_week(staffing)
    rostered = {group: paid[group][calendar.hour_of_week] for group in STAFF_GROUPS}
    abstraction, meal_break_min, break_from_hours = check_response(staffing.response)
    breaks = break_share_by_hour_of_week(staffing.units, meal_break_min, break_from_hours)
    units_expected = expected_available(paid["units"], breaks, abstraction)[calendar.hour_of_week]
    threshold = whole_number(staffing.digital_desk.queue_threshold, "staffing.digital_desk.queue_threshold", 1)

    route = cumulative_shares(asdict(cfg.triage.route), "triage.route")
    grading = Grading.from_config(cfg.grading)
    redial = cfg.callers.redial
    to_999 = _probability(redial.to_999, "callers.redial.to_999")
    to_101 = _probability(redial.to_101, "callers.redial.to_101")
    if to_999 + to_101 > 1 + 1e-9:
        raise ConfigError("callers.redial", f"to_999 {to_999:g} + to_101 {to_101:g}", "probabilities sum above 1")
    max_attempts = whole_number(redial.max_attempts, "callers.redial.max_attempts", 1)
    callback = cfg.callers.callback_999
    if cfg.callers.patience_after_transfer not in PATIENCE_AFTER_TRANSFER:
        raise ConfigError("callers.patience_after_transfer", cfg.callers.patience_after_transfer,
                          f"must be one of {', '.join(PATIENCE_AFTER_TRANSFER)}")

    review = policy_from_config(cfg.review)
    areas = areas_from_config(cfg.areas, cfg.dispatch.neighbour_after)
    patience = _durations(cfg.callers.patience, "callers.patience", ("line_999", "switchboard", "secondary"), base_dir)
    parts = ("question_set", "rest_of_call", "wrap_up")
    model = ModelParts(
        horizon_s=horizon,
        warmup_s=warmup,
        calendar=calendar,
        rate_999=rate_999,
        rate_101=rate_101,
        rostered=rostered,
        units_expected=units_expected,
        headcount=None,
        pooled_secondary=bool(staffing.pooled_secondary),
        digital_desk_threshold=threshold,
        patience_999=patience[0],
        patience_switchboard=patience[1],
        patience_secondary=patience[2],
        triage_time=Duration.from_config(cfg.triage.triage_time, "triage.triage_time", base_dir),
        route_cumulative=route,
        handling_999=_durations(cfg.handling.line_999, "handling.line_999", parts, base_dir),
        handling_secondary=_durations(cfg.handling.secondary, "handling.secondary", parts, base_dir),
        grading=grading,
        travel=tuple(Duration.from_config(getattr(cfg.dispatch, g).travel, f"dispatch.{g}.travel", base_dir)
                     for g in DEPLOYED_GRADES),
        on_scene=tuple(Duration.from_config(getattr(cfg.dispatch, g).on_scene, f"dispatch.{g}.on_scene", base_dir)
                       for g in DEPLOYED_GRADES),
        follow_up_share=tuple(_probability(getattr(cfg.dispatch, g).follow_up_share, f"dispatch.{g}.follow_up_share")
                              for g in DEPLOYED_GRADES),
        follow_up=tuple(Duration.from_config(getattr(cfg.dispatch, g).follow_up, f"dispatch.{g}.follow_up", base_dir)
                        for g in DEPLOYED_GRADES),
        redial_to_999=to_999,
        redial_to_101=to_101,
        redial_delay=Duration.from_config(redial.delay, "callers.redial.delay", base_dir),
        max_attempts=max_attempts,
        redial_999_to_999=_probability(cfg.callers.redial_999.to_999, "callers.redial_999.to_999"),
        redial_999_to_999_needing=_probability(
            cfg.callers.redial_999.to_999 if cfg.callers.redial_999.to_999_needing_attendance is None
            else cfg.callers.redial_999.to_999_needing_attendance, "callers.redial_999.to_999_needing_attendance"),
        redial_999_delay=Duration.from_config(cfg.callers.redial_999.delay, "callers.redial_999.delay", base_dir),
        callback_enabled=bool(callback.enabled),
        callback_delay=Duration.from_config(callback.delay, "callers.callback_999.delay", base_dir),
        callback_reach=_probability(callback.reach, "callers.callback_999.reach"),
        callback_unreached_time=Duration.from_config(callback.unreached_time, "callers.callback_999.unreached_time",
                                                     base_dir),
        patience_continues=cfg.callers.patience_after_transfer == "continue",
        divert_from=divert_code(cfg.dispatch.divert_from),
        review=review,
        review_enabled=review.enabled,
        review_times=tuple(Duration.from_config(getattr(cfg.review, f"{w}_time"), f"review.{w}_time", base_dir)
                           for w in WORK),
        areas=areas,
        area_cumulative=areas.demand_cumulative(),
    )
    _check_staff_for_demand(model)
    return model


def _check_staff_for_demand(m: ModelParts) -> None:
    """Refuse a run where some kind of work arrives but nobody is ever rostered for it."""
    has = {group: bool(m.rostered[group].any()) for group in STAFF_GROUPS}
    share = np.diff(np.concatenate([[0.0], m.route_cumulative]))
    demand_999 = m.rate_999.sum() > 0 or (m.rate_101.sum() > 0 and (share[ROUTE_TO_999] > 0 or m.redial_to_999 > 0))
    if demand_999 and not (has["call_handlers"] or has["digital_desk"]):
        raise ConfigError("staffing.call_handlers", "no staff in any hour", "999 calls arrive but nobody answers them")
    if m.rate_101.sum() > 0 and not has["switchboard"]:
        raise ConfigError("staffing.switchboard", "no staff in any hour", "101 calls arrive but nobody answers them")
    if m.rate_101.sum() > 0 and share[ROUTE_SECONDARY] > 0:
        group = "call_handlers" if m.pooled_secondary else "secondary_handlers"
        if not has[group]:
            raise ConfigError(f"staffing.{group}", "no staff in any hour",
                              "101 calls are forwarded to the secondary line but nobody answers it")
    deployed = m.grading.cumulative[:, len(DEPLOYED_GRADES) - 1] > 0  # per grading source
    has_101 = m.rate_101.sum() > 0
    incidents_for_units = (
        (m.rate_999.sum() > 0 and deployed[SOURCE_999])
        or (has_101 and deployed[SOURCE_FROM_101] and (share[ROUTE_TO_999] > 0 or m.redial_to_999 > 0))
        or (has_101 and deployed[SOURCE_SECONDARY] and share[ROUTE_SECONDARY] > 0)
    )
    if incidents_for_units and not has["units"]:
        raise ConfigError("staffing.units", "no units in any hour", "incidents are graded for attendance but no unit is rostered")


#: the ModelParts fields the random draws are made from (arrival_times and draw_calls read
#: no other; tests/test_model.py checks it): plans whose fields are equal here, with the same
#: seed, draw the same numbers. Staffing is not among them.
DRAW_INPUTS = ("horizon_s", "rate_999", "rate_101", "patience_999", "patience_switchboard", "patience_secondary",
               "triage_time", "route_cumulative", "handling_999", "handling_secondary", "grading", "travel",
               "on_scene", "follow_up_share", "follow_up", "redial_to_999", "redial_to_101", "redial_delay",
               "max_attempts", "redial_999_to_999", "redial_999_to_999_needing", "redial_999_delay",
               "callback_enabled", "callback_delay", "callback_unreached_time",
               "review_enabled", "review_times", "area_cumulative")

#: the last plan's draws, (key, arrivals_999, arrivals_101, draws), for a next plan that would
#: draw the same (build_plan's reuse_draws): a sweep's worker runs one replication (seed) at
#: several staffing points in a row, and drawing is more than half of a fast run. At most one
#: is kept, and dropped before new numbers are drawn or a plan without reuse is made.
_last_draws: list[tuple] = []


def with_headcount(model: ModelParts, seed: int) -> ModelParts:
    """``model`` with the engines' headcount for ``seed``: every group as rostered, units as available
    in each area (:func:`demandsim.model.areas.units_available_by_area`) and in all (their sum).

    The availability uniforms are not among the call draws (:data:`DRAW_INPUTS`), so
    staffing still changes no call's draws and a sweep's points share them.
    """
    by_area = units_available_by_area(model.units_expected, model.areas, seed)
    return replace(model, headcount={**model.rostered, "units": by_area.sum(axis=0)}, units_by_area=by_area)


def draws_key(model: ModelParts, seed: int) -> str:
    """What a plan's random draws depend on: the seed and the model's :data:`DRAW_INPUTS`, hashed."""
    inputs = (seed,) + tuple(getattr(model, name) for name in DRAW_INPUTS)
    return hashlib.sha256(pickle.dumps(inputs, protocol=5)).hexdigest()


def build_plan(cfg: Config, base_dir: Path | None = None, reuse_draws: bool = False) -> RunPlan:
    """Compile ``cfg`` and draw its arrivals for ``cfg.run.seed``.

    Without ``reuse_draws`` (a single run) the plan has no table of draws: the engines draw
    the callers' rows a block at a time as the run reaches them and let them go after
    (:class:`demandsim.draw_window.DrawWindow`), which keeps a year's run small. With it (a
    sweep's worker, the optimiser: several runs of one seed) the plan has the whole table,
    the previous plan's in this process when it would be the same (:func:`draws_key`; engines
    only read a plan's arrays), so it is drawn once for them all.
    """
    seed = int(cfg.run.seed)
    model = with_headcount(build_model(cfg, base_dir), seed)
    check_memory(cfg, model)  # reused draws too: the engine's records and event list are new
    if not reuse_draws:
        _last_draws.clear()
        return RunPlan(model, seed, *_arrivals(model, seed))
    key = draws_key(model, seed)
    if _last_draws and _last_draws[0][0] == key:
        _, arrivals_999, arrivals_101, draws = _last_draws[0]
        return RunPlan(model, seed, arrivals_999, arrivals_101, draws)
    _last_draws.clear()
    arrivals_999, arrivals_101 = _arrivals(model, seed)
    draws = draw_calls(model, len(arrivals_999), len(arrivals_101), seed)
    _last_draws.append((key, arrivals_999, arrivals_101, draws))
    return RunPlan(model, seed, arrivals_999, arrivals_101, draws)


def _arrivals(model: ModelParts, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The 999 and 101 arrival times before the horizon, seconds."""
    arrivals_999 = arrival_times(model.rate_999, stream(seed, "arrivals", LINE_999))
    arrivals_101 = arrival_times(model.rate_101, stream(seed, "arrivals", LINE_101))
    return arrivals_999[arrivals_999 < model.horizon_s], arrivals_101[arrivals_101 < model.horizon_s]
