"""Writing a run's results: summary.json, Parquet tables and the resolved config.

Every file is written under a temporary name and renamed into place, so a
crash never leaves a half-written file that looks complete; if a run fails
before writing, its (empty) output folder is removed.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomic(d / "x.txt", lambda p: p.write_text("hi"))
    >>> sorted(f.name for f in d.iterdir())
    ['x.txt']
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import pandas as pd
import yaml

from demandsim import __version__
from demandsim.config.schema import Config
from demandsim.identity import code_fingerprint, data_files, run_id
from demandsim.kpis import STABLE_MIN_DAYS
from demandsim.runner import RunResult, effective_seed

RESULT_FILES = ("summary.json", "calls.parquet", "incidents.parquet", "intervals.parquet", "config.yaml")


def write_atomic(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file to ``path``."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_files(out: Path, files: dict[str, str]) -> None:
    """Texts ``{file name: text}`` into folder ``out`` (made if missing), each atomically: a command that
    makes several files (calibrate, optimise) builds them all in memory first, then writes them here."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        write_atomic(out / name, lambda tmp, text=text: Path(tmp).write_text(text))


def config_text(cfg: Config) -> str:
    """``cfg`` as YAML: the text of config.yaml, and what config hashes hash.

    The same text as ``OmegaConf.to_yaml(OmegaConf.structured(cfg))`` (a test checks it
    for every shipped scenario), made by dumping the plain dataclasses: about 50 times
    faster.
    """
    return yaml.dump(dataclasses.asdict(cfg), Dumper=_YAML_DUMPER, default_flow_style=False, allow_unicode=True,
                     sort_keys=False)


# libyaml's C safe loader and dumper when PyYAML was built with it (same results, ~5x faster:
# a sweep's report reads every run's config.yaml)
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path):
    """A YAML file written by demandsim (e.g. a run's config.yaml), as plain Python values."""
    return yaml.load(Path(path).read_text(), Loader=_YAML_LOADER)


def config_yaml(result: RunResult) -> str:
    return config_text(result.config)


def config_hash(result: RunResult, text: str | None = None) -> str:
    """Short hash of the resolved config: two runs with the same hash ran the same model.

    ``text``: the run's config.yaml text when already made (dumping it costs ~10 ms).
    """
    return hashlib.sha256((config_yaml(result) if text is None else text).encode()).hexdigest()[:12]


def summary(result: RunResult, config_yaml_text: str | None = None) -> dict:
    """What summary.json holds: the KPIs and the run's metadata."""
    import numpy
    import pyarrow
    import simpy

    cfg = result.config
    # with areas (more than one), the attendance KPIs of each: shared/KPIS.md's by_area
    by_area = {} if result.by_area is None else {"by_area": result.by_area}
    # with window.hours or window.days set, every KPI over that window too (demandsim.window)
    window = {} if result.window is None else {"window": result.window}
    return {
        "kpis": result.kpis,
        **window,
        **by_area,
        "warnings": capacity_warnings(result.kpis),
        "scenario": cfg.scenario_name,
        "description": cfg.description,
        "seed": effective_seed(cfg),
        "replication": cfg.run.replication,
        "run_id": run_id(cfg),
        "engine": cfg.run.engine,
        "days": cfg.run.days,
        "warmup_days": cfg.run.warmup_days,
        "start_date": cfg.run.start_date,
        "config_hash": config_hash(result, config_yaml_text),
        # with the config, what run_id identifies: the code that made the results and the data files read
        "code_fingerprint": code_fingerprint(),
        "data_files": data_files(cfg),
        "counts": result.counts,
        "versions": {"demandsim": __version__, "python": platform.python_version(), "simpy": simpy.__version__,
                     "numpy": numpy.__version__, "pandas": pd.__version__, "pyarrow": pyarrow.__version__},
    }


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Write a table atomically as Parquet (no pandas index).

    Dictionary encoding only for categorical columns: tried on every float column of
    a year's call table it doubles the writing time for no smaller file.
    """
    categorical = [str(c) for c, t in frame.dtypes.items() if isinstance(t, pd.CategoricalDtype)]
    write_atomic(path, lambda p: frame.to_parquet(p, index=False, engine="pyarrow", use_dictionary=categorical))


def write_run(result: RunResult, out_dir: Path, extra: dict | None = None) -> None:
    """Write every result file of one run into ``out_dir``.

    ``extra`` adds entries to summary.json (e.g. a sweep point's overrides).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {"calls.parquet": result.records.calls, "incidents.parquet": result.records.incidents,
              "intervals.parquet": result.records.intervals}
    for name, frame in tables.items():
        write_parquet(out_dir / name, frame)
    config = config_yaml(result)
    write_atomic(out_dir / "config.yaml", lambda p: p.write_text(config))
    text = json.dumps({**summary(result, config), **(extra or {})}, indent=2, allow_nan=False) + "\n"
    write_atomic(out_dir / "summary.json", lambda p: p.write_text(text))


def write_run_folder(result: RunResult, final_dir: Path, extra: dict | None = None) -> None:
    """Write one run into a temporary sibling folder, then rename it to ``final_dir``.

    The folder appears only when every file is in it. If ``final_dir`` already
    exists (a run finished by someone else meanwhile) it is kept, not replaced.
    """
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = final_dir.with_name(f".{final_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        write_run(result, tmp, extra)
        try:
            os.rename(tmp, final_dir)
        except OSError:
            if not is_complete_run(final_dir):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def is_complete_run(folder: Path) -> bool:
    """True if ``folder`` holds every result file (summary.json is written last)."""
    return all((folder / name).is_file() for name in RESULT_FILES)


def remove_if_empty(out_dir: Path) -> None:
    """Remove a run folder that a failed run left empty (Hydra creates it up front)."""
    try:
        if out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()
    except OSError:
        pass


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:5.1f}%"


def headline_table(result: RunResult) -> str:
    """A short plain-text table of the headline KPIs against their standards."""
    k = result.kpis
    rows = [
        ("999 calls offered", f"{k['calls_999_offered']:,}", ""),
        ("999 answered within 10 s", _pct(k["sl_999_10s"]), "standard 90%"),
        ("999 abandoned", _pct(k["abandon_rate_999"]), "of 999 calls offered"),
        ("101 calls offered", f"{k['calls_101_offered']:,}", ""),
        ("101 abandoned (any stage)", _pct(k["abandon_rate_101"]), "of 101 calls offered; standard 5%"),
        ("  abandoned on the secondary line", _pct(k["abandon_rate_101_secondary"]),
         "of the 101 calls forwarded to it (not of all 101 calls)"),
        ("999 redials from 101", f"{k['redials_999_from_101']:,}", ""),
        ("999 call-backs made", f"{k['callbacks_999']:,}", "to callers who hung up on 999"),
        ("999 hang-ups never reached", _pct(k["abandoned_999_never_reached"]),
         "of the 999 callers who hung up: no redial or call-back reached them"),
        ("attended within target: immediate", _pct(k["attend_within_target_immediate"]),
         "of immediate incidents; target 15 min"),
        ("attended within target: priority", _pct(k["attend_within_target_priority"]),
         "of priority incidents; target 60 min"),
        ("attended within target: prompt", _pct(k["attend_within_target_prompt"]), "of prompt incidents; target 4 h"),
        ("attended within target: all", _pct(k["attend_within_target_all"]), "of all incidents with a target"),
        ("units diverted to immediate incidents", f"{k['diversions']:,}", _diverted_from(result)),
        ("THRIVE reviews of incidents past target", f"{k['thrive_reviews']:,}",
         "review on" if result.config.review.enabled else "review off"),
        ("  victim updates made", f"{k['victim_updates_made']:,}", ""),
        ("  resolved by phone (not attended)", f"{k['resolved_by_phone_after_review']:,}", ""),
        ("  appointments booked / kept", f"{k['appointments_booked']:,}", _kept(k["appointments_kept_rate"])),
        ("utilisation: call handlers", _pct(k["utilisation_call_handlers"]), "busy share of rostered time"),
        ("utilisation: units", _pct(k["utilisation_units"]), "busy share of available time (after breaks, abstraction)"),
        ("incidents waiting for a unit at the end", f"{k['backlog_end']:,}", ""),
        ("  backlog growth a day", _growth(k["backlog_growth_per_day"]), _verdict(k["stable"])),
    ]
    at = [r[0] for r in rows].index("attended within target: all") + 1
    for area, kpis in reversed((result.by_area or {}).items()):  # with areas: each one's attendance
        neighbour = kpis["attended_by_neighbour"]
        rows.insert(at, (f"  in {area}", _pct(kpis["attend_within_target_all"]),
                         f"of {area}'s incidents with a target" + (
                             "" if neighbour is None else f"; {_pct(neighbour).strip()} of those attended "
                                                          "had a neighbouring area's unit")))
    width = max(len(r[0]) for r in rows)
    lines = [f"  {name:<{width}}  {value:>8}  {note}".rstrip() for name, value, note in rows]
    return "\n".join(lines + [f"WARNING: {w}" for w in capacity_warnings(k)])


def _diverted_from(result: RunResult) -> str:
    """What dispatch.divert_from allows, in words."""
    return {"none": "diversion off", "travelling": "from units travelling to priority or prompt",
            "on_scene": "from units travelling to or on scene at priority or prompt"}.get(
                result.config.dispatch.divert_from, "")


def _kept(rate) -> str:
    return "" if rate is None else (f"{_pct(rate).strip()} kept: of the booked whose slot ended or who were "
                                    "attended, a unit on scene within the slot")


def _growth(per_day) -> str:
    return "n/a" if per_day is None else f"{per_day:+,.1f}"


def _verdict(stable) -> str:
    if stable is None:
        return f"too short to judge (fewer than {STABLE_MIN_DAYS} measured days)"
    return "no material growth" if stable else "growing without settling"


def capacity_warnings(kpis: dict) -> list[str]:
    """Plain-words warnings about the run's KPIs (summary.json's ``warnings``; empty when none).

    One so far: the units cannot keep up (``stable`` false), with the figures, so that a
    diverging queue is never presented as a steady state. Older summaries without the
    backlog KPIs give none.

    >>> [warning] = capacity_warnings({"stable": False, "backlog_growth_per_day": 27.16, "backlog_end": 3305})
    >>> print(warning.replace("; ", ";\\n"))
    units cannot keep up: the backlog of incidents waiting for a unit grew by 27.2 a day (3,305 waiting at the end);
    attendance figures describe a queue still growing, not a steady state
    >>> capacity_warnings({"stable": True, "backlog_growth_per_day": 0.1, "backlog_end": 12})
    []
    """
    if kpis.get("stable") is not False:
        return []
    return [f"units cannot keep up: the backlog of incidents waiting for a unit grew by "
            f"{kpis['backlog_growth_per_day']:,.1f} a day ({kpis['backlog_end']:,} waiting at the end); "
            "attendance figures describe a queue still growing, not a steady state"]
