"""Any value for any key: a finished run or one line naming a key; never a traceback, never a partial folder.

Hypothesis throws values (negative, zero, NaN, infinity, huge, tiny, the wrong type) at
every key of the schema (demandsim/config/schema.py, walked: list elements such as
``staffing.call_handlers.shifts.0.staff`` and every distribution field included) and at the
parameters a validation scenario derives keys from. Each example is one short run of the
baseline (or of validation/erlang_a) with the memory limit fixed here, so what fits does not
depend on the machine. Examples are derandomized and bounded: the same ones every time.

The many examples take the path of a single run of ``python -m demandsim`` in-process from
a config composed once (override applied as Hydra applies it, then to_config, simulate,
write_run; an error goes through demandsim.cli.describe_error); a few go through
demandsim.cli.main itself, and a slow test tries every key with every special value.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import subprocess
import sys
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf, read_write

from demandsim import cli, runner
from demandsim import config as config_pkg
from demandsim.config.schema import Config
from demandsim.model import plan
from demandsim.outputs import remove_if_empty, write_run

#: a run's memory limit in these tests: room for the short runs (about a thousand call
#: attempts), so that a value asking for more is refused quickly instead of simulated at length
MEMORY_LIMIT = 16 * 2**20
SHORT = ["run.days=0.5", "run.warmup_days=0", "run.progress=false"]
SCENARIOS = {"baseline": "scenario=baseline_2021", "erlang_a": "scenario=validation/erlang_a"}
#: values for a number, as typed on a command line
SPECIAL_NUMBERS = ["-1", "0", "nan", "inf", "-inf", "1e308", "-1e308", "1e-300", "-1e-9", "0.5", "1000000",
                   str(2**62), str(2**63), str(10**30), "abc", "''", "null", "[]", "true"]
SPECIAL_TEXTS = ["Xyz", "''", "1", "-1", "nan", "null", "[]", "Mon", "true"]
SPECIAL_LISTS = ["[]", "[nan]", "[-1]", "[abc]", "[1e308]", "[0]", "null", "5", "[[1]]"]
PROFILE = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def schema_keys(obj, schema, key: str = "") -> list[tuple[str, str]]:
    """(override key, kind) for every leaf of the Config object ``obj``: kind is num, text or list.

    Lists get their own key (for whole-list values) and their first element's.
    """
    found = []
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        full = f"{key}.{f.name}" if key else f.name
        field_type, value = hints[f.name], getattr(obj, f.name)
        if typing.get_origin(field_type) is typing.Union:  # Optional[X]
            field_type = next(a for a in typing.get_args(field_type) if a is not type(None))
        if dataclasses.is_dataclass(field_type):
            found += schema_keys(value, field_type, full)
        elif typing.get_origin(field_type) is list:
            item = typing.get_args(field_type)[0]
            found.append((full, "list"))
            if value and dataclasses.is_dataclass(item):
                found += schema_keys(value[0], item, f"{full}.0")
            elif value:
                found.append((f"{full}.0", "num" if item in (int, float) else "text"))
        elif field_type in (int, float):
            found.append((full, "num"))
        elif field_type in (str, bool):
            found.append((full, "text"))
    return found


def config_keys(cfg) -> set[str]:
    """Every key of a composed config, leaves and nodes, as error messages write them (``a.b[0].c``)."""
    keys = set()

    def walk(node, path):
        keys.add(path)
        if OmegaConf.is_dict(node) and not node._is_none():
            for k in node.keys():
                walk(node._get_node(k), f"{path}.{k}" if path else str(k))
        elif OmegaConf.is_list(node) and not node._is_none():
            for i in range(len(node)):
                walk(node._get_node(i), f"{path}[{i}]")

    walk(cfg, "")
    return keys


@pytest.fixture(scope="module")
def composed():
    """The short baseline and Erlang A runs, composed once, and the cases to try on them."""
    from hydra import compose, initialize_config_dir

    config_pkg.setup()
    with initialize_config_dir(config_dir=str(config_pkg.CONFIG_DIR), version_base="1.3"):
        cfgs = {name: compose(config_name=config_pkg.PRIMARY_CONFIG, overrides=[scenario, *SHORT])
                for name, scenario in SCENARIOS.items()}
    cases = [("baseline", key, kind) for key, kind in schema_keys(config_pkg.to_config(cfgs["baseline"]), Config)]
    cases += [("erlang_a", f"validation.{key}", "num") for key in cfgs["erlang_a"].validation]
    known = set().union(*(config_keys(cfg) for cfg in cfgs.values()))
    return Composed(cfgs, cases, known)


class Composed(typing.NamedTuple):
    """The composed configs, the (scenario, key, kind) cases and every key (a short repr for reports)."""

    cfgs: dict
    cases: list
    known: set

    def __repr__(self) -> str:
        return f"Composed({len(self.cases)} cases)"


@pytest.fixture
def memory_limit(monkeypatch):
    for module in (plan, runner):
        monkeypatch.setattr(module, "available_memory", lambda: MEMORY_LIMIT)


def values_for(kind: str):
    """Generated values for a key of this kind, as command-line text."""
    if kind == "num":
        return st.one_of(st.sampled_from(SPECIAL_NUMBERS), st.integers().map(str),
                         st.floats(allow_nan=True, allow_infinity=True).map(repr))
    if kind == "list":
        return st.sampled_from(SPECIAL_LISTS)
    return st.one_of(st.sampled_from(SPECIAL_TEXTS), st.text("abcMTuesun_-. ", min_size=1, max_size=6).map(repr))


def one_run(cfg, override: str, out) -> tuple[str, str | None]:
    """What ``python -m demandsim ... override`` does for a single run, from a composed config:
    ("done", None) or ("error", the one line the command line prints), raising if it is a bug."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    cfg = copy.deepcopy(cfg)
    try:
        parsed = OverridesParser.create().parse_override(override)
        with read_write(cfg):
            OmegaConf.update(cfg, parsed.key_or_group, parsed.value(), merge=True)  # as Hydra applies it
        config = config_pkg.to_config(cfg)
        runner.check_replications(config)
        write_run(runner.simulate(config, progress=False), out)
        return "done", None
    except Exception as exc:  # noqa: BLE001 - sorted below: bad input or a bug
        remove_if_empty(out)
        message = cli.describe_error(exc, [override])
        if message is None:
            raise
        return "error", message


def check_outcome(status: str, message: str | None, out, known: set[str], key: str) -> None:
    """A finished run has its results; a failed one left no folder and said one line starting with a
    key of the config (or below the key set, e.g. an element of a list the value made)."""
    if status == "done":
        assert (out / "summary.json").is_file() and (out / "calls.parquet").is_file()
        return
    assert not out.exists(), "a failed run must leave no output folder"
    assert "\n" not in message and "Traceback" not in message, message
    named = re.match(r"[\w.\[\]*]+", message)
    typed = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", key)  # a.0.b as error messages write it: a[0].b
    # a rule over every element of a list names it a[*].b (the districts' shares must sum to 1)
    name = named.group(0).replace("[*]", "[0]") if named else ""
    assert named and (name in known or name.startswith(typed)), \
        f"does not start with a key: {message}"


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a numpy overflow warning would be a second line
@settings(PROFILE, max_examples=250)
@given(data=st.data())
def test_any_value_for_any_key_gives_a_run_or_one_line_naming_a_key(composed, memory_limit, tmp_path, data):
    cfgs, cases, known = composed
    scenario, key, kind = data.draw(st.sampled_from(cases), label="key")
    value = data.draw(values_for(kind), label="value")
    out = tmp_path / "run"
    status, message = one_run(cfgs[scenario], f"{key}={value}", out)
    check_outcome(status, message, out, known, key)
    if out.exists():
        import shutil

        shutil.rmtree(out)


@settings(PROFILE, max_examples=8)
@given(data=st.data())
def test_the_command_line_gives_a_run_or_one_line_naming_a_key(composed, memory_limit, tmp_path, capsys,
                                                             monkeypatch, data):
    """Through demandsim.cli.main itself: exit 0 with the results, or exit 2 and one line on stderr."""
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # main() sets them: put them back afterwards
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    _, cases, known = composed
    scenario, key, kind = data.draw(st.sampled_from(cases), label="key")
    value = data.draw(values_for(kind), label="value")
    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    capsys.readouterr()
    code = cli.main([SCENARIOS[scenario], *SHORT, f"{key}={value}", f"hydra.run.dir={out}"])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if code == 0:
        assert err == "", err
        check_outcome("done", None, out, known, key)
    else:
        assert err.startswith("demandsim: error: ") and err.count("\n") == 1, err
        check_outcome("error", err[len("demandsim: error: "):].strip(), out, known, key)


@pytest.mark.slow
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_every_key_with_every_special_value(composed, memory_limit, tmp_path):
    """Every key of the schema with every special value of its kind (the grid Hypothesis samples from)."""
    cfgs, cases, known = composed
    for scenario, key, kind in cases:
        values = {"num": SPECIAL_NUMBERS, "list": SPECIAL_LISTS}.get(kind, SPECIAL_TEXTS)
        for value in values:
            out = tmp_path / "run"
            status, message = one_run(cfgs[scenario], f"{key}={value}", out)
            check_outcome(status, message, out, known, key)
            if out.exists():
                import shutil

                shutil.rmtree(out)


# ----------------------------------------------------------------- the memory estimate
def _refusal(overrides: list[str], limit: int) -> str:
    from demandsim.config import load_config
    from demandsim.errors import ConfigError

    cfg = load_config(["scenario=baseline_2021", "run.days=2", "run.warmup_days=0", *overrides])
    model = plan.build_model(cfg)
    with pytest.raises(ConfigError) as err:
        plan.check_memory(cfg, model, limit=limit)
    return str(err.value)


def test_the_memory_estimate_names_what_to_change():
    """The estimate and the limit in one line, under the key that makes the run too big."""
    from demandsim.config import load_config

    cfg = load_config(["scenario=baseline_2021", "run.days=2", "run.warmup_days=0"])
    model = plan.build_model(cfg)
    calls = model.rate_999.sum() + model.rate_101.sum()
    need = len(model.rate_999) * plan.BYTES_PER_HOUR + calls * model.max_attempts * plan.BYTES_PER_ATTEMPT
    plan.check_memory(cfg, model, limit=int(2 * need))  # fits: nothing said
    message = _refusal([], limit=int(need / (2 * model.max_attempts)))  # not even one attempt per call fits
    assert message.startswith("arrivals.line_101.per_year=") and "MiB available" in message, message
    assert _refusal(["callers.redial.max_attempts=100000"], limit=int(2 * need)).startswith(
        "callers.redial.max_attempts=100000: ")
    # 200 times the calls: one attempt each (200 / max_attempts times the memory) does not fit in
    # 192 / max_attempts times it, a year's worth (365/400 of it) does
    assert _refusal(["run.days=400"], limit=int(need * 192 / model.max_attempts)).startswith("run.days=400.0: ")
    assert _refusal(["arrivals.line_101.growth=1000"], limit=int(need * 10)).startswith(
        "arrivals.line_101.growth=1000.0: ")
    message = _refusal(["staffing.units.shifts.0.staff=1000000000"], limit=int(2 * need))
    assert message.startswith("staffing.units='10000000") and "on duty" in message, message


_PEAK = """
import resource, sys
from demandsim import cli
code = cli.main(sys.argv[1:])
print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def _peak_bytes(*args: str, out) -> int:
    """Peak resident memory of ``python -m demandsim ARGS`` (results written), in bytes."""
    done = subprocess.run([sys.executable, "-c", _PEAK, *args, "run.progress=false", f"hydra.run.dir={out}"],
                          capture_output=True, text=True, timeout=600)
    code, peak = done.stdout.strip().splitlines()[-1].split()
    assert code == "0", done.stderr
    return int(peak)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["simpy", "fast"])
def test_a_run_needs_no_more_memory_than_estimated(engine, tmp_path):
    """BYTES_PER_ATTEMPT and BYTES_PER_HOUR bound what a run really takes: the growth of peak memory
    between a short and a long run, per expected call attempt (baseline) and per simulated hour
    (no calls at all), results written included."""
    from demandsim.config import load_config

    def attempts(overrides):
        model = plan.build_model(load_config(overrides))
        return (model.rate_999.sum() + model.rate_101.sum()) * model.max_attempts, len(model.rate_999)

    runs = {}
    for days in (28, 140):
        overrides = ["scenario=baseline_2021", f"run.days={days}", "run.warmup_days=0", f"run.engine={engine}"]
        runs[days] = (_peak_bytes(*overrides, out=tmp_path / f"b{days}"), *attempts(overrides))
    (small, rows_small, hours_small), (large, rows_large, hours_large) = runs[28], runs[140]
    assert large - small <= (rows_large - rows_small) * plan.BYTES_PER_ATTEMPT + (
        hours_large - hours_small) * plan.BYTES_PER_HOUR, (large - small) / (rows_large - rows_small)
    quiet = ["scenario=validation/erlang_a", "validation.arrivals_per_min=0", "run.warmup_days=0",
             f"run.engine={engine}"]
    short, long = (_peak_bytes(*quiet, f"run.days={days}", out=tmp_path / f"q{days}") for days in (1000, 20000))
    assert long - short <= (20000 - 1000) * 24 * plan.BYTES_PER_HOUR, (long - short) / ((20000 - 1000) * 24)


def test_the_python_api_names_the_typed_key_too():
    """load_config + simulate, as the README shows: the same line as the command line."""
    from demandsim.config import load_config
    from demandsim.errors import ConfigError

    cfg = load_config(["scenario=validation/erlang_a", "validation.servers=-2", "run.days=0.1", "run.warmup_days=0"])
    typed = "validation.servers=-2 (via staffing.call_handlers.shifts[0].staff=-2)"
    with pytest.raises(ConfigError, match=re.escape(typed)):
        runner.simulate(cfg, progress=False)
