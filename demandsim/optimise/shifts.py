"""Cover an hourly staff requirement with whole shifts: the least staff-hours per week.

The optimiser first finds how many people each hour of the week needs (168 numbers). People
are not hired by the hour: they work shifts. Given the shift patterns a control room allows
(``optimise.shifts``: start hour, length, weekdays), :func:`cover` chooses how many people
work each pattern so that in every hour at least the required number are on duty, with the
least staff-hours per week. That is an integer program (a covering problem)::

    minimise    sum_p hours_per_week(p) * x_p
    subject to  sum_p covers(p)[h] * x_p >= required[h]   for every hour h of the week
                x_p whole numbers >= 0

solved exactly by ``scipy.optimize.milp`` (HiGHS, branch and bound, relative gap 0; a time
limit guards against a list of hundreds of patterns, and says when it stopped the proof). A
pattern is worked by each of its people on every one of its days; a shift past midnight
carries into the next day and Sunday night into Monday, laid on the week by
:func:`demandsim.model.rosters.shift_headcount`, the function the model's rosters use, so
a pattern covers exactly the hours the same shift would in a roster.

Ties: several rosters often share the least staff-hours. The answer is the same every time
and whatever the order the patterns are listed in: among the cheapest rosters the one with
the fewest people is taken (fewer, longer shifts: fewer people to find), and the problem is
handed to the solver with the patterns in one fixed order (start hour, length, weekdays),
the solver being deterministic.

After a simulation of the shift roster finds a goal missed in some hours, :func:`repair`
adds one person to the cheapest pattern covering each such hour.

Example:
    >>> early, late, long_ = ShiftPattern(6, 8), ShiftPattern(14, 8), ShiftPattern(6, 12)
    >>> need = np.zeros(168, dtype=int)
    >>> need[6:14] = 2                      # Monday 06:00-13:59: two people
    >>> need[14:18] = 1                     # then one until 17:59
    >>> counts = cover(need, [early, late, long_])
    >>> counts[early], counts[late], counts[long_]      # 20 hours a day, not 2 x 8 + 8
    (1, 0, 1)
    >>> bool((roster_of(counts) >= need).all()), staff_hours(counts)
    (True, 140)
    >>> as_shifts(counts)[0]
    {'start_hour': 6, 'hours': 8, 'staff': 1, 'days': ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from demandsim.config.schema import WEEKDAYS, Shift
from demandsim.errors import ANY, ConfigError, whole_number
from demandsim.model.rosters import HOURS_PER_WEEK, shift_headcount
from demandsim.model.staffing import hour_name

#: the config key of the allowed shift patterns (issue 13)
SHIFTS_KEY = "optimise.shifts"
#: a pattern is one person's shift on each of its days: longer than a day would overlap itself
MAX_SHIFT_HOURS = 24
#: the fields of a pattern in the config (a roster's Shift without ``staff``: the optimiser finds that)
_FIELDS = ("start_hour", "hours", "days")
#: uncovered hours named in one error before the rest are counted
_NAMED_AT_MOST = 12


@dataclass(frozen=True)
class ShiftPattern:
    """A shift one person may work: from ``start_hour`` for ``hours`` on each of ``days``.

    ``days`` are kept in week order (``("Sun", "Mon")`` is the pattern ``("Mon", "Sun")``), so
    two patterns that cover the same hours compare equal.

    Example:
        >>> night = ShiftPattern(start_hour=22, hours=10, days=("Sun",))
        >>> night.hours_per_week, night.describe()
        (10, '22:00 for 10 h on Sun')
        >>> [hour_name(h) for h in np.flatnonzero(night.covers())][:3]
        ['Mon 00:00', 'Mon 01:00', 'Mon 02:00']
    """

    start_hour: int
    hours: int
    days: tuple[str, ...] = tuple(WEEKDAYS)

    def __post_init__(self) -> None:
        start, hours, days = _checked(self.start_hour, self.hours, self.days, "shift pattern")
        # frozen: the checked, week-ordered values replace what was given (an int for a numpy int too)
        object.__setattr__(self, "start_hour", start)
        object.__setattr__(self, "hours", hours)
        object.__setattr__(self, "days", days)

    def covers(self) -> np.ndarray:
        """168 zeros and ones (Monday 00:00-01:00 first): the hours one person on this pattern works."""
        shift = Shift(start_hour=self.start_hour, hours=self.hours, staff=1, days=list(self.days))
        return shift_headcount([shift], "shift pattern")

    @property
    def hours_per_week(self) -> int:
        """Hours one person on this pattern works in a week (its cost)."""
        return self.hours * len(self.days)

    def describe(self) -> str:
        """The pattern in words: ``"07:00 for 10 h every day"``, ``"22:00 for 8 h on Mon, Tue"``."""
        days = "every day" if len(self.days) == len(WEEKDAYS) else "on " + ", ".join(self.days)
        return f"{self.start_hour:02d}:00 for {self.hours} h {days}"

    def order(self) -> tuple:
        """The fixed order patterns are taken in (start hour, length, weekdays): ties go the same way."""
        return self.start_hour, self.hours, tuple(WEEKDAYS.index(d) for d in self.days)


def _checked(start_hour, hours, days, where: str) -> tuple[int, int, tuple[str, ...]]:
    """A pattern's fields checked (ConfigError naming ``where``.field and the value), days in week order."""
    start = whole_number(start_hour, f"{where}.start_hour", 0, 23)
    length = whole_number(hours, f"{where}.hours", 1, MAX_SHIFT_HOURS)
    if isinstance(days, str) or not isinstance(days, Iterable):
        raise ConfigError(f"{where}.days", days, f"a list of weekdays ({', '.join(WEEKDAYS)})")
    days = list(days)
    if not days:
        raise ConfigError(f"{where}.days", "[]", "give at least one weekday (leave days out for every day)")
    for day in days:
        if day not in WEEKDAYS:
            raise ConfigError(f"{where}.days", day, f"not a weekday; use {', '.join(WEEKDAYS)}")
        if days.count(day) > 1:
            raise ConfigError(f"{where}.days", day, "named twice: one person works a pattern once a day")
    return start, length, tuple(sorted(days, key=WEEKDAYS.index))


def patterns_from_config(items, key: str = SHIFTS_KEY) -> list[ShiftPattern]:
    """The allowed shift patterns from a config list of ``{start_hour, hours, days}``.

    ``days`` may be left out: every day, as for a roster's shift. Each bad entry is a one-line
    ConfigError naming ``key[i].field`` and the value; so are an empty list and a pattern
    given twice (the same hours, whatever the order of its days).

    Example:
        >>> found = patterns_from_config([{"start_hour": 7, "hours": 10},
        ...                               {"start_hour": 22, "hours": 8, "days": ["Sun", "Sat"]}])
        >>> [p.describe() for p in found]
        ['07:00 for 10 h every day', '22:00 for 8 h on Sat, Sun']
        >>> patterns_from_config([])
        Traceback (most recent call last):
        ...
        demandsim.errors.ConfigError: optimise.shifts=[]: give at least one shift pattern
    """
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise ConfigError(key, items, "a list of shift patterns, each {start_hour, hours, days}")
    items = list(items)
    if not items:
        raise ConfigError(key, "[]", "give at least one shift pattern")
    patterns: list[ShiftPattern] = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        fields = _fields_of(item, where)
        start, hours, days = _checked(fields.get("start_hour"), fields.get("hours"),
                                      fields.get("days", WEEKDAYS), where)
        pattern = ShiftPattern(start_hour=start, hours=hours, days=days)
        if pattern in patterns:
            first = patterns.index(pattern)
            raise ConfigError(where, pattern.describe(), f"the same pattern as {key}[{first}]; give each once")
        patterns.append(pattern)
    return patterns


def _fields_of(item, where: str) -> dict:
    """A config entry's fields: a mapping (YAML, OmegaConf) or an object with the fields (a dataclass)."""
    if isinstance(item, Mapping):
        fields = dict(item)
    elif all(hasattr(item, name) for name in ("start_hour", "hours")):
        fields = {name: getattr(item, name) for name in _FIELDS if hasattr(item, name)}
    else:
        raise ConfigError(where, item, "a shift pattern is {start_hour, hours, days}")
    for name in fields:
        if name not in _FIELDS:
            why = " (the optimiser finds the staff)" if name == "staff" else ""
            raise ConfigError(f"{where}.{name}", fields[name],
                              f"not a field of a shift pattern; use start_hour, hours, days{why}")
    for name in ("start_hour", "hours"):
        if name not in fields:
            raise ConfigError(f"{where}.{name}", "missing", "every shift pattern needs start_hour and hours")
    return fields


class Covering(dict):
    """Staff per pattern (a ``dict[ShiftPattern, int]``) and what the solver proved about it.

    ``optimal``: no roster of these patterns has fewer staff-hours (false only when the solver
    stopped at ``time_limit`` first); ``least_possible``: a proven lower bound on the staff-hours
    (equal to :func:`staff_hours` of the roster when optimal).
    """

    optimal: bool = True
    least_possible: int = 0


def cover(required, patterns, key: str = SHIFTS_KEY, time_limit: float = 60.0) -> Covering:
    """How many people on each pattern: the least staff-hours per week with, in every hour of the
    week, at least ``required`` (168 whole numbers >= 0, Monday 00:00 first) on duty.

    Every pattern is in the answer (0 for those not used), in the order given. Among rosters with
    the least staff-hours, one with the fewest people; the same answer every time and for any order
    of ``patterns`` (see the module docstring). ConfigError naming ``key`` when no pattern covers
    an hour that needs staff (the hours named).

    A few dozen patterns take well under a second. Hundreds (every start hour, several lengths and
    day rotations) can take minutes to *prove* least: after ``time_limit`` seconds the best roster
    found is returned with ``optimal`` false and the proven bound in ``least_possible`` (then the
    answer may depend on the machine's speed).
    """
    need = _requirement(required)
    patterns = list(patterns)
    if not patterns:
        raise ConfigError(key, "[]", "give at least one shift pattern")
    if len(set(patterns)) != len(patterns):
        raise ValueError("cover: a pattern is listed twice")
    coverage = np.stack([p.covers() for p in patterns], axis=1)  # 168 x patterns
    _refuse_uncovered(need, coverage, len(patterns), key)
    counts = Covering.fromkeys(patterns, 0)
    if not need.any():
        return counts
    # the solver always sees the patterns in one order, so that ties go the same way for any listing
    order = sorted(range(len(patterns)), key=lambda j: patterns[j].order())
    hours = np.array([patterns[j].hours_per_week for j in order], dtype=float)
    solution, counts.optimal, counts.least_possible = _least_staff_hours(
        need, coverage[:, order].astype(float), hours, time_limit)
    for j, x in zip(order, solution):
        counts[patterns[j]] = int(x)
    return counts


def _requirement(required) -> np.ndarray:
    """``required`` as 168 int64, or ConfigError naming the bad hour."""
    values = np.asarray(required)
    if values.shape != (HOURS_PER_WEEK,):
        raise ConfigError("required", f"shape {values.shape}", "needs 168 numbers, one per hour of the week")
    if values.dtype.kind not in "iuf" or values.dtype.kind == "f" and not np.isfinite(values).all():
        bad = next(h for h, v in enumerate(values.tolist()) if not isinstance(v, (int, float)) or v != v)
        raise ConfigError(f"required[{bad}]", values[bad], "must be a whole number >= 0")
    wrong = np.flatnonzero((values < 0) | (values != np.round(values)))
    if len(wrong):
        h = int(wrong[0])
        raise ConfigError(f"required[{h}]", values[h], f"must be a whole number >= 0 (at {hour_name(h)})")
    return values.astype(np.int64)


def _refuse_uncovered(need: np.ndarray, coverage: np.ndarray, n_patterns: int, key: str) -> None:
    """ConfigError naming ``key`` and, in words, every hour that needs staff and no pattern covers."""
    uncovered = np.flatnonzero((need > 0) & (coverage.sum(axis=1) == 0))
    if len(uncovered):
        n = len(uncovered)
        raise ConfigError(key, ANY,
                          f"no pattern covers {hours_in_words(uncovered)}, when staff are required "
                          f"({n} hour{'s' if n != 1 else ''} a week); add a pattern that does")


def hours_in_words(hours) -> str:
    """Hours of the week in words, a run of consecutive hours as one span.

    Example:
        >>> hours_in_words([3, 27])
        'Mon 03:00, Tue 03:00'
        >>> hours_in_words([0, 1, 2, 3, 4, 5, 166, 167])
        'Mon 00:00-05:59, Sun 22:00-23:59'
    """
    hours = sorted(int(h) for h in hours)
    runs: list[list[int]] = []
    for h in hours:
        if runs and h == runs[-1][-1] + 1:
            runs[-1].append(h)
        else:
            runs.append([h])
    words = []
    for run in runs:
        first, last = run[0], run[-1]
        if first == last:
            words.append(hour_name(first))
        else:
            end = f"{last % 24:02d}:59" if first // 24 == last // 24 else f"{hour_name(last)[:-2]}59"
            words.append(f"{hour_name(first)}-{end}")
    named = ", ".join(words[:_NAMED_AT_MOST])
    return named if len(words) <= _NAMED_AT_MOST else f"{named} and {len(words) - _NAMED_AT_MOST} more"


def _least_staff_hours(need: np.ndarray, coverage: np.ndarray, hours: np.ndarray, time_limit: float
                       ) -> tuple[np.ndarray, bool, int]:
    """Whole staff per pattern with ``coverage @ x >= need``: least ``hours @ x``, then fewest people;
    whether that was proven, and the proven lower bound on ``hours @ x``."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    rows = need > 0  # an hour needing nobody is met by any roster
    covering = LinearConstraint(coverage[rows], lb=need[rows].astype(float), ub=np.inf)
    # nobody needs more people on one pattern than the most any of its hours requires
    upper = np.array([need[coverage[:, j] > 0].max(initial=0) for j in range(coverage.shape[1])], dtype=float)
    # one solve, two aims: a staff-hour weighs more than the most people any roster here can have,
    # so the fewest people only choose among rosters of the least staff-hours (all whole numbers:
    # exact in floating point far beyond any control room)
    weight = float(upper.sum()) + 1.0
    cost = hours * weight + 1.0
    # relative gap 0: the default (1e-4) could stop staff-hours short of the least
    options = {"mip_rel_gap": 0.0, "disp": False, "time_limit": float(time_limit)}
    result = milp(cost, integrality=np.ones(len(hours)), bounds=Bounds(0, upper), constraints=covering,
                  options=options)
    if result.x is None:  # cannot be infeasible (every needed hour has a pattern): out of time before any roster
        raise RuntimeError(f"shift covering: no roster found within {time_limit} s ({result.message}); "
                           "allow fewer patterns or more time")
    found = np.round(result.x).astype(np.int64)
    assert (coverage @ found >= need).all(), "the solver's roster leaves an hour short"
    staff_hours = int(hours @ found)
    if result.status == 0:
        return found, True, staff_hours
    # any roster x has weight * hours(x) + people(x) >= the dual bound, and people(x) < weight
    dual = float(getattr(result, "mip_dual_bound", None) or 0.0)
    bound = int(np.ceil((dual - weight + 1.0) / weight - 1e-9))
    return found, False, max(0, min(bound, staff_hours))


def roster_of(counts: Mapping[ShiftPattern, int]) -> np.ndarray:
    """People on duty in each hour of the week (168 int64, Monday 00:00 first) for staff per pattern."""
    week = np.zeros(HOURS_PER_WEEK, dtype=np.int64)
    for pattern, staff in counts.items():
        if staff:
            week += int(staff) * pattern.covers()
    return week


def staff_hours(counts: Mapping[ShiftPattern, int]) -> int:
    """Staff-hours per week of staff per pattern (the cost :func:`cover` least)."""
    return sum(int(staff) * pattern.hours_per_week for pattern, staff in counts.items())


def as_shifts(counts: Mapping[ShiftPattern, int]) -> list[dict]:
    """The patterns with staff, JSON-ready in optimise.json's layout, in the fixed pattern order.

    Example:
        >>> as_shifts({ShiftPattern(22, 8, ("Sat", "Fri")): 2, ShiftPattern(7, 10): 0})
        [{'start_hour': 22, 'hours': 8, 'staff': 2, 'days': ['Fri', 'Sat']}]
    """
    used = sorted((p for p, staff in counts.items() if staff > 0), key=ShiftPattern.order)
    return [{"start_hour": p.start_hour, "hours": p.hours, "staff": int(counts[p]), "days": list(p.days)}
            for p in used]


def as_roster_shifts(counts: Mapping[ShiftPattern, int]) -> list[Shift]:
    """The patterns with staff as a roster's :class:`Shift` list: ``Roster(shifts=...)`` runs the covering.

    Example:
        >>> from demandsim.config.schema import Roster
        >>> from demandsim.model.rosters import headcount_by_hour_of_week
        >>> counts = {ShiftPattern(22, 4, ("Sun",)): 3}
        >>> week = headcount_by_hour_of_week(Roster(shifts=as_roster_shifts(counts)), "staffing.call_handlers")
        >>> bool((week == roster_of(counts)).all())
        True
    """
    return [Shift(**shift) for shift in as_shifts(counts)]


def repair(counts: Mapping[ShiftPattern, int], failing_hours, patterns, key: str = SHIFTS_KEY
           ) -> dict[ShiftPattern, int]:
    """``counts`` with at least one more person on duty in each of ``failing_hours`` (hours of the week).

    One pass over the failing hours, earliest first: an hour already given a person by this pass is
    left; otherwise one person is added to the pattern with the fewest hours per week among those
    covering it (of equals, the one covering most of the failing hours still to raise, then the first
    in the fixed pattern order). A failing hour no pattern covers: ConfigError naming ``key``.
    ``counts`` is not changed; patterns not in it start at 0.

    Example:
        >>> short, long_ = ShiftPattern(8, 4, ("Mon",)), ShiftPattern(6, 12, ("Mon",))
        >>> repaired = repair({short: 1, long_: 1}, [9, 10, 16], [short, long_])   # Mon 09:00, 10:00, 16:00
        >>> repaired[short], repaired[long_]     # the short shift raises 09:00 and 10:00, only the long one 16:00
        (2, 2)
    """
    patterns = list(patterns)
    repaired = {p: int(n) for p, n in counts.items()}
    for p in patterns:
        repaired.setdefault(p, 0)
    if not patterns:
        raise ConfigError(key, "[]", "give at least one shift pattern")
    failing = sorted({whole_number(h, "failing hour of the week", 0, HOURS_PER_WEEK - 1) for h in failing_hours})
    coverage = {p: p.covers() for p in patterns}
    _refuse_uncovered(np.isin(np.arange(HOURS_PER_WEEK), failing).astype(np.int64),
                      np.stack([coverage[p] for p in patterns], axis=1), len(patterns), key)
    to_raise = set(failing)
    for hour in failing:
        if hour not in to_raise:
            continue
        def cheapest_first(p: ShiftPattern) -> tuple:
            still_short = sum(int(coverage[p][h]) for h in to_raise)
            return p.hours_per_week, -still_short, p.order()

        best = min((p for p in patterns if coverage[p][hour]), key=cheapest_first)
        repaired[best] += 1
        to_raise -= {h for h in to_raise if coverage[best][h]}
    return repaired
