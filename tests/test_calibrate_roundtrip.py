"""Round trip: simulate a force with known numbers, export its calls and incidents as a force's
ACD/CAD exports, calibrate, and get the numbers back within the sampling error of the data's
size; the back-test of the recovered scenario agrees with the records within its band.

The known force (tests/data/roundtrip_force.yaml) has the structure a calibrated scenario has,
28 measured days, 999 and 101 abandonment of about 13% and 24% (censoring matters) and units
about 70% busy. Tolerances are 4 standard errors of each estimate unless said otherwise.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from demandsim.calibrate.__main__ import main as calibrate_main
from demandsim.calibrate.backtest import within_band
from demandsim.config import load_config
from demandsim.export import export_run
from demandsim.outputs import write_run_folder
from demandsim.runner import simulate

FORCE = Path(__file__).parent / "data" / "roundtrip_force.yaml"
Z = 4.0
REPLICATIONS = 5


@pytest.fixture(scope="module")
def force(tmp_path_factory):
    folder = tmp_path_factory.mktemp("roundtrip")
    cfg = load_config([f"scenario={FORCE}", "run.engine=fast", "run.progress=false"])
    result = simulate(cfg, progress=False)
    write_run_folder(result, folder / "run")
    calls, incidents = export_run(folder / "run", folder / "export")
    # the simulator's clock has no summer time: the export's zone is "none"
    (folder / "map.yaml").write_text("calls:\n  zone: none\n")
    code = calibrate_main([str(calls), "--incidents", str(incidents), "--name", "force", "--out",
                           str(folder / "out"), "--mapping", str(folder / "map.yaml"), "--backtest",
                           "--replications", str(REPLICATIONS)])
    assert code == 0
    out = folder / "out"
    return {"cfg": cfg, "kpis": result.kpis, "out": out,
            "cal": json.loads((out / "force.calibration.json").read_text()),
            "bt": json.loads((out / "force.backtest.json").read_text())}


def true_rate_per_hour(cfg, line: str) -> np.ndarray:
    arrivals = getattr(cfg.arrivals, f"line_{line}")
    shape = np.asarray(arrivals.hour_of_week, dtype=float)
    return arrivals.per_year / 8760.0 * shape / shape.mean()


@pytest.mark.parametrize("line", ["999", "101"])
def test_volume_and_hour_of_week_shape_recovered(force, line):
    fitted = force["cal"]["lines"][line]
    truth = true_rate_per_hour(force["cfg"], line)
    days = force["cal"]["period"]["days"]
    expected = truth.sum() * days / 7
    assert abs(fitted["calls"] - expected) <= Z * math.sqrt(expected)
    # each hour of the week: Poisson counts over the 4 weeks; together a chi-square on 168 hours
    occurrences = days / 7
    z = (np.asarray(fitted["per_hour_of_week"]) - truth) / np.sqrt(truth / occurrences)
    assert float((z ** 2).sum()) < stats.chi2.ppf(0.999, 168)
    assert np.abs(z).max() < 4.5


@pytest.mark.parametrize("line, mean_min, cv", [("999", 5.0, 0.6), ("101", 3.0, 0.7)])
def test_mean_handle_recovered(force, line, mean_min, cv):
    fitted = force["cal"]["lines"][line]["handle"]
    answered = force["cal"]["lines"][line]["calls"] * (1 - force["bt"]["lines"][line]["overall"]["observed"][
        "abandon_rate"])
    se = cv * mean_min * 60 / math.sqrt(answered)
    assert abs(fitted["mean_s"] - mean_min * 60) <= Z * se
    assert fitted["fit"]["family"] == "empirical"


@pytest.mark.parametrize("line, mean_min", [("999", 1.5), ("101", 4.0)])
def test_patience_recovered_from_censored_waits(force, line, mean_min):
    """Abandonment 13% (999) and 24% (101): most waits are censored, yet the mean comes back."""
    fitted = force["cal"]["lines"][line]["patience"]["fit"]
    rate = force["bt"]["lines"][line]["overall"]["observed"]["abandon_rate"]
    assert 0.05 <= rate <= 0.30
    # the standard error of the fitted mean: about mean / sqrt(hang-ups) for these shapes
    hang_ups = rate * force["cal"]["lines"][line]["calls"]
    se = mean_min * 60 / math.sqrt(hang_ups) * 1.3  # 1.3: Weibull's shape is fitted too (its se is larger)
    assert abs(fitted["mean_s"] - mean_min * 60) <= Z * se, fitted


def test_grade_mix_recovered(force):
    mix = force["cal"]["incidents"]["grade_mix"]["999"]
    truth = {"immediate": 0.2, "priority": 0.3, "prompt": 0.2, "scheduled": 0.1, "no_deployment": 0.2}
    answered = force["cal"]["incidents"]["grade_mix"] and force["cal"]["lines"]["999"]["calls"] * (
        1 - force["bt"]["lines"]["999"]["overall"]["observed"]["abandon_rate"])
    for grade, p in truth.items():
        assert abs(mix[grade] - p) <= Z * math.sqrt(p * (1 - p) / answered), grade


def test_call_handlers_available_recovered_where_callers_waited(force):
    """In the hours estimated from the queue, the estimate rounds to the roster (the shifts of
    roundtrip_force.yaml laid on the week); the hour after a shift ends may fall between."""
    from demandsim.model.rosters import headcount_by_hour_of_week

    cfg = force["cfg"]
    for line, group in (("999", cfg.staffing.call_handlers), ("101", cfg.staffing.switchboard)):
        fitted = force["cal"]["lines"][line]
        truth = np.asarray(headcount_by_hour_of_week(group, f"staffing.{line}"))
        waiting = np.array([m == "waiting" for m in fitted["staff_method_per_hour_of_week"]])
        right = np.round(np.asarray(fitted["staff_per_hour_of_week"]))[waiting] == truth[waiting]
        assert waiting.sum() >= 120 and right.mean() >= 0.9, (line, right.mean())


def test_backtest_agrees_with_the_records(force):
    """Overall, every KPI of every line and grade lies in its band; hour by hour, a 95% band
    misses about one hour in twenty by chance, so at least 20 of the 24 hours are in it."""
    bt = force["bt"]
    assert bt["replications"] == REPLICATIONS
    blocks = list(bt["lines"].values()) + list(bt["incidents"].values())
    assert len(blocks) == 5
    for block in blocks:
        assert all(within_band(block["overall"]).values()), block["overall"]
        assert len(block["by_hour_of_day"]) == 24
        for kpi in block["overall"]["observed"]:
            hours = [within_band(h)[kpi] for h in block["by_hour_of_day"]]
            known = [h for h in hours if h is not None]
            assert sum(known) >= len(known) - 4, (kpi, hours)


def test_files_and_layouts(force):
    out = force["out"]
    assert sorted(p.name for p in out.iterdir()) == [
        "force.backtest.json", "force.calibration.html", "force.calibration.json", "force.yaml"]
    cal = force["cal"]
    assert set(cal) == {"records", "period", "lines", "incidents"}
    assert set(cal["records"]) == {"used", "excluded"} and cal["records"]["excluded"] == {}
    assert cal["period"]["days"] == 28.0 and cal["period"]["start"].startswith("2024-02-06")
    for line in ("999", "101"):
        x = cal["lines"][line]
        assert len(x["per_hour_of_week"]) == 168 and len(x["staff_per_hour_of_week"]) == 168
        assert set(x["patience"]) == {"km_median_s", "fit"}
        assert set(x["patience"]["fit"]) == {"family", "params", "mean_s"}
        assert set(x["handle"]) == {"mean_s", "fit"} and set(x["handle"]["fit"]) == {"family", "params"}
    overall = force["bt"]["lines"]["999"]["overall"]
    assert set(overall["observed"]) == {"abandon_rate", "sl_10s", "asa_s"}
    assert set(overall["simulated"]) == {"mean", "ci_low", "ci_high"}
    page = (out / "force.calibration.html").read_text()
    assert "Plotly" in page and "<script src=" not in page  # plotly.js embedded, nothing fetched
    text = (out / "force.yaml").read_text()
    assert "# @package _global_" in text and "by maximum likelihood on" in text and "censored" in text


def test_calibrated_scenario_runs_by_its_path(force):
    cfg = load_config([f"scenario={force['out'] / 'force.yaml'}"])
    assert cfg.scenario_name == "calibrated_force"
    assert cfg.callers.redial.to_999 == 0 and not cfg.callers.callback_999.enabled
