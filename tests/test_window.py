"""KPIs over a window of hours and days (window.hours, window.days: demandsim/window.py).

A window KPI must equal the same KPI worked out by hand from calls.parquet and
incidents.parquet, filtered to the window's hours (wrapping midnight) with the warm-up cut
off: here by the clock and the weekday of each call's own offer time, not by the records'
``hour_of_week`` column that the code reads, so that the two definitions check each other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest

from demandsim.config import load_config
from demandsim.config.schema import WEEKDAYS, WindowConfig
from demandsim.errors import ConfigError
from demandsim.outputs import write_run
from demandsim.runner import simulate
from demandsim.window import swept_shift_window, window_from_config
from tests.helpers import _session_folder, cli

#: 9 days from Thursday 1 April 2021: every weekday after a day of warm-up, Friday twice
BASE = ["run.days=9", "run.warmup_days=1", "run.start_date=2021-04-01", "run.engine=fast"]
WINDOWS = [("17-03", None), ("17-03", ["Fri", "Sat"]), ("0-24", ["Sun"]), (None, ["Mon", "Wed"]), ("8-16", None),
           ("22-06", ["Sun"])]


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    """One run with no window: its tables, as written."""
    result = simulate(load_config(BASE), progress=False)
    folder = tmp_path_factory.mktemp("run")
    write_run(result, folder)
    calls, incidents = pd.read_parquet(folder / "calls.parquet"), pd.read_parquet(folder / "incidents.parquet")
    return result, calls, incidents


def in_window_by_hand(t: np.ndarray, hours: str | None, days: list[str] | None, start_date: str) -> np.ndarray:
    """Whether each time (s from midnight of ``start_date``) falls in the window, from the clock and the calendar."""
    start, end = (0, 24) if hours is None else map(int, hours.split("-"))
    first = dt.date.fromisoformat(start_date).weekday()
    hour = (t // 3600).astype(np.int64)
    clock, weekday = hour % 24, (first + hour // 24) % 7
    allowed = {WEEKDAYS.index(d) for d in (days or WEEKDAYS)}
    starts_today = np.isin(weekday, list(allowed))
    if end > start:
        return starts_today & (clock >= start) & (clock < end)
    started_yesterday = np.isin((weekday - 1) % 7, list(allowed))  # after midnight: the window began yesterday
    return (starts_today & (clock >= start)) | (started_yesterday & (clock < end))


@pytest.mark.parametrize("hours,days", WINDOWS)
def test_window_kpis_equal_the_kpis_worked_out_by_hand(whole_run, hours, days):
    result, calls, incidents = whole_run
    warmup = result.model.warmup_s
    cfg = load_config(BASE + [f"window.hours={hours if hours else 'null'}",
                              f"window.days=[{','.join(days)}]" if days else "window.days=null"])
    windowed = simulate(cfg, progress=False)
    assert windowed.kpis == result.kpis  # the whole-run KPIs do not change
    block = windowed.window
    assert block["hours"] == hours and block["days"] == days
    k = block["kpis"]
    assert set(k) == set(result.kpis)  # every KPI, by the same names

    c = calls[(calls["t_offer"] >= warmup) & in_window_by_hand(calls["t_offer"].to_numpy(), hours, days, "2021-04-01")]
    public = c[(c["line"] == "999") & c["origin"].isin(["original", "redial"])]
    answered_in_10 = (public["outcome"] == "answered") & (public["wait_s"] <= 10.0)
    assert k["calls_999_offered"] == len(public) > 0
    assert k["sl_999_10s"] == pytest.approx(answered_in_10.mean(), abs=1e-12)
    on_101 = c[c["line"] == "101"]
    assert k["calls_101_offered"] == len(on_101)
    abandoned = on_101["outcome"].isin(["abandoned_switchboard", "abandoned_secondary"])
    assert k["abandon_rate_101"] == (pytest.approx(abandoned.mean(), abs=1e-12) if len(on_101) else None)

    inc = incidents[(incidents["t_call_start"] >= warmup)
                    & in_window_by_hand(incidents["t_call_start"].to_numpy(), hours, days, "2021-04-01")]
    for grade in ("immediate", "priority", "prompt"):
        of_grade = inc[inc["grade"] == grade]
        assert k[f"incidents_{grade}"] == len(of_grade)
        known = of_grade["within_target"].dropna()
        expected = float(known.astype(bool).mean()) if len(known) else None
        assert k[f"attend_within_target_{grade}"] == (pytest.approx(expected, abs=1e-12) if expected is not None
                                                      else None)
    # a window is part of the week: never more than the whole run
    assert k["calls_999_offered"] < result.kpis["calls_999_offered"] or (hours, days) == ("0-24", None)


def test_window_utilisation_is_busy_over_rostered_in_its_hours(whole_run):
    result, _, _ = whole_run
    windowed = simulate(load_config(BASE + ["window.hours=17-03", "window.days=[Fri,Sat]"]), progress=False)
    iv = result.records.intervals
    hours = iv[(iv["t_start"] >= result.model.warmup_s)
               & in_window_by_hand(iv["t_start"].to_numpy(dtype=float), "17-03", ["Fri", "Sat"], "2021-04-01")]
    busy = np.minimum(hours["mean_busy_call_handlers"], hours["rostered_call_handlers"])
    expected = float((busy * hours["length_s"]).sum() / (hours["rostered_call_handlers"] * hours["length_s"]).sum())
    assert windowed.window["kpis"]["utilisation_call_handlers"] == pytest.approx(expected, rel=1e-12)
    assert windowed.window["kpis"]["backlog_growth_per_day"] is None  # a trend over whole days: the run's


def test_no_window_writes_no_window_block(whole_run, tmp_path):
    result, _, _ = whole_run
    assert result.window is None
    write_run(result, tmp_path)
    assert "window" not in json.loads((tmp_path / "summary.json").read_text())


def test_the_window_of_a_shift_that_wraps_sunday_night():
    w = window_from_config(WindowConfig(hours="22-06", days=["Sun"]))
    assert [int(h) for h in np.flatnonzero(w.hours_of_week)] == [0, 1, 2, 3, 4, 5, 166, 167]


@pytest.mark.parametrize("override,message", [
    ("window.hours=25-03", "window.hours=25-03: the start must be an hour of the clock 0-23"),
    ("window.hours=17-25", "window.hours=17-25: the end must be an hour of the clock 1-24"),
    ("window.hours=17", "window.hours=17: must be \"START-END\""),
    ("window.hours=5-5", "window.hours=5-5: an empty window"),
    ("window.days=[Fri,Fry]", "window.days=Fry: not a weekday"),
    ("window.days=[Fri,Fri]", "window.days=Fri: listed twice"),
])
def test_bad_window_is_one_line_and_writes_nothing(tmp_path, override, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        simulate(load_config(["run.days=1", "run.warmup_days=0", override]), progress=False)
    out = tmp_path / "out"
    done = cli("run.days=1", "run.warmup_days=0", override, f"hydra.run.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not out.exists()


def test_bad_window_in_a_sweep_is_refused_before_anything_runs(tmp_path):
    out = tmp_path / "sw"
    done = cli("-m", "staffing.call_handlers.shifts.2.staff=3,5", "run.days=1", "run.warmup_days=0",
               "window.hours=25-03", f"hydra.sweep.dir={out}")
    assert done.returncode == 2 and "window.hours=25-03" in done.stderr
    assert not (out / "runs").exists() or not any((out / "runs").iterdir())


@pytest.fixture(scope="module")
def window_sweep():
    """A small sweep of the late shift's staff with a window: 2 points x 2 replications of 2 days."""
    out = _session_folder() / "window-sweep"
    done = cli("-m", "scenario=baseline_2021", "staffing.call_handlers.shifts.2.staff=3,5", "run.replications=2",
               "run.days=2", "run.warmup_days=0.5", "window.hours=8-16", "window.days=[Mon,Tue]",
               f"hydra.sweep.dir={out}")
    assert done.returncode == 0, done.stderr
    return out


def test_sweep_tables_carry_the_window_kpis(window_sweep):
    runs = pd.read_parquet(window_sweep / "sweep.parquet")
    summary = pd.read_parquet(window_sweep / "sweep_summary.parquet")
    assert {"window.sl_999_10s", "window.attend_within_target_all", "window.utilisation_units"} <= set(runs.columns)
    for _, row in runs.iterrows():  # each run's window KPIs, as its summary.json has them
        written = json.loads((window_sweep / row["run_dir"] / "summary.json").read_text())["window"]
        assert written["hours"] == "8-16" and written["days"] == ["Mon", "Tue"]
        assert row["window.sl_999_10s"] == pytest.approx(written["kpis"]["sl_999_10s"])
        assert row["window.calls_999_offered"] == written["kpis"]["calls_999_offered"]
    assert "window.sl_999_10s" in set(summary["kpi"])


def test_report_reads_the_standards_over_the_window_and_the_shifts_own_hours(window_sweep):
    from demandsim.report import build_report
    from demandsim.report.data import load
    from demandsim.report.standards import shift_summary, smallest_staffing, swept_shift

    data = load(window_sweep)
    assert data.window == "08:00-16:00, Mon, Tue"
    assert all(s.column == f"window.{s.kpi}" for s in data.standards)
    rows = smallest_staffing(data)
    overs = {r["over"] for r in rows}
    assert overs == {"08:00-16:00, Mon, Tue",
                     "the hours of staffing.call_handlers.shifts.2 (17:00-03:00, every day)"}, overs
    # the shift's own hours, computed from the runs' tables, are the window KPIs of a 17-03 window
    window = swept_shift(data, "staffing.call_handlers.shifts.2.staff")
    own = shift_summary(data, "staffing.call_handlers.shifts.2.staff", window, data.standards)
    first = data.runs[data.runs["point"] == 0]
    from demandsim.kpis import measured_kpis
    from demandsim.records import RunRecords
    from demandsim.report.data import load_run

    values = []
    for d in first["run_dir"]:
        run = load_run(window_sweep / d)
        values.append(measured_kpis(RunRecords(run.calls, run.incidents, run.intervals), run.warmup_s,
                                    2 * 86400.0, window_from_config(WindowConfig("17-03", None)))[0]["sl_999_10s"])
    got = own[(own["point"] == 0) & (own["kpi"] == "sl_999_10s")]["mean"].iloc[0]
    assert got == pytest.approx(np.mean(values))
    page = build_report(window_sweep).read_text(encoding="utf-8")
    assert "the answer to use is the one over the hours of staffing.call_handlers.shifts.2" in page
    assert "Every standard is read over the runs&#x27; window" in page


def test_the_workers_shift_kpis_are_the_tables_and_the_report_falls_back_to_them(window_sweep, tmp_path):
    """The sweep's worker writes the KPIs over the swept shift's hours into summary.json
    (demandsim.sweep.shifts); a sweep folder without them (written before they existed) gives
    the report the same table, computed from the runs' tables."""
    import shutil

    from demandsim.report.data import load
    from demandsim.report.standards import shift_summary, swept_shift

    key = "staffing.call_handlers.shifts.2.staff"
    first = json.loads((window_sweep / load(window_sweep).runs["run_dir"].iloc[0] / "summary.json").read_text())
    assert first["swept_shifts"][key]["hours"] == "17-03" and first["swept_shifts"][key]["kpis"]["calls_999_offered"] > 0
    old = tmp_path / "old-sweep"
    shutil.copytree(window_sweep, old)
    for path in old.glob("runs/*/summary.json"):
        summary = json.loads(path.read_text())
        del summary["swept_shifts"]
        path.write_text(json.dumps(summary))
    new_data, old_data = load(window_sweep), load(old)
    stds = new_data.standards
    stored = shift_summary(new_data, key, swept_shift(new_data, key), stds)
    computed = shift_summary(old_data, key, swept_shift(old_data, key), stds)
    pd.testing.assert_frame_equal(stored, computed)


def test_swept_shift_kpis_equal_the_tables_with_reviews_and_areas(tmp_path):
    """Every KPI the worker writes for a swept shift equals the one computed from the written
    tables, on a run with THRIVE reviews, appointments and six areas (demand_2024)."""
    from demandsim.report.standards import _kpis_from_tables
    from demandsim.sweep.shifts import SWEPT_SHIFTS, swept_shift_block

    result = simulate(load_config(["scenario=demand_2024", "run.days=4", "run.warmup_days=1"]), progress=False)
    key = "staffing.units.shifts.1.staff"
    block = swept_shift_block(result, ["run.seed", key])[SWEPT_SHIFTS]
    assert list(block) == [key]
    write_run(result, tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    window = swept_shift_window(key, dataclasses.asdict(result.config))
    from_tables = _kpis_from_tables(tmp_path / "run", summary, window)
    assert block[key]["kpis"]["thrive_reviews"] > 0
    assert block[key]["kpis"] == pytest.approx(from_tables, nan_ok=True)
    assert swept_shift_block(result, ["staffing.scale.units", "run.seed"]) == {}
