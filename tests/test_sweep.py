"""Sweeps as a user runs them: the issue's command, seeds, tables, crash safety, failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from demandsim import sweep
from demandsim.config import PROJECT_DIR, list_scenarios, load_config
from demandsim.identity import run_id
from demandsim.outputs import RESULT_FILES, config_text
from demandsim.stats import share_interval, t_interval
from helpers import ERLANG_SWEEP, cli, erlang_sweep, run

SHORT = ["run.days=1", "run.warmup_days=0.25"]
POINTS = ["scenario=validation/erlang_a", "validation.servers=28,32"]
KPIS_MD = PROJECT_DIR.parent / "shared" / "KPIS.md"


def contract_kpis() -> list[str]:
    names = ["calls_999_offered", "calls_101_offered", "sl_999_10s", "abandon_rate_999", "abandon_rate_101",
             "abandon_rate_101_secondary", "asa_999_s", "asa_101_s", "redials_999_from_101",
             "attend_within_target_all", "utilisation_call_handlers", "utilisation_switchboard",
             "utilisation_units"]
    for stem in ("incidents", "attend_within_target", "attend_p90_min", "dispatch_wait_mean_min"):
        names += [f"{stem}_{g}" for g in ("immediate", "priority", "prompt")]
    return names


@pytest.fixture(scope="module")
def swept():
    """The issue's form of the command, shortened: 2 points x 2 replications (helpers.ERLANG_SWEEP)."""
    assert ERLANG_SWEEP == [*POINTS, "run.replications=2", *SHORT]
    return erlang_sweep()


def test_sweep_writes_one_tidy_table(swept):
    out, done = swept
    table = pd.read_parquet(out / sweep.SWEEP_TABLE)
    assert len(table) == 4
    for column in ["validation.servers", "seed", "replication", "run_id", *contract_kpis()]:
        assert column in table.columns, column
    assert sorted(table["validation.servers"].unique().tolist()) == [28, 32]
    assert table["sl_999_10s"].between(0, 1).all()
    assert table["calls_101_offered"].eq(0).all() and table["abandon_rate_101"].isna().all()  # null, never 0
    assert "Results:" in done.stdout


def test_replications_differ_only_in_seed_with_common_random_numbers(swept):
    out, _ = swept
    table = pd.read_parquet(out / sweep.SWEEP_TABLE)
    base = load_config(["scenario=validation/erlang_a"]).run.seed
    for _, row in table.iterrows():
        assert row["seed"] == base + row["replication"]
    # the same replication index has the same seed (and so the same callers) at every point
    by_rep = table.groupby("replication")
    assert (by_rep["seed"].nunique() == 1).all()
    assert (by_rep["calls_999_offered"].nunique() == 1).all()
    assert table.groupby("validation.servers")["seed"].nunique().eq(2).all()


def test_replication_zero_is_the_single_run(swept):
    out, _ = swept
    table = pd.read_parquet(out / sweep.SWEEP_TABLE)
    row = table[(table["validation.servers"] == 32) & (table["replication"] == 0)].iloc[0]
    single = run(["scenario=validation/erlang_a", "validation.servers=32", *SHORT])
    assert row["run_id"] == run_id(single.config)
    for name, value in single.kpis.items():
        assert (value is None and pd.isna(row[name])) or row[name] == pytest.approx(value, abs=0, rel=1e-12), name


def test_sweeps_use_the_fast_engine_with_the_reference_results(swept):
    """A sweep runs on the compiled engine unless run.engine is given; the single run
    above (reference engine) gave exactly the same KPIs, and the same run id."""
    out, _ = swept
    summaries = [json.loads(p.read_text()) for p in (out / sweep.RUNS_DIR).glob("*/summary.json")]
    assert len(summaries) == 4 and {s["engine"] for s in summaries} == {sweep.SWEEP_ENGINE} == {"fast"}
    assert run(["scenario=validation/erlang_a", *SHORT]).config.run.engine == "simpy"


def test_summary_has_mean_and_95_percent_interval_per_point_and_kpi(swept):
    out, _ = swept
    table = pd.read_parquet(out / sweep.SWEEP_TABLE)
    summary = pd.read_parquet(out / sweep.SUMMARY_TABLE)
    # every KPI the runs wrote (the contract's and any beyond it), once per point
    written = json.loads(next((out / sweep.RUNS_DIR).glob("*/summary.json")).read_text())["kpis"]
    assert set(contract_kpis()) <= set(summary["kpi"]) == set(written)
    assert len(summary) == 2 * len(written)
    # a share's interval is the logit one, within 0..1 (demandsim.stats.share_interval); others are Student-t
    for kpi, interval in (("sl_999_10s", share_interval), ("asa_999_s", t_interval)):
        row = summary[(summary["validation.servers"] == 28) & (summary["kpi"] == kpi)].iloc[0]
        values = table.loc[table["validation.servers"] == 28, kpi]
        expected = interval(values)
        assert row["n"] == 2 and row["mean"] == pytest.approx(values.mean())
        assert row["ci_low"] == pytest.approx(expected.low) and row["ci_high"] == pytest.approx(expected.high)
        assert row["ci_low"] < row["mean"] < row["ci_high"]
    nothing = summary[summary["kpi"] == "abandon_rate_101"]
    assert nothing["mean"].isna().all() and nothing["n"].eq(0).all()


def test_run_folders_are_complete_and_named_by_run_id(swept):
    out, _ = swept
    folders = sorted(p for p in (out / sweep.RUNS_DIR).iterdir())
    assert len(folders) == 4
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == sorted(RESULT_FILES)
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["run_id"] == folder.name and "overrides" in summary
    assert not (out / sweep.SCRATCH_DIR).exists()
    assert not list(out.glob("**/.*.tmp-*"))


def test_rerun_of_a_finished_sweep_runs_nothing(swept):
    out, _ = swept
    before = pd.read_parquet(out / sweep.SWEEP_TABLE)
    done = cli("-m", *POINTS, "run.replications=2", *SHORT, f"hydra.sweep.dir={out}")
    assert done.returncode == 0, done.stderr
    assert "4 already done, skipped" in done.stdout
    assert "launching" not in done.stdout.lower()
    pd.testing.assert_frame_equal(before, pd.read_parquet(out / sweep.SWEEP_TABLE))


def test_interrupted_sweep_resumes_and_completes(swept, tmp_path):
    """Kill a sweep (its whole process group) after its first run; re-running finishes the rest."""
    reference = pd.read_parquet(swept[0] / sweep.SWEEP_TABLE)
    out = tmp_path / "sw"
    args = [sys.executable, "-m", "demandsim", "-m", *POINTS, "run.replications=2", *SHORT,
            f"hydra.sweep.dir={out}", "hydra.launcher.n_jobs=1"]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    proc = subprocess.Popen(args, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            runs = out / sweep.RUNS_DIR
            if runs.is_dir() and any(not p.name.startswith(".") for p in runs.iterdir()):
                break
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finished = [p for p in (out / sweep.RUNS_DIR).iterdir() if not p.name.startswith(".")]
    assert 1 <= len(finished) < 4, "the sweep was not interrupted part-way"
    for folder in finished:  # a folder that exists is complete
        assert sorted(p.name for p in folder.iterdir()) == sorted(RESULT_FILES)

    agg = sweep.aggregate(out)  # the report's view of the broken sweep: missing runs named
    assert len(agg.runs) == len(finished) and len(agg.missing) == 4 - len(finished)
    assert all("validation.servers=" in line for line in sweep.describe_missing(agg.missing))

    done = cli("-m", *POINTS, "run.replications=2", *SHORT, f"hydra.sweep.dir={out}")
    assert done.returncode == 0, done.stderr
    assert f"{len(finished)} already done, skipped" in done.stdout
    resumed = pd.read_parquet(out / sweep.SWEEP_TABLE)
    pd.testing.assert_frame_equal(resumed.drop(columns=["run_dir"]), reference.drop(columns=["run_dir"]))
    assert not list(out.glob("**/.*.tmp-*")) and not (out / sweep.SCRATCH_DIR).exists()


def test_wider_sweep_reuses_finished_runs(swept, tmp_path):
    out = tmp_path / "sw"
    for name in (sweep.RUNS_DIR,):
        import shutil

        shutil.copytree(swept[0] / name, out / name)
    done = cli("-m", "scenario=validation/erlang_a", "validation.servers=28,30,32", "run.replications=2", *SHORT,
               f"hydra.sweep.dir={out}")
    assert done.returncode == 0, done.stderr
    assert "sweep of 6 runs (3 points x 2 replications)" in done.stdout and "4 already done" in done.stdout
    assert len(pd.read_parquet(out / sweep.SWEEP_TABLE)) == 6


def test_a_job_runs_several_replications_with_the_same_results(swept, tmp_path):
    """hydra.sweeper.runs_per_job=2: one launcher job per point (composed once), same runs and KPIs."""
    out = tmp_path / "sw"
    done = cli("-m", *POINTS, "run.replications=2", *SHORT, f"hydra.sweep.dir={out}", "hydra.sweeper.runs_per_job=2")
    assert done.returncode == 0, done.stderr
    runs = sweep.read_manifest(out)["runs"]
    assert [r["batch"] for r in runs] == [0, 0, 1, 1] and {r["point"] for r in runs if r["batch"] == 1} == {1}
    pd.testing.assert_frame_equal(pd.read_parquet(out / sweep.SWEEP_TABLE), pd.read_parquet(swept[0] / sweep.SWEEP_TABLE))
    assert not (out / sweep.SCRATCH_DIR).exists()


def test_runs_per_job_by_default_keeps_both_workers_busy():
    assert sweep.choose_runs_per_job(None, todo=200, workers=2) == sweep.MAX_RUNS_PER_JOB
    assert sweep.choose_runs_per_job(None, todo=48, workers=2) == 3
    assert sweep.choose_runs_per_job(None, todo=4, workers=2) == 1
    assert sweep.choose_runs_per_job(7, todo=4, workers=2) == 7
    assert sweep.workers_of({"n_jobs": 2}) == 2 and sweep.workers_of({"n_jobs": -1}) == (os.cpu_count() or 1)
    # Ray: this machine's CPUs for a local Ray, unknown for a cluster (then one run per job)
    assert sweep.workers_of({"ray": {"init": {"address": None, "num_cpus": 3}}}) == 3
    assert sweep.workers_of({"ray": {"init": {"address": "head:6379"}}}) is None
    assert sweep.choose_runs_per_job(None, todo=200, workers=None) == 1


def test_failing_runs_of_a_job_are_one_line_naming_the_point(tmp_path):
    out = tmp_path / "sw"
    done = cli("-m", "scenario=validation/erlang_a", "validation.servers=-3,28", "run.replications=2", *SHORT,
               f"hydra.sweep.dir={out}", "hydra.sweeper.runs_per_job=2")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "validation.servers=-3" in lines[0] and "(2 runs failed)" in lines[0], done.stderr
    table = pd.read_parquet(out / sweep.SWEEP_TABLE)
    assert table["validation.servers"].tolist() == [28, 28]


def test_failing_run_of_a_sweep_is_one_line_naming_the_point(tmp_path):
    out = tmp_path / "sw"
    done = cli("-m", "scenario=validation/erlang_a", "validation.servers=28,-3", *SHORT, f"hydra.sweep.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "validation.servers=-3" in lines[0] and "-3" in lines[0] and "Traceback" not in done.stderr
    table = pd.read_parquet(out / sweep.SWEEP_TABLE)  # the good point is kept, the bad one is missing
    assert table["validation.servers"].tolist() == [28]
    assert "missing: 1 run(s): validation.servers=-3" in done.stdout


@pytest.mark.parametrize("args, must_name", [
    (["-m", "validation.servers=28,32", "scenario=validation/erlang_a", "run.replications=0"],
     ["run.replications", "0"]),
    (["run.replications=0"], ["run.replications", "0"]),
    (["-m", "scenario=validation/erlang_a", "validation.servers=28,32", "run.dayz=1"], ["run.dayz", "1"]),
    (["run.replications=2", "run.replication=1"], ["run.replication", "1"]),
    (["-m", "scenario=validation/erlang_a", "validation.servers=28,32", "hydra.sweeper.runs_per_job=0"],
     ["hydra.sweeper.runs_per_job", "0"]),
])
def test_bad_sweep_input_is_refused_before_anything_runs(tmp_path, args, must_name):
    out = tmp_path / "out"
    done = cli(*args, *SHORT, f"hydra.sweep.dir={out}", f"hydra.run.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for text in must_name:
        assert text in lines[0], (text, lines[0])
    assert not out.exists()


def test_single_run_with_replications_is_a_one_point_sweep(tmp_path):
    out = tmp_path / "run"
    done = cli("scenario=validation/erlang_a", "run.replications=2", *SHORT, f"hydra.run.dir={out}")
    assert done.returncode == 0, done.stderr
    table = pd.read_parquet(out / sweep.SWEEP_TABLE)
    assert table["replication"].tolist() == [0, 1] and table["seed"].diff().iloc[1] == 1
    assert len(list((out / sweep.RUNS_DIR).iterdir())) == 2
    assert set(pd.read_parquet(out / sweep.SUMMARY_TABLE)["n"]) <= {0, 2}


def test_run_id_ignores_what_cannot_change_results():
    a = load_config(["run.replications=1"])
    b = load_config(["run.replications=5", "run.progress=false", "paths.results_dir=elsewhere"])
    c = load_config(["run.replication=1"])
    d = load_config(["run.seed=2022"])
    assert run_id(a) == run_id(b)
    assert run_id(a) != run_id(c) and run_id(c) == run_id(d)  # the same draws: the same simulation


@pytest.mark.parametrize("scenario", list_scenarios())
def test_config_text_is_omegaconfs_yaml(scenario):
    """config.yaml, run ids and config hashes come from a fast dump that must read as OmegaConf writes it."""
    from omegaconf import OmegaConf

    cfg = load_config([f"scenario={scenario}", "run.replication=3"])
    assert config_text(cfg) == OmegaConf.to_yaml(OmegaConf.structured(cfg))


def test_t_interval():
    ci = t_interval([1.0, 2.0, 3.0, float("nan")])
    assert ci.n == 3 and ci.mean == 2.0
    assert ci.half_width == pytest.approx(4.302652729911275 * 1.0 / 3 ** 0.5)  # t(0.975, 2) * sd / sqrt(n)
    one = t_interval([0.5])
    assert one.n == 1 and one.mean == 0.5 and not one.above(0.1) and not one.below(0.9)


def test_planning_applies_plain_values_to_the_first_point_and_composes_the_rest():
    """sweep.PointComposer: a point that differs only in config values is the first point's
    config with those values set, exactly as Hydra composes it; a config group is composed.
    (This comparison is what fails if a Hydra upgrade changes how an override is applied.)"""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    from demandsim import config as config_pkg

    config_pkg.setup()
    with initialize_config_dir(config_dir=str(config_pkg.CONFIG_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        composed = []

        def compose(overrides):
            composed.append(list(overrides))
            return loader.load_configuration(config_pkg.PRIMARY_CONFIG, list(overrides), RunMode.RUN)

        composer = sweep.PointComposer(compose, loader)
        base = ["scenario=baseline_2021", "run.days=2"]
        points = [
            [*base, "staffing.units.shifts.1.staff=16", "callers.redial.delay={kind:exponential,mean:3}"],
            [*base, "staffing.units.shifts.1.staff=30", "callers.redial.delay={kind:exponential,mean:3}"],
            [*base, "staffing.units.shifts.1.staff=30", "callers.redial.delay={kind:deterministic,value:4}"],
            ["scenario=demand_2024", "run.days=2", "staffing.units.shifts.1.staff=16",
             "callers.redial.delay={kind:exponential,mean:3}"],
        ]
        for overrides in points:
            quick = config_pkg.to_config(composer(overrides))
            full = config_pkg.to_config(loader.load_configuration(config_pkg.PRIMARY_CONFIG, overrides, RunMode.RUN))
            assert quick == full, overrides
    # a changed mapping (merged into what is there) and a group (scenario) are composed in full
    assert composed == [points[0], points[2], points[3]]


def test_a_sweep_of_an_interval_is_refused_naming_the_key():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from demandsim.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^run\.days=interval\(1,2\): a sweep takes listed values"):
        sweep.split_jobs(OverridesParser.create().parse_overrides(["run.seed=1,2", "run.days=interval(1,2)"]))


def test_sweeps_use_only_hydras_public_api():
    """hydra._internal may change in any Hydra release (issue 9): the sweeper and the sweep use
    Hydra's plugin interface, override parser and config loader interface only."""
    sources = [*(PROJECT_DIR / "demandsim").rglob("*.py"), *(PROJECT_DIR / "hydra_plugins").rglob("*.py")]
    assert len(sources) > 10
    assert [p.name for p in sources if "hydra._internal" in p.read_text()] == []


def test_a_job_whose_config_was_not_planned_runs_nothing(tmp_path):
    """If a worker's composed config is not the planned one (files edited mid-sweep), its job
    fails in one line for each of its runs and writes no run folder."""
    from omegaconf import OmegaConf

    from demandsim import cli

    planned = sweep.PlannedRun(0, ["run.replication=0"], 0, {}, 0, "0123456789abcdef", 1, 1.0, batch=0)
    sweep.write_manifest(tmp_path, [], [], 1, [planned], "baseline_2021")
    hydra_cfg = OmegaConf.create({"overrides": {"task": ["run.days=1"]}, "sweep": {"dir": str(tmp_path)},
                                  "runtime": {"output_dir": str(tmp_path / sweep.SCRATCH_DIR / "0")}})
    outcome = cli.sweep_job(OmegaConf.structured(load_config(["run.days=1", "run.warmup_days=0"])), hydra_cfg)
    assert outcome["status"] == "failed" and outcome["message"] == sweep.CONFIG_CHANGED
    assert not (tmp_path / sweep.RUNS_DIR).exists()


def test_progress_writer_writes_at_most_once_per_interval_and_always_the_reset(tmp_path):
    clock = [100.0]
    write = sweep.progress_writer(tmp_path, every_s=0.5, clock=lambda: clock[0])
    target = tmp_path / sweep.PROGRESS_FILE
    write(1.0)
    assert target.read_text() == "1"
    clock[0] += 0.1
    write(2.0)  # too soon
    assert target.read_text() == "1"
    clock[0] += 0.5
    write(3.0)
    assert target.read_text() == "3"
    write(0.0)  # a finished run's days are counted from its folder: reset at once
    assert target.read_text() == "0"


def test_a_staffing_sweep_job_runs_one_replication_of_several_points_with_the_same_results(tmp_path):
    """Points that differ only in staffing share each replication's draws: a job runs one
    replication of several points (drawn once); the results equal one run per job."""
    args = ["-m", "scenario=baseline_2021", "staffing.units.shifts.1.staff=3,40", "run.replications=2", *SHORT]
    grouped, alone = tmp_path / "grouped", tmp_path / "alone"
    done = cli(*args, f"hydra.sweep.dir={grouped}", "hydra.sweeper.runs_per_job=2")
    assert done.returncode == 0, done.stderr
    runs = sweep.read_manifest(grouped)["runs"]
    assert [(r["point"], r["replication"], r["batch"]) for r in runs] == [(0, 0, 0), (0, 1, 1), (1, 0, 0), (1, 1, 1)]
    done = cli(*args, f"hydra.sweep.dir={alone}", "hydra.sweeper.runs_per_job=1")
    assert done.returncode == 0, done.stderr
    a, b = pd.read_parquet(grouped / sweep.SWEEP_TABLE), pd.read_parquet(alone / sweep.SWEEP_TABLE)
    assert a["attend_within_target_all"].nunique() > 2  # staffing and seed both change the outcome
    pd.testing.assert_frame_equal(a, b)
    for run in runs:
        one = pd.read_parquet(grouped / run["folder"] / "calls.parquet")
        pd.testing.assert_frame_equal(one, pd.read_parquet(alone / run["folder"] / "calls.parquet"))
    assert not (grouped / sweep.SCRATCH_DIR).exists()
