"""The draws an engine reads while it runs: the callers it may still need, a block at a time.

A year's table of draws (:mod:`demandsim.draws`) has a row for every contact a caller
*could* make (``callers.redial.max_attempts`` per caller), most of them never made: 226 MB
for the baseline year, more than a third of the run's memory. An engine needs a caller's
rows only from the caller's first call to its last contact; an incident keeps what it
reads later (travel, time on scene, the review's numbers) in its own columns from the
moment it is graded. So the window holds whole **blocks** of callers per line of origin
(:data:`BLOCK_ROWS` rows each): those that have arrived or arrive soon and may still
ring or be rung. It draws a block when the run is about to reach it and lets blocks go
when no caller in them can need a row again. Every entry is the one the
whole table would hold (:func:`demandsim.draws.draw_calls` of the block's callers: PCG64
streams jump to the block's first row), so records do not depend on the window
(``tests/test_draw_window.py``).

Rows keep their numbers (``draw_row`` in the records, :meth:`row_of_999`): the window maps
a row to its place in the columns (:meth:`slot`, and :attr:`offsets` for a compiled
engine). Which callers may still need rows is the engine's to say (``open_from`` of
:meth:`cover`): the fast engine knows from the calls its pending events and queues hold;
the SimPy engine lets blocks go by age and draws a block again if a late contact reaches
it (:meth:`slot`).

A plan with a whole table (``RunPlan.drawn``: a sweep reusing one seed's draws at several
staffing points, or a test's own table) is one resident block per line, never redrawn.

Example:
    >>> from demandsim.config import load_config
    >>> from demandsim.model.plan import build_plan
    >>> plan = build_plan(load_config(["scenario=validation/erlang_a", "run.days=2", "run.warmup_days=0"]))
    >>> window = DrawWindow(plan, block=100)
    >>> window.cover(3600.0)
    True
    >>> row = window.row_of_999(5, 0)
    >>> bool(window.columns["patience_999"][window.slot(row)] == plan.draws.patience_999[row])
    True
"""

from __future__ import annotations

import bisect
from dataclasses import fields

import numpy as np

from demandsim.draws import LINE_101, LINE_999, CallDraws, draw_calls

#: rows of draws per block (a block holds this many rows' worth of whole callers of one line):
#: about 10 MB of the baseline's draws, 16,384 callers of five rows each (a year's 999 callers
#: are 9 blocks, its 101 callers 14); the Erlang-A core, one row a caller, has 81,920 callers
#: a block. Drawing a block costs a millisecond or two of set-up (each stream jumps to it), so
#: smaller blocks would save little memory for more time (benchmarks/README.md)
BLOCK_ROWS = 81920

#: the draw columns an engine reads, each one array over the resident rows
COLUMNS = tuple(f.name for f in fields(CallDraws) if f.name not in ("n_999", "n_101", "attempts", "follow_up"))

#: the draw columns that are not float64
COLUMN_DTYPES = {"rings_999_again": np.bool_, "route": np.int8, "area": np.int16}

#: the columns the incident copies when graded (the engines' incident columns): every row has them,
#: but only with review.enabled are the review ones drawn (CallDraws: empty otherwise)
REVIEW_COLUMNS = ("u_review", "victim_update_time", "phone_resolution_time", "booking_time")


class DrawWindow:
    """The draws of the callers a run may still need, as arrays over the resident rows.

    ``block``: callers of one line per block (default :data:`BLOCK_ROWS` rows' worth). See the module
    docstring.
    """

    def __init__(self, plan, block: int | None = None) -> None:
        self.model, self.seed = plan.model, plan.seed
        self.arrivals = (plan.arrivals_999, plan.arrivals_101)
        self.n = (len(plan.arrivals_999), len(plan.arrivals_101))
        self.attempts = plan.model.max_attempts
        self.whole = plan.drawn
        if self.whole is not None:  # one block per line: everything is resident from the start
            self.block = max(self.n[LINE_999], self.n[LINE_101], 1)
            self.lo, self.hi = [0, 0], [self._blocks(LINE_999), self._blocks(LINE_101)]
            self.columns = {name: getattr(self.whole, name) for name in COLUMNS}
        else:
            # read here, so that a test may make blocks small
            self.block = int(block or max(1, BLOCK_ROWS // self.attempts))
            self.lo, self.hi = [0, 0], [0, 0]
            self.columns = {name: np.empty(0, COLUMN_DTYPES.get(name, np.float64)) for name in COLUMNS}
        self.offsets = np.zeros(4, np.int64)
        self._set_offsets()

    # ------------------------------------------------------------------ rows
    def row_of_999(self, index: int, attempt: int) -> int:
        """Row of the ``attempt``-th contact (0 = first call) of the ``index``-th 999 caller."""
        return index * self.attempts + attempt

    def row_of_101(self, index: int, attempt: int) -> int:
        """Row of the ``attempt``-th contact (0 = first call) of the ``index``-th 101 caller."""
        return (self.n[LINE_999] + index) * self.attempts + attempt

    def slot(self, row: int) -> int:
        """Where ``row`` is in :attr:`columns`, drawing its block first if it is not resident."""
        n999_rows, base_999, base_101, at_101 = self.offsets
        if row < n999_rows:
            line, caller, place = LINE_999, row // self.attempts, row - base_999
        else:
            line, caller, place = LINE_101, (row - n999_rows) // self.attempts, row - base_101 + at_101
        if not self.lo[line] * self.block <= caller < self.hi[line] * self.block:
            self._hold(line, min(self.lo[line], caller // self.block), max(self.hi[line], caller // self.block + 1))
            return self.slot(row)
        return int(place)

    # ------------------------------------------------------------------ the window moves
    def cover(self, until_s: float, open_from=None) -> bool:
        """Make every caller who arrives at or before ``until_s`` resident, drawing the blocks
        they are in; with ``open_from`` (the first caller of each line that may still need a
        row, or a function giving it, asked only when a block is drawn), let the blocks before
        it go at the same time (moving the columns costs a copy: done only when they move
        anyway). True if :attr:`columns` changed (new arrays)."""
        want = [self._blocks_for(line, until_s) for line in (LINE_999, LINE_101)]
        if all(want[line] <= self.hi[line] for line in (LINE_999, LINE_101)):
            return False
        lo = list(self.lo)
        if callable(open_from):
            open_from = open_from()
        if open_from is not None:
            lo = [min(max(self.lo[line], open_from[line] // self.block), want[line]) for line in (LINE_999, LINE_101)]
        self._hold_both(lo, [max(self.hi[line], want[line]) for line in (LINE_999, LINE_101)])
        return True

    def let_go_before(self, open_from: tuple[int, int]) -> bool:
        """Let go of the blocks wholly before ``open_from`` (the first caller of each line that may
        still need a row). True if :attr:`columns` changed."""
        lo = [min(max(self.lo[line], open_from[line] // self.block), self.hi[line]) for line in (LINE_999, LINE_101)]
        if lo == self.lo:
            return False
        self._hold_both(lo, list(self.hi))
        return True

    def first_caller_arriving_from(self, line: int, time_s: float) -> int:
        """The index of the line's first caller who arrives at or after ``time_s``."""
        return bisect.bisect_left(self.arrivals[line], time_s)

    # ------------------------------------------------------------------ inside
    def _blocks(self, line: int) -> int:
        return -(-self.n[line] // self.block)

    def _blocks_for(self, line: int, until_s: float) -> int:
        """The line's blocks up to the last that holds a caller arriving at or before ``until_s``."""
        arrived = int(np.searchsorted(self.arrivals[line], until_s, side="right"))
        return -(-arrived // self.block)

    def _hold(self, line: int, lo: int, hi: int) -> None:
        los, his = list(self.lo), list(self.hi)
        los[line], his[line] = lo, hi
        self._hold_both(los, his)

    def _hold_both(self, lo: list[int], hi: list[int]) -> None:
        """Make blocks ``[lo, hi)`` of each line resident: the ones already held are copied, the
        others drawn (both lines' new callers in one table)."""
        if self.whole is not None:
            raise RuntimeError("a whole table is resident already")  # slot and cover never ask
        ranges = []  # per line, the parts in row order: ("old", first caller, stop) or ("new", ...)
        new_callers = []
        for line in (LINE_999, LINE_101):
            first, stop = lo[line] * self.block, min(hi[line] * self.block, self.n[line])
            held = (self.lo[line] * self.block, min(self.hi[line] * self.block, self.n[line]))
            keep = (max(first, held[0]), min(stop, held[1]))
            parts, fresh = [], []
            if keep[0] >= keep[1]:  # nothing in common: all new
                fresh = [(first, stop)] if stop > first else []
                parts = [("new", first, stop)] if stop > first else []
            else:
                if first < keep[0]:
                    fresh.append((first, keep[0]))
                    parts.append(("new", first, keep[0]))
                parts.append(("old", keep[0], keep[1]))
                if keep[1] < stop:
                    fresh.append((keep[1], stop))
                    parts.append(("new", keep[1], stop))
            ranges.append(parts)
            new_callers.append(fresh)
        drawn = [self._draw(line, span) for line in (LINE_999, LINE_101) for span in new_callers[line]]
        A = self.attempts
        columns = {}
        # columns that share one array in every piece (a column no row of them needs, the secondary
        # line's written into the 999 line's: demandsim.draws) share the joined one too: memory, time
        joined = {}
        for name in COLUMNS:
            old = self.columns[name]
            if not len(old) and not any(len(getattr(d, name)) for d in drawn):
                columns[name] = old  # a column no row reads (the review's without review.enabled)
                continue
            same = (id(old), *(id(getattr(d, name)) for d in drawn))
            if same in joined:
                columns[name] = joined[same]
                continue
            pieces, fresh_i, only_new = [], 0, True
            for line in (LINE_999, LINE_101):
                for kind, first, stop in ranges[line]:
                    if kind == "old":
                        start = self._held_slot(line, first)
                        pieces.append(old[start:start + (stop - first) * A])
                        only_new = False
                    else:
                        pieces.append(getattr(drawn[fresh_i], name))
                        fresh_i += 1
            if len(pieces) == 1 and only_new:  # a block drawn just now: its own array (no copy)
                columns[name] = joined[same] = pieces[0]
            else:  # (a single old piece is a view: copied, so that the rest of its array can go)
                columns[name] = joined[same] = np.concatenate(pieces) if pieces else old[:0]
        self.columns = columns
        self.lo, self.hi = list(lo), list(hi)
        self._set_offsets()

    def _held_slot(self, line: int, caller: int) -> int:
        """The slot of a held caller's first row, before the window moves."""
        A = self.attempts
        if line == LINE_999:
            return (caller - self.lo[LINE_999] * self.block) * A
        held_999 = min(self.hi[LINE_999] * self.block, self.n[LINE_999]) - self.lo[LINE_999] * self.block
        return (max(held_999, 0) + caller - self.lo[LINE_101] * self.block) * A

    def _draw(self, line: int, span: tuple[int, int]) -> CallDraws:
        callers = (span, (0, 0)) if line == LINE_999 else ((0, 0), span)
        return draw_calls(self.model, *self.n, self.seed, callers=callers)

    def _set_offsets(self) -> None:
        """:attr:`offsets`: the 999 callers' rows, the first resident 999 row, the first resident
        101 row, and the slot where the resident 101 rows start (the resident 999 rows)."""
        A, b = self.attempts, self.block
        first_999, first_101 = self.lo[LINE_999] * b, self.lo[LINE_101] * b
        held_999 = max(min(self.hi[LINE_999] * b, self.n[LINE_999]) - first_999, 0)
        self.offsets[:] = (self.n[LINE_999] * A, first_999 * A, (self.n[LINE_999] + first_101) * A, held_999 * A)
