"""The command line as a user meets it: outputs, reproducibility, bad input, safety."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from demandsim.config import SCENARIOS_DIR
from helpers import cli

SHORT = ["run.days=2", "run.warmup_days=0.5"]


def test_run_writes_the_results_contract(tmp_path):
    out = tmp_path / "run"
    done = cli(*SHORT, f"hydra.run.dir={out}")
    assert done.returncode == 0, done.stderr
    assert "999 answered within 10 s" in done.stdout and str(out) in done.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["summary.json", "calls.parquet", "incidents.parquet", "intervals.parquet", "config.yaml"])
    summary = json.loads((out / "summary.json").read_text())
    kpis = summary["kpis"]
    for name in ["calls_999_offered", "calls_101_offered", "sl_999_10s", "abandon_rate_999", "abandon_rate_101",
                 "abandon_rate_101_secondary", "asa_999_s", "asa_101_s", "redials_999_from_101",
                 "utilisation_call_handlers", "utilisation_switchboard", "utilisation_units"] + [
        f"{stem}_{g}" for stem in ("incidents", "attend_within_target", "attend_p90_min", "dispatch_wait_mean_min")
        for g in ("immediate", "priority", "prompt")] + ["attend_within_target_all"]:
        assert name in kpis, name
    assert summary["scenario"] == "baseline_2021" and summary["seed"] == 2021
    calls = pd.read_parquet(out / "calls.parquet")
    assert {"call_id", "line", "origin", "t_offer", "t_answer", "outcome"} <= set(calls.columns)
    assert set(calls["origin"].unique()) <= {"original", "redial", "switchboard_transfer", "callback"}
    incidents = pd.read_parquet(out / "incidents.parquet")
    assert {"incident_id", "grade", "t_call_start", "attendance_s", "within_target"} <= set(incidents.columns)
    assert (calls["t_offer"] < 2 * 86400).all()  # seconds from the start


def test_same_seed_gives_identical_files(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 4), (b, 4), (c, 5)):
        assert cli(*SHORT, f"run.seed={seed}", f"hydra.run.dir={out}").returncode == 0
    for name in ("summary.json", "calls.parquet", "incidents.parquet", "intervals.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "summary.json").read_bytes() != (c / "summary.json").read_bytes()


def test_null_kpis_when_nothing_to_measure(tmp_path):
    out = tmp_path / "v"
    done = cli("scenario=validation/erlang_a", "run.days=1", "run.warmup_days=0", f"hydra.run.dir={out}")
    assert done.returncode == 0, done.stderr
    kpis = json.loads((out / "summary.json").read_text())["kpis"]
    assert kpis["calls_101_offered"] == 0
    assert kpis["abandon_rate_101"] is None and kpis["asa_101_s"] is None
    assert kpis["attend_within_target_all"] is None and kpis["utilisation_units"] is None


@pytest.mark.parametrize(
    "args, must_name",
    [
        (["run.dayz=5"], ["run.dayz", "5"]),  # a mistyped key
        (["+run.foo=5"], ["run.foo", "5"]),  # a key the schema does not know, forced in
        (["arrivals.line_999.per_year=-500"], ["arrivals.line_999.per_year", "-500"]),  # a negative rate
        (["triage.route.to_999=0.5"], ["triage.route", "0.5", "sum to 1"]),  # shares do not sum to 1
        (["grading.mix.secondary.prompt=0.9"], ["grading.mix.secondary", "0.9"]),
        (["scenario=no_such_scenario"], ["no_such_scenario", "baseline_2021"]),  # unknown scenario
        (["staffing.call_handlers.shifts=[]"], ["staffing.call_handlers", "no staff"]),  # empty roster, demand
        (["staffing.switchboard.shifts=[]"], ["staffing.switchboard", "no staff"]),
        (["run.days=abc"], ["run.days", "abc"]),
        (["run.warmup_days=30"], ["run.warmup_days", "30"]),
        (["callers.patience.line_999.kind=erlang"], ["callers.patience.line_999.kind", "erlang"]),
        (["handling.line_999.question_set.cv=-1"], ["handling.line_999.question_set.cv", "-1"]),
        (["staffing.units.shifts=[{start_hour:25,hours:8,staff:3}]"], ["start_hour", "25"]),
        # a value a scenario derives: named by the key the user typed, then the derived one
        (["scenario=validation/erlang_a", "validation.arrivals_per_min=-1"],
         ["validation.arrivals_per_min=-1 (via arrivals.line_999.per_year=-525600.0)", ">= 0"]),
        (["arrivals.line_999.per_year=nan"], ["arrivals.line_999.per_year=nan", "finite"]),
        (["staffing.call_handlers.shifts.2.staff=inf"], ["staffing.call_handlers.shifts[2].staff", "inf"]),
        # more simulated hours than any machine's memory holds: the estimate and the limit, before drawing
        (["run.days=1e9"], ["run.days=1000000000.0", "GiB of memory, more than the", "available"]),
    ],
)
def test_bad_input_is_one_line_naming_key_and_value(tmp_path, args, must_name):
    out = tmp_path / "out"
    done = cli(*SHORT, *args, f"hydra.run.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for text in must_name:
        assert text in lines[0], (text, lines[0])
    assert not out.exists(), "a failed run must leave no output folder"


def test_existing_folder_with_content_is_left_alone_on_failure(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    done = cli("run.days=-1", f"hydra.run.dir={out}")
    assert done.returncode == 2
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_scenario_that_names_a_callable_is_refused(tmp_path):
    """A scenario passed around by email is data: nothing in it may import or call code."""
    evil = SCENARIOS_DIR / "_test_evil.yaml"
    marker = tmp_path / "pwned"
    cases = {
        "target": f"# @package _global_\nscenario_name: x\nrun:\n  seed: {{_target_: os.system, command: 'touch {marker}'}}\n",
        "hydra_callback": ("# @package _global_\nhydra:\n  callbacks:\n    x:\n      _target_: builtins.exec\n"
                           f"      source: \"open('{marker}', 'w')\"\n"),
        "validation_target": "# @package _global_\nvalidation:\n  x: {_target_: subprocess.call, args: [touch]}\n",
    }
    try:
        for name, text in cases.items():
            evil.write_text(text)
            done = cli("scenario=_test_evil", *SHORT, f"hydra.run.dir={tmp_path / name}")
            assert done.returncode == 2, (name, done.stdout, done.stderr)
            assert "refused" in done.stderr and "_test_evil.yaml" in done.stderr, done.stderr
            assert not marker.exists()
            assert not (tmp_path / name).exists()
    finally:
        evil.unlink(missing_ok=True)


def test_a_sweep_over_scenarios_checks_every_one_before_anything_runs(tmp_path, monkeypatch, capsys):
    """scenario=glob(...), choice(...), a,b and +scenario/sub=name: every scenario the sweep would load
    is checked first (in-process, with the scenarios folder pointed at one holding an unsafe file)."""
    import sys

    from demandsim import cli as cli_module
    from demandsim import config as config_pkg

    folder = tmp_path / "scenarios"
    (folder / "more").mkdir(parents=True)
    (folder / "fine.yaml").write_text("# @package _global_\nscenario_name: fine\n")
    (folder / "more" / "evil.yaml").write_text(
        f"# @package _global_\nrun:\n  seed: {{_target_: os.system, command: 'touch {tmp_path / 'pwned'}'}}\n")
    monkeypatch.setattr(config_pkg, "SCENARIOS_DIR", folder)
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # main() sets them
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    for sweep in ("scenario=glob(*)", "scenario=glob(more/*)", "scenario=choice(fine,more/evil)",
                  "scenario=fine,more/evil", "+scenario/more=evil", "hydra.sweeper.params.scenario=glob(*)"):
        out = tmp_path / "out"
        code = cli_module.main(["-m", sweep, "run.days=0.1", "run.warmup_days=0", "hydra/launcher=basic",
                                f"hydra.sweep.dir={out}"])
        err = capsys.readouterr().err
        assert code == 2, (sweep, err)
        assert err.startswith("demandsim: refused: ") and "more/evil.yaml" in err and err.count("\n") == 1, err
        assert not out.exists() and not (tmp_path / "pwned").exists()
    assert config_pkg.scenario_refusals(["scenario=fine"]) == []  # the safe one alone is fine


def test_help_lists_scenarios_and_groups():
    done = cli("--help")
    assert done.returncode == 0
    for name in ("baseline_2021", "demand_2024", "december_peak", "officers_on_phones", "short_question_set",
                 "erlang_a", "priority_dispatch", "staffing", "arrivals", "dispatch"):
        assert name in done.stdout, name


def test_help_lists_the_groups_hydra_lists():
    """The fast help (no Hydra start-up) lists exactly the config groups and options Hydra composes from."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from demandsim.config import CONFIG_DIR
    from demandsim.help import config_groups

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()

        def groups(parent=""):
            for name in loader.list_groups(parent):
                group = f"{parent}/{name}" if parent else name
                if group != "hydra":
                    yield group
                    yield from groups(group)

        hydra_lists = {g: sorted(loader.get_group_options(g)) for g in groups()}
    assert config_groups() == {g: options for g, options in hydra_lists.items() if options}


def test_a_plain_run_writes_what_hydra_main_writes(tmp_path):
    """A run given only overrides is composed once (cli.plain_run); with Hydra's explicit --run
    flag it goes through hydra.main: the same folder, the same files, byte for byte."""
    args = ["scenario=demand_2024", "run.days=0.5", "run.warmup_days=0.1", "run.seed=4"]
    plain, hydra_main = tmp_path / "plain", tmp_path / "hydra"
    done = cli(*args, f"hydra.run.dir={plain}")
    assert done.returncode == 0, done.stderr
    assert cli("--run", *args, f"hydra.run.dir={hydra_main}").returncode == 0
    for name in ("config.yaml", "calls.parquet", "incidents.parquet", "intervals.parquet"):
        assert (plain / name).read_bytes() == (hydra_main / name).read_bytes(), name
    a, b = (json.loads((d / "summary.json").read_text()) for d in (plain, hydra_main))
    assert a == b
    assert f"Results: {plain}" in done.stdout


def test_cfg_job_shows_the_merged_config():
    done = cli("--cfg", "job", "scenario=demand_2024")
    assert done.returncode == 0
    assert "per_year: 158000" in done.stdout and "scenario_name: demand_2024" in done.stdout


def test_issue_validation_commands(tmp_path):
    """The exact commands from the issue work (shortened to keep CI fast)."""
    out = tmp_path / "ea"
    done = cli("scenario=validation/erlang_a", "validation.servers=30", "validation.arrivals_per_min=7",
               "validation.mean_handle_min=4", "validation.mean_patience_min=null", "run.days=2",
               "run.warmup_days=1", "run.seed=1", f"hydra.run.dir={out}")
    assert done.returncode == 0, done.stderr
    kpis = json.loads((out / "summary.json").read_text())["kpis"]
    assert kpis["abandon_rate_999"] == 0.0 and kpis["asa_999_s"] > 0
    out = tmp_path / "pd"
    done = cli("scenario=validation/priority_dispatch", "validation.units=12", "validation.per_hour_immediate=2",
               "validation.per_hour_priority=4", "validation.per_hour_prompt=6", "validation.mean_on_scene_min=45",
               "run.days=6", "run.warmup_days=2", "run.seed=1", f"hydra.run.dir={out}")
    assert done.returncode == 0, done.stderr
    kpis = json.loads((out / "summary.json").read_text())["kpis"]
    waits = [kpis[f"dispatch_wait_mean_min_{g}"] for g in ("immediate", "priority", "prompt")]
    assert None not in waits and waits[0] < waits[2]
    assert kpis["calls_101_offered"] == 0
