"""The calibrated scenario: what was fitted from a force's records, as a runnable override file.

Every fitted value is written with a comment saying what it was fitted from, how many
records, and how good the fit is, so the analyst reading ``NAME.yaml`` can tell a figure
from their own data from one the model keeps by default.

How the force's records become the model (docs/calibration.md, "What the scenario is"):

- each line is one queue: 999 calls queue for the call handlers, 101 calls for the
  switchboard; the handling time is the call's whole handle time (talk + wrap-up), and
  a 999 incident is ready to dispatch when that time ends;
- the arrivals are every call the export shows, redials and transfers included, so the
  model makes none of its own (no redials, no call-backs, no switchboard transfers):
  otherwise they would be counted twice;
- a 101 call that led to an incident passes straight to grading after the switchboard
  (the secondary line is a pass-through with no wait): the export's 101 wait is the only
  wait those callers had;
- staff per hour of the week are the handlers *available* to take calls, estimated from
  the records (demandsim.calibrate.capacity), not head counts; units likewise, so the
  model takes no abstraction or meal breaks off them again.

Example:
    >>> text = yaml_value({"kind": "empirical", "values": [1.0, 2.5]})
    >>> text
    '{kind: empirical, values: [1.0, 2.5]}'
"""

from __future__ import annotations

import json
import math

from demandsim.config.schema import DEPLOYED_GRADES, GRADES

#: rostered numbers are whole people: the estimate of an hour rounded half up, as staffing.scale does
ROUND_NOTE = "rounded half up to whole people"


def yaml_value(value) -> str:
    """A value in YAML flow style: numbers as Python writes them, strings quoted when needed."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return text if text.replace("_", "").replace("-", "").isalnum() and not text[:1].isdigit() else json.dumps(text)


def duration_minutes(fit: dict, empirical_min: list[float] | None = None) -> dict:
    """The scenario's distribution (minutes) for a fitted duration.

    ``fit`` is a fit as in ``NAME.calibration.json`` (family and parameters in seconds);
    ``empirical`` takes its values from ``empirical_min`` (minutes).

    Example:
        >>> duration_minutes({"family": "weibull", "params": {"mean_s": 90.0, "shape": 0.8}})
        {'kind': 'weibull', 'mean': 1.5, 'shape': 0.8}
    """
    family, p = fit["family"], fit.get("params", {})
    if family == "none":
        return {"kind": "none"}
    if family == "empirical":
        return {"kind": "empirical", "values": [round(float(v), 4) for v in empirical_min]}
    if family == "exponential":
        return {"kind": "exponential", "mean": p["mean_s"] / 60.0}
    if family in ("lognormal", "gamma"):
        return {"kind": family, "mean": p["mean_s"] / 60.0, "cv": p["cv"]}
    if family == "weibull":
        return {"kind": "weibull", "mean": p["mean_s"] / 60.0, "shape": p["shape"]}
    raise ValueError(f"no scenario distribution for a fit of family {family!r}")


def whole_people(per_hour: list[float]) -> list[int]:
    """168 estimates -> 168 whole numbers (half up, like staffing.scale)."""
    return [int(math.floor(x + 0.5)) for x in per_hour]


class _Lines:
    """A YAML document built line by line, comments where the values are."""

    def __init__(self):
        self.out: list[str] = []

    def comment(self, text: str, indent: int = 0) -> None:
        for line in text.splitlines() or [""]:
            self.out.append(" " * indent + ("# " + line if line else "#"))

    def key(self, key: str, indent: int = 0, value=None, note: str | None = None) -> None:
        tail = "" if value is None else " " + (value if isinstance(value, str) and value.startswith(("[", "{", '"'))
                                               else yaml_value(value))
        self.out.append(" " * indent + f"{key}:{tail}" + (f"   # {note}" if note else ""))

    def text(self) -> str:
        return "\n".join(self.out) + "\n"


def scenario_yaml(name: str, cal: dict, parts: dict) -> str:
    """The text of ``NAME.yaml``.

    ``cal`` is the calibration (``NAME.calibration.json``'s content); ``parts`` carries what
    the scenario needs beyond it: per line ``handle_empirical_min`` (minutes), ``patience_note``,
    ``handle_n``, the source file names (``source``), and for incidents the per-grade
    ``travel_empirical_min`` / ``job_empirical_min`` and ``areas`` when fitted.
    """
    period = cal["period"]
    lines = cal["lines"]
    y = _Lines()
    y.comment("@package _global_")
    y.comment(f"Calibrated from {parts['source']} by python -m demandsim.calibrate ({parts['made_on']}).\n"
              f"Records used: {cal['records']['used']:,}; left out: "
              + (", ".join(f"{k} {v:,}" for k, v in cal["records"]["excluded"].items()) or "none") + ".\n"
              "Every value below that came from the records says so; the rest are the model's defaults\n"
              "(configs/). How records become the model: docs/calibration.md. Re-running the calibration\n"
              "overwrites this file: copy it under another name before editing.")
    y.key("scenario_name", value=f"calibrated_{name}")
    y.key("description", value=f"Calibrated from {parts['source']}, {period['start'][:10]} to {period['end'][:10]}")
    y.out.append("")
    days = period["days"]
    y.comment("The data's own period, with one day before it to fill the queues (left out of every KPI).")
    y.key("run")
    y.key("start_date", 2, parts["start_date"], "a day before the records start: the warm-up")
    y.key("days", 2, days + 1, f"the records cover {days:g} days")
    y.key("warmup_days", 2, 1)
    y.out.append("")

    y.key("arrivals")
    month_factors = parts.get("month_factors")
    for line, key in (("999", "line_999"), ("101", "line_101")):
        fitted = lines.get(line)
        y.key(key, 2)
        if fitted is None:
            y.key("per_year", 4, 0, f"no {line} calls in the records")
            y.key("growth", 4, 1.0)
            y.key("hour_of_week", 4, None)
            continue
        arr = parts["arrivals"][line]
        y.key("per_year", 4, round(arr["per_year"], 1),
              f"{fitted['calls']:,} calls in {days:g} days (every call offered: first calls, redials, transfers)")
        y.key("growth", 4, 1.0)
        y.comment(f"calls arriving in each hour of the week (Mon 00:00 first), mean over the period; "
                  f"dispersion of hourly counts {arr.get('dispersion', float('nan')):.2f} (1 = Poisson)", 4)
        y.key("hour_of_week", 4, yaml_value([round(x, 4) for x in fitted["per_hour_of_week"]]))
    y.key("hour_of_week", 2, yaml_value([1.0] * 168), "unused: each line has its own shape above")
    if month_factors:
        y.key("month_factors", 2, yaml_value([round(x, 4) for x in month_factors]),
              "calls per month against the hour-of-week profile, months in the records; others 1")
    else:
        y.key("month_factors", 2, yaml_value([1.0] * 12), "the records cover one month or less: no month effect")
    y.out.append("")

    y.comment("Handling: the whole handle time (talk + wrap-up) is one stretch; a 999 incident is ready to\n"
              "dispatch when it ends. Empirical: the means of equal-count groups of the handle times, so the\n"
              "model's mean handle is the data's (a fitted curve can miss it by a fifth: issue 12).")
    y.key("handling")
    if "999" in lines:
        y.key("line_999", 2)
        y.key("question_set", 4, duration_minutes(lines["999"]["handle"]["fit"], parts["handle_empirical_min"]["999"]),
              f"mean {lines['999']['handle']['mean_s']:.1f} s over {parts['handle_n']['999']:,} answered calls")
        y.key("rest_of_call", 4, {"kind": "deterministic", "value": 0})
        y.key("wrap_up", 4, {"kind": "deterministic", "value": 0})
    y.key("secondary", 2)
    y.key("question_set", 4, {"kind": "deterministic", "value": 0}, "pass-through: see triage.route")
    y.key("rest_of_call", 4, {"kind": "deterministic", "value": 0})
    y.key("wrap_up", 4, {"kind": "deterministic", "value": 0})
    y.out.append("")

    share_101 = parts.get("incident_share_101", 0.0)
    y.key("triage")
    if "101" in lines:
        y.key("triage_time", 2, duration_minutes(lines["101"]["handle"]["fit"], parts["handle_empirical_min"]["101"]),
              f"101 handle time: mean {lines['101']['handle']['mean_s']:.1f} s over {parts['handle_n']['101']:,} "
              "answered calls")
    y.comment("101 calls end at the switchboard, except those that led to an incident (from the incidents'\n"
              "call_line), which pass to grading at once; transfers to 999 are already 999 calls in the data.", 2)
    y.key("route", 2, {"to_999": 0.0, "secondary": round(share_101, 6), "closed": round(1.0 - share_101, 6)})
    y.out.append("")

    y.comment("Patience: maximum likelihood on the waits, hang-ups as events and answered calls' waits as\n"
              "censored (they would have waited longer): fitting the hang-ups alone is biased short.")
    y.key("callers")
    y.key("patience", 2)
    for line, key in (("999", "line_999"), ("101", "switchboard")):
        if line in lines:
            fit = lines[line]["patience"]["fit"]
            y.key(key, 4, duration_minutes(fit), parts["patience_note"][line])
    y.key("secondary", 4, {"kind": "none"}, "no wait on the pass-through")
    y.comment("Redials and transfers are in the records already (every call offered): the model makes none.", 2)
    y.key("redial", 2, {"to_999": 0.0, "to_101": 0.0, "max_attempts": 1})
    y.key("redial_999", 2, {"to_999": 0.0, "to_999_needing_attendance": 0.0})
    y.key("callback_999", 2, {"enabled": False})
    y.out.append("")

    y.comment("Staff: handlers AVAILABLE to take calls in each hour of the week, estimated from the records\n"
              "(while a caller waits, every available handler is busy); head counts of agents overstate them\n"
              f"(NAME.calibration.html compares the two). {ROUND_NOTE}.")
    y.key("staffing")
    for line, key in (("999", "call_handlers"), ("101", "switchboard")):
        y.key(key, 2)
        if line in lines:
            y.key("shifts", 4, "[]")
            staff = whole_people(lines[line]["staff_per_hour_of_week"])
            y.key("hour_of_week", 4, yaml_value(staff), parts["staff_note"][line])
        else:
            y.key("shifts", 4, "[]")
            y.key("hour_of_week", 4, None, f"no {line} calls")
        y.key("extra", 4, "[]")
    y.key("pooled_secondary", 2, False)
    y.key("secondary_handlers", 2)
    y.key("shifts", 4, yaml_value([{"start_hour": 0, "hours": 168, "staff": 2, "days": ["Mon"]}]),
          "the pass-through never holds a call")
    y.key("hour_of_week", 4, None)
    y.key("extra", 4, "[]")
    y.key("digital_desk", 2, "{roster: {shifts: [], hour_of_week: null, extra: []}}")
    units = parts.get("units_per_hour_of_week")
    if units is not None:
        y.key("units", 2)
        y.key("shifts", 4, "[]")
        y.key("hour_of_week", 4, yaml_value(whole_people(units)), parts["units_note"])
        y.key("extra", 4, "[]")
        y.key("response", 2, {"abstraction": 0.0, "meal_break_min": 0.0},
              "units measured as available: nothing to take off again")
    else:
        y.comment("units: the model's default roster (no incident records given)", 2)
    y.out.append("")

    incidents = parts.get("incidents")
    if incidents:
        _incident_sections(y, incidents, cal)
    return y.text()


def _incident_sections(y: _Lines, inc: dict, cal: dict) -> None:
    """grading.mix and dispatch from the CAD records."""
    mix = inc["mix"]
    y.comment("Grades: the share of answered calls of each line that became an incident of each grade\n"
              "(incidents per line / answered calls of that line); no_deployment is the rest.")
    y.key("grading")
    y.key("mix", 2)
    y.key("line_999", 4, {g: round(mix["999"][g], 6) for g in GRADES}, inc["mix_note"]["999"])
    # 101 calls reach grading only when they led to an incident (triage.route.secondary), so the
    # secondary mix is the grades OF those incidents
    y.key("secondary", 4, {g: round(inc["mix_given_incident_101"][g], 6) for g in GRADES}, inc["mix_note"]["101"])
    y.out.append("")
    y.comment("A unit's time on an incident: travel (assigned -> arrived) and job time (arrived -> cleared,\n"
              "on scene and follow-up together), empirical per grade: the means of equal-count groups.")
    y.key("dispatch")
    for grade in DEPLOYED_GRADES:
        g = inc["grades"][grade]
        y.key(grade, 2)
        if g["travel_empirical_min"]:
            y.key("travel", 4, {"kind": "empirical", "values": g["travel_empirical_min"]},
                  f"mean {g['travel_mean_s'] / 60:.1f} min, {g['travel_n']:,} incidents")
        if g["job_empirical_min"]:
            y.key("on_scene", 4, {"kind": "empirical", "values": g["job_empirical_min"]},
                  f"mean {g['job_mean_s'] / 60:.1f} min, {g['job_n']:,} incidents")
        y.key("follow_up_share", 4, 0.0, "in the job time above")
    areas = inc.get("areas")
    y.out.append("")
    if areas:
        y.comment("Areas from the incidents' area column: demand share, units' home share (a unit's home is the\n"
                  "area it attended most) and travel factor (area mean travel / force mean). ASSUMPTION: every\n"
                  "area neighbours every other (the records do not say which do).")
        y.key("areas")
        y.key("districts", 2)
        names = [a["name"] for a in areas]
        for a in areas:
            y.out.append(f"    - {{name: {yaml_value(a['name'])}, demand_share: {round(a['demand_share'], 6)}, "
                         f"units_share: {round(a['units_share'], 6)}, travel_factor: {round(a['travel_factor'], 4)}, "
                         f"neighbours: {yaml_value([n for n in names if n != a['name']])}}}")
    else:
        y.comment("One pool of units: the records have no area column.")
        y.key("areas", value={"districts": []})
