"""Is a run of a validation scenario right? Its KPIs against exact queueing theory.

``validate(result)`` takes a finished run of ``scenario=validation/erlang_a`` (one 999
line: Erlang A, or Erlang C without patience) or ``scenario=validation/priority_dispatch``
(dispatch: M/M/c with non-preemptive priority; with ``dispatch.divert_from=on_scene``,
preemptive for immediate incidents, which then see an Erlang C queue of their own load)
and returns a :class:`Verdict`: for each
KPI the run's estimate, the exact value from :mod:`demandsim.theory`, the tolerance, and
whether the estimate lies within it.

**The estimate** is the KPI over the measured period (after ``run.warmup_days``), computed
from the records: on the 999 line the share answered within 10 s and the share abandoned
(of the calls offered) and the mean wait of the calls answered (seconds); in dispatch the
mean wait for a unit of each grade (minutes, over the incidents assigned before the end).
They are the ``sl_999_10s``, ``abandon_rate_999``, ``asa_999_s`` and
``dispatch_wait_mean_min_*`` KPIs of ``summary.json``, except that a dispatch KPI also
counts the few incidents still waiting at the end (censored); where there are none they
are equal (``tests/test_validation_theory.py`` checks it).

**Where the tolerance comes from.** How far a correct simulator's estimate strays from
the exact value depends on the queue and the run length, never on the run being judged.
The tolerance is therefore computed from that queue alone: a small independent simulation
of the textbook queue (:func:`erlang_replications`, :func:`priority_replications`: a few
lines each, compiled with numba, sharing no code with the engines and with random numbers
of its own, so nothing depends on the run's seed) replicates the same estimator over the
same run length and warm-up :data:`REFERENCE_REPLICATIONS` times, and the standard
deviation ``sd`` of those replications is the run's standard error. The tolerance is

    max(q * sd, REL_FLOOR * |exact|),   q = Student-t quantile (K - 1 d.o.f.) at two-sided
                                            level 2 * (1 - Phi(Z)), K = the replications,

a prediction interval for one run around the exact value: a correct simulator fails a
check with probability about 6e-5 (:data:`Z` = 4, q = 4.18 for K = 100), and the seeds are
fixed, so a check never changes from run to run. The judged run contributes only its
estimate, so a wrong model cannot widen its own window, and a fault in an engine cannot
move the tolerance. (A standard error from the judged run's own batch means would: a
dispatcher that ignores grade, whose urgent incidents wait longer and more variably, got
a window wide enough to pass.) Why not a theoretical variance: the variance of these estimators (a
ratio of sums of correlated waits over a finite run started empty) has no closed form for
these queues, and a binomial variance inflated by a guessed autocorrelation factor would
be a guess. The reference replications start empty and use the same warm-up, so they carry
the run's start-up bias too; :attr:`Check.reference_agrees` checks that their mean lies
within its own tolerance (sqrt(K) times narrower) of the exact value, which validates the
reference simulation and shows that this bias is negligible at that run length. The
replications take 0.1 to 8 seconds per case and are kept for the process's later checks.

**The relative floor** (:data:`REL_FLOOR`, 1% of the exact value): where the spread is tiny
(e.g. a service level near 1) the estimator's distribution is far from normal, and a
difference under 1% of the value changes no decision about standards set in whole
percentage points. An exact zero (Erlang C's abandonment) has no floor: the run must
show none.

**Power.** ``tests/test_validation_power.py`` runs three wrong models through the same
check at the same run lengths (a dispatcher that ignores grade, callers who never hang up,
one call handler fewer than the roster) and asserts that each fails it.

Example:
    >>> check = Check("asa_999_s", estimate=21.0, exact=19.5, tolerance=1.2,
    ...               reference_sd=0.3, reference_mean=19.6, reference_tolerance=0.2)
    >>> check.passed, check.reference_agrees
    (False, True)
    >>> sims = erlang_replications(servers=2, per_min=0.3, handle_min=4.0, patience_min=2.0,
    ...                            days=2.0, warmup_days=0.5, replications=3)
    >>> sims.shape, bool(((sims[:, :2] >= 0) & (sims[:, :2] <= 1)).all())
    ((3, 3), True)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.errors import ConfigError
from demandsim.kpis import ANSWER_WITHIN_S
from demandsim.model.calendar import DAY
from demandsim.theory import erlang_a_metrics, erlang_c_metrics, mmc_priority_waits

#: a correct simulator fails one check in about 16,000 (two-sided normal tail beyond 4 sd)
Z = 4.0
#: no tolerance is narrower than this share of the exact value (see the module docstring)
REL_FLOOR = 0.01
#: independent replications of the textbook queue per case: the standard deviation they
#: give is within about 7% of the true one (relative error 1/sqrt(2(K-1)))
REFERENCE_REPLICATIONS = 100
#: the reference simulations' seed (numba's own generator, not the engines' streams)
REFERENCE_SEED = 20240611

#: the 999 line's KPIs checked, in the order the reference simulation returns them
LINE_KPIS = ("sl_999_10s", "abandon_rate_999", "asa_999_s")
#: the dispatch KPIs checked, one per deployed grade, in priority order
DISPATCH_KPIS = tuple(f"dispatch_wait_mean_min_{grade}" for grade in DEPLOYED_GRADES)
#: the scenarios that can be judged: scenario_name -> scenario
SCENARIOS = {"validation_erlang_a": "validation/erlang_a",
             "validation_priority_dispatch": "validation/priority_dispatch"}


@dataclass(frozen=True)
class Check:
    """One KPI of a run against its exact value, with the tolerance and where it came from."""

    kpi: str
    estimate: float
    exact: float
    tolerance: float
    reference_sd: float  # sd of the estimator over the independent reference replications
    reference_mean: float  # their mean
    reference_tolerance: float  # the same rule for the mean of K replications

    @property
    def passed(self) -> bool:
        """The run's estimate lies within the tolerance of the exact value (NaN fails)."""
        return bool(abs(self.estimate - self.exact) <= self.tolerance)

    @property
    def reference_agrees(self) -> bool:
        """The reference replications' mean lies within its tolerance of the exact value."""
        return bool(abs(self.reference_mean - self.exact) <= self.reference_tolerance)

    def __str__(self) -> str:
        verdict = "pass" if self.passed else "FAIL"
        return (f"{self.kpi:34s} simulated {self.estimate:.5g}, exact {self.exact:.5g}, "
                f"tolerance {self.tolerance:.3g} (sd {self.reference_sd:.3g}): {verdict}")


@dataclass(frozen=True)
class Verdict:
    """Every check of one run; ``passed`` if all passed."""

    case: str
    checks: tuple

    @property
    def passed(self) -> bool:
        """Every KPI within its tolerance."""
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[str]:
        """The KPIs outside their tolerance."""
        return [c.kpi for c in self.checks if not c.passed]

    def check(self, kpi: str) -> Check:
        """The check of one KPI."""
        return next(c for c in self.checks if c.kpi == kpi)

    def __str__(self) -> str:
        return "\n".join([f"{self.case}: {'pass' if self.passed else 'FAIL'}"] + [f"  {c}" for c in self.checks])


# ---------------------------------------------------------------- the cases
@dataclass(frozen=True)
class ErlangCase:
    """``scenario=validation/erlang_a``: M/M/c+M (Erlang A), or M/M/c (Erlang C) without patience."""

    servers: int
    per_min: float
    handle_min: float
    patience_min: float | None
    days: float
    warmup_days: float

    def overrides(self, seed: int, engine: str = "fast") -> list[str]:
        """The command-line overrides that run this case."""
        patience = "null" if self.patience_min is None else self.patience_min
        return ["scenario=validation/erlang_a", f"validation.servers={self.servers}",
                f"validation.arrivals_per_min={self.per_min}", f"validation.mean_handle_min={self.handle_min}",
                f"validation.mean_patience_min={patience}", f"run.days={self.days}",
                f"run.warmup_days={self.warmup_days}", f"run.seed={seed}", f"run.engine={engine}"]

    def exact(self) -> dict:
        """The exact KPIs (Erlang A, or Erlang C without patience), by KPI name."""
        rate, handle = self.per_min / 60, self.handle_min * 60
        if self.patience_min is None:
            m = erlang_c_metrics(self.servers, rate, handle, ANSWER_WITHIN_S)
        else:
            m = erlang_a_metrics(self.servers, rate, handle, self.patience_min * 60, ANSWER_WITHIN_S)
        return dict(zip(LINE_KPIS, (m.service_level, m.p_abandon, m.asa)))

    def estimates(self, result) -> dict:
        """The run's KPIs over the measured period, from its call records."""
        return line_estimates(result)

    def reference(self, replications: int) -> np.ndarray:
        """Independent replications of the estimator: one row each, columns :data:`LINE_KPIS`."""
        return erlang_replications(self.servers, self.per_min, self.handle_min, self.patience_min,
                                   self.days, self.warmup_days, replications)

    def __str__(self) -> str:
        patience = "none" if self.patience_min is None else f"{self.patience_min:g} min"
        return (f"Erlang {'C' if self.patience_min is None else 'A'}: {self.servers} handlers, "
                f"{self.per_min:g} calls/min of {self.handle_min:g} min, patience {patience}, "
                f"{self.days:g} days")


@dataclass(frozen=True)
class PriorityCase:
    """``scenario=validation/priority_dispatch``: M/M/c with priority by grade.

    Non-preemptive (``divert_from`` ``none``; ``travelling`` too, since travel is zero there
    and no unit is ever on its way): every grade's mean wait, by Cobham's formula.
    Preemptive for immediate (``on_scene``: an immediate incident takes a unit off a
    lower-grade one whenever none is free): immediate incidents then wait only behind each
    other, an M/M/c queue of the immediate load alone, whose mean wait is Erlang C's; only
    that grade is checked (the others repeat interrupted jobs, for which there is no simple
    exact formula).
    """

    units: int
    per_hour: tuple  # immediate, priority, prompt
    on_scene_min: float
    days: float
    warmup_days: float
    divert_from: str = "none"

    @property
    def preemptive(self) -> bool:
        """Immediate incidents take units off lower-grade ones (dispatch.divert_from on_scene)."""
        return self.divert_from == "on_scene"

    def overrides(self, seed: int, engine: str = "fast") -> list[str]:
        """The command-line overrides that run this case."""
        imm, pri, pro = self.per_hour
        return ["scenario=validation/priority_dispatch", f"validation.units={self.units}",
                f"validation.per_hour_immediate={imm}", f"validation.per_hour_priority={pri}",
                f"validation.per_hour_prompt={pro}", f"validation.mean_on_scene_min={self.on_scene_min}",
                f"dispatch.divert_from={self.divert_from}",
                f"run.days={self.days}", f"run.warmup_days={self.warmup_days}", f"run.seed={seed}",
                f"run.engine={engine}"]

    def exact(self) -> dict:
        """The exact mean wait for a unit, minutes: per grade (Cobham's formula), or, preemptive,
        immediate only (Erlang C of the immediate load)."""
        if self.preemptive:
            alone = erlang_c_metrics(self.units, self.per_hour[0] / 60, self.on_scene_min, 0.0)
            return {DISPATCH_KPIS[0]: alone.mean_wait_all}
        waits = mmc_priority_waits(self.units, [r / 60 for r in self.per_hour], self.on_scene_min)
        return dict(zip(DISPATCH_KPIS, waits))

    def estimates(self, result) -> dict:
        """The run's mean wait for a unit per grade over the measured period, from its incident records."""
        return dispatch_estimates(result)

    def reference(self, replications: int) -> np.ndarray:
        """Independent replications of the estimator: one row each, columns :data:`DISPATCH_KPIS`
        (preemptive: the immediate column only, from an M/M/c queue of the immediate incidents)."""
        per_hour = self.per_hour[:1] if self.preemptive else self.per_hour
        return priority_replications(self.units, per_hour, self.on_scene_min, self.days, self.warmup_days,
                                     replications)

    def __str__(self) -> str:
        rates = "/".join(f"{r:g}" for r in self.per_hour)
        kind = "preemptive for immediate (divert from on scene)" if self.preemptive else "priority"
        return (f"M/M/c {kind}: {self.units} units, {rates} incidents/h by grade, "
                f"{self.on_scene_min:g} min on scene, {self.days:g} days")


def case_of(cfg) -> ErlangCase | PriorityCase:
    """The textbook case a validation scenario's config describes (``validation.*`` and ``run.*``)."""
    v, run = cfg.validation or {}, cfg.run
    if cfg.scenario_name == "validation_erlang_a":
        patience = v["mean_patience_min"]
        return ErlangCase(int(v["servers"]), float(v["arrivals_per_min"]), float(v["mean_handle_min"]),
                          None if patience is None else float(patience), float(run.days), float(run.warmup_days))
    if cfg.scenario_name == "validation_priority_dispatch":
        rates = tuple(float(v[f"per_hour_{g}"]) for g in DEPLOYED_GRADES)
        return PriorityCase(int(v["units"]), rates, float(v["mean_on_scene_min"]), float(run.days),
                            float(run.warmup_days), str(cfg.dispatch.divert_from))
    raise ConfigError("scenario", cfg.scenario_name,
                      f"validation needs one of the textbook scenarios: {', '.join(SCENARIOS.values())}")


# ---------------------------------------------------------------- the check
def validate(result, replications: int = REFERENCE_REPLICATIONS) -> Verdict:
    """Judge a run (a :class:`~demandsim.runner.RunResult`) of a validation scenario against theory."""
    case = case_of(result.config)
    return judge(case, case.estimates(result), replications)


def judge(case, estimates: dict, replications: int = REFERENCE_REPLICATIONS) -> Verdict:
    """Check ``estimates`` (KPI name -> value) of ``case`` against its exact values."""
    exact = case.exact()
    sd, mean = reference_spread(case, replications)
    q = tolerance_quantile(replications)
    checks = []
    for j, kpi in enumerate(exact):
        floor = REL_FLOOR * abs(exact[kpi])
        checks.append(Check(kpi, float(estimates[kpi]), float(exact[kpi]), max(q * sd[j], floor), float(sd[j]),
                            float(mean[j]), max(q * sd[j] / math.sqrt(replications), floor)))
    return Verdict(str(case), tuple(checks))


def tolerance_quantile(replications: int, z: float = Z) -> float:
    """Multiple of the reference sd: the Student-t quantile with the normal tail of ``z`` sd.

    The sd is estimated from ``replications`` runs, so one run's deviation over it follows
    Student's t with ``replications - 1`` degrees of freedom.

    >>> round(tolerance_quantile(100), 2), round(tolerance_quantile(10**7), 3)
    (4.18, 4.0)
    """
    from scipy.special import ndtr, stdtrit

    return float(stdtrit(replications - 1, 1.0 - ndtr(-z)))


@functools.lru_cache(maxsize=64)
def reference_spread(case, replications: int = REFERENCE_REPLICATIONS) -> tuple[np.ndarray, np.ndarray]:
    """(sd, mean) of the estimator per KPI over independent replications of the textbook queue."""
    sims = case.reference(replications)
    return sims.std(axis=0, ddof=1), sims.mean(axis=0)


def line_estimates(result) -> dict:
    """SL within 10 s, abandonment and ASA of the 999 line over the measured period, from the call records."""
    calls, m = result.records.calls, result.model
    t = calls["t_offer"].to_numpy()
    calls = calls[(calls["line"] == "999").to_numpy() & (t >= m.warmup_s) & (t < m.horizon_s)]
    answered = (calls["outcome"] == "answered").to_numpy()
    wait = calls["wait_s"].to_numpy()
    offered = len(calls)
    return {
        "sl_999_10s": np.sum(answered & (wait <= ANSWER_WITHIN_S)) / offered if offered else math.nan,
        "abandon_rate_999": np.sum((calls["outcome"] == "abandoned").to_numpy()) / offered if offered else math.nan,
        "asa_999_s": wait[answered].mean() if answered.any() else math.nan,
    }


def dispatch_estimates(result) -> dict:
    """Mean wait for a unit (minutes) per grade over the measured period, from the incident records."""
    inc, m = result.records.incidents, result.model
    t = inc["t_call_start"].to_numpy()
    wait = inc["dispatch_wait_s"].to_numpy()
    measured = (t >= m.warmup_s) & (t < m.horizon_s) & ~np.isnan(wait)  # assigned before the end
    out = {}
    for kpi, grade in zip(DISPATCH_KPIS, DEPLOYED_GRADES):
        mine = measured & (inc["grade"] == grade).to_numpy()
        out[kpi] = wait[mine].mean() / 60 if mine.any() else math.nan
    return out


# ---------------------------------------------------------------- the reference simulations
def erlang_replications(servers: int, per_min: float, handle_min: float, patience_min: float | None,
                        days: float, warmup_days: float, replications: int,
                        seed: int = REFERENCE_SEED) -> np.ndarray:
    """Replications of FCFS M/M/c+M: SL within 10 s, abandonment, ASA (s) of the calls in the measured period."""
    patience = math.inf if patience_min is None else patience_min * 60.0
    # every argument of one type, so the kernel compiles once whatever numbers it is given
    return _erlang_replications(int(seed), int(replications), int(servers), per_min / 60.0, handle_min * 60.0,
                                float(patience), days * DAY, warmup_days * DAY, ANSWER_WITHIN_S)


def priority_replications(units: int, per_hour, on_scene_min: float, days: float, warmup_days: float,
                          replications: int, seed: int = REFERENCE_SEED) -> np.ndarray:
    """Replications of M/M/c non-preemptive priority: mean wait (min) per class, incidents assigned in time."""
    rates = np.asarray(per_hour, dtype=np.float64) / 60
    return _priority_replications(int(seed), int(replications), int(units), rates, float(on_scene_min),
                                  days * DAY / 60.0, warmup_days * DAY / 60.0)


@njit(cache=True)
def _sift_down(heap, i):
    """Restore a binary min-heap (an array) below position ``i``."""
    n = len(heap)
    while True:
        child = 2 * i + 1
        if child >= n:
            return
        if child + 1 < n and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= heap[i]:
            return
        heap[i], heap[child] = heap[child], heap[i]
        i = child


@njit(cache=True)
def _erlang_replications(seed, replications, servers, rate, mean_handle, mean_patience, horizon, warmup, within):
    # FCFS: a caller gets the server that frees first after everyone before them, if they
    # wait that long; one who hangs up uses no server. ``free`` is a min-heap of the times
    # each server next becomes free.
    np.random.seed(seed)
    out = np.empty((replications, 3))
    free = np.empty(servers)
    for r in range(replications):
        free[:] = 0.0
        t = 0.0
        offered = in_time = abandoned = answered = 0
        wait_sum = 0.0
        while True:
            t += np.random.exponential(1.0 / rate)
            if t >= horizon:
                break
            patience = np.random.exponential(mean_patience) if mean_patience < np.inf else np.inf
            wait = max(free[0] - t, 0.0)
            counted = t >= warmup
            if wait > patience:
                if counted:
                    offered += 1
                    abandoned += t + patience < horizon  # else still waiting at the end
            else:
                free[0] = t + wait + np.random.exponential(mean_handle)
                _sift_down(free, 0)
                if counted:
                    offered += 1
                    if t + wait < horizon:
                        answered += 1
                        wait_sum += wait
                        in_time += wait <= within
        out[r, 0] = in_time / offered
        out[r, 1] = abandoned / offered
        out[r, 2] = wait_sum / answered if answered else np.nan
    return out


@njit(cache=True)
def _priority_replications(seed, replications, servers, rates, mean_service, horizon, warmup):
    # Non-preemptive priority, FCFS within a class: whenever a unit frees, it takes the first
    # waiting incident of the most urgent class; if none waits, the next arrival starts on
    # arrival. Decisions come in time order because each start is >= the last one.
    np.random.seed(seed)
    classes = len(rates)
    total = rates.sum()
    cumulative = np.cumsum(rates) / total
    out = np.empty((replications, classes))
    # 20 standard deviations above the expected arrivals: never reached in practice
    capacity = int(total * horizon + 20 * math.sqrt(total * horizon) + 100)
    free = np.empty(servers)
    for r in range(replications):
        arrive = np.empty(capacity)
        cls = np.empty(capacity, np.int64)
        service = np.empty(capacity)
        n = 0
        t = 0.0
        while True:
            t += np.random.exponential(1.0 / total)
            if t >= horizon:
                break
            if n == capacity:
                raise ValueError("more arrivals than 20 standard deviations above the mean")
            u = np.random.random()
            k = 0
            while k < classes - 1 and cumulative[k] <= u:
                k += 1
            arrive[n], cls[n], service[n] = t, k, np.random.exponential(mean_service)
            n += 1
        # each class's incidents in arrival order: its queue is a range of them from ``head``
        size = np.zeros(classes, np.int64)
        for i in range(n):
            size[cls[i]] += 1
        start = np.zeros(classes, np.int64)
        for k in range(1, classes):
            start[k] = start[k - 1] + size[k - 1]
        order = np.empty(n, np.int64)
        filled = start.copy()
        for i in range(n):
            order[filled[cls[i]]] = i
            filled[cls[i]] += 1
        head = np.zeros(classes, np.int64)
        wait_sum = np.zeros(classes)
        count = np.zeros(classes)
        free[:] = 0.0
        for _ in range(n):
            f = free[0]
            best = -1
            for k in range(classes):
                if head[k] < size[k] and arrive[order[start[k] + head[k]]] <= f:
                    best = k
                    break
            begin = f
            if best < 0:  # nobody waiting when the unit frees: the next arrival starts at once
                begin = np.inf
                for k in range(classes):
                    if head[k] < size[k] and arrive[order[start[k] + head[k]]] < begin:
                        begin = arrive[order[start[k] + head[k]]]
                        best = k
            if begin >= horizon:
                break  # this and every later incident is still waiting at the end
            i = order[start[best] + head[best]]
            head[best] += 1
            free[0] = begin + service[i]
            _sift_down(free, 0)
            if arrive[i] >= warmup:
                wait_sum[best] += begin - arrive[i]
                count[best] += 1
        for k in range(classes):
            out[r, k] = wait_sum[k] / count[k] if count[k] else np.nan
    return out

