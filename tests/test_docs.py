"""The documentation cannot drift from the code.

- docs/config-reference.md is exactly what demandsim.config.reference generates;
- every key of the composed default config is in that reference;
- docs/model.md (and README.md, once it exists) names every shipped scenario;
- docs/model.md names every KPI of shared/KPIS.md and every KPI and count a run
  writes, every column of the output tables and every call outcome, and every
  config key it quotes exists.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from demandsim.config import PROJECT_DIR, list_scenarios, load_config
from demandsim.config.reference import REGENERATE, config_reference
from demandsim.config.schema import Config, Dist, Shift

DOCS = PROJECT_DIR / "docs"
REFERENCE = DOCS / "config-reference.md"
MODEL = DOCS / "model.md"
README = PROJECT_DIR / "README.md"
KPIS_MD = PROJECT_DIR.parent / "shared" / "KPIS.md"
SECTIONS = [f.name for f in dataclasses.fields(Config)]


@pytest.fixture(scope="module")
def reference() -> str:
    return config_reference()


@pytest.fixture(scope="module")
def model_md() -> str:
    return MODEL.read_text(encoding="utf-8")


def mentions(text: str, name: str) -> bool:
    """``name`` appears as a whole token (not as part of a longer name or path)."""
    return re.search(rf"(?<![\w/.]){re.escape(name)}(?![\w/])", text) is not None


# ----------------------------------------------------------------- (a) the reference is current
def test_reference_file_is_generated_from_the_schema(reference):
    assert REFERENCE.is_file(), f"docs/config-reference.md is missing: run `{REGENERATE}`"
    checked_in = REFERENCE.read_text(encoding="utf-8")
    assert checked_in == reference, f"docs/config-reference.md is out of date: run `{REGENERATE}`"


def test_reference_says_it_is_generated(reference):
    first = reference.splitlines()[0]
    assert "Generated" in first and REGENERATE in first


# ----------------------------------------------------------------- (b) every key is documented
def leaf_keys(node, prefix: str = "") -> list[str]:
    """Dotted keys of a plain config tree; a distribution ({kind: ...}) and a list are leaves."""
    if isinstance(node, dict) and node and "kind" not in node:
        keys = []
        for key, value in node.items():
            keys += leaf_keys(value, f"{prefix}.{key}" if prefix else str(key))
        return keys
    return [prefix]


def test_every_default_key_is_in_the_reference(reference):
    plain = dataclasses.asdict(load_config([]))
    keys = leaf_keys(plain)
    assert len(keys) > 60, keys  # the walk really went down the tree
    missing = [k for k in keys if f"| `{k}` |" not in reference]
    assert not missing, f"keys of the default config missing from the reference: {missing}"


def test_sub_structures_are_documented_once(reference):
    for cls in (Dist, Shift):
        assert f"\n## {cls.__name__}\n" in reference
        section = reference.split(f"\n## {cls.__name__}\n", 1)[1].split("\n## ", 1)[0]
        for f in dataclasses.fields(cls):
            assert f"`{f.name}`" in section, f"{cls.__name__}.{f.name} is not described"


def test_reference_shows_composed_defaults_not_schema_fallbacks(reference):
    # schema fall-back for run.seed is 1; configs/run/default.yaml sets 2021
    assert "| `run.seed` | int | `2021` |" in reference
    assert "| `staffing.pooled_secondary` | bool | `false` |" in reference


# ----------------------------------------------------------------- (c) scenarios are described
@pytest.mark.parametrize("scenario", list_scenarios())
def test_every_scenario_is_described_in_model_md(model_md, scenario):
    assert mentions(model_md, scenario), f"scenario {scenario} is not mentioned in docs/model.md"


@pytest.mark.parametrize("scenario", list_scenarios())
def test_every_scenario_is_listed_in_readme(scenario):
    if not README.is_file():
        pytest.skip("README.md does not exist yet")
    assert mentions(README.read_text(encoding="utf-8"), scenario), f"scenario {scenario} is not in README.md"


# ----------------------------------------------------------------- (d) KPIs are defined
def kpi_names(text: str) -> list[str]:
    """Names in the first column of the KPI table of KPIS.md, ``..._x`` abbreviations expanded."""
    table = text.split("## KPI names", 1)[1]
    names = []
    for line in table.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cell = line.split("|")[1]
        found = re.findall(r"`([^`]+)`", cell)
        for name in found:
            if name.startswith("..._"):
                stem = found[0].rsplit("_", 1)[0]
                name = f"{stem}_{name[len('..._'):]}"
            names.append(name)
    return names


def test_kpi_table_parser_expands_abbreviations():
    text = "## KPI names\n| name | meaning |\n|---|---|\n| `a_b_immediate`, `..._priority` | x |\n"
    assert kpi_names(text) == ["a_b_immediate", "a_b_priority"]


def test_every_kpi_is_defined_in_model_md(model_md):
    if not KPIS_MD.is_file():
        pytest.skip(f"{KPIS_MD} (the results contract) is not beside this checkout")
    names = kpi_names(KPIS_MD.read_text(encoding="utf-8"))
    assert len(names) >= 25 and "attend_within_target_priority" in names, names
    missing = [n for n in names if not mentions(model_md, n)]
    assert not missing, f"KPIs not described in docs/model.md: {missing}"


def test_every_kpi_and_count_of_a_run_is_defined_in_model_md(model_md):
    """Names the code writes into summary.json (KPIs and counts, the new ones too) are described;
    per-grade names may be written once as ``..._<grade>``."""
    from demandsim.config.schema import DEPLOYED_GRADES
    from demandsim.runner import simulate

    cfg = Config()
    cfg.run.days, cfg.run.warmup_days = 1.0, 0.25
    result = simulate(cfg, progress=False)
    names = [*result.kpis, *result.counts]
    assert {"transfers_101_to_999", "sl_999_10s_transfers", "attend_censored_priority"} <= set(names)
    grade = re.compile(rf"_({'|'.join(DEPLOYED_GRADES)})$")
    missing = [n for n in names if not mentions(model_md, n) and not mentions(model_md, grade.sub("_<grade>", n))]
    assert not missing, f"KPIs or counts not described in docs/model.md: {missing}"


# ----------------------------------------------------------------- model.md matches the code
def test_model_md_names_every_output_column_and_outcome(model_md):
    from demandsim.engines.simpy_engine import SimpyEngine
    from demandsim.model.plan import build_plan
    from demandsim.records import OUTCOMES

    cfg = Config()
    cfg.arrivals.line_999.per_year = 8760.0
    cfg.staffing.call_handlers.hour_of_week = [1] * 168
    cfg.run.days, cfg.run.warmup_days = 1.0, 0.0
    records = SimpyEngine().run(build_plan(cfg))
    missing = []
    for table, frame in (("calls", records.calls), ("incidents", records.incidents),
                         ("intervals", records.intervals)):
        missing += [f"{table}.{c}" for c in frame.columns if not mentions(model_md, c)]
    missing += [f"outcome {o}" for o in OUTCOMES if not mentions(model_md, o)]
    assert not missing, f"not described in docs/model.md: {missing}"


def _resolves(cfg, key: str) -> bool:
    node = cfg
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif dataclasses.is_dataclass(node) and hasattr(node, part):
            node = getattr(node, part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):  # a command line's list.0.key
            node = node[int(part)]
        else:
            return False
    return True


def test_config_keys_quoted_in_model_md_exist(model_md):
    configs = [load_config([f"scenario={name}"]) for name in list_scenarios()]
    pattern = re.compile(rf"(?<![\w/.])((?:{'|'.join(SECTIONS)})\.[A-Za-z0-9_.]*[A-Za-z0-9_])")
    quoted = set(pattern.findall(model_md))
    assert len(quoted) > 20, quoted  # model.md does quote keys
    unknown = sorted(k for k in quoted if not any(_resolves(cfg, k) for cfg in configs))
    assert not unknown, f"docs/model.md quotes config keys that do not exist: {unknown}"
