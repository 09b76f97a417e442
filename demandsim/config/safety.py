"""Scenario files are data: refuse anything that would make Hydra run code.

A scenario shared by email must be safe to run. demandsim itself never
instantiates objects from the config, but Hydra does instantiate some of its
own settings (``hydra.callbacks``, launchers, sweepers) from ``_target_``
keys, so a scenario may not touch the ``hydra`` node, may not pull in Hydra
config groups through its defaults list, and may not contain ``_target_``
(or the other instantiation keys) anywhere. Checked on the raw YAML, before
Hydra reads it.

Example:
    >>> refusals({"a": {"_target_": "os.system"}}, "x.yaml")
    ['x.yaml: a._target_ is not allowed in a scenario (scenarios are data; no code is instantiated)']
"""

from __future__ import annotations

from pathlib import Path

import yaml

INSTANTIATION_KEYS = {"_target_", "_partial_", "_args_", "_recursive_", "_convert_"}


def refusals(node, where: str, path: str = "") -> list[str]:
    """Why this parsed YAML may not be run (empty list: fine)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            full = f"{path}.{key}" if path else str(key)
            if key in INSTANTIATION_KEYS:
                found.append(f"{where}: {full} is not allowed in a scenario (scenarios are data; no code is instantiated)")
            elif not path and key == "hydra":
                found.append(f"{where}: the hydra node is not allowed in a scenario (set hydra options on the command line)")
            elif not path and key == "defaults":
                found += _defaults_refusals(value, where)
            else:
                found += refusals(value, where, full)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += refusals(value, where, f"{path}[{i}]")
    return found


def _defaults_refusals(entries, where: str) -> list[str]:
    found = []
    for entry in entries or []:
        text = entry if isinstance(entry, str) else " ".join(str(k) for k in (entry or {}))
        if "hydra" in text:
            found.append(f"{where}: defaults entry {text!r} is not allowed (a scenario may not change Hydra's settings)")
    return found


def check_scenario_file(path: Path, scenarios_dir: Path, seen: set | None = None) -> list[str]:
    """Refusals for a scenario file and the scenario files its defaults pull in."""
    seen = set() if seen is None else seen
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        return [f"{path}{at}: not valid YAML ({getattr(exc, 'problem', exc)})"]
    found = refusals(data, str(path))
    for entry in data.get("defaults", []) if isinstance(data, dict) else []:
        if isinstance(entry, str) and entry != "_self_":
            name = entry.split("@")[0].strip().lstrip("/")
            name = name[len("scenario/"):] if name.startswith("scenario/") else name
            target = (scenarios_dir / name).with_suffix(".yaml") if entry.startswith("/scenario/") or "/" not in entry \
                else path.parent / f"{name}.yaml"
            found += check_scenario_file(target, scenarios_dir, seen)
    return found
