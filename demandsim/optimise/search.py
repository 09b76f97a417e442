"""The search: from a time-stable start to the least staff that still meets every goal.

Every staffing tried is simulated with the same replications' seeds (common random
numbers), so a difference between two staffings is theirs, not the dice's.

``every_hour`` (:func:`every_hour`): starting from the Iterative Staffing Algorithm's
staffing (demandsim.optimise.isa), round after round: where a goal is missed in an hour of
the week, that hour gets one more person; once every hour meets every goal, one person is
taken off every hour not yet tried, and an hour where that breaks a goal gets its person
back and is not tried again. The answer is the last staffing that met every goal in every
hour. Hours are judged one by one (each with its own confidence bound), not jointly: with
168 hours at 95% each, some hour is likely to be wrong by chance; docs/optimise.md says so.

``overall`` (:func:`overall`): from the every-hour answer, people are taken off the hours
with the most room (the goal's margin there) in batches, halving the batch when the goals
over the whole period would break, until not even one more can go. It never uses more
staff-hours than ``every_hour``.

Example:
    >>> fails = failing_hours({"sl_999_10s": 0.9}, {"sl_999_10s": np.array([0.95, 0.85, np.nan])},
    ...                       {"sl_999_10s": np.array([0.99, 0.95, np.nan])})
    >>> fails.tolist()
    [False, True, False]
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from demandsim.errors import ConfigError
from demandsim.optimise.settings import GOAL_GROUPS, Settings, at_least, bound, meets

HOURS = 168
#: an hour whose staff passes start + max(this, start) without meeting its goals cannot meet them
HEADROOM = 10


def failing_hours(goals: dict, low: dict, high: dict) -> np.ndarray:
    """Hours where some goal's one-sided bound is on the wrong side (hours with no data: not failing)."""
    fails = np.zeros(len(next(iter(low.values()))), dtype=bool)
    for kpi, goal in goals.items():
        b = np.asarray(bound(kpi, {"ci_low": low[kpi], "ci_high": high[kpi]}), dtype=float)
        fails |= np.isfinite(b) & ~meets(kpi, b, goal)
    return fails


def overall_met(goals: dict, ev) -> bool:
    """Whether every goal holds over the whole period (its one-sided bound)."""
    return all(bool(meets(kpi, bound(kpi, ev.overall[kpi]), goal)) for kpi, goal in goals.items())


@dataclass
class Search:
    """A search's state: the staffing evaluated, counts, the best staffing that met the goals."""

    settings: Settings
    evaluate: object  # staff dict -> Evaluation (the same seeds every time)
    progress: object = None
    iterations: int = 0
    runs: int = 0
    started: float = field(default_factory=time.perf_counter)
    best: dict | None = None
    best_ev: object = None

    def run(self, staff: dict):
        ev = self.evaluate(staff)
        self.iterations += 1
        self.runs += ev.runs
        return ev

    def say(self, what: str, staff: dict) -> None:
        hours = staff_hours(staff)
        best = f", best meeting every goal {staff_hours(self.best):,}" if self.best else ""
        text = (f"optimise: iteration {self.iterations}, {self.runs} runs, {time.perf_counter() - self.started:.0f} s: "
                f"{what}, {hours:,} staff-hours a week{best}")
        (self.progress or (lambda t: print(t, file=sys.stderr, flush=True)))(text)


def staff_hours(staff: dict) -> int:
    """Staff-hours per week of a staffing (all groups)."""
    return int(sum(int(np.sum(s)) for s in staff.values()))


def _groups_of(kpi: str, groups) -> list[str]:
    return [g for g in GOAL_GROUPS[kpi] if g in groups]


def _bounds(ev, goals):
    low = {k: np.asarray(ev.per_hour[k]["ci_low"], dtype=float) for k in goals}
    high = {k: np.asarray(ev.per_hour[k]["ci_high"], dtype=float) for k in goals}
    return low, high


def _check_demand(ev, settings: Settings) -> None:
    for kpi in settings.goals:
        if not np.isfinite(np.asarray(ev.per_hour[kpi]["mean"], dtype=float)).any():
            raise ConfigError("optimise.group", ",".join(settings.groups),
                              f"no demand for {kpi} in the scenario (no calls or incidents it counts): nothing to "
                              "staff")


def every_hour(search: Search, start: dict) -> tuple[dict, object, bool]:
    """The every-hour search (module docstring) from ``start``; returns (staff, its evaluation, finished)."""
    s = search.settings
    staff = {g: np.asarray(v, dtype=np.int64).copy() for g, v in start.items()}
    cap = {g: v + np.maximum(HEADROOM, v) for g, v in staff.items()}
    tried = {g: np.zeros(HOURS, dtype=bool) for g in staff}
    best_value = {k: np.full(HOURS, np.nan) for k in s.goals}
    first, turn = True, 0
    while search.iterations < s.max_iterations:
        ev = search.run(staff)
        if first:
            _check_demand(ev, s)
            first = False
        low, high = _bounds(ev, s.goals)
        judged = {kpi: bound(kpi, {"ci_low": low[kpi], "ci_high": high[kpi]}) for kpi in s.goals}
        for kpi in s.goals:
            better = np.fmax if at_least(kpi) else np.fmin
            best_value[kpi] = better(best_value[kpi], judged[kpi])
        fails = failing_hours(s.goals, low, high)
        if fails.any():
            for kpi, goal in s.goals.items():
                missed = np.isfinite(judged[kpi]) & ~meets(kpi, judged[kpi], goal)
                for g in _groups_of(kpi, staff):
                    staff[g] = staff[g] + missed
                    tried[g] |= missed
            over = [h for g in staff for h in np.flatnonzero(staff[g] > cap[g])]
            if over:
                raise Infeasible(s, sorted(set(over)), best_value)
            search.say(f"{int(fails.sum())} hours short, one more in each", staff)
            continue
        search.best, search.best_ev = {g: v.copy() for g, v in staff.items()}, ev
        # one fewer in every other hour at a time: an hour tried together with its neighbour could
        # fail for the queue the neighbour's cut leaves it, and would then never be tried again
        down = {}
        for parity in (turn % 2, 1 - turn % 2):
            down = {g: (staff[g] > 0) & ~tried[g] & (np.arange(HOURS) % 2 == parity) for g in staff}
            if any(d.any() for d in down.values()):
                break
        turn += 1
        if not any(d.any() for d in down.values()):
            search.say("every goal met in every hour; no hour left to try with one fewer", staff)
            return search.best, search.best_ev, True
        for g in staff:
            staff[g] = staff[g] - down[g]
        search.say(f"every goal met; trying one fewer in {int(sum(d.sum() for d in down.values()))} hours", staff)
    if search.best is None:
        raise ConfigError("optimise.max_iterations", s.max_iterations,
                          "reached before any staffing met every goal; allow more iterations")
    return search.best, search.best_ev, False


def overall(search: Search, start: dict, start_ev) -> tuple[dict, object, bool]:
    """The overall search (module docstring) from the every-hour answer ``start``."""
    s = search.settings
    staff = {g: np.asarray(v, dtype=np.int64).copy() for g, v in start.items()}
    ev = start_ev
    frozen = {g: np.zeros(HOURS, dtype=bool) for g in staff}
    batch = 24
    while search.iterations < s.max_iterations:
        room = _room(ev, s.goals)
        trial = {g: v.copy() for g, v in staff.items()}
        taken = 0
        for g in staff:
            candidates = np.flatnonzero((staff[g] > 0) & ~frozen[g])
            order = candidates[np.argsort(-room[candidates], kind="stable")][:batch]
            trial[g][order] -= 1
            taken += len(order)
        if taken == 0:
            return staff, ev, True
        trial_ev = search.run(trial)
        if overall_met(s.goals, trial_ev):
            staff, ev = trial, trial_ev
            search.best, search.best_ev = staff, ev
            search.say(f"goals still met over the period with {taken} fewer", staff)
        elif batch > 1:
            batch //= 2
            search.say(f"{taken} fewer breaks a goal over the period; trying {batch}", staff)
        else:
            for g in staff:
                frozen[g] |= trial[g] < staff[g]
            search.say("one fewer in that hour breaks a goal over the period; it stays", staff)
    return staff, ev, False


def enough_overall(search: Search, start: dict) -> tuple[dict, object]:
    """From ``start``, one more in every hour until every goal holds over the period (``overall``'s
    start when no every-hour staffing exists). Past start + max(HEADROOM, start) in every hour the
    goal cannot be met: a ConfigError gives the best value reached over the period."""
    s = search.settings
    staff = {g: np.asarray(v, dtype=np.int64).copy() for g, v in start.items()}
    cap = {g: v + np.maximum(HEADROOM, v) for g, v in staff.items()}
    best = {}
    limit = search.iterations + s.max_iterations  # a budget of its own after the every-hour attempt's
    while search.iterations < limit:
        ev = search.run(staff)
        if overall_met(s.goals, ev):
            search.say("every goal met over the period", staff)
            return staff, ev
        for kpi in s.goals:
            b = bound(kpi, ev.overall[kpi])
            pick = max if at_least(kpi) else min
            best[kpi] = b if kpi not in best or not math.isfinite(best[kpi]) else pick(best[kpi], b)
        if any(np.all(staff[g] + 1 > cap[g]) for g in staff):
            raise ConfigError("optimise.goal", ",".join(f"{k}={v:g}" for k, v in s.goals.items()),
                              "cannot be met by any staffing, over the period either: "
                              + "; ".join(f"{k} best reached {best[k]:.3g} against {v:g}" for k, v in s.goals.items()))
        for g in staff:
            staff[g] = staff[g] + 1
        search.say("a goal missed over the period: one more in every hour", staff)
    raise ConfigError("optimise.max_iterations", s.max_iterations,
                      "reached before any staffing met every goal over the period; allow more iterations")


def _room(ev, goals: dict) -> np.ndarray:
    """Per hour, the smallest margin of any goal's mean over its goal (relative; no data: most room)."""
    room = np.full(HOURS, np.inf)
    for kpi, goal in goals.items():
        mean = np.asarray(ev.per_hour[kpi]["mean"], dtype=float)
        margin = (mean - goal) / goal if at_least(kpi) else (goal - mean) / goal
        room = np.fmin(room, np.where(np.isfinite(margin), margin, np.inf))
    return room


class Infeasible(ConfigError):
    """A goal no staffing meets in some hours: which hours, and the best value reached there."""

    def __init__(self, settings: Settings, hours: list[int], best: dict):
        parts = []
        for kpi, goal in settings.goals.items():
            values = [best[kpi][h] for h in hours if math.isfinite(best[kpi][h])]
            if values:
                reach = max(values) if at_least(kpi) else min(values)
                parts.append(f"{kpi} best reached {reach:.3g} against {goal:g}")
        days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        where = ", ".join(f"{days[h // 24]} {h % 24:02d}:00" for h in hours[:6]) + (
            f" and {len(hours) - 6} more" if len(hours) > 6 else "")
        super().__init__("optimise.goal", ",".join(f"{k}={v:g}" for k, v in settings.goals.items()),
                         f"cannot be met by any staffing in {len(hours)} hours ({where}): {'; '.join(parts)}")
