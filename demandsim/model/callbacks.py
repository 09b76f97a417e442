"""What a caller who hangs up does next, decided per caller before any queueing.

A 999 caller who hangs up in the queue may ring 999 again (``callers.redial_999``) and may
be rung back (``callers.callback_999``), whichever comes first; a caller whose need is for
attendance rings again more often than one whose is not (``to_999_needing_attendance``),
and gets through on the last contact the run draws for them (``callers.redial.max_attempts``)
so that no need for a unit is lost to the cap on rows. These rules are decided here from
the caller's own uniforms, once, and both engines read the result from the draws
(demandsim.draws), so each rule lives in one place.

Example:
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> m = SimpleNamespace(max_attempts=1, grading=SimpleNamespace(cumulative=np.array([[0.5, 0.5, 0.5, 1.0]] * 3)))
    >>> needs_unit(m, 1, 1, np.array([0.2, 0.9])).tolist()
    [True, False]
"""

from __future__ import annotations

import numpy as np

from demandsim.model.grading import N_DEPLOYED, SOURCE_999, SOURCE_FROM_101
from demandsim.model.shares import pick


def rings_999_again(model, need: np.ndarray, u_redial: np.ndarray) -> np.ndarray:
    """Per row, whether a caller who hangs up in the 999 queue on that contact rings 999 again.

    The caller's own need decides the chance: ``redial_999_to_999_needing`` when the grade the
    caller's incident would get is for attendance (immediate, priority or prompt: graded as a
    999 call for a 999 caller, as a 101 caller put through to 999 for a 101 caller), else
    ``redial_999_to_999``; the row's redial uniform decides. So a caller who needs a unit is
    not lost by a hang-up more often than the config says, whoever answered first.

    >>> from types import SimpleNamespace
    >>> m = SimpleNamespace(max_attempts=2, redial_999_to_999=0.0, redial_999_to_999_needing=1.0,
    ...                     grading=SimpleNamespace(cumulative=np.array([[0.5, 0.5, 0.5, 1.0]] * 3)))
    >>> need = needs_unit(m, 2, 0, np.array([0.2, 0.2, 0.7, 0.7]))  # the first caller's, not the second's
    >>> rings_999_again(m, need, np.array([0.3, 0.9, 0.3, 0.9])).tolist()
    [True, True, False, False]
    """
    chance = np.where(need, model.redial_999_to_999_needing, model.redial_999_to_999)
    return (u_redial.reshape(len(need), model.max_attempts) < chance[:, None]).ravel()


def needs_unit(model, n_999: int, n_101: int, u_grade: np.ndarray) -> np.ndarray:
    """Per caller, whether the grade the caller's incident would get is for attendance (immediate,
    priority or prompt), graded as a 999 call for a 999 caller and as a 101 caller put through to
    999 for a 101 caller."""
    cum = model.grading.cumulative
    u_caller = u_grade.reshape(n_999 + n_101, model.max_attempts)[:, 0]
    grade = np.concatenate([pick(cum[SOURCE_999], u_caller[:n_999]), pick(cum[SOURCE_FROM_101], u_caller[n_999:])])
    return grade < N_DEPLOYED


def gets_through_on_last_contact(model, need: np.ndarray, again_999: np.ndarray) -> np.ndarray:
    """Per row, whether the row is the last contact (of ``max_attempts``) of a caller who needs a
    unit (``need``, per caller: :func:`needs_unit`) and would ring 999 again after it
    (``again_999``: :func:`rings_999_again`).

    Such a caller's need must not be lost to the cap on rows: ``max_attempts`` bounds the rows
    drawn per caller (memory), not the tries of someone who needs the police, so the last row
    stands for every further try until one gets through. On it the caller waits in the 999 queue
    until answered and a call-back reaches them. Without this, a quarter fewer call handlers lost
    about 0.3% of the deployed incidents (callers who hung up on all five contacts in a busy spell)
    and the lighter load gave the units shorter waits: better priority and prompt attendance from
    fewer handlers (tests/test_callbacks.py).

    >>> from types import SimpleNamespace
    >>> m = SimpleNamespace(max_attempts=2, grading=SimpleNamespace(cumulative=np.array([[0.5, 0.5, 0.5, 1.0]] * 3)))
    >>> again = np.array([True, True, True, True])
    >>> gets_through_on_last_contact(m, needs_unit(m, 2, 0, np.array([0.2, 0.2, 0.7, 0.7])), again).tolist()
    [False, True, False, False]
    """
    A = model.max_attempts
    last = np.zeros((len(need), A), dtype=bool)
    last[:, A - 1] = need
    return (last & again_999.reshape(len(need), A)).ravel()
