"""The random numbers of a run, drawn before any queueing happens.

Each source of randomness has its own seeded stream per line of origin
(``SeedSequence(seed, spawn_key=(purpose, line))``), and a purpose with several
attributes (patience in three queues, six handling times, the redial choice and
delays, the call-back's chance, delay and time) one per attribute
(``spawn_key=(purpose, line, j)`` for its j-th, j >= 1). Each stream is read in
arrival order, one number per contact (or, for a caller's route, grade and area,
one per caller), so an attribute no call can need is not drawn at all. So a call's
patience, handling times, grade and so on depend only on the seed, its line and
its place in the arrival order: changing a staffing number, a routing share or a
queue discipline leaves every call's own draws unchanged (common random
numbers), and any engine that reads this table reproduces the same model.

Rows: for each 999 caller in arrival order, then for each 101 caller in arrival
order, ``max_attempts`` rows, one per contact about the matter: the first call,
then redials and call-backs in the order they are made (the engines count a
caller's contacts: the k-th contact reads the caller's row k). A switchboard
transfer reads the row of the 101 call it came from. The switchboard route, the
grade uniform and the area (demandsim.model.areas: where the incident is) are the
caller's own: one draw per caller, the same in each of its rows (a caller's need
does not change when they ring again). A table may hold only some callers' rows
(:func:`draw_calls`' ``callers``: a block of :class:`demandsim.draw_window.DrawWindow`, which
is how the engines read them), each entry the one the whole table holds: every stream jumps
to the block's first number (PCG64 ``advance``).

Which lines a row's contact may be on, where the switchboard sends the caller and
the grade it would get are decided by uniforms before any queueing (with
call-backs, a caller who has been in the 999 queue may be rung back in any later
row). So durations are computed only where a contact could need them: a 999
handling time only for rows that can reach a 999 handler, the secondary line's
only for rows routed there, travel and time on scene only for the grade the row
would get, nothing for a redial row its caller would never make, the THRIVE review's
uniform and call times (``review``, demandsim.model.review) only with ``review.enabled``
(without it the four columns are empty: no contact reads them) and only for rows with a
deployed grade. The follow-up work is added into ``on_scene`` and not kept on its own
(:func:`follow_up_work` draws it again, for tests). A stream that
is drawn gives every row its uniform, so each row keeps its place in it; the
entries no call can need are never read (``tests/test_engines_equal.py``
checks that the records are the same as with every entry computed): they are NaN,
except that the secondary line's patience and handling columns are the 999 line's
arrays, holding each line's values in its own rows (no row needs both: memory). A stream no
row needs (e.g. routing in a 999-only run), a fixed duration and a grade mix with
one grade are not drawn.

Example:
    >>> import numpy as np
    >>> s = stream(7, "patience", 0)
    >>> float(s.random()) == float(stream(7, "patience", 0).random())
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demandsim.model.callbacks import gets_through_on_last_contact, needs_unit, rings_999_again
from demandsim.model.grading import N_DEPLOYED, SOURCE_999, SOURCE_FROM_101, SOURCE_SECONDARY
from demandsim.model.shares import pick
from demandsim.model.switchboard import ROUTE_SECONDARY, ROUTE_TO_999

#: one stream per purpose (and per line of origin); the order fixes the seeds
PURPOSES = ("arrivals", "patience", "triage", "routing", "handling", "grade", "travel", "on_scene", "redial",
            "callback", "follow_up", "review", "area")
LINE_999, LINE_101 = 0, 1


def stream(seed: int, purpose: str, line: int, column: int = 0) -> np.random.Generator:
    """The generator for one purpose, line of origin and (for a purpose with several) attribute."""
    key = (PURPOSES.index(purpose), line) + ((column,) if column else ())
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=key)))


@dataclass
class CallDraws:
    """Pre-drawn attributes per call attempt (see module docstring for rows).

    Durations are seconds; ``route`` and the ``u_*`` columns are decided
    later from shares the engine knows.
    """

    n_999: int
    n_101: int
    attempts: int
    patience_999: np.ndarray  # inf on the last contact of a caller who gets through on it (gets_through_on_last_contact)
    patience_switchboard: np.ndarray
    patience_secondary: np.ndarray
    triage: np.ndarray
    route: np.ndarray  # 0 to_999, 1 secondary, 2 closed
    question_999: np.ndarray
    rest_999: np.ndarray
    wrap_999: np.ndarray
    question_secondary: np.ndarray
    rest_secondary: np.ndarray
    wrap_secondary: np.ndarray
    u_grade: np.ndarray
    travel: np.ndarray  # for the deployed grade the row would get (NaN if none)
    on_scene: np.ndarray  # the unit's time after arrival: on scene plus any follow-up work
    u_redial: np.ndarray  # the redial choice after a hang-up on 101 (to 999 or 101)
    rings_999_again: np.ndarray  # bool: after a hang-up in the 999 queue the caller rings 999 again
    redial_delay: np.ndarray  # after a hang-up on 101
    redial_999_delay: np.ndarray  # after a hang-up in the 999 queue
    callback_delay: np.ndarray  # from a hang-up in the 999 queue until its call-back is due
    u_reach: np.ndarray  # whether a call-back (this row's contact) reaches the caller; 0 where it gets through
    unreached_time: np.ndarray  # handler's time on a call-back that does not
    # THRIVE review (demandsim.model.review), drawn only with review.enabled, for rows with a
    # deployed grade: the uniform of the incident's first review, and the handler's time on each
    # kind of call a review makes (every update call of an incident takes its one time)
    # (empty without review.enabled: memory, 15 MB a baseline year, and no contact reads them)
    u_review: np.ndarray
    victim_update_time: np.ndarray
    phone_resolution_time: np.ndarray
    booking_time: np.ndarray
    #: the area of the caller's need (demandsim.model.areas), the same in each of its rows; all 0
    #: (and not drawn) with one area
    area: np.ndarray
    #: the follow-up work in on_scene (0 for incidents without; NaN where no grade), kept only when
    #: asked for (draw_calls' keep_follow_up; :func:`follow_up_work`): the engines read on_scene
    follow_up: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return (self.n_999 + self.n_101) * self.attempts

    def row_of_999(self, index: int, attempt: int) -> int:
        """Row of the ``attempt``-th contact (0 = first call) of the ``index``-th 999 caller.

        >>> from types import SimpleNamespace
        >>> CallDraws.row_of_999(SimpleNamespace(attempts=3), 2, 1)
        7
        """
        return index * self.attempts + attempt

    def row_of_101(self, index: int, attempt: int) -> int:
        """Row of the ``attempt``-th contact (0 = first call) of the ``index``-th 101 caller."""
        return (self.n_999 + index) * self.attempts + attempt


#: which callers a table holds: (first, stop) of the 999 callers, then of the 101 callers
Callers = tuple[tuple[int, int], tuple[int, int]]


def all_callers(n_999: int, n_101: int) -> Callers:
    """Every caller of a run, as :data:`Callers`."""
    return (0, n_999), (0, n_101)


class Streams:
    """The streams of one seed, each kept at the place it has reached: a table of callers read
    right after the one before continues its streams, instead of seeding them and jumping
    again (the draw window draws the callers in order, a block at a time).

    >>> s = Streams(7)
    >>> a, b = np.empty(3), np.empty(2)
    >>> s.read("patience", LINE_999, 0, 0, a); s.read("patience", LINE_999, 0, 3, b)
    >>> bool((np.concatenate([a, b]) == stream(7, "patience", LINE_999).random(5)).all())
    True
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._at: dict[tuple, tuple[np.random.Generator, int]] = {}

    def read(self, purpose: str, line: int, column: int, skip: int, out: np.ndarray) -> None:
        """Fill ``out`` with the stream's uniforms from its ``skip``-th on: the same numbers as
        reading it from the start (PCG64 jumps ahead)."""
        if not len(out):
            return
        key = (purpose, line, column)
        generator, at = self._at.get(key, (None, 0))
        if generator is None or at > skip:
            generator, at = stream(self.seed, purpose, line, column), 0
        if skip > at:
            generator.bit_generator.advance(int(skip - at))  # a numpy integer is refused (numpy 2: OverflowError)
        generator.random(out=out)
        self._at[key] = (generator, skip + len(out))


def uniforms(seed: int, purpose: str, n_999: int, n_101: int, attempts: int, column: int = 0,
             callers: Callers | None = None, streams: Streams | None = None) -> np.ndarray:
    """One uniform per row for one attribute: the 999 callers' rows from the 999 stream, then the 101 callers'.

    ``callers``: only those callers' rows (:data:`Callers`; default all), the same numbers as
    in the whole table; ``streams``: where the streams are kept between tables (:class:`Streams`).

    >>> whole = uniforms(7, "patience", 3, 2, 2)
    >>> part = uniforms(7, "patience", 3, 2, 2, callers=((1, 3), (1, 2)))
    >>> bool((part == whole[[2, 3, 4, 5, 8, 9]]).all())
    True
    """
    (a9, b9), (a1, b1) = callers or all_callers(n_999, n_101)
    streams = streams or Streams(seed)
    out = np.empty((b9 - a9 + b1 - a1) * attempts)
    split = (b9 - a9) * attempts
    streams.read(purpose, LINE_999, column, a9 * attempts, out[:split])
    streams.read(purpose, LINE_101, column, a1 * attempts, out[split:])
    return out


def caller_uniforms(seed: int, purpose: str, n_999: int, n_101: int, attempts: int,
                    callers: Callers | None = None, streams: Streams | None = None) -> np.ndarray:
    """One uniform per caller (999 callers from the 999 stream, then 101 callers), in each of its rows.

    >>> u = caller_uniforms(7, "grade", 2, 1, 3)
    >>> len(u), bool(u[0] == u[2]), bool(u[2] == u[3])
    (9, True, False)
    """
    (a9, b9), (a1, b1) = callers or all_callers(n_999, n_101)
    streams = streams or Streams(seed)
    out = np.empty(b9 - a9 + b1 - a1)
    streams.read(purpose, LINE_999, 0, a9, out[:b9 - a9])
    streams.read(purpose, LINE_101, 0, a1, out[b9 - a9:])
    return np.repeat(out, attempts)


def reachable_rows(model, n_999: int, n_101: int, u_redial: np.ndarray, route: np.ndarray,
                   again_999: np.ndarray) -> dict:
    """Boolean masks of the rows that may need each kind of attribute (see module docstring).

    ``on_101``: rows whose contact may ring 101 (first calls and redials to 101);
    ``on_999``: rows that may reach a 999 handler (999 calls, switchboard transfers,
    redials to 999, call-backs); ``on_secondary``: 101 rows the switchboard would forward;
    ``first_999``: the 999 callers' rows (graded as calls first made to 999);
    ``redials``: rows whose caller may ring again after hanging up on 101;
    ``redials_999``: rows whose caller may ring 999 again after hanging up in the 999 queue
    (``again_999``: :func:`demandsim.model.callbacks.rings_999_again`);
    ``called_back``: rows whose hang-up in the 999 queue may be called back;
    ``callbacks``: rows that may be a call-back.

    A caller's contacts are in row order. Before its first time in the 999 queue a
    caller's contacts follow one another (each is the redial of the one before, on 101
    by the 101 rule); once it has been in the 999 queue, with call-backs any later row
    may be a call-back or a redial of an earlier hang-up, so every later row may be on
    999 (never on 101 again: a caller who hung up on 999 rings 999, if anyone).
    """
    m, A = model, model.max_attempts
    callers = n_999 + n_101
    u = u_redial.reshape(callers, A)  # one row per caller, one column per contact
    again = again_999.reshape(callers, A)
    routed = route.reshape(callers, A)
    may_101 = np.zeros((callers, A), dtype=bool)
    may_999 = np.zeros((callers, A), dtype=bool)  # as a call on the 999 line (not a transfer)
    may_999[:n_999, 0] = True
    may_101[n_999:, 0] = True
    in_999_queue = may_999 | (may_101 & (routed == ROUTE_TO_999))  # updated column by column
    been_in_999_queue = in_999_queue[:, 0].copy()  # in the 999 queue in a row before the current one
    for k in range(1, A if callers else 1):  # no caller: no contact to follow (max_attempts may be huge)
        before, u_before = may_101[:, k - 1], u[:, k - 1]
        to_999 = before & (u_before < m.redial_to_999)  # the 101 rule, after a hang-up on 101
        may_101[:, k] = before & ~to_999 & (u_before < m.redial_to_999 + m.redial_to_101)
        if m.callback_enabled:
            may_999[:, k] = to_999 | been_in_999_queue
        else:  # contacts follow one another: the 999 rule, after a hang-up in the 999 queue
            may_999[:, k] = to_999 | (in_999_queue[:, k - 1] & again[:, k - 1])
        in_999_queue[:, k] = may_999[:, k] | (may_101[:, k] & (routed[:, k] == ROUTE_TO_999))
        been_in_999_queue |= in_999_queue[:, k]
    last = np.zeros((callers, A), dtype=bool)
    last[:, A - 1] = True  # a caller's last row is followed by no contact
    # a redial row follows: a 101 hang-up whose choice is a line; a 999 hang-up whose choice is to ring again
    redials = may_101 & ~last & (u < m.redial_to_999 + m.redial_to_101)
    redials_999 = in_999_queue & ~last & again
    called_back = in_999_queue & ~last & m.callback_enabled
    first_in_queue = np.argmax(in_999_queue, axis=1)  # a call-back follows a hang-up in the 999 queue
    callbacks = (m.callback_enabled & in_999_queue.any(axis=1))[:, None] & (
        np.arange(A)[None, :] > first_in_queue[:, None])
    on_101 = may_101.ravel()
    first_999 = np.zeros((callers, A), dtype=bool)
    first_999[:n_999] = True
    return {
        "on_101": on_101,
        "on_999": in_999_queue.ravel() | callbacks.ravel(),
        "on_secondary": on_101 & (route == ROUTE_SECONDARY),
        "first_999": first_999.ravel(),
        "redials": redials.ravel(),
        "redials_999": redials_999.ravel(),
        "called_back": called_back.ravel(),
        "callbacks": callbacks.ravel(),
    }


def draw_calls(model, n_999: int, n_101: int, seed: int, every_entry: bool = False,
               keep_follow_up: bool = False, callers: Callers | None = None,
               streams: Streams | None = None) -> CallDraws:
    """Draw the attributes of every contact for a compiled ``model``.

    ``model`` is a :class:`demandsim.model.plan.ModelParts`. Each attribute's
    uniforms are turned into durations and dropped before the next one is
    drawn, so a year's draws never hold much more memory than the result.
    Durations are computed only for rows that may need them (module docstring),
    or for every row with ``every_entry`` (for tests: the records must not change).
    ``keep_follow_up`` also keeps the follow-up work in ``on_scene`` as a column of its own.
    ``callers`` (:data:`Callers`, default all of the run's ``n_999`` and ``n_101``): a table of
    those callers' rows only, each entry as in the whole table (a block of
    :class:`demandsim.draw_window.DrawWindow`); its ``n_999`` and ``n_101`` count the callers it holds.
    ``streams`` (:class:`Streams`): where the streams are kept from one such table to the next.
    The table's ``no_row_needs`` attribute is the all-NaN array of every column no row of it needs.
    """
    m = model
    A = m.max_attempts
    (a9, b9), (a1, b1) = callers = callers or all_callers(n_999, n_101)
    held_999, held_101 = b9 - a9, b1 - a1  # the callers of this table; n_999 and n_101 decide what is drawn
    rows = (held_999 + held_101) * A

    streams = streams or Streams(seed)

    def row_uniforms(purpose: str, j: int = 0) -> np.ndarray:
        return uniforms(seed, purpose, n_999, n_101, A, j, callers, streams)

    def per_caller(purpose: str) -> np.ndarray:
        return caller_uniforms(seed, purpose, n_999, n_101, A, callers, streams)

    # only 101 callers route, and only they or 999 callers who may ring again redial: a run
    # without them draws neither (a zero choice redials nobody: no share is below 0)
    redial_drawn = n_101 or m.redial_999_to_999 > 0 or m.redial_999_to_999_needing > 0 or every_entry
    u_redial = row_uniforms("redial") if redial_drawn else np.zeros(rows)
    route = (m.route_code(per_caller("routing")) if n_101 or every_entry
             else np.zeros(rows, dtype=np.int8))
    # the grade the caller's need would get, by the source it reaches a grader from: 999 callers
    # as 999 calls, 101 callers as 101 calls put through to 999 or forwarded to the secondary line.
    # A grade mix with one grade only needs no uniform: 0 picks that grade (shares before it are 0)
    cum = m.grading.cumulative
    graded_from = [SOURCE_999] + ([SOURCE_FROM_101, SOURCE_SECONDARY] if n_101 else [])
    certain = all(np.count_nonzero(np.diff(cum[s], prepend=0.0)) <= 1 for s in graded_from)
    u_grade = np.zeros(rows) if certain and not every_entry else per_caller("grade")
    needs_a_unit = needs_unit(m, held_999, held_101, u_grade)  # per caller, read by both rules below
    again_999 = rings_999_again(m, needs_a_unit, u_redial)
    reach = reachable_rows(m, held_999, held_101, u_redial, route, again_999)
    first_999 = reach.pop("first_999")  # the 999 callers' rows; other rows reach 999 from 101
    need = {k: np.ones(rows, dtype=bool) for k in reach} if every_entry else reach
    where = {k: np.flatnonzero(mask) for k, mask in need.items()}  # once: each is used for several columns

    # one all-NaN column shared by every column no row needs (engines never write draws):
    # allocating and filling a fresh one each costs more than drawing a used one
    unused = np.full(rows, np.nan)

    constant: dict[float, np.ndarray] = {}  # a fixed value every row needs: one array, shared

    own: list[np.ndarray] = []  # the columns made here with NaN outside their rows (they may take in another)

    def column(purpose: str, j: int, duration, rows_needed: np.ndarray, into: np.ndarray | None = None) -> np.ndarray:
        """The ``j``-th attribute of ``purpose`` for the rows that need it. Not drawn when no row
        needs it (e.g. the secondary line's in a 999-only run) or its duration is fixed (e.g. no
        wrap-up); every_entry draws it anyway, so the tests can check that skipping changes nothing.
        ``into``: a column made here whose rows never meet these, written into instead of a new array."""
        if not len(rows_needed):
            return unused
        value = None if every_entry else duration.fixed_seconds
        if len(rows_needed) == rows:  # every row: no gather and scatter
            if value is None:
                return duration.seconds(row_uniforms(purpose, j))
            if value not in constant:
                constant[value] = np.full(rows, value)
            return constant[value]
        if into is not None and any(into is a for a in own):
            out = into
        else:
            out = np.full(rows, np.nan)
            own.append(out)
        out[rows_needed] = (value if value is not None
                            else duration.seconds(row_uniforms(purpose, j)[rows_needed]))
        return out

    redial_delay = column("redial", 1, m.redial_delay, where["redials"])  # the redial choice is attribute 0
    redial_999_delay = column("redial", 2, m.redial_999_delay, where["redials_999"])
    # the call-back's chance of reaching the caller is attribute 0 of "callback"
    u_reach = row_uniforms("callback") if len(where["callbacks"]) else unused
    callback_delay = column("callback", 1, m.callback_delay, where["called_back"])
    unreached_time = column("callback", 2, m.callback_unreached_time, where["callbacks"])
    patience_999 = column("patience", 0, m.patience_999, where["on_999"])
    # the last contact of a caller who needs a unit and keeps ringing gets through (never lost
    # to the cap on contacts): no hang-up in the 999 queue, and a call-back reaches them
    through = gets_through_on_last_contact(m, needs_a_unit, again_999)
    if through.any():
        if any(patience_999 is a for a in own):  # in place: the secondary line's patience may join it below
            patience_999[through & ~np.isnan(patience_999)] = np.inf
        else:
            patience_999 = np.where(through & ~np.isnan(patience_999), np.inf, patience_999)
        u_reach = np.where(through & ~np.isnan(u_reach), 0.0, u_reach)
    # Memory: a contact the switchboard forwards to the secondary line never reaches the 999
    # queue (a 101 caller who later rings 999 does so in a later row), so no row needs both
    # lines' patience and handling: the secondary line's four columns are written into the
    # 999 line's arrays (4 x 8 bytes a row less: 61 MB in a baseline year). Checked, not
    # assumed: with rows in common (every_entry) each keeps its own array.
    apart = not need["on_999"][where["on_secondary"]].any()
    handling_999 = [column("handling", j, d, where["on_999"]) for j, d in enumerate(m.handling_999)]
    patience = [patience_999, column("patience", 1, m.patience_switchboard, where["on_101"]),
                column("patience", 2, m.patience_secondary, where["on_secondary"], patience_999 if apart else None)]
    handling = handling_999 + [column("handling", 3 + j, d, where["on_secondary"], handling_999[j] if apart else None)
                               for j, d in enumerate(m.handling_secondary)]
    # the grade each row would get if graded: by the source its call reaches a grader from
    # (also with every_entry: travel and on-scene time are drawn for that grade only;
    # tests/test_engines_equal.py checks them against each incident's grade)
    sources = [(SOURCE_999, reach["on_999"] & first_999),
               (SOURCE_FROM_101, reach["on_999"] & ~first_999),
               (SOURCE_SECONDARY, reach["on_secondary"])]
    grade = np.full(rows, -1, dtype=np.int64)
    for source, mask in sources:
        grade[mask] = pick(cum[source], u_grade[mask])
    by_grade = [np.flatnonzero(grade == g) for g in range(N_DEPLOYED)]

    def per_grade(purpose: str, kinds) -> np.ndarray:
        """One column: each row's duration from its own grade's distribution (one uniform per row)."""
        if not any(len(w) for w in by_grade):
            return unused
        out = np.full(rows, np.nan)
        u = row_uniforms(purpose)
        for g, d in enumerate(kinds):
            out[by_grade[g]] = d.seconds(u[by_grade[g]])
        return out

    def add_follow_up(on_scene: np.ndarray) -> np.ndarray | None:
        """Add to ``on_scene`` (in place) each row's follow-up work of its grade: with the grade's
        share (attribute 0 of "follow_up"), the grade's follow-up time (attribute 1), else none.
        With ``keep_follow_up`` the work as a column too (0 without; NaN for rows with no grade).
        Memory: no column of its own otherwise (adding 0 leaves a time as it was)."""
        if not any(len(w) for w in by_grade):
            return unused if keep_follow_up else None
        kept = np.where(grade >= 0, 0.0, np.nan) if keep_follow_up else None
        if not (every_entry or any(m.follow_up_share)):
            return kept
        u_has = row_uniforms("follow_up")
        u_time = row_uniforms("follow_up", 1)
        for rows_of_grade, share, d in zip(by_grade, m.follow_up_share, m.follow_up):
            with_work = rows_of_grade[u_has[rows_of_grade] < share]
            work = d.seconds(u_time[with_work])
            on_scene[with_work] += work
            if kept is not None:
                kept[with_work] = work
        return kept

    def review(j: int, duration=None) -> np.ndarray:
        """Attribute ``j`` of "review" for the rows with a deployed grade: 0 the uniform of the
        first review, 1-3 the handler's time on each kind of call (demandsim.model.review.WORK)."""
        if not m.review_enabled:  # no contact reads them (every engine reviews only with review.enabled)
            return np.empty(0)
        wanted = np.flatnonzero((grade >= 0) & (grade < N_DEPLOYED))
        if not len(wanted):
            return unused
        if duration is not None and not every_entry and duration.fixed_seconds is not None:
            out = np.full(rows, np.nan)
            out[wanted] = duration.fixed_seconds
            return out
        out = np.full(rows, np.nan)
        u = row_uniforms("review", j)[wanted]
        out[wanted] = u if duration is None else duration.seconds(u)
        return out

    def area() -> np.ndarray:
        """Per row, the caller's area: one uniform per caller against the areas' cumulative demand
        shares. With one area nothing is drawn (every caller's need is in it)."""
        if len(m.area_cumulative) == 1 and not every_entry:
            return np.zeros(rows, dtype=np.int16)
        return pick(m.area_cumulative, per_caller("area")).astype(np.int16)

    assert len(m.travel) == N_DEPLOYED
    on_scene = per_grade("on_scene", m.on_scene)  # a column of its own, or the shared unused one (no grade)
    follow_up_s = add_follow_up(on_scene) if on_scene is not unused else (unused if keep_follow_up else None)
    table = CallDraws(
        n_999=held_999,
        n_101=held_101,
        attempts=A,
        patience_999=patience[0],
        patience_switchboard=patience[1],
        patience_secondary=patience[2],
        triage=column("triage", 0, m.triage_time, where["on_101"]),
        route=route,
        question_999=handling[0],
        rest_999=handling[1],
        wrap_999=handling[2],
        question_secondary=handling[3],
        rest_secondary=handling[4],
        wrap_secondary=handling[5],
        u_grade=u_grade,
        travel=per_grade("travel", m.travel),
        on_scene=on_scene,
        u_redial=u_redial,
        rings_999_again=again_999,
        redial_delay=redial_delay,
        redial_999_delay=redial_999_delay,
        callback_delay=callback_delay,
        u_reach=u_reach,
        unreached_time=unreached_time,
        u_review=review(0),
        victim_update_time=review(1, m.review_times[0]),
        phone_resolution_time=review(2, m.review_times[1]),
        booking_time=review(3, m.review_times[2]),
        area=area(),
        follow_up=follow_up_s,
    )
    table.no_row_needs = unused  # not a field: what the draw window need not copy
    return table


def caller_routes_101(model, n_999: int, n_101: int, seed: int) -> np.ndarray:
    """Each 101 caller's switchboard route (the route of each of its rows in :func:`draw_calls`),
    for an engine sizing its tables before any row is drawn.

    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(route_code=lambda u: (u > 0.5).astype(np.int8))
    >>> len(caller_routes_101(model, 3, 4, seed=7))
    4
    """
    return model.route_code(caller_uniforms(seed, "routing", n_999, n_101, 1, callers=((0, 0), (0, n_101))))


def follow_up_work(plan) -> np.ndarray:
    """The follow-up work in each row of ``plan.draws.on_scene`` (0 for incidents without, NaN
    where no grade), drawn again as :func:`draw_calls` drew it: the draws keep only the sum
    (memory); for tests and checks, not the engines."""
    return draw_calls(plan.model, len(plan.arrivals_999), len(plan.arrivals_101), plan.seed,
                      keep_follow_up=True).follow_up
