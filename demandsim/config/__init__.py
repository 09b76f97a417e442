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
    """Resolve interpolations and return a plain :class:`Config` object.

    Keys added with Hydra's ``+key=value`` syntax that the schema does not know
    are refused here (merging into the schema raises, naming the key).
    """
    plain = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"]) if "hydra" in cfg else cfg
    _refuse_unknown_keys(plain, Config, "")
    return OmegaConf.to_object(plain)


def _refuse_unknown_keys(node, schema, path: str) -> None:
    """Raise ConfigError for a key the dataclass ``schema`` does not define."""
    import dataclasses
    import typing

    from demandsim.errors import ConfigError

    if not dataclasses.is_dataclass(schema) or not isinstance(node, DictConfig):
        return
    hints = typing.get_type_hints(schema)
    for key in node.keys():
        full = f"{path}.{key}" if path else str(key)
        if key not in hints:
            raise ConfigError(full, OmegaConf.select(node, str(key), throw_on_missing=False),
                              "unknown key; check its spelling (python -m demandsim --cfg job lists every key)")
        child = node._get_node(key)
        field_type = hints[key]
        for item_type in typing.get_args(field_type) or (field_type,):
            if dataclasses.is_dataclass(item_type):
                if isinstance(child, DictConfig):
                    _refuse_unknown_keys(child, item_type, full)
                elif child is not None and hasattr(child, "__iter__") and not isinstance(child, str):
                    for i, element in enumerate(child):
                        _refuse_unknown_keys(element, item_type, f"{full}[{i}]")


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


def override_key(text: str) -> str:
    """The key of a command-line override (``+run.x=1`` -> ``run.x``)."""
    return text.partition("=")[0].lstrip("+~")


def override_value(key: str, overrides: list[str]) -> str | None:
    """The value the command line gives ``key`` (the last one wins, as in Hydra), or None."""
    value = None
    for text in overrides:
        if "=" in text and override_key(text) == key:
            value = text.partition("=")[2]
    return value


def chosen_scenario(overrides: list[str]) -> str:
    """The scenario named on the command line, or the default one."""
    return override_value("scenario", overrides) or "baseline_2021"


def scenario_refusals(overrides: list[str]) -> list[str]:
    """Safety refusals for the scenario(s) these overrides select."""
    from demandsim.config.safety import check_scenario_file

    found = []
    for name in chosen_scenario(overrides).split(","):  # a multirun may list several
        found += check_scenario_file(SCENARIOS_DIR / f"{name.strip()}.yaml", SCENARIOS_DIR)
    return found
