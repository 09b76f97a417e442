"""From clean records to a calibration: every estimate, in one place, in three views.

:func:`estimate` calls the estimators (demandsim.calibrate.fit for the calls,
demandsim.calibrate.capacity for the staff, demandsim.calibrate.incidents for the
response side) once and returns

- ``json``: ``NAME.calibration.json``, the layout of issue 12 that other tools read;
- ``parts``: what the scenario writer needs beyond it (empirical values, notes);
- ``charts``: what the page draws (curves, histograms, weeks of counts).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demandsim.calibrate import capacity, fit
from demandsim.calibrate.read import CalibrationError, Period
from demandsim.calibrate.scenario import whole_people
from demandsim.config.schema import DEPLOYED_GRADES, GRADES

LINES = ("999", "101")
#: the calibration needs every hour of the week seen at least once
MIN_DAYS = 7


@dataclass
class Calibration:
    """One calibration's results (see the module docstring)."""

    json: dict
    parts: dict
    charts: dict


def weeks_of_counts(calls: pd.DataFrame, period: Period) -> list[list[int]]:
    """Calls per hour of the week for each whole Monday-to-Sunday week inside the period (a chart's grey lines)."""
    first_monday = period.start.normalize() + pd.Timedelta(days=(7 - period.start.weekday()) % 7)
    hours = ((calls["arrived_at"] - first_monday) // pd.Timedelta(hours=1)).to_numpy()
    weeks = int((period.end - first_monday) // pd.Timedelta(days=7))
    if weeks <= 0:
        return []
    keep = (hours >= 0) & (hours < weeks * 168)
    counts = np.bincount(hours[keep].astype(np.int64), minlength=weeks * 168).reshape(weeks, 168)
    return counts.tolist()


def patience_note(patience: dict) -> str:
    """What a patience fit came from and how good it is, for the scenario's comment."""
    family = patience["fit"]["family"]
    n = f"{patience.get('n_events', 0):,} hang-ups and {patience.get('n_censored', 0):,} answered waits (censored)"
    if family == "none":
        return f"nobody hung up: {n}"
    aic = {f: c["aic"] for f, c in patience.get("candidates", {}).items() if c.get("aic") is not None}
    runner_up = sorted((a - aic[family], f) for f, a in aic.items() if f != family)[:1]
    vs = f", next {runner_up[0][1]} AIC +{runner_up[0][0]:.1f}" if runner_up else ""
    median = patience.get("km_median_s")
    km = f"; Kaplan-Meier median {median:.0f} s" if median is not None else ""
    return f"{family} by maximum likelihood on {n}{vs}{km}"


def _line(calls: pd.DataFrame, period: Period) -> tuple[dict, dict, dict]:
    arrivals = fit.arrivals(calls, period)
    patience = fit.patience(calls)
    handling = fit.handling(calls)
    answered = calls[calls["outcome"] == "answered"]
    line = calls["line"].iloc[0]
    if handling["mean_s"] is None:
        raise CalibrationError(f"outcome: no answered {line} call in the records: the handle time of line {line} "
                               "cannot be estimated (is the outcome mapping right?)")
    staff = capacity.available_handlers(calls, period)
    out = {"calls": int(arrivals["calls"]),
           "per_hour_of_week": [float(x) for x in arrivals["per_hour_of_week"]],
           "patience": {"km_median_s": patience["km_median_s"], "fit": patience["fit"]},
           "handle": {"mean_s": float(handling["mean_s"]), "fit": handling["fit"]},
           "staff_per_hour_of_week": [float(x) for x in staff["staff_per_hour_of_week"]],
           "head_counts_per_hour_of_week": (None if staff["head_counts"] is None
                                            else [float(x) for x in staff["head_counts"]]),
           "staff_method_per_hour_of_week": list(staff["method_per_hour"])}
    empirical = handling["empirical_values_min"]
    methods = pd.Series(staff["method_per_hour"]).value_counts().to_dict()
    note = ("available handlers, estimated from the calls in progress while callers waited ("
            + ", ".join(f"{k}: {v} hours" for k, v in methods.items()) + ")")
    parts = {"arrivals": arrivals, "handle_empirical_min": empirical, "handle_n": int(len(answered)),
             "patience_note": patience_note(patience), "staff_note": note}
    heads = staff["head_counts"]
    why = ("The scenario uses the handlers available to take calls, estimated from the records: while a caller "
           "waits, every available handler is busy, so the calls in progress then count them. ")
    if heads is not None:
        ratio = np.nansum(heads) / max(np.nansum(staff["staff_per_hour_of_week"]), 1e-9)
        why += (f"Head counts (agents who answered in the hour) are {ratio:.2f} times as many over the week: they "
                "include time agents spent on other work, and a back-test with them shows almost no queue.")
    else:
        why += "The records name no agents, so there are no head counts to compare."
    charts = {"arrivals": {"weeks": weeks_of_counts(calls, period)}, "patience": patience, "handle": handling,
              "handle_empirical_min": empirical, "rostered": whole_people(out["staff_per_hour_of_week"]),
              "staff_why": why}
    return out, parts, charts


def estimate(calls: pd.DataFrame, excluded: dict, period: Period, source: str,
             incidents: pd.DataFrame | None = None, incidents_excluded: dict | None = None) -> Calibration:
    """Every estimate from the clean records (demandsim.calibrate.read's tables)."""
    if period.days < MIN_DAYS:
        raise CalibrationError(f"arrived_at: the records cover {period.days:g} days; a calibration needs at least "
                               f"{MIN_DAYS} (every hour of the week)")
    cal = {"records": {"used": int(len(calls)), "excluded": {k: int(v) for k, v in excluded.items() if v}},
           "period": {"start": period.start.isoformat(), "end": period.end.isoformat(), "days": float(period.days)},
           "lines": {}}
    parts = {"source": source, "made_on": _dt.date.today().isoformat(), "arrivals": {}, "handle_empirical_min": {},
             "handle_n": {}, "patience_note": {}, "staff_note": {},
             "start_date": (period.start - pd.Timedelta(days=1)).date().isoformat()}
    charts = {"source": source, "lines": {}}
    for line in LINES:
        rows = calls[calls["line"] == line]
        if rows.empty:
            continue
        out, p, c = _line(rows.reset_index(drop=True), period)
        cal["lines"][line] = out
        charts["lines"][line] = c
        for key in ("arrivals", "handle_empirical_min", "handle_n", "patience_note", "staff_note"):
            parts[key][line] = p[key]
    months = fit.arrivals(calls, period)["month_factors"]
    parts["month_factors"] = None if months is None else [float(x) for x in months]
    if incidents is not None:
        _incidents(cal, parts, calls, incidents, incidents_excluded or {}, period)
    return Calibration(cal, parts, charts)


#: an incident not assigned this long after it was created (the share of 999 calls that take
#: longer to wait for and handle) is taken to be waiting for a unit (capacity.units_on_duty)
READY_QUANTILE = 0.95


def ready_after_s(calls: pd.DataFrame) -> float:
    """Seconds after which a new incident is (almost surely) ready to dispatch: the 95th percentile of
    an answered 999 call's wait + handle time (101 calls when there are no 999 calls)."""
    for line in LINES:
        rows = calls[(calls["line"] == line) & (calls["outcome"] == "answered")]
        if len(rows):
            return float(np.quantile(rows["wait_s"].to_numpy() + rows["handle_s"].to_numpy(), READY_QUANTILE))
    return 0.0


def _incidents(cal: dict, parts: dict, calls: pd.DataFrame, incidents: pd.DataFrame, excluded: dict,
               period: Period) -> None:
    from demandsim.calibrate import incidents as inc

    answered = {line: int(((calls["line"] == line) & (calls["outcome"] == "answered")).sum()) for line in LINES}
    mix = inc.grade_mix(incidents, answered)
    times = inc.response_times(incidents, period)
    units = capacity.units_on_duty(incidents, period, ready_after_s=ready_after_s(calls))
    grades, scenario_grades = {}, {}
    for g in DEPLOYED_GRADES:
        t = times["grades"][g]
        grades[g] = {part: {"n": t[part]["n"], "mean_s": t[part]["mean_s"],
                            "fit": {"family": "empirical",
                                    "params": {"groups": len((t[part]["empirical"] or {}).get("values", []))}}}
                     for part in ("travel", "job")}
        grades[g]["attend_within_target"] = t["attendance"]["within_target"]
        grades[g]["attendance_counted"] = t["attendance"]["n"]
        scenario_grades[g] = {f"{part}_empirical_min": (t[part]["empirical"] or {}).get("values")
                              for part in ("travel", "job")}
        scenario_grades[g].update({f"{part}_mean_s": t[part]["mean_s"] or 0.0 for part in ("travel", "job")})
        scenario_grades[g].update({f"{part}_n": t[part]["n"] for part in ("travel", "job")})
    dropped = {f"{reason}_{g}": n for g, reasons in times["excluded"].items() for reason, n in reasons.items() if n}
    lines = mix["lines"]
    cal["incidents"] = {
        "records": {"used": int(len(incidents)),
                    "excluded": {k: int(v) for k, v in {**excluded, **dropped}.items() if v}},
        "grade_mix": {line: lines[line]["mix"] for line in LINES if line in lines},
        "incidents_per_line": {line: lines[line]["incidents"] for line in LINES if line in lines},
        "notes": mix["notes"],
        "grades": grades,
        "units_per_hour_of_week": None if units is None else units["units_per_hour_of_week"],
        "units_head_counts_per_hour_of_week": None if units is None else units["head_counts"],
        "areas": times["areas"]}
    from_101 = lines.get("101", {}).get("incidents", {g: 0 for g in GRADES})
    n101 = sum(from_101.values())
    parts["incident_share_101"] = n101 / answered["101"] if answered["101"] else 0.0
    no_mix = {g: float(g == "no_deployment") for g in GRADES}
    parts["incidents"] = {
        "mix": {line: (lines.get(line, {}).get("mix") or no_mix) for line in LINES},
        # 101 calls reach grading only when they led to an incident: the grades of those incidents
        "mix_given_incident_101": {g: from_101[g] / n101 for g in GRADES} if n101 else no_mix,
        "mix_note": {line: f"{sum(lines.get(line, {}).get('incidents', {}).values()):,} incidents from "
                           f"{answered[line]:,} answered {line} calls" for line in LINES},
        "grades": scenario_grades,
        "areas": None if times["areas"] is None else [
            {"name": name, "demand_share": a["demand_share"],
             "units_share": a["units_home_share"] if a["units_home_share"] is not None else a["demand_share"],
             "travel_factor": a["travel_factor"] if a["travel_factor"] is not None else 1.0}
            for name, a in times["areas"].items()]}
    if units is not None:
        parts["units_per_hour_of_week"] = [0.0 if x is None else x for x in units["units_per_hour_of_week"]]
        parts["units_note"] = "units available, estimated from the units busy while incidents waited for one"
