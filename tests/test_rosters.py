"""Rosters that take staff away, one key that adds staff round the clock, and the console (issue 11).

- an ``extra`` shift with negative staff removes exactly that many rostered people in its
  hours (intervals.parquet), and below zero is one line naming the shift and the hour;
- ``staffing.add.<group>=N`` adds N in every hour, after the scale, and sweeps as one key;
- officers on the phones written as two extra shifts (-3 units, +3 call handlers) is the
  shipped officers_on_phones scenario exactly;
- the console: errors from the command line say so, the sweep digest shows every grade,
  Hydra prints no line per job, the run digest's shares say what they are shares of.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from demandsim.config import load_config
from demandsim.errors import ConfigError
from demandsim.model.staffing import paid_by_hour_of_week
from helpers import cli

SHORT = ["run.days=2", "run.warmup_days=0.5", "run.seed=46"]
#: officers taken off response 16:00-21:00 every day, written as negative and positive extra shifts
PHONES_AS_EXTRA = ["staffing.units.extra=[{start_hour:16,hours:5,staff:-3}]",
                   "staffing.call_handlers.extra=[{start_hour:16,hours:5,staff:3}]"]
#: one call handler fewer from Tuesday 22:00 for 4 hours (over midnight into Wednesday)
TUESDAY_NIGHT = "staffing.call_handlers.extra=[{start_hour:22,hours:4,staff:-1,days:[Tue]}]"


def hours_in(iv: pd.DataFrame, hours_of_week) -> np.ndarray:
    return iv["hour_of_week"].isin(list(hours_of_week)).to_numpy()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """summary.json's KPIs and intervals.parquet of a few runs with the same seed."""
    out = tmp_path_factory.mktemp("rosters")
    cases = {
        "baseline": [],
        "phones_scenario": ["scenario=officers_on_phones"],
        "phones_as_extra": PHONES_AS_EXTRA,
        "tuesday_night": [TUESDAY_NIGHT, "run.days=3"],  # the run starts on a Monday: Tue-Wed night is in it
        "added": ["staffing.add.units=2", "staffing.add.call_handlers=-1"],
    }
    found = {}
    for name, args in cases.items():
        done = cli(*SHORT, *args, f"hydra.run.dir={out / name}")
        assert done.returncode == 0, done.stderr
        found[name] = (json.loads((out / name / "summary.json").read_text())["kpis"],
                       pd.read_parquet(out / name / "intervals.parquet"), done.stdout)
    return found


# ----------------------------------------------------------------- negative extra shifts
def test_a_negative_extra_removes_exactly_that_many_in_its_hours(runs):
    _, base, _ = runs["baseline"]
    _, less, _ = runs["phones_as_extra"]
    peak = hours_in(base, (d * 24 + h for d in range(7) for h in range(16, 21)))
    assert peak.any() and (~peak).any()
    np.testing.assert_array_equal(less["rostered_units"], base["rostered_units"] - np.where(peak, 3, 0))
    np.testing.assert_array_equal(less["rostered_call_handlers"], base["rostered_call_handlers"] + np.where(peak, 3, 0))
    # the same uniforms: fewer available only in those hours
    np.testing.assert_array_equal(less["available_units"][~peak], base["available_units"][~peak])
    assert (less["available_units"][peak] <= base["available_units"][peak]).all()
    assert (less["available_units"][peak] < base["available_units"][peak]).any()


def test_a_negative_extra_on_one_day_runs_over_midnight(runs):
    _, less, _ = runs["tuesday_night"]
    week = paid_by_hour_of_week(load_config([]).staffing)  # the baseline's rosters, hour of the week
    night = hours_in(less, [24 + 22, 24 + 23, 48 + 0, 48 + 1])  # Tue 22:00 - Wed 02:00
    assert night.sum() == 4  # the three-day run from a Monday holds each of them once
    how = less["hour_of_week"].to_numpy()
    np.testing.assert_array_equal(less["rostered_call_handlers"], week["call_handlers"][how] - night)
    np.testing.assert_array_equal(less["rostered_units"], week["units"][how])


def test_officers_on_the_phones_as_extra_shifts_is_the_shipped_scenario(runs):
    """Taken from response with the officers_on_phones lever or with a -3/+3 pair of extra shifts:
    the same people in the same hours (breaks of the officers left unchanged), so the same run."""
    scenario, as_extra = runs["phones_scenario"], runs["phones_as_extra"]
    for column in ("rostered_units", "available_units", "rostered_call_handlers"):
        np.testing.assert_array_equal(as_extra[1][column], scenario[1][column])
    assert as_extra[0] == scenario[0]


@pytest.mark.parametrize("args, must_name", [
    (["staffing.units.extra=[{start_hour:16,hours:5,staff:-30,days:[Tue]}]"],
     ["staffing.units.extra[0].staff=-30", "Tue 17:00", "28 are rostered", "below 0"]),
    (["staffing.call_handlers.extra=[{start_hour:0,hours:2,staff:1},{start_hour:1,hours:3,staff:-4}]"],
     ["staffing.call_handlers.extra[1].staff=-4", "Mon 03:00", "takes 4 away", "3 are rostered"]),
    (["staffing.add.units=-20"], ["staffing.add.units=-20", "Mon 01:00", "19 are rostered", "below 0"]),
    (["staffing.add.units=1.5"], ["staffing.add.units=1.5"]),
])
def test_below_zero_is_one_line_naming_the_hour_and_leaves_no_folder(tmp_path, args, must_name):
    out = tmp_path / "out"
    done = cli(*SHORT, *args, f"hydra.run.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for text in must_name:
        assert text in lines[0], (text, lines[0])
    assert not out.exists(), "a refused run must leave no output folder"


def test_negative_shifts_stay_refused_outside_extra():
    cfg = load_config(["staffing.units.shifts=[{start_hour:7,hours:10,staff:-1}]"])
    with pytest.raises(ConfigError, match=r"staffing.units.shifts\[0\].staff=-1: must be a whole number >= 0"):
        paid_by_hour_of_week(cfg.staffing)


# ----------------------------------------------------------------- staffing.add
def test_staffing_add_adds_n_in_every_hour(runs):
    _, base, _ = runs["baseline"]
    _, added, _ = runs["added"]
    np.testing.assert_array_equal(added["rostered_units"], base["rostered_units"] + 2)
    np.testing.assert_array_equal(added["rostered_call_handlers"], base["rostered_call_handlers"] - 1)
    np.testing.assert_array_equal(added["rostered_switchboard"], base["rostered_switchboard"])
    assert (added["available_units"] >= base["available_units"]).all()


def test_staffing_add_comes_after_the_scale_and_before_officers_on_the_phones():
    base = paid_by_hour_of_week(load_config([]).staffing)["units"]
    cfg = load_config(["scenario=officers_on_phones", "staffing.scale.units=0.5", "staffing.add.units=4"])
    paid = paid_by_hour_of_week(cfg.staffing)["units"]
    peak = np.zeros(168, dtype=bool)
    peak[[d * 24 + h for d in range(7) for h in range(16, 21)]] = True
    np.testing.assert_array_equal(paid, np.floor(base * 0.5 + 0.5).astype(int) + 4 - np.where(peak, 3, 0))


def test_staffing_add_sweeps_as_one_key_and_the_digest_shows_every_grade(tmp_path):
    out = tmp_path / "sweep"
    done = cli("-m", "staffing.add.units=0,3", *SHORT, "run.days=1.5", f"hydra.sweep.dir={out}")
    assert done.returncode == 0, done.stderr
    table = pd.read_parquet(out / "sweep.parquet")
    assert sorted(table["staffing.add.units"].tolist()) == [0, 3]
    rostered = {row["staffing.add.units"]: pd.read_parquet(out / row["run_dir"] / "intervals.parquet")["rostered_units"]
                for _, row in table.iterrows()}
    np.testing.assert_array_equal(rostered[3], rostered[0] + 3)
    # the digest: a per-grade attendance line under each point, and no Hydra line per job
    grade_lines = [ln for ln in done.stdout.splitlines() if ln.strip().startswith("attended in target by grade:")]
    assert len(grade_lines) == 2, done.stdout
    for line in grade_lines:
        assert all(f"{g} " in line for g in ("immediate", "priority", "prompt")), line
    assert " : " not in done.stdout + done.stderr and "[HYDRA]" not in done.stdout + done.stderr


# ----------------------------------------------------------------- the console
@pytest.mark.parametrize("args, must_name, must_not", [
    (["staffing.adx.units=3"], ["staffing.adx.units=3 (on the command line)", "staffing.adx", "unknown key"],
     "config or scenario file"),
    (["staffing.unitz=3"], ["staffing.unitz=3 (on the command line)", "unknown key"], "config or scenario file"),
    (["staffing.units.extra.0.staff=3"],
     ["staffing.units.extra.0.staff=3 (on the command line)", "no item 0",
      "staffing.units.extra='[{start_hour:16,hours:5,staff:0}]' staffing.units.extra.0.staff=3", "staffing.add.units=N"],
     "subclass"),
    (["-m", "staffing.units.extra.0.staff=range(0,3)"],
     ["staffing.units.extra.0.staff=range(0,3) (on the command line)", "staffing.units.extra='[{"], "subclass"),
])
def test_command_line_errors_say_so_and_what_to_write(tmp_path, args, must_name, must_not):
    out = tmp_path / "out"
    done = cli(*args, *SHORT, f"hydra.run.dir={out}", f"hydra.sweep.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for text in must_name:
        assert text in lines[0], (text, lines[0])
    assert must_not not in lines[0]
    assert not out.exists()


def test_the_run_digest_says_what_each_share_is_a_share_of(runs):
    """Every percentage in the run's digest has a note; none is an unqualified "of which"."""
    stdout = runs["baseline"][2]
    rows = [ln for ln in stdout.splitlines() if ln.startswith("  ") and "%" in ln]
    assert len(rows) >= 12, stdout
    for row in rows:
        value_and_note = row.split("%", 1)[1].strip()
        assert value_and_note, f"a share with no denominator: {row!r}"
    assert "of which" not in stdout
    assert "of the 101 calls forwarded to it" in stdout
