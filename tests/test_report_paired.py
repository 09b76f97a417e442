"""The report's paired comparison (--baseline), goals set when the report is made (report.*), report.json,
and share intervals that stay within 0..1 (issue 11)."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demandsim import sweep
from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.errors import ConfigError
from demandsim.kpis import SHARE_KPIS
from demandsim.report import REPORT_FILE, REPORT_JSON, build_report
from demandsim.report import export
from demandsim.report.data import (FROM_COMMAND_LINE, FROM_RUNS, ReportData, ReportError, RunData, Standard, load,
                                   parse_report_overrides)
from demandsim.stats import paired_interval, share_interval, t_interval
from helpers import small_sweep
from test_report import brute_force_least, cli_report

KEY = "staffing.call_handlers.shifts.2.staff"  # the small sweep's key: 3 and 5 handlers, 2 replications


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """The small sweep reported against its first point (3 handlers), by number."""
    out = tmp_path_factory.mktemp("paired") / "sw"
    shutil.copytree(small_sweep(), out)
    done = cli_report(out, "--baseline", "0")
    assert done.returncode == 0, done.stderr
    return out, json.loads((out / REPORT_JSON).read_text()), (out / REPORT_FILE).read_text(encoding="utf-8")


def _copy(tmp_path: Path, name: str = "sw") -> Path:
    out = tmp_path / name
    shutil.copytree(small_sweep(), out)
    return out


# ----------------------------------------------------------------- the paired difference
def test_paired_difference_is_the_mean_of_per_seed_differences(compared):
    out, report, _ = compared
    runs = pd.read_parquet(out / sweep.SWEEP_TABLE)
    base = runs[runs["point"] == 0].set_index("seed")
    assert report["comparison"]["baseline_point"] == 0
    checked = 0
    for entry in report["comparison"]["points"]:
        mine = runs[runs["point"] == entry["point"]].set_index("seed")
        assert sorted(mine.index) == sorted(base.index)  # replication r has the same seed at every point
        for kpi, got in entry["kpis"].items():
            a = pd.to_numeric(mine[kpi], errors="coerce").astype(float)
            b = pd.to_numeric(base[kpi].reindex(mine.index), errors="coerce").astype(float)
            diffs = (a - b).dropna().to_numpy()
            assert got["n"] == len(diffs), kpi
            if not len(diffs):
                assert got["diff_mean"] is None
                continue
            assert got["diff_mean"] == pytest.approx(diffs.mean(), abs=1e-12), kpi
            if entry["point"] == 0:
                assert got["diff_mean"] == 0 and got["ci_low"] == got["ci_high"] == 0, kpi  # itself
            elif len(diffs) >= 2:
                est = t_interval(diffs)
                assert (got["ci_low"], got["ci_high"]) == pytest.approx((est.low, est.high), abs=1e-12), kpi
            checked += 1
    assert checked > 40


def _unpaired_width(a: np.ndarray, b: np.ndarray) -> float:
    """Width of the 95% t interval of mean(a) - mean(b) from two independent samples (pooled, 2n - 2 df)."""
    from scipy.special import stdtrit

    n, m = len(a), len(b)
    pooled = ((n - 1) * a.var(ddof=1) + (m - 1) * b.var(ddof=1)) / (n + m - 2)
    return 2 * float(stdtrit(n + m - 2, 0.975)) * math.sqrt(pooled * (1 / n + 1 / m))


def test_paired_interval_is_narrower_where_common_random_numbers_hold(compared):
    """Call handlers do not touch the units: both points' incidents and units are the same but for a few
    graded later, so attendance moves together seed by seed; the pairs' interval is far narrower than the
    unpaired one (with the wrong pairing it would not be)."""
    out, report, _ = compared
    runs = pd.read_parquet(out / sweep.SWEEP_TABLE)
    point = next(e for e in report["comparison"]["points"] if e["point"] == 1)
    for kpi in ("attend_within_target_all", "attend_within_target_priority"):
        a = runs[runs["point"] == 1].sort_values("seed")[kpi].astype(float).to_numpy()
        b = runs[runs["point"] == 0].sort_values("seed")[kpi].astype(float).to_numpy()
        got = point["kpis"][kpi]
        paired = got["ci_high"] - got["ci_low"]
        # narrower although a pair's t quantile is far larger with two seeds (12.7 on 1 degree of freedom,
        # against 4.3 on 2 for the unpaired one)
        assert paired < _unpaired_width(a, b), (kpi, paired, _unpaired_width(a, b))
        # pairing seed 1 with seed 2 (no common random numbers) loses it
        crossed = paired_interval(a, b[::-1])
        assert crossed.high - crossed.low > 2 * paired, kpi


def test_baseline_by_label_or_by_another_folder_gives_the_same_comparison(compared, tmp_path):
    out, report, _ = compared
    by_label = _copy(tmp_path, "a")
    build_report(by_label, baseline=f"{KEY}=3")
    assert json.loads((by_label / REPORT_JSON).read_text())["comparison"] == report["comparison"]
    other = _copy(tmp_path, "b")
    build_report(other, baseline=f"{out}#0")
    assert json.loads((other / REPORT_JSON).read_text())["comparison"] == report["comparison"]


def test_single_run_against_another_run_of_the_same_seed(tmp_path):
    folder = _copy(tmp_path)
    runs = pd.read_parquet(folder / sweep.SWEEP_TABLE)
    first = runs[runs["replication"] == 0].sort_values("point")
    mine, theirs = folder / first.iloc[1]["run_dir"], folder / first.iloc[0]["run_dir"]
    build_report(mine, baseline=str(theirs))
    got = json.loads((mine / REPORT_JSON).read_text())["comparison"]
    a = json.loads((mine / "summary.json").read_text())["kpis"]
    b = json.loads((theirs / "summary.json").read_text())["kpis"]
    kpis = got["points"][0]["kpis"]
    for kpi in ("sl_999_10s", "attend_within_target_all", "calls_999_offered"):
        assert kpis[kpi]["diff_mean"] == pytest.approx(a[kpi] - b[kpi], abs=1e-12)
        assert kpis[kpi]["n"] == 1 and kpis[kpi]["ci_low"] is None  # one pair: no interval


def test_unmatched_seeds_are_a_clear_error(tmp_path):
    folder = _copy(tmp_path)
    runs = pd.read_parquet(folder / sweep.SWEEP_TABLE)
    gone = runs[(runs["point"] == 0) & (runs["replication"] == 1)].iloc[0]
    shutil.rmtree(folder / gone["run_dir"])
    done = cli_report(folder, "--baseline", "0")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"no run with seed {int(gone['seed'])}" in done.stderr and "same seeds" in done.stderr
    # a run folder has one seed: the sweep's other replication has no partner
    one = folder / runs[(runs["point"] == 1) & (runs["replication"] == 0)].iloc[0]["run_dir"]
    done = cli_report(folder, "--baseline", str(one))
    assert done.returncode == 2 and "no run with seed" in done.stderr


@pytest.mark.parametrize("spec, words", [("7", "has no point 7"), ("nosuch.key=3", "is not swept"),
                                         (f"{KEY}=4", "no point of this sweep"), ("/no/such/dir", "no such folder")])
def test_a_baseline_that_names_nothing_is_one_line(compared, tmp_path, spec, words):
    folder = _copy(tmp_path)
    done = cli_report(folder, "--baseline", spec)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert words in done.stderr, done.stderr


def test_comparison_section_and_back_to_the_baseline_standard_on_the_page(compared):
    _, report, page = compared
    assert 'id="comparison"' in page and 'data-chart="chart-diff"' in page
    for div in ("chart-pair-heat-sl-999", "chart-pair-heat-abandon-101", "chart-pair-heat-attendance"):
        assert f'data-chart="{div}"' in page
    assert "back to the baseline&#x27;s level" in page or "back to the baseline's level" in page
    fixed = [s for s in report["standards"]][:5]
    level = [s for s in report["standards"]][5:]
    assert [s["kpi"] for s in fixed] == [s["kpi"] for s in level]  # one "back to the baseline" per goal
    runs = pd.read_parquet(compared[0] / sweep.SWEEP_TABLE)
    for s in level:  # its line is the baseline's mean
        assert s["goal"] == pytest.approx(runs[runs["point"] == 0][s["kpi"]].astype(float).mean(), abs=1e-12)


# ----------------------------------------------------------------- least_value and monotone
def _built(means: dict, at_least: bool = True, half: float = 0.01) -> ReportData:
    """A one-key sweep with one standard (goal 0.9), each point's interval mean ± ``half``."""
    key = "staffing.units.shifts.0.staff"
    summary = pd.DataFrame([{"point": i, key: v, "kpi": "sl_999_10s", "n": 5, "mean": m, "sd": 0.01,
                             "ci_low": m - half, "ci_high": m + half} for i, (v, m) in enumerate(means.items())])
    std = Standard("sl_999_10s", "999 calls answered within 10 s", 0.9, at_least, key="report.sl_999_10s_goal")
    chosen = RunData(Path("."), {"kpis": {}}, {}, None, None, None)
    return ReportData(Path("."), "built", True, chosen, "", [std], "", summary=summary, swept_keys=[key],
                      x_key=key)


def test_least_value_on_a_non_monotone_sweep():
    # met at 12, fails at 14, met again from 16: the least value is 16, and the points do not move one way
    got = export.report_json(_built({10: 0.85, 12: 0.93, 14: 0.89, 16: 0.92, 18: 0.95}))["standards"]
    assert got == [{"kpi": "sl_999_10s", "goal": 0.9, "direction": ">=", "least_value": 16, "monotone": False}]
    got = export.report_json(_built({10: 0.95, 12: 0.85}))["standards"][0]
    assert (got["least_value"], got["monotone"]) == (None, True)  # one way: down


def test_least_value_on_monotone_sweeps_is_the_brute_force_one():
    values = [2, 4, 6, 8, 10, 12]
    rising = np.linspace(0.84, 0.96, len(values))
    for at_least, half in itertools.product([True, False], [0.005, 0.02, 0.05]):
        means = dict(zip(values, rising if at_least else rising[::-1]))
        got = export.report_json(_built(means, at_least, half))["standards"][0]
        met = {v: (m - half >= 0.9) if at_least else (m + half <= 0.9) for v, m in means.items()}
        assert got["least_value"] == brute_force_least(met), (at_least, half)
        assert got["monotone"] is True
        assert got["direction"] == (">=" if at_least else "<=")


# ----------------------------------------------------------------- goals set when the report is made
def test_a_report_override_changes_the_goal(tmp_path):
    folder = _copy(tmp_path)
    done = cli_report(folder, "report.attendance_goal.priority=0.45", "--baseline", "0")  # options in any order
    assert done.returncode == 0, done.stderr
    report = json.loads((folder / REPORT_JSON).read_text())
    goals = {s["kpi"]: s["goal"] for s in report["standards"][:5]}
    assert goals["attend_within_target_priority"] == 0.45 and goals["attend_within_target_prompt"] == 0.9
    data = load(folder, overrides=["report.attendance_goal.priority=0.45"])
    sources = {s.kpi: s.source for s in data.standards}
    assert sources["attend_within_target_priority"] == FROM_COMMAND_LINE
    assert sources["sl_999_10s"] == FROM_RUNS
    page = (folder / REPORT_FILE).read_text(encoding="utf-8")
    section = page.split('id="goals"', 1)[1].split("</div>", 1)[0]
    assert "the command line (report.attendance_goal.priority)" in section
    assert "the runs&#x27; config (report.sl_999_10s_goal)" in section


@pytest.mark.parametrize("word, words", [("report.attendance_goal.urgent=0.5", "unknown key on the command line"),
                                         ("report.sl_999_10s_goal=abc", "must be a share between 0 and 1"),
                                         ("report.abandon_101_max=1.5", "must be a share between 0 and 1"),
                                         ("run.days=3", "the report sets only report.* keys"),
                                         ("report.attendance_goal=0.5", "unknown key")])
def test_a_bad_report_override_is_one_line_naming_it(word, words):
    with pytest.raises(ConfigError, match=words) as caught:
        parse_report_overrides([word])
    assert str(caught.value).startswith(word.split("=")[0])


def test_runs_with_different_goals_are_never_silently_reconciled(tmp_path):
    folder = _copy(tmp_path)
    runs = pd.read_parquet(folder / sweep.SWEEP_TABLE)
    for run_dir in runs[runs["point"] == 1]["run_dir"]:  # as a scenario with its own goal would
        path = folder / run_dir / "config.yaml"
        text = path.read_text()
        assert "    priority: 0.9\n" in text
        path.write_text(text.replace("    priority: 0.9\n", "    priority: 0.5\n", 1))
    with pytest.raises(ReportError, match=r"different values of report\.attendance_goal\.priority .*0\.9.*0\.5"):
        load(folder)
    data = load(folder, overrides=["report.attendance_goal.priority=0.6"])
    assert {s.kpi: s.value for s in data.standards}["attend_within_target_priority"] == 0.6


# ----------------------------------------------------------------- share intervals stay within 0..1
def test_share_intervals_stay_within_0_and_1_in_both_tables(compared):
    out, report, _ = compared
    summary = pd.read_parquet(out / sweep.SUMMARY_TABLE)
    shares = summary[summary["kpi"].isin(SHARE_KPIS)].dropna(subset=["ci_low"])
    assert len(shares) >= 20
    assert (shares["ci_low"] >= 0).all() and (shares["ci_high"] <= 1).all()
    assert ((shares["ci_low"] <= shares["mean"]) & (shares["mean"] <= shares["ci_high"])).all()
    seen = 0
    for point in report["points"]:
        for kpi, v in point["kpis"].items():
            if kpi in SHARE_KPIS and v["ci_low"] is not None:
                assert 0 <= v["ci_low"] <= v["mean"] <= v["ci_high"] <= 1, (kpi, v)
                seen += 1
    assert seen == len(shares)


def test_share_kpis_are_kpis_a_run_writes(compared):
    kpis = json.loads(next((compared[0] / sweep.RUNS_DIR).glob("*/summary.json")).read_text())["kpis"]
    assert set(SHARE_KPIS) <= set(kpis)
    for grade in DEPLOYED_GRADES:
        assert f"attend_within_target_{grade}" in SHARE_KPIS


def test_share_interval_near_the_edges():
    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(2, 12))
        centre = rng.choice([0.002, 0.03, 0.5, 0.97, 0.999])
        values = np.clip(rng.normal(centre, rng.choice([0.001, 0.02, 0.2]), n), 0, 1)
        ci, t = share_interval(values), t_interval(values)
        assert 0 <= ci.low <= ci.mean <= ci.high <= 1
        assert ci.mean == t.mean and ci.n == t.n
    # the case: prompt attendance 0.4% whose t interval went below 0
    ci = share_interval([0.0, 0.0, 0.012])
    assert t_interval([0.0, 0.0, 0.012]).low < 0 < ci.low
    # far from the edges it is close to the t interval (first order)
    values = [0.50, 0.51, 0.49, 0.50, 0.52, 0.48]
    assert share_interval(values).low == pytest.approx(t_interval(values).low, abs=2e-4)
    assert share_interval([1.0, 1.0]).low == 1.0 and math.isnan(share_interval([0.3]).low)
