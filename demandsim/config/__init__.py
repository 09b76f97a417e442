"""Configuration: the structured schema, scenario loading and safety checks.

Example:
    >>> cfg = load_config(["scenario=validation/erlang_a", "validation.servers=12"])
    >>> cfg.staffing.call_handlers.shifts[0].staff
    12
"""

from __future__ import annotations

import re
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

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
    Where a value is an interpolation (a scenario deriving ``per_year`` from
    ``validation.arrivals_per_min``), the keys it comes from are remembered, so an
    error about it names the key the user typed (:func:`demandsim.errors.where`).
    """
    from demandsim.errors import ANY, remember_derived

    plain = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"]) if "hydra" in cfg else cfg
    sources = derived_sources(plain)
    remember_derived({key: (ANY, typed) for key, typed in sources.items()})  # a failed resolution is named too
    _refuse_unknown_keys(plain, Config, "")
    config = OmegaConf.to_object(plain)
    remember_derived({key: (_value_at(config, key), typed) for key, typed in sources.items()})
    return config


def derived_sources(cfg: DictConfig) -> dict[str, list[tuple[str, object]]]:
    """For each key whose value is an interpolation, the keys with plain values it comes from.

    Keys are written as in error messages (``staffing.call_handlers.shifts[0].staff``);
    interpolations of interpolations are followed to the keys a user sets.

    Example:
        >>> cfg = OmegaConf.create({"v": {"n": 2}, "a": "${v.n}", "b": [{"c": "${ds.mul:${a},3}"}]})
        >>> derived_sources(cfg)
        {'a': [('v.n', 2)], 'b[0].c': [('v.n', 2)]}
    """
    raw = dict(_raw_values(cfg, ()))
    found = {}
    for path, value in raw.items():
        if _is_interpolation(value):
            typed = _typed_sources(path, raw, cfg, set())
            if typed:
                found[_show_path(path)] = typed
    return found


_REFERENCE = re.compile(r"\$\{([^${}:]+)\}")  # ${a.b[0].c}, also inside a resolver's arguments


def _is_interpolation(value) -> bool:
    return isinstance(value, str) and "${" in value


def _raw_values(node, path: tuple):
    """(path, value as written) for every leaf; an interpolated node is a leaf."""
    if node._is_interpolation() or node._is_none() or node._is_missing():
        yield path, node._value()
    elif isinstance(node, DictConfig):
        for key in node.keys():
            yield from _raw_values(node._get_node(key), path + (str(key),))
    elif isinstance(node, ListConfig):
        for i in range(len(node)):
            yield from _raw_values(node._get_node(i), path + (i,))
    else:
        yield path, node._value()


def _typed_sources(path: tuple, raw: dict, root, seen: set) -> list[tuple[str, object]]:
    typed = []
    seen.add(path)
    for reference in _REFERENCE.findall(raw[path]):
        target = _reference_path(reference.strip(), path, root)
        if target is None or target in seen:
            continue
        if target not in raw:  # a whole list or mapping (an empty one has no leaves)
            node = OmegaConf.select(root, _show_path(target), throw_on_resolution_failure=False)
            if isinstance(node, (DictConfig, ListConfig)) and not node._is_interpolation():
                typed.append((_show_path(target), OmegaConf.to_container(node, resolve=False)))
            continue
        if _is_interpolation(raw[target]):
            typed += [t for t in _typed_sources(target, raw, root, seen) if t not in typed]
        elif (_show_path(target), raw[target]) not in typed:
            typed.append((_show_path(target), raw[target]))
    return typed


def _reference_path(reference: str, path: tuple, root) -> tuple | None:
    """The path an interpolation ``${reference}`` in the value at ``path`` points to, or None."""
    dots = len(reference) - len(reference.lstrip("."))
    start = path[:len(path) - dots] if dots else ()  # ${.x}: a sibling; ${..x}: the parent's
    node = root
    for part in start:
        node = node._get_node(part)
    out = list(start)
    for part in re.findall(r"[^.\[\]]+", reference):
        try:
            key = int(part) if isinstance(node, ListConfig) else part
            node = node._get_node(key)
        except Exception:  # noqa: BLE001 - not a key of this config: nothing to name
            return None
        if node is None:
            return None
        out.append(key)
    return tuple(out)


def _show_path(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _value_at(config, key: str):
    """The value at ``key`` (as :func:`_show_path` writes it) in a Config object."""
    from demandsim.errors import ANY

    node = config
    try:
        for part in re.findall(r"[^.\[\]]+", key):
            node = node[int(part)] if isinstance(node, list) else (
                node[part] if isinstance(node, dict) else getattr(node, part))
    except Exception:  # noqa: BLE001 - a path the object does not have: match any value
        return ANY
    return node


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
    overrides = scenario_file_overrides(overrides)
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


def chosen_scenarios(overrides: list[str]) -> list[str]:
    """Every scenario these overrides can load: a sweep's ``scenario=a,b``, ``choice(...)``,
    ``range(...)`` and ``glob(...)`` expanded (a glob against every file in scenarios/,
    subfolders included), and ``+scenario/sub=name``; the default one if none is named.

    Read with Hydra's own override parser, so a sweep loads no scenario this list misses.
    Overrides Hydra cannot read give no names (Hydra refuses them before loading anything).

    Example:
        >>> chosen_scenarios(["-m", "scenario=choice(demand_2024,'validation/erlang_a')", "run.days=2"])
        ['demand_2024', 'validation/erlang_a']
        >>> chosen_scenarios(["scenario=glob(validation/*)"])
        ['validation/erlang_a', 'validation/priority_dispatch']
        >>> chosen_scenarios(["run.days=2"])
        ['baseline_2021']
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Glob

    parser = OverridesParser.create()
    names, named = [], False
    for text in overrides:
        if text.startswith("-"):
            continue
        key = override_key(text)
        if key.startswith("hydra.sweeper.params."):  # a sweep's parameters given as the sweeper's settings
            text = f"{key[len('hydra.sweeper.params.'):]}={text.partition('=')[2]}"
            key = override_key(text)
        group = key.partition("@")[0]
        if group != "scenario" and not group.startswith("scenario/"):
            continue
        named = True
        try:
            override = parser.parse_override(text)
        except Exception:  # noqa: BLE001 - Hydra reports it, before loading any scenario
            continue
        if override.is_delete():
            continue
        folder = group[len("scenario/"):] + "/" if "/" in group else ""
        value = override.value()
        if isinstance(value, Glob):
            candidates = [n[len(folder):] for n in list_scenarios() if n.startswith(folder)]
            found = value.filter(candidates)
        elif override.is_discrete_sweep():
            found = [_plain(v) for v in override.sweep_iterator()]
        elif override.is_sweep_override():  # interval(...) names no scenario
            found = []
        else:
            found = [_plain(value)]
        names += [folder + name for name in found if folder + name not in names]
    return names if named else ["baseline_2021"]


def _plain(value) -> str:
    from hydra.core.override_parser.types import QuotedString

    return value.text if isinstance(value, QuotedString) else str(value)


def scenario_refusals(overrides: list[str]) -> list[str]:
    """Safety refusals for every scenario these overrides can load (:func:`chosen_scenarios`)."""
    from demandsim.config.safety import check_scenario_file

    found = []
    for name in chosen_scenarios(overrides):
        path = Path(name) if name.endswith(SCENARIO_FILE_SUFFIXES) else SCENARIOS_DIR / f"{name}.yaml"
        found += check_scenario_file(path, SCENARIOS_DIR)
    return found


#: ``scenario=`` values ending so are files (anywhere), not names under scenarios/
SCENARIO_FILE_SUFFIXES = (".yaml", ".yml")
#: the group folder a scenario file is linked under (never a name under scenarios/)
FILE_SCENARIOS = "_file_"
_linked: dict[Path, str] = {}
_typed: dict[str, str] = {}  # scenario=_file_/NAME -> scenario=PATH as the user typed it


def as_typed(overrides: list[str]) -> list[str]:
    """Overrides as the user typed them: ``scenario=PATH.yaml`` again where
    :func:`scenario_file_overrides` linked the file (summary.json records what was typed)."""
    return [_typed.get(text, text) for text in overrides]


def scenario_file_overrides(overrides: list[str]) -> list[str]:
    """``scenario=PATH.yaml`` (a scenario file outside scenarios/, e.g. one
    ``python -m demandsim.calibrate --out DIR`` wrote) -> overrides Hydra understands.

    Hydra finds scenarios only as files of the ``scenario`` config group, so the file is
    linked into a folder of this process's own (``scenario/_file_/NAME.yaml``) added to
    the config search path. A single file only; to sweep several, copy them under scenarios/.

    Example:
        >>> scenario_file_overrides(["run.days=2"])
        ['run.days=2']
    """
    import tempfile

    from demandsim.errors import ConfigError

    out = []
    folder = None
    for text in overrides:
        key, _, value = text.partition("=")
        if key.lstrip("+") != "scenario" or not value.endswith(SCENARIO_FILE_SUFFIXES):
            out.append(text)
            continue
        path = Path(value).expanduser().resolve()
        if not path.is_file():
            # the whole path in the reason: a long value is shortened in the key=value part
            raise ConfigError("scenario", value, f"no such scenario file: {path} (a name under scenarios/ has no "
                              ".yaml)")
        if path not in _linked:
            root = Path(tempfile.mkdtemp(prefix="demandsim-scenario-"))
            (root / "scenario" / FILE_SCENARIOS).mkdir(parents=True)
            (root / "scenario" / FILE_SCENARIOS / f"{path.stem}.yaml").symlink_to(path)
            _linked[path] = str(root)
        folder = _linked[path]
        out.append(f"scenario={FILE_SCENARIOS}/{path.stem}")
        _typed[out[-1]] = text
    if folder is not None:
        if override_value("hydra.searchpath", overrides) is not None:
            raise ConfigError("hydra.searchpath", override_value("hydra.searchpath", overrides),
                              "cannot be set together with scenario=FILE.yaml")
        out.append(f"hydra.searchpath=[file://{folder}]")
    return out
