"""The draws an engine reads while it runs: the callers it may still need, a block at a time.

A year's table of draws (:mod:`demandsim.draws`) has a row for every contact a caller
*could* make (``callers.redial.max_attempts`` per caller), most of them never made: 226 MB
for the baseline year, more than a third of the run's memory. An engine needs a caller's
rows only from the caller's first call to its last contact; an incident keeps what it
reads later (travel, time on scene, the review's numbers) in its own columns from the
moment it is graded. So the window holds, per line of origin, the callers that have
arrived or arrive soon and may still ring or be rung: it draws the next **block** of
callers (:data:`BLOCK_ROWS` rows' worth) when the run is about to reach it, writing it
after the callers it holds, and lets callers go when none of them can need a row again.
Its columns have room for :data:`ROOM_BLOCKS` blocks per line (more if ever needed): when
a block would not fit, the callers still held move to the front first (usually a day's),
so a run neither copies what it keeps block after block nor allocates as it goes. Every
entry is the one the whole table would hold (:func:`demandsim.draws.draw_calls` of the
block's callers: each stream carries on, or jumps, to the block's first row), so records do
not depend on the window (``tests/test_draw_window.py``).

Rows keep their numbers (``draw_row`` in the records, :meth:`row_of_999`): the window maps
a row to its place in the columns (:meth:`slot`, and :attr:`offsets` for a compiled
engine: a row's place is the row less the first row of its line's room, plus where that
room starts). Which callers may still need rows is the engine's to say (``open_from`` of
:meth:`cover`): the fast engine knows from the calls its pending events and queues hold;
the SimPy engine lets callers go by age and, if a late contact reaches one whose rows were
written over, draws the caller's block again (:meth:`slot`).

A plan with a whole table (``RunPlan.drawn``: a sweep reusing one seed's draws at several
staffing points, or a test's own table) is held whole, never redrawn; so is a run whose whole
table is no larger than the window's room (a few weeks of the baseline), drawn at the start.

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

from demandsim.draws import LINE_101, LINE_999, CallDraws, Streams, draw_calls

#: rows of draws per block (this many rows' worth of whole callers of one line): 13,107 callers
#: of the baseline's five rows each (about 40 days of its 999 callers, 18 of its 101 callers);
#: 65,536 callers of the Erlang-A core's one. A block's set-up is small (its streams carry on
#: from the block before), but not nothing: smaller blocks cost time (benchmarks/README.md)
BLOCK_ROWS = 65536
#: the room the columns have per line, in blocks: the callers still held (usually a day's) and
#: the next block (a baseline year: about 8 MB of draws per block and line, 33 MB in all)
ROOM_BLOCKS = 2

#: the draw columns an engine reads, each one array over the resident rows
COLUMNS = tuple(f.name for f in fields(CallDraws) if f.name not in ("n_999", "n_101", "attempts", "follow_up"))

#: the draw columns that are not float64
COLUMN_DTYPES = {"rings_999_again": np.bool_, "route": np.int8, "area": np.int16}

#: the columns the incident copies when graded (the engines' incident columns): every row has them,
#: but only with review.enabled are the review ones drawn (CallDraws: empty otherwise)
REVIEW_COLUMNS = ("u_review", "victim_update_time", "phone_resolution_time", "booking_time")


class DrawWindow:
    """The draws of the callers a run may still need, as arrays over the resident rows.

    ``block``: callers of one line per block (default :data:`BLOCK_ROWS` rows' worth; given, the
    window draws by blocks however small the table). See the module docstring.
    """

    def __init__(self, plan, block: int | None = None) -> None:
        self.model, self.seed = plan.model, plan.seed
        self.arrivals = (plan.arrivals_999, plan.arrivals_101)
        self.n = (len(plan.arrivals_999), len(plan.arrivals_101))
        self.attempts = A = plan.model.max_attempts
        self.whole = plan.drawn
        if self.whole is None and block is None and sum(self.n) * A <= 2 * ROOM_BLOCKS * BLOCK_ROWS:
            # a table no larger than the window's room is drawn whole at the start: the same memory,
            # without each block's set-up (a twentieth of a 20-day Erlang-A run)
            self.whole = draw_calls(self.model, *self.n, self.seed)
        self.streams = Streams(plan.seed)
        #: per line: the callers held, [lo, hi); the caller at the front of the line's room
        #: (``base``: callers from base to lo were let go but are still there); the room, in callers
        if self.whole is not None:  # everything is held from the start
            self.block = max(self.n[LINE_999], self.n[LINE_101], 1)
            self.lo, self.hi, self.base, self.room = [0, 0], list(self.n), [0, 0], list(self.n)
            self.columns = {name: getattr(self.whole, name) for name in COLUMNS}
        else:
            # read here, so that a test may make blocks small
            self.block = int(block or max(1, BLOCK_ROWS // A))
            self.lo, self.hi, self.base = [0, 0], [0, 0], [0, 0]
            self.room = [min(n, ROOM_BLOCKS * self.block) for n in self.n]
            self.columns = self._new_columns(self.room)
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
        """Where ``row`` is in :attr:`columns`, drawing its caller's block first if it is not held."""
        # the SimPy engine asks for every draw it reads: plain integers, the held rows first
        (first_999, stop_999, shift_999), (first_101, stop_101, shift_101) = self.held_rows
        if first_999 <= row < stop_999:
            return row - shift_999
        if first_101 <= row < stop_101:
            return row - shift_101
        line = LINE_999 if row < self.n[LINE_999] * self.attempts else LINE_101
        caller = (row - (0 if line == LINE_999 else self.n[LINE_999] * self.attempts)) // self.attempts
        lo, hi = list(self.lo), list(self.hi)
        if caller >= self.hi[line]:
            hi[line] = self._block_end(line, caller + 1)
        else:  # a late contact of a caller let go: from the start of its block
            lo[line] = caller - caller % self.block
        self._hold(lo, hi)
        return self.slot(row)

    # ------------------------------------------------------------------ the window moves
    def cover(self, until_s: float, open_from=None) -> bool:
        """Hold every caller who arrives at or before ``until_s``, drawing the blocks they are in;
        with ``open_from`` (the first caller of each line that may still need a row, or a function
        giving it, asked only when a block is drawn), let the callers before it go. True if the
        window drew (:attr:`columns` and :attr:`offsets` may have changed)."""
        arrived = [int(np.searchsorted(self.arrivals[line], until_s, side="right")) for line in (LINE_999, LINE_101)]
        if all(arrived[line] <= self.hi[line] for line in (LINE_999, LINE_101)):
            return False
        hi = [max(self.hi[line], self._block_end(line, arrived[line])) for line in (LINE_999, LINE_101)]
        lo = list(self.lo)
        if callable(open_from):
            open_from = open_from()
        if open_from is not None:
            lo = self._let_go_to(open_from, hi)
        self._hold(lo, hi)
        return True

    def let_go_before(self, open_from: tuple[int, int]) -> None:
        """Let go of the callers before ``open_from`` (the first caller of each line that may still
        need a row): their room is used again when the next block comes."""
        self.lo = self._let_go_to(open_from, self.hi)
        self._set_offsets()

    def first_caller_arriving_from(self, line: int, time_s: float) -> int:
        """The index of the line's first caller who arrives at or after ``time_s``."""
        return bisect.bisect_left(self.arrivals[line], time_s)

    # ------------------------------------------------------------------ inside
    def _let_go_to(self, open_from, hi: list[int]) -> list[int]:
        """Per line, the first caller held once those before ``open_from`` go (never below the first
        held now, never past ``hi``)."""
        return [min(max(self.lo[line], open_from[line]), hi[line]) for line in (LINE_999, LINE_101)]

    def _block_end(self, line: int, callers: int) -> int:
        """The end of the block that holds the line's caller ``callers - 1``."""
        return min(self.n[line], -(-callers // self.block) * self.block)

    def _new_columns(self, room: list[int]) -> dict[str, np.ndarray]:
        """Columns with ``room`` callers per line (the review's empty without review.enabled), not
        filled: an entry is written when its caller is drawn, except where no row of the block
        needs the column (:meth:`_write`), and those are never read (``tests/test_engines_equal.py``
        checks that engines read no entry left out). Memory a column never needs is never touched."""
        rows = (room[LINE_999] + room[LINE_101]) * self.attempts
        return {name: np.empty(0 if name in REVIEW_COLUMNS and not self.model.review_enabled else rows,
                               COLUMN_DTYPES.get(name, np.float64)) for name in COLUMNS}

    def _start(self, line: int, room: list[int]) -> int:
        """The slot where the line's room starts."""
        return 0 if line == LINE_999 else room[LINE_999] * self.attempts

    def _hold(self, lo: list[int], hi: list[int]) -> None:
        """Hold callers ``[lo, hi)`` of each line. Where they fit after the callers already there
        (from the line's ``base``), they are drawn after them; otherwise the line's room starts
        at ``lo``: the callers already there that are kept move to the front (into larger columns
        if the room is too small), and the others are drawn."""
        if self.whole is not None:
            raise RuntimeError("a whole table is held already")  # slot and cover never ask
        A, lines = self.attempts, (LINE_999, LINE_101)
        fits = [self.base[k] <= lo[k] <= self.hi[k] and hi[k] - self.base[k] <= self.room[k] for k in lines]
        base = [self.base[k] if fits[k] else lo[k] for k in lines]
        room, columns = list(self.room), self.columns
        if any(hi[k] - base[k] > room[k] for k in lines):
            room = [max(room[k], min(self.n[k], max(hi[k] - base[k], 2 * room[k]))) for k in lines]
            columns = self._new_columns(room)
        for k in lines:
            # the callers whose rows are there (from base to hi: those let go are still there) and kept
            kept = (base[k] if fits[k] else max(lo[k], self.base[k]), min(hi[k], self.hi[k]))
            if kept[0] < kept[1]:
                n = (kept[1] - kept[0]) * A
                src = self._start(k, self.room) + (kept[0] - self.base[k]) * A
                dst = self._start(k, room) + (kept[0] - base[k]) * A
                if src != dst or columns is not self.columns:  # (numpy copies overlapping slices right)
                    for name, column in columns.items():
                        if len(column):
                            column[dst:dst + n] = self.columns[name][src:src + n]
                missing = [(base[k], kept[0]), (kept[1], hi[k])]
            else:
                missing = [(base[k], hi[k])]
            for first, stop in missing:
                if first < stop:
                    self._write(columns, k, first, stop, base, room)
        self.columns, self.base, self.room = columns, base, room
        self.lo, self.hi = list(lo), list(hi)
        self._set_offsets()

    def _write(self, columns: dict, line: int, first: int, stop: int, base: list[int], room: list[int]) -> None:
        """Draw callers ``[first, stop)`` of ``line`` into their places in ``columns``."""
        callers = ((first, stop), (0, 0)) if line == LINE_999 else ((0, 0), (first, stop))
        table = draw_calls(self.model, *self.n, self.seed, callers=callers, streams=self.streams)
        at = self._start(line, room) + (first - base[line]) * self.attempts
        for name, column in columns.items():
            drawn = getattr(table, name)
            if len(column) and drawn is not table.no_row_needs:  # a column no row of them needs: not read
                column[at:at + len(drawn)] = drawn

    def _set_offsets(self) -> None:
        """:attr:`offsets`: the 999 callers' rows, the row at the front of the 999 room, the row at
        the front of the 101 room, and the slot where the 101 room starts."""
        A = self.attempts
        rows_999, at_101 = self.n[LINE_999] * A, self.room[LINE_999] * A
        front = (self.base[LINE_999] * A, rows_999 + self.base[LINE_101] * A)
        self.offsets[:] = (rows_999, front[LINE_999], front[LINE_101], at_101)
        #: per line, the rows held (first, stop) and what a row less gives its slot, as plain integers
        #: (a row held is read without calling :meth:`slot`: the SimPy engine reads one per draw)
        self.held_rows = ((int(self.lo[LINE_999] * A), int(self.hi[LINE_999] * A), int(front[LINE_999])),
                           (int(rows_999 + self.lo[LINE_101] * A), int(rows_999 + self.hi[LINE_101] * A),
                            int(front[LINE_101] - at_101)))
