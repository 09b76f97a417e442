"""Areas: where incidents arise, where units are based, and when a neighbour's unit is sent.

The story (``areas.districts``; an empty list is one force-wide area, the model as it was):

- **the incident's area** is the caller's: one uniform per caller (``demandsim.draws``,
  purpose ``area``) compared with the cumulative ``demand_share`` of the districts, the
  same in every contact the caller makes (a redial reports the same incident);
- **units are based in areas**: in each simulated hour the units available force-wide
  (:mod:`demandsim.model.response`: rostered, less meal breaks and abstraction) times the
  area's ``units_share``, rounded at random per area (:func:`units_available_by_area`);
- **dispatch** (the engines apply these rules; the functions here state them):

  * an incident ready in area ``a`` takes a free unit of ``a``;
  * else, once it has waited ``dispatch.neighbour_after.<grade>`` minutes since it was
    ready (0: at once), a free unit of a neighbouring area is sent: the neighbour with the
    most free units, ties by the order of ``a``'s ``neighbours`` list
    (:func:`neighbour_to_send`). If none is free then, it waits in ``a``'s queue, from
    which a unit of ``a`` or of any neighbour freed later may take it;
  * a unit of area ``b`` that comes free (or comes on duty) takes the most urgent incident
    it may: from ``b``'s queue, or one of ``b``'s neighbours' incidents that has waited
    its grade's ``neighbour_after`` (:func:`may_go_to_neighbour`): by grade, then ready
    time, then its own area's before a neighbour's, then incident id
    (:func:`dispatch_key`). Within an area and grade incidents wait in order of ready
    time, so the first one of each grade is the only one a neighbour need look at;
  * diversion (``dispatch.divert_from``, :mod:`demandsim.model.dispatch`): an immediate
    incident of area ``a`` that no unit of ``a`` and no neighbour's unit may take takes a
    unit of area ``a`` off a lower-grade incident (wherever that incident is); the
    incident left waits again in its own area's queue, and a free unit of its area or,
    past its ``neighbour_after``, of a neighbour may take it at once.

- **travel** of the unit sent: the grade's travel draw times the incident's area's
  ``travel_factor``, times ``areas.neighbour_travel_factor`` when the unit is a
  neighbour's (:meth:`Areas.travel_multiplier`).

One area with share 1 and factor 1 gives the model without areas exactly: its units
are the force's (the same stream and numbers), a travel draw times 1.0 is itself, and
there is no neighbour.

Example:
    >>> from demandsim.config.schema import AreasConfig, District, NeighbourAfter
    >>> cfg = AreasConfig(districts=[District("North", 0.6, 0.5, 1.0, ["South"]),
    ...                              District("South", 0.4, 0.5, 1.5, ["North"])], neighbour_travel_factor=2.0)
    >>> areas = areas_from_config(cfg, NeighbourAfter(0, 20, 60))
    >>> areas.names, areas.neighbours, areas.neighbour_after_s
    (('North', 'South'), ((1,), (0,)), (0.0, 1200.0, 3600.0))
    >>> areas.travel_multiplier().tolist()    # [unit's area][incident's area]
    [[1.0, 3.0], [2.0, 1.5]]
    >>> neighbour_to_send([0, 2, 2], (2, 1))   # most free units; a tie goes to the first listed
    2
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.errors import ConfigError

#: the one area of a config without districts: every unit free for every incident
FORCE_WIDE = "force"
NONE = -1
#: shares are checked to sum to 1 within this (demandsim.model.shares.TOLERANCE)
TOLERANCE = 1e-6
#: the largest travel factor (a district's, a neighbour's): a journey 100 times the drawn one is
#: already far past any target; a factor near the largest float made travel times infinite
MAX_TRAVEL_FACTOR = 100.0


@dataclass(frozen=True)
class Areas:
    """The areas of a model, validated: names, shares, travel factors, neighbours (as indices)."""

    names: tuple
    demand_share: tuple
    units_share: tuple
    travel_factor: tuple
    neighbours: tuple  # per area, the indices of its neighbours in the order listed
    neighbour_travel_factor: float
    neighbour_after_s: tuple  # per deployed grade, seconds

    @property
    def count(self) -> int:
        """How many areas (1 without districts)."""
        return len(self.names)

    def demand_cumulative(self) -> np.ndarray:
        """The running total of the demand shares, for :func:`demandsim.model.shares.pick`."""
        cum = np.cumsum(np.asarray(self.demand_share, dtype=np.float64))
        cum[-1] = 1.0  # a uniform below 1 always lands in an area
        return cum

    def travel_multiplier(self) -> np.ndarray:
        """``[unit's area, incident's area]``: what the travel draw is multiplied by.

        The incident's area's factor, times the neighbour factor when the unit is based
        in another area (a product of two numbers, the same in both engines).
        """
        factor = np.asarray(self.travel_factor, dtype=np.float64)
        out = np.tile(factor * self.neighbour_travel_factor, (self.count, 1))
        np.fill_diagonal(out, factor)
        return out


def areas_from_config(areas, neighbour_after) -> Areas:
    """Check an :class:`~demandsim.config.schema.AreasConfig` (and ``dispatch.neighbour_after``)
    and compile it; a ConfigError names the first bad key and value.

    Rules: names non-empty and unique; shares in [0, 1], each kind summing to 1; factors
    >= 0; neighbours named, not the area itself, listed once, and **listed both ways**
    (a one-sided list is refused rather than completed: it is more likely a slip than a
    wish for units to help one way only); an area with demand needs units of its own or a
    neighbour with some. No districts: one force-wide area (:data:`FORCE_WIDE`).

    >>> from demandsim.config.schema import AreasConfig, District, NeighbourAfter
    >>> bad = AreasConfig(districts=[District("A", 0.5, 1.0, 1.0, []), District("B", 0.4, 0.0, 1.0, [])])
    >>> areas_from_config(bad, NeighbourAfter())
    Traceback (most recent call last):
    demandsim.errors.ConfigError: areas.districts[*].demand_share='A 0.5 + B 0.4 = 0.9': the districts' demand shares must sum to 1
    """
    after = []
    for grade in DEPLOYED_GRADES:
        minutes = getattr(neighbour_after, grade)
        if not _number(minutes) or minutes < 0:
            raise ConfigError(f"dispatch.neighbour_after.{grade}", minutes, "must be minutes >= 0 (0: at once)")
        after.append(float(minutes) * 60.0)
    nf = areas.neighbour_travel_factor
    if not _number(nf) or not 0 <= nf <= MAX_TRAVEL_FACTOR:
        raise ConfigError("areas.neighbour_travel_factor", nf, f"must be a number from 0 to {MAX_TRAVEL_FACTOR:g}")
    districts = list(areas.districts or [])
    if not districts:
        return Areas((FORCE_WIDE,), (1.0,), (1.0,), (1.0,), ((),), float(nf), tuple(after))
    names = []
    for k, d in enumerate(districts):
        key = f"areas.districts[{k}]"
        if not isinstance(d.name, str) or not d.name.strip():
            raise ConfigError(f"{key}.name", d.name, "every district needs a name")
        if d.name in names:
            raise ConfigError(f"{key}.name", d.name, "names must be unique")
        names.append(d.name)
        for field in ("demand_share", "units_share"):
            value = getattr(d, field)
            if not _number(value) or not 0 <= value <= 1:
                raise ConfigError(f"{key}.{field}", value, "must be a share in [0, 1]")
        if not _number(d.travel_factor) or not 0 <= d.travel_factor <= MAX_TRAVEL_FACTOR:
            raise ConfigError(f"{key}.travel_factor", d.travel_factor, f"must be a number from 0 to {MAX_TRAVEL_FACTOR:g}")
    for field in ("demand_share", "units_share"):
        total = math.fsum(getattr(d, field) for d in districts)
        if abs(total - 1.0) > TOLERANCE:
            listed = " + ".join(f"{d.name} {getattr(d, field):g}" for d in districts)
            raise ConfigError(f"areas.districts[*].{field}", f"{listed} = {total:g}",
                              f"the districts' {field.replace('_', ' ')}s must sum to 1")
    neighbours = []
    for k, d in enumerate(districts):
        key = f"areas.districts[{k}].neighbours"
        found = []
        for name in d.neighbours or []:
            if name not in names:
                raise ConfigError(key, name, f"no district of that name (districts: {', '.join(names)})")
            if name == d.name:
                raise ConfigError(key, name, "a district is not its own neighbour")
            if names.index(name) in found:
                raise ConfigError(key, name, "listed twice")
            found.append(names.index(name))
        neighbours.append(tuple(found))
    for k, d in enumerate(districts):
        for n in neighbours[k]:
            if k not in neighbours[n]:
                raise ConfigError(f"areas.districts[{n}].neighbours", list(districts[n].neighbours),
                                  f"{d.name} lists {names[n]} as a neighbour but {names[n]} does not list "
                                  f"{d.name}: list every pair both ways")
    for k, d in enumerate(districts):
        if d.demand_share > 0 and d.units_share == 0 and not any(districts[n].units_share > 0 for n in neighbours[k]):
            raise ConfigError(f"areas.districts[{k}].units_share", d.units_share,
                              f"{d.name} has incidents (demand_share {d.demand_share:g}) but no unit of its own "
                              "and no neighbour with units: nobody could ever attend them")
    return Areas(tuple(names), tuple(float(d.demand_share) for d in districts),
                 tuple(float(d.units_share) for d in districts), tuple(float(d.travel_factor) for d in districts),
                 tuple(neighbours), float(nf), tuple(after))


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def units_available_by_area(expected: np.ndarray, areas: Areas, seed: int) -> np.ndarray:
    """Whole units available per area (rows) and simulated hour: ``expected`` (the force's mean
    available units per hour) times each area's ``units_share``, rounded at random with the
    area's own stream (:func:`demandsim.model.response.units_available`, area ``a``).

    One area with share 1 gives the force's numbers exactly (``x * 1.0 == x``, area 0's
    stream is the force's), and for a seed more units in an area never give fewer there.

    >>> from demandsim.config.schema import AreasConfig, NeighbourAfter
    >>> one = areas_from_config(AreasConfig(), NeighbourAfter())
    >>> units_available_by_area(np.array([2.0, 3.0]), one, seed=1).tolist()
    [[2, 3]]
    """
    from demandsim.model.response import units_available

    return np.stack([units_available(expected * share, seed, area)
                     for area, share in enumerate(areas.units_share)]).astype(np.int64)


def may_go_to_neighbour(now: float, ready: float, after_s: float) -> bool:
    """Whether an incident ready at ``ready`` may now have a neighbouring area's unit."""
    return ready + after_s <= now


def dispatch_key(grade: int, ready: float, own_area: bool, incident: int) -> tuple:
    """Sort key of an incident a freed unit may take: the smallest is taken first (grade, then
    ready time, then the unit's own area's, then the lower incident id)."""
    return grade, ready, 0 if own_area else 1, incident


def neighbour_to_send(free, neighbours) -> int:
    """The neighbouring area whose free unit is sent: the most free units (``free`` by area),
    ties to the first in ``neighbours``; NONE when none has a free unit."""
    best, most = NONE, 0
    for n in neighbours:
        if free[n] > most:
            best, most = n, free[n]
    return best
