"""The draw window (demandsim.draw_window): the engines read a few blocks of callers at a time,
and nothing they produce depends on it.

- a block of callers drawn on its own holds exactly the whole table's entries for them;
- both engines give the same records from small, moving windows as from the whole table, with
  call-backs, redials, transfers, reviews, diversion and areas, the SimPy engine also when it
  lets blocks go at once and must draw them again for late contacts;
- the window does move (blocks let go during the run), so a year never holds its whole table.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from demandsim import draw_window
from demandsim.config import load_config
from demandsim.draw_window import COLUMNS, DrawWindow
from demandsim.draws import draw_calls
from demandsim.engines import get_engine, simpy_engine
from demandsim.model.plan import build_plan

# call-backs, redials and transfers many times (short 999 patience, few call handlers), reviews
# with every outcome and diversion in the six areas: every draw column is read
BUSY = ["scenario=demand_2024", "run.days=6", "run.warmup_days=0", "run.seed=5", "dispatch.divert_from=on_scene",
        "callers.patience.line_999={kind:exponential,mean:0.5}",
        *(f"staffing.call_handlers.shifts.{i}.staff={n}" for i, n in enumerate((3, 2, 3, 2))),
        "callers.redial_999.to_999=0.6", "callers.callback_999.delay={kind:exponential,mean:30}",
        "callers.redial.max_attempts=5", "review.interval=30",
        "review.immediate={stays:0.6,resolved_by_phone:0.2,appointment:0.2}"]


@pytest.fixture(scope="module")
def plan():
    return build_plan(load_config(BUSY))


@pytest.mark.parametrize("every_entry", [False, True])
def test_a_block_holds_the_whole_tables_entries(plan, every_entry):
    n_999, n_101 = len(plan.arrivals_999), len(plan.arrivals_101)
    whole = draw_calls(plan.model, n_999, n_101, plan.seed, every_entry=every_entry)
    A = whole.attempts
    for callers in (((3, 40), (0, 0)), ((0, 0), (17, 90)), ((n_999 - 5, n_999), (n_101 - 9, n_101))):
        part = draw_calls(plan.model, n_999, n_101, plan.seed, every_entry=every_entry, callers=callers)
        (a9, b9), (a1, b1) = callers
        rows = np.r_[a9 * A:b9 * A, (n_999 + a1) * A:(n_999 + b1) * A]
        for name in COLUMNS:
            mine, theirs = getattr(part, name), getattr(whole, name)
            if not len(theirs):  # the review's without review.enabled
                assert not len(mine)
                continue
            theirs = theirs[rows]
            if not every_entry and theirs.dtype.kind == "f":
                # entries no row needs are NaN, unless the column shares its array with another (the
                # secondary line's are written into the 999 line's where no row needs both): the
                # needed ones must be the same, and which are needed too where nothing is shared
                shared = any(getattr(t, name) is getattr(t, other) for t in (part, whole) for other in COLUMNS
                             if other != name)
                if not shared:
                    np.testing.assert_array_equal(np.isnan(mine), np.isnan(theirs), err_msg=f"{name} {callers}")
                drawn = ~np.isnan(mine) & ~np.isnan(theirs)
                mine, theirs = mine[drawn], theirs[drawn]
            np.testing.assert_array_equal(mine, theirs, err_msg=f"{name} {callers}")


def _runs_equal(plan, engine: str):
    whole = dataclasses.replace(plan, drawn=draw_calls(plan.model, len(plan.arrivals_999), len(plan.arrivals_101),
                                                       plan.seed))
    reference = get_engine(engine).run(whole)
    windowed = get_engine(engine).run(plan)
    for table in ("calls", "incidents", "intervals"):
        pd.testing.assert_frame_equal(getattr(reference, table), getattr(windowed, table), check_exact=True,
                                      obj=table)
    return reference


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 50 callers (five rows each), and what the window did: how often it let callers
    go, how often it drew callers it had drawn before, and its largest columns."""
    monkeypatch.setattr(draw_window, "BLOCK_ROWS", 250)
    seen = {"let_go": 0, "reached_again": 0, "drawn_again": 0, "most_rows": 0}
    drawn: list[set] = [set(), set()]
    hold, write, let_go = DrawWindow._hold, DrawWindow._write, DrawWindow.let_go_before

    def holding(self, lo, hi):
        seen["let_go"] += any(lo[line] > self.lo[line] for line in (0, 1))
        seen["reached_again"] += any(lo[line] < self.lo[line] for line in (0, 1))
        hold(self, lo, hi)
        seen["most_rows"] = max(seen["most_rows"], len(self.columns["patience_999"]))

    def letting_go(self, open_from):
        before = list(self.lo)
        let_go(self, open_from)
        seen["let_go"] += self.lo != before

    def writing(self, columns, line, first, stop, base, room):
        seen["drawn_again"] += bool(drawn[line] & set(range(first, stop)))
        drawn[line].update(range(first, stop))
        write(self, columns, line, first, stop, base, room)

    monkeypatch.setattr(DrawWindow, "_hold", holding)
    monkeypatch.setattr(DrawWindow, "_write", writing)
    monkeypatch.setattr(DrawWindow, "let_go_before", letting_go)
    return seen


@pytest.mark.parametrize("engine", ["fast", "simpy"])
def test_records_do_not_depend_on_the_window(plan, small_blocks, engine):
    records = _runs_equal(plan, engine)
    calls, incidents = records.calls, records.incidents
    assert (calls["origin"].astype(str) == "callback").sum() > 50 and (calls["attempt"] > 1).sum() > 50
    assert incidents["reviews"].sum() > 50 and incidents["diversions"].sum() > 10
    assert small_blocks["let_go"] >= 4  # the window moved day after day
    assert small_blocks["drawn_again"] == 0  # each caller's rows drawn once
    # it holds about a day of callers (the fast engine: from the first still pending to the end of
    # the next day) or the days the SimPy engine keeps and the day it runs (it lets go at the end of a
    # day), and a block more per line; its room is at most twice that
    days = load_config(BUSY).run.days
    held_days = 1.5 if engine == "fast" else simpy_engine.KEEP_DRAWS_S / 86400 + 1
    rows = (len(plan.arrivals_999) + len(plan.arrivals_101)) * plan.model.max_attempts
    assert small_blocks["most_rows"] <= 2 * (rows * held_days / days + 2 * 50 * plan.model.max_attempts)


def test_the_simpy_engine_reaches_callers_it_let_go(plan, small_blocks, monkeypatch):
    # at the end of each day every caller arrived so far is let go: a contact after midnight (a redial,
    # a call-back, a call still queued) of a caller from the day before reaches back for their rows
    monkeypatch.setattr(simpy_engine, "KEEP_DRAWS_S", 0.0)
    _runs_equal(plan, "simpy")
    assert small_blocks["reached_again"] >= 1


def test_a_caller_let_go_and_overwritten_is_drawn_again(plan, small_blocks, monkeypatch):
    monkeypatch.setattr(draw_window, "ROOM_BLOCKS", 1)
    whole = draw_calls(plan.model, len(plan.arrivals_999), len(plan.arrivals_101), plan.seed)
    window = DrawWindow(plan)  # (plan.draws would keep the whole table in the plan: the window would read it)
    window.cover(6 * 3600.0)
    held = list(window.hi)
    window.cover(30 * 3600.0, open_from=held)  # the first callers let go, their room taken by later ones
    assert window.lo == held and window.base == held and small_blocks["drawn_again"] == 0
    for row in (window.row_of_999(3, 0), window.row_of_101(7, 2), window.row_of_999(held[0] + 1, 1)):
        for name in ("patience_999", "u_grade", "route", "travel", "rings_999_again"):
            at = window.slot(row)  # first: drawing again may give the window new columns
            expected, got = getattr(whole, name)[row], window.columns[name][at]
            assert got == expected or (np.isnan(got) and np.isnan(expected)), (name, row)
    assert small_blocks["drawn_again"] >= 2 and window.lo[0] < held[0] and window.lo[1] < held[1]


def test_a_row_read_outside_the_window_stops_the_fast_engine(plan, small_blocks, monkeypatch):
    from demandsim.engines import fast_engine

    # a window that lets every block before the day's arrivals go, whatever is still pending
    monkeypatch.setattr(fast_engine.FastEngine, "_open_callers",
                        staticmethod(lambda W, window: tuple(int(i) for i in W["arrival_i"][:, 1])))
    with pytest.raises(RuntimeError, match="internal error: draw row .* after the draw window let it go"):
        get_engine("fast").run(plan)


def test_a_whole_table_is_read_as_it_is(plan):
    whole = dataclasses.replace(plan, drawn=plan.draws)
    window = DrawWindow(whole)
    assert not window.cover(1e12)  # all resident from the start
    row = window.row_of_101(7, 2)
    assert window.slot(row) == row and window.columns["triage"] is whole.drawn.triage


def test_a_table_no_larger_than_the_room_is_drawn_whole():
    short = build_plan(load_config(["scenario=validation/erlang_a", "run.days=2", "run.warmup_days=0"]))
    window = DrawWindow(short)
    rows = (len(short.arrivals_999) + len(short.arrivals_101)) * short.model.max_attempts
    assert rows <= 2 * draw_window.ROOM_BLOCKS * draw_window.BLOCK_ROWS and window.whole is not None
    assert not window.cover(1e12)
    whole = draw_calls(short.model, len(short.arrivals_999), len(short.arrivals_101), short.seed)
    np.testing.assert_array_equal(window.columns["patience_999"], whole.patience_999)
