"""The calibrate command as an analyst uses it: messy rows counted, bad exports refused in one
line with nothing written, the scenario it writes loads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from demandsim.calibrate.__main__ import main
from demandsim.config import load_config


def week_of_calls(days: int = 7, seed: int = 3) -> pd.DataFrame:
    """A week of one 999 line: Poisson arrivals, exponential waits, some hang-ups (no queue model:
    enough for the command, not a round trip)."""
    rng = np.random.default_rng(seed)
    n = int(days * 24 * 30)
    arrived = pd.Timestamp("2024-06-03") + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400, n)), unit="s")
    abandoned = rng.random(n) < 0.1
    return pd.DataFrame({"arrived_at": arrived.strftime("%Y-%m-%dT%H:%M:%S"), "line": "999",
                         "outcome": np.where(abandoned, "abandoned", "answered"),
                         "wait_s": np.round(rng.exponential(20, n), 1),
                         "handle_s": np.where(abandoned, np.nan, np.round(rng.lognormal(5.6, 0.5, n), 1))})


def run(tmp_path, frame: pd.DataFrame, *extra: str) -> tuple[int, str]:
    path = tmp_path / "calls.csv"
    frame.to_csv(path, index=False)
    return main([str(path), "--name", "wk", "--out", str(tmp_path / "out"), *extra]), str(tmp_path / "out")


def test_messy_rows_are_counted_and_the_scenario_loads(tmp_path, capsys):
    calls = week_of_calls()
    messy = pd.concat([calls, calls.iloc[:3],  # three exact duplicates
                       calls.iloc[3:5].assign(wait_s=-2.0),  # negative waits
                       calls.iloc[5:6].assign(outcome="IVR"),  # hung up in the menu
                       calls.iloc[6:7].assign(outcome="answered", handle_s=np.nan)]).sample(frac=1, random_state=1)
    (tmp_path / "map.yaml").write_text("calls:\n  outcome: {excluded: {ivr_hangup: [IVR]}}\n")
    code, out = run(tmp_path, messy, "--mapping", str(tmp_path / "map.yaml"))
    assert code == 0, capsys.readouterr().err
    cal = json.loads((tmp_path / "out" / "wk.calibration.json").read_text())
    assert cal["records"]["excluded"] == {"duplicate": 3, "negative_wait": 2, "ivr_hangup": 1,
                                          "answered_without_handle": 1}
    assert cal["records"]["used"] == len(calls)
    assert list(cal["lines"]) == ["999"] and cal["period"]["days"] == 7.0
    cfg = load_config([f"scenario={tmp_path / 'out' / 'wk.yaml'}"])
    assert cfg.arrivals.line_101.per_year == 0
    assert cfg.staffing.call_handlers.hour_of_week is not None and len(cfg.staffing.call_handlers.hour_of_week) == 168
    assert "run it: python -m demandsim scenario=" in capsys.readouterr().out


@pytest.mark.parametrize("change, args, words", [
    (lambda c: c.assign(line=np.where(np.arange(len(c)) == 40, "Q7", c["line"])), [], ["line", "Q7", "row"]),
    (lambda c: c.iloc[: len(c) // 2], [], ["arrived_at", "at least 7"]),
    (lambda c: c.drop(columns="wait_s"), [], ["wait_s"]),
    (lambda c: c, ["--name", "a/b"], ["--name=a/b"]),
    (lambda c: c, ["--backtest", "--replications", "1"], ["--replications=1"]),
])
def test_bad_export_is_one_line_and_nothing_is_written(tmp_path, capsys, change, args, words):
    path = tmp_path / "calls.csv"
    change(week_of_calls()).to_csv(path, index=False)
    code = main([str(path), "--name", "wk", "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    last = err[-1]
    assert last.startswith("demandsim.calibrate: error:") and all(w in last for w in words), last
    assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "out").exists()
