"""The optimiser's command line: ``optimise.*`` keys, checked before any run starts.

Everything that is not an ``optimise.*`` key (or ``hydra.run.dir``, the output folder) is
an ordinary override of the scenario (``scenario=``, ``run.days=``, ``run.replications=``,
any model key), composed by :func:`demandsim.config.load_config` exactly as a run would be.

Keys (defaults set here, in :class:`Settings`):

- ``optimise.group``: ``call_handlers``, ``switchboard``, ``secondary_handlers`` or ``units``,
  or a list of them (``[switchboard,secondary_handlers]``) whose goals interact;
- ``optimise.goal.<kpi>=<value>``: one or more goals (:data:`GOAL_GROUPS`); shares in 0..1;
- ``optimise.mode``: ``every_hour`` (default: each goal met in every hour of the week) or
  ``overall`` (each goal met over the whole period, as the standards are reported);
- ``optimise.confidence``: 0.95 by default: a goal counts as met where the one-sided
  ``confidence`` bound over the replications is on the right side of the goal;
- ``optimise.shifts``: a list of allowed shift patterns ``{start_hour, hours, days}``; none: the
  answer is staff per hour;
- ``optimise.max_iterations``: 60 by default: simulation rounds before the search stops
  (the result says whether it finished);
- ``optimise.n_jobs``: 1 by default: worker processes running a round's replications (joblib,
  as the sweeps' local launcher; -1: every core). The answer is the same whatever the number;
- ``optimise.ray_address``: HOST:PORT of a Ray cluster (as ``hydra/launcher=ray`` joins for
  sweeps): a round's replications run there as Ray tasks; none by default.

Example:
    >>> s, rest, out = parse(["scenario=validation/erlang_a", "optimise.goal.sl_999_10s=0.8"])
    >>> s.groups, s.goals, s.mode, rest, out
    (('call_handlers',), {'sl_999_10s': 0.8}, 'every_hour', ['scenario=validation/erlang_a'], None)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.errors import ConfigError
from demandsim.optimise.evaluate import KPIS

GROUPS = ("call_handlers", "switchboard", "secondary_handlers", "units")
MODES = ("every_hour", "overall")
#: goal KPI -> the groups whose staff move it (its direction and whether it is a share:
#: demandsim.optimise.evaluate.KPIS, the one table of what a goal on a KPI means)
GOAL_GROUPS = {
    "sl_999_10s": ("call_handlers",),
    "abandon_rate_999": ("call_handlers",),
    "asa_999_s": ("call_handlers",),
    "abandon_rate_101": ("switchboard", "secondary_handlers"),
    **{f"attend_within_target_{g}": ("units",) for g in DEPLOYED_GRADES},
    **{f"dispatch_wait_mean_min_{g}": ("units",) for g in DEPLOYED_GRADES},
}
KEYS = ("group", "goal", "mode", "confidence", "shifts", "max_iterations", "n_jobs", "ray_address")


@dataclass
class Settings:
    """The optimiser's settings (module docstring)."""

    groups: tuple[str, ...] = ("call_handlers",)
    goals: dict[str, float] = field(default_factory=dict)
    mode: str = "every_hour"
    confidence: float = 0.95
    shifts: list | None = None
    max_iterations: int = 60
    n_jobs: int = 1
    ray_address: str | None = None


def _value(text: str):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_override(text).value()
    except Exception as exc:  # noqa: BLE001 - Hydra's grammar error, said in one line
        key, _, value = text.partition("=")
        raise ConfigError(key, value, f"cannot be read ({str(exc).splitlines()[0]})") from None


def parse(argv: list[str]) -> tuple[Settings, list[str], str | None]:
    """Split the command line into the optimiser's settings, the model's overrides and the
    output folder (``hydra.run.dir``, or None); every optimise key checked."""
    s = Settings()
    rest, out = [], None
    for text in argv:
        key = text.partition("=")[0].lstrip("+")
        if key == "hydra.run.dir":
            out = text.partition("=")[2]
            continue
        if not key.startswith("optimise."):
            rest.append(text)
            continue
        if "=" not in text:
            raise ConfigError(key, None, "give a value: optimise.KEY=VALUE")
        name = key[len("optimise."):]
        value = _value(text)
        if name.startswith("goal."):
            kpi = name[len("goal."):]
            if kpi not in GOAL_GROUPS:
                raise ConfigError(key, value, f"unknown KPI; a goal may name {', '.join(GOAL_GROUPS)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(key, value, "must be a number")
            if KPIS[kpi].share and not 0 < value < 1:
                raise ConfigError(key, value, "a share: must be between 0 and 1 (0.9 for 90%)")
            if not KPIS[kpi].share and value <= 0:
                raise ConfigError(key, value, "must be > 0")
            s.goals[kpi] = float(value)
        elif name == "group":
            groups = tuple(value) if isinstance(value, list) else (value,)
            for g in groups:
                if g not in GROUPS:
                    raise ConfigError(key, value, f"unknown group {g!r}; use {', '.join(GROUPS)}")
            if not groups or len(set(groups)) != len(groups):
                raise ConfigError(key, value, "name each group once")
            s.groups = groups
        elif name == "mode":
            if value not in MODES:
                raise ConfigError(key, value, f"use {' or '.join(MODES)}")
            s.mode = value
        elif name == "confidence":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.5 <= value < 1:
                raise ConfigError(key, value, "must be at least 0.5 and below 1 (0.95 for 95%)")
            s.confidence = float(value)
        elif name == "shifts":
            if not isinstance(value, list) or not value:
                raise ConfigError(key, value, "give at least one shift pattern: [{start_hour: 7, hours: 10}, ...]")
            s.shifts = value
        elif name == "max_iterations":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(key, value, "must be a whole number >= 1")
            s.max_iterations = value
        elif name == "n_jobs":
            if isinstance(value, bool) or not isinstance(value, int) or value == 0 or value < -1:
                raise ConfigError(key, value, "a number of worker processes >= 1, or -1 for every core")
            s.n_jobs = value if value > 0 else (os.cpu_count() or 1)
        elif name == "ray_address":
            if not isinstance(value, str) or ":" not in value:
                raise ConfigError(key, value, "HOST:PORT of a Ray cluster's head, e.g. 10.0.0.5:6379")
            s.ray_address = value
        else:
            raise ConfigError(key, value, f"unknown key; optimise keys are {', '.join('optimise.' + k for k in KEYS)}")
    if not s.goals:
        raise ConfigError("optimise.goal", None, "give at least one goal, e.g. optimise.goal.sl_999_10s=0.9")
    for kpi in s.goals:
        if not set(GOAL_GROUPS[kpi]) & set(s.groups):
            raise ConfigError(f"optimise.goal.{kpi}", s.goals[kpi],
                              f"not moved by optimise.group={','.join(s.groups)} (it is moved by "
                              f"{' or '.join(GOAL_GROUPS[kpi])})")
    return s, rest, out


def at_least(kpi: str) -> bool:
    """Whether a goal on ``kpi`` is a floor (service level, attendance) rather than a ceiling."""
    return KPIS[kpi].direction == "at_least"


def bound(kpi: str, interval: dict):
    """The end of a confidence interval ``{"ci_low", "ci_high", ...}`` a goal on ``kpi`` is judged by:
    the low end for a floor, the high end for a ceiling (arrays or numbers alike)."""
    return interval["ci_low"] if at_least(kpi) else interval["ci_high"]


def meets(kpi: str, value, goal: float):
    """Whether ``value`` (a number or an array; NaN never meets) is on the right side of ``goal``."""
    with np.errstate(invalid="ignore"):
        return np.asarray(value, dtype=float) >= goal if at_least(kpi) else np.asarray(value, dtype=float) <= goal
