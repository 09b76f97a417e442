"""The plan of a sweep: which runs it has, each point's config, and each run's identity.

``python -m demandsim -m KEY=a,b run.replications=N`` runs every combination of the
swept values ("points"), each N times with different seeds.

**Seeds.** Replication r of a point uses seed ``run.seed + r`` (see
:func:`demandsim.runner.effective_seed`), so replication 0 is the single run and the
same r uses the same seed at every point: common random numbers.

**Identity.** A run is identified by :func:`demandsim.identity.run_id`, a hash of its
resolved config with the seed it draws with; its folder is ``runs/<run_id>``.

Example:
    >>> point_label({"staffing.units.shifts.0.staff": 24, "scenario": "demand_2024"})
    'staffing.units.shifts.0.staff=24, scenario=demand_2024'
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from demandsim.sweep.layout import RUNS_DIR

REPLICATION_KEY = "run.replication"


@dataclass
class PlannedRun:
    """One run of a sweep: its overrides, point, replication and identity."""

    job: int
    overrides: list[str]
    point: int
    values: dict
    replication: int
    run_id: str
    seed: int
    days: float
    batch: int | None = None  # launcher job that runs it in the latest launch (None: done before)
    draws: str | None = None  # runs with the same draws group draw the same random numbers (draws_group)

    @property
    def folder(self) -> str:
        return f"{RUNS_DIR}/{self.run_id}"


def point_overrides(overrides: list[str]) -> tuple[str, ...]:
    """A run's overrides without ``run.replication``: what its point is composed from."""
    from demandsim.config import override_key

    return tuple(o for o in overrides if override_key(o) != REPLICATION_KEY)


def point_label(values: dict) -> str:
    """``key=value, key=value``: how a point is named in messages and the report."""
    return ", ".join(f"{k}={v}" for k, v in values.items())


def point_labels(table, swept: list[str], unswept: str = "mean of replications") -> dict[int, str]:
    """Each point of a sweep table (a ``point`` column and one per swept key) and its :func:`point_label`,
    in point order; ``unswept`` names the one point of a sweep that swept nothing.

    >>> import pandas as pd
    >>> point_labels(pd.DataFrame({"point": [1, 0, 1], "k": [5, 4, 5]}), ["k"])
    {0: 'k=4', 1: 'k=5'}
    """
    first = table.drop_duplicates("point").sort_values("point")
    return {int(r["point"]): point_label({k: r[k] for k in swept}) or unswept for _, r in first.iterrows()}


def swept_value(job_cfg, key: str, overrides: list[str]):
    """The value a swept key takes in one job: from the composed config, typed.

    A config group (``scenario=NAME``) is not a config value; its override text is used.
    Lists and mappings become their JSON text, so the value fits one table cell.
    """
    from omegaconf import DictConfig, ListConfig, OmegaConf

    from demandsim.config import override_value

    value = OmegaConf.select(job_cfg, key, default=None, throw_on_missing=False)
    if value is None:
        return override_value(key, overrides)
    if isinstance(value, (DictConfig, ListConfig)):
        return json.dumps(OmegaConf.to_container(value, resolve=True), sort_keys=True)
    return value


def split_jobs(overrides) -> list[list[str]]:
    """Every combination of the swept values (parsed Hydra overrides): one override list per job.

    The cartesian product in command-line order, the last key varying fastest, as
    Hydra's basic sweeper makes it; a key given twice takes its last value at its first
    place. Only listed values can be swept (``a,b``, ``range(...)``, ``choice(...)``).

    Example:
        >>> from hydra.core.override_parser.overrides_parser import OverridesParser
        >>> split_jobs(OverridesParser.create().parse_overrides(["a=1,2", "b=x", "c=range(0,2)"]))
        [['a=1', 'b=x', 'c=0'], ['a=1', 'b=x', 'c=1'], ['a=2', 'b=x', 'c=0'], ['a=2', 'b=x', 'c=1']]
    """
    import itertools

    choices: dict[str, list[str]] = {}
    for override in overrides:
        key = override.get_key_element()
        if not override.is_sweep_override():
            choices[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            choices[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            from demandsim.errors import ConfigError

            raise ConfigError(key, (override.input_line or "").partition("=")[2],
                              "a sweep takes listed values (a,b,c or range(start,stop,step)), not an interval")
    return [list(job) for job in itertools.product(*choices.values())]


def expand_arguments(arguments: list[str], replications: int, config_loader):
    """Parse the sweep's overrides, adding ``run.replication=0..N-1`` as the innermost sweep.

    Returns (parsed overrides, swept keys other than the replication index, job override lists).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create(config_loader=config_loader)
    overrides = parser.parse_overrides(list(arguments))
    keys = [o.get_key_element() for o in overrides]
    if replications > 1 and REPLICATION_KEY not in keys:
        overrides += parser.parse_overrides([f"{REPLICATION_KEY}=range(0,{replications})"])
    swept = [o.get_key_element() for o in overrides if o.is_sweep_override()]
    swept = [k.lstrip("+~") for k in swept if k.lstrip("+~") != REPLICATION_KEY]
    return overrides, swept, split_jobs(overrides)


def draws_group(cfg) -> str:
    """Runs of one draws group draw the same random numbers: the same config but for
    ``staffing`` (which no draw depends on: demandsim.model.plan.DRAW_INPUTS), with the
    same seed. A launcher job runs such runs one after another, drawing once
    (demandsim.model.plan.build_plan keeps the last plan's draws)."""
    import dataclasses

    from demandsim.config.schema import StaffingConfig
    from demandsim.identity import run_id

    return run_id(dataclasses.replace(cfg, staffing=StaffingConfig()))


def plan_runs(jobs: list[list[str]], swept: list[str], compose, configs: dict | None = None) -> list[PlannedRun]:
    """Compose every point's config (``compose(overrides) -> DictConfig``) and identify its runs.

    A point is composed once; its replications differ only in ``run.replication``,
    set on the composed config (composing is the slow part of planning). Bad input
    in any job (unknown key, wrong type) raises here, before anything runs.
    ``configs``, if given, receives each run's config by run id.
    """
    import dataclasses

    from omegaconf import open_dict, read_write

    from demandsim import config as config_pkg
    from demandsim.identity import run_id
    from demandsim.runner import check_replications, effective_seed
    from demandsim.window import check_window

    planned, points, composed = [], {}, {}
    for job, overrides in enumerate(jobs):
        base = point_overrides(overrides)
        if base not in composed:
            job_cfg = compose(list(base))
            if "hydra" in job_cfg:  # the task sees the config without Hydra's node, as here
                with read_write(job_cfg), open_dict(job_cfg):
                    del job_cfg["hydra"]
            composed[base] = (config_pkg.to_config(job_cfg), {k: swept_value(job_cfg, k, list(base)) for k in swept})
        cfg, values = composed[base]
        for o in overrides:
            if config_pkg.override_key(o) == REPLICATION_KEY:
                replication = int(o.partition("=")[2])
                cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, replication=replication))
        check_replications(cfg)
        check_window(cfg)  # bad input refused before anything runs
        point = points.setdefault(json.dumps(values, sort_keys=True, default=str), len(points))
        planned.append(PlannedRun(job, list(overrides), point, values, cfg.run.replication, run_id(cfg),
                                  effective_seed(cfg), float(cfg.run.days), draws=draws_group(cfg)))
        if configs is not None:
            configs[planned[-1].run_id] = cfg
    return planned
