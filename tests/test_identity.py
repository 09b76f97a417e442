"""A run's identity covers its config, the code and the data files: a resumed sweep never mixes old and new."""

from __future__ import annotations

import json

import pandas as pd

from demandsim import identity
from demandsim.config import load_config
from demandsim.sweep import RUNS_DIR, SWEEP_TABLE
from helpers import cli

#: a 999-only sweep whose wrap-up time comes from a CSV file (an empirical distribution):
#: one point with the CSV, one without, 2 replications each
SHORT = ["scenario=validation/erlang_a", "run.days=0.5", "run.warmup_days=0.1", "run.replications=2"]


def wrap_up_from(csv) -> list[str]:
    return [f"handling.line_999.wrap_up={{kind:empirical,csv:{csv},column:minutes}}"]


def test_run_id_changes_with_the_content_of_a_data_file(tmp_path):
    csv = tmp_path / "wrap.csv"
    csv.write_text("minutes\n0.5\n1.0\n")
    cfg = load_config(["scenario=validation/erlang_a", *wrap_up_from(csv)])
    before = identity.run_id(cfg)
    assert identity.data_files(cfg) == {"handling.line_999.wrap_up.csv": identity.file_hash(csv)}
    csv.write_text("minutes\n0.5\n2.0\n")  # same size, new content
    assert identity.run_id(cfg) != before
    csv.unlink()
    assert identity.data_files(cfg)["handling.line_999.wrap_up.csv"] == "missing"


def test_run_id_changes_with_the_code(monkeypatch):
    cfg = load_config([])
    before = identity.run_id(cfg)
    monkeypatch.setattr(identity, "code_fingerprint", lambda: "another-version")
    assert identity.run_id(cfg) != before


def test_code_fingerprint_covers_the_model_not_the_report():
    """Editing the model must change it; the report, sweeps and CLI only arrange runs."""
    hashed = {p.relative_to(identity.PACKAGE_DIR).as_posix() for p in identity.PACKAGE_DIR.rglob("*.py")
              if p.relative_to(identity.PACKAGE_DIR).parts[0] not in identity.NOT_RESULT_CODE}
    for module in ("kpis.py", "draws.py", "records.py", "outputs.py", "config/schema.py", "model/plan.py",
                   "engines/fast_engine.py", "engines/simpy_engine.py"):
        assert module in hashed
    assert not any(name.startswith(("report/", "sweep")) for name in hashed)


def test_a_resumed_sweep_redoes_the_runs_whose_data_file_changed(tmp_path):
    csv = tmp_path / "wrap.csv"
    csv.write_text("minutes\n0.5\n1.0\n")
    out = tmp_path / "sw"
    # two points: handling with the CSV's wrap-up, and (validation.servers) a second staffing; both read it
    args = ["-m", *SHORT, *wrap_up_from(csv), "validation.servers=28,32", f"hydra.sweep.dir={out}"]
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    first = pd.read_parquet(out / SWEEP_TABLE)
    assert len(first) == 4

    again = cli(*args)  # nothing changed: every run is skipped
    assert again.returncode == 0, again.stderr
    assert "4 already done, skipped" in again.stdout
    csv.write_text("minutes\n3.0\n4.0\n")  # the data changed: every run reads it, so all are re-done
    changed = cli(*args)
    assert changed.returncode == 0, changed.stderr
    assert "already done" not in changed.stdout
    second = pd.read_parquet(out / SWEEP_TABLE)
    assert len(second) == 4 and set(second["run_id"]).isdisjoint(first["run_id"])
    # the new runs read the new file: longer wrap-up, so longer waits at the same staffing
    assert (second["asa_999_s"].to_numpy() > first["asa_999_s"].to_numpy()).all()
    summary = json.loads((out / second["run_dir"][0] / "summary.json").read_text())
    assert summary["data_files"] == {"handling.line_999.wrap_up.csv": identity.file_hash(csv)}
    assert summary["code_fingerprint"] == identity.code_fingerprint()
    assert len(list((out / RUNS_DIR).iterdir())) == 8  # the old runs are kept aside, not mixed in
