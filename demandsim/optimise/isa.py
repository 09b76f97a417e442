"""Time-stable staffing: the Iterative Staffing Algorithm, beside the per-interval Erlang staffing.

**Per-interval (stationary) staffing** (:func:`per_interval_erlang`) is what spreadsheet and
workforce tools compute: each hour of the week alone, as if it lasted for ever at its own arrival
rate, the least staff that the Erlang A formula (:func:`demandsim.theory.erlang_a_metrics`;
Erlang C without patience) says meets every goal. When demand changes faster than calls end
(long handling, a sharp morning rise) it is wrong in a known way: the people in the system lag
the arrival rate, so the hours after a ramp are short-staffed and the hours after a fall
over-staffed.

**The Iterative Staffing Algorithm** (:func:`isa`; Feldman, Mandelbaum, Massey & Whitt, "Staffing
of time-varying queues to achieve time-stable performance", Management Science 54(2):324-338,
2008) staffs from the simulated system itself. Starting from the offered load, it repeats:

1. simulate with the current staffing s_n (replications 0..R-1, the same seeds every
   iteration: common random numbers, :mod:`demandsim.optimise.evaluate`);
2. estimate, for each hour of the week, the distribution of N, the number of the group's
   callers in the system (waiting + being served), from the records, sampled every minute of
   the measured period;
3. set s_{n+1}(h) to the least s with P(N >= s) <= ``delay_probability`` in hour h;

and stops when no hour changes, or after ``max_iterations`` (:attr:`IsaResult.converged` says
which). With finitely many replications the estimated distributions are noisy, and the staffing
can alternate between two (an hour moving by one back and forth): when a staffing repeats an
earlier one the iteration stops too and takes, per hour, the most staff over the cycle
(:attr:`IsaResult.cycled`), on the safe side.

In the paper N is sampled at fine time points and s set per point; here staffing is per
hour, so step 3 uses **the hour's pooled distribution** (every minute of that hour of the week,
over all weeks and replications), not its worst minute. The arrival rate is constant within an
hour (demandsim.model.arrivals), so by PASTA the pooled P(N >= s) is the share of the hour's
arrivals that find all s servers busy: the hour's delay probability, which is what the goal is
about. With s at least that, every hour's delay probability is at most the target, whatever
the ramp: time-stable performance.

What "in the system" means per group (read from the records and the run's draws, since the
records keep the end of talk but not the wrap-up):

- ``call_handlers``: every call on the 999 line (from the public, switchboard transfers,
  call-backs) from its offer until it leaves the line: a hang-up or cancelled call-back at its
  ``t_end``; a call a call handler answered at ``t_answer`` + question set + rest of call +
  wrap-up (the draws at its ``draw_row``, as demandsim.export.handle_999_from_draws reads them:
  the handler is busy until the wrap-up ends); an unreached call-back at ``t_answer`` + its
  unreached time; a call the digital desk answered at ``t_answer`` (it is the desk's work then).
  With ``staffing.pooled_secondary`` the secondary-line calls a call handler answered count from
  that answer to the end of their wrap-up; their time waiting does not (they wait for a handler
  with no 999 call, not for a place in the 999 queue). THRIVE review calls (victim updates,
  phone resolutions, bookings) are not in the tables and are left out: with ``review.enabled``
  the staffing found is short by their load;
- ``switchboard``: every 101 call (first calls and redials) from its offer until it hangs up or
  its triage ends (``t_answer`` + its triage draw);
- ``secondary_handlers`` (only with ``staffing.pooled_secondary`` false): every call forwarded
  to the secondary line from ``t_secondary_offer`` until it hangs up or its wrap-up ends;
- ``units``: every incident of a deployed grade from ready to dispatch until its unit is free
  (``t_clear``), or until a review resolved it by phone; one still open at the end stays in.
  Units only where the units available are the units rostered (no abstraction, no meal
  breaks): otherwise the numbers found would be available units, not a roster, and
  :class:`NotImplementedError` says so.

Calls (incidents) still in the system at the end of the run stay in it to the end.

Example:
    >>> from demandsim.config import load_config
    >>> cfg = load_config(["scenario=validation/erlang_a", "validation.mean_patience_min=null"])
    >>> staff = per_interval_erlang(cfg, "call_handlers", {"sl_999_10s": 0.8})
    >>> int(staff[0]), bool((staff == staff[0]).all())   # 7 calls a minute of 4 minutes: Erlang C
    (34, True)
"""

from __future__ import annotations

import functools

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from demandsim.config.schema import DEPLOYED_GRADES, Config
from demandsim.errors import ConfigError
from demandsim.kpis import _is, resolved_by_phone
from demandsim.model.calendar import HOUR
from demandsim.model.plan import ModelParts, RunPlan, build_model
from demandsim.model.switchboard import ROUTE_SECONDARY
from demandsim.optimise.evaluate import GROUPS, HOURS_PER_WEEK, check_goal, evaluate
from demandsim.records import RunRecords
from demandsim.theory import erlang_a_metrics, mmc_priority_waits

#: the goal key for the ISA's own criterion: P(an arrival waits) at most this (not a KPI)
DELAY_PROBABILITY = "delay_probability"
#: the number in the system is sampled this often, seconds (Feldman et al. sample at fine time points)
SAMPLE_EVERY_S = 60.0
#: the goals each group's per-interval formula can judge (the 999 goals on the 999 line, ...)
_GOALS_OF = {
    "call_handlers": ("sl_999_10s", "abandon_rate_999", "asa_999_s", DELAY_PROBABILITY),
    "switchboard": ("abandon_rate_101", DELAY_PROBABILITY),
    "secondary_handlers": ("abandon_rate_101", DELAY_PROBABILITY),
    "units": tuple(f"dispatch_wait_mean_min_{g}" for g in DEPLOYED_GRADES) + (DELAY_PROBABILITY,),
}
ANSWER_WITHIN_MIN = 10.0 / 60.0


# ----------------------------------------------------------------- demand per hour of the week
def _model(cfg: Config) -> ModelParts:
    return build_model(cfg, base_dir=Path(cfg.paths.data_dir))


def by_hour_of_week(model: ModelParts, per_hour: np.ndarray) -> np.ndarray:
    """Mean of a per-simulated-hour array over the measured hours (after warm-up), by hour of the
    week: the run's weeks and its months' factors (arrivals.month_factors) averaged, each hour
    weighted alike. An hour of the week the measured period does not reach gets the mean over
    every hour of the run."""
    hours = len(model.calendar.hour_of_week)
    how = model.calendar.hour_of_week
    measured = np.arange(hours) * HOUR >= model.warmup_s
    total = np.bincount(how[measured], weights=per_hour[:hours][measured], minlength=HOURS_PER_WEEK)
    count = np.bincount(how[measured], minlength=HOURS_PER_WEEK)
    if (count == 0).any():
        total_all = np.bincount(how, weights=per_hour[:hours], minlength=HOURS_PER_WEEK)
        count_all = np.bincount(how, minlength=HOURS_PER_WEEK)
        total, count = np.where(count > 0, total, total_all), np.where(count > 0, count, count_all)
    return total / np.maximum(count, 1)


@dataclass(frozen=True)
class LineDemand:
    """A group's stationary queue per hour of the week: arrivals per minute (168), mean handle
    and mean patience in minutes (patience None: nobody hangs up, Erlang C)."""

    rate_per_min: np.ndarray
    handle_min: float
    patience_min: float | None


def line_demand(cfg: Config, group: str) -> LineDemand:
    """The demand of a phone group per hour of the week, as the per-interval formula sees it.

    - ``call_handlers``: the 999 line's first calls (arrivals.line_999 as
      demandsim.model.arrivals computes the rate per hour, averaged by hour of the week over the
      measured period: :func:`by_hour_of_week`); redials, switchboard transfers and call-backs
      are not in it; handling = question set + rest of call + wrap-up means; patience: the
      mean of callers.patience.line_999;
    - ``switchboard``: the 101 line's first calls; the triage time; the switchboard patience;
    - ``secondary_handlers``: the 101 first calls times the share routed to the secondary line
      (callers who hang up at the switchboard are not taken off); secondary handling; secondary
      patience.

    Only the mean patience enters the formula (Erlang A's patience is exponential).
    """
    model = _model(cfg)
    if group == "call_handlers":
        rate, handling, patience = model.rate_999, model.handling_999, model.patience_999
    elif group == "switchboard":
        rate, handling, patience = model.rate_101, (model.triage_time,), model.patience_switchboard
    elif group == "secondary_handlers":
        share = float(np.diff(np.concatenate([[0.0], model.route_cumulative]))[ROUTE_SECONDARY])
        rate, handling, patience = model.rate_101 * share, model.handling_secondary, model.patience_secondary
    else:
        raise ConfigError("optimise.group", group, "not a phone group (call_handlers, switchboard, secondary_handlers)")
    mean_patience = patience.mean
    return LineDemand(by_hour_of_week(model, rate) / 60.0, float(sum(d.mean for d in handling)),
                      None if math.isinf(mean_patience) else float(mean_patience))


# ----------------------------------------------------------------- the stationary formulas
@lru_cache(maxsize=100_000)
def _erlang(servers: int, rate: float, handle: float, patience: float | None):
    return erlang_a_metrics(servers, rate, handle, patience, ANSWER_WITHIN_MIN)


def _line_meets(servers: int, rate: float, handle: float, patience: float | None, goals: dict) -> bool:
    """Whether ``servers`` meet every goal at these stationary rates (minutes)."""
    if patience is None and rate * handle >= servers:
        return False  # Erlang C: unstable
    m = _erlang(servers, rate, handle, patience)
    for name, goal in goals.items():
        value = {"sl_999_10s": m.service_level, "abandon_rate_999": m.p_abandon, "abandon_rate_101": m.p_abandon,
                 "asa_999_s": m.asa * 60.0, DELAY_PROBABILITY: m.p_wait}[name]
        if (value < goal) if name == "sl_999_10s" else (value > goal):
            return False
    return True


def least_servers(meets: Callable[[int], bool], start: int = 1, key: str = "optimise.goal",
                  limit: int = 1_000_000) -> int:
    """The least c >= ``start`` with ``meets(c)``, for ``meets`` false then true as c grows
    (doubling, then bisection); a ConfigError naming ``key`` if none up to ``limit`` does.

    >>> least_servers(lambda c: c * c >= 50)
    8
    """
    low, high = start - 1, max(start, 1)
    while not meets(high):
        low, high = high, 2 * high
        if high > limit:
            raise ConfigError(key, "unreachable", f"no staffing up to {limit:,} meets it")
    while high - low > 1:  # meets(high), not meets(low) (or low below start)
        mid = (low + high) // 2
        if meets(mid):
            high = mid
        else:
            low = mid
    return high


def check_goals(group: str, goals: dict) -> dict:
    """``goals`` checked for ``group``: known KPIs the group's formula can judge, values in range."""
    if group not in GROUPS:
        raise ConfigError("optimise.group", group, f"not a staff group the optimiser staffs; use one of "
                                                   f"{', '.join(GROUPS)}")
    if not goals:
        raise ConfigError("optimise.goal", "{}", "name at least one goal, e.g. optimise.goal.sl_999_10s=0.9")
    out = {}
    for name, value in goals.items():
        if name == DELAY_PROBABILITY:
            out[name] = check_delay_probability(value)
            continue
        value = check_goal(name, value)
        if name not in _GOALS_OF[group]:
            raise ConfigError(f"optimise.goal.{name}", value, f"the per-interval formula of {group} cannot judge it; "
                                                              f"it judges {', '.join(_GOALS_OF[group])}")
        out[name] = value
    return out


def check_delay_probability(value, key: str = "optimise.delay_probability") -> float:
    """A delay probability strictly between 0 and 1, or a one-line ConfigError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(key, value, "must be a probability strictly between 0 and 1")
    return float(value)


def per_interval_erlang(cfg: Config, group: str, goals: dict) -> np.ndarray:
    """168 headcounts: each hour of the week alone, the least staff the stationary formula says
    meets every goal (the per-interval staffing of spreadsheet and workforce tools).

    Phone groups (:func:`line_demand`): Erlang A with the hour's arrival rate, the mean handle
    and the mean patience (Erlang C with no patience). Goals: ``sl_999_10s``,
    ``abandon_rate_999``, ``asa_999_s`` for call handlers; ``abandon_rate_101`` for the
    switchboard and the secondary line (each judged on its own queue's abandonment, the other
    stage not counted); and for any group ``delay_probability``: P(an arrival waits) at most
    this, the ISA's criterion. An hour with no demand gets 0.

    ``units``: M/M/c with non-preemptive priority (:func:`demandsim.theory.mmc_priority_waits`)
    per hour: incidents per grade from the 999 line's first calls and its grade mix (101 calls
    are left out), one mean job time for all (travel + on scene + follow-up, the means weighted
    by each grade's incidents; the formula needs one exponential time); goals on
    ``dispatch_wait_mean_min_<grade>`` (and ``delay_probability``: Erlang C). The result is
    units *available*, before abstraction and meal breaks. Attendance goals have no such
    formula: a ConfigError says so.
    """
    goals = check_goals(group, goals)
    if group == "units":
        return _per_interval_units(cfg, goals)
    demand = line_demand(cfg, group)
    out = np.zeros(HOURS_PER_WEEK, dtype=np.int64)
    for h, rate in enumerate(demand.rate_per_min):
        if rate > 0:
            start = int(math.floor(rate * demand.handle_min)) + 1 if demand.patience_min is None else 1
            out[h] = least_servers(lambda c: _line_meets(c, float(rate), demand.handle_min, demand.patience_min, goals),
                                   start)
    return out


def _per_interval_units(cfg: Config, goals: dict) -> np.ndarray:
    model = _model(cfg)
    shares = np.diff(np.concatenate([[0.0], model.grading.cumulative[0]]))[: len(DEPLOYED_GRADES)]
    per_grade = by_hour_of_week(model, model.rate_999)[None, :] * shares[:, None] / 60.0  # per minute
    job = np.array([model.travel[g].mean + model.on_scene[g].mean + model.follow_up_share[g]
                    * (model.follow_up[g].mean if model.follow_up_share[g] > 0 else 0.0)
                    for g in range(len(DEPLOYED_GRADES))])
    out = np.zeros(HOURS_PER_WEEK, dtype=np.int64)
    for h in range(HOURS_PER_WEEK):
        rates = per_grade[:, h]
        total = float(rates.sum())
        if total <= 0:
            continue
        mean_job = float(rates @ job / total)

        def meets(c: int) -> bool:
            if total * mean_job >= c:
                return False
            waits = mmc_priority_waits(c, [float(x) for x in rates], mean_job)
            for name, goal in goals.items():
                if name == DELAY_PROBABILITY:
                    from demandsim.theory import erlang_c

                    if erlang_c(c, total * mean_job) > goal:
                        return False
                elif waits[DEPLOYED_GRADES.index(name.rsplit("_", 1)[1])] > goal:
                    return False
            return True

        out[h] = least_servers(meets, int(math.floor(total * mean_job)) + 1)
    return out


# ----------------------------------------------------------------- the number in the system
def in_system(group: str, plan: RunPlan, records: RunRecords) -> tuple[np.ndarray, np.ndarray]:
    """When each of the group's callers (incidents) entered and left its system, seconds (left:
    inf while still in it at the end). What counts is in the module docstring."""
    d = plan.draws
    calls = records.calls
    if group == "units":
        inc = records.incidents
        rows = _is(inc["grade"], *DEPLOYED_GRADES)
        leave = inc["t_clear"].to_numpy().copy()
        phone = resolved_by_phone(inc)
        leave[phone] = inc["t_review_last"].to_numpy(dtype=np.float64)[phone]
        return inc["t_ready"].to_numpy()[rows], np.where(np.isnan(leave), np.inf, leave)[rows]
    row = calls["draw_row"].to_numpy()
    t_answer = calls["t_answer"].to_numpy()
    t_end = calls["t_end"].to_numpy()
    outcome, answered_by = calls["outcome"], calls["answered_by"]
    if group == "call_handlers":
        line = _is(calls["line"], "999")
        leave = np.full(len(calls), np.inf)
        gone = _is(outcome, "abandoned", "callback_cancelled")
        leave[gone] = t_end[gone]
        by_handler = _is(outcome, "answered") & _is(answered_by, "call_handler")
        leave[by_handler] = t_answer[by_handler] + (d.question_999[row] + d.rest_999[row] + d.wrap_999[row])[by_handler]
        desk = _is(outcome, "answered") & _is(answered_by, "digital_desk")
        leave[desk] = t_answer[desk]
        unreached = _is(outcome, "callback_unreached")
        leave[unreached] = t_answer[unreached] + d.unreached_time[row][unreached]
        enter, leave = calls["t_offer"].to_numpy()[line], leave[line]
        if plan.model.pooled_secondary:
            pooled = _is(calls["secondary_answered_by"], "call_handler")
            start = calls["t_secondary_answer"].to_numpy()[pooled]
            talk = (d.question_secondary[row] + d.rest_secondary[row] + d.wrap_secondary[row])[pooled]
            enter, leave = np.concatenate([enter, start]), np.concatenate([leave, start + talk])
        return enter, leave
    if group == "switchboard":
        line = _is(calls["line"], "101")
        leave = np.full(len(calls), np.inf)
        gone = _is(outcome, "abandoned_switchboard")
        leave[gone] = t_end[gone]
        triaged = ~np.isnan(t_answer) & line
        leave[triaged] = t_answer[triaged] + d.triage[row][triaged]
        return calls["t_offer"].to_numpy()[line], leave[line]
    if group == "secondary_handlers":
        offered = calls["t_secondary_offer"].to_numpy()
        rows = ~np.isnan(offered)
        leave = np.full(len(calls), np.inf)
        gone = _is(outcome, "abandoned_secondary")
        leave[gone] = t_end[gone]
        answered = ~np.isnan(calls["t_secondary_answer"].to_numpy())
        talk = d.question_secondary[row] + d.rest_secondary[row] + d.wrap_secondary[row]
        leave[answered] = calls["t_secondary_answer"].to_numpy()[answered] + talk[answered]
        return offered[rows], leave[rows]
    raise ConfigError("optimise.group", group, f"use one of {', '.join(GROUPS)}")


def number_in_system_counts(group: str, plan: RunPlan, records: RunRecords,
                            every_s: float = SAMPLE_EVERY_S) -> np.ndarray:
    """Counts of N, the number in the group's system, sampled every ``every_s`` seconds of the
    measured period (at the middle of each step): row h, column n = how many samples in hour of
    the week h found n."""
    model = plan.model
    enter, leave = in_system(group, plan, records)
    t = np.arange(model.warmup_s + every_s / 2, model.horizon_s, every_s)
    n = np.searchsorted(np.sort(enter), t, side="right") - np.searchsorted(np.sort(leave), t, side="right")
    how = model.calendar.hour_of_week[(t // HOUR).astype(np.int64)]
    width = int(n.max(initial=0)) + 1
    return np.bincount(how * width + n, minlength=HOURS_PER_WEEK * width).reshape(HOURS_PER_WEEK, width)


def staffing_for_delay(counts: np.ndarray, delay_probability: float) -> np.ndarray:
    """Per hour of the week, the least s with P(N >= s) <= ``delay_probability`` in that hour's pooled
    distribution (``counts``: hours x n). At least 1 (P(N >= 0) is 1); an hour never sampled gets 0.

    >>> counts = np.zeros((168, 4), dtype=np.int64)
    >>> counts[0] = [50, 30, 15, 5]      # P(N >= 1) = 0.5, P(N >= 2) = 0.2, P(N >= 3) = 0.05
    >>> staffing_for_delay(counts, 0.1)[:2].tolist()
    [3, 0]
    """
    total = counts.sum(axis=1)
    at_least = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]  # column s: samples with N >= s
    tail = at_least / np.maximum(total, 1)[:, None]
    return np.where(total > 0, (tail > delay_probability + 1e-12).sum(axis=1), 0).astype(np.int64)


def offered_load(cfg: Config, group: str) -> np.ndarray:
    """The infinite-server mean m(t) per hour of the week (the time-varying offered load, Feldman et
    al. section 2): m' = lambda(t) - m / E[S] on a one-minute grid around the week until it
    repeats, averaged over each hour. Exact for exponential handling, the usual approximation
    otherwise; nobody hangs up in it. Phone groups only (units: the per-interval load)."""
    demand = line_demand(cfg, group)
    lam = np.repeat(demand.rate_per_min, 60)  # per minute of the week
    m = np.full(lam.size, float(demand.rate_per_min.mean() * demand.handle_min))
    decay = math.exp(-1.0 / demand.handle_min)
    level = m[-1]
    for _ in range(max(3, int(20 * demand.handle_min / lam.size) + 3)):  # around the week until it settles
        for i in range(lam.size):
            level = level * decay + lam[i] * demand.handle_min * (1 - decay)
            m[i] = level
    return m.reshape(HOURS_PER_WEEK, 60).mean(axis=1)


def initial_staffing(cfg: Config, group: str, delay_probability: float) -> np.ndarray:
    """The ISA's start: the offered load m(t) plus square-root safety staffing,
    ceil(m + z sqrt(m)) with z the normal quantile of 1 - ``delay_probability`` (at least 1 where
    there is demand). Units: the per-interval Erlang C staffing for the delay probability."""
    if group == "units":
        return per_interval_erlang(cfg, group, {DELAY_PROBABILITY: delay_probability})
    from scipy.special import ndtri

    m = offered_load(cfg, group)
    z = max(float(ndtri(1.0 - delay_probability)), 0.0)
    return np.where(m > 0, np.maximum(np.ceil(m + z * np.sqrt(m)), 1), 0).astype(np.int64)


@dataclass
class IsaResult:
    """What :func:`isa` found: ``staff`` (168), ``iterations`` made, simulation ``runs``, whether it
    ``converged`` (no hour changed in the last iteration; False: stopped at max_iterations), and
    ``history``: the staffing of every iteration, the start first. Unpacks as
    ``staff, iterations, runs = isa(...)``."""

    staff: np.ndarray
    iterations: int
    runs: int
    converged: bool
    history: list = field(default_factory=list)
    #: the staffings came back to an earlier one (a cycle; sampling noise moves some hours back and
    #: forth by one): ``staff`` is then each hour's most over the cycle and ``converged`` False
    cycled: bool = False

    def __iter__(self):
        return iter((self.staff, self.iterations, self.runs))


def isa(cfg: Config, group: str, delay_probability: float, replications: int, max_iterations: int = 10,
        progress: Callable[[int, int, np.ndarray], None] | None = None,
        start: np.ndarray | None = None, n_jobs: int = 1, ray_address: str | None = None) -> IsaResult:
    """The Iterative Staffing Algorithm (module docstring): staffing per hour of the week that keeps
    each hour's delay probability at most ``delay_probability``.

    ``start``: the first staffing (default :func:`initial_staffing`). Each iteration runs
    ``replications`` replications (seeds ``run.seed + 0..R-1``, the same every iteration).
    ``progress(iteration, runs so far, staffing)`` is called after each iteration; ``n_jobs``:
    worker processes for the replications (:func:`demandsim.optimise.evaluate.evaluate`).
    """
    delay_probability = check_delay_probability(delay_probability)
    if group not in GROUPS:
        raise ConfigError("optimise.group", group, f"use one of {', '.join(GROUPS)}")
    if group == "secondary_handlers" and cfg.staffing.pooled_secondary:
        raise ConfigError("staffing.pooled_secondary", True, "call handlers answer the secondary line: "
                                                             "optimise call_handlers, or set it false")
    if group == "units":
        response = cfg.staffing.response
        if response.abstraction or response.meal_break_min:
            raise NotImplementedError("ISA for units finds units available; with staffing.response.abstraction or "
                                      "meal_break_min the roster differs from them and is not derived yet")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 1:
        raise ConfigError("optimise.max_iterations", max_iterations, "must be >= 1")
    staff = initial_staffing(cfg, group, delay_probability) if start is None else np.asarray(start, dtype=np.int64)
    history, runs = [staff.copy()], 0
    for iteration in range(1, max_iterations + 1):
        found = evaluate(cfg, {group: staff}, [], replications,
                         collect=functools.partial(number_in_system_counts, group), n_jobs=n_jobs,
                         ray_address=ray_address)
        counts = found.collected
        runs += found.runs
        width = max(c.shape[1] for c in counts)
        pooled = sum(np.pad(c, ((0, 0), (0, width - c.shape[1]))) for c in counts)
        following = staffing_for_delay(pooled, delay_probability)
        changed = not np.array_equal(following, staff)
        seen = [k for k, before in enumerate(history[:-1]) if np.array_equal(before, following)]
        staff = following
        history.append(staff.copy())
        if progress is not None:
            progress(iteration, runs, staff)
        if not changed:
            return IsaResult(staff, iteration, runs, True, history)
        if seen:  # a cycle: sampling noise moves some hours back and forth; take each hour's most over it
            cycle = np.max(history[seen[0]:], axis=0)
            return IsaResult(cycle, iteration, runs, False, history, cycled=True)
    return IsaResult(staff, max_iterations, runs, False, history)
