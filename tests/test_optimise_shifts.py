"""Covering an hourly requirement with whole shifts (issue 13, demandsim/optimise/shifts.py).

- the shift roster has at least the required people on duty in every hour of the week;
- no roster of the allowed patterns has fewer staff-hours: brute force over every whole-number
  combination on small cases (and, among the cheapest, none has fewer people);
- random requirements (fixed seed) are always covered, and the answer is the same whatever
  order the patterns come in;
- bad patterns and uncovered hours are one-line errors naming optimise.shifts and the value;
- a pattern covers exactly the hours the model's rosters lay the same shift on (over midnight,
  Sunday night into Monday), and the covering read back as a roster is the same week;
- repair adds one person to the cheapest pattern over each failing hour.
"""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest

from demandsim.config import load_config
from demandsim.config.schema import WEEKDAYS, Roster, Shift
from demandsim.errors import ConfigError
from demandsim.model.rosters import headcount_by_hour_of_week
from demandsim.model.staffing import paid_by_hour_of_week
from demandsim.optimise.shifts import (
    ShiftPattern,
    as_roster_shifts,
    as_shifts,
    cover,
    patterns_from_config,
    repair,
    roster_of,
    staff_hours,
)

HOURS = np.arange(168)
#: a control room's day: quiet at 04:00, busiest at 16:00, more at the weekend (Fri-Sun)
DAILY = np.round(9 + 7 * np.sin(2 * np.pi * (HOURS % 24 - 10) / 24) + 3 * (HOURS // 24 >= 4)).astype(int)
#: earlies, lates, nights (over midnight), a long day, and a weekend-only evening shift
PATTERNS = [ShiftPattern(7, 8), ShiftPattern(15, 8), ShiftPattern(23, 8), ShiftPattern(8, 12),
            ShiftPattern(18, 8, ("Fri", "Sat", "Sun"))]


def one_day_on_the_week(day: list[int]) -> np.ndarray:
    """The same 24 hourly numbers on every day of the week."""
    return np.tile(np.asarray(day, dtype=np.int64), 7)


# ----------------------------------------------------------------- (1) covered, and read back as a roster
def test_the_shift_roster_covers_every_hour():
    counts = cover(DAILY, PATTERNS)
    on_duty = roster_of(counts)
    short = [h for h in range(168) if on_duty[h] < DAILY[h]]
    assert not short, short
    assert counts.optimal and counts.least_possible == staff_hours(counts) == on_duty.sum()
    assert staff_hours(counts) >= DAILY.sum()


def test_the_covering_as_a_roster_is_the_same_week():
    counts = cover(DAILY, PATTERNS)
    week = headcount_by_hour_of_week(Roster(shifts=as_roster_shifts(counts)), "staffing.call_handlers")
    assert (week == roster_of(counts)).all()
    shifts = as_shifts(counts)
    assert json.loads(json.dumps(shifts)) == shifts  # JSON-ready: plain ints, strings and lists
    assert all(set(s) == {"start_hour", "hours", "staff", "days"} and s["staff"] > 0 for s in shifts)
    assert len(shifts) == sum(1 for n in counts.values() if n > 0)
    assert sum(s["staff"] * s["hours"] * len(s["days"]) for s in shifts) == staff_hours(counts)


def test_nobody_required_is_nobody_rostered():
    counts = cover(np.zeros(168, dtype=int), PATTERNS)
    assert list(counts) == PATTERNS and set(counts.values()) == {0}
    assert as_shifts(counts) == []


# ----------------------------------------------------------------- (2) least: brute force on small cases
def brute_force(need: np.ndarray, patterns: list[ShiftPattern]) -> tuple[int, int]:
    """(least staff-hours, fewest people among those) over every combination of 0..max(need) per pattern.

    Searching that box is exhaustive: more people on one pattern than the most any hour needs
    can be taken off without leaving an hour short, and costs more."""
    covers = np.stack([p.covers() for p in patterns], axis=1)
    cost = np.array([p.hours_per_week for p in patterns])
    best = None
    for x in itertools.product(range(int(need.max()) + 1), repeat=len(patterns)):
        x = np.array(x)
        if (covers @ x >= need).all():
            best = min(best or (10**9, 0), (int(cost @ x), int(x.sum())))
    return best


def small_cases(n: int, seed: int):
    """Small requirements over one day laid on the week, with 3-4 patterns that cover every hour needed."""
    rng = random.Random(seed)
    made = 0
    while made < n:
        patterns = {ShiftPattern(rng.randrange(24), rng.choice([4, 6, 8, 10, 12]),
                                 tuple(WEEKDAYS) if rng.random() < 0.8 else tuple(rng.sample(WEEKDAYS, 5)))
                    for _ in range(rng.choice([3, 4]))}
        patterns = sorted(patterns, key=ShiftPattern.order)
        day = [rng.choice([0, 1, 1, 2, 3]) for _ in range(24)]
        need = one_day_on_the_week(day)
        need[np.stack([p.covers() for p in patterns]).sum(axis=0) == 0] = 0  # only hours some pattern covers
        if need.any():
            made += 1
            yield need, patterns


@pytest.mark.parametrize("seed", range(4))
def test_no_roster_of_the_allowed_shifts_has_fewer_staff_hours(seed):
    for need, patterns in small_cases(6, seed):
        counts = cover(need, patterns)
        assert (roster_of(counts) >= need).all()
        least, fewest = brute_force(need, patterns)
        assert staff_hours(counts) == least, (patterns, need[:24])
        assert sum(counts.values()) == fewest, (patterns, need[:24])  # the tie rule: the fewest people


def test_a_long_shift_beats_two_short_ones_when_it_is_cheaper():
    """06:00-14:00 needs 2 and 14:00-18:00 needs 1: an early and a 12-hour day (20 h), not 2 earlies and
    a late (24 h) - the choice a shift-by-shift rule of thumb gets wrong."""
    early, late, day = ShiftPattern(6, 8), ShiftPattern(14, 8), ShiftPattern(6, 12)
    need = one_day_on_the_week([0] * 6 + [2] * 8 + [1] * 4 + [0] * 6)
    counts = cover(need, [early, late, day])
    assert (counts[early], counts[late], counts[day]) == (1, 0, 1)
    assert staff_hours(counts) == 20 * 7


# ----------------------------------------------------------------- (3) random requirements; ties the same way
def test_random_requirements_are_always_covered():
    rng = np.random.default_rng(13)
    patterns = [ShiftPattern(s, n) for s in range(0, 24, 3) for n in (8, 10, 12)]
    patterns += [ShiftPattern(s, 8, tuple(WEEKDAYS[(k + i) % 7] for i in range(5))) for s in (7, 22) for k in range(7)]
    for _ in range(8):
        need = rng.poisson(rng.uniform(1, 30), size=168)
        counts = cover(need, patterns)
        assert counts.optimal
        assert (roster_of(counts) >= need).all()
        assert staff_hours(counts) >= need.sum()


def test_the_same_answer_every_time_and_for_any_order():
    counts = cover(DAILY, PATTERNS)
    assert cover(DAILY, PATTERNS) == counts
    rng = random.Random(5)
    for _ in range(4):
        shuffled = rng.sample(PATTERNS, len(PATTERNS))
        again = cover(DAILY, shuffled)
        assert again == counts and list(again) == shuffled  # same staff; the caller's order kept


def test_ties_go_the_same_way():
    # 10:00 on Monday: an 08:00 or a 09:00 shift covers it at the same cost: one of them, the same in either listing
    eight, nine = ShiftPattern(8, 8, ("Mon",)), ShiftPattern(9, 8, ("Mon",))
    need = np.zeros(168, dtype=int)
    need[10] = 1
    first = cover(need, [nine, eight])
    assert first == cover(need, [eight, nine]) == cover(need, [nine, eight])
    assert sorted(first.values()) == [0, 1]
    # 06:00-18:00: one 12-hour shift or two 6-hour ones, the same staff-hours: the fewer people
    day, morning, afternoon = ShiftPattern(6, 12), ShiftPattern(6, 6), ShiftPattern(12, 6)
    need = one_day_on_the_week([0] * 6 + [1] * 12 + [0] * 6)
    for patterns in itertools.permutations([day, morning, afternoon]):
        assert cover(need, list(patterns)) == {day: 1, morning: 0, afternoon: 0}


# ----------------------------------------------------------------- (4) errors
@pytest.mark.parametrize("items, message", [
    ([], "optimise.shifts=[]: give at least one shift pattern"),
    ("07:00", "optimise.shifts=07:00: a list of shift patterns"),
    ([{"start_hour": 24, "hours": 8}], "optimise.shifts[0].start_hour=24: must be 0..23"),
    ([{"start_hour": 7, "hours": 8}, {"start_hour": -1, "hours": 8}],
     "optimise.shifts[1].start_hour=-1: must be 0..23"),
    ([{"start_hour": 7, "hours": 0}], "optimise.shifts[0].hours=0: must be 1..24"),
    ([{"start_hour": 7, "hours": 25}], "optimise.shifts[0].hours=25: must be 1..24"),
    ([{"start_hour": 7, "hours": 7.5}], "optimise.shifts[0].hours=7.5: must be 1..24"),
    ([{"start_hour": 7, "hours": 8, "days": ["Mon", "Funday"]}], "optimise.shifts[0].days=Funday: not a weekday"),
    ([{"start_hour": 7, "hours": 8, "days": "Mon"}], "optimise.shifts[0].days=Mon: a list of weekdays"),
    ([{"start_hour": 7, "hours": 8, "days": []}], "optimise.shifts[0].days=[]: give at least one weekday"),
    ([{"start_hour": 7, "hours": 8, "days": ["Mon", "Mon"]}], "optimise.shifts[0].days=Mon: named twice"),
    ([{"start_hour": 7, "hours": 8, "days": ["Sat", "Sun"]}, {"start_hour": 7, "hours": 8, "days": ["Sun", "Sat"]}],
     "optimise.shifts[1]='07:00 for 8 h on Sat, Sun': the same pattern as optimise.shifts[0]"),
    ([{"start_hour": 7, "hours": 8, "staff": 3}], "optimise.shifts[0].staff=3: not a field of a shift pattern"),
    ([{"start_hour": 7}], "optimise.shifts[0].hours=missing"),
])
def test_bad_patterns_are_one_line_errors(items, message):
    with pytest.raises(ConfigError) as error:
        patterns_from_config(items)
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)


def test_patterns_from_config_reads_a_roster_like_list():
    found = patterns_from_config([{"start_hour": 22, "hours": 8},
                                  {"start_hour": 7, "hours": 10, "days": ["Sun", "Sat"]}])
    assert found == [ShiftPattern(22, 8, tuple(WEEKDAYS)), ShiftPattern(7, 10, ("Sat", "Sun"))]
    assert patterns_from_config([{"start_hour": 7, "hours": 8}], key="x.y")[0].hours_per_week == 56


def test_hours_no_pattern_covers_are_named():
    nights_off = [ShiftPattern(7, 8), ShiftPattern(15, 8)]  # nobody from 23:00 to 07:00
    need = np.zeros(168, dtype=int)
    need[[3, 27]] = 1                                       # Mon 03:00 and Tue 03:00
    with pytest.raises(ConfigError) as error:
        cover(need, nights_off)
    text = str(error.value)
    assert text.startswith("optimise.shifts: no pattern covers Mon 03:00, Tue 03:00, when staff "
                           "are required (2 hours a week)"), text
    need[[0, 1, 2, 167]] = 2                                # consecutive hours as one span
    with pytest.raises(ConfigError, match="covers Mon 00:00-03:59, Tue 03:00, Sun 23:00"):
        cover(need, nights_off)


def test_a_bad_requirement_is_named():
    with pytest.raises(ConfigError, match=r"required='shape \(24,\)': needs 168 numbers"):
        cover(np.ones(24, dtype=int), PATTERNS)
    need = np.ones(168)
    need[40] = -1
    with pytest.raises(ConfigError, match=r"required\[40\]=-1.0: must be a whole number >= 0 \(at Tue 16:00\)"):
        cover(need, PATTERNS)
    need[40] = 1.5
    with pytest.raises(ConfigError, match=r"required\[40\]=1.5"):
        cover(need, PATTERNS)
    with pytest.raises(ConfigError, match="optimise.shifts=\\[\\]: give at least one"):
        cover(np.ones(168, dtype=int), [])


def test_a_pattern_made_in_python_is_checked_too():
    with pytest.raises(ConfigError, match="shift pattern.start_hour=24"):
        ShiftPattern(24, 8)
    assert ShiftPattern(7, np.int64(8)).hours == 8 and type(ShiftPattern(7, np.int64(8)).hours) is int


# ----------------------------------------------------------------- (5) the same week as the model's rosters
@pytest.mark.parametrize("start, hours, days, on_duty", [
    # a night over midnight: Tue 22:00 into Wed 06:00
    (22, 8, ["Tue"], [24 + 22, 24 + 23] + [48 + h for h in range(6)]),
    # Sunday night into Monday morning, the week wrapped
    (22, 4, ["Sun"], [166, 167, 0, 1]),
])
def test_a_pattern_covers_the_hours_the_roster_lays_the_shift_on(start, hours, days, on_duty):
    pattern = ShiftPattern(start, hours, tuple(days))
    covers = pattern.covers()
    assert set(np.flatnonzero(covers)) == set(on_duty) and set(covers.tolist()) == {0, 1}
    assert pattern.hours_per_week == covers.sum() == len(on_duty)
    # the model's own reading of a config with that shift and one person on it
    shift = f"{{start_hour:{start},hours:{hours},staff:1,days:[{','.join(days)}]}}"
    cfg = load_config([f"staffing.call_handlers.shifts=[{shift}]"])
    assert (paid_by_hour_of_week(cfg.staffing)["call_handlers"] == covers).all()


def test_every_day_patterns_lay_as_roster_shifts():
    for pattern in [ShiftPattern(s, n) for s in (0, 7, 19, 23) for n in (1, 10, 24)]:
        shift = Shift(start_hour=pattern.start_hour, hours=pattern.hours, staff=1)
        week = headcount_by_hour_of_week(Roster(shifts=[shift]), "staffing.units")
        assert (pattern.covers() == week).all() and week.max() == 1, pattern


# ----------------------------------------------------------------- repair
def test_repair_raises_every_failing_hour_from_the_cheapest_pattern():
    counts = cover(DAILY, PATTERNS)
    before = dict(counts)
    failing = [16, 17, 18, 100, 4 * 24 + 20]               # Mon 16-18, Fri 04:00, Fri 20:00
    repaired = repair(counts, failing, PATTERNS)
    assert dict(counts) == before                            # the covering itself is left alone
    gained = roster_of(repaired) - roster_of(counts)
    assert (gained[failing] >= 1).all() and (gained >= 0).all()
    # Mon 16-18 share one late (15:00, the cheapest over them); Fri 04:00 has only the night (23:00);
    # Fri 20:00 is raised already: the late added for Monday works every day
    added = {p: repaired[p] - counts[p] for p in PATTERNS if repaired[p] != counts[p]}
    assert added == {ShiftPattern(15, 8): 1, ShiftPattern(23, 8): 1}
    # Fri 20:00 alone: the weekend evening shift (24 h a week) rather than a late (56 h a week)
    alone = repair(counts, [4 * 24 + 20], PATTERNS)
    assert {p: alone[p] - counts[p] for p in PATTERNS if alone[p] != counts[p]} == {PATTERNS[-1]: 1}


def test_repair_names_a_failing_hour_no_pattern_covers():
    day_only = [ShiftPattern(7, 8)]
    with pytest.raises(ConfigError, match="optimise.shifts: no pattern covers Mon 03:00"):
        repair({day_only[0]: 2}, [3], day_only)
