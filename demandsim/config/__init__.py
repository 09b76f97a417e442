"""Configuration: the structured schema, scenario loading and safety checks.

Example:
    >>> cfg = load_config(["scenario=validation/erlang_a", "validation.servers=12"])
    >>> cfg.staffing.call_handlers.shifts[0].staff
    12
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from demandsim.config.resolvers import register_resolvers
from demandsim.config.schema import Config, register_schema

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_DIR / "configs"
SCENARIOS_DIR = PROJECT_DIR / "scenarios"
PRIMARY_CONFIG = "demandsim"


def setup() -> None:
    """Register the schema and resolvers with Hydra/OmegaConf (idempotent)."""
    register_schema()
    register_resolvers()


def list_scenarios() -> list[str]:
    """Names accepted by ``scenario=NAME``."""
    return sorted(str(p.relative_to(SCENARIOS_DIR).with_suffix("")) for p in SCENARIOS_DIR.rglob("*.yaml"))


def to_config(cfg: DictConfig) -> Config:
    """Resolve interpolations and return a plain :class:`Config` object."""
    plain = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"]) if "hydra" in cfg else cfg
    return OmegaConf.to_object(plain)


def load_config(overrides: list[str] | None = None) -> Config:
    """Compose the config as ``python -m demandsim`` would, without running it.

    Raises the same errors the command line reports (see demandsim.cli).
    """
    from hydra import compose, initialize_config_dir

    from demandsim.errors import ScenarioRefused

    setup()
    overrides = list(overrides or [])
    refusals = scenario_refusals(overrides)
    if refusals:
        raise ScenarioRefused(refusals[0])
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name=PRIMARY_CONFIG, overrides=overrides)
    return to_config(cfg)


def chosen_scenario(overrides: list[str]) -> str:
    """The scenario named on the command line, or the default one."""
    name = "baseline_2021"
    for arg in overrides:
        key, _, value = arg.partition("=")
        if key.lstrip("+~") == "scenario" and value:
            name = value
    return name


def scenario_refusals(overrides: list[str]) -> list[str]:
    """Safety refusals for the scenario(s) these overrides select."""
    from demandsim.config.safety import check_scenario_file

    found = []
    for name in chosen_scenario(overrides).split(","):  # a multirun may list several
        found += check_scenario_file(SCENARIOS_DIR / f"{name.strip()}.yaml", SCENARIOS_DIR)
    return found
