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
import pickle
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from demandsim.config.schema import DEPLOYED_GRADES, Config
from demandsim.draws import LINE_101, LINE_999, CallDraws, draw_calls, stream
from demandsim.errors import ConfigError
from demandsim.model.arrivals import arrival_times, hourly_rates
from demandsim.model.calendar import DAY, Calendar
from demandsim.model.distributions import Duration
from demandsim.model.grading import SOURCE_999, SOURCE_FROM_101, SOURCE_SECONDARY, Grading
from demandsim.model.response import break_share_by_hour_of_week, check_response, expected_available, units_available
from demandsim.model.shares import cumulative_shares, pick
from demandsim.model.staffing import paid_by_hour_of_week

#: switchboard routes, in the order of triage.route
ROUTES = ("to_999", "secondary", "closed")
ROUTE_TO_999, ROUTE_SECONDARY, ROUTE_CLOSED = range(3)
STAFF_GROUPS = ("call_handlers", "secondary_handlers", "digital_desk", "switchboard", "units")


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
    redial_to_999: float
    redial_to_101: float
    redial_delay: Duration
    max_attempts: int

    def route_code(self, u: np.ndarray) -> np.ndarray:
        """Switchboard route per call (see :data:`ROUTES`) from its uniform."""
        return pick(self.route_cumulative, u).astype(np.int8)


@dataclass
class RunPlan:
    """A model plus one seed's draws: the complete input of an engine."""

    model: ModelParts
    seed: int
    arrivals_999: np.ndarray  # seconds, increasing
    arrivals_101: np.ndarray
    draws: CallDraws


def _run_window(run) -> tuple[float, float]:
    if not (isinstance(run.days, (int, float)) and math.isfinite(run.days) and run.days > 0):
        raise ConfigError("run.days", run.days, "must be > 0")
    if not (math.isfinite(run.warmup_days) and 0 <= run.warmup_days < run.days):
        raise ConfigError("run.warmup_days", run.warmup_days, f"must be >= 0 and below run.days ({run.days:g})")
    if run.seed < 0:
        raise ConfigError("run.seed", run.seed, "must be >= 0")
    return run.days * DAY, run.warmup_days * DAY


def _durations(node, key: str, names, base_dir) -> tuple:
    return tuple(Duration.from_config(getattr(node, n), f"{key}.{n}", base_dir) for n in names)


def _probability(value: float, key: str) -> float:
    if value is None or not math.isfinite(value) or not 0 <= value <= 1:
        raise ConfigError(key, value, "must be a probability in [0, 1]")
    return float(value)


def build_model(cfg: Config, base_dir: Path | None = None) -> ModelParts:
    """Validate ``cfg`` (a :class:`Config` object) and compile it; raises ConfigError."""
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
    if staffing.digital_desk.queue_threshold < 1:
        raise ConfigError("staffing.digital_desk.queue_threshold", staffing.digital_desk.queue_threshold, "must be >= 1")

    route = cumulative_shares(asdict(cfg.triage.route), "triage.route")
    grading = Grading.from_config(cfg.grading)
    redial = cfg.callers.redial
    to_999 = _probability(redial.to_999, "callers.redial.to_999")
    to_101 = _probability(redial.to_101, "callers.redial.to_101")
    if to_999 + to_101 > 1 + 1e-9:
        raise ConfigError("callers.redial", f"to_999 {to_999:g} + to_101 {to_101:g}", "probabilities sum above 1")
    if redial.max_attempts < 1:
        raise ConfigError("callers.redial.max_attempts", redial.max_attempts, "must be >= 1")

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
        digital_desk_threshold=int(staffing.digital_desk.queue_threshold),
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
        redial_to_999=to_999,
        redial_to_101=to_101,
        redial_delay=Duration.from_config(redial.delay, "callers.redial.delay", base_dir),
        max_attempts=int(redial.max_attempts),
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
               "on_scene", "redial_to_999", "redial_to_101", "redial_delay", "max_attempts")

#: the last plan's draws, (key, arrivals_999, arrivals_101, draws), for a next plan that would
#: draw the same: a sweep's worker runs one replication (seed) at several staffing points in a
#: row, and drawing is a fifth of a fast run. At most one is kept, and dropped before new
#: numbers are drawn, so a run's peak memory does not grow.
_last_draws: list[tuple] = []


def with_headcount(model: ModelParts, seed: int) -> ModelParts:
    """``model`` with the engines' headcount for ``seed``: every group as rostered, units as available.

    The availability uniforms are not among the call draws (:data:`DRAW_INPUTS`), so
    staffing still changes no call's draws and a sweep's points share them.
    """
    return replace(model, headcount={**model.rostered, "units": units_available(model.units_expected, seed)})


def draws_key(model: ModelParts, seed: int) -> str:
    """What a plan's random draws depend on: the seed and the model's :data:`DRAW_INPUTS`, hashed."""
    inputs = (seed,) + tuple(getattr(model, name) for name in DRAW_INPUTS)
    return hashlib.sha256(pickle.dumps(inputs, protocol=5)).hexdigest()


def build_plan(cfg: Config, base_dir: Path | None = None, reuse_draws: bool = True) -> RunPlan:
    """Compile ``cfg`` and draw its random numbers for ``cfg.run.seed``.

    The draws of the previous plan in this process are reused when they would be the same
    (:func:`draws_key`; engines only read a plan's arrays), unless ``reuse_draws`` is False
    (the benchmarks time the drawing of every run).
    """
    seed = int(cfg.run.seed)
    model = with_headcount(build_model(cfg, base_dir), seed)
    key = draws_key(model, seed)
    if reuse_draws and _last_draws and _last_draws[0][0] == key:
        _, arrivals_999, arrivals_101, draws = _last_draws[0]
        return RunPlan(model, seed, arrivals_999, arrivals_101, draws)
    _last_draws.clear()
    arrivals_999 = arrival_times(model.rate_999, stream(seed, "arrivals", LINE_999))
    arrivals_101 = arrival_times(model.rate_101, stream(seed, "arrivals", LINE_101))
    arrivals_999 = arrivals_999[arrivals_999 < model.horizon_s]
    arrivals_101 = arrivals_101[arrivals_101 < model.horizon_s]
    draws = draw_calls(model, len(arrivals_999), len(arrivals_101), seed)
    _last_draws.append((key, arrivals_999, arrivals_101, draws))
    return RunPlan(model, seed, arrivals_999, arrivals_101, draws)
