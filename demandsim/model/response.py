"""A response officer's time: rostered, abstracted, on a break, available.

The units roster says who is on duty and paid (:mod:`demandsim.model.staffing`). Not all
of them can take an incident:

- **meal breaks**: ``staffing.response.meal_break_min`` per officer per shift of at least
  ``staffing.response.break_from_hours`` hours, spread evenly over the shift's hours (a
  10-hour shift with a 60-minute break gives 0.1 of an officer on a break in each of its
  hours). Real breaks are taken in one piece, usually mid-shift, and only as the exigencies
  of duty permit; spreading them keeps the unit-hours lost exact without inventing when
  each officer eats;
- **abstraction**: ``staffing.response.abstraction`` of the time left is taken by custody,
  constant watch, court and training (the force's "abstraction tracker").

So the units available in a simulated hour have mean ``(paid - on break) x (1 - abstraction)``,
a fraction. The engines need a whole number, so it is rounded at random: ``floor(x)``,
plus one with probability ``x - floor(x)``, decided by one uniform per simulated hour
(:func:`units_available`). The mean is then exact, and for the same uniforms more paid
units never give fewer available (the rounding is monotone in ``x``): two staffing
scenarios with the same seed differ only where the roster differs.

The uniforms come from their own stream, ``SeedSequence(entropy=seed,
spawn_key=(UNITS_AVAILABLE_STREAM, area))``, one per area of :mod:`demandsim.model.areas`
(area 0 when there are no districts). The call draws (:mod:`demandsim.draws`) use
spawn keys ``(purpose index, line, ...)`` with indices below ``len(PURPOSES)``;
:data:`UNITS_AVAILABLE_STREAM` lies well beyond them, so the call draws of every
seed, and their order, are unchanged, and purposes added to draws.py later do not
collide with it (tests/test_capacity.py checks there is room).

Example:
    >>> x = np.array([2.0, 2.25, 0.0])
    >>> units_available(x, seed=1).tolist() in ([2, 2, 0], [2, 3, 0])
    True
"""

from __future__ import annotations

import math

import numpy as np

from demandsim.config.schema import WEEKDAYS
from demandsim.errors import ConfigError

#: first spawn-key entry of the availability stream: beyond draws.PURPOSES' indices (0-11) and
#: room for 20 more purposes, so it never shares a stream with a call draw
UNITS_AVAILABLE_STREAM = 32


def check_response(response) -> tuple[float, float, float]:
    """``(abstraction, meal_break_min, break_from_hours)`` of a :class:`ResponseConfig`, or a
    ConfigError naming the key.

    >>> from demandsim.config.schema import ResponseConfig
    >>> check_response(ResponseConfig(abstraction=0.1, meal_break_min=60, break_from_hours=5))
    (0.1, 60.0, 5.0)
    >>> check_response(ResponseConfig(abstraction=1.0))
    Traceback (most recent call last):
    demandsim.errors.ConfigError: staffing.response.abstraction=1.0: must be a share in [0, 1): at 1 no unit is ever available
    """
    a, meal = response.abstraction, response.meal_break_min
    if not _number(a) or not 0 <= a < 1:
        raise ConfigError("staffing.response.abstraction", a,
                          "must be a share in [0, 1): at 1 no unit is ever available")
    if not _number(meal) or meal < 0:
        raise ConfigError("staffing.response.meal_break_min", meal, "must be a number of minutes >= 0")
    shortest = response.break_from_hours
    if not _number(shortest) or shortest < 0:
        raise ConfigError("staffing.response.break_from_hours", shortest, "must be a number of hours >= 0")
    return float(a), float(meal), float(shortest)


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def break_share_by_hour_of_week(units, meal_break_min: float, break_from_hours: float = 0.0) -> np.ndarray:
    """Per hour of the week (168), the share of the units on duty who are on a meal break.

    ``units`` is the units :class:`Roster`. The officers of each shift of at least
    ``break_from_hours`` hours take ``meal_break_min`` spread over its hours (shorter
    shifts have no break); where shifts overlap the share is the average over the officers
    on duty. A share, so scaling the roster, adding people round the clock
    (``staffing.add.units``), taking people away with a negative ``extra`` shift or moving
    officers to the phones leaves it as it is: those taken away are officers of the
    rostered shifts, and their breaks go with them. An hour-of-week roster has no shifts to place breaks in: with breaks on, it is
    refused (give shifts, or headcounts net of breaks with ``meal_break_min`` 0).

    >>> from demandsim.config.schema import Roster, Shift
    >>> r = Roster(shifts=[Shift(start_hour=0, hours=10, staff=4, days=["Mon"]),
    ...                    Shift(start_hour=8, hours=5, staff=1, days=["Mon"])])
    >>> share = break_share_by_hour_of_week(r, 30)
    >>> [round(float(share[h]), 3) for h in (0, 8, 13)]   # 4 x 0.05 and 1 x 0.1 at 08:00
    [0.05, 0.06, 0.0]
    >>> share = break_share_by_hour_of_week(r, 30, break_from_hours=6)  # no break in the 5-hour shift
    >>> [round(float(share[h]), 3) for h in (0, 8, 13)]
    [0.05, 0.04, 0.0]
    """
    on_break = np.zeros(168)
    on_duty = np.zeros(168)
    if meal_break_min == 0:
        return on_break
    if units.hour_of_week is not None:
        raise ConfigError("staffing.response.meal_break_min", meal_break_min,
                          "breaks are placed in shifts, and staffing.units.hour_of_week has none: "
                          "give shifts, or net headcounts with meal_break_min 0")
    for part in ("shifts", "extra"):
        for i, shift in enumerate(getattr(units, part)):
            if shift.staff < 0:  # people taken away: the others' share of breaks is unchanged
                continue
            if shift.hours < break_from_hours:
                np.add.at(on_duty, _hours_of(shift), shift.staff)
                continue
            if meal_break_min >= 60 * shift.hours:
                raise ConfigError("staffing.response.meal_break_min", meal_break_min,
                                  f"not shorter than the shift staffing.units.{part}[{i}] ({shift.hours} h)")
            hours = _hours_of(shift)
            np.add.at(on_break, hours, shift.staff * meal_break_min / (60 * shift.hours))
            np.add.at(on_duty, hours, shift.staff)
    return np.divide(on_break, on_duty, out=np.zeros(168), where=on_duty > 0)


def _hours_of(shift) -> np.ndarray:
    """The hours of the week a shift covers, once per day it starts on (an hour covered twice repeats:
    add with np.add.at)."""
    return np.concatenate([(WEEKDAYS.index(day) * 24 + shift.start_hour + np.arange(shift.hours)) % 168
                           for day in shift.days] or [np.zeros(0, dtype=np.int64)])


def expected_available(paid: np.ndarray, break_share: np.ndarray, abstraction: float) -> np.ndarray:
    """Mean units available: ``paid x (1 - break share) x (1 - abstraction)``, elementwise.

    >>> expected_available(np.array([10, 0]), np.array([0.1, 0.0]), 0.2).tolist()
    [7.2, 0.0]
    """
    return paid * (1.0 - break_share) * (1.0 - abstraction)


def availability_stream(seed: int, area: int = 0) -> np.random.Generator:
    """The generator of the availability uniforms of an area (module docstring: why this spawn
    key); area 0, the only one without districts, has the stream the force-wide units had."""
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(UNITS_AVAILABLE_STREAM, area))
    return np.random.Generator(np.random.PCG64(sequence))


def units_available(expected: np.ndarray, seed: int, area: int = 0) -> np.ndarray:
    """Whole units available per simulated hour: ``expected`` rounded at random, mean exact.

    ``floor(x) + 1`` when the hour's uniform is below ``x - floor(x)``, else ``floor(x)``:
    the rule ``floor(x + u)`` with ``u`` mirrored, written so that a whole ``x`` gives ``x``
    exactly (``x + u`` in floating point can round up to ``x + 1`` when ``u`` is within
    1e-16 of 1). Hour h's uniform is the stream's h-th number whatever the run's length.
    """
    whole = np.floor(expected)
    u = availability_stream(seed, area).random(len(expected))
    return (whole + (u < expected - whole)).astype(np.int64)
