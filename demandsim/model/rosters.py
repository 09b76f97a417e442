"""How many people (or response units) are on duty in each hour.

A roster is either shifts (start hour, length, headcount, weekdays) or 168
hour-of-week headcounts; ``extra`` shifts add on top. A shift that runs past
midnight carries into the next day, and Sunday night into Monday.

An ``extra`` shift may have negative ``staff``: it takes that many people away from
the roster in its hours (officers taken off response for a few hours, a desk closed
for training), so a lever can be stated against the roster as it is, without
rewriting it. The roster may not go below nobody: the first hour where it would is
named in the error (``Mon 16:00``). The shifts themselves stay >= 0.

Example:
    >>> from demandsim.config.schema import Roster, Shift
    >>> r = Roster(shifts=[Shift(start_hour=22, hours=4, staff=3, days=["Sun"])])
    >>> week = headcount_by_hour_of_week(r, "staffing.x")
    >>> int(week[6 * 24 + 23]), int(week[0]), int(week[1]), int(week[2])
    (3, 3, 3, 0)
    >>> r.extra = [Shift(start_hour=23, hours=1, staff=-2, days=["Sun"])]
    >>> int(headcount_by_hour_of_week(r, "staffing.x")[6 * 24 + 23])
    1
"""

from __future__ import annotations

import numpy as np

from demandsim.config.schema import WEEKDAYS
from demandsim.errors import INT_MAX, ConfigError, whole_number

HOURS_PER_WEEK = 168


def _add_shifts(week: list[int], shifts, key: str, may_take_away: bool = False) -> None:
    """Add each shift's staff to ``week`` in its hours; ``may_take_away``: staff may be < 0 (extra shifts)."""
    for i, shift in enumerate(shifts):
        where = f"{key}[{i}]"
        start = whole_number(shift.start_hour, f"{where}.start_hour", 0, 23)
        hours = whole_number(shift.hours, f"{where}.hours", 1, HOURS_PER_WEEK)
        staff = whole_number(shift.staff, f"{where}.staff", -INT_MAX if may_take_away else 0)
        if isinstance(shift.days, str) or not hasattr(shift.days, "__iter__"):
            raise ConfigError(f"{where}.days", shift.days, f"a list of weekdays ({', '.join(WEEKDAYS)})")
        for day in shift.days:
            if day not in WEEKDAYS:
                raise ConfigError(f"{where}.days", day, f"not a weekday; use {', '.join(WEEKDAYS)}")
            first = WEEKDAYS.index(day) * 24 + start
            for hour in range(first, first + hours):
                week[hour % HOURS_PER_WEEK] += staff


def shift_headcount(shifts, key: str) -> np.ndarray:
    """168 headcounts (Monday 00-01 first) of a list of :class:`Shift` (checked; ``key`` names the list)."""
    week = np.zeros(168, dtype=np.int64)
    _add_shifts(week, shifts, key)
    return week


def headcount_by_hour_of_week(roster, key: str) -> np.ndarray:
    """168 headcounts (Monday 00-01 first) for a :class:`Roster`."""
    # whole numbers of any size while adding, so a sum too large for the engines is named, not wrapped
    week = [0] * HOURS_PER_WEEK
    if roster.hour_of_week is not None:
        if roster.shifts:
            raise ConfigError(f"{key}.hour_of_week", "set", "give shifts or hour_of_week, not both")
        counts = list(roster.hour_of_week)
        if len(counts) != HOURS_PER_WEEK:
            raise ConfigError(f"{key}.hour_of_week", f"{len(counts)} values", "needs exactly 168 headcounts")
        week = [whole_number(n, f"{key}.hour_of_week[{h}]", 0) for h, n in enumerate(counts)]
    _add_shifts(week, roster.shifts, f"{key}.shifts")
    _add_shifts(week, roster.extra, f"{key}.extra", may_take_away=True)
    if min(week) < 0:
        _refuse_below_nobody(week, roster.extra, key)
    if max(week) > INT_MAX:
        hour = week.index(max(week))
        raise ConfigError(key, f"{max(week)} on duty in hour {hour} of the week",
                          f"more than the engines count (at most {INT_MAX})")
    return np.asarray(week, dtype=np.int64)


def _refuse_below_nobody(week: list[int], extra, key: str) -> None:
    """ConfigError for the first hour of the week where the extra shifts take away more than
    the roster has, naming the first extra shift that takes people away then."""
    from demandsim.model.staffing import hour_name

    hour = next(h for h, n in enumerate(week) if n < 0)
    takers = [(i, -_week_of([shift], f"{key}.extra[{i}]")[hour]) for i, shift in enumerate(extra) if shift.staff < 0]
    takers = [(i, n) for i, n in takers if n > 0]
    taken = sum(n for _, n in takers)
    left = week[hour] + taken
    first = takers[0][0]
    raise ConfigError(f"{key}.extra[{first}].staff", extra[first].staff,
                      f"takes {taken} away at {hour_name(hour)}, when {left} "
                      f"{'is' if left == 1 else 'are'} rostered: the roster cannot go below 0")


def _week_of(shifts, key: str) -> list[int]:
    """What ``shifts`` (checked already) add in each hour of the week, negative staff included."""
    week = [0] * HOURS_PER_WEEK
    _add_shifts(week, shifts, key, may_take_away=True)
    return week
