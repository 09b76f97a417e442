"""Who is on duty and paid in each hour of the week: rosters scaled, people added, officers moved to the phones.

Three levers act on whole rosters, in this order:

- ``staffing.scale.<group>`` multiplies a group's roster (shifts, extra shifts and
  hour-of-week headcounts alike). The product is rounded **half up, per hour of the
  week**: a sweep ``staffing.scale.units=0.8,0.9,...`` must move every hour, and rounding
  each shift instead would leave a shift of 3 at 3 for every scale from 0.84 to 1.16;
- ``staffing.add.<group>`` adds N people (units) in every hour of the week, after the
  scale: round(roster x scale) + N. N may be negative (taken away round the clock); an
  hour left with fewer than nobody is refused, naming it. Units are a force-wide roster:
  with areas, each area gets its ``units_share`` of the added units, as of every
  rostered unit (:func:`demandsim.model.areas.units_available_by_area`), so N = 6 in six
  areas of equal share is one more unit per area on average, not exactly one each hour;
- ``staffing.officers_on_phones`` puts response officers on the phones: they join the
  call handlers in their shifts and, unless ``overtime`` is true, leave the units roster
  in the same hours (the lever's real cost: fewer officers to attend). Scale applies to
  the rosters, not to them: they are a fixed number of people.

An ``extra`` shift with negative staff (:mod:`demandsim.model.rosters`) takes people
away from one roster in its hours, before all three.

Example:
    >>> from demandsim.config.schema import Roster, Shift, StaffingConfig
    >>> s = StaffingConfig(units=Roster(shifts=[Shift(start_hour=0, hours=2, staff=5, days=["Mon"])]))
    >>> s.scale.units = 0.9                       # 5 x 0.9 = 4.5: half up
    >>> paid_by_hour_of_week(s)["units"][:3].tolist()
    [5, 5, 0]
    >>> s.add.units = 2                            # round the clock, after the scale
    >>> paid_by_hour_of_week(s)["units"][:3].tolist()
    [7, 7, 2]
"""

from __future__ import annotations

import math

import numpy as np

from demandsim.config.schema import WEEKDAYS
from demandsim.errors import INT_MAX, ConfigError
from demandsim.model.rosters import headcount_by_hour_of_week, shift_headcount

#: the staff groups and their rosters' config keys, in the order the engines take them
ROSTER_KEYS = {
    "call_handlers": "staffing.call_handlers",
    "secondary_handlers": "staffing.secondary_handlers",
    "digital_desk": "staffing.digital_desk.roster",
    "switchboard": "staffing.switchboard",
    "units": "staffing.units",
}
#: a product within this of a half counts as the half: 5 x 0.9 is 4.500000000000001 in binary
#: floating point and 10 x 0.35 is 3.4999999999999996, but both mean "a half", and half goes up
_HALF_SLACK = 1e-9


def roster_of(staffing, group: str):
    """The :class:`Roster` of ``group`` in a :class:`StaffingConfig`."""
    return staffing.digital_desk.roster if group == "digital_desk" else getattr(staffing, group)


def check_scale(value, key: str) -> float:
    """``value`` as a float if it is a finite number >= 0, else a ConfigError naming ``key``.

    >>> check_scale(0.8, "staffing.scale.units")
    0.8
    >>> check_scale(-1, "staffing.scale.units")
    Traceback (most recent call last):
    demandsim.errors.ConfigError: staffing.scale.units=-1: must be a finite number >= 0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(key, value, "must be a finite number >= 0")
    return float(value)


def scaled(week: np.ndarray, scale: float) -> np.ndarray:
    """Headcounts times ``scale``, each rounded half up (a whole number of people per hour).

    >>> scaled(np.array([0, 1, 3, 5, 10]), 0.5).tolist()
    [0, 1, 2, 3, 5]
    >>> scaled(np.array([5, 10]), 0.9).tolist(), scaled(np.array([10]), 0.35).tolist()
    ([5, 9], [4])
    """
    if scale == 1.0:  # the default: exactly the roster, no float round trip
        return week.copy()
    return np.floor(week * scale + 0.5 + _HALF_SLACK).astype(np.int64)


def hour_name(hour_of_week: int) -> str:
    """``"Mon 16:00"`` for hour of week 16.

    >>> hour_name(0), hour_name(167)
    ('Mon 00:00', 'Sun 23:00')
    """
    return f"{WEEKDAYS[hour_of_week // 24]} {hour_of_week % 24:02d}:00"


def check_add(value, key: str) -> int:
    """``value`` if it is a whole number (negative too), else a ConfigError naming ``key``.

    >>> check_add(-3, "staffing.add.units")
    -3
    >>> check_add(1.5, "staffing.add.units")
    Traceback (most recent call last):
    demandsim.errors.ConfigError: staffing.add.units=1.5: must be a whole number of people (may be negative)
    """
    is_whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not is_whole or abs(int(value)) > INT_MAX:
        raise ConfigError(key, value, "must be a whole number of people (may be negative)")
    return int(value)


def paid_by_hour_of_week(staffing) -> dict:
    """168 headcounts (Monday 00-01 first) per staff group: on duty and paid, as rostered.

    Each roster is scaled by ``staffing.scale.<group>``, then ``staffing.add.<group>`` is added
    in every hour; officers on the phones are added to the call handlers and, unless on
    overtime, taken out of the units. Raises ConfigError (naming the hour) when that would
    leave fewer than nobody.
    """
    paid = {}
    for group, key in ROSTER_KEYS.items():
        scale = check_scale(getattr(staffing.scale, group), f"staffing.scale.{group}")
        week = headcount_by_hour_of_week(roster_of(staffing, group), key)
        if float(week.max(initial=0)) * scale > INT_MAX:  # the scaled headcount must still be a whole number
            raise ConfigError(f"staffing.scale.{group}", scale, f"too large: the roster times the scale must be "
                              f"at most {INT_MAX} people")
        week = scaled(week, scale)
        add = check_add(getattr(staffing.add, group), f"staffing.add.{group}")
        if add:
            week = _added(week, add, group)
        paid[group] = week
    phones = staffing.officers_on_phones
    officers = shift_headcount(phones.shifts, "staffing.officers_on_phones.shifts")
    paid["call_handlers"] = paid["call_handlers"] + officers
    if not phones.overtime:
        left = paid["units"] - officers
        short = np.flatnonzero(left < 0)
        if len(short):
            h = int(short[0])
            raise ConfigError("staffing.officers_on_phones.shifts", f"{officers[h]} officers at {hour_name(h)}",
                              f"only {paid['units'][h]} units rostered then; roster more units or set "
                              "staffing.officers_on_phones.overtime=true")
        paid["units"] = left
    return paid


def _added(week: np.ndarray, add: int, group: str) -> np.ndarray:
    """``week`` plus ``add`` in every hour, or a ConfigError naming the first hour left below 0
    (or above what the engines count)."""
    key = f"staffing.add.{group}"
    low, high = int(week.min()), int(week.max())
    if high + add > INT_MAX:
        raise ConfigError(key, add, f"too large: the roster plus this must be at most {INT_MAX} people")
    if low + add < 0:
        h = int(np.flatnonzero(week + add < 0)[0])  # no overflow: week >= 0 and add >= -INT_MAX
        raise ConfigError(key, add, f"takes {-add} away at {hour_name(h)}, when {week[h]} "
                          f"{'is' if week[h] == 1 else 'are'} rostered: the roster cannot go below 0")
    return week + add
