"""The random numbers of a run, drawn before any queueing happens.

Each source of randomness has its own seeded stream per line of origin
(``SeedSequence(seed, spawn_key=(purpose, line))``), and each stream is read in
arrival order, one fixed-size block per call attempt. So a call's patience,
handling times, grade and so on depend only on the seed, its line and its
place in the arrival order: changing a staffing number, a routing share or a
queue discipline leaves every call's own draws unchanged (common random
numbers), and any engine that reads this table reproduces the same model.

Rows: the 999 calls in arrival order (one attempt each: a 999 caller who hangs
up is not modelled as redialling), then for each 101 call in arrival order
``max_attempts`` rows, one per attempt (the first call, then its redials,
whichever line they go to). A row holds every attribute a call could need on
any line; unused ones are simply not read.

Example:
    >>> import numpy as np
    >>> s = stream(7, "patience", 0)
    >>> float(s.random()) == float(stream(7, "patience", 0).random())
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: one stream per purpose (and per line of origin); the order fixes the seeds
PURPOSES = ("arrivals", "patience", "triage", "routing", "handling", "grade", "travel", "on_scene", "redial")
LINE_999, LINE_101 = 0, 1


def stream(seed: int, purpose: str, line: int) -> np.random.Generator:
    """The generator for one purpose and line of origin."""
    seq = np.random.SeedSequence(entropy=seed, spawn_key=(PURPOSES.index(purpose), line))
    return np.random.Generator(np.random.PCG64(seq))


@dataclass
class CallDraws:
    """Pre-drawn attributes per call attempt (see module docstring for rows).

    Durations are seconds; ``route`` and the ``u_*`` columns are decided
    later from shares the engine knows.
    """

    n_999: int
    n_101: int
    attempts: int
    patience_999: np.ndarray
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
    travel: np.ndarray  # (rows, 3 deployed grades)
    on_scene: np.ndarray  # (rows, 3 deployed grades)
    u_redial: np.ndarray
    redial_delay: np.ndarray

    @property
    def rows(self) -> int:
        return self.n_999 + self.n_101 * self.attempts

    def row_of_101(self, index: int, attempt: int) -> int:
        """Row of the ``attempt``-th call (0 = first) of the ``index``-th 101 caller."""
        return self.n_999 + index * self.attempts + attempt


def _uniforms(seed: int, purpose: str, n_999: int, n_101: int, attempts: int, k: int) -> np.ndarray:
    """(rows, k) uniforms: the 999 block from the 999 stream, then the 101 block (filled in place)."""
    out = np.empty((n_999 + n_101 * attempts, k))
    stream(seed, purpose, LINE_999).random(out=out[:n_999])
    stream(seed, purpose, LINE_101).random(out=out[n_999:])
    return out


def draw_calls(model, n_999: int, n_101: int, seed: int) -> CallDraws:
    """Draw every attribute of every call attempt for a compiled ``model``.

    ``model`` is a :class:`demandsim.model.plan.ModelParts`. Each purpose's
    uniforms are turned into durations and dropped before the next purpose is
    drawn, so a year's draws never hold much more memory than the result.
    """
    m = model
    A = m.max_attempts
    rows = n_999 + n_101 * A

    def durations(purpose: str, kinds) -> list[np.ndarray]:
        block = _uniforms(seed, purpose, n_999, n_101, A, len(kinds))
        return [d.seconds(block[:, j]) for j, d in enumerate(kinds)]

    def per_grade(purpose: str, kinds) -> np.ndarray:
        u = _uniforms(seed, purpose, n_999, n_101, A, 1)[:, 0]
        out = np.empty((rows, len(kinds)))
        for g, d in enumerate(kinds):
            out[:, g] = d.seconds(u)
        return out

    patience = durations("patience", (m.patience_999, m.patience_switchboard, m.patience_secondary))
    handling = durations("handling", (*m.handling_999, *m.handling_secondary))
    redial = _uniforms(seed, "redial", n_999, n_101, A, 2)
    u_redial, redial_delay = redial[:, 0].copy(), m.redial_delay.seconds(redial[:, 1])
    del redial
    return CallDraws(
        n_999=n_999,
        n_101=n_101,
        attempts=A,
        patience_999=patience[0],
        patience_switchboard=patience[1],
        patience_secondary=patience[2],
        triage=durations("triage", (m.triage_time,))[0],
        route=m.route_code(_uniforms(seed, "routing", n_999, n_101, A, 1)[:, 0]),
        question_999=handling[0],
        rest_999=handling[1],
        wrap_999=handling[2],
        question_secondary=handling[3],
        rest_secondary=handling[4],
        wrap_secondary=handling[5],
        u_grade=_uniforms(seed, "grade", n_999, n_101, A, 1)[:, 0],
        travel=per_grade("travel", m.travel),
        on_scene=per_grade("on_scene", m.on_scene),
        u_redial=u_redial,
        redial_delay=redial_delay,
    )
