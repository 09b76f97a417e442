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
from demandsim.errors import where as as_typed

EXIT_BAD_INPUT = 2
#: errors raised inside a single run's Hydra task, reported by main() (Hydra would add its
#: own multi-line report to stderr if they escaped the task). A sweep's runs may run in other
#: processes: they return their outcome to the sweeper instead (demandsim.sweep.FAILURES).
_job_failures: list[BaseException] = []


def run_job(cfg):
    """The Hydra task: one run of the composed config, results into the run folder.

    In a multirun (``-m``) it runs one replication of one point, in whatever
    process the launcher chose, and returns an outcome dict instead of raising
    (see :func:`sweep_job`); in a single run with ``run.replications`` > 1 it runs
    the replications one after another (see :func:`replicated_run`).
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from demandsim.outputs import headline_table, remove_if_empty, write_run
    from demandsim.runner import check_replications, effective_seed, simulate

    config_pkg.setup()  # resolvers, in a launcher's worker process too
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        return sweep_job(cfg, hydra_cfg)
    out_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        config = config_pkg.to_config(cfg)
        check_replications(config)
        if config.run.replications > 1:
            replicated_run(config, out_dir)
            return None
        started = time.perf_counter()
        result = simulate(config)
        # the overrides, as a sweep's runs carry theirs: the report's title names those that changed the model
        write_run(result, out_dir, {"overrides": config_pkg.as_typed([str(o) for o in hydra_cfg.overrides.task])})
    except Exception as exc:  # noqa: BLE001 - reported by main()
        remove_if_empty(out_dir)
        _job_failures.append(exc)
        return None
    except BaseException:
        remove_if_empty(out_dir)
        raise
    took = time.perf_counter() - started
    print(f"demandsim: {config.scenario_name}, {config.run.days:g} days (warm-up {config.run.warmup_days:g}), "
          f"seed {effective_seed(config)}, {result.counts['calls_simulated']:,} calls in {took:.1f} s")
    print(headline_table(result))
    print(f"Results: {out_dir}")
    return None


def sweep_job(cfg, hydra_cfg) -> dict:
    """One launcher job of a sweep, in a worker: the job's runs, never raises for an ordinary error.

    ``cfg`` is composed for the job's first run, and its run id must be one the sweep
    planned. The job's other runs, listed in sweep.json (:func:`demandsim.sweep.runs_of_job`),
    are one replication of points differing in staffing, which share its random draws, or
    replications of its point; they take the configs the sweep planned for them
    (:func:`demandsim.sweep.job_configs`). The outcome of each run goes back to the sweeper in the main process (across joblib or Ray
    workers), which reports failures in one line; a run's folder ``runs/<run_id>``
    appears only when complete, and a run already there is skipped.
    """
    import shutil

    from demandsim import sweep
    from demandsim.identity import run_id

    overrides = list(hydra_cfg.overrides.task)
    sweep_dir = Path(str(hydra_cfg.sweep.dir))
    scratch = Path(hydra_cfg.runtime.output_dir)
    try:
        config = config_pkg.to_config(cfg)
        manifest = sweep.read_manifest(sweep_dir)
        todo = sweep.runs_of_job(sweep_dir, run_id(config), manifest)
        if not todo:  # this config is not the one planned
            return {"status": "failed", "bad_input": True, "message": sweep.CONFIG_CHANGED}
        # a job of one run has no planned configs: its run is the one composed here
        planned_configs = sweep.job_configs(sweep_dir, todo[0].batch)
        swept = list(manifest["swept_keys"])
        outcomes = [_sweep_run(planned_configs.get(planned.run_id, config), planned, sweep_dir, scratch, swept)
                    for planned in todo]
        return {"status": "done", "runs": outcomes}
    except Exception as exc:  # noqa: BLE001 - returned to the sweeper, reported by main()
        return _failure(exc, overrides)
    finally:
        if scratch.parent.name == sweep.SCRATCH_DIR:
            shutil.rmtree(scratch, ignore_errors=True)


def _sweep_run(config, planned, sweep_dir: Path, scratch: Path, swept: list[str]) -> dict:
    """One run of a sweep job: simulated and written, or skipped if already done; its outcome.

    When a swept key is one shift's staff, the run's summary.json also holds the KPIs over that
    shift's hours (:mod:`demandsim.sweep.shifts`), for the report."""
    from demandsim import sweep
    from demandsim.identity import run_id
    from demandsim.outputs import is_complete_run, write_run_folder
    from demandsim.runner import simulate
    from demandsim.sweep.shifts import swept_shift_block

    rid = run_id(config)
    overrides = list(planned.overrides)
    if rid != planned.run_id:
        return {"status": "failed", "run_id": planned.run_id, "bad_input": True, "message": sweep.CONFIG_CHANGED}
    final = sweep_dir / sweep.RUNS_DIR / rid
    if is_complete_run(final):
        return {"status": "skipped", "run_id": rid}
    progress = sweep.progress_writer(scratch)
    try:
        # a worker runs one seed at several points in a row (sweep.batches): one table of draws for them
        result = simulate(config, progress=False, on_progress=progress, reuse_draws=True)
        write_run_folder(result, final, extra={"overrides": overrides, **swept_shift_block(result, swept)})
    except Exception as exc:  # noqa: BLE001 - returned to the sweeper, reported by main()
        return {**_failure(exc, overrides), "run_id": rid}
    finally:
        progress(0.0)  # this run's days are now counted from its folder
    return {"status": "done", "run_id": rid}


def _failure(exc: BaseException, overrides: list[str]) -> dict:
    message = describe_error(exc, overrides)
    if message is None:
        return {"status": "failed", "bad_input": False, "message": f"{type(exc).__name__}: {exc}",
                "details": traceback.format_exc()}
    return {"status": "failed", "bad_input": True, "message": message}


def replicated_run(config, out_dir: Path) -> None:
    """A single run with ``run.replications`` = N > 1: a one-point sweep in ``out_dir``.

    Replications 0..N-1 run one after another (seeds run.seed + r) into
    ``out_dir/runs/<run_id>/``, with sweep.json, sweep.parquet and
    sweep_summary.parquet beside them, exactly as a sweep's folder.
    """
    import dataclasses

    from demandsim import sweep
    from demandsim.errors import ConfigError
    from demandsim.identity import run_id
    from demandsim.outputs import is_complete_run, remove_if_empty, write_run_folder
    from demandsim.runner import effective_seed, simulate

    n = config.run.replications
    if config.run.replication != 0:
        raise ConfigError("run.replication", config.run.replication,
                          f"choose one replication, or run.replications={n}, not both")
    configs = [dataclasses.replace(config, run=dataclasses.replace(config.run, replication=r)) for r in range(n)]
    planned = [sweep.PlannedRun(r, [f"{sweep.REPLICATION_KEY}={r}"], 0, {}, r, run_id(c), effective_seed(c),
                                float(c.run.days)) for r, c in enumerate(configs)]
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep.clean_leftovers(out_dir)
    manifest = out_dir / sweep.MANIFEST
    had_manifest = manifest.exists()
    sweep.write_manifest(out_dir, [f"run.replications={n}"], [], n, planned, config.scenario_name)
    started = time.perf_counter()
    bar = None
    if config.run.progress:
        from tqdm import tqdm

        bar = tqdm(total=n, unit="run", desc="replications", disable=None, leave=False)
    try:
        for run, cfg in zip(planned, configs):
            if not is_complete_run(out_dir / run.folder):
                write_run_folder(simulate(cfg), out_dir / run.folder, extra={"overrides": run.overrides})
            if bar:
                bar.update(1)
    except BaseException:
        runs = out_dir / sweep.RUNS_DIR
        if not had_manifest and not (runs.is_dir() and any(runs.iterdir())):
            manifest.unlink(missing_ok=True)  # nothing ran: leave no folder behind (bad input)
            remove_if_empty(runs)
        raise
    finally:
        if bar:
            bar.close()
    agg = sweep.write_tables(out_dir)
    print(f"demandsim: {config.scenario_name}, {config.run.days:g} days (warm-up {config.run.warmup_days:g}), "
          f"{n} replications (seeds {config.run.seed}..{config.run.seed + n - 1})")
    print(sweep.sweep_digest(agg, time.perf_counter() - started, out_dir))


def _hydra_main():
    import hydra

    return hydra.main(config_path=str(config_pkg.CONFIG_DIR), config_name=config_pkg.PRIMARY_CONFIG,
                      version_base="1.3")(run_job)()


def is_plain_run(argv: list[str]) -> bool:
    """True for a single run given only ``key=value`` overrides (no ``-m``, ``--cfg``, ...), the
    command users repeat most; :func:`plain_run` runs it without :func:`_hydra_main`'s second composition."""
    return all(not a.startswith("-") for a in argv) and config_pkg.override_value("hydra.mode", argv) is None


def plain_run(overrides: list[str]) -> None:
    """One run, composed once with Hydra's public compose API, then :func:`run_job` as ``hydra.main`` would call it.

    ``hydra.main`` composes the whole config twice for a run (once only to read ``hydra.mode``),
    and a composition costs about as much as simulating a day. Here the run folder, the
    ``${now:...}`` in it and the overrides come out as with ``hydra.main``
    (tests/test_cli.py runs both ways and compares the files).
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import open_dict, read_write

    with initialize_config_dir(config_dir=str(config_pkg.CONFIG_DIR), version_base="1.3", job_name="demandsim"):
        cfg = compose(config_name=config_pkg.PRIMARY_CONFIG, overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)  # ${hydra:...} interpolations resolve against it
    with read_write(cfg.hydra), open_dict(cfg.hydra):
        cfg.hydra.mode = RunMode.RUN
        cfg.hydra.runtime.output_dir = os.path.abspath(str(cfg.hydra.run.dir))
    HydraConfig.instance().set_config(cfg)
    Path(cfg.hydra.runtime.output_dir).mkdir(parents=True, exist_ok=True)
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]
    run_job(cfg)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    from demandsim.help import help_text, wants_help

    if wants_help(argv):
        print(help_text())
        return 0
    config_pkg.setup()
    overrides = [a for a in argv if not a.startswith("-")]
    refusals = config_pkg.scenario_refusals(overrides)
    if refusals:
        print(f"demandsim: refused: {refusals[0]}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        argv = config_pkg.scenario_file_overrides(argv)
    except Exception as exc:  # noqa: BLE001 - a scenario file that is not there: one line
        print(f"demandsim: error: {describe_error(exc, overrides) or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    overrides = [a for a in argv if not a.startswith("-")]
    # Let errors reach us instead of Hydra's multi-line report, so we can say them in one line.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    sys.argv = [sys.argv[0]] + argv
    _job_failures.clear()
    from demandsim import sweep

    sweep.FAILURES.clear()
    try:
        if is_plain_run(argv):
            plain_run(overrides)
        else:
            _hydra_main()
        if _job_failures:
            raise _job_failures[0]
        if sweep.FAILURES:
            return report_sweep_failures(sweep.FAILURES)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except KeyboardInterrupt:
        again = " (finished runs are kept: the same command completes the sweep)" if (
            "-m" in argv or "--multirun" in argv) else ""
        print(f"demandsim: interrupted{again}", file=sys.stderr)
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


def report_sweep_failures(failures: list[dict]) -> int:
    """One line on stderr for failed runs of a sweep (a traceback first if one is a bug)."""
    from demandsim.sweep.plan import point_label

    first = failures[0]
    run = first["run"]
    where = point_label(run.values) or "run"
    more = f" ({len(failures)} runs failed)" if len(failures) > 1 else ""
    if not first["bad_input"]:
        if first.get("details"):
            print(first["details"].rstrip(), file=sys.stderr)
        print(f"demandsim: internal error in {where}, replication {run.replication}: {first['message']}{more} "
              "(the traceback above is a bug: please report it)", file=sys.stderr)
        return 1
    print(f"demandsim: error: {where}, replication {run.replication}: {first['message']}{more}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


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
            value = config_pkg.override_value(key, overrides)
            if value is None:  # OmegaConf writes list indices as a[0], a command line as a.0
                value = config_pkg.override_value(re.sub(r"\[(\d+)\]", r".\1", key), overrides)
            first = str(getattr(err, "msg", err)).splitlines()[0]
            typed = command_line_override(key, overrides)
            if "not in struct" in first or re.search(r"Key '[^']+' not in '", first):
                if typed is None:
                    where = f"{key} (in a config or scenario file)"
                elif config_pkg.override_key(typed) in (key, re.sub(r"\[(\d+)\]", r".\1", key)):
                    where = f"{typed} (on the command line)"
                else:  # the key typed is inside the unknown one: name both
                    where = f"{typed} (on the command line): {key} is an unknown key"
                    return f"{where}; check its spelling (python -m demandsim --cfg job lists every key)"
                return f"{where}: unknown key; check its spelling (python -m demandsim --cfg job lists every key)"
            missing_item = re.fullmatch(r"(.+)\[(\d+)\]", key)
            if missing_item and "is not a subclass of" in first and typed is not None:
                return _no_such_item(typed, *missing_item.groups())
            if value is not None:
                return f"{key}={value}: {first}"
            return f"{as_typed(key)}: {first}"  # a derived key: the key the user typed first
    for err in _chain(exc):  # hydra/launcher=ray could not start or join Ray: not a bug of ours
        if type(err).__module__.startswith("ray") or "Ray cluster" in str(err):
            lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
            return f"hydra/launcher=ray: {lines[0] if lines else type(err).__name__}"
    for err in _chain(exc):
        if isinstance(err, OmegaConfBaseException) or type(err).__module__.startswith("hydra"):
            lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
            return " ".join(lines[:2]) if lines else type(err).__name__
    return None


def command_line_override(key: str, overrides: list[str]) -> str | None:
    """The command-line override (its text, the last one) that sets ``key`` or a key inside it, or None.

    ``key`` as OmegaConf names it (``a.b[0]``); a command line writes ``a.b.0``.

    >>> command_line_override("staffing.add", ["run.days=2", "staffing.add.units=3"])
    'staffing.add.units=3'
    >>> command_line_override("staffing.units.extra[0]", ["staffing.units.extra.0.staff=range(0,9)"])
    'staffing.units.extra.0.staff=range(0,9)'
    >>> command_line_override("run.days", ["run.dayz=2"]) is None
    True
    """
    found = None
    for form in {key, re.sub(r"\[(\d+)\]", r".\1", key)}:
        for text in overrides:
            typed = config_pkg.override_key(text)
            if "=" in text and (typed == form or typed.startswith(form + ".")):
                found = text
    return found


def _no_such_item(typed: str, list_key: str, index: str) -> str:
    """What to write when an override sets a field of list item ``index`` that ``list_key`` does not have.

    OmegaConf would make the missing item an empty mapping, which a list of shifts (or
    districts) refuses ("dict is not a subclass of Shift"): a shift has no sensible
    hours of its own, so the whole item must be given first.
    """
    if list_key.endswith((".shifts", ".extra")):
        example = f"{list_key}='[{{start_hour:16,hours:5,staff:0}}]'"
        then = f"{list_key}.{index}.<field>=..." if index != "0" else typed
        more = ""
        if list_key.startswith("staffing.") and list_key.endswith(".extra"):
            group = list_key[len("staffing."):-len(".extra")].replace(".roster", "")
            more = f"; to add staff round the clock, one key: staffing.add.{group}=N"
        return (f"{typed} (on the command line): {list_key} has no item {index} to change; give the whole shift "
                f"first, e.g. {example} {then}{more}")
    return (f"{typed} (on the command line): {list_key} has no item {index} to change; "
            f"give the whole list first ({list_key}=[...])")


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
