"""A scenario file anywhere (``scenario=PATH.yaml``) runs like one under scenarios/."""

from __future__ import annotations

import json

from demandsim.cli import main
from demandsim.config import load_config

SCENARIO = """# @package _global_
scenario_name: from_a_file
run:
  days: 1
  warmup_days: 0
staffing:
  call_handlers:
    shifts: [{start_hour: 0, hours: 168, staff: 9, days: [Mon]}]
"""


def test_scenario_file_outside_scenarios_loads_and_runs(tmp_path, capsys):
    path = tmp_path / "elsewhere" / "my_force.yaml"
    path.parent.mkdir()
    path.write_text(SCENARIO)
    cfg = load_config([f"scenario={path}"])
    assert cfg.scenario_name == "from_a_file"
    assert cfg.staffing.call_handlers.shifts[0].staff == 9
    out = tmp_path / "run"
    assert main([f"scenario={path}", "run.days=0.25", f"hydra.run.dir={out}"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "from_a_file"
    assert f"scenario={path}" in summary["overrides"]  # what the user typed, for re-running it


def test_missing_scenario_file_is_one_line(tmp_path, capsys):
    assert main([f"scenario={tmp_path}/nope.yaml", f"hydra.run.dir={tmp_path}/run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"no such scenario file: {tmp_path}/nope.yaml" in err
    assert not (tmp_path / "run").exists()
