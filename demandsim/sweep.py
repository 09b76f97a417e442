"""Sweeps with replications: the plan, the run folders, the skip logic and the tables.

``python -m demandsim -m KEY=a,b run.replications=N`` runs every combination of the
swept values ("points"), each N times with different seeds. Layout of the sweep
folder (``hydra.sweep.dir``)::

    sweep.json              the plan: command, swept keys, every run expected (written first)
    runs/<run_id>/          one finished run: summary.json, *.parquet, config.yaml
    sweep.parquet           one row per finished run: swept values, seed, replication, every KPI
    sweep_summary.parquet   one row per point and KPI: n, mean, sd, 95% confidence interval
    report.html             written by ``python -m demandsim.report DIR``

**Seeds.** Replication r of a point uses seed ``run.seed + r`` (see
:func:`demandsim.runner.effective_seed`), so replication 0 is the single run and the
same r uses the same seed at every point: common random numbers.

**Skip logic.** A run is identified by :func:`demandsim.outputs.run_id`, a hash of its
resolved config with the seed it draws with, and its folder is ``runs/<run_id>``.
A folder appears only when complete (written under a temporary name, then renamed),
so a run whose folder exists is done: re-running an interrupted sweep, or a sweep
with a wider range or more replications, runs only what is missing.

**Jobs.** A launcher job runs several replications of one point, one after another
(``hydra.sweeper.runs_per_job``, default: enough jobs to keep every worker busy, at
most :data:`MAX_RUNS_PER_JOB` runs each): composing a run's config in a worker costs
about as much as a quarter of a simulated year, so a job composes its point once and
changes only the replication (the seed). The job's runs are listed in ``sweep.json``
(``batch``); the worker reads them from there.

**Aggregation.** :func:`aggregate` rebuilds both tables from ``sweep.json`` and the
run folders alone (the report calls it too); runs of the plan that have no folder are
listed as missing, never dropped silently.

Example:
    >>> point_label({"staffing.units.shifts.0.staff": 24, "scenario": "demand_2024"})
    'staffing.units.shifts.0.staff=24, scenario=demand_2024'
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from demandsim.outputs import is_complete_run, write_atomic, write_parquet

MANIFEST = "sweep.json"
RUNS_DIR = "runs"
SWEEP_TABLE = "sweep.parquet"
SUMMARY_TABLE = "sweep_summary.parquet"
#: Hydra's own per-job folder (hydra.sweep.subdir): scratch space, removed when a job ends
SCRATCH_DIR = ".jobs"
#: where the planner leaves each job's run configs for its worker (under SCRATCH_DIR)
JOB_CONFIGS_DIR = "configs"
PROGRESS_FILE = "progress"
#: how often a worker writes its progress file, at most (seconds of wall time)
PROGRESS_EVERY_S = 0.5
REPLICATION_KEY = "run.replication"
#: columns of sweep.parquet before the swept keys and the KPIs
RUN_COLUMNS = ["point", "replication", "seed", "run_id", "config_hash", "run_dir"]
#: the engine a sweep uses unless run.engine is given: the compiled one, proven equal to
#: the reference engine (tests/test_engines_equal.py)
SWEEP_ENGINE = "fast"
#: most runs one launcher job does (hydra.sweeper.runs_per_job=null chooses up to this)
MAX_RUNS_PER_JOB = 10
#: with runs_per_job=null, aim for at least this many jobs per worker, so that workers
#: finish close together
JOBS_PER_WORKER = 8
#: why a run of a job failed when the job's config was not the one planned
CONFIG_CHANGED = ("its config changed while the sweep ran (were config or scenario files edited?); "
                  "run the sweep command again")
#: failures of the last sweep in this process (read by demandsim.cli.main)
FAILURES: list[dict] = []


@dataclass
class PlannedRun:
    """One run of a sweep: its overrides, point, replication and identity."""

    job: int
    overrides: list[str]
    point: int
    values: dict
    replication: int
    run_id: str
    seed: int
    days: float
    batch: int | None = None  # launcher job that runs it in the latest launch (None: done before)
    draws: str | None = None  # runs with the same draws group draw the same random numbers (draws_group)

    @property
    def folder(self) -> str:
        return f"{RUNS_DIR}/{self.run_id}"


def point_overrides(overrides: list[str]) -> tuple[str, ...]:
    """A run's overrides without ``run.replication``: what its point is composed from."""
    from demandsim.config import override_key

    return tuple(o for o in overrides if override_key(o) != REPLICATION_KEY)


def point_label(values: dict) -> str:
    """``key=value, key=value``: how a point is named in messages and the report."""
    return ", ".join(f"{k}={v}" for k, v in values.items())


# ----------------------------------------------------------------- planning
def swept_value(job_cfg, key: str, overrides: list[str]):
    """The value a swept key takes in one job: from the composed config, typed.

    A config group (``scenario=NAME``) is not a config value; its override text is used.
    Lists and mappings become their JSON text, so the value fits one table cell.
    """
    from omegaconf import DictConfig, ListConfig, OmegaConf

    from demandsim.config import override_value

    value = OmegaConf.select(job_cfg, key, default=None, throw_on_missing=False)
    if value is None:
        return override_value(key, overrides)
    if isinstance(value, (DictConfig, ListConfig)):
        return json.dumps(OmegaConf.to_container(value, resolve=True), sort_keys=True)
    return value


def expand_arguments(arguments: list[str], replications: int, config_loader):
    """Parse the sweep's overrides, adding ``run.replication=0..N-1`` as the innermost sweep.

    Returns (parsed overrides, swept keys other than the replication index, job override lists).
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create(config_loader=config_loader)
    overrides = parser.parse_overrides(list(arguments))
    keys = [o.get_key_element() for o in overrides]
    if replications > 1 and REPLICATION_KEY not in keys:
        overrides += parser.parse_overrides([f"{REPLICATION_KEY}=range(0,{replications})"])
    swept = [o.get_key_element() for o in overrides if o.is_sweep_override()]
    swept = [k.lstrip("+~") for k in swept if k.lstrip("+~") != REPLICATION_KEY]
    jobs = BasicSweeper.split_arguments(overrides, None)[0]
    return overrides, swept, jobs


class PointComposer:
    """Compose each point's config for planning: ``composer(overrides) -> DictConfig``.

    The first point is composed by Hydra (``compose``). A later point whose overrides
    differ from the first one's only in plain config values (single values: no config
    group such as ``scenario``, no mapping or list, no ``+``/``~``, no key nested in
    another override's key) is made by
    applying those values to a copy of the first point's config with Hydra's own
    override step, which is what composing would do after the same defaults: about
    ten times faster than composing, which matters on one core while the workers wait.
    Anything else is composed in full. A worker composes its job's first run in full and
    refuses to run the job if that run id differs from the planned one; the job's other
    runs take the configs planned here (:func:`write_job_configs`).
    """

    def __init__(self, compose, config_loader=None) -> None:
        self.compose, self.loader = compose, config_loader
        self.template: tuple[list, object] | None = None

    def __call__(self, overrides: list[str]):
        import copy

        if self.template is not None:
            quick = self._by_values(overrides)
            if quick is not None:
                return quick
        cfg = self.compose(list(overrides))
        if self.template is None:
            self.template = (self._parse(overrides), copy.deepcopy(cfg))
        return cfg

    def _parse(self, overrides: list[str]):
        from hydra.core.override_parser.overrides_parser import OverridesParser

        return OverridesParser.create(config_loader=self.loader).parse_overrides(list(overrides))

    def _by_values(self, overrides: list[str]):
        import copy

        from hydra._internal.config_loader_impl import ConfigLoaderImpl

        base, cfg = self.template
        try:
            parsed = self._parse(overrides)
            repository = getattr(self.loader, "repository", None)
            if repository is None or len(parsed) != len(base):
                return None
            keys = [o.key_or_group for o in parsed]
            changed = []
            for new, old in zip(parsed, base):
                if new.key_or_group != old.key_or_group:
                    return None
                if new.input_line == old.input_line:
                    continue
                # a mapping or list value is merged into what is there: onto the first point's
                # value, not the default one, so it is composed in full
                plain = not new.is_sweep_override() and new.package is None and not (
                    new.is_add() or new.is_force_add() or new.is_delete() or new.is_hydra_override()
                    or isinstance(new.value(), (dict, list)))
                if not plain or repository.group_exists(new.key_or_group.replace(".", "/")):
                    return None
                changed.append(new)
            for o in changed:
                if any(k != o.key_or_group and (k.startswith(o.key_or_group + ".")
                                                or o.key_or_group.startswith(k + ".")) for k in keys):
                    return None
            point = copy.deepcopy(cfg)
            ConfigLoaderImpl._apply_overrides_to_config(changed, point)
            return point
        except Exception:  # noqa: BLE001 - any doubt: compose in full (errors are reported from there)
            return None


def draws_group(cfg) -> str:
    """Runs of one draws group draw the same random numbers: the same config but for
    ``staffing`` (which no draw depends on: demandsim.model.plan.DRAW_INPUTS), with the
    same seed. A launcher job runs such runs one after another, drawing once
    (demandsim.model.plan.build_plan keeps the last plan's draws)."""
    import dataclasses

    from demandsim.config.schema import StaffingConfig
    from demandsim.outputs import run_id

    return run_id(dataclasses.replace(cfg, staffing=StaffingConfig()))


def plan_runs(jobs: list[list[str]], swept: list[str], compose, configs: dict | None = None) -> list[PlannedRun]:
    """Compose every point's config (``compose(overrides) -> DictConfig``) and identify its runs.

    A point is composed once; its replications differ only in ``run.replication``,
    set on the composed config (composing is the slow part of planning). Bad input
    in any job (unknown key, wrong type) raises here, before anything runs.
    ``configs``, if given, receives each run's config by run id.
    """
    import dataclasses

    from omegaconf import open_dict, read_write

    from demandsim import config as config_pkg
    from demandsim.outputs import run_id
    from demandsim.runner import check_replications, effective_seed

    planned, points, composed = [], {}, {}
    for job, overrides in enumerate(jobs):
        base = point_overrides(overrides)
        if base not in composed:
            job_cfg = compose(list(base))
            if "hydra" in job_cfg:  # the task sees the config without Hydra's node, as here
                with read_write(job_cfg), open_dict(job_cfg):
                    del job_cfg["hydra"]
            composed[base] = (config_pkg.to_config(job_cfg), {k: swept_value(job_cfg, k, list(base)) for k in swept})
        cfg, values = composed[base]
        for o in overrides:
            if config_pkg.override_key(o) == REPLICATION_KEY:
                replication = int(o.partition("=")[2])
                cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, replication=replication))
        check_replications(cfg)
        point = points.setdefault(json.dumps(values, sort_keys=True, default=str), len(points))
        planned.append(PlannedRun(job, list(overrides), point, values, cfg.run.replication, run_id(cfg),
                                  effective_seed(cfg), float(cfg.run.days), draws=draws_group(cfg)))
        if configs is not None:
            configs[planned[-1].run_id] = cfg
    return planned


def workers_of(launcher_cfg) -> int | None:
    """How many runs the launcher runs at once, as far as its config says (else this machine's
    cores); None for a Ray cluster, whose size is not known before the sweep joins it."""
    cores = os.cpu_count() or 1
    if launcher_cfg is None:
        return cores
    n_jobs = launcher_cfg.get("n_jobs")
    if isinstance(n_jobs, int) and n_jobs != 0:
        return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)  # joblib: -1 = every core
    ray = launcher_cfg.get("ray")
    if ray is not None:
        init = ray.get("init") or {}
        if init.get("address") or os.environ.get("RAY_ADDRESS"):
            return None
        return init.get("num_cpus") or cores
    return cores


def check_runs_per_job(setting) -> None:
    """Refuse a ``hydra.sweeper.runs_per_job`` that is not null or a whole number >= 1."""
    if setting is not None and (not isinstance(setting, int) or isinstance(setting, bool) or setting < 1):
        from demandsim.errors import ConfigError

        raise ConfigError("hydra.sweeper.runs_per_job", setting, "must be >= 1 (or null: chosen per sweep)")


def choose_runs_per_job(setting, todo: int, workers: int | None) -> int:
    """Runs per launcher job: ``setting`` if given, else enough jobs for every worker
    (one run per job when the number of workers is unknown: a Ray cluster).

    Example:
        >>> choose_runs_per_job(None, todo=200, workers=2), choose_runs_per_job(None, todo=6, workers=2)
        (10, 1)
    """
    if setting is not None:
        check_runs_per_job(setting)
        return setting
    if workers is None:
        return 1
    return max(1, min(MAX_RUNS_PER_JOB, todo // (JOBS_PER_WORKER * max(1, workers))))


def make_batches(todo: list[PlannedRun], runs_per_job: int) -> list[list[PlannedRun]]:
    """Split the runs to do into launcher jobs of ``runs_per_job`` runs at most.

    A job's runs share their draws group (:func:`draws_group`: one replication of points
    that differ only in staffing), so its worker draws the random numbers once; runs
    alone in their group (e.g. points differing in demand) are batched by point
    (replications of one point: the worker composes one config for them).
    Groups are taken in the order their first run was planned. Sets each run's
    ``batch``. Example:
        >>> runs = [PlannedRun(j, [f"x={j // 3}", f"run.replication={j % 3}"], j // 3, {}, j % 3, f"id{j}", j % 3,
        ...                    1.0, draws=f"seed{j % 3}") for j in range(6)]
        >>> [[r.run_id for r in b] for b in make_batches(runs, 2)]
        [['id0', 'id3'], ['id1', 'id4'], ['id2', 'id5']]
    """
    size: dict = {}
    for run in todo:
        size[run.draws] = size.get(run.draws, 0) + 1

    def group(run: PlannedRun):
        if run.draws and size[run.draws] > 1:
            return ("draws", run.draws)
        return ("point", run.point, point_overrides(run.overrides))

    order: dict = {}
    for run in todo:
        order.setdefault(group(run), len(order))
    batches: list[list[PlannedRun]] = []
    for run in sorted(todo, key=lambda r: order[group(r)]):  # stable: planned order within a group
        last = batches[-1] if batches else None
        if last is None or len(last) >= runs_per_job or group(last[0]) != group(run):
            batches.append([])
        run.batch = len(batches) - 1
        batches[-1].append(run)
    return batches


def write_job_configs(sweep_dir: Path, batches: list[list[PlannedRun]], configs: dict) -> None:
    """Each job's run configs, for its worker (``.jobs/configs/<batch>.pkl``): a job's first run is
    composed by Hydra in the worker; its other runs' configs are the ones planned here."""
    import pickle

    folder = sweep_dir / SCRATCH_DIR / JOB_CONFIGS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for n, batch in enumerate(batches):
        if len(batch) > 1:
            data = pickle.dumps({r.run_id: configs[r.run_id] for r in batch}, protocol=pickle.HIGHEST_PROTOCOL)
            write_atomic(folder / f"{n}.pkl", lambda p, data=data: p.write_bytes(data))


def job_configs(sweep_dir: Path, batch: int) -> dict:
    """The run configs :func:`write_job_configs` wrote for launcher job ``batch`` (run id -> Config)."""
    import pickle

    path = sweep_dir / SCRATCH_DIR / JOB_CONFIGS_DIR / f"{batch}.pkl"
    return pickle.loads(path.read_bytes()) if path.is_file() else {}


def runs_of_job(sweep_dir: Path, run_id: str) -> list[PlannedRun]:
    """The runs a launcher job does: those of the batch of ``run_id`` in ``sweep.json``."""
    runs = planned_runs(read_manifest(sweep_dir))
    batch = next((r.batch for r in runs if r.run_id == run_id and r.batch is not None), None)
    return [r for r in runs if r.batch is not None and r.batch == batch] if batch is not None else []


def write_manifest(sweep_dir: Path, arguments: list[str], swept: list[str], replications: int,
                   planned: list[PlannedRun], scenario: str) -> None:
    data = {
        "format": 1,
        "scenario": scenario,
        "overrides": list(arguments),
        "swept_keys": swept,
        "replications": replications,
        "runs": [dict(vars(p), folder=p.folder) for p in planned],
    }
    text = json.dumps(data, indent=1, default=str) + "\n"
    write_atomic(sweep_dir / MANIFEST, lambda p: p.write_text(text))


def read_manifest(sweep_dir: Path) -> dict:
    return json.loads((Path(sweep_dir) / MANIFEST).read_text())


def planned_runs(manifest: dict) -> list[PlannedRun]:
    fields = PlannedRun.__dataclass_fields__
    return [PlannedRun(**{k: v for k, v in run.items() if k in fields}) for run in manifest["runs"]]


def clean_leftovers(sweep_dir: Path) -> None:
    """Remove what an interrupted sweep left: half-written run folders and Hydra's scratch folders."""
    runs = sweep_dir / RUNS_DIR
    if runs.is_dir():
        for p in runs.glob(".*.tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
    shutil.rmtree(sweep_dir / SCRATCH_DIR, ignore_errors=True)


# ----------------------------------------------------------------- aggregation
@dataclass
class Aggregate:
    """The tables of a sweep and the planned runs that have no results."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    missing: list[PlannedRun]
    swept_keys: list[str]
    manifest: dict


def kpi_names(rows: list[dict]) -> list[str]:
    names: list[str] = []
    for row in rows:
        for name in row:
            if name not in names:
                names.append(name)
    return names


def aggregate(sweep_dir: Path) -> Aggregate:
    """Build sweep.parquet's and sweep_summary.parquet's tables from the run folders."""
    from demandsim.stats import t_interval

    sweep_dir = Path(sweep_dir)
    manifest = read_manifest(sweep_dir)
    swept = list(manifest["swept_keys"])
    rows, kpis, missing = [], [], []
    for run in planned_runs(manifest):
        folder = sweep_dir / run.folder
        if not is_complete_run(folder):
            missing.append(run)
            continue
        summary = json.loads((folder / "summary.json").read_text())
        rows.append({"point": run.point, **run.values, "replication": run.replication, "seed": summary["seed"],
                     "run_id": run.run_id, "config_hash": summary.get("config_hash"), "run_dir": run.folder})
        kpis.append(summary["kpis"])
    names = kpi_names(kpis)
    columns = ["point", *swept, *[c for c in RUN_COLUMNS if c != "point"], *names]
    table = pd.DataFrame([{**r, **{n: k.get(n) for n in names}} for r, k in zip(rows, kpis)], columns=columns)
    for name in names:  # counts stay integers; null KPIs (nothing to measure) stay missing, never 0
        values = pd.to_numeric(table[name], errors="coerce")
        whole = all(isinstance(k.get(name), int) or k.get(name) is None for k in kpis)
        table[name] = values.astype("Int64" if whole and values.notna().all() else "float64")
    table = table.sort_values(["point", "replication"], kind="stable").reset_index(drop=True)

    point_values = {run["point"]: run["values"] for run in manifest["runs"]}
    out = []
    for point, group in table.groupby("point", sort=True):
        for name in names:
            est = t_interval(group[name].to_numpy())
            out.append({"point": point, **point_values[point], "kpi": name, "n": est.n, "mean": est.mean,
                        "sd": est.sd, "ci_low": est.low, "ci_high": est.high, "half_width": est.half_width})
    summary = pd.DataFrame(out, columns=["point", *swept, "kpi", "n", "mean", "sd", "ci_low", "ci_high",
                                         "half_width"])
    return Aggregate(table, summary, missing, swept, manifest)


def write_tables(sweep_dir: Path) -> Aggregate:
    """(Re)write sweep.parquet and sweep_summary.parquet; returns what was written."""
    agg = aggregate(sweep_dir)
    for name, frame in ((SWEEP_TABLE, agg.runs), (SUMMARY_TABLE, agg.summary)):
        write_parquet(Path(sweep_dir) / name, frame)
    return agg


def describe_missing(missing: list[PlannedRun]) -> list[str]:
    """One line per point with runs missing: its values and which replications."""
    by_point: dict[int, list[PlannedRun]] = {}
    for run in missing:
        by_point.setdefault(run.point, []).append(run)
    lines = []
    for point, runs in sorted(by_point.items()):
        reps = ", ".join(str(r.replication) for r in sorted(runs, key=lambda r: r.replication))
        label = point_label(runs[0].values) or "the run"
        lines.append(f"{label}: replication{'s' if len(runs) > 1 else ''} {reps}")
    return lines


# ----------------------------------------------------------------- progress
class SweepProgress:
    """A progress bar in the main process: runs done / total and simulated days / total.

    Workers (any launcher, on this machine or a shared file system) write their
    simulated days to ``.jobs/<n>/progress``; finished runs are counted from ``runs/``.
    Drawn only when stderr is a terminal.
    """

    def __init__(self, sweep_dir: Path, todo: list[PlannedRun], show: bool = True) -> None:
        self.sweep_dir, self.todo = sweep_dir, todo
        self.total_days = sum(r.days for r in todo)
        self._stop = threading.Event()
        self._thread = None
        self.bar = None
        if show and todo:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total_days, unit="day", disable=None, leave=False,
                            desc=f"sweep: runs 0/{len(todo)}",
                            bar_format="{desc}, simulated days: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} "
                                       "[{elapsed}<{remaining}]")
            if self.bar.disable:
                self.bar = None

    def __enter__(self):
        if self.bar is not None:
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.bar is not None:
            self.bar.close()

    def state(self) -> tuple[int, float]:
        """(runs finished, simulated days done) of the runs to do."""
        done, days = 0, 0.0
        for run in self.todo:
            if is_complete_run(self.sweep_dir / run.folder):
                done, days = done + 1, days + run.days
        for f in (self.sweep_dir / SCRATCH_DIR).glob(f"*/{PROGRESS_FILE}"):
            try:
                days += float(f.read_text() or 0)
            except (OSError, ValueError):
                pass
        return done, min(days, self.total_days)

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            done, days = self.state()
            self.bar.set_description_str(f"sweep: runs {done}/{len(self.todo)}", refresh=False)
            self.bar.update(days - self.bar.n)


def progress_writer(scratch: Path, every_s: float = PROGRESS_EVERY_S, clock=time.monotonic):
    """``on_progress(days)`` for a worker: records simulated days for :class:`SweepProgress`.

    Writes at most once every ``every_s`` seconds of wall time (and always a reset to 0):
    a file written per simulated day cost a fast run of a year about a fifth of its time.

    Example:
        >>> import tempfile
        >>> write = progress_writer(Path(tempfile.mkdtemp()), every_s=3600)
        >>> write(1.0); write(2.0)  # the second comes too soon: skipped
    """
    target = scratch / PROGRESS_FILE
    last = [-math.inf]

    def write(days: float) -> None:
        now = clock()
        if days and now - last[0] < every_s:
            return
        last[0] = now
        try:
            tmp = target.with_name(f".{PROGRESS_FILE}.tmp")
            tmp.write_text(f"{days:g}")
            os.replace(tmp, target)
        except OSError:
            pass

    return write


# ----------------------------------------------------------------- the sweep (main process)
def run_sweep(sweeper, arguments: list[str]):
    """What ``DemandsimSweeper.sweep`` does: plan, skip finished runs, launch the rest, aggregate."""
    from omegaconf import read_write

    from demandsim import config as config_pkg

    config_pkg.setup()
    FAILURES.clear()
    config, context, launcher = sweeper.config, sweeper.hydra_context, sweeper.launcher
    replications = config.run.replications
    if not isinstance(replications, int) or replications < 1:
        from demandsim.errors import ConfigError

        raise ConfigError("run.replications", replications, "must be >= 1")
    check_runs_per_job(getattr(sweeper, "runs_per_job", None))
    params = [f"{k}={v}" for k, v in (sweeper.params or {}).items()]
    if config_pkg.override_value("run.engine", params + list(arguments)) is None:
        params.append(f"run.engine={SWEEP_ENGINE}")  # identical results, many times faster
    _, swept, jobs = expand_arguments(params + list(arguments), replications, context.config_loader)
    started = time.perf_counter()
    composer = PointComposer(lambda o: context.config_loader.load_sweep_config(config, o), context.config_loader)
    configs: dict = {}
    planned = plan_runs(jobs, swept, composer, configs)
    sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
    # fixed here, once: a worker (another process, another machine's working directory)
    # would otherwise resolve ${now:...} and relative paths for itself
    with read_write(config.hydra.sweep):
        config.hydra.sweep.dir = str(sweep_dir)
    existed = sweep_dir.exists()
    sweep_dir.mkdir(parents=True, exist_ok=True)
    clean_leftovers(sweep_dir)

    todo, seen = [], set()
    for run in planned:
        if run.run_id not in seen and not is_complete_run(sweep_dir / run.folder):
            todo.append(run)
        seen.add(run.run_id)
    per_job = choose_runs_per_job(getattr(sweeper, "runs_per_job", None), len(todo),
                                  workers_of(config.hydra.get("launcher")))
    batches = make_batches(todo, per_job)
    write_job_configs(sweep_dir, batches, configs)
    write_manifest(sweep_dir, params + list(arguments), swept, replications, planned, str(config.scenario_name))
    points = len({r.point for r in planned})
    already = len({r.run_id for r in planned}) - len(todo)
    print(f"demandsim: sweep of {len(planned)} runs ({points} point{'s' * (points != 1)} x {replications} "
          f"replication{'s' * (replications != 1)}) in {sweep_dir}"
          + (f"; {already} already done, skipped" if already else ""), flush=True)

    results = []
    if batches:
        with SweepProgress(sweep_dir, todo, show=bool(config.run.progress)):
            batch_size = sweeper.max_batch_size or len(batches)
            for start in range(0, len(batches), batch_size):
                launch = batches[start:start + batch_size]
                results += launcher.launch([b[0].overrides for b in launch], initial_job_idx=start)
    for batch, ret in zip(batches, results):
        record_failures(batch, ret)
    shutil.rmtree(sweep_dir / SCRATCH_DIR, ignore_errors=True)

    agg = write_tables(sweep_dir)
    if agg.runs.empty and not existed:  # nothing ran: leave nothing behind
        shutil.rmtree(sweep_dir, ignore_errors=True)
    else:
        print(sweep_digest(agg, time.perf_counter() - started, sweep_dir), flush=True)
    return [results]


def record_failures(batch: list[PlannedRun], ret) -> None:
    """Add to :data:`FAILURES` the runs of one launcher job that did not finish.

    A job returns ``{"runs": [outcome per run]}`` or, if it failed before its first
    run (e.g. bad input), one outcome for all its runs.
    """
    from hydra.core.utils import JobStatus

    value = ret._return_value if ret.status == JobStatus.COMPLETED else None
    if not isinstance(value, dict):
        message = f"{type(ret._return_value).__name__}: {ret._return_value}"
        FAILURES.extend({"run": run, "message": message, "bad_input": False, "details": None} for run in batch)
        return
    by_id = {o.get("run_id"): o for o in value.get("runs", [])}
    for run in batch:
        outcome = by_id.get(run.run_id, value if "runs" not in value else None)
        if outcome is None:  # the job ran other runs than planned
            outcome = {"status": "failed", "bad_input": True, "message": CONFIG_CHANGED}
        if outcome.get("status") == "failed":
            FAILURES.append({"run": run, "message": outcome.get("message"),
                             "bad_input": outcome.get("bad_input", False), "details": outcome.get("details")})


HEADLINE = [("sl_999_10s", "999 in 10 s", True), ("abandon_rate_101", "101 abandoned", True),
            ("attend_within_target_all", "attended in target", True),
            ("utilisation_call_handlers", "handlers busy", True)]


def _fmt(mean, half, pct: bool) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    text = f"{100 * mean:.1f}%" if pct else f"{mean:.3g}"
    if half is not None and not math.isnan(half):
        text += f" ±{100 * half:.1f}" if pct else f" ±{half:.2g}"
    return text


def sweep_digest(agg: Aggregate, took: float, sweep_dir: Path) -> str:
    """A few lines for the terminal: per point, the headline KPIs with 95% half-widths."""
    lines = []
    summary = agg.summary
    if not summary.empty:
        labels = {p: (point_label(v) or "mean of replications")
                  for p, v in ((r["point"], r["values"]) for r in agg.manifest["runs"])}
        width = max(len(v) for v in labels.values())
        head = "  ".join(f"{name:>16}" for _, name, _ in HEADLINE)
        lines.append(f"  {'point':<{width}}  {head}")
        for point, group in summary.groupby("point", sort=True):
            by = group.set_index("kpi")
            cells = []
            for kpi, _, pct in HEADLINE:
                cells.append(f"{_fmt(by['mean'].get(kpi), by['half_width'].get(kpi), pct):>16}"
                             if kpi in by.index else f"{'n/a':>16}")
            lines.append(f"  {labels[point]:<{width}}  {'  '.join(cells)}")
        if summary["half_width"].notna().any():
            lines.append("  (mean of replications ± half-width of the 95% confidence interval)")
    if agg.missing:
        lines.append(f"  missing: {len(agg.missing)} run(s): " + "; ".join(describe_missing(agg.missing)))
    lines.append(f"Results: {sweep_dir / SWEEP_TABLE}, {SUMMARY_TABLE} ({len(agg.runs)} runs, {took:.1f} s)")
    return "\n".join(lines)
