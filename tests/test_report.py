"""The report's content: self-contained page, charts, standards, smallest staffing, escaping."""

from __future__ import annotations

import re
import shutil

import pytest

from demandsim import sweep
from demandsim.report import REPORT_FILE, build_report
from demandsim.report.data import load, smallest_staffing
from helpers import cli, small_sweep

SWEEP_CHARTS = ["chart-attendance", "chart-abandon-101", "chart-sl-999", "chart-heat-sl-999",
                "chart-heat-abandon-101", "chart-heat-attendance", "chart-average-day"]


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
    rows = smallest_staffing(load(out))
    key = "staffing.call_handlers.shifts.2.staff"
    assert {r["key"] for r in rows} == {key}
    assert len(rows) == 5  # 999, 101 and three grades
    for r in rows:
        assert r["least"] in ("3", "5", "not met in range") or r["least"].startswith("not measured"), r
    assert "Smallest staffing that meets each standard" in page and "not met in range" in page or "least value" in page


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
    done = cli(f"scenario_name='{name}'", "run.days=1", "run.warmup_days=0.25", f"hydra.run.dir={out}")
    assert done.returncode == 0, done.stderr
    done = cli_report(out)
    assert done.returncode == 0, done.stderr
    page = (out / REPORT_FILE).read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "<b>x</b>" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page
    assert page.count("Plotly.newPlot(") == 4  # three heatmaps and the average day


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
