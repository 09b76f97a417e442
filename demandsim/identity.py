"""What identifies a run: its resolved config, the code that simulates it and the data it reads.

A sweep names each run's folder by :func:`run_id` and skips runs whose folder
exists, so the id must change whenever the results could: when the config
changes, when the code that turns a config into results changes (a new
version or an edited source file), and when a data file the config points to
(an empirical distribution's CSV) changes content. Re-running a sweep after
any of these re-does the runs it affects instead of keeping stale results.

Example:
    >>> from demandsim.config.schema import Config
    >>> run_id(Config()) == run_id(Config())
    True
    >>> len(code_fingerprint())
    16
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import time
from pathlib import Path

from demandsim import __version__
from demandsim.config.schema import Config, Dist, PathsConfig, ReportConfig, RunConfig, walk

PACKAGE_DIR = Path(__file__).resolve().parent
#: parts of the package that only arrange or draw runs and cannot change a run's files:
#: editing them keeps finished runs valid (everything else, the model, draws, engines,
#: KPIs, outputs and the config schema with its defaults, is in the fingerprint). export.py reads
#: finished runs into a force's export format: it writes no run file
NOT_RESULT_CODE = ("report", "sweep", "calibrate", "cli.py", "help.py", "__main__.py", "theory.py", "stats.py",
                   "export.py")


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the package version and the source of every module that decides a run's results.

    Files are hashed by their path inside the package and their content, so the same
    code installed in another folder (a Ray worker) has the same fingerprint.
    """
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR)
        if relative.parts[0] in NOT_RESULT_CODE:
            continue
        digest.update(str(relative.as_posix()).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def data_files(cfg: Config) -> dict[str, str]:
    """The data files ``cfg`` reads, ``{config key: content hash}`` (a missing file: ``"missing"``).

    Today these are the CSV files of empirical distributions (``<key>.csv``), found
    relative to ``paths.data_dir`` as the model finds them.
    """
    base = Path(cfg.paths.data_dir)
    found = {}
    for key, dist in walk(cfg):
        if isinstance(dist, Dist) and dist.kind == "empirical" and dist.csv:
            path = Path(dist.csv)
            found[f"{key}.csv"] = file_hash(path if path.is_absolute() else base / path)
    return found


def file_hash(path: Path) -> str:
    """Content hash of a file (16 hex digits), or ``"missing"``; cached by size and modification time,
    so planning a sweep of hundreds of runs reads each file once.

    A file modified in the last two seconds is always read: an edit within the file system's
    timestamp granularity can keep the size and the modification time (git calls such entries
    "racily clean"), and the cache would then return the old content's hash."""
    try:
        stat = os.stat(path)
    except OSError:
        return "missing"
    if time.time_ns() - stat.st_mtime_ns < RECENT_NS:
        return _content_hash.__wrapped__(str(path), stat.st_size, stat.st_mtime_ns)
    return _content_hash(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


RECENT_NS = 2_000_000_000


@functools.lru_cache(maxsize=256)
def _content_hash(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def run_id(cfg: Config) -> str:
    """What identifies one simulation: its resolved config with the seed it draws with, the code
    (:func:`code_fingerprint`) and the content of the data files it reads (:func:`data_files`).

    Settings that cannot change the results are left out (``run.replications``,
    ``run.progress``, ``run.engine``: the engines give identical records,
    ``paths.results_dir``, ``report``), and the seed is folded in as
    ``run.seed + run.replication``, so the same simulation has the same id however
    it was asked for. Sweeps name run folders by it and skip runs already done.
    """
    from demandsim.runner import effective_seed

    run = dataclasses.replace(cfg.run, seed=effective_seed(cfg), replication=0, replications=1, progress=True,
                              engine=RunConfig().engine)
    paths = dataclasses.replace(cfg.paths, results_dir=PathsConfig().results_dir)
    same = dataclasses.replace(cfg, run=run, paths=paths, report=ReportConfig())
    # JSON, not the YAML of config.yaml: the same content, and fast enough to identify the
    # hundreds of runs of a sweep while planning it
    identity = {"config": dataclasses.asdict(same), "code": code_fingerprint(), "data": data_files(cfg)}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
