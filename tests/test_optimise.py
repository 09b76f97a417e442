"""The optimiser as the strategic group's analyst uses it: the least staff that meets every goal,
against the exact formulas where they hold; one-line errors for goals it cannot take."""

from __future__ import annotations

import json

import numpy as np
import pytest

from demandsim.config import load_config
from demandsim.optimise.__main__ import main
from demandsim.theory import erlang_a_metrics, mmc_priority_waits

#: constant demand with a clear margin: 4 handlers give 88% within 10 s, 3 give 73% (goal 80%)
ERLANG_A = ["scenario=validation/erlang_a", "validation.arrivals_per_min=0.5", "validation.mean_handle_min=4",
            "validation.mean_patience_min=2"]


def optimise(tmp_path, *args: str, name: str = "out") -> dict:
    out = tmp_path / name
    assert main([*args, f"hydra.run.dir={out}"]) == 0
    return json.loads((out / "optimise.json").read_text())


def least_handlers(goal: float) -> int:
    return next(c for c in range(1, 50) if erlang_a_metrics(c, 0.5, 4.0, 2.0, 10 / 60).service_level >= goal)


@pytest.fixture(scope="module")
def erlang_a_every_hour(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("opt")
    return tmp, optimise(tmp, *ERLANG_A, "optimise.goal.sl_999_10s=0.8", "run.days=29", "run.warmup_days=1",
                         "run.replications=5")


def test_constant_demand_finds_the_formulas_least_staff(erlang_a_every_hour):
    """Never below the least staff Erlang A says meets the goal; in most hours exactly it. An hour
    whose bound fell short by chance keeps one more (hours are judged one by one: docs/optimise.md)."""
    tmp, result = erlang_a_every_hour
    c = least_handlers(0.8)
    assert c == 4 and erlang_a_metrics(c - 1, 0.5, 4.0, 2.0, 10 / 60).service_level < 0.75
    staff = np.array(result["staff_per_hour_of_week"])
    assert staff.min() == c
    assert (staff == c).mean() >= 0.8
    assert result["finished"] and result["staff_hours_per_week"] == staff.sum()
    low = np.array(result["achieved"]["by_hour_of_week"]["sl_999_10s"]["ci_low"])
    assert np.all(low >= 0.8)


def test_outputs_layout_and_the_roster_runs(erlang_a_every_hour):
    tmp, result = erlang_a_every_hour
    assert {"group", "mode", "goals", "staff_per_hour_of_week", "staff_hours_per_week", "shifts", "achieved",
            "iterations", "runs", "seconds"} <= set(result)
    assert result["group"] == "call_handlers" and result["mode"] == "every_hour" and result["shifts"] is None
    assert result["goals"] == {"sl_999_10s": 0.8}
    by_hour = result["achieved"]["by_hour_of_week"]["sl_999_10s"]
    assert all(len(by_hour[p]) == 168 for p in ("mean", "ci_low", "ci_high"))
    assert set(result["achieved"]["overall"]["sl_999_10s"]) == {"mean", "ci_low", "ci_high"}
    cfg = load_config([f"scenario={tmp / 'out' / 'roster.yaml'}"])
    assert cfg.staffing.call_handlers.hour_of_week == result["staff_per_hour_of_week"]
    assert cfg.validation["arrivals_per_min"] == 0.5  # the demand it was optimised for, not the scenario's 7
    page = (tmp / "out" / "report.html").read_text()
    assert "Plotly" in page and "<script src=" not in page


def test_overall_never_uses_more_staff_hours_than_every_hour(tmp_path, erlang_a_every_hour):
    _, every = erlang_a_every_hour
    result = optimise(tmp_path, *ERLANG_A, "optimise.goal.sl_999_10s=0.8", "optimise.mode=overall",
                      "run.days=29", "run.warmup_days=1", "run.replications=5")
    assert result["staff_hours_per_week"] <= every["staff_hours_per_week"]
    assert result["achieved"]["overall"]["sl_999_10s"]["ci_low"] >= 0.8


def test_units_agree_with_the_priority_formula(tmp_path):
    """priority_dispatch: 12 incidents an hour, 45 minutes each. The least constant number of units
    keeping priority's mean wait for a unit under 2.5 min is 12 (M/M/c priority: 11 give 3.45);
    over the period the optimiser's roster averages that many."""
    waits = {c: mmc_priority_waits(c, [2 / 60, 4 / 60, 6 / 60], 45.0)[1] for c in (11, 12)}
    assert waits[12] <= 2.5 < waits[11]
    result = optimise(tmp_path, "scenario=validation/priority_dispatch", "optimise.group=units",
                      "optimise.goal.dispatch_wait_mean_min_priority=2.5", "optimise.mode=overall",
                      "run.days=57", "run.warmup_days=1", "run.replications=5")
    mean_units = np.mean(result["staff_per_hour_of_week"])
    assert 11.3 <= mean_units <= 12.5, mean_units
    assert result["achieved"]["overall"]["dispatch_wait_mean_min_priority"]["ci_high"] <= 2.5


@pytest.mark.parametrize("args, words", [
    (["optimise.goal.sl_999_1s=0.9"], ["optimise.goal.sl_999_1s", "unknown KPI"]),
    (["optimise.goal.sl_999_10s=1.5"], ["optimise.goal.sl_999_10s=1.5", "between 0 and 1"]),
    (["optimise.goal.sl_999_10s=0.9", "optimise.shifts=[]"], ["optimise.shifts", "at least one shift"]),
    (["optimise.goal.sl_999_10s=0.9", "optimise.modes=overall"], ["optimise.modes", "unknown key"]),
    ([], ["optimise.goal", "at least one goal"]),
    (["optimise.goal.abandon_rate_101=0.05"], ["optimise.goal.abandon_rate_101", "not moved by"]),
    (["optimise.goal.sl_999_10s=0.9", "run.replications=1"], ["run.replications=1", "at least 2"]),
    (["optimise.goal.sl_999_10s=0.9", "optimise.group=clerks"], ["optimise.group=clerks", "unknown group"]),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, args, words):
    out = tmp_path / "out"
    assert main([*ERLANG_A, "run.days=2", "run.replications=2", *args, f"hydra.run.dir={out}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err
    assert not out.exists()


def test_units_with_meal_breaks_are_refused_with_the_way_round(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["scenario=baseline_2021", "optimise.group=units", "optimise.goal.attend_within_target_priority=0.6",
                 "run.days=3", "run.replications=2", f"hydra.run.dir={out}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "staffing.response.meal_break_min=0" in err[0], err
    assert not out.exists()


def test_group_with_no_demand_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    code = main([*ERLANG_A, "optimise.group=switchboard", "optimise.goal.abandon_rate_101=0.05", "run.days=3",
                 "run.replications=2", f"hydra.run.dir={out}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "optimise.group=switchboard" in err[-1] and "no demand" in err[-1], err
    assert not out.exists()


@pytest.mark.parametrize("mode, words", [("every_hour", "cannot be met by any staffing in"),
                                         ("overall", "over the period either")])
def test_a_goal_no_staffing_meets_says_which_hours_and_the_best_reached(tmp_path, capsys, mode, words):
    """Immediate incidents 20 minutes' drive away can never be attended within 15 minutes."""
    out = tmp_path / "out"
    code = main(["scenario=validation/priority_dispatch", "optimise.group=units", f"optimise.mode={mode}",
                 "optimise.goal.attend_within_target_immediate=0.5",
                 "dispatch.immediate.travel={kind: deterministic, value: 20}", "run.days=8", "run.warmup_days=1",
                 "run.replications=2", f"hydra.run.dir={out}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert words in err[-1] and "best reached 0" in err[-1], err[-1]
    assert not out.exists()


def test_shift_roster_covers_the_requirement_and_meets_the_goal(tmp_path, erlang_a_every_hour):
    _, every = erlang_a_every_hour
    patterns = "[{start_hour:7,hours:10},{start_hour:17,hours:10},{start_hour:3,hours:8}]"
    result = optimise(tmp_path, *ERLANG_A, "optimise.goal.sl_999_10s=0.8", f"optimise.shifts={patterns}",
                      "run.days=29", "run.warmup_days=1", "run.replications=5")
    from demandsim.config.schema import Roster, Shift
    from demandsim.model.rosters import headcount_by_hour_of_week

    shifts = [Shift(**{k: v for k, v in s.items()}) for s in result["shifts"]]
    laid = headcount_by_hour_of_week(Roster(shifts=shifts), "x")
    assert laid.tolist() == result["staff_per_hour_of_week"]
    assert result["staff_hours_per_week"] >= every["staff_hours_per_week"]  # whole shifts cost more
    assert min(result["achieved"]["by_hour_of_week"]["sl_999_10s"]["ci_low"]) >= 0.8
    cfg = load_config([f"scenario={tmp_path / 'out' / 'roster.yaml'}"])
    assert headcount_by_hour_of_week(cfg.staffing.call_handlers, "x").tolist() == result["staff_per_hour_of_week"]


@pytest.mark.slow
def test_time_varying_demand_holds_in_every_hour_with_other_seeds(tmp_path):
    """A daily sinusoid (quiet 04:00, busy 16:00): the roster found with seeds 0..4 meets the goal
    in every hour when run with five other seeds (mean within 3 standard errors of the goal or above)."""
    import math

    from demandsim.optimise.evaluate import evaluate

    shape = [1 + 0.8 * math.sin(2 * math.pi * (h % 24 - 10) / 24) for h in range(168)]
    args = [*ERLANG_A, f"arrivals.hour_of_week=[{','.join(f'{x:.4f}' for x in shape)}]", "run.days=29",
            "run.warmup_days=1", "run.replications=5"]
    result = optimise(tmp_path, *args, "optimise.goal.sl_999_10s=0.8")
    cfg = load_config([a for a in args if not a.startswith("run.replications")] + ["run.engine=fast"])
    check = evaluate(cfg, {"call_handlers": np.array(result["staff_per_hour_of_week"])}, ["sl_999_10s"], 5,
                     seed_offset=1000)
    reps = np.asarray(check.per_rep_hour["sl_999_10s"], dtype=float)
    mean, se = reps.mean(axis=0), reps.std(axis=0, ddof=1) / np.sqrt(len(reps))
    assert np.all(mean + 3 * se >= 0.8), np.flatnonzero(mean + 3 * se < 0.8)


def test_overall_attendance_goal_where_no_hour_by_hour_roster_exists(tmp_path, capsys):
    """Units, attendance over the period, on the baseline with breaks taken as net (the way round the
    optimiser's refusal gives): hour by hour some hour cannot be put right by its own units (its
    incidents wait into the next hours), yet over the period the goal is met with fewer unit-hours
    than the scenario's roster."""
    result = optimise(tmp_path, "scenario=baseline_2021", "staffing.response.meal_break_min=0",
                      "optimise.group=units", "optimise.goal.attend_within_target_priority=0.6",
                      "optimise.mode=overall", "run.days=15", "run.replications=3")
    assert "over the period" in capsys.readouterr().err
    assert result["every_hour_staff_hours_per_week"] is None  # no hour-by-hour roster was found
    assert result["achieved"]["overall"]["attend_within_target_priority"]["ci_low"] >= 0.6
    assert result["staff_hours_per_week"] < result["today_staff_hours_per_week"]
