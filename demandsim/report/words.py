"""Plain English for the report's charts: KPI names, swept config keys and their values, numbers.

A board reads "priority incidents attended within target" and "units on the late shift
(15:00-01:00)", not ``attend_within_target_priority`` and ``staffing.units.shifts.1.staff``;
and "18,990", never ``1.899e+04``. A shift is named by the hours it works, read from the
run's config (the key alone does not say them), and by its start: early, middle, late or
night, as the rosters' comments call them. A key this module does not know is shown as
it is (an analyst typed it), never guessed at.

Example:
    >>> config = {"staffing": {"units": {"shifts": [{"start_hour": 7, "hours": 10, "staff": 27},
    ...     {"start_hour": 15, "hours": 10, "staff": 28}], "extra": [{"start_hour": 16, "hours": 5, "staff": 0}]}}}
    >>> key_words("staffing.units.shifts.1.staff", config)
    'units on the late shift (15:00-01:00)'
    >>> key_words("staffing.units.extra.0.staff", config)
    'extra units on duty (16:00-21:00)'
    >>> key_words("staffing.add.units"), key_words("staffing.scale.units")
    ('units added round the clock', 'units roster ×')
    >>> kpi_words("attend_within_target_priority"), number(18990.0), number(0.00001234)
    ('priority incidents attended within target', '18,990', '0.00001234')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from demandsim.config.schema import DEPLOYED_GRADES, WEEKDAYS
from demandsim.window import shift_of

#: staff groups in words (config names under ``staffing``)
GROUPS = {"units": "units", "call_handlers": "call handlers", "switchboard": "switchboard operators",
          "secondary_handlers": "secondary-line handlers", "digital_desk": "digital-desk staff",
          "digital_desk.roster": "digital-desk staff", "officers_on_phones": "officers on the phones"}

#: KPIs in words (demandsim/kpis.py and /work/shared/KPIS.md define them)
KPI_WORDS = {
    "sl_999_10s": "999 calls answered within 10 s",
    "sl_999_10s_transfers": "101 transfers into 999 answered within 10 s",
    "abandon_rate_999": "999 calls abandoned",
    "abandon_rate_999_transfers": "101 transfers into 999 abandoned",
    "abandoned_999_never_reached": "999 callers who abandoned and never got through",
    "abandon_rate_101": "101 calls abandoned",
    "abandon_rate_101_secondary": "101 calls abandoned on the secondary line",
    "asa_999_s": "999: mean time to answer (s)",
    "asa_101_s": "101: mean time to answer (s)",
    "calls_999_offered": "999 calls offered",
    "calls_101_offered": "101 calls offered",
    "redials_999_from_101": "999 calls from callers who gave up on 101",
    "transfers_101_to_999": "101 calls transferred to 999",
    "callbacks_999": "abandoned 999 calls called back",
    "redials_999_from_999": "999 callers who redialled",
    "diversions": "units diverted to an immediate incident",
    "thrive_reviews": "THRIVE reviews of waiting incidents",
    "victim_updates_made": "updates to victims waiting for a unit",
    "resolved_by_phone_after_review": "incidents resolved by phone after review",
    "appointments_booked": "appointments booked",
    "appointments_kept_rate": "appointments kept",
    "backlog_end": "incidents waiting for a unit at the end",
    "backlog_growth_per_day": "growth of the backlog a day",
    "stable": "runs whose backlog settles",
    "attend_within_target_all": "incidents attended within target (all grades)",
    "utilisation_call_handlers": "call handlers busy (share of rostered time)",
    "utilisation_switchboard": "switchboard busy (share of rostered time)",
    "utilisation_units": "units busy (share of available time)",
    **{f"attend_within_target_{g}": f"{g} incidents attended within target" for g in DEPLOYED_GRADES},
    **{f"incidents_{g}": f"{g} incidents" for g in DEPLOYED_GRADES},
    **{f"attend_p90_min_{g}": f"{g}: 90% attended within (min)" for g in DEPLOYED_GRADES},
    **{f"dispatch_wait_mean_min_{g}": f"{g}: mean wait for a unit (min)" for g in DEPLOYED_GRADES},
}

#: config keys a sweep often varies, in words (the staffing keys are worked out by :func:`key_words`)
KEY_WORDS = {
    "scenario": "scenario",
    "validation.servers": "call handlers on duty",
    "validation.units": "response units on duty",
    "arrivals.line_999.per_year": "999 first calls a year",
    "arrivals.line_999.growth": "999 demand × (growth)",
    "arrivals.line_101.per_year": "101 first calls a year",
    "arrivals.line_101.growth": "101 demand × (growth)",
    "staffing.pooled_secondary": "call handlers also answer the secondary line",
    "staffing.response.abstraction": "share of officer time abstracted",
    "staffing.response.meal_break_min": "meal break per shift (min)",
    "staffing.officers_on_phones.overtime": "officers on the phones on overtime",
}


def kpi_words(name: str) -> str:
    """A KPI in words (a window's ``window.<kpi>`` too); an unknown name with its underscores as spaces."""
    base = name.rsplit(".", 1)[-1]
    words = KPI_WORDS.get(base, base.replace("_", " "))
    return f"{words}, over the window" if base != name else words


def number(value) -> str:
    """A number for people: thousands separated, up to 4 significant digits, never an exponent.

    >>> number(158000), number(1.5), number(3.0), number(0.8), number(-2), number(float("nan"))
    ('158,000', '1.5', '3', '0.8', '-2', 'n/a')
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    x = float(value)
    if math.isnan(x):
        return "n/a"
    if x.is_integer() or abs(x) >= 1000:
        return f"{x:,.0f}"
    return np.format_float_positional(x, precision=4, fractional=False, trim="-")


def shift_name(start_hour: int) -> str:
    """A shift's name from its start, as the rosters' comments name them.

    >>> [shift_name(h) for h in (7, 12, 15, 17, 22, 2)]
    ['early', 'middle', 'late', 'late', 'night', 'night']
    """
    if 5 <= start_hour < 10:
        return "early"
    if 10 <= start_hour < 14:
        return "middle"
    if 14 <= start_hour < 20:
        return "late"
    return "night"


def clock_words(start: int, hours: int) -> str:
    """A shift's hours on the clock.

    >>> clock_words(17, 10), clock_words(0, 24)
    ('17:00-03:00', '24 h from 00:00')
    """
    return f"{start:02d}:00-{(start + hours) % 24:02d}:00" if hours < 24 else f"{hours} h from {start:02d}:00"


def hours_words(shift: dict) -> str:
    """``16:00-21:00`` (with its days unless every day) of a shift of the config."""
    when = clock_words(int(shift.get("start_hour", 0)), int(shift.get("hours", 0)))
    days = list(shift.get("days") or WEEKDAYS)
    if sorted(days, key=lambda d: WEEKDAYS.index(d) if d in WEEKDAYS else 9) != list(WEEKDAYS):
        when += ", " + ", ".join(days)
    return when


_GROUP_KEY = re.compile(r"^staffing\.(add|scale)\.(\w+)$")


def key_words(key: str | None, config: dict | None = None) -> str:
    """A swept config key in words (``config``: a run's config, for a shift's hours)."""
    if key is None:
        return ""
    if key in KEY_WORDS:
        return KEY_WORDS[key]
    found = _GROUP_KEY.match(key)
    if found:
        group = GROUPS.get(found.group(2), found.group(2).replace("_", " "))
        return f"{group} added round the clock" if found.group(1) == "add" else f"{group} roster ×"
    found = shift_of(key, config)
    if found:
        group_key, kind, index, shift = found
        group = GROUPS.get(group_key, group_key.replace("_", " "))
        if group_key == "officers_on_phones":
            return f"officers on the phones ({hours_words(shift)})" if shift else "officers on the phones"
        if kind == "extra":
            return f"extra {group} on duty ({hours_words(shift)})" if shift else f"extra {group} on duty"
        if shift is None:
            return f"{group} on shift {index + 1} of the roster"
        return f"{group} on the {shift_name(int(shift.get('start_hour', 0)))} shift ({hours_words(shift)})"
    return key


def value_words(key: str, value) -> str:
    """A swept key's value: a scenario's name as it is, a number for people."""
    return str(value) if key == "scenario" else number(value)


def setting_words(values: dict, config: dict | None = None) -> str:
    """The setting of some swept keys: ``units added round the clock 2, demand_2024``.

    >>> setting_words({"staffing.add.units": 2, "scenario": "demand_2024"})
    'units added round the clock 2, demand_2024'
    """
    return ", ".join(value_words(k, v) if k == "scenario" else f"{key_words(k, config)} {value_words(k, v)}"
                     for k, v in values.items())


@dataclass
class Lever:
    """What a swept staffing key acts on, as it grows: which calls its staff answer, and units."""

    adding: str  # "as units are added round the clock"
    staff: str  # who: "units", "call handlers"
    answers_999: bool
    answers_101: bool
    units: int  # +1 adds units, -1 takes them (officers on the phones not on overtime), 0 neither


def lever(key: str | None, config: dict | None = None) -> Lever | None:
    """What the swept ``key`` does as it grows, or None for a key that is not a staffing lever.

    >>> lever("staffing.add.units").adding, lever("staffing.add.units").units
    ('as units are added round the clock', 1)
    >>> lever("scenario") is None
    True
    """
    if key is None:
        return None
    staffing = (config or {}).get("staffing") or {}
    pooled = bool(staffing.get("pooled_secondary", False))
    found_group, found_shift = _GROUP_KEY.match(key), shift_of(key, config)
    if key in ("validation.servers", "validation.units"):
        group, adding = key.split(".")[1], f"as {key_words(key)} are added"
        group = "call_handlers" if group == "servers" else "units"
    elif found_group:
        group = found_group.group(2)
        words = GROUPS.get(group, group)
        adding = f"as {words} are added round the clock" if found_group.group(1) == "add" \
            else f"as the {words} roster is scaled up"
    elif found_shift:
        group_key, kind, _, shift = found_shift
        group = group_key.split(".")[0]
        hours = f" ({hours_words(shift)})" if shift else ""
        words = GROUPS.get(group, group)
        if group == "officers_on_phones":
            adding = f"as more officers are put on the phones{hours}"
        elif kind == "extra":
            adding = f"as extra {words} are put on duty{hours}"
        else:
            name = f"the {shift_name(int(shift.get('start_hour', 0)))} shift" if shift else "their shift"
            adding = f"as {words} are added to {name}{hours}"
    else:
        return None
    if group not in ("units", "call_handlers", "switchboard", "secondary_handlers", "digital_desk",
                     "officers_on_phones"):
        return None
    on_phones = group == "officers_on_phones"
    overtime = bool((staffing.get("officers_on_phones") or {}).get("overtime", False))
    units = 1 if group == "units" else (-1 if on_phones and not overtime else 0)
    answers_999 = group in ("call_handlers", "digital_desk", "officers_on_phones")
    answers_101 = group in ("switchboard",) or (group == "secondary_handlers" and not pooled) or \
        (group in ("call_handlers", "officers_on_phones") and pooled)
    return Lever(adding, GROUPS[group], answers_999, answers_101, units)


#: run.* keys that do not change what is simulated (or only its length): left out of a title
BOOKKEEPING = ("run.replications", "run.replication", "run.progress", "run.engine", "run.seed", "run.days",
               "run.warmup_days")


def title_overrides(words: list[str], swept: list[str]) -> list[str]:
    """The command-line overrides that made the runs, for a title: not the scenario (named already, by
    ``scenario_name`` too), the
    swept keys (on the charts' axes), Hydra's own, ``report.*`` (the page's table of goals) or bookkeeping.

    >>> title_overrides(["scenario=demand_2024", "arrivals.line_999.growth=1.1", "run.days=3",
    ...                  "staffing.add.units=0,2", "hydra.sweep.dir=x"], ["staffing.add.units"])
    ['arrivals.line_999.growth=1.1']
    """
    out = []
    for word in words:
        key = word.partition("=")[0].strip().lstrip("+~")
        skipped = key in ("scenario", "scenario_name", *swept, *BOOKKEEPING) or key.startswith(("hydra.", "report."))
        if skipped or "=" not in word:
            continue
        out.append(word.strip())
    return out
