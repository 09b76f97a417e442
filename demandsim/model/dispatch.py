"""Dispatch: a free unit takes the most urgent incident; an immediate one may take a busy unit.

Incidents wait for a unit by grade, then by the time they became ready (``t_ready``),
then by incident id (the order they became ready in, for equal times). With
``dispatch.divert_from`` other than ``none``, an immediate incident that heads that
queue while no unit is free takes a unit off a lower-grade (priority or prompt)
incident:

- ``travelling``: a unit still on its way there (now before that unit's arrival);
- ``on_scene``: also a unit already there (now before it would be free again).

Which unit (:func:`diversion_key`): the lowest grade first (prompt before priority),
then the unit assigned most recently (the least time invested in its incident), then
the lower incident id. The incident left goes back to the queue with its own grade and
ready time, so it is next among its grade's incidents as if it had never left, and is
assigned again when a unit is free; its new unit travels for the same drawn time as the
first and then does the work left: all the drawn time on scene if the first unit had not
arrived, else what remained of it when that unit was taken (the job resumes, as when an
officer returns to finish statements: work already done is not done again).

The engines (:mod:`demandsim.engines`) apply these rules in their own loops, the fast
one compiled; :func:`can_divert` and :func:`diversion_key` are the rules' statement,
which the reference engine calls and the fast engine mirrors.

Example:
    >>> divert_code("travelling")
    1
    >>> can_divert(DIVERT_TRAVELLING, now=10.0, arrives=12.0, clears=50.0)
    True
    >>> can_divert(DIVERT_TRAVELLING, now=12.0, arrives=12.0, clears=50.0)  # arrived: on scene
    False
    >>> max([diversion_key(1, 5.0, 7), diversion_key(2, 3.0, 9), diversion_key(2, 4.0, 8)])[2]
    -8
"""

from __future__ import annotations

from demandsim.config.schema import DIVERT_FROM
from demandsim.errors import ConfigError

#: codes of dispatch.divert_from, in the order of DIVERT_FROM
DIVERT_NONE, DIVERT_TRAVELLING, DIVERT_ON_SCENE = range(3)
#: the grade code that may take a unit off another incident (immediate); grades above it give one up
DIVERTS_TO = 0


def divert_code(value) -> int:
    """The code of a ``dispatch.divert_from`` value, or a ConfigError naming the key.

    >>> divert_code("sometimes")
    Traceback (most recent call last):
    demandsim.errors.ConfigError: dispatch.divert_from=sometimes: must be one of none, travelling, on_scene
    """
    if not isinstance(value, str) or value not in DIVERT_FROM:
        raise ConfigError("dispatch.divert_from", value, f"must be one of {', '.join(DIVERT_FROM)}")
    return DIVERT_FROM.index(value)


def can_divert(mode: int, now: float, arrives: float, clears: float) -> bool:
    """Whether a unit assigned to a lower-grade incident may be taken off it at ``now``.

    ``arrives`` and ``clears`` are that unit's arrival on scene and the time it would be
    free, both from its own assignment (``t_assigned_last`` + travel, ``t_clear``). A unit
    arriving at this very instant is on scene, not travelling; one due free at this
    instant is finishing, not taken.
    """
    if mode == DIVERT_TRAVELLING:
        return now < arrives
    return mode == DIVERT_ON_SCENE and now < clears


def diversion_key(grade: int, assigned: float, incident: int) -> tuple:
    """Sort key of a unit that may be diverted: the largest key is taken first.

    Lowest grade first (prompt, code 2, before priority, 1), then the unit assigned most
    recently (``assigned``, its ``t_assigned_last``), then the lower incident id.
    """
    return grade, assigned, -incident
