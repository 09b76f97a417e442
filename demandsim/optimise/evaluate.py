"""The optimiser's inner loop: run a staffing with common random numbers and keep only the goals' KPIs,
per hour of the week.

:func:`evaluate` runs replications 0..R-1 (plus ``seed_offset``) of a config with some groups'
rosters replaced by 168 numbers (:func:`with_staff`), on the fast engine, and computes from each
run's tables only the KPIs a goal names (:data:`KPIS`), hour by hour of the week and over the
whole measured period. No KPI beyond those, no Parquet, no folder.

Each per-hour value means exactly what the whole-run KPI of :mod:`demandsim.kpis` means, over the
calls offered (incidents whose call started) in that hour of the week after warm-up: the value of
``demandsim.kpis.measured_kpis`` with a one-hour window (:mod:`demandsim.window`). The overall
value is the run's summary KPI. Both are computed from the same row selections as demandsim.kpis
(:func:`~demandsim.kpis.from_public_999`, :func:`~demandsim.kpis.answered_in_time`, ...), with
``np.bincount`` by hour of the week in place of one KPI call per hour.

Replication r of every staffing uses seed ``run.seed + r + seed_offset`` (as
:func:`demandsim.runner.effective_seed`): the same callers, handling times and patience
whatever the staffing, so two staffings compare like with like (common random numbers), and the
per-replication arrays (:attr:`Evaluation.per_rep_hour`) give paired differences.
``seed_offset=1000`` gives an independent check of a staffing found with offset 0.

Example:
    >>> from demandsim.config import load_config
    >>> cfg = load_config(["scenario=validation/erlang_a", "run.days=1", "run.warmup_days=0"])
    >>> ev = evaluate(cfg, {"call_handlers": np.full(168, 30)}, ["sl_999_10s"], replications=2)
    >>> ev.runs, len(ev.per_hour["sl_999_10s"]["mean"]), ev.per_rep_hour["sl_999_10s"].shape
    (2, 168, (2, 168))
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from demandsim.config.schema import DEPLOYED_GRADES, Config, Roster
from demandsim.engines import get_engine
from demandsim.errors import ConfigError
from demandsim.kpis import (
    _is, answered_in_time, abandoned_101, censored_at_end, from_public_999, mean_censored, on_101, resolved_by_phone,
)
from demandsim.model.plan import RunPlan, build_plan
from demandsim.records import RunRecords
from demandsim.runner import effective_seed

#: the staff groups an optimiser may staff (the digital desk is not among them: it answers 999
#: only when the queue is long, a lever rather than a requirement)
GROUPS = ("call_handlers", "switchboard", "secondary_handlers", "units")
HOURS_PER_WEEK = 168
#: the engine every optimiser run uses (issue 13: it runs on the fast engine)
ENGINE = "fast"


@dataclass(frozen=True)
class Kpi:
    """What a goal on a KPI means: ``direction`` "at_least" (the goal is a floor) or "at_most" (a
    ceiling); ``share`` True when the KPI is a share, so its goal must be in 0..1; ``unit`` as the KPI
    is reported (demandsim.kpis: ``asa_999_s`` in seconds, ``dispatch_wait_mean_min_*`` in minutes)."""

    direction: str
    share: bool
    unit: str


#: the KPIs a goal may name, as demandsim/kpis.py and shared/KPIS.md define them
KPIS = {
    "sl_999_10s": Kpi("at_least", True, "share"),
    "abandon_rate_999": Kpi("at_most", True, "share"),
    "abandon_rate_101": Kpi("at_most", True, "share"),
    "asa_999_s": Kpi("at_most", False, "seconds"),
    **{f"attend_within_target_{g}": Kpi("at_least", True, "share") for g in DEPLOYED_GRADES},
    **{f"dispatch_wait_mean_min_{g}": Kpi("at_most", False, "minutes") for g in DEPLOYED_GRADES},
}


def check_kpis(kpis: Iterable[str], key: str = "optimise.goal") -> list[str]:
    """The KPI names as a list, each known to :data:`KPIS`; a one-line ConfigError naming ``key.<name>`` if not.

    >>> check_kpis(["sl_999_10s"])
    ['sl_999_10s']
    >>> check_kpis(["sl_999_20s"])
    Traceback (most recent call last):
    ...
    demandsim.errors.ConfigError: optimise.goal.sl_999_20s=?: not a KPI a goal can name; use one of sl_999_10s, ...
    """
    names = [kpis] if isinstance(kpis, str) else list(kpis)
    for name in names:
        if name not in KPIS:
            raise ConfigError(f"{key}.{name}", "?", f"not a KPI a goal can name; use one of {', '.join(KPIS)}")
    return names


def check_goal(name: str, value, key: str = "optimise.goal") -> float:
    """A goal's value as a float: finite, >= 0, and in 0..1 for a share; one-line ConfigError if not.

    >>> check_goal("sl_999_10s", 0.9)
    0.9
    >>> check_goal("sl_999_10s", 90)
    Traceback (most recent call last):
    ...
    demandsim.errors.ConfigError: optimise.goal.sl_999_10s=90: a share: must be in 0..1 (0.9 for 90%)
    """
    check_kpis([name], key)
    where = f"{key}.{name}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(where, value, "must be a finite number >= 0")
    if KPIS[name].share and value > 1:
        raise ConfigError(where, value, "a share: must be in 0..1 (0.9 for 90%)")
    return float(value)


# ----------------------------------------------------------------- the staffing tried
def check_staff(group: str, staff, key: str = "optimise.group") -> np.ndarray:
    """168 whole numbers >= 0 (Monday 00:00-01:00 first) as an int64 array; ConfigError if not."""
    if group not in GROUPS:
        raise ConfigError(key, group, f"not a staff group the optimiser staffs; use one of {', '.join(GROUPS)}")
    week = np.asarray(staff)
    if week.shape != (HOURS_PER_WEEK,):
        raise ConfigError(f"staffing.{group}.hour_of_week", f"{week.size} values", "needs exactly 168 headcounts")
    if week.dtype.kind == "f":
        if not np.all(np.isfinite(week)) or np.any(week != np.round(week)):
            raise ConfigError(f"staffing.{group}.hour_of_week", "not whole", "headcounts must be whole numbers")
    elif week.dtype.kind not in "iu":
        raise ConfigError(f"staffing.{group}.hour_of_week", week.dtype, "headcounts must be whole numbers")
    week = week.astype(np.int64)
    if week.min() < 0:
        h = int(np.argmin(week))
        raise ConfigError(f"staffing.{group}.hour_of_week[{h}]", int(week[h]), "must be >= 0")
    return week


def with_staff(cfg: Config, staff: dict[str, np.ndarray]) -> Config:
    """``cfg`` with each named group's roster replaced by its 168 numbers (Monday 00:00-01:00 first).

    The roster becomes ``hour_of_week`` = the numbers, with no shifts and no extra shifts, and
    the group's ``staffing.scale`` 1.0 and ``staffing.add`` 0: the headcount on duty is exactly
    the numbers given. ``staffing.officers_on_phones`` is left as it is: officers it puts on
    the phones still join the call handlers (and leave the units) on top of the numbers, as in
    the scenario, so a scenario with that lever is optimised with the lever in place. Other
    groups are untouched. ``cfg`` itself is not changed.

    Units: the numbers are the units rostered (paid), not those available; the engine still
    takes ``staffing.response.abstraction`` off them. Meal breaks are placed in shifts, so a
    config with ``staffing.response.meal_break_min`` > 0 refuses units as 168 numbers when the
    plan is built (one line naming the key): give such a config net headcounts with
    ``meal_break_min`` 0, or staff units by shifts.

    >>> from demandsim.config.schema import Config
    >>> out = with_staff(Config(), {"units": np.arange(168)})
    >>> out.staffing.units.hour_of_week[:3], out.staffing.units.shifts, out.staffing.scale.units
    ([0, 1, 2], [], 1.0)
    """
    staffing = cfg.staffing
    rosters, scale, add = {}, {}, {}
    for group, week in staff.items():
        week = check_staff(group, week)
        rosters[group] = Roster(shifts=[], hour_of_week=[int(n) for n in week], extra=[])
        scale[group], add[group] = 1.0, 0
    staffing = dataclasses.replace(staffing, **rosters, scale=dataclasses.replace(staffing.scale, **scale),
                                   add=dataclasses.replace(staffing.add, **add))
    return dataclasses.replace(cfg, staffing=staffing)


# ----------------------------------------------------------------- one run, tables only
def replication_config(cfg: Config, replication: int) -> Config:
    """``cfg`` as replication ``replication`` of it (seed ``run.seed + replication``)."""
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, replication=int(replication)))


def run_replication(cfg: Config, replication: int) -> tuple[RunPlan, RunRecords]:
    """One run of ``cfg`` on the fast engine with seed ``run.seed + replication``: its plan (the
    model and draws) and records; no KPIs, no files. The same draws as
    :func:`demandsim.runner.simulate` of ``cfg`` with ``run.replication = replication``."""
    cfg = replication_config(cfg, replication)
    seeded = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, seed=effective_seed(cfg), replication=0))
    plan = build_plan(seeded, base_dir=Path(seeded.paths.data_dir), reuse_draws=True)  # each round runs this seed again
    return plan, get_engine(ENGINE).run(plan)


# ----------------------------------------------------------------- the KPIs, per hour of the week
def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator per hour, NaN where the denominator is 0 (nothing to measure)."""
    out = np.full(len(denominator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _share(flags: np.ndarray, among: np.ndarray, how: np.ndarray) -> tuple[np.ndarray, float]:
    """Per hour of the week and overall, the share of ``flags`` among the rows ``among``
    (demandsim.kpis.share: counts of whole numbers, so exactly its value)."""
    h = how[among]
    den = np.bincount(h, minlength=HOURS_PER_WEEK)
    num = np.bincount(h[flags[among]], minlength=HOURS_PER_WEEK)
    total = int(den.sum())
    return _ratio(num.astype(np.float64), den.astype(np.float64)), (int(num.sum()) / total if total else math.nan)


def _mean(values: np.ndarray, among: np.ndarray, how: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, float]:
    """Per hour and overall, the mean of the known ``values`` of the rows ``among``, over ``scale``
    (demandsim.kpis.mean_or_none)."""
    among = among & ~np.isnan(values)
    h, v = how[among], values[among]
    den = np.bincount(h, minlength=HOURS_PER_WEEK).astype(np.float64)
    num = np.bincount(h, weights=v, minlength=HOURS_PER_WEEK)
    return _ratio(num, den) / scale, (float(v.mean() / scale) if len(v) else math.nan)


def _mean_censored(times: np.ndarray, ended: np.ndarray, how: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """Per hour and overall, :func:`demandsim.kpis.mean_censored` over ``scale``: the plain mean in
    the hours where every duration ended, the Kaplan-Meier restricted mean in the (few) others."""
    den = np.bincount(how, minlength=HOURS_PER_WEEK).astype(np.float64)
    num = np.bincount(how, weights=np.where(ended, times, 0.0), minlength=HOURS_PER_WEEK)
    per_hour = _ratio(num, den)
    for h in np.unique(how[~ended]):
        rows = how == h
        per_hour[h] = mean_censored(times[rows], ended[rows])
    overall = mean_censored(times, ended)
    return per_hour / scale, (math.nan if overall is None else overall / scale)


def kpis_by_hour(records: RunRecords, warmup_s: float, end_s: float,
                 kpis: Iterable[str]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The named KPIs of one run: per hour of the week (168 values, NaN where the hour has nothing to
    measure) and over the whole measured period (NaN for nothing), as demandsim.kpis defines them.

    Hour of the week of a call: of its offer (the records' ``hour_of_week``); of an incident: of
    its call's start. Only the calls offered, and incidents whose call started, after warm-up count.
    """
    kpis = check_kpis(kpis)
    per_hour, overall = {}, {}
    line = [k for k in kpis if k in ("sl_999_10s", "abandon_rate_999", "abandon_rate_101", "asa_999_s")]
    if line:
        calls = records.calls
        how = calls["hour_of_week"].to_numpy()
        measured = calls["t_offer"].to_numpy() >= warmup_s
        public_999 = from_public_999(calls) & measured
        for name in line:
            if name == "sl_999_10s":
                per_hour[name], overall[name] = _share(answered_in_time(calls), public_999, how)
            elif name == "abandon_rate_999":
                per_hour[name], overall[name] = _share(_is(calls["outcome"], "abandoned"), public_999, how)
            elif name == "abandon_rate_101":
                per_hour[name], overall[name] = _share(abandoned_101(calls), on_101(calls) & measured, how)
            else:  # asa_999_s
                answered = public_999 & _is(calls["outcome"], "answered")
                per_hour[name], overall[name] = _mean(calls["wait_s"].to_numpy(), answered, how)
    incident_kpis = [k for k in kpis if k not in line]
    if incident_kpis:
        inc = records.incidents
        how = inc["hour_of_week"].to_numpy()
        started = inc["t_call_start"].to_numpy() >= warmup_s
        for name in incident_kpis:
            grade = name.rsplit("_", 1)[1]
            rows = _is(inc["grade"], grade) & started
            if name.startswith("attend_within_target_"):
                within = inc["within_target"].array  # True/False, missing where not yet known (demandsim.records)
                known = ~within.isna()
                per_hour[name], overall[name] = _share(within.fillna(False).to_numpy(dtype=bool), rows & known, how)
            else:  # dispatch_wait_mean_min_<grade>, censored as demandsim.kpis.attendance_kpis does
                ready, waits = inc["t_ready"].to_numpy(), inc["dispatch_wait_s"].to_numpy()
                review_last = inc["t_review_last"].to_numpy(dtype=np.float64)
                wait_end = np.where(resolved_by_phone(inc), review_last, end_s)
                times, ended = censored_at_end(waits[rows], ready[rows], wait_end[rows])
                per_hour[name], overall[name] = _mean_censored(times, ended, how[rows], 60.0)
    return per_hour, overall


# ----------------------------------------------------------------- replications and their intervals
def t_bands(values: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and two-sided Student-t interval at ``confidence`` over the replications (axis 0) of
    ``values``, NaN values left out per column; low and high NaN with fewer than two values, all
    NaN with none (as demandsim.stats.t_interval, column by column).

    >>> mean, low, high = t_bands(np.array([[0.90, 1.0], [0.92, np.nan], [0.94, np.nan]]))
    >>> round(float(mean[0]), 3), round(float(low[0]), 4), round(float(high[0]), 4)
    (0.92, 0.8703, 0.9697)
    >>> float(mean[1]), bool(np.isnan(low[1]))
    (1.0, True)
    """
    from scipy.special import stdtrit  # what scipy.stats.t.ppf calls, without importing scipy.stats

    values = np.asarray(values, dtype=np.float64)
    known = ~np.isnan(values)
    n = known.sum(axis=0)
    total = np.where(known, values, 0.0).sum(axis=0)
    mean = _ratio(total, n.astype(np.float64))
    deviation = np.where(known, values - mean, 0.0)
    many = n >= 2
    sd = np.full(mean.shape, np.nan)
    sd[many] = np.sqrt((deviation[:, many] ** 2).sum(axis=0) / (n[many] - 1))
    half = np.full(mean.shape, np.nan)
    half[many] = stdtrit(n[many] - 1, 0.5 + confidence / 2.0) * sd[many] / np.sqrt(n[many])
    return mean, mean - half, mean + half


def _json_number(x: float):
    """A float for JSON, None for NaN (a KPI with nothing to measure is null, never 0)."""
    return None if math.isnan(x) else float(x)


@dataclass
class Evaluation:
    """What :func:`evaluate` found for one staffing.

    - ``per_hour[kpi]``: {"mean", "ci_low", "ci_high"}, each 168 floats (NaN where the hour had
      nothing to measure in any replication; the interval NaN with fewer than two replications
      that measured it), the mean over replications of each replication's value for that hour;
    - ``overall[kpi]``: {"mean", "ci_low", "ci_high"} of the whole-run KPI;
    - ``per_rep_hour[kpi]``: replications x 168, ``per_rep_overall[kpi]``: replications, each
      replication's own value, for paired comparisons (row r is replication r + seed_offset);
    - ``runs``, ``seconds``: simulation runs made and wall time taken.
    """

    kpis: list[str]
    confidence: float
    seed_offset: int
    per_hour: dict
    overall: dict
    per_rep_hour: dict
    per_rep_overall: dict
    runs: int
    seconds: float
    #: what ``collect(plan, records)`` returned for each replication, in replication order
    collected: list = field(default_factory=list)

    def achieved(self) -> dict:
        """optimise.json's ``achieved`` block: NaN as None (JSON null)."""
        return {
            "by_hour_of_week": {k: {part: [_json_number(x) for x in v[part]] for part in ("mean", "ci_low", "ci_high")}
                                for k, v in self.per_hour.items()},
            "overall": {k: {part: _json_number(v[part]) for part in ("mean", "ci_low", "ci_high")}
                        for k, v in self.overall.items()},
        }


def _on_ray(address: str, staffed: Config, replications: list[int], kpis: list[str], collect) -> list:
    """The replications as Ray tasks on the cluster at ``address`` (joined once per process, as
    hydra_plugins/hydra_ray_launcher does: one CPU per task, the simulator being single-threaded)."""
    import ray

    if not ray.is_initialized():
        # a head on this machine's loopback: this driver is on loopback too (Ray would otherwise look
        # for a routable address; hydra/launcher=ray's init._node_ip_address says the same)
        local = address.split(":")[0] in ("127.0.0.1", "localhost")
        ray.init(address=address, **({"_node_ip_address": "127.0.0.1"} if local else {}))
    task = ray.remote(num_cpus=1)(_replication)
    return ray.get([task.remote(staffed, r, kpis, collect) for r in replications])


def _replication(staffed: Config, replication: int, kpis: list[str], collect) -> tuple:
    """One replication's KPIs per hour and overall (and ``collect``'s result): runs in a worker with n_jobs."""
    plan, records = run_replication(staffed, replication)
    per_hour, overall = kpis_by_hour(records, plan.model.warmup_s, plan.model.horizon_s, kpis)
    return per_hour, overall, (collect(plan, records) if collect is not None else None)


def evaluate(cfg: Config, staff: dict[str, np.ndarray], kpis: Iterable[str], replications: int,
             confidence: float = 0.95, seed_offset: int = 0,
             collect: Callable[[RunPlan, RunRecords], object] | None = None, n_jobs: int = 1,
             ray_address: str | None = None) -> Evaluation:
    """Run ``cfg`` with ``staff`` (:func:`with_staff`) ``replications`` times and keep the named KPIs.

    Replication r runs with ``run.replication = r + seed_offset`` (seed ``run.seed + r +
    seed_offset``), so every staffing evaluated with one offset sees the same random draws.
    ``collect(plan, records)``, if given, is called on each run's plan and tables before they are
    dropped and its results kept in ``Evaluation.collected`` (the iterative staffing algorithm
    reads the number in the system from them). ``n_jobs`` > 1 runs the replications in that many
    worker processes (joblib, as the sweeps' local launcher): the same numbers, sooner; ``collect``
    must then be a module-level function (or a functools.partial of one). ``ray_address``
    (HOST:PORT of a Ray cluster, as the sweeps' ``hydra/launcher=ray`` joins) runs them there
    as Ray tasks, all at once.
    """
    kpis = check_kpis(kpis)
    if isinstance(replications, bool) or not isinstance(replications, (int, np.integer)) or replications < 1:
        raise ConfigError("run.replications", replications, "must be >= 1")
    if not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise ConfigError("optimise.confidence", confidence, "must be between 0 and 1 (0.95 for 95%)")
    started = time.perf_counter()
    staffed = with_staff(cfg, staff)
    hours = {k: np.full((replications, HOURS_PER_WEEK), np.nan) for k in kpis}
    whole = {k: np.full(replications, np.nan) for k in kpis}
    if ray_address:
        done = _on_ray(ray_address, staffed, [r + seed_offset for r in range(replications)], kpis, collect)
    elif n_jobs > 1 and replications > 1:
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=min(n_jobs, replications))(
            delayed(_replication)(staffed, r + seed_offset, kpis, collect) for r in range(replications))
    else:  # one at a time: a run's tables go before the next is drawn
        done = [_replication(staffed, r + seed_offset, kpis, collect) for r in range(replications)]
    collected = []
    for r, (per_hour, overall, extra) in enumerate(done):
        for k in kpis:
            hours[k][r], whole[k][r] = per_hour[k], overall[k]
        collected.append(extra)
    per_hour, overall = {}, {}
    for k in kpis:
        mean, low, high = t_bands(hours[k], confidence)
        per_hour[k] = {"mean": mean, "ci_low": low, "ci_high": high}
        mean, low, high = t_bands(whole[k][:, None], confidence)
        overall[k] = {"mean": float(mean[0]), "ci_low": float(low[0]), "ci_high": float(high[0])}
    return Evaluation(kpis, float(confidence), int(seed_offset), per_hour, overall, hours, whole, replications,
                      time.perf_counter() - started, collected)
