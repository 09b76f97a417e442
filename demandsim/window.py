"""A window of hours and days that every KPI can be restricted to (``window.hours``, ``window.days``).

The question a strategic group asks is often about one part of the week ("the late shift,
17:00-03:00", "Friday and Saturday nights"), not the whole of it. A window picks hours of the
week; a KPI over the window counts the calls offered (``t_offer``) and the incidents whose call
started (``t_call_start``) in those hours, after warm-up, and the staff busy and rostered in
those hours (utilisation). Which hour of the week a time falls in is the records' own
``hour_of_week`` column: time 0 is midnight at the start of ``run.start_date`` (the baseline's
2021-04-05 is a Monday) and hour 0 of the week is Monday 00:00-01:00 (demandsim.model.calendar).

``window.hours`` is ``"START-END"`` in whole hours of the clock, START 0-23 and END 1-24; a
window with END below START wraps midnight (``"17-03"`` is 17:00 to 03:00). ``window.days`` are
the days on which the window *starts*, as a shift's days are: with ``"17-03"`` and ``[Fri]`` the
window is Friday 17:00 to Saturday 03:00, the Friday late shift. Either may be null: the whole
day (as ``"0-24"``), every day of the week.

Example:
    >>> w = window_from_config(WindowConfig(hours="17-03", days=["Fri"]))
    >>> w.label, int(w.hours_of_week.sum())
    ('17:00-03:00, Fri', 10)
    >>> bool(w.hours_of_week[4 * 24 + 17]), bool(w.hours_of_week[5 * 24 + 2]), bool(w.hours_of_week[4 * 24 + 2])
    (True, True, False)
    >>> window_from_config(WindowConfig()) is None
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from demandsim.config.schema import WEEKDAYS, Shift, WindowConfig
from demandsim.errors import ConfigError
from demandsim.model.rosters import shift_headcount

HOURS_PER_WEEK = 168
#: ``window.hours`` as written: two whole hours joined by a dash (spaces allowed around it)
_HOURS = re.compile(r"^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$")


@dataclass(frozen=True)
class Window:
    """Hours of the week a KPI is restricted to, and how to name them.

    ``hours`` and ``days`` are the config's values (None: the whole day, every day),
    ``hours_of_week`` 168 flags, Monday 00:00-01:00 first.
    """

    hours: str | None
    days: list[str] | None
    hours_of_week: np.ndarray
    label: str

    def contains(self, hour_of_week) -> np.ndarray:
        """Per row, whether its hour of the week (a records ``hour_of_week`` column) is in the window."""
        return self.hours_of_week[np.asarray(hour_of_week, dtype=np.int64)]

    def block(self) -> dict:
        """The window as summary.json names it: ``{"hours": ..., "days": ...}``."""
        return {"hours": self.hours, "days": None if self.days is None else list(self.days)}


def parse_hours(text, key: str = "window.hours") -> tuple[int, int]:
    """``"START-END"`` as (start, end) hours of the clock; a one-line ConfigError naming ``key`` if not.

    >>> parse_hours("17-03"), parse_hours("0-24")
    ((17, 3), (0, 24))
    >>> parse_hours("25-03")
    Traceback (most recent call last):
    ...
    demandsim.errors.ConfigError: window.hours=25-03: the start must be an hour of the clock 0-23
    """
    found = _HOURS.match(text) if isinstance(text, str) else None
    if found is None:
        raise ConfigError(key, text, 'must be "START-END" in whole hours, e.g. 17-03 (17:00 to 03:00) or 0-24')
    start, end = int(found.group(1)), int(found.group(2))
    if start > 23:
        raise ConfigError(key, text, "the start must be an hour of the clock 0-23")
    if not 1 <= end <= 24:
        raise ConfigError(key, text, "the end must be an hour of the clock 1-24")
    if start == end:
        raise ConfigError(key, text, "an empty window: the end must differ from the start (0-24 is the whole day)")
    return start, end


def parse_days(days, key: str = "window.days") -> list[str]:
    """A list of weekdays (``Mon`` .. ``Sun``, each once); a one-line ConfigError naming ``key`` if not."""
    if isinstance(days, str) or not isinstance(days, (list, tuple)):
        raise ConfigError(key, days, f"must be a list of weekdays from {', '.join(WEEKDAYS)}, e.g. [Fri,Sat]")
    if not days:
        raise ConfigError(key, "[]", "an empty window: name at least one day (null is every day)")
    for i, day in enumerate(days):
        if day not in WEEKDAYS:
            raise ConfigError(key, day, f"not a weekday; use {', '.join(WEEKDAYS)}")
        if day in days[:i]:
            raise ConfigError(key, day, "listed twice")
    return [str(d) for d in days]


def hours_of_week(start: int, length: int, days: list[str]) -> np.ndarray:
    """168 flags: ``length`` hours from ``start`` o'clock on each of ``days``, past midnight (and
    Sunday night into Monday) carried into the next day, as a shift's hours are
    (demandsim.model.rosters).

    >>> week = hours_of_week(22, 4, ["Sun"])
    >>> [int(h) for h in np.flatnonzero(week)]
    [0, 1, 166, 167]
    """
    # one person on such a shift: the rosters lay its hours on the week, the one place that does
    return shift_headcount([Shift(start_hour=start, hours=length, staff=1, days=list(days))], "window") > 0


def window_from_config(window: WindowConfig | None) -> Window | None:
    """The window the config sets, checked (one-line ConfigError naming the key), or None when
    neither ``window.hours`` nor ``window.days`` is set."""
    if window is None or (window.hours is None and window.days is None):
        return None
    start, end = (0, 24) if window.hours is None else parse_hours(window.hours)
    days = list(WEEKDAYS) if window.days is None else parse_days(window.days)
    length = end - start if end > start else end + 24 - start
    label = _label(start, end, None if window.days is None else days)
    return Window(window.hours, None if window.days is None else days, hours_of_week(start, length, days), label)


def shift_window(start_hour: int, hours: int, days: list[str], label: str) -> Window:
    """The hours of one shift (start hour, length, the days it starts on) as a :class:`Window`.

    >>> w = shift_window(17, 10, ["Mon"], "late shift")
    >>> int(w.hours_of_week.sum()), w.block()
    (10, {'hours': '17-03', 'days': ['Mon']})
    """
    length = min(int(hours), HOURS_PER_WEEK)
    end = (start_hour + length) % 24
    text = f"{start_hour:02d}-{end:02d}" if length < 24 else None  # longer than a day: no clock range names it
    return Window(text, list(days), hours_of_week(int(start_hour), length, list(days)), label)


def _label(start: int, end: int, days: list[str] | None) -> str:
    """``17:00-03:00, Fri, Sat`` (``every day`` when days is None; ``all day`` for 0-24)."""
    hours = "all day" if (start, end) == (0, 24) else f"{start:02d}:00-{end:02d}:00"
    return f"{hours}, {'every day' if days is None else ', '.join(days)}"


def check_window(cfg) -> Window | None:
    """:func:`window_from_config` of a whole :class:`~demandsim.config.schema.Config` (before a run starts)."""
    return window_from_config(getattr(cfg, "window", None))


#: a staffing key that is one shift's headcount: the group, shifts or extra, the shift's index
_SHIFT_KEY = re.compile(r"^staffing\.([\w.]+?)\.(shifts|extra)\.(\d+)\.staff$")


def _shift(config: dict | None, group: str, kind: str, index: int) -> dict | None:
    node = config or {}
    for part in ("staffing", *group.split("."), kind):
        node = node.get(part) if isinstance(node, dict) else None
    return node[index] if isinstance(node, list) and index < len(node) and isinstance(node[index], dict) else None


def shift_of(key: str, config: dict | None) -> tuple[str, str, int, dict | None] | None:
    """For a key that is one shift's staff (``staffing.<group>.shifts|extra.<i>.staff``): the
    group's key, ``shifts`` or ``extra``, the index and that shift of ``config`` (a run's config
    as a dict; None if it has no such shift); None for any other key.

    >>> shift_of("staffing.units.extra.0.staff", {"staffing": {"units": {"extra": [{"start_hour": 16}]}}})
    ('units', 'extra', 0, {'start_hour': 16})
    >>> shift_of("staffing.scale.units", {}) is None
    True
    """
    found = _SHIFT_KEY.match(key or "")
    if found is None:
        return None
    group, kind, index = found.group(1), found.group(2), int(found.group(3))
    return group, kind, index, _shift(config, group, kind, index)


def swept_shift_hours(key: str, config: dict | None) -> tuple[str, int, int, list[str]] | None:
    """The shift whose staff ``key`` is, in ``config`` (a dict): its key (``staffing.<group>.shifts.<i>``),
    start hour, hours and days, the schema's default for any left out (as a run would take it); None
    when ``key`` is not one shift's staff or the config has no such shift. A sweep of a shift's staff
    changes nothing else of it, so any run's config gives the same hours.

    >>> cfg = {"staffing": {"units": {"shifts": [{}, {"start_hour": 17, "days": ["Fri"]}]}}}
    >>> swept_shift_hours("staffing.units.shifts.1.staff", cfg)
    ('staffing.units.shifts.1', 17, 10, ['Fri'])
    >>> swept_shift_hours("staffing.scale.units", cfg) is None
    True
    """
    found = shift_of(key, config)
    if found is None or found[3] is None:
        return None
    group, kind, index, shift = found
    unset = Shift()
    return (f"staffing.{group}.{kind}.{index}", int(shift.get("start_hour", unset.start_hour)),
            int(shift.get("hours", unset.hours)), list(shift.get("days") or unset.days))


def swept_shift_window(key: str, config: dict | None) -> Window | None:
    """The hours of the shift whose staff ``key`` is (:func:`swept_shift_hours`) as a :class:`Window`
    named by the shift's key; None when ``key`` is not one shift's staff.

    >>> cfg = {"staffing": {"units": {"shifts": [{}, {"start_hour": 17, "hours": 10, "days": ["Fri"]}]}}}
    >>> w = swept_shift_window("staffing.units.shifts.1.staff", cfg)
    >>> w.label, w.block(), int(w.hours_of_week.sum())
    ('staffing.units.shifts.1', {'hours': '17-03', 'days': ['Fri']}, 10)
    """
    found = swept_shift_hours(key, config)
    return None if found is None else shift_window(found[1], found[2], found[3], found[0])
