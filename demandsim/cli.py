"""The command line: ``python -m demandsim [scenario=NAME] [key=value ...]``.

Hydra composes the config; this module turns every kind of bad input into one
line on stderr naming the key and the value (exit code 2), and makes sure a
failed run leaves no output folder behind.
"""

from __future__ import annotations

import os
import re
import sys
import time
import traceback
from pathlib import Path

from demandsim import config as config_pkg
from demandsim.errors import ConfigError, ScenarioRefused

EXIT_BAD_INPUT = 2
#: errors raised inside the Hydra task, reported by main() (Hydra would add its own
#: multi-line report to stderr if they escaped the task)
_job_failures: list[BaseException] = []


def run_job(cfg) -> None:
    """The Hydra task: one run of the composed config, results into the run folder."""
    from hydra.core.hydra_config import HydraConfig

    from demandsim.outputs import headline_table, remove_if_empty, write_run
    from demandsim.runner import simulate

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        config = config_pkg.to_config(cfg)
        started = time.perf_counter()
        result = simulate(config)
        write_run(result, out_dir)
    except Exception as exc:  # noqa: BLE001 - reported by main()
        remove_if_empty(out_dir)
        _job_failures.append(exc)
        return
    except BaseException:
        remove_if_empty(out_dir)
        raise
    took = time.perf_counter() - started
    print(f"demandsim: {config.scenario_name}, {config.run.days:g} days (warm-up {config.run.warmup_days:g}), "
          f"seed {config.run.seed}, {result.counts['calls_simulated']:,} calls in {took:.1f} s")
    print(headline_table(result))
    print(f"Results: {out_dir}")


def _hydra_main():
    import hydra

    return hydra.main(config_path=str(config_pkg.CONFIG_DIR), config_name=config_pkg.PRIMARY_CONFIG,
                      version_base="1.3")(run_job)()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    config_pkg.setup()
    overrides = [a for a in argv if not a.startswith("-")]
    refusals = config_pkg.scenario_refusals(overrides)
    if refusals:
        print(f"demandsim: refused: {refusals[0]}", file=sys.stderr)
        return EXIT_BAD_INPUT
    # Let errors reach us instead of Hydra's multi-line report, so we can say them in one line.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    sys.argv = [sys.argv[0]] + argv
    _job_failures.clear()
    try:
        _hydra_main()
        if _job_failures:
            raise _job_failures[0]
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except KeyboardInterrupt:
        print("demandsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every error is reported, bad input in one line
        message = describe_error(exc, overrides)
        if message is None:
            traceback.print_exc()
            print("demandsim: internal error (the traceback above is a bug: please report it)", file=sys.stderr)
            return 1
        print(f"demandsim: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _override_value(key: str, overrides: list[str]) -> str | None:
    for arg in overrides:
        k, sep, value = arg.partition("=")
        if sep and k.lstrip("+~") == key:
            return value
    return None


def describe_error(exc: BaseException, overrides: list[str]) -> str | None:
    """One line for a bad-input error, or None if ``exc`` is not about input."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    for err in _chain(exc):
        if isinstance(err, (ConfigError, ScenarioRefused)):
            return str(err)
    for err in _chain(exc):
        if isinstance(err, MissingConfigException):
            return _missing_config(str(err), overrides)
        if isinstance(err, OverrideParseException):
            return f"cannot read the command line: {str(err).splitlines()[0]}"
    for err in _chain(exc):
        if isinstance(err, OmegaConfBaseException) and getattr(err, "full_key", None):
            key = err.full_key
            value = _override_value(key, overrides)
            first = str(getattr(err, "msg", err)).splitlines()[0]
            if "not in struct" in first or re.search(r"Key '[^']+' not in '", first):
                where = f"{key}={value}" if value is not None else f"{key} (in a config or scenario file)"
                return f"{where}: unknown key; check its spelling (python -m demandsim --cfg job lists every key)"
            if value is not None:
                return f"{key}={value}: {first}"
            return f"{key}: {first}"
    for err in _chain(exc):
        if isinstance(err, OmegaConfBaseException) or type(err).__module__.startswith("hydra"):
            lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
            return " ".join(lines[:2]) if lines else type(err).__name__
    return None


def _missing_config(text: str, overrides: list[str]) -> str:
    found = re.search(r"Could not find '([^']+)'", text) or re.search(r"Could not load '([^']+)'", text)
    target = found.group(1) if found else text.splitlines()[0]
    group, _, name = target.rpartition("/")
    group = group or target
    if group.split("/")[0] == "scenario":
        group, name = "scenario", target[len("scenario/"):]
        options = ", ".join(config_pkg.list_scenarios())
    else:
        options = ", ".join(re.findall(r"^\t(\S+)$", text, flags=re.M))
    return f"{group}={name}: unknown {group}; available: {options}"
