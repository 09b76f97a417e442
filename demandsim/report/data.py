"""What the report shows, computed from a sweep's or a run's folder (no plotting here).

- :func:`load` reads a folder: a sweep (``sweep.json``: tables rebuilt with
  :func:`demandsim.sweep.write_tables`) or a single run (``summary.json``);
- :func:`standards` are the lines drawn on the charts (``report.*`` in the runs' config, or
  set when the report is made: :func:`report_settings`), and with ``--baseline`` a
  "back to the baseline's level" standard per KPI judged on the paired differences
  (:mod:`demandsim.report.compare`);
- :mod:`demandsim.report.standards` judges each standard along the swept values (the table of
  least values meeting it, over the whole week, the window and a swept shift's own hours);
- :func:`judged` is the interval each standard is judged on, per point (the point's own
  interval, or for a baseline standard the interval of the paired difference);
- :func:`hour_of_week_grid`, :func:`heatmaps` and :func:`average_day` feed the per-run
  charts; which calls and incidents count comes from :mod:`demandsim.kpis`, so a
  heatmap cell is the KPI's definition over one hour of the week.

Example:
    >>> import pandas as pd
    >>> calls = pd.DataFrame({"hour_of_week": [0, 0, 25], "ok": [True, False, True]})
    >>> grid, counts = hour_of_week_grid(calls, "ok")
    >>> grid.shape, float(grid[0, 0]), float(grid[1, 1]), int(counts[0, 0])
    ((7, 24), 0.5, 1.0, 2)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from demandsim import kpis
from demandsim import sweep as sw
from demandsim.config.schema import DEPLOYED_GRADES, ReportConfig
from demandsim.errors import ConfigError
from demandsim.outputs import is_complete_run, read_yaml
from demandsim.report.words import setting_words
from demandsim.stats import Interval
from demandsim.sweep.tables import WINDOW_PREFIX

#: keys left out of a sweep's shared-config hash: they vary between its runs by design
PER_RUN_KEYS = ("run.seed", "run.replication", "run.replications", "run.progress")


class ReportError(ValueError):
    """The folder cannot be reported on (one line, naming the folder)."""


#: where a goal line came from (Standard.source)
FROM_RUNS = "the runs' config"
FROM_COMMAND_LINE = "the command line"
FROM_DEFAULT = "the default (the runs' config has no such key)"
FROM_BASELINE = "the baseline"


@dataclass
class Standard:
    """A line on a chart: ``kpi`` should be >= ``value`` (``at_least``) or <= it.

    ``key`` is its ``report.*`` config key and ``source`` where its value came from
    (:data:`FROM_RUNS`, :data:`FROM_COMMAND_LINE`, ...). A baseline standard
    (``of_baseline``: "back to the baseline's level") has the baseline's mean as its
    ``value`` but is judged on the interval of the paired difference against 0.
    """

    kpi: str
    label: str
    value: float
    at_least: bool
    note: str = ""
    key: str = ""
    source: str = FROM_RUNS
    of_baseline: bool = False
    #: the sweep tables' KPI this standard reads: ``kpi``, or ``window.<kpi>`` when the runs set a window
    column: str = ""

    def __post_init__(self) -> None:
        self.column = self.column or self.kpi

    def met(self, interval: Interval) -> bool:
        """The whole interval is on the right side of the line (for a baseline standard: of 0)."""
        line = 0.0 if self.of_baseline else self.value
        return interval.above(line) if self.at_least else interval.below(line)

    @property
    def direction(self) -> str:
        return ">=" if self.at_least else "<="

    @property
    def text(self) -> str:
        if self.of_baseline:
            return f"{self.label}: back to the baseline's level ({'≥' if self.at_least else '≤'} the baseline)"
        return f"{self.label} {'≥' if self.at_least else '≤'} {100 * self.value:g}%"


@dataclass
class RunData:
    """One run's tables and metadata."""

    folder: Path
    summary: dict
    config: dict
    calls: pd.DataFrame
    incidents: pd.DataFrame
    intervals: pd.DataFrame

    @property
    def warmup_s(self) -> float:
        return float(self.summary["warmup_days"]) * 86400.0


@dataclass
class ReportData:
    """Everything the page needs."""

    folder: Path
    scenario: str
    is_sweep: bool
    chosen: RunData
    chosen_label: str
    standards: list[Standard]
    config_hash: str
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    swept_keys: list[str] = field(default_factory=list)
    x_key: str | None = None
    series_keys: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    replications: int = 1
    #: the runs' window (window.hours, window.days) in words, when they set one: the standards read it
    window: str | None = None
    #: with --baseline: the reference (demandsim.report.compare.Baseline), the paired differences
    #: (compare.paired_differences: one row per point and KPI) and the baseline's run with the chosen run's seed
    baseline: object | None = None
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    baseline_run: RunData | None = None
    #: the command-line overrides that made the runs (the sweep's, or the run's): the title names those
    #: that changed the model (demandsim.report.words.title_overrides)
    overrides: list[str] = field(default_factory=list)

    def judged(self, std: Standard) -> pd.DataFrame:
        """The intervals ``std`` is judged on, one row per point (the swept keys, ``n``, ``mean``, ``sd``,
        ``ci_low``, ``ci_high``): the point's own (sweep_summary), or for a baseline standard the paired
        difference's (``mean`` is then the mean difference), without the baseline's own point (its
        difference is 0 by construction: it would always "meet" being itself)."""
        if std.of_baseline:
            part = self.comparison[self.comparison["kpi"] == std.column]
            if self.baseline is not None and self.baseline.same_sweep:
                part = part[part["point"] != self.baseline.point]
            return part.rename(columns={"diff_mean": "mean"})
        if not self.is_sweep:  # the run's KPIs, or with a window its window block's
            block = (self.chosen.summary.get("window") or {}) if std.column != std.kpi else self.chosen.summary
            value = (block.get("kpis") or {}).get(std.kpi)
            mean = np.nan if value is None else float(value)
            return pd.DataFrame([{"point": 0, "kpi": std.column, "n": 1, "mean": mean, "sd": np.nan,
                                  "ci_low": np.nan, "ci_high": np.nan}])
        return self.summary[self.summary["kpi"] == std.column]


# ----------------------------------------------------------------- loading
def load_run(folder: Path) -> RunData:
    folder = Path(folder)
    if not is_complete_run(folder):
        raise ReportError(f"{folder}: not a complete run folder (summary.json, the Parquet tables and "
                          "config.yaml are expected)")
    summary = json.loads((folder / "summary.json").read_text())
    config = read_yaml(folder / "config.yaml")
    return RunData(folder, summary, config, pd.read_parquet(folder / "calls.parquet"),
                   pd.read_parquet(folder / "incidents.parquet"), pd.read_parquet(folder / "intervals.parquet"))


def standards(config: dict, sources: dict[str, str] | None = None) -> list[Standard]:
    """The lines drawn on the charts, from ``report.*`` of a run's config (shares in [0, 1]).

    ``sources`` maps a ``report.*`` key to where its value came from (default: the runs' config).
    """
    rep = config.get("report") or {}
    goals = rep.get("attendance_goal") or {}
    targets = (config.get("grading") or {}).get("targets") or {}
    sources = sources or {}

    def share(key: str, value) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            raise ConfigError(key, value, "must be a share between 0 and 1")
        return float(value)

    def made(kpi, label, key, value, at_least, note):
        return Standard(kpi, label, share(key, value), at_least, note, key, sources.get(key, FROM_RUNS))

    out = [made("sl_999_10s", "999 calls answered within 10 s", "report.sl_999_10s_goal",
                rep.get("sl_999_10s_goal", 0.9), True, "national expectation"),
           made("abandon_rate_101", "101 calls abandoned", "report.abandon_101_max", rep.get("abandon_101_max", 0.05),
                False, "national standard for forces with a switchboard")]
    for grade in DEPLOYED_GRADES:
        target = targets.get(grade)
        within = f" (target {_minutes(target)})" if target else ""
        out.append(made(f"attend_within_target_{grade}", f"{grade} incidents attended within target{within}",
                        f"report.attendance_goal.{grade}", goals.get(grade, 0.9), True,
                        "goal share assumed (the sources set none): report.attendance_goal"))
    return out


def report_keys() -> list[str]:
    """Every ``report.*`` key a report can set (the leaves of :class:`ReportConfig`).

    >>> report_keys()
    ['report.sl_999_10s_goal', 'report.abandon_101_max', 'report.attendance_goal.immediate', \
'report.attendance_goal.priority', 'report.attendance_goal.prompt']
    """
    import dataclasses

    return list(_flatten({"report": dataclasses.asdict(ReportConfig())}))


def parse_report_overrides(overrides: list[str]) -> dict[str, float]:
    """``report.KEY=VALUE`` words of the report's command line, checked against :class:`ReportConfig`.

    A key the schema does not have, a word that is not ``KEY=VALUE``, or a value that is
    not a share between 0 and 1 is a one-line ConfigError naming it.

    >>> parse_report_overrides(["report.attendance_goal.priority=0.45"])
    {'report.attendance_goal.priority': 0.45}
    >>> parse_report_overrides(["report.attendance_goal.urgent=0.5"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    demandsim.errors.ConfigError: report.attendance_goal.urgent=0.5: unknown key on the command line; ...
    """
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    keys = report_keys()
    node = OmegaConf.structured(ReportConfig)
    out = {}
    for word in overrides:
        key, eq, text = word.partition("=")
        key = key.strip().lstrip("+")
        if not eq:
            raise ConfigError(word, text, "expected KEY=VALUE (a report.* key, e.g. "
                                          "report.attendance_goal.priority=0.45) or an option")
        if key not in keys:
            where = ("the report sets only report.* keys (the runs are made: their other keys are fixed)"
                     if not key.startswith("report.") else "unknown key on the command line")
            raise ConfigError(key, text, f"{where}; the report's keys: {', '.join(keys)}")
        try:
            value = yaml.safe_load(text) if text.strip() else None
            OmegaConf.update(node, key[len("report."):], value, merge=False)  # the schema's type check
        except (yaml.YAMLError, OmegaConfBaseException, ValueError):
            raise ConfigError(key, text, "must be a share between 0 and 1 (on the command line)") from None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            raise ConfigError(key, text, "must be a share between 0 and 1 (on the command line)")
        out[key] = float(value)
    return out


def report_settings(configs: list[dict], labels: list[str], overrides: dict[str, float],
                    folder: Path) -> tuple[dict, dict[str, str]]:
    """The ``report`` block the report draws and where each key came from.

    ``configs`` are the runs' configs (one per point, ``labels`` naming the points). A key
    set on the command line (``overrides``) wins; otherwise the value every run carries.
    Runs that carry different values for a key the command line does not set are an
    error naming the key, the values and the points: the report draws one line per
    standard and never silently picks one run's.
    """
    import dataclasses

    defaults = _flatten({"report": dataclasses.asdict(ReportConfig())})
    flat = [_flatten({"report": c.get("report") or {}}) for c in configs]
    chosen, sources = {}, {}
    for key, default in defaults.items():
        if key in overrides:
            chosen[key], sources[key] = overrides[key], FROM_COMMAND_LINE
            continue
        carried: dict[str, list[str]] = {}
        for f, label in zip(flat, labels):
            if key in f:
                carried.setdefault(repr(f[key]), []).append(label)
        if len(carried) > 1:
            seen = "; ".join(f"{v} at {', '.join(ls[:3])}{' and more' if len(ls) > 3 else ''}"
                             for v, ls in carried.items())
            raise ReportError(f"{folder}: the runs carry different values of {key} ({seen}); the report draws "
                              f"one line: set it when making the report, e.g. python -m demandsim.report "
                              f"{folder} {key}={next(iter(carried))}")
        values = [f[key] for f in flat if key in f]
        chosen[key], sources[key] = (values[0], FROM_RUNS) if values else (default, FROM_DEFAULT)
    block: dict = {}
    for key, value in chosen.items():
        node = block
        parts = key.split(".")[1:]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return block, sources


def _minutes(m: float) -> str:
    return f"{m / 60:g} h" if m >= 120 and m % 60 == 0 else f"{m:g} min"


def shared_config_hash(configs: list[dict]) -> str:
    """Hash of what every run of a sweep shares: the config keys whose value is the same in all.

    Swept keys (and whatever they set through interpolation), seeds and replication
    indices drop out by construction, so a sweep has one hash; each run's own hash is
    the ``config_hash`` column of sweep.parquet.
    """
    flat = [_flatten(c) for c in configs]
    if not flat:
        return ""
    shared = {k: v for k, v in flat[0].items()
              if k not in PER_RUN_KEYS and all(f.get(k, _ABSENT) == v for f in flat[1:])}
    return hashlib.sha256(json.dumps(shared, sort_keys=True, default=str).encode()).hexdigest()[:12]


_ABSENT = object()


def _flatten(node, prefix: str = "") -> dict:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(node, list):
        out = {}
        for i, v in enumerate(node):
            out.update(_flatten(v, f"{prefix}.{i}"))
        return out or {prefix: "[]"}
    return {prefix: node}


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def load(folder: Path, run: str | None = None, overrides: list[str] | None = None,
         baseline: str | None = None) -> ReportData:
    """Read a sweep folder (with sweep.json) or a run folder.

    ``run`` picks the per-run charts' run; ``overrides`` are ``report.*=VALUE`` words that set
    goals now (:func:`parse_report_overrides`); ``baseline`` names the reference of a paired
    comparison (:func:`demandsim.report.compare.resolve`).
    """
    from demandsim.report import compare

    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such folder")
    set_now = parse_report_overrides(list(overrides or []))
    if not (folder / sw.MANIFEST).is_file():
        data = load_run(folder)
        block, sources = report_settings([data.config], ["this run"], set_now, folder)
        window = window_in_words(data.config)
        std = over_window(standards({**data.config, "report": block}, sources), window)
        out = ReportData(folder, str(data.summary.get("scenario", "")), False, data, "this run", std,
                         str(data.summary.get("config_hash", "")), window=window,
                         overrides=[str(w) for w in data.summary.get("overrides", [])])
        if baseline is not None:
            runs = compare._run_table(folder)
            ref = compare.resolve(baseline, folder, None, [])
            compare.check_seeds(ref, runs, [])
            _add_comparison(out, ref, runs, [], list(data.summary.get("kpis", {})))
        return out
    agg = sw.write_tables(folder)
    if agg.runs.empty:
        raise ReportError(f"{folder}: no finished run in this sweep yet (re-run the sweep command to complete it)")
    runs = agg.runs
    swept = agg.swept_keys
    numeric = [k for k in swept if all(_is_number(v) for v in runs[k].dropna()) and runs[k].notna().any()]
    x_key = numeric[0] if numeric else (swept[0] if swept else None)
    series = [k for k in swept if k != x_key]
    ref = compare.resolve(baseline, folder, runs, swept) if baseline is not None else None
    if ref is not None:
        compare.check_seeds(ref, runs, swept)
    chosen_row = _choose_run(runs, x_key, run, avoid=ref.point if ref is not None and ref.same_sweep else None)
    chosen = load_run(folder / chosen_row["run_dir"])
    label = (setting_words({k: chosen_row[k] for k in swept}, chosen.config) or "the point") + \
        f", replication {int(chosen_row['replication'])} (seed {int(chosen_row['seed'])}, {chosen_row['run_dir']})"
    # the replications of a point differ only in PER_RUN_KEYS: one config per point says what the
    # runs share (reading all 200 of a sweep's took two seconds)
    firsts = runs.drop_duplicates("point")
    configs = [read_yaml(folder / d / "config.yaml") for d in firsts["run_dir"]]
    labels = [sw.point_label({k: r[k] for k in swept}) or "the point" for _, r in firsts.iterrows()]
    block, sources = report_settings(configs, labels, set_now, folder)
    names = list(dict.fromkeys(str(c.get("scenario_name", "")) for c in configs))
    windows = {window_in_words(c) for c in configs}
    if len(windows) > 1:  # a standard read over one run's window would not be the others'
        raise ReportError(f"{folder}: the runs set different windows ({', '.join(sorted(map(str, windows)))}); "
                          "report on a sweep with one window.hours and window.days")
    window = windows.pop()
    out = ReportData(folder, ", ".join(names) or str(agg.manifest.get("scenario", "")), True, chosen,
                     label, over_window(standards({**chosen.config, "report": block}, sources), window),
                     shared_config_hash(configs), runs, agg.summary, swept, x_key, series,
                     sw.describe_missing(agg.missing), int(agg.manifest.get("replications", 1)), window,
                     overrides=[str(w) for w in agg.manifest.get("overrides", [])])
    if ref is not None:
        _add_comparison(out, ref, runs, swept, list(dict.fromkeys(agg.summary["kpi"])))
    return out


def window_in_words(config: dict) -> str | None:
    """A run's window (``window.hours``, ``window.days`` of its config.yaml) in words, None without one.

    >>> window_in_words({"window": {"hours": "17-03", "days": ["Fri", "Sat"]}})
    '17:00-03:00, Fri, Sat'
    >>> window_in_words({}) is None
    True
    """
    from demandsim.config.schema import WindowConfig
    from demandsim.window import window_from_config

    block = config.get("window") or {}
    window = window_from_config(WindowConfig(block.get("hours"), block.get("days")))
    return None if window is None else window.label


def over_window(stds: list[Standard], window: str | None) -> list[Standard]:
    """The standards read over the runs' window (``window.<kpi>`` of the sweep tables) when they set one."""
    if window is None:
        return stds
    return [dataclasses.replace(s, column=f"{WINDOW_PREFIX}{s.kpi}", label=f"{s.label}, {window}") for s in stds]


def _add_comparison(data: ReportData, ref, runs: pd.DataFrame, swept: list[str], kpi_names: list[str]) -> None:
    """Fill ``data``'s comparison: the paired differences, the baseline's run with the chosen run's
    seed (for the heatmaps side by side) and a "back to the baseline's level" standard per fixed one."""
    from demandsim.report import compare

    data.baseline = ref
    data.comparison = compare.paired_differences(runs, swept, kpi_names, ref)
    seed = int(data.chosen.summary["seed"])
    where = ref.run_dir(seed)
    data.baseline_run = load_run(where) if where is not None else None
    base_means = {k: compare._floats(ref.runs[k]) for k in kpi_names if k in ref.runs}
    for std in [s for s in data.standards if not s.of_baseline]:
        values = base_means.get(std.column)  # with a window, the baseline's over the same window
        level = float(np.nanmean(values)) if values is not None and (~np.isnan(values)).any() else float("nan")
        data.standards.append(dataclasses.replace(std, value=level, note=f"back to the baseline's level ({ref.label})",
                                                  source=FROM_BASELINE, of_baseline=True))


def _choose_run(runs: pd.DataFrame, x_key: str | None, wanted: str | None, avoid: int | None = None) -> pd.Series:
    """The run behind the per-run charts: ``wanted`` (a run_id or its start), else
    the lowest replication of the middle point (by the x value), other than the point
    ``avoid`` (the baseline, drawn beside it) when there is another."""
    if wanted:
        hit = runs[runs["run_id"].str.startswith(wanted)]
        if hit.empty:
            raise ReportError(f"--run {wanted}: no finished run of this sweep has that run_id "
                              f"(see the run_id column of sweep.parquet)")
        return hit.iloc[0]
    points = runs.drop_duplicates("point")
    if avoid is not None and (points["point"] != avoid).any():
        points = points[points["point"] != avoid]
    if x_key is not None:
        points = points.sort_values(x_key, kind="stable")
    middle = points.iloc[(len(points) - 1) // 2]["point"]
    return runs[runs["point"] == middle].sort_values("replication").iloc[0]


# ----------------------------------------------------------------- the smallest-staffing table
def capacity_warnings(data: ReportData) -> list[str]:
    """Plain-words warnings for runs whose units could not keep up (``stable`` false).

    A single run carries its own (summary.json's ``warnings``). For a sweep, one line per point
    where any replication's backlog grew without settling, with how many, the mean growth a day
    and the mean backlog at the end: such a point's attendance figures describe a queue still
    growing, so they depend on the run length.

    Example:
        >>> import pandas as pd
        >>> runs = pd.DataFrame({"point": [0, 0, 1, 1], "x": [2, 2, 3, 3], "stable": [0, 0, 1, None],
        ...                      "backlog_growth_per_day": [40.0, 42.0, 0.1, None], "backlog_end": [900, 1100, 2, 3]})
        >>> d = ReportData(Path("."), "s", True, None, "", [], "", runs=runs, swept_keys=["x"])
        >>> capacity_warnings(d)  # doctest: +NORMALIZE_WHITESPACE
        ['x=2: units cannot keep up in 2 of 2 replications: the backlog of incidents waiting for a unit grew by
          41.0 a day (1,000 waiting at the end, means over those replications); attendance figures at this point
          depend on the run length']
    """
    if not data.is_sweep:
        return list(data.chosen.summary.get("warnings", []))
    runs = data.runs
    if "stable" not in runs:
        return []
    out = []
    for point, group in runs.groupby("point", sort=True):
        unstable = group[group["stable"].astype("float64") == 0]
        if unstable.empty:
            continue
        label = sw.point_label({k: group[k].iloc[0] for k in data.swept_keys}) or "the point"
        growth = float(unstable["backlog_growth_per_day"].astype("float64").mean())
        end = float(unstable["backlog_end"].astype("float64").mean())
        out.append(f"{label}: units cannot keep up in {len(unstable)} of {len(group)} replications: the backlog of "
                   f"incidents waiting for a unit grew by {growth:,.1f} a day ({end:,.0f} waiting at the end, "
                   f"means over those replications); attendance figures at this point depend on the run length")
    return out


def hour_of_week_grid(frame: pd.DataFrame, flag: str) -> tuple[np.ndarray, np.ndarray]:
    """Share of True in column ``flag`` per weekday (rows, Mon first) and hour (columns), and counts.

    Cells with nothing to measure are NaN.
    """
    known = frame[frame[flag].notna()]
    how = known["hour_of_week"].to_numpy(dtype=np.int64)
    hits = np.bincount(how, weights=known[flag].astype(float).to_numpy(), minlength=168)[:168]
    counts = np.bincount(how, minlength=168)[:168]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    return share.reshape(7, 24), counts.reshape(7, 24)


def heatmaps(run: RunData) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The three hour-of-week grids of the per-run chart, over the measured period.

    Each grid is a KPI by hour of the week, with the KPI's own selection of rows:
    ``sl_999_10s`` (999 calls from the public), ``abandon_rate_101`` and
    ``attend_within_target_all``.
    """
    calls = kpis.measured_calls(run.calls, run.warmup_s, columns=None)
    c999 = calls[kpis.from_public_999(calls)]
    c999 = c999.assign(ok=kpis.answered_in_time(c999))
    c101 = calls[kpis.on_101(calls)]
    c101 = c101.assign(abandoned=kpis.abandoned_101(c101))
    inc = kpis.measured_incidents(run.incidents, run.warmup_s, columns=None)
    inc = inc[kpis.deployed(inc)]
    inc = inc.assign(ok=inc["within_target"].astype("float64"))
    return {"sl_999": hour_of_week_grid(c999, "ok"), "abandon_101": hour_of_week_grid(c101, "abandoned"),
            "attendance": hour_of_week_grid(inc, "ok")}


def area_attendance(run: RunData) -> dict[str, dict[str, tuple[float | None, int]]]:
    """Per area of the run (summary.json's ``by_area``, in the run's order), per deployed grade:
    (share attended within target, incidents of the grade). Empty for a run without areas.

    >>> run = RunData(Path("."), {"by_area": {"North": {"attend_within_target_immediate": 0.5,
    ...     "incidents_immediate": 4}}}, {}, None, None, None)
    >>> area_attendance(run)["North"]["immediate"], area_attendance(run)["North"]["prompt"]
    ((0.5, 4), (None, 0))
    """
    by_area = run.summary.get("by_area") or {}
    return {area: {g: (kpis.get(f"attend_within_target_{g}"), int(kpis.get(f"incidents_{g}") or 0))
                   for g in DEPLOYED_GRADES} for area, kpis in by_area.items()}


def average_day(run: RunData) -> pd.DataFrame:
    """Mean of each ``mean_*``/``rostered_*``/``available_*`` column of the intervals table by hour of the day."""
    iv = run.intervals
    iv = iv[iv["t_start"] >= run.warmup_s - 1e-9]
    cols = [c for c in iv.columns if c.startswith(("mean_", "rostered_", "available_"))]
    day = iv.assign(hour_of_day=iv["hour_of_week"] % 24).groupby("hour_of_day")[cols].mean()
    return day.reindex(range(24))
