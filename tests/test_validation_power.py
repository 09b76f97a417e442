"""The validation has power: wrong models fail the check the right model passes.

Each test runs a validation case of tests/test_validation_theory.py (same run length,
warm-up and seed) twice, as the engine is and with one thing wrong, and judges both with
:func:`demandsim.validation.validate`; the right model must pass and the wrong one fail,
on the KPIs the fault moves, with the same tolerances (they come from independent
reference replications, never from the run judged). The faults, and where they go in:

- a dispatcher that ignores grade (first come, first served): the SimPy engine files every
  incident in its area's queue of the most urgent grade, so that units take them in order of
  time ready whatever their grade. The compiled engine
  cannot be patched, and the SimPy engine writes the same records
  (tests/test_engines_equal.py), so this case runs on SimPy, the right model too;
- callers who never hang up although patience is configured: the plan's 999 patience
  draws replaced by infinity, after the plan is built (the compiled engine);
- one call handler (or response unit) fewer than the roster: the plan's headcount lowered
  by one in every hour (for units, the one area's units too: the engines roster units by area).

Run with ``-s`` to see each verdict's numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import numpy as np
import pytest

from helpers import run
from demandsim import runner
from demandsim.engines import simpy_engine
from demandsim.validation import ErlangCase, PriorityCase, validate

#: the issue's line (93% offered load) and dispatch cases, as in tests/test_validation_theory.py
LINE = ErlangCase(30, 7, 4, 2, days=20, warmup_days=1)
SMALL_LINE = ErlangCase(8, 1.5, 4, 1, days=20, warmup_days=1)
LINE_SEED = 21
DISPATCH = PriorityCase(12, (2, 4, 6), 45, days=200, warmup_days=2)
DISPATCH_SEED = 23


def right_and_wrong(case, seed, monkeypatch, break_model, engine="fast"):
    """Verdicts of ``case`` as the engine is and after ``break_model(monkeypatch)``."""
    right = right_verdict(case, seed, engine)
    with monkeypatch.context() as patch:
        break_model(patch)
        wrong = validate(run(case.overrides(seed, engine)))
    print(f"\nright model ({engine} engine):\n{right}\nwrong model:\n{wrong}")
    assert right.passed, str(right)
    assert [c.tolerance for c in wrong.checks] == [c.tolerance for c in right.checks]
    return right, wrong


@functools.lru_cache(maxsize=None)
def right_verdict(case, seed, engine):
    """The verdict on ``case`` as the engine is (several tests break the same case)."""
    return validate(run(case.overrides(seed, engine)))


def change_plan(patch, change):
    """Make every run's plan pass through ``change(plan)`` before the engine sees it."""
    build = runner.build_plan

    def build_changed(*args, **kwargs):
        return change(build(*args, **kwargs))

    patch.setattr(runner, "build_plan", build_changed)


# ---------------------------------------------------------------- (a) a dispatcher blind to grade
def _queue_grade_blind(hub, incident: int, now: float) -> None:
    """``queue_incident`` of the SimPy engine with every incident filed under the most urgent grade."""
    i = hub.incidents
    heapq.heappush(hub.dispatch[i.area[incident]][0], (i.t_ready[incident], incident))
    hub.dispatch_waiting.change(now, +1)


def test_first_come_first_served_dispatch_fails(monkeypatch):
    right, wrong = right_and_wrong(DISPATCH, DISPATCH_SEED, monkeypatch,
                                   lambda patch: patch.setattr(simpy_engine._Hub, "queue_incident", _queue_grade_blind),
                                   engine="simpy")
    # without priority every grade waits alike: the urgent grades far longer, the lowest less
    assert {"dispatch_wait_mean_min_immediate", "dispatch_wait_mean_min_priority"} <= set(wrong.failed)
    waits = [c.estimate for c in wrong.checks]
    assert max(waits) - min(waits) < min(c.tolerance for c in wrong.checks)


# ---------------------------------------------------------------- (b) no abandonment
def never_hang_up(plan):
    draws = dataclasses.replace(plan.draws, patience_999=np.full_like(plan.draws.patience_999, np.inf))
    return dataclasses.replace(plan, drawn=draws)


def test_callers_who_never_hang_up_fail(monkeypatch):
    right, wrong = right_and_wrong(LINE, LINE_SEED, monkeypatch, lambda patch: change_plan(patch, never_hang_up))
    assert wrong.check("abandon_rate_999").estimate == 0.0
    assert set(wrong.failed) == {"sl_999_10s", "abandon_rate_999", "asa_999_s"}


# ---------------------------------------------------------------- (c) one server too few
def one_fewer(group):
    def change(plan):
        headcount = dict(plan.model.headcount)
        headcount[group] = np.maximum(headcount[group] - 1, 0)
        model = dataclasses.replace(plan.model, headcount=headcount)
        if group == "units":
            assert plan.model.units_by_area.shape[0] == 1, "the validation cases have one area"
            model = dataclasses.replace(model, units_by_area=np.maximum(plan.model.units_by_area - 1, 0))
        return dataclasses.replace(plan, model=model)

    return change


@pytest.mark.parametrize("case", [LINE, SMALL_LINE], ids=["30 handlers", "8 handlers"])
def test_one_call_handler_fewer_fails(case, monkeypatch):
    right, wrong = right_and_wrong(case, LINE_SEED, monkeypatch,
                                   lambda patch: change_plan(patch, one_fewer("call_handlers")))
    # fewer handlers: fewer answered in time, more hang-ups, longer waits
    assert set(wrong.failed) == {"sl_999_10s", "abandon_rate_999", "asa_999_s"}
    for kpi, worse in (("sl_999_10s", -1), ("abandon_rate_999", 1), ("asa_999_s", 1)):
        assert worse * (wrong.check(kpi).estimate - right.check(kpi).estimate) > 0


def test_one_unit_fewer_fails(monkeypatch):
    right, wrong = right_and_wrong(DISPATCH, DISPATCH_SEED, monkeypatch,
                                   lambda patch: change_plan(patch, one_fewer("units")))
    assert "dispatch_wait_mean_min_prompt" in wrong.failed
