"""A run folder exported as a force's ACD and CAD exports (demandsim.export, docs/export.md).

Two short fast-engine runs are written as run folders and exported, and the exported rows
are checked against the simulator's own records and KPIs: the baseline (3 days, 1 of
warm-up), and the baseline short-staffed, ending in its evening peak, so that the run ends
with calls in every unfinished state (999 callers waiting, 101 callers waiting for the
switchboard, in triage, and waiting on the secondary line, 999 talks under way) and the
digital desk answers 999 calls.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demandsim import export
from demandsim.config import PROJECT_DIR, load_config
from demandsim.model.plan import build_plan
from demandsim.outputs import write_run_folder
from demandsim.runner import effective_seed, simulate

START = "2021-04-05"
RUNS = {
    "baseline": ["scenario=baseline_2021", "run.days=3", "run.warmup_days=1"],
    # 1.7 days: the run ends at 16:48 on its second day, in the evening peak
    "short_staffed": ["scenario=baseline_2021", "run.days=1.7", "run.warmup_days=0.5",
                      *(f"staffing.call_handlers.shifts.{i}.staff=1" for i in range(4)),
                      *(f"staffing.switchboard.shifts.{i}.staff=1" for i in range(3)),
                      *(f"staffing.secondary_handlers.shifts.{i}.staff=1" for i in range(3)),
                      "staffing.digital_desk.roster.shifts=[{start_hour:0,hours:24,staff:1}]",
                      "staffing.digital_desk.queue_threshold=2"],
}


@pytest.fixture(scope="module", params=list(RUNS))
def run(request, tmp_path_factory):
    """The run, its folder, the run's own draws, and its export (CSV files and the frames)."""
    cfg = load_config([*RUNS[request.param], "run.engine=fast", f"run.start_date={START}"])
    result = simulate(cfg, progress=False)
    folder = tmp_path_factory.mktemp("export") / "run"
    write_run_folder(result, folder)
    seeded = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, seed=effective_seed(cfg), replication=0))
    draws = build_plan(seeded, base_dir=Path(cfg.paths.data_dir)).draws
    calls_path, incidents_path = export.export_run(folder)
    calls, incidents = export.export_tables(folder)
    return dict(name=request.param, result=result, folder=folder, draws=draws, calls_path=calls_path,
                incidents_path=incidents_path, calls=calls, incidents=incidents)


def simulator_rows(run, exported: pd.DataFrame) -> pd.DataFrame:
    """The simulator's call row behind each exported row (the frame's index is the call id)."""
    return run["result"].records.calls.loc[exported.index]


# ----------------------------------------------------------------- the files
def test_the_files_hold_the_canonical_columns_and_the_frames(run):
    calls = pd.read_csv(run["calls_path"], dtype={"line": str, "agent": str})
    incidents = pd.read_csv(run["incidents_path"], dtype={"call_line": str, "unit": str})
    assert run["calls_path"].parent == run["folder"] / "export"
    assert tuple(calls.columns) == export.CALL_EXPORT_COLUMNS
    assert tuple(incidents.columns) == export.INCIDENT_EXPORT_COLUMNS
    frame = run["calls"]
    assert len(calls) == len(frame) > 1000
    assert set(calls["line"]) == {"999", "101"} and set(calls["outcome"]) == {"answered", "abandoned"}
    assert calls["agent"].isna().all() and incidents["unit"].isna().all()
    # ISO-8601 read back to the microsecond written
    arrived = pd.to_datetime(calls["arrived_at"], format="ISO8601")
    assert (arrived.to_numpy() == frame["arrived_at"].dt.floor("us").to_numpy()).all()
    assert arrived.is_monotonic_increasing
    np.testing.assert_allclose(calls["wait_s"], frame["wait_s"], rtol=1e-15)
    assert (calls["handle_s"].isna() == (calls["outcome"] == "abandoned")).all()


def test_every_exported_999_row_is_exactly_one_simulator_call(run):
    """Matched by time alone, from the CSV: each 999 row is one 999 call the ACD would see."""
    calls = pd.read_csv(run["calls_path"], dtype={"line": str})
    rows_999 = calls[calls["line"] == "999"]
    sim = run["result"].records.calls
    inbound_999 = sim[(sim["line"] == "999") & (sim["origin"] != "callback")]
    sim_times = (pd.Timestamp(START) + pd.to_timedelta(inbound_999["t_offer"], unit="s")).dt.floor("us")
    matches = pd.Series(sim_times.to_numpy()).value_counts()
    exported = pd.to_datetime(rows_999["arrived_at"], format="ISO8601")
    assert (matches.reindex(exported.to_numpy()).to_numpy() == 1).all()
    # and the exported row is that call with its outcome
    by_time = dict(zip(sim_times.to_numpy(), inbound_999["outcome"].astype(str)))
    assert [by_time[t] for t in exported.to_numpy()] == rows_999["outcome"].tolist()
    # no call-back is exported (outbound), and no call is exported twice
    frame = run["calls"]
    assert frame.index.is_unique
    assert not (simulator_rows(run, frame)["origin"] == "callback").any()


# ----------------------------------------------------------------- against the simulator's KPIs
def test_counts_per_line_and_outcome_reconcile_with_the_kpis(run):
    result, frame = run["result"], run["calls"]
    kpis = result.kpis
    sim = result.records.calls
    measured = sim[sim["t_offer"] >= result.model.warmup_s]
    behind = simulator_rows(run, frame)
    public = behind["origin"].isin(["original", "redial"]).to_numpy()
    transfer = (behind["origin"] == "switchboard_transfer").to_numpy()
    on_999, on_101 = (frame["line"] == "999").to_numpy(), (frame["line"] == "101").to_numpy()
    answered, abandoned = (frame["outcome"] == "answered").to_numpy(), (frame["outcome"] == "abandoned").to_numpy()

    # 999: the KPIs count calls still waiting at the end among those offered; the export leaves them out
    # (and every call-back: open_999 holds call-backs waiting for a handler too, counted by no KPI here)
    open_999 = measured[(measured["line"] == "999") & (measured["outcome"] == "open_at_end")]
    open_public = int(open_999["origin"].isin(["original", "redial"]).sum())
    open_transfers = int((open_999["origin"] == "switchboard_transfer").sum())
    assert (on_999 & public).sum() == kpis["calls_999_offered"] - open_public
    assert (on_999 & transfer).sum() == kpis["transfers_101_to_999"] - open_transfers
    assert on_999.sum() == kpis["calls_999_offered"] + kpis["transfers_101_to_999"] - open_public - open_transfers
    assert (on_999 & public & abandoned).sum() == round(kpis["abandon_rate_999"] * kpis["calls_999_offered"])
    assert (on_999 & transfer & abandoned).sum() == round(kpis["abandon_rate_999_transfers"]
                                                           * kpis["transfers_101_to_999"])
    in_time = answered & (frame["wait_s"].to_numpy() <= 10.0)
    assert (on_999 & public & in_time).sum() == round(kpis["sl_999_10s"] * kpis["calls_999_offered"])
    assert frame.loc[on_999 & public & answered, "wait_s"].mean() == pytest.approx(kpis["asa_999_s"], rel=1e-12)

    # 101: one row per call that reached the switchboard, unless still waiting for it or in triage at the end
    m101 = measured[measured["line"] == "101"]
    unfinished = (m101["outcome"] == "open_at_end") & ~((m101["route"] == "secondary")
                                                         & m101["t_secondary_offer"].notna())
    assert on_101.sum() == kpis["calls_101_offered"] - int(unfinished.sum())
    # abandon_rate_101 counts hang-ups at any stage; the 101 row is about the switchboard only
    at_secondary = int((m101["outcome"] == "abandoned_secondary").sum())
    assert (on_101 & abandoned).sum() == round(kpis["abandon_rate_101"] * kpis["calls_101_offered"]) - at_secondary
    # asa_101_s is over every call the switchboard answered, those still in triage at the end too
    in_triage = m101[unfinished & m101["t_answer"].notna()]
    waits = np.concatenate([frame.loc[on_101 & answered, "wait_s"].to_numpy(), in_triage["wait_s"].to_numpy()])
    assert waits.mean() == pytest.approx(kpis["asa_101_s"], rel=1e-12)
    if run["name"] == "short_staffed":  # the run ends with calls in every unfinished state
        forwarded_open = (m101["outcome"] == "open_at_end") & ~unfinished
        assert open_public > 0 and len(in_triage) > 0 and forwarded_open.sum() > 0
        assert (unfinished & m101["t_answer"].isna()).sum() > 0  # waiting for the switchboard


def test_waits_and_handling_times_come_from_the_timestamps_and_the_draws(run):
    frame, draws = run["calls"], run["draws"]
    behind = simulator_rows(run, frame)
    t_offer, t_answer, t_end = (behind[c].to_numpy() for c in ("t_offer", "t_answer", "t_end"))
    answered = (frame["outcome"] == "answered").to_numpy()
    on_999 = (frame["line"] == "999").to_numpy()
    wait, handle = frame["wait_s"].to_numpy(), frame["handle_s"].to_numpy()
    np.testing.assert_allclose(wait[answered], (t_answer - t_offer)[answered], rtol=0, atol=1e-9)
    np.testing.assert_allclose(wait[~answered], (t_end - t_offer)[~answered], rtol=0, atol=1e-9)
    assert (wait >= 0).all() and (handle[answered] >= 0).all() and np.isnan(handle[~answered]).all()

    # 999: talk from the timestamps, then the wrap-up the records do not keep (from the run's draws)
    row = behind["draw_row"].to_numpy()
    a999 = answered & on_999
    ended = a999 & ~np.isnan(t_end)
    np.testing.assert_allclose(handle[ended] - (t_end - t_answer)[ended], draws.wrap_999[row[ended]], atol=1e-6)
    assert (draws.wrap_999[row[a999]] > 0).all()  # the baseline's wrap-up is lognormal: handle > talk
    # a talk still under way at the end keeps its whole handling time
    assert (a999 & ~ended).any() or run["name"] == "baseline"
    np.testing.assert_allclose(handle[a999 & ~ended], (draws.question_999 + draws.rest_999
                                                       + draws.wrap_999)[row[a999 & ~ended]], rtol=1e-12)

    # 101: the switchboard's part, answer to end of triage, is the call's drawn triage time
    a101 = answered & ~on_999
    route = behind["route"].astype(str).to_numpy()
    done = np.where(route == "secondary", behind["t_secondary_offer"].to_numpy(), t_end)
    np.testing.assert_allclose(handle[a101], (done - t_answer)[a101], rtol=0, atol=1e-9)
    np.testing.assert_allclose(handle[a101], draws.triage[row[a101]], rtol=0, atol=1e-6)
    assert set(route[a101]) == {"secondary", "closed", "to_999"}


def test_the_digital_desk_counts_as_answered(run):
    behind = simulator_rows(run, run["calls"])
    desk = (behind["answered_by"] == "digital_desk").to_numpy()
    assert desk.any() == (run["name"] == "short_staffed")  # the baseline has no digital desk on duty
    assert (run["calls"]["outcome"].to_numpy()[desk] == "answered").all()


def test_calls_offered_outside_the_period_are_left_out(run):
    sim = run["result"].records.calls
    day = 86400.0
    frame = export.canonical_calls(sim, START, from_s=1.5 * day, to_s=2.0 * day)
    behind = sim.loc[frame.index]
    assert ((behind["t_offer"] >= 1.5 * day) & (behind["t_offer"] < 2.0 * day)).all()
    expected = run["calls"].loc[(simulator_rows(run, run["calls"])["t_offer"] >= 1.5 * day).to_numpy()
                                & (simulator_rows(run, run["calls"])["t_offer"] < 2.0 * day).to_numpy()]
    assert frame.index.tolist() == expected.index.tolist()
    assert frame["arrived_at"].min() >= pd.Timestamp("2021-04-06 12:00")
    assert frame["arrived_at"].max() < pd.Timestamp("2021-04-07")


def test_draws_that_are_not_the_runs_are_refused(run):
    sim, draws = run["result"].records.calls, run["draws"]
    other = dataclasses.replace(draws, question_999=draws.question_999 + 1.0)
    with pytest.raises(export.ExportError, match="do not give the talk times"):
        export.handle_999_from_draws(sim, other)


# ----------------------------------------------------------------- incidents
def test_incidents_are_those_whose_call_started_in_the_measured_period(run):
    result, frame = run["result"], run["incidents"]
    inc = result.records.incidents
    measured = inc[inc["t_call_start"] >= result.model.warmup_s]
    assert frame.index.tolist() == measured.sort_values("t_call_start", kind="stable")["incident_id"].tolist()
    behind = inc.loc[frame.index]
    assert (frame["grade"].to_numpy() == behind["grade"].astype(str).to_numpy()).all()
    for column, t in (("created_at", "t_call_start"), ("assigned_at", "t_assigned"), ("arrived_at", "t_on_scene"),
                      ("cleared_at", "t_clear")):
        expected = pd.Timestamp(START) + pd.to_timedelta(behind[t].to_numpy(), unit="s")
        known = behind[t].notna().to_numpy()
        assert (frame[column].notna().to_numpy() == known).all(), column
        assert (frame[column].to_numpy()[known] == expected.to_numpy()[known]).all(), column
    deployed = behind["grade"].isin(["immediate", "priority", "prompt"]).to_numpy()
    assert frame["assigned_at"].isna().to_numpy()[~deployed].all()
    assert (frame["arrived_at"].dropna() >= frame.loc[frame["arrived_at"].notna(), "assigned_at"]).all()
    # the baseline has areas: each incident carries its district's name
    assert set(frame["area"]) == set(result.model.areas.names)
    assert frame["unit"].isna().all()
    # call_line is the line the caller first rang: the grading source of the model
    source = behind["source"].astype(str).to_numpy()
    assert (frame["call_line"].to_numpy() == np.where(source == "line_999", "999", "101")).all()
    assert set(frame["call_line"]) == {"999", "101"}


def test_one_area_leaves_the_area_empty():
    result = simulate(load_config(["scenario=validation/erlang_a", "run.days=0.2", "run.warmup_days=0"]),
                      progress=False)
    frame = export.canonical_incidents(result.records.incidents, START, calls=result.records.calls,
                                       with_areas=result.model.areas.count > 1)
    assert frame["area"].isna().all()


# ----------------------------------------------------------------- the command
def test_the_command_writes_parquet_and_prints_the_counts(run, tmp_path, capsys):
    assert export.main([str(run["folder"]), "--out", str(tmp_path / "x"), "--format", "parquet"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"{tmp_path / 'x' / 'calls.parquet'}: {len(run['calls']):,} rows",
                       f"{tmp_path / 'x' / 'incidents.parquet'}: {len(run['incidents']):,} rows"]
    back = pd.read_parquet(tmp_path / "x" / "calls.parquet")
    assert back["arrived_at"].equals(run["calls"]["arrived_at"].reset_index(drop=True))


def test_a_folder_that_is_not_a_run_folder_is_refused_and_nothing_is_written(tmp_path):
    folder = tmp_path / "not_a_run"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    done = subprocess.run([sys.executable, "-m", "demandsim.export", str(folder)], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1
    assert "not a run folder" in done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_a_run_of_another_version_is_one_line_and_nothing_written(run, tmp_path, capsys):
    folder = tmp_path / "old_run"
    folder.mkdir()
    for path in run["folder"].iterdir():
        if path.is_file():
            (folder / path.name).write_bytes(path.read_bytes())
    text = (folder / "config.yaml").read_text()
    (folder / "config.yaml").write_text(text.replace("run:\n", "run:\n  no_such_key: 1\n", 1))
    assert export.main([str(folder)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot be rebuilt" in err
    assert not (folder / "export").exists()


def test_the_export_may_not_overwrite_the_run_folder(run):
    with pytest.raises(export.ExportError, match="run folder itself"):
        export.export_run(run["folder"], run["folder"], "parquet")
