"""Simulated time against the calendar: weekday, hour of week, month.

Time 0 is midnight at the start of ``run.start_date``; the simulator works in
seconds from there.

Example:
    >>> cal = Calendar.from_config("2021-04-05", days=1)   # a Monday
    >>> int(cal.hour_of_week[0]), int(cal.month[0])
    (0, 4)
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from demandsim.errors import ConfigError

HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class Calendar:
    """Per simulated hour: its hour of week (0 = Monday 00-01) and month (1-12)."""

    start: dt.date
    hours: int
    hour_of_week: np.ndarray
    month: np.ndarray

    @classmethod
    def from_config(cls, start_date: str, days: float) -> "Calendar":
        try:
            start = dt.date.fromisoformat(str(start_date))
        except ValueError:
            raise ConfigError("run.start_date", start_date, "not a date in YYYY-MM-DD form") from None
        hours = int(math.ceil(days * 24))
        # naive local time, no clock changes: hour h is day h // 24 at h % 24 o'clock
        h = np.arange(hours, dtype=np.int64)
        day = h // 24
        how = (start.weekday() + day) % 7 * 24 + h % 24
        month = (np.datetime64(start, "D") + day).astype("datetime64[M]").astype(np.int64) % 12 + 1
        return cls(start, hours, how, month)

    @property
    def start_hour_of_week(self) -> int:
        """Hour of week at time 0."""
        return self.start.weekday() * 24
