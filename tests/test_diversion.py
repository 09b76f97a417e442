"""Diversion (issue 10): an immediate incident with no unit free takes one off a lower-grade incident.

- hand-worked timelines, on both engines: which unit is taken (prompt before priority, the
  unit assigned last, the lower incident id), a unit that has arrived is not travelling, the
  incident left keeps its place in the queue, its first assignment and its first arrival,
  and its new unit repeats the same drawn travel and finds the time on scene left (all of it
  if the first unit had not arrived); a unit taken off an
  incident does not come free twice;
- with zero travel, diverting only travelling units changes nothing;
- direction under common random numbers: diversion never worsens the immediate grade's
  attendance in target on the baseline;
- the KPI ``diversions`` counts the measured incidents' diversions;
- a bad ``dispatch.divert_from`` is one line naming the key and the value.

The preemptive-priority theory check is in tests/test_validation_theory.py, the engines'
equality on loaded cases in tests/test_engines_equal.py, conservation of incidents in
tests/test_model.py.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from demandsim.config import load_config
from demandsim.engines import get_engine
from demandsim.errors import ConfigError
from demandsim.model.plan import build_model, build_plan
from demandsim.runner import simulate
from helpers import cli, run

MIN = 60.0
#: a uniform that the validation scenario's grade mix (equal rates) turns into each grade
GRADE_U = {"immediate": 0.1, "priority": 0.5, "prompt": 0.9}
COLUMNS = ["t_assigned", "t_on_scene", "t_clear", "t_assigned_last", "diversions"]


def timeline(divert_from: str, incidents: list[tuple[float, str, float, float]], units: int = 2):
    """Both engines' incident records for 999 calls at the given minutes, each (minute, grade,
    travel min, on scene min), graded at once (no handling time) and dispatched to ``units``
    units on duty all day; asserts the engines agree."""
    overrides = ["scenario=validation/priority_dispatch", f"validation.units={units}", "validation.per_hour_immediate=1",
                 "validation.per_hour_priority=1", "validation.per_hour_prompt=1", "run.days=1",
                 "run.warmup_days=0", "run.seed=1", f"dispatch.divert_from={divert_from}"]
    plan = build_plan(load_config(overrides), reuse_draws=False)
    d = plan.draws
    assert d.attempts == 1 and d.n_999 >= len(incidents)  # row k is the k-th caller's
    u_grade, travel, on_scene = d.u_grade.copy(), d.travel.copy(), d.on_scene.copy()
    for row, (_, grade, t, s) in enumerate(incidents):
        u_grade[row], travel[row], on_scene[row] = GRADE_U[grade], t * MIN, s * MIN
    plan = dataclasses.replace(plan, arrivals_999=np.array([m * MIN for m, *_ in incidents]),
                               drawn=dataclasses.replace(d, u_grade=u_grade, travel=travel, on_scene=on_scene))
    reference, fast = (get_engine(name).run(plan).incidents for name in ("simpy", "fast"))
    pd.testing.assert_frame_equal(reference, fast, check_exact=True)
    assert reference["grade"].astype(str).tolist() == [g for _, g, _, _ in incidents]
    return reference


def in_minutes(incidents: pd.DataFrame) -> list[tuple]:
    """Each incident's (t_assigned, t_on_scene, t_clear, t_assigned_last) in minutes and its diversions."""
    times = (incidents[COLUMNS[:4]] / MIN).to_numpy()
    return [(*(None if math.isnan(x) else x for x in row), n) for row, n in zip(times, incidents["diversions"])]


# minute, grade, travel, on scene (minutes); two units
STORY = [(0, "prompt", 10, 60),      # A
         (1, "prompt", 10, 60),      # B
         (2, "priority", 5, 15),     # C: waits, both units busy
         (5, "immediate", 3, 20),    # I1: takes B's unit (both prompt and travelling: B's was sent last)
         (6, "immediate", 4, 30),    # I2: takes A's unit, the only one left travelling to a lower grade
         (7, "immediate", 2, 10),    # I3: both units on immediates: waits until I1's unit is free at 28
         (42, "immediate", 1, 100),  # I4: C's and A's units are both travelling (sent at 40): prompt A's is taken
         (50, "immediate", 1, 5)]    # I5: C's unit arrived at 45; travelling: waits; on_scene: takes it


def test_a_hand_worked_timeline_travelling():
    """At 40 I2's and I3's units come free, in the order their events were scheduled: C (priority)
    gets the first, A (prompt, ready before B) the second, repeating its 10 + 60 minutes. A loses
    that unit again at 42 (it had not arrived: its arrival is undone again). I5 waits for C's unit
    (free at 60); then A at 66 and B at 136 get units, and attend for the first time. The units
    taken off A and B do not come free at 70, 71 and 110 (stale events): I4's unit stays on I4."""
    incidents = timeline("travelling", STORY)
    assert in_minutes(incidents) == [
        (0, 76, 136, 66, 2),    # A: first assigned at 0, attended at 66 + 10
        (1, 146, 206, 136, 1),  # B
        (40, 45, 60, 40, 0),    # C
        (5, 8, 28, 5, 0),       # I1
        (6, 10, 40, 6, 0),      # I2
        (28, 30, 40, 28, 0),    # I3
        (42, 43, 143, 42, 0),   # I4
        (60, 61, 66, 60, 0),    # I5
    ]
    # the dispatch wait runs to the first assignment, attendance to the first arrival
    assert (incidents["dispatch_wait_s"] / MIN).tolist() == [0, 0, 38, 0, 0, 21, 0, 10]
    assert (incidents["attendance_s"] / MIN).tolist() == [76, 145, 43, 3, 4, 23, 1, 11]


def test_a_hand_worked_timeline_on_scene():
    """As travelling until 50, when I5 takes C's unit, on scene since 45: C's attendance stands
    (45), it waits again ahead of A and B (priority), and I5's unit, free at 56, goes back to it:
    the same 5 minutes' travel, then the 10 of its 15 minutes on scene that were left when its
    first unit was taken (the job resumes); C's old unit-free event at 60 is stale. A gets C's
    unit at 71, and B the same unit when A is done, at 141 (I4's is busy until 143)."""
    incidents = timeline("on_scene", STORY)
    assert in_minutes(incidents) == [
        (0, 81, 141, 71, 2),    # A
        (1, 151, 211, 141, 1),  # B
        (40, 45, 71, 56, 1),    # C: first on scene at 45, cleared by its second unit after 5 + 10
        (5, 8, 28, 5, 0),
        (6, 10, 40, 6, 0),
        (28, 30, 40, 28, 0),
        (42, 43, 143, 42, 0),
        (50, 51, 56, 50, 0),    # I5 at once
    ]


def test_ties_go_to_the_lower_incident_id_and_keep_their_place():
    """Two prompt incidents ready and assigned at the same instant: the immediate one takes the
    unit of the first (lower id); it goes back ahead of a prompt incident that became ready
    later, and gets the next free unit."""
    incidents = timeline("travelling", [(0, "prompt", 10, 30), (0, "prompt", 10, 30), (0.5, "prompt", 1, 1),
                                        (1, "immediate", 2, 5)])
    assert in_minutes(incidents) == [
        (0, 18, 48, 8, 1),   # taken at 1; I's unit free at 8: it repeats 10 + 30
        (0, 10, 40, 0, 0),
        (40, 41, 42, 40, 0),  # ready at 0.5, behind the first prompt incident (ready at 0) all along
        (1, 3, 8, 1, 0),
    ]


def test_no_diversion_without_an_immediate_incident_or_with_a_free_unit():
    incidents = timeline("on_scene", [(0, "prompt", 10, 30), (1, "priority", 5, 5), (2, "immediate", 2, 5)],
                         units=3)
    assert incidents["diversions"].sum() == 0
    incidents = timeline("on_scene", [(0, "prompt", 10, 30), (1, "priority", 5, 5), (2, "prompt", 2, 5)], units=2)
    assert incidents["diversions"].sum() == 0
    # diversion off: the immediate incident waits for the first unit free (the priority one's, at 11)
    incidents = timeline("none", [(0, "prompt", 10, 30), (1, "priority", 5, 5), (2, "immediate", 2, 5)])
    assert in_minutes(incidents)[2] == (11, 13, 18, 11, 0)


# ----------------------------------------------------------------- whole runs
def test_diverting_travelling_units_with_zero_travel_changes_nothing():
    """No unit is ever on its way, so no unit can be taken: the records are those without diversion."""
    common = ["scenario=baseline_2021", "run.days=3", "run.warmup_days=1", "run.seed=51", "run.engine=fast",
              *(f"dispatch.{g}.travel={{kind:deterministic,value:0}}" for g in ("immediate", "priority", "prompt"))]
    off, on = run([*common, "dispatch.divert_from=none"]), run([*common, "dispatch.divert_from=travelling"])
    for table in ("calls", "incidents", "intervals"):
        pd.testing.assert_frame_equal(getattr(off.records, table), getattr(on.records, table), check_exact=True)
    on_scene = run([*common, "dispatch.divert_from=on_scene"])
    assert on_scene.kpis["diversions"] > 0  # units on scene can be taken


def test_the_kpi_counts_the_measured_incidents_diversions():
    result = run(["scenario=diversion_on", "run.days=3", "run.warmup_days=1", "run.seed=52", "run.engine=fast"])
    inc = result.records.incidents
    measured = inc[inc["t_call_start"] >= result.model.warmup_s]
    assert result.kpis["diversions"] == measured["diversions"].sum() > 0
    assert result.counts["incidents_diverted"] == (measured["diversions"] > 0).sum()
    assert inc["diversions"].sum() > measured["diversions"].sum()  # warm-up incidents' are left out
    # only priority and prompt incidents give a unit up
    assert set(inc.loc[inc["diversions"] > 0, "grade"].astype(str)) == {"priority", "prompt"}
    assert result.kpis["diversions"] == run(["scenario=baseline_2021", "run.days=3", "run.warmup_days=1",
                                              "run.seed=52", "run.engine=fast",
                                              "dispatch.divert_from=on_scene"]).kpis["diversions"]


# ----------------------------------------------------------------- direction under common random numbers
SEEDS = range(1, 7)
TEN_DAYS = ["scenario=baseline_2021", "run.days=10", "run.warmup_days=1", "run.engine=fast"]


@pytest.mark.parametrize("divert_from", ["travelling", "on_scene"])
def test_diversion_never_worsens_immediate_attendance(divert_from):
    """Same seeds (the same callers and needs), diversion off and on: the immediate grade's share
    attended within target never falls beyond noise (a one-sided 99.5% Student-t bound on the mean
    of the paired differences), and it rises."""
    from scipy.stats import t

    def immediate(extra):
        return np.array([simulate(load_config([*TEN_DAYS, f"run.seed={s}", *extra]), progress=False)
                         .kpis["attend_within_target_immediate"] for s in SEEDS])

    d = immediate([f"dispatch.divert_from={divert_from}"]) - immediate(["dispatch.divert_from=none"])
    slack = t.ppf(0.995, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert d.mean() >= -slack, d
    assert d.mean() > 0, d


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("value", ["sometimes", "1", "NONE", "travel"])
def test_a_bad_divert_from_is_refused_naming_key_and_value(value):
    with pytest.raises(ConfigError) as error:
        build_model(load_config(["run.days=1", "run.warmup_days=0.5", f"dispatch.divert_from={value}"]))
    message = str(error.value)
    assert message == f"dispatch.divert_from={value}: must be one of none, travelling, on_scene", message


def test_a_bad_divert_from_on_the_command_line_is_one_line(tmp_path):
    out = tmp_path / "out"
    done = cli("dispatch.divert_from=always", "run.days=1", "run.warmup_days=0.5", f"hydra.run.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "dispatch.divert_from=always" in lines[0] and "none, travelling, on_scene" in lines[0], lines[0]
    assert not out.exists()
