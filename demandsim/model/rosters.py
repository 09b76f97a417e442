"""How many people (or response units) are on duty in each hour.

A roster is either shifts (start hour, length, headcount, weekdays) or 168
hour-of-week headcounts; ``extra`` shifts add on top. A shift that runs past
midnight carries into the next day, and Sunday night into Monday.

Example:
    >>> from demandsim.config.schema import Roster, Shift
    >>> r = Roster(shifts=[Shift(start_hour=22, hours=4, staff=3, days=["Sun"])])
    >>> week = headcount_by_hour_of_week(r, "staffing.x")
    >>> int(week[6 * 24 + 23]), int(week[0]), int(week[1]), int(week[2])
    (3, 3, 3, 0)
"""

from __future__ import annotations

import numpy as np

from demandsim.config.schema import WEEKDAYS
from demandsim.errors import ConfigError


def _add_shifts(week: np.ndarray, shifts, key: str) -> None:
    for i, shift in enumerate(shifts):
        where = f"{key}[{i}]"
        if not 0 <= shift.start_hour <= 23:
            raise ConfigError(f"{where}.start_hour", shift.start_hour, "must be 0..23")
        if not 1 <= shift.hours <= 168:
            raise ConfigError(f"{where}.hours", shift.hours, "must be 1..168")
        if shift.staff < 0:
            raise ConfigError(f"{where}.staff", shift.staff, "must be >= 0")
        for day in shift.days:
            if day not in WEEKDAYS:
                raise ConfigError(f"{where}.days", day, f"not a weekday; use {', '.join(WEEKDAYS)}")
            first = WEEKDAYS.index(day) * 24 + shift.start_hour
            week[(first + np.arange(shift.hours)) % 168] += shift.staff


def shift_headcount(shifts, key: str) -> np.ndarray:
    """168 headcounts (Monday 00-01 first) of a list of :class:`Shift` (checked; ``key`` names the list)."""
    week = np.zeros(168, dtype=np.int64)
    _add_shifts(week, shifts, key)
    return week


def headcount_by_hour_of_week(roster, key: str) -> np.ndarray:
    """168 headcounts (Monday 00-01 first) for a :class:`Roster`."""
    week = np.zeros(168, dtype=np.int64)
    if roster.hour_of_week is not None:
        if roster.shifts:
            raise ConfigError(f"{key}.hour_of_week", "set", "give shifts or hour_of_week, not both")
        counts = list(roster.hour_of_week)
        if len(counts) != 168:
            raise ConfigError(f"{key}.hour_of_week", f"{len(counts)} values", "needs exactly 168 headcounts")
        if min(counts) < 0:
            raise ConfigError(f"{key}.hour_of_week", min(counts), "headcounts must be >= 0")
        week += np.asarray(counts, dtype=np.int64)
    _add_shifts(week, roster.shifts, f"{key}.shifts")
    _add_shifts(week, roster.extra, f"{key}.extra")
    return week
