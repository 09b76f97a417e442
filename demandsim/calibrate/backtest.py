"""The back-test: simulate the calibrated scenario over the records' own period and
compare, hour of day by hour of day, what the model gives with what happened.

Observed and simulated values come from the same functions on the same kind of table:
the simulated runs are exported as a force's ACD/CAD export would be
(:mod:`demandsim.export`), so a difference is the model's, not the arithmetic's.

The band. For each KPI the replications give a mean and a spread; ``ci_low`` and
``ci_high`` are the 95% *prediction* band for one period's value under the model,
``mean +- t(n-1) * sd * sqrt(1 + 1/n)``: the range the records' own value should fall
in if the model is right (the interval of the mean alone, ``sd / sqrt(n)``, is for
comparing two models, and would call a right model wrong one time in three with ten
replications). Shares are clipped to 0..1 and times to >= 0.

Example:
    >>> import pandas as pd
    >>> calls = pd.DataFrame({"arrived_at": pd.to_datetime(["2024-03-04 09:00", "2024-03-04 09:30"]),
    ...                       "line": ["999", "999"], "outcome": ["answered", "abandoned"],
    ...                       "wait_s": [4.0, 30.0], "handle_s": [300.0, float("nan")]})
    >>> call_kpis(calls)
    {'abandon_rate': 0.5, 'sl_10s': 0.5, 'asa_s': 4.0}
"""

from __future__ import annotations

import dataclasses
import math
import sys

import numpy as np
import pandas as pd
from scipy import stats

from demandsim.config.schema import DEPLOYED_GRADES

CALL_KPIS = ("abandon_rate", "sl_10s", "asa_s")
#: KPIs that are shares (their band is clipped to 0..1)
SHARES = {"abandon_rate", "sl_10s", "attend_within_target"}
#: the 999 answer standard's threshold, seconds (sl_10s)
ANSWER_WITHIN_S = 10.0


def call_kpis(calls: pd.DataFrame) -> dict:
    """abandon_rate (abandoned / offered), sl_10s (answered within 10 s / offered: abandoned
    calls stay in the denominator) and asa_s (mean wait of answered calls); None with no calls."""
    offered = len(calls)
    if offered == 0:
        return {k: None for k in CALL_KPIS}
    answered = (calls["outcome"] == "answered").to_numpy()
    wait = calls["wait_s"].to_numpy(dtype=float)
    return {"abandon_rate": float((~answered).sum() / offered),
            "sl_10s": float((answered & (wait <= ANSWER_WITHIN_S)).sum() / offered),
            "asa_s": float(wait[answered].mean()) if answered.any() else None}


def attendance_kpis(incidents: pd.DataFrame, grade: str, target_min: float, period_end: pd.Timestamp) -> dict:
    """attend_within_target for one grade: arrived within the target from created_at. An
    incident never attended counts as outside once its target passed within the period, and
    is left out if the period ended first (as the simulator's KPI does: /work/shared/KPIS.md)."""
    rows = incidents[incidents["grade"] == grade]
    if rows.empty:
        return {"attend_within_target": None, "incidents": 0}
    due = rows["created_at"] + pd.Timedelta(minutes=target_min)
    arrived = rows["arrived_at"]
    within = (arrived.notna() & (arrived <= due)).to_numpy()
    counted = within | (due <= period_end).to_numpy()
    n = int(counted.sum())
    return {"attend_within_target": float(within.sum() / n) if n else None, "incidents": n}


def by_hour_of_day(frame: pd.DataFrame, column: str, kpis) -> list[dict]:
    """``kpis(rows)`` for the rows of each hour of the day of ``column`` (hour 0 first)."""
    hours = frame[column].dt.hour.to_numpy()
    return [kpis(frame[hours == h]) for h in range(24)]


def observed_block(calls: pd.DataFrame) -> dict:
    """One line's KPIs over the period and by hour of day."""
    return {"overall": call_kpis(calls), "by_hour_of_day": by_hour_of_day(calls, "arrived_at", call_kpis)}


def incident_block(incidents: pd.DataFrame, grade: str, target_min: float, period_end) -> dict:
    """One grade's attendance within target over the period and by hour of day created."""
    def one(rows):
        return {"attend_within_target": attendance_kpis(rows, grade, target_min, period_end)["attend_within_target"]}
    return {"overall": one(incidents), "by_hour_of_day": by_hour_of_day(incidents, "created_at", one)}


def band(values: list) -> dict:
    """mean, ci_low, ci_high of one KPI over replications (None where no replication has it)."""
    x = np.array([v for v in values if v is not None], dtype=float)
    if len(x) == 0:
        return {"mean": None, "ci_low": None, "ci_high": None}
    mean = float(x.mean())
    if len(x) < 2:
        return {"mean": mean, "ci_low": None, "ci_high": None}
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) * math.sqrt(1 + 1 / len(x)))
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half}


def _clip(kpi: str, b: dict) -> dict:
    if b["ci_low"] is None:
        return b
    low, high = (0.0, 1.0) if kpi in SHARES else (0.0, math.inf)
    return {"mean": b["mean"], "ci_low": max(low, b["ci_low"]), "ci_high": min(high, b["ci_high"])}


def compare(observed: dict, simulated: list[dict]) -> dict:
    """``{"observed": {...}, "simulated": {"mean": {...}, "ci_low": {...}, "ci_high": {...}}}`` for one
    block's KPIs (``observed`` and each of ``simulated`` are {kpi: value})."""
    out = {"observed": observed, "simulated": {"mean": {}, "ci_low": {}, "ci_high": {}}}
    for kpi in observed:
        b = _clip(kpi, band([s[kpi] for s in simulated]))
        for part in ("mean", "ci_low", "ci_high"):
            out["simulated"][part][kpi] = b[part]
    return out


def compare_blocks(observed: dict, simulated: list[dict]) -> dict:
    """overall and by_hour_of_day compared (blocks as :func:`observed_block` makes them)."""
    return {"overall": compare(observed["overall"], [s["overall"] for s in simulated]),
            "by_hour_of_day": [compare(observed["by_hour_of_day"][h], [s["by_hour_of_day"][h] for s in simulated])
                               for h in range(24)]}


def within_band(comparison: dict) -> dict:
    """{kpi: True/False/None} whether each observed value lies in its band (None: no band)."""
    out = {}
    sim = comparison["simulated"]
    for kpi, value in comparison["observed"].items():
        low, high = sim["ci_low"].get(kpi), sim["ci_high"].get(kpi)
        out[kpi] = None if value is None or low is None else bool(low - 1e-12 <= value <= high + 1e-12)
    return out


@dataclasses.dataclass
class BacktestInput:
    """What the back-test compares: the records (clean tables) and how to run the scenario."""

    calls: pd.DataFrame
    incidents: pd.DataFrame | None
    period_end: pd.Timestamp
    overrides: list[str]
    targets_min: dict


def present_lines(calls: pd.DataFrame) -> list[str]:
    """The lines in the records, 999 first."""
    return [line for line in ("999", "101") if (calls["line"] == line).any()]


def simulated_blocks(inp: BacktestInput, replications: int, seed: int = 1, progress=None) -> list[dict]:
    """Run the scenario ``replications`` times on the fast engine (replication r: seed + r) and
    compute each run's blocks from its calls and incidents exported as a force's records."""
    from demandsim.config import load_config
    from demandsim.export import canonical_calls, canonical_incidents
    from demandsim.runner import simulate

    cfg = load_config([*inp.overrides, "run.engine=fast", "run.progress=false", f"run.seed={seed}"])
    lines = present_lines(inp.calls)
    out = []
    for r in range(replications):
        run_cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, replication=r))
        result = simulate(run_cfg, progress=False)
        window = {"from_s": result.model.warmup_s, "to_s": result.model.horizon_s}
        calls = canonical_calls(result.records.calls, cfg.run.start_date, **window)
        blocks = {"lines": {line: observed_block(calls[calls["line"] == line]) for line in lines}}
        if inp.incidents is not None:
            incidents = canonical_incidents(result.records.incidents, cfg.run.start_date,
                                            calls=result.records.calls, **window)
            blocks["incidents"] = {g: incident_block(incidents, g, inp.targets_min[g], inp.period_end)
                                   for g in DEPLOYED_GRADES}
        out.append(blocks)
        if progress:
            progress(r + 1, replications)
    return out


def backtest(inp: BacktestInput, replications: int = 10, seed: int = 1, progress=None) -> dict:
    """``NAME.backtest.json``'s content: per line (and per grade with incidents) the records'
    KPIs against the simulated band, over the period and by hour of day."""
    if replications < 2:
        raise ValueError(f"--replications={replications}: the back-test needs at least 2 for a band")
    sims = simulated_blocks(inp, replications, seed, progress)
    lines = {}
    for line in present_lines(inp.calls):
        observed = observed_block(inp.calls[inp.calls["line"] == line])
        lines[line] = compare_blocks(observed, [s["lines"][line] for s in sims])
    out = {"lines": lines}
    if inp.incidents is not None:
        out["incidents"] = {
            g: compare_blocks(incident_block(inp.incidents, g, inp.targets_min[g], inp.period_end),
                              [s["incidents"][g] for s in sims])
            for g in DEPLOYED_GRADES}
    out["replications"] = replications
    out["band"] = "95% prediction band for one period's value: mean +- t(n-1) x sd x sqrt(1 + 1/n)"
    return out


def print_progress(done: int, total: int) -> None:
    """One line on stderr per replication (a month takes seconds each)."""
    print(f"back-test: replication {done}/{total}", file=sys.stderr, flush=True)
