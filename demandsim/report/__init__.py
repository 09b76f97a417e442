"""The compliance report: ``python -m demandsim.report SWEEP_OR_RUN_DIR [report.KEY=VALUE ...]
[--baseline POINT] [--run RUN_ID] [--png]``.

Writes ``report.html`` into the folder: one self-contained page (plotly.js
embedded) with, for a sweep, attendance within target per grade, 101
abandonment and 999 service level against the swept value (95% bands, the
standards drawn as lines) and the smallest value meeting each standard; and, for
one run, hour-of-week heatmaps, attendance by area (a chart per area, when the
run has areas) and an average day. ``report.*`` words set the goals when the
report is made; ``--baseline`` adds a paired comparison (per-seed differences
against a reference point or folder, a "back to the baseline's level" standard and
the heatmaps beside the baseline's). ``report.json`` beside the page holds the
numbers (:mod:`.export`). Modules: :mod:`.data` (what is shown), :mod:`.compare`
(the paired comparison), :mod:`.charts` (plotly figures), :mod:`.page` (the HTML),
:mod:`.export` (report.json). docs/report.md explains the page.
"""

from __future__ import annotations

from pathlib import Path

from demandsim.report.data import ReportError

__all__ = ["build_report", "ReportError", "REPORT_FILE", "REPORT_JSON"]

REPORT_FILE = "report.html"
REPORT_JSON = "report.json"


def figures(data) -> list[tuple[str, str, list]]:
    """The page's sections: (heading, explanation, [(div_id, figure)])."""
    from demandsim.report import charts

    sections = []
    # with a window the sweep charts draw its KPIs, as the standards read them: say so under each
    over = f" Over the runs' window only: {data.window}." if data.window else ""
    if data.is_sweep and data.x_key is not None:
        against = charts.against(data)  # the swept key in words
        sections.append((f"Attendance within target against {against}",
                         "Share of each grade's incidents attended within the grade's target, from the start of "
                         "the call; dashed lines: each grade's goal share." + over,
                         [("chart-attendance", charts.attendance_chart(data))]))
        sections.append((f"101 abandonment against {against}",
                         "Share of 101 calls that ended abandoned, at the switchboard or on the secondary line; "
                         "dashed line: the 5% standard." + over,
                         [("chart-abandon-101", charts.abandonment_chart(data))]))
        sections.append((f"999 answered within 10 seconds against {against}",
                         "Share of 999 calls answered within 10 s (abandoned calls count as not answered); "
                         "dashed line: the 90% expectation. The axis is zoomed to the results, the line always "
                         "in view." + over,
                         [("chart-sl-999", charts.service_level_chart(data))]))
    heat = charts.heatmap_charts(data, data.chosen)
    sections.append((f"Where in the week: {data.chosen_label}",
                     "One run, measured period only. Each cell is one hour of the week, coloured around the "
                     "standard: pale yellow at it, greens where it is met, oranges and reds where it is missed; a "
                     "shift gap shows as a band of red.",
                     [("chart-heat-sl-999", heat[0]), ("chart-heat-abandon-101", heat[1]),
                      ("chart-heat-attendance", heat[2])]))
    areas = charts.area_charts(data, data.chosen)
    if areas:
        sections.append((f"Attendance by area: {data.chosen_label}",
                         "One chart per area (areas.districts): the share of each grade's incidents in the area "
                         "attended within the grade's target, whoever's unit went (a neighbouring area's unit "
                         "counts for the incident's area); dashed lines: each grade's goal share.", areas))
    sections.append((f"An average day: {data.chosen_label}",
                     "Mean calls waiting in each queue and staff busy against rostered, by hour of the day.",
                     [("chart-average-day", charts.average_day_chart(data, data.chosen))]))
    return sections


def comparison_figures(data) -> list[tuple[str, str, list]]:
    """With ``--baseline``: the paired differences against the swept value, and the chosen run's
    heatmaps beside the baseline's run with the same seed."""
    from demandsim.report import charts

    if data.baseline is None:
        return []
    sections = []
    if data.is_sweep and data.x_key is not None:
        sections.append(("Difference from the baseline, seed by seed",
                         "Mean over replications of each point's result minus the baseline's with the same seed "
                         "(common random numbers), in percentage points, with its 95% band; above 0 is more "
                         "than the baseline.", [("chart-diff", charts.difference_chart(data))]))
    if data.baseline_run is not None:
        pairs = charts.heatmap_pair_charts(data, data.baseline_run, data.chosen)
        sections.append((f"Where in the week, beside the baseline: {data.chosen_label}",
                         "Left: the baseline's run with the same seed; right: the chosen run. Same colours for "
                         "the same share.", [("chart-pair-heat-sl-999", pairs[0]),
                                             ("chart-pair-heat-abandon-101", pairs[1]),
                                             ("chart-pair-heat-attendance", pairs[2])]))
    return sections


def build_report(folder, run: str | None = None, png: bool = False, overrides: list[str] | None = None,
                 baseline: str | None = None) -> Path:
    """Write ``report.html`` and ``report.json`` (and, with ``png``, one PNG per chart) into ``folder``;
    returns the page's path.

    ``overrides``: ``report.KEY=VALUE`` words setting goals now (over the runs' own);
    ``baseline``: the reference of a paired comparison (a point's label or number, or a folder).
    """
    import plotly.offline

    from demandsim.outputs import write_atomic
    from demandsim.report import data as data_mod
    from demandsim.report import export, page
    from demandsim.report.standards import smallest_staffing

    folder = Path(folder)
    data = data_mod.load(folder, run, overrides=overrides, baseline=baseline)
    sections = figures(data)
    compared = comparison_figures(data)
    smallest = smallest_staffing(data)
    text = page.render(data, sections, smallest, plotly.offline.get_plotlyjs(), compared)
    numbers = export.dumps(data)
    write_atomic(folder / REPORT_JSON, lambda p: p.write_text(numbers, encoding="utf-8"))
    target = folder / REPORT_FILE
    write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"))
    if png:
        export_png(folder, sections + compared)
    return target


def export_png(folder: Path, sections) -> list[Path]:
    """One PNG per chart (for slide packs), with kaleido; raises ReportError if it cannot run here."""
    try:
        import plotly.io as pio

        written = []
        for _, _, figs in sections:
            for div_id, fig in figs:
                path = Path(folder) / f"{div_id.removeprefix('chart-')}.png"
                pio.write_image(fig, path, width=1100, height=int(fig.layout.height or 500), scale=2)
                written.append(path)
        return written
    except Exception as exc:  # noqa: BLE001 - kaleido and its browser fail in many ways
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ReportError(f"--png: cannot export images here ({type(exc).__name__}: {first}); "
                          "report.html was written") from exc
