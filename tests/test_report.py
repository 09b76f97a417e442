"""The report's content: self-contained page, charts, standards, smallest staffing (the least value from
which every larger one meets the standard), heatmaps by the KPIs' own definitions, escaping."""

from __future__ import annotations

import html
import itertools
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demandsim import sweep
from demandsim.report import REPORT_FILE, build_report
from demandsim.report.data import ReportData, RunData, Standard, heatmaps, load
from demandsim.report.standards import least_from_which_all_meet, smallest_staffing
from demandsim.stats import Interval
from helpers import cli, small_sweep

#: the baseline has six areas: a chart each (attendance by grade in the area, chosen run)
AREA_CHARTS = [f"chart-area-{k}" for k in range(6)]
SWEEP_CHARTS = ["chart-attendance", "chart-abandon-101", "chart-sl-999", "chart-heat-sl-999",
                "chart-heat-abandon-101", "chart-heat-attendance", *AREA_CHARTS, "chart-average-day"]


@pytest.fixture(scope="module")
def sweep_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "sw"
    shutil.copytree(small_sweep(), out)
    done = cli_report(out)
    assert done.returncode == 0, done.stderr
    return out, (out / REPORT_FILE).read_text(encoding="utf-8")


def cli_report(folder, *args):
    import os
    import subprocess
    import sys

    from demandsim.config import PROJECT_DIR

    return subprocess.run([sys.executable, "-m", "demandsim.report", str(folder), *args], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))


def test_report_is_self_contained(sweep_report):
    _, page = sweep_report
    assert not re.search(r"<script[^>]+src=", page), "no script may be loaded from anywhere"
    assert not re.search(r"<link[^>]+href=\"?https?:", page)
    assert "<script src=\"http" not in page  # (plotly.js names a CDN only for map topojson, unused here)
    assert len(page) > 1_000_000  # plotly.js itself is in the page
    assert page.count("Plotly.newPlot(") == len(SWEEP_CHARTS)


def test_every_chart_has_title_axes_and_footer(sweep_report):
    out, page = sweep_report
    for div in SWEEP_CHARTS:
        assert f'data-chart="{div}"' in page, div
    data = load(out)
    from demandsim.report import figures

    figs = [fig for _, _, fs in figures(data) for _, fig in fs]
    assert len(figs) == len(SWEEP_CHARTS)
    for fig in figs:
        assert fig.layout.title.text
        axes = fig.to_dict()["layout"]
        for axis in ("x", "y"):  # with subplots, a shared x axis is titled once, on the bottom panel
            assert any((v.get("title") or {}).get("text") for k, v in axes.items() if k.startswith(f"{axis}axis")), axis
        foot = [a.text for a in fig.layout.annotations if a.text.startswith("Scenario: ")]
        assert foot and "baseline_2021" in foot[0] and data.config_hash in foot[0]


def test_standards_and_goal_lines_are_drawn(sweep_report):
    _, page = sweep_report
    assert "goal 90% for every grade (assumed: the sources set none)" in page
    assert "national standard for forces with a switchboard: ≤ 5%" in page or "\\u2264 5%" in page
    assert "national expectation: ≥ 90%" in page or "\\u2265 90%" in page


def test_smallest_staffing_table(sweep_report):
    out, page = sweep_report
    data = load(out)
    every = smallest_staffing(data)
    key = "staffing.call_handlers.shifts.2.staff"
    assert {r["key"] for r in every} == {key}
    # the key is one shift's staff: each standard over the whole week, then over that shift's hours
    rows = [r for r in every if r["over"] == "whole week"]
    assert len(rows) == 5  # 999, 101 and three grades
    assert [r["over"] for r in every[5:]] == ["the hours of staffing.call_handlers.shifts.2 (17:00-03:00, every day)"] * 5
    # each answer is the one the sweep's own intervals give (two points: 3 and 5 handlers)
    summary = data.summary
    for std, r in zip(data.standards, rows):
        assert r["standard"] == std.text
        part = summary[summary["kpi"] == std.kpi].sort_values(key)
        met = [std.met(Interval(m, lo, hi, sd, int(n)))
               for m, lo, hi, sd, n in part[["mean", "ci_low", "ci_high", "sd", "n"]].itertuples(index=False)]
        if part["mean"].isna().all():
            assert r["least"].startswith("not measured"), r
            continue
        expected = {(False, False): "not met in range", (True, False): "not met at the largest value in range",
                    (False, True): "5", (True, True): "3"}[tuple(met)]
        assert r["least"] == expected, (r, met)
        assert ("not monotone" in r["note"]) == (met == [True, False])
    section = page.split("Smallest staffing that meets each standard", 1)[1].split("<h2>", 1)[0]
    for r in rows:
        assert f"<td>{html.escape(r['least'])}</td>" in section, r


def brute_force_least(met: dict):
    """The definition, checked value by value: the least v with the standard met at every swept value >= v."""
    candidates = [v for v in met if all(ok for u, ok in met.items() if u >= v)]
    return min(candidates) if candidates else None


def test_least_value_is_the_one_from_which_all_larger_meet():
    values = [2, 4, 6, 8, 10]
    for pattern in itertools.product([False, True], repeat=len(values)):  # monotone and not
        met = dict(zip(values, pattern))
        least, stray = least_from_which_all_meet(met)
        assert least == brute_force_least(met), met
        monotone = list(pattern) == sorted(pattern)
        assert (stray == []) == monotone, met
        assert stray == [v for v in values if met[v] and (least is None or v < least)]


def _built_report(means: dict[int, float], at_least: bool) -> ReportData:
    """A sweep of units.staff with one standard, each point's 95% interval mean ± 0.01."""
    key = "staffing.units.shifts.0.staff"
    summary = pd.DataFrame([{"point": i, key: v, "kpi": "sl_999_10s", "n": 5, "mean": m, "sd": 0.01,
                             "ci_low": m - 0.01, "ci_high": m + 0.01} for i, (v, m) in enumerate(means.items())])
    std = Standard("sl_999_10s", "999 calls answered within 10 s", 0.9, at_least)
    return ReportData(Path("."), "built", True, None, "", [std], "", summary=summary, swept_keys=[key])


def test_smallest_staffing_on_a_non_monotone_sweep():
    # met (interval above 90%) at 12, fails at 14 (a bad replication set), met again from 16
    rows = smallest_staffing(_built_report({10: 0.85, 12: 0.93, 14: 0.89, 16: 0.92, 18: 0.95}, True))
    assert [r["least"] for r in rows] == ["16"]  # not 12: 14 fails
    assert rows[0]["note"] == "not monotone: also met at 12, below a value that fails"
    rows = smallest_staffing(_built_report({10: 0.85, 12: 0.93, 14: 0.95}, True))
    assert [(r["least"], r["note"]) for r in rows] == [("12", "")]
    rows = smallest_staffing(_built_report({10: 0.95, 12: 0.85}, True))
    assert [(r["least"], r["note"]) for r in rows] == [
        ("not met at the largest value in range", "not monotone: also met at 10, below a value that fails")]
    # "at most" standards read the other end of the interval: 0.895 +- 0.01 is not all below 0.9
    rows = smallest_staffing(_built_report({10: 0.95, 12: 0.895, 14: 0.88}, False))
    assert [r["least"] for r in rows] == ["14"]


def test_heatmaps_use_the_kpi_definitions(sweep_report):
    """Weighted over the week, each heatmap is its KPI of the run exactly (same rows, same 10 s)."""
    data = load(sweep_report[0])
    kpis = data.chosen.summary["kpis"]
    grids = heatmaps(data.chosen)
    for grid, kpi in (("sl_999", "sl_999_10s"), ("abandon_101", "abandon_rate_101"),
                      ("attendance", "attend_within_target_all")):
        share, counts = grids[grid]
        whole = np.nansum(share * counts) / counts.sum()
        assert whole == pytest.approx(kpis[kpi], rel=1e-12), grid
    assert grids["sl_999"][1].sum() == kpis["calls_999_offered"]  # calls from the public, not transfers


def test_missing_runs_are_listed_not_hidden(sweep_report, tmp_path):
    out = tmp_path / "sw"
    shutil.copytree(sweep_report[0], out)
    victim = sorted((out / sweep.RUNS_DIR).iterdir())[0]
    shutil.rmtree(victim)
    path = build_report(out)
    page = path.read_text(encoding="utf-8")
    assert 'id="missing"' in page and "Runs missing from this sweep" in page
    assert "staffing.call_handlers.shifts.2.staff=" in page.split('id="missing"', 1)[1][:600]


def test_single_run_report_and_escaping(tmp_path):
    out = tmp_path / "run"
    name = "</script><script>alert(1)</script><b>x</b>"
    done = cli(f"scenario_name='{name}'", "arrivals.line_999.growth=1.1", "run.days=1", "run.warmup_days=0.25",
               f"hydra.run.dir={out}")
    assert done.returncode == 0, done.stderr
    done = cli_report(out)
    assert done.returncode == 0, done.stderr
    page = (out / REPORT_FILE).read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "<b>x</b>" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page
    # the title names the override that changed the model (the run's length is said under it)
    assert "&lt;b&gt;x&lt;/b&gt; with arrivals.line_999.growth=1.1</h1>" in page
    assert "Also on the command line: run.days=1, run.warmup_days=0.25</p>" in page
    assert page.count("Plotly.newPlot(") == 4 + len(AREA_CHARTS)  # three heatmaps, the areas and the average day


def test_report_on_a_bad_folder_is_one_line(tmp_path):
    done = cli_report(tmp_path / "nothing")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "no such folder" in done.stderr
    done = cli_report(tmp_path)
    assert done.returncode == 2 and "not a complete run folder" in done.stderr


def test_png_export_for_slide_packs(sweep_report, tmp_path):
    """--png writes images with kaleido and the installed Chromium, offline (one chart here, for time)."""
    import os

    if not (shutil.which("chromium") and _has("kaleido")):
        if os.environ.get("CI"):
            raise AssertionError("CI: kaleido (test extra) and chromium (.ci/run) must be installed")
        pytest.skip("needs kaleido (pip install -e '.[png]') and chromium (apt-get install chromium)")
    from demandsim.report import export_png, figures

    data = load(sweep_report[0])
    heading, text, figs = figures(data)[2]
    written = export_png(tmp_path, [(heading, text, figs[:1])])
    assert [p.name for p in written] == ["sl-999.png"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and written[0].stat().st_size > 20_000


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_shared_config_hash_from_one_config_per_point_is_that_of_every_run(sweep_report):
    from demandsim.outputs import read_yaml
    from demandsim.report.data import shared_config_hash

    folder, _ = sweep_report
    data = load(folder)
    assert data.runs["point"].nunique() < len(data.runs)  # replications, so the shortcut is exercised
    every = [read_yaml(folder / d / "config.yaml") for d in data.runs["run_dir"]]
    assert data.config_hash == shared_config_hash(every)


def test_a_run_whose_units_cannot_keep_up_says_so_on_the_page(tmp_path):
    """+27% 999 demand with today's units and no THRIVE review: the backlog grows without settling
    (stable false), and the page says so in words above the charts; the baseline's page does not."""
    import json

    pages = {}
    for scenario in ("demand_2024", "baseline_2021"):
        out = tmp_path / scenario
        review_off = ["review.enabled=false"] if scenario == "demand_2024" else []  # demand_2024 reviews
        done = cli(f"scenario={scenario}", *review_off, "run.days=9", "run.warmup_days=1", "run.engine=fast",
                   f"hydra.run.dir={out}")
        assert done.returncode == 0, done.stderr
        summary = json.loads((out / "summary.json").read_text())
        assert summary["kpis"]["stable"] is (scenario == "baseline_2021")
        assert bool(summary["warnings"]) is (scenario == "demand_2024")
        assert cli_report(out).returncode == 0
        pages[scenario] = html.unescape((out / REPORT_FILE).read_text())
    assert 'id="capacity"' in pages["demand_2024"] and "Units cannot keep up" in pages["demand_2024"]
    assert 'id="capacity"' not in pages["baseline_2021"]


def test_a_chart_per_area_shows_the_areas_kpis(tmp_path):
    """A run with areas: one chart per area, in the run's order, its bars the area's by_area shares
    (summary.json), each grade's goal drawn; a run with one pool of units has none."""
    import json

    from demandsim.report import figures

    for scenario, expected in (("baseline_2021", 6), ("single_area", 0)):
        out = tmp_path / scenario
        done = cli(f"scenario={scenario}", "run.days=2", "run.warmup_days=0.5", "run.engine=fast",
                   f"hydra.run.dir={out}")
        assert done.returncode == 0, done.stderr
        data = load(out)
        areas = [fig for _, _, figs in figures(data) for div, fig in figs if div.startswith("chart-area-")]
        assert len(areas) == expected
        by_area = json.loads((out / "summary.json").read_text()).get("by_area", {})
        for fig, (name, kpis) in zip(areas, by_area.items()):
            assert fig.layout.title.text.startswith(f"{name}:")
            bars = fig.data[0]
            assert list(bars.x) == ["immediate", "priority", "prompt"]
            wanted = [kpis[f"attend_within_target_{g}"] for g in bars.x]
            assert [None if y != y else y for y in bars.y] == wanted
            assert len(fig.layout.shapes) == 3  # each grade's goal


# ----------------------------------------------------------------- charts a board reads at a glance (issue 11)
def _board_report(key: str, lines: dict[str, list[float]], extra: dict[str, list[float]] | None = None,
                  goals: dict[str, float] | None = None, config: dict | None = None, seeds: int = 0) -> ReportData:
    """A built sweep of ``key`` over 3, 4, 5 with the default standards (``goals``: report.* values
    over them): each KPI of ``lines`` has these means (95% interval mean ± 0.005); ``extra`` KPIs are
    means without a standard (incidents, utilisation). With ``seeds``, a runs table too: each seed's
    value the mean plus a seed effect shared by every point (common random numbers)."""
    from demandsim.report.data import standards

    values = [3, 4, 5]
    every = {**lines, **(extra or {})}
    summary = pd.DataFrame([{"point": i, key: v, "kpi": kpi, "n": max(seeds, 5), "mean": means[i], "sd": 0.004,
                             "ci_low": means[i] - 0.005, "ci_high": means[i] + 0.005}
                            for kpi, means in every.items() for i, v in enumerate(values)])
    runs = pd.DataFrame([{"point": i, key: v, "seed": 2021 + s, "replication": s,
                          **{kpi: means[i] + 0.01 * (s - seeds / 2) for kpi, means in every.items()}}
                         for i, v in enumerate(values) for s in range(seeds)])
    rep = {"report": {"attendance_goal": {g: (goals or {}).get(g, 0.9) for g in ("immediate", "priority", "prompt")}}}
    chosen = RunData(Path("."), {"kpis": {}}, config or {}, None, None, None)
    return ReportData(Path("."), "built", True, chosen, "", standards(rep), "", runs=runs, summary=summary,
                      swept_keys=[key], x_key=key, replications=max(seeds, 5))


def test_service_level_axis_is_zoomed_to_the_data_with_the_90_line_in_view():
    from demandsim.report.charts import service_level_chart

    for means in ([0.93, 0.96, 0.98], [0.86, 0.87, 0.88], [0.95, 0.97, 0.99]):
        fig = service_level_chart(_board_report("staffing.call_handlers.shifts.2.staff", {"sl_999_10s": means}))
        low, high = fig.layout.yaxis.range
        assert low <= 0.9 <= high, (means, low, high)
        assert low <= min(means) - 0.005 and high >= max(means) + 0.005, "every point and band in view"
        assert (low, high) != (0, 1) and low > 0.5, "zoomed, not 0-100%"
        assert high <= 1.011  # a share's axis ends at 100% (and a marker's margin)


def _colour_at(scale: list, position: float) -> tuple[int, int, int]:
    """The colour a plotly colour scale gives at ``position`` (0..1), as plotly interpolates it."""
    for (p0, c0), (p1, c1) in zip(scale, scale[1:]):
        if p0 <= position <= p1:
            a = np.array([int(c0[k:k + 2], 16) for k in (1, 3, 5)], dtype=float)
            b = np.array([int(c1[k:k + 2], 16) for k in (1, 3, 5)], dtype=float)
            r, g, bl = a + (b - a) * ((position - p0) / (p1 - p0) if p1 > p0 else 0)
            return round(r), round(g), round(bl)
    raise AssertionError(position)


def test_heatmap_colours_are_centred_on_the_standard(sweep_report):
    from demandsim.report.charts import NEUTRAL, centred_scale, heatmap_charts

    data = load(sweep_report[0])
    goals = {"sl_999_10s": 0.9, "abandon_rate_101": 0.05, "attend_within_target_all": 0.9}
    for fig, goal in zip(heatmap_charts(data, data.chosen), goals.values()):
        trace = fig.data[0]
        scale = [list(stop) for stop in trace.colorscale]
        centre = [p for p, c in scale if c == NEUTRAL]
        assert len(centre) == 1, scale
        assert trace.zmin + centre[0] * (trace.zmax - trace.zmin) == pytest.approx(goal, abs=1e-9)
        assert "pale yellow" in trace.colorbar.title.text and f"{100 * goal:g}%" in trace.colorbar.title.text
        assert f"{100 * goal:g}%" in trace.colorbar.ticktext  # the centre is a tick
    # 101 abandonment of 10-13% against a 5% standard: red (more red than green), never green
    scale = centred_scale(0.05, False, 0.0, 0.15)
    for share in (0.10, 0.13):
        r, g, _ = _colour_at(scale, share / 0.15)
        assert r > g + 40, (share, r, g)
    r, g, _ = _colour_at(scale, 0.01 / 0.15)  # well under the standard: green
    assert g > r
    # 999 answered: 80% misses a 90% goal (red), 97% meets it (green)
    scale = centred_scale(0.9, True, 0.6, 1.0)
    assert _colour_at(scale, (0.80 - 0.6) / 0.4)[0] > _colour_at(scale, (0.80 - 0.6) / 0.4)[1]
    assert _colour_at(scale, (0.97 - 0.6) / 0.4)[1] > _colour_at(scale, (0.97 - 0.6) / 0.4)[0]


def _figure_texts(fig) -> list[str]:
    """Every text a reader sees on a figure: titles (of the chart, axes, subplots, colour bars), annotations,
    legend entries and tick labels given as text (not the hover text, not the config-key footer line)."""
    layout = fig.to_dict()["layout"]
    texts = [(layout.get("title") or {}).get("text") or ""]
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")):
            texts.append((axis.get("title") or {}).get("text") or "")
            texts += [str(t) for t in axis.get("ticktext") or []]
    for note in layout.get("annotations") or []:
        texts.append(note.get("text") or "")
    for trace in fig.data:
        if trace.showlegend is not False and trace.type != "heatmap":
            texts.append(trace.name or "")
        colorbar = getattr(trace, "colorbar", None)
        if colorbar is not None and colorbar.title is not None:
            texts.append(colorbar.title.text or "")
            texts += [str(t) for t in colorbar.ticktext or []]
    texts += [str(n) for n in ((layout.get("meta") or {}).get("notes") or [])]
    return texts


def test_no_raw_kpi_name_or_exponent_on_any_chart(sweep_report):
    from demandsim.kpis import SHARE_KPIS
    from demandsim.report import comparison_figures, figures

    data = load(sweep_report[0], baseline="0")
    names = {n for n in [*SHARE_KPIS, *data.summary["kpi"].unique()] if "_" in n}
    figs = [fig for _, _, fs in figures(data) + comparison_figures(data) for _, fig in fs]
    assert len(figs) == len(SWEEP_CHARTS) + 4
    checked = 0
    for fig in figs:
        for text in _figure_texts(fig):
            text = text.split("x axis: ")[0]  # the footer names the swept key as the config does, to re-run it
            assert not re.search(r"\de[+-]\d", text), text
            assert not [n for n in names if n in text], text
            assert "staffing.call_handlers" not in text, text  # the swept key in words on axes, titles, legends
            checked += 1
    assert checked > 60
    attendance = next(fig for fig in figs if fig.layout.title.text.startswith("Incidents attended within target, by"))
    assert attendance.layout.xaxis.title.text == "call handlers on the late shift (17:00-03:00)"


def test_swept_keys_in_words():
    from demandsim.report.charts import key_title

    config = {"staffing": {"units": {"shifts": [{"start_hour": 7, "hours": 10}, {"start_hour": 15, "hours": 10}],
                                     "extra": [{"start_hour": 16, "hours": 5, "staff": 0}]},
                           "call_handlers": {"shifts": [{"start_hour": 17, "hours": 10, "days": ["Fri", "Sat"]}]}}}
    assert key_title("staffing.units.extra.0.staff", config) == "extra units on duty (16:00-21:00)"
    assert key_title("staffing.add.units", config) == "units added round the clock"
    assert key_title("staffing.scale.units", config) == "units roster ×"
    assert key_title("staffing.units.shifts.1.staff", config) == "units on the late shift (15:00-01:00)"
    assert key_title("staffing.call_handlers.shifts.0.staff", config) == \
        "call handlers on the late shift (17:00-03:00, Fri, Sat)"
    assert key_title("scenario", config) == "scenario"


def test_goal_labels_do_not_sit_on_each_other():
    from demandsim.report.charts import LABEL_GAP, attendance_chart

    key = "staffing.units.shifts.0.staff"
    attendance = {f"attend_within_target_{g}": [0.5, 0.6, 0.7] for g in ("immediate", "priority", "prompt")}
    for goals, lines in (({"immediate": 0.9, "priority": 0.88, "prompt": 0.45}, 3),
                         ({"immediate": 0.9, "priority": 0.9, "prompt": 0.45}, 2),
                         ({"immediate": 0.9, "priority": 0.91, "prompt": 0.92}, 3),
                         ({}, 1)):
        fig = attendance_chart(_board_report(key, attendance, goals=goals))
        labels = [a for a in fig.layout.annotations if a.name == "goal"]
        assert len(labels) == lines == len(fig.layout.shapes), goals
        low, high = fig.layout.yaxis.range
        ys = sorted(a.y for a in labels)
        assert all(b - a >= LABEL_GAP * (high - low) - 1e-9 for a, b in zip(ys, ys[1:])), (goals, ys)
        assert all(low <= y <= high - LABEL_GAP * (high - low) + 1e-9 for y in ys), (goals, ys)
    text = " ".join(a.text for a in labels)
    assert "goal 90% for every grade" in text


def test_a_line_against_intuition_gets_a_note_with_the_models_reason():
    from demandsim.report.charts import attendance_chart, chart_notes, service_level_chart

    key = "staffing.call_handlers.shifts.2.staff"
    falls = {"attend_within_target_immediate": [0.60, 0.60, 0.60], "attend_within_target_priority": [0.56, 0.54, 0.52],
             "attend_within_target_prompt": [0.50, 0.52, 0.55], "sl_999_10s": [0.86, 0.92, 0.95]}
    why = {"incidents_immediate": [400, 405, 410], "incidents_priority": [900, 915, 930],
           "incidents_prompt": [700, 700, 700], "abandon_rate_999": [0.04, 0.02, 0.01],
           "utilisation_units": [0.99, 1.01, 1.03]}
    config = {"staffing": {"call_handlers": {"shifts": [{}, {}, {"start_hour": 17, "hours": 10}]}}}
    for seeds in (0, 4):  # from the points' own intervals, and paired by seed
        data = _board_report(key, falls, why, config=config, seeds=seeds)
        notes = chart_notes(attendance_chart(data))
        against = [n for n in notes if "priority" in n.lower()]
        assert len(against) == 1, notes
        assert against[0].startswith("Priority attendance within target falls as call handlers are added "
                                     "to the late shift (17:00-03:00), 56.0% to 52.0%: fewer 999 callers abandon "
                                     "(4.0% to 1.0%), so more incidents reach units (2,000 to 2,040 in the measured "
                                     "period) at 99-103% utilisation"), against[0]
        assert not [n for n in notes if "prompt" in n.lower()], notes  # rises: as expected, no note
        assert [n for n in notes if n.startswith("Immediate") and "does not move" in n
                and "call handlers do not attend incidents" in n], notes
        assert chart_notes(service_level_chart(data)) == []  # rises as handlers are added: expected
    # a monotone, expected line: attendance rises as units are added; 999 answering does not move (why: units)
    rises = {f"attend_within_target_{g}": [0.50, 0.55, 0.60] for g in ("immediate", "priority", "prompt")}
    data = _board_report("staffing.add.units", {**rises, "sl_999_10s": [0.913, 0.914, 0.913]}, seeds=4)
    assert chart_notes(attendance_chart(data)) == []
    assert chart_notes(service_level_chart(data)) == [
        "The share of 999 calls answered within 10 s does not move as units are added round the clock, 91.3% to "
        "91.3%: units do not answer 999 calls."]


def test_the_title_names_the_overrides_that_made_the_runs(sweep_report):
    from demandsim.report.charts import made_by

    data = _board_report("staffing.add.units", {"sl_999_10s": [0.9, 0.9, 0.9]})
    data.scenario = "demand_2024"
    data.overrides = ["scenario=demand_2024", "arrivals.line_999.growth=1.1", "staffing.add.units=0,1,2",
                      "run.replications=5", "run.days=3"]
    assert made_by(data) == "demand_2024 with arrivals.line_999.growth=1.1"
    _, page = sweep_report  # the small sweep overrides nothing of the model: the title is the scenario's
    assert "<h1>Demand hub report: baseline_2021</h1>" in page
    also = page.split("Also on the command line: ", 1)[1].split("</p>", 1)[0]
    assert "run.replications=2" in also and "run.days=1.5" in also and "call_handlers" not in also
