"""Response officers as people, and one key per lever (issue 10).

- ``staffing.scale.<group>`` multiplies whole rosters, rounded half up per hour of the week;
- units available = (rostered - meal breaks) x (1 - abstraction), rounded at random per
  simulated hour: exact in mean, monotone in the roster under common random numbers;
- officers on the phones move from the units roster to the call handlers (unless on overtime);
- utilisation is busy over available and never above 1; busy time above it is overtime.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from demandsim.config import load_config
from demandsim.draws import PURPOSES
from demandsim.engines import get_engine
from demandsim.errors import ConfigError
from demandsim.model.plan import STAFF_GROUPS, build_model, build_plan, with_headcount
from demandsim.model.response import UNITS_AVAILABLE_STREAM
from demandsim.model.rosters import headcount_by_hour_of_week
from demandsim.model.staffing import ROSTER_KEYS, roster_of
from helpers import cli, run

SHORT = ["run.days=3", "run.warmup_days=1"]
DAY = list(range(24))
#: two units shifts that overlap at 15:00-17:00: 5 from 07:00 and 3 from 15:00, 10 hours each
TWO_SHIFTS = "staffing.units.shifts=[{start_hour:7,hours:10,staff:5},{start_hour:15,hours:10,staff:3}]"


def monday(model, group: str) -> list[int]:
    """The first day's (a Monday's) 24 rostered headcounts of ``group``."""
    return model.rostered[group][:24].tolist()


# ----------------------------------------------------------------- one key per lever
@pytest.mark.parametrize("scale, expected", [
    # hour:   0  1..6              7..14                   15 16   17..23
    (0.9, [3] + [0] * 6 + [5] * 8 + [7, 7] + [3] * 7),   # 2.7->3, 4.5->5 (half up), 7.2->7, 2.7->3
    (0.5, [2] + [0] * 6 + [3] * 8 + [4, 4] + [2] * 7),   # 1.5->2, 2.5->3, 4.0, 1.5->2
    (1.4, [4] + [0] * 6 + [7] * 8 + [11, 11] + [4] * 7),  # 4.2->4, 7.0, 11.2->11, 4.2->4
])
def test_scale_multiplies_the_roster_per_hour_rounded_half_up(scale, expected):
    """Hand-computed: 5 units 07-17 and 3 units 15-01 (Sunday's late shift covers Monday 00:00).
    Per shift the overlap would be round(5 s) + round(3 s), e.g. 8 at 0.9 and 5 at 0.5: per hour it is round(8 s)."""
    model = build_model(load_config([*SHORT, TWO_SHIFTS, f"staffing.scale.units={scale}"]))
    assert monday(model, "units") == expected


def test_scale_covers_hour_of_week_rosters_and_extra_shifts():
    week = ",".join(["2"] * 168)
    model = build_model(load_config([*SHORT, "staffing.call_handlers.shifts=[]",
                                     f"staffing.call_handlers.hour_of_week=[{week}]",
                                     "staffing.call_handlers.extra=[{start_hour:9,hours:2,staff:1}]",
                                     "staffing.scale.call_handlers=1.5"]))
    assert monday(model, "call_handlers") == [3] * 9 + [5, 5] + [3] * 13   # 2 x 1.5; (2 + 1) x 1.5 = 4.5 -> 5


@pytest.mark.parametrize("group", sorted(ROSTER_KEYS))
def test_scale_applies_to_its_own_group_only(group):
    base = build_model(load_config(["staffing.pooled_secondary=false", "staffing.digital_desk.roster.shifts="
                                    "[{start_hour:8,hours:12,staff:3}]", *SHORT]))
    doubled = build_model(load_config(["staffing.pooled_secondary=false", "staffing.digital_desk.roster.shifts="
                                       "[{start_hour:8,hours:12,staff:3}]", *SHORT, f"staffing.scale.{group}=2"]))
    for g in STAFF_GROUPS:
        factor = 2 if g == group else 1
        np.testing.assert_array_equal(doubled.rostered[g], factor * base.rostered[g], err_msg=g)
    assert base.rostered[group].any()


def test_scale_two_is_the_roster_doubled_shift_by_shift():
    """Breaks and abstraction are shares, so doubling by the lever or by hand gives the same run."""
    lever = run([*SHORT, "run.seed=41", "staffing.scale.units=2"])
    shifts = load_config([]).staffing.units.shifts
    doubled = ",".join(f"{{start_hour:{s.start_hour},hours:{s.hours},staff:{2 * s.staff}}}" for s in shifts)
    by_hand = run([*SHORT, "run.seed=41", f"staffing.units.shifts=[{doubled}]"])
    for table in ("calls", "incidents", "intervals"):
        pd.testing.assert_frame_equal(getattr(lever.records, table), getattr(by_hand.records, table), obj=table)


def test_scale_one_with_no_breaks_or_abstraction_is_todays_headcount_and_records():
    """Every lever at its neutral value: the engines get exactly the rosters' headcounts
    (as before issue 10), and the records equal a run of a plan staffed with those by hand."""
    # one force-wide pool of units (no areas): with areas each area's share of the roster is rounded
    neutral = [*SHORT, "run.seed=42", "areas.districts=[]", "staffing.response.abstraction=0",
               "staffing.response.meal_break_min=0",
               *(f"staffing.scale.{g}=1" for g in ROSTER_KEYS)]
    cfg = load_config(neutral)
    plan = build_plan(cfg)
    hours = plan.model.calendar.hour_of_week
    today = {g: headcount_by_hour_of_week(roster_of(cfg.staffing, g), key)[hours] for g, key in ROSTER_KEYS.items()}
    for g in STAFF_GROUPS:
        np.testing.assert_array_equal(plan.model.headcount[g], today[g], err_msg=g)
        np.testing.assert_array_equal(plan.model.rostered[g], today[g], err_msg=g)
    import dataclasses

    by_hand = dataclasses.replace(plan, model=dataclasses.replace(plan.model, headcount=today))
    engine = get_engine("simpy")
    a, b = engine.run(plan), engine.run(by_hand)
    for table in ("calls", "incidents", "intervals"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True, obj=table)
    np.testing.assert_array_equal(a.intervals["available_units"], a.intervals["rostered_units"])


# ----------------------------------------------------------------- abstraction and breaks
def availability(overrides: list[str], seed: int, days: int = 364):
    """(model, units available per hour) without drawing any call: the availability only."""
    model = build_model(load_config([f"run.days={days}", "run.warmup_days=0", *overrides]))
    return model, with_headcount(model, seed).headcount["units"]


@pytest.mark.parametrize("abstraction, meal", [(0.25, 0), (0.1, 60), (0.37, 45)])
def test_mean_available_is_rostered_less_breaks_times_one_less_abstraction(abstraction, meal):
    """Over a year of hours the mean available units equal the expected ones within the
    randomized rounding's error: available - expected = sum over hours of (B_h - f_h), B_h a
    Bernoulli(f_h) (f_h the hour's fractional part), independent across hours: mean 0,
    variance sum f_h (1 - f_h). The bound is 5 of its standard deviations (a chance below
    1e-6 of a false alarm), from this run's own f_h. One force-wide pool of units (each area's
    share is rounded on its own: tests/test_areas.py)."""
    model, available = availability([f"staffing.response.abstraction={abstraction}",
                                     f"staffing.response.meal_break_min={meal}", "areas.districts=[]"], seed=43)
    paid = model.rostered["units"]
    # the baseline's shifts are all 10 hours: each officer on duty is on a break meal/600 of the hour
    expected = paid * (1 - meal / 600) * (1 - abstraction)
    np.testing.assert_allclose(model.units_expected, expected, rtol=1e-12)
    f = expected - np.floor(expected)
    bound = 5 * math.sqrt((f * (1 - f)).sum())
    assert bound > 5, "the test needs hours with fractional expected units"
    assert abs(available.sum() - expected.sum()) <= bound, (available.sum(), expected.sum(), bound)
    # rounded at random: both neighbours of a fraction occur, nothing further away
    assert set(np.unique(available - np.floor(expected))) == {0, 1}


def test_more_rostered_units_never_give_fewer_available_for_the_same_seed():
    """Common random numbers: each hour's uniform is the seed's, whatever the roster, and the
    rounding is monotone; so a scale up, an extra shift (with or without a break) or one more
    officer on a shift never lowers the units available in any hour."""
    base = ["run.days=28", "run.warmup_days=0", "staffing.response.abstraction=0.15",
            "staffing.response.meal_break_min=60"]
    more = [["staffing.scale.units=1.1"], ["staffing.units.extra=[{start_hour:18,hours:6,staff:2}]"],
            ["staffing.units.shifts.2.staff=21"], ["staffing.units.extra=[{start_hour:0,hours:1,staff:1}]"]]
    before = build_model(load_config(base))
    bigger = [build_model(load_config(base + extra)) for extra in more]
    for seed in range(1, 6):
        available = with_headcount(before, seed).headcount["units"]
        for extra, model in zip(more, bigger):
            after = with_headcount(model, seed).headcount["units"]
            assert (after >= available).all(), (seed, extra)
            assert (after > available).any(), (seed, extra)  # the change did add units somewhere


def test_availability_stream_is_apart_from_the_call_draws():
    """Its spawn key is beyond every purpose of demandsim.draws, with room for more; and the
    availability changes no call's draws (a sweep over it shares them)."""
    assert UNITS_AVAILABLE_STREAM >= len(PURPOSES) + 10
    a = build_plan(load_config([*SHORT, "run.seed=44"]))
    b = build_plan(load_config([*SHORT, "run.seed=44", "staffing.response.abstraction=0.3"]), reuse_draws=False)
    np.testing.assert_array_equal(a.draws.question_999, b.draws.question_999)
    np.testing.assert_array_equal(a.arrivals_999, b.arrivals_999)
    assert (b.model.headcount["units"] <= a.model.headcount["units"]).all()


@pytest.mark.parametrize("areas", [["areas.districts=[]"], []], ids=["one_pool", "six_areas"])
def test_engines_staff_dispatch_with_the_available_units(areas):
    """At every assignment, the units of the unit's area busy (this one included) are at most that
    hour's available units of the area, and with heavy abstraction that limit binds below the
    roster. No diversion: each incident's first unit is the one on scene (unit_area)."""
    result = run([*SHORT, "run.seed=45", "staffing.response.abstraction=0.4", "dispatch.divert_from=none", *areas])
    inc = result.records.incidents
    inc = inc[inc["t_assigned"].notna()]
    assert (inc["diversions"] == 0).all()
    hits = 0
    for code in range(result.model.areas.count):
        mine = inc[inc["unit_area"].cat.codes == code]
        start = mine["t_assigned"].to_numpy()
        # the unit is freed at assignment + (travel + on scene), t_clear is assignment + travel + on scene:
        # the two sums can differ in the last bit, so "still busy" leaves a microsecond's slack
        clear = np.nan_to_num(mine["t_clear"].to_numpy(), nan=np.inf) - 1e-6
        busy = ((start[None, :] <= start[:, None]) & (clear[None, :] > start[:, None])).sum(axis=1)
        hour = (start // 3600).astype(int)
        available = result.model.units_by_area[code][hour]
        assert (busy <= available).all(), result.model.areas.names[code]
        hits += int(((busy == available) & (result.model.headcount["units"][hour]
                                            < result.model.rostered["units"][hour])).sum())
    assert hits > 0


# ----------------------------------------------------------------- direction under common random numbers
SEEDS = range(1, 7)
# the fast engine: the same records as the reference (tests/test_engines_equal.py), 18 ten-day runs in seconds
TEN_DAYS = ["scenario=baseline_2021", "run.days=10", "run.warmup_days=1", "run.engine=fast"]
GRADES = ("immediate", "priority", "prompt")


@pytest.fixture(scope="module")
def attendance():
    """Attendance within target per grade and seed: baseline, 20% more units, more abstraction."""
    cases = {"base": [], "more_units": ["staffing.scale.units=1.2"],
             "more_abstraction": ["staffing.response.abstraction=0.25"]}
    return {name: np.array([[run([*TEN_DAYS, f"run.seed={s}", *extra]).kpis[f"attend_within_target_{g}"]
                             for g in GRADES] for s in SEEDS]) for name, extra in cases.items()}


def paired_slack(d: np.ndarray) -> np.ndarray:
    """Per grade: one-sided 99.5% Student-t bound on the noise of the mean of paired differences."""
    from scipy.stats import t

    return t.ppf(0.995, len(d) - 1) * d.std(axis=0, ddof=1) / math.sqrt(len(d))


def test_more_units_never_worsen_attendance_beyond_noise(attendance):
    d = attendance["more_units"] - attendance["base"]
    assert (d.mean(axis=0) >= -paired_slack(d)).all(), dict(zip(GRADES, d.mean(axis=0)))
    assert d.mean() > 0  # and they do help


def test_more_abstraction_never_improves_attendance_beyond_noise(attendance):
    d = attendance["more_abstraction"] - attendance["base"]
    assert (d.mean(axis=0) <= paired_slack(d)).all(), dict(zip(GRADES, d.mean(axis=0)))
    assert d.mean() < 0


# ----------------------------------------------------------------- officers on the phones
@pytest.fixture(scope="module")
def phones_runs(tmp_path_factory):
    """intervals.parquet of the baseline, officers_on_phones and its overtime variant (same seed)."""
    out = tmp_path_factory.mktemp("phones")
    tables = {}
    for scenario in ("baseline_2021", "officers_on_phones", "officers_on_phones_overtime"):
        done = cli(f"scenario={scenario}", "run.days=2", "run.warmup_days=0.5", "run.seed=46",
                   f"hydra.run.dir={out / scenario}")
        assert done.returncode == 0, done.stderr
        tables[scenario] = pd.read_parquet(out / scenario / "intervals.parquet")
    return tables


def test_officers_on_the_phones_move_from_units_to_call_handlers(phones_runs):
    base, phones = phones_runs["baseline_2021"], phones_runs["officers_on_phones"]
    peak = base["hour_of_week"].isin([d * 24 + h for d in range(7) for h in range(16, 21)]).to_numpy()
    officers = np.where(peak, 3, 0)
    np.testing.assert_array_equal(phones["rostered_call_handlers"], base["rostered_call_handlers"] + officers)
    np.testing.assert_array_equal(phones["rostered_units"], base["rostered_units"] - officers)
    # same uniforms, fewer units rostered: never more available, and unchanged outside the peak
    assert (phones["available_units"] <= base["available_units"]).all()
    np.testing.assert_array_equal(phones["available_units"][~peak], base["available_units"][~peak])
    assert (phones["available_units"][peak] < base["available_units"][peak]).any()


def test_officers_on_overtime_leave_the_units_alone(phones_runs):
    base, overtime = phones_runs["baseline_2021"], phones_runs["officers_on_phones_overtime"]
    for column in ("rostered_units", "available_units"):
        np.testing.assert_array_equal(overtime[column], base[column])
    assert (overtime["rostered_call_handlers"] - base["rostered_call_handlers"]).max() == 3


def test_officers_on_the_phones_beyond_the_units_roster_is_one_line(tmp_path):
    out = tmp_path / "out"
    done = cli("scenario=officers_on_phones", "staffing.units.shifts=[{start_hour:0,hours:24,staff:2}]",
               "run.days=1", "run.warmup_days=0.5", f"hydra.run.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for text in ("staffing.officers_on_phones.shifts", "3 officers at Mon 16:00", "only 2 units"):
        assert text in lines[0], (text, lines[0])
    assert not out.exists()


# ----------------------------------------------------------------- utilisation and overtime
def test_utilisation_is_at_most_one_and_busy_time_above_it_is_overtime():
    """demand_2024 without its review overloads the units: utilisation stays within 1 and what the old busy/rostered
    ratio put above 1 appears as overtime hours; within + overtime = busy, hour by hour."""
    result = run(["scenario=demand_2024", "review.enabled=false", "run.days=4", "run.warmup_days=1", "run.seed=47"])
    k, c, iv = result.kpis, result.counts, result.records.intervals
    measured = (iv["t_start"] >= result.model.warmup_s).to_numpy()  # whole hours: the warm-up ends on one
    for group in ("call_handlers", "switchboard", "units"):
        column = "available_units" if group == "units" else f"rostered_{group}"
        busy = iv[f"mean_busy_{group}"].to_numpy()[measured]
        available = iv[column].to_numpy()[measured]
        assert 0 < k[f"utilisation_{group}"] <= 1
        assert k[f"utilisation_{group}"] * available.sum() + c[f"overtime_hours_{group}"] == pytest.approx(busy.sum())
        assert c[f"overtime_hours_{group}"] == pytest.approx(np.maximum(busy - available, 0).sum())
    assert c["overtime_hours_units"] > 1  # units finish jobs after their roster drops
    assert set(f"overtime_hours_{g}" for g in STAFF_GROUPS) <= set(c)


def test_summary_json_has_overtime_and_intervals_have_available_units(phones_runs, tmp_path):
    out = tmp_path / "run"
    assert cli("run.days=1.5", "run.warmup_days=0.5", f"hydra.run.dir={out}").returncode == 0
    counts = json.loads((out / "summary.json").read_text())["counts"]
    assert {f"overtime_hours_{g}" for g in STAFF_GROUPS} <= set(counts)
    iv = pd.read_parquet(out / "intervals.parquet")
    assert (iv["available_units"] <= iv["rostered_units"]).all()
    assert (iv["available_units"] < iv["rostered_units"]).mean() > 0.9  # breaks and abstraction bite


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("override, key, value", [
    ("staffing.response.abstraction=1", "staffing.response.abstraction", "1"),
    ("staffing.response.abstraction=1.5", "staffing.response.abstraction", "1.5"),
    ("staffing.response.abstraction=-0.1", "staffing.response.abstraction", "-0.1"),
    ("staffing.response.abstraction=nan", "staffing.response.abstraction", "nan"),
    ("staffing.response.meal_break_min=-5", "staffing.response.meal_break_min", "-5"),
    ("staffing.response.meal_break_min=inf", "staffing.response.meal_break_min", "inf"),
    ("staffing.response.meal_break_min=600", "staffing.response.meal_break_min", "600"),  # a whole 10-hour shift
    ("staffing.response.break_from_hours=-1", "staffing.response.break_from_hours", "-1"),
    ("staffing.scale.units=-0.5", "staffing.scale.units", "-0.5"),
    ("staffing.scale.call_handlers=nan", "staffing.scale.call_handlers", "nan"),
    ("staffing.scale.switchboard=inf", "staffing.scale.switchboard", "inf"),
])
def test_bad_levers_are_refused_naming_key_and_value(override, key, value):
    with pytest.raises(ConfigError) as error:
        build_model(load_config([*SHORT, override]))
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{key}={value}"), message


def test_breaks_need_shifts_to_be_placed_in():
    week = ",".join(["20"] * 168)
    with pytest.raises(ConfigError, match=r"^staffing.response.meal_break_min=60.0: .*hour_of_week"):
        build_model(load_config([*SHORT, "staffing.units.shifts=[]", f"staffing.units.hour_of_week=[{week}]"]))
    build_model(load_config([*SHORT, "staffing.units.shifts=[]", f"staffing.units.hour_of_week=[{week}]",
                             "staffing.response.meal_break_min=0"]))


@pytest.mark.parametrize("override, must_name", [
    ("staffing.response.abstraction=1", ["staffing.response.abstraction=1", "[0, 1)"]),
    ("staffing.scale.units=-1", ["staffing.scale.units=-1", ">= 0"]),
])
def test_bad_levers_from_the_command_line_are_one_line(tmp_path, override, must_name):
    out = tmp_path / "out"
    done = cli(override, "run.days=1", "run.warmup_days=0.5", f"hydra.run.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for text in must_name:
        assert text in lines[0], (text, lines[0])
    assert not out.exists()
