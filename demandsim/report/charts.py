"""The report's charts, as plotly figures (one function each; no file or HTML here).

Every chart has a plain-words title, axis titles with units, and a footer naming
the scenario and the config hash. Text that comes from users (scenario names,
config keys and values) is HTML-escaped before plotly sees it, because plotly
renders a subset of HTML in titles and annotations.

Example:
    >>> esc("<b>x</b> & y")
    '&lt;b&gt;x&lt;/b&gt; &amp; y'
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from demandsim.config.schema import DEPLOYED_GRADES, WEEKDAYS
from demandsim.report import notes as notes_mod
from demandsim.report.data import (FROM_COMMAND_LINE, ReportData, RunData, Standard, area_attendance, average_day,
                                   heatmaps)
from demandsim.report.words import (key_words, kpi_words, number, setting_words, title_overrides,
                                    value_words)

GRADE_COLOURS = {"immediate": "#c0392b", "priority": "#e67e22", "prompt": "#2471a3"}
SERIES_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
STANDARD_COLOUR = "#333333"
FONT = dict(family="Arial, Helvetica, sans-serif", size=13)


def esc(text) -> str:
    """Escape text for plotly's HTML-like labels."""
    return html.escape(str(text), quote=False)


def key_title(key: str | None, config: dict | None = None) -> str:
    """An axis title from a swept config key, in words (escaped): ``units on the late shift (15:00-01:00)``,
    ``extra units on duty (16:00-21:00)``, ``units added round the clock``; ``config`` (a run's) gives a
    shift's hours. The key itself is in the chart's footer (:func:`swept_source`)."""
    return esc(key_words(key, config))


def _config(data: ReportData) -> dict:
    return data.chosen.config if data.chosen is not None else {}


def against(data: ReportData) -> str:
    """The swept key in words, for a chart's title (not escaped)."""
    return key_words(data.x_key, _config(data))


def made_by(data: ReportData) -> str:
    """The scenario and the overrides that made the runs (not the swept keys), as a title names them:
    ``demand_2024 with arrivals.line_999.growth=1.1`` (not escaped)."""
    words = title_overrides(data.overrides, data.swept_keys)
    return f"{data.scenario} with {', '.join(words)}" if words else str(data.scenario)


def baseline_words(data: ReportData) -> str:
    """The baseline of a paired comparison in words: a point of this sweep by its setting, else its folder."""
    ref = data.baseline
    if ref.same_sweep and not data.runs.empty:
        row = data.runs[data.runs["point"] == ref.point].iloc[0]
        return f"{setting_words({k: row[k] for k in data.swept_keys}, _config(data))} (point {ref.point} of " \
            "this sweep)"
    return str(ref.label)


def swept_source(data: ReportData) -> str:
    """For a footer: the swept key as the config names it (to re-run or extend the sweep)."""
    return f"x axis: {data.x_key}" if data.x_key else ""


def footer(fig: go.Figure, data: ReportData, source: str) -> go.Figure:
    """The footer lines under a chart: scenario and overrides, config hash, and which runs it shows
    (``source``; a newline in it starts another line)."""
    lines = [f"Scenario: {made_by(data)} · config hash {data.config_hash}", *source.split("\n")]
    text = "<br>".join(esc(line) for line in lines)
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
                       yshift=-66, showarrow=False, font=dict(size=11, color="#555555"), align="left")
    fig.update_layout(margin=dict(l=70, r=30, t=70, b=115), font=FONT, template="plotly_white")
    return fig


def _series(data: ReportData, kpi: str):
    """(label, frame sorted by x) per setting of the non-x swept keys, for one KPI."""
    # a standard's KPI is read as the standard reads it: over the runs' window when they set one
    column = next((s.column for s in data.standards if s.kpi == kpi), kpi)
    part = data.summary[data.summary["kpi"] == column]
    if not data.series_keys:
        yield "", part.sort_values(data.x_key)
        return
    for values, group in part.groupby(data.series_keys, sort=True, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        yield setting_words(dict(zip(data.series_keys, values)), _config(data)), group.sort_values(data.x_key)


def _band(fig, x, low, high, colour: str, name: str, row=None, col=None) -> None:
    keep = ~(np.isnan(low) | np.isnan(high))
    if keep.sum() == 0:
        return
    xs, lo, hi = np.asarray(x)[keep], np.clip(low[keep], 0, 1), np.clip(high[keep], 0, 1)
    fig.add_trace(go.Scatter(x=np.concatenate([xs, xs[::-1]]), y=np.concatenate([hi, lo[::-1]]), mode="lines",
                             fill="toself",
                             fillcolor=_rgba(colour, 0.18), line=dict(width=0), hoverinfo="skip",
                             name=f"{name} 95% band", showlegend=False, legendgroup=name))


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)


def _line(fig, frame: pd.DataFrame, x_key: str, colour: str, name: str, dash: str = "solid",
          x_words: str = "") -> None:
    """Mean against the swept value with its 95% band; for a non-numeric key (a scenario),
    points with error bars, not a line (there is nothing between two scenarios)."""
    x = frame[x_key].to_numpy()
    mean = frame["mean"].to_numpy(dtype=float)
    low = frame["ci_low"].to_numpy(dtype=float)
    high = frame["ci_high"].to_numpy(dtype=float)
    numeric = _numeric(x)
    if numeric:
        _band(fig, x, low, high, colour, name)
    hover = [f"{esc(x_words or x_key)}: {esc(value_words(x_key, xv))}<br>mean {100 * m:.1f}%"
             + (f"<br>95% CI {100 * lo:.1f}–{100 * hi:.1f}%" if not np.isnan(lo) else "<br>no CI (1 replication)")
             + f"<br>{n} replication{'s' if n != 1 else ''}"
             for xv, m, lo, hi, n in zip(x, mean, low, high, frame["n"].to_numpy())]
    error = None if numeric else dict(type="data", symmetric=False, array=np.clip(high, 0, 1) - mean,
                                      arrayminus=mean - np.clip(low, 0, 1), color=colour, thickness=1.5)
    fig.add_trace(go.Scatter(x=[esc(v) for v in x] if not numeric else x, y=mean,
                             mode="lines+markers" if numeric else "markers", name=esc(name),
                             line=dict(color=colour, width=2, dash=dash), marker=dict(size=8 if numeric else 10),
                             error_y=error, hovertext=hover, hoverinfo="text", legendgroup=name))


def fixed_goals(data: ReportData) -> dict[str, Standard]:
    """The fixed goals by KPI (not the "back to the baseline's level" ones, which are judged on differences)."""
    return {s.kpi: s for s in data.standards if not s.of_baseline}


#: the height of a goal's label, as a share of the plot's height (11 px text on a plot about 285 px high)
LABEL_GAP = 0.06


def goal_lines(fig, goals: list[tuple[float, str, str]], y_range: tuple[float, float]) -> list[float]:
    """Each goal (value, label, colour) as a dashed line across the chart, its label just above it at
    the left. Labels of goals closer than a label's height are stacked upwards, so none sits on
    another (and the top one is kept inside the plot); returns the labels' heights (data units).
    The labels are annotations named ``goal``."""
    lo, hi = y_range
    gap = (hi - lo) * LABEL_GAP
    goals = sorted(goals, key=lambda g: g[0])
    placed: list[float] = []
    for value, _, _ in goals:
        placed.append(value if not placed else max(value, placed[-1] + gap))
    overflow = (placed[-1] + gap - hi) if placed else 0.0
    if overflow > 0:  # a label above the plot's top would not be drawn: move the stack down, gaps kept
        placed = [max(lo, y - overflow) for y in placed]
        for i in range(1, len(placed)):
            placed[i] = max(placed[i], placed[i - 1] + gap)
    for (value, label, colour), y in zip(goals, placed):
        fig.add_hline(y=value, line=dict(color=colour, dash="dash", width=1.5))
        fig.add_annotation(text=esc(label), name="goal", xref="paper", x=0, xanchor="left", yref="y", y=y,
                           yanchor="bottom", showarrow=False, font=dict(size=11, color=colour),
                           bgcolor="rgba(255,255,255,0)")  # a marker under a label stays in sight
    return placed


def _goal_label(std: Standard, text: str) -> str:
    # the page's table of goals says where every line came from; a line set now says so here too
    return text + (" (set when the report was made)" if std.source == FROM_COMMAND_LINE else "")


def _no_data(fig, text: str) -> None:
    fig.add_annotation(text=esc(text), xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=14, color="#888888"))


def _sweep_figure(data: ReportData, title: str, y_title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=dict(text=esc(title), x=0.01), height=470,
                      legend=dict(orientation="v", yanchor="top", y=1.0, xanchor="left", x=1.01))
    fig.update_xaxes(title_text=key_title(data.x_key, _config(data)))
    xs = sorted({v for v in data.summary[data.x_key].dropna()}) if data.x_key in data.summary else []
    if xs and _numeric(xs):
        pad = max((xs[-1] - xs[0]) * 0.04, 0.5 if all(float(v).is_integer() for v in xs) else 0.0)
        pad = pad or 0.05 * max(abs(xs[-1]), 1e-9)
        fig.update_xaxes(range=[xs[0] - pad, xs[-1] + pad], tickformat=",~r")  # 158,000, never 1.58e+05
        if len(xs) <= 25:
            fig.update_xaxes(tickmode="array", tickvals=xs, ticktext=[number(v) for v in xs])
    fig.update_yaxes(title_text=esc(y_title), tickformat=".0%")
    return fig


def _sources(data: ReportData) -> str:
    missing = f"; {len(data.missing)} point(s) with runs missing, listed above" if data.missing else ""
    swept = f"; {swept_source(data)}" if data.x_key else ""
    return f"mean of {data.replications} replication(s) per point, 95% band{swept}{missing}"


def _drawn_values(fig) -> tuple[list[float], list[float]]:
    """The ys drawn on a sweep chart: the means (lines and markers), and the ends of their 95% bands
    and error bars (for the axis range)."""
    means, bands = [], []
    for trace in fig.data:
        ys = np.asarray(trace.y if trace.y is not None else [], dtype=float)
        (bands if trace.fill == "toself" else means).extend(float(v) for v in ys[~np.isnan(ys)])
        if trace.error_y is not None and trace.error_y.array is not None:
            for ends in (ys + np.asarray(trace.error_y.array, dtype=float),
                         ys - np.asarray(trace.error_y.arrayminus, dtype=float)):
                bands.extend(float(v) for v in ends[~np.isnan(ends)])
    return means, bands


#: a zoomed axis reaches this far beyond the means and goals for a wide band (few replications), no further
BAND_REACH = 0.10


def share_range(means: list[float], goals: list[float], zoom: bool, bands: list[float] = ()) -> tuple[float, float]:
    """The y range of a share chart: from 0 (``zoom`` False), or zoomed to the means and goals (``zoom``
    True), with their bands in view up to :data:`BAND_REACH` beyond them (a band from two replications
    can span 5-100%: the axis would be 0-100% again). Every goal line is in view, and the axis never goes
    beyond 0..100% by more than a marker's margin.

    >>> share_range([0.93, 0.99], [0.9], zoom=True)
    (0.8865, 1.01)
    >>> share_range([0.93, 0.99], [0.9], zoom=True, bands=[0.04, 1.0])
    (0.8, 1.01)
    >>> share_range([0.10, 0.13], [0.05], zoom=False)
    (0.0, 0.156)
    """
    core = [v for v in list(means) + list(goals) if not np.isnan(v)]
    if not core:
        return 0.0, 1.05
    lo, hi = min(core), max(core)
    ends = [min(max(v, lo - BAND_REACH), hi + BAND_REACH) for v in bands if not np.isnan(v)]
    lo, hi = min([lo, *ends]), max([hi, *ends])
    if not zoom:
        return 0.0, round(min(1.05, max(hi * 1.2, hi + 0.01, 0.02)), 4)
    span = max(hi - lo, 0.05)
    margin = 0.15 * span if not ends or lo > min(core) - BAND_REACH else 0.0
    return round(max(0.0, lo - margin), 4), round(min(1.0, hi + 0.15 * span) + 0.01, 4)


def _notes(fig, data: ReportData, lines: list[tuple[str, str, bool, str]]) -> go.Figure:
    """The chart's notes (a line flat, or against intuition, and why: :mod:`demandsim.report.notes`) in
    ``layout.meta["notes"]``; the page prints them under the chart."""
    found = notes_mod.notes(data, lines)
    if found:
        fig.update_layout(meta={"notes": found})
    return fig


def chart_notes(fig) -> list[str]:
    """The notes a chart carries for the page (:func:`_notes`)."""
    meta = fig.layout.meta
    return list(meta.get("notes", [])) if isinstance(meta, dict) else []


def attendance_chart(data: ReportData) -> go.Figure:
    """1. Attended within target per grade against the swept value, with each grade's goal."""
    fig = _sweep_figure(data, f"Incidents attended within target, by grade, against {against(data)}",
                        "attended within target (%)")
    drawn = False
    goals = fixed_goals(data)
    for grade in DEPLOYED_GRADES:
        kpi = f"attend_within_target_{grade}"
        for i, (label, frame) in enumerate(_series(data, kpi)):
            if frame["mean"].notna().any():
                _line(fig, frame, data.x_key, GRADE_COLOURS[grade], f"{grade}{' · ' + label if label else ''}",
                      DASHES[i % len(DASHES)], against(data))
                drawn = True
    # one line per goal value: grades with the same goal share it (their labels would sit on each other)
    by_value: dict[tuple, list[str]] = {}
    for grade in DEPLOYED_GRADES:
        std = goals[f"attend_within_target_{grade}"]
        by_value.setdefault((std.value, std.source), []).append(grade)
    lines = []
    for (value, _), grades in by_value.items():
        std = goals[f"attend_within_target_{grades[0]}"]
        if len(by_value) == 1:
            text = f"goal {100 * value:g}% for every grade" + \
                ("" if std.source == FROM_COMMAND_LINE else " (assumed: the sources set none)")
        else:
            text = f"{notes_mod.join(grades)} goal {100 * value:g}%"
        colour = GRADE_COLOURS[grades[0]] if len(grades) == 1 and len(by_value) > 1 else STANDARD_COLOUR
        lines.append((value, _goal_label(std, text), colour))
    y_range = (0.0, 1.05)
    goal_lines(fig, lines, y_range)
    if not drawn:
        _no_data(fig, "no incidents with an attendance target in these runs")
    fig.update_yaxes(range=list(y_range))
    _notes(fig, data, [(s.kpi, s.column, True, f"{s.kpi.removeprefix('attend_within_target_')} attendance within "
                                                "target") for s in goals.values()
                       if s.kpi.startswith("attend_within_target")])
    return footer(fig, data, _sources(data) + "; goal shares are config values (report.attendance_goal), "
                                              "90% by default: the sources set none")


#: a KPI as the subject of a note under its chart
SUBJECTS = {"sl_999_10s": "the share of 999 calls answered within 10 s",
            "abandon_rate_101": "the share of 101 calls abandoned"}


def _kpi_chart(data: ReportData, kpi: str, title: str, y_title: str, empty: str, zoom: bool) -> go.Figure:
    fig = _sweep_figure(data, title, y_title)
    drawn = False
    for i, (label, frame) in enumerate(_series(data, kpi)):
        if frame["mean"].notna().any():
            _line(fig, frame, data.x_key, SERIES_COLOURS[i % len(SERIES_COLOURS)], label or "mean",
                  x_words=against(data))
            drawn = True
    std = fixed_goals(data)[kpi]
    means, bands = _drawn_values(fig)
    y_range = share_range(means, [std.value], zoom, bands) if drawn else (0.0, max(0.2, 1.5 * std.value))
    cut = any(v < y_range[0] - 1e-9 or v > y_range[1] + 1e-9 for v in bands)
    if zoom and drawn:  # a zoomed axis needs finer ticks than whole percents
        fig.update_yaxes(tickformat=".1~%")
    goal_lines(fig, [(std.value, _goal_label(std, f"{std.note}: {'≥' if std.at_least else '≤'} "
                                                  f"{100 * std.value:g}%"), STANDARD_COLOUR)], y_range)
    if not drawn:
        _no_data(fig, empty)
    fig.update_yaxes(range=list(y_range))
    _notes(fig, data, [(kpi, std.column, std.at_least, SUBJECTS.get(kpi, kpi_words(kpi)))])
    zoomed = "; y axis zoomed to the results and the goal" if zoom else ""
    cut = f"; bands reaching more than {100 * BAND_REACH:g} points beyond the results cut at the axis" if cut else ""
    return footer(fig, data, _sources(data) + zoomed + cut)


def abandonment_chart(data: ReportData) -> go.Figure:
    """2. 101 abandonment against the swept value, with the 5% standard (y from 0)."""
    return _kpi_chart(data, "abandon_rate_101", f"101 calls abandoned, against {against(data)}",
                      "101 calls abandoned (%)", "no 101 calls in these runs", zoom=False)


def service_level_chart(data: ReportData) -> go.Figure:
    """3. 999 calls answered within 10 s against the swept value, with the 90% line: the y axis is
    zoomed to the results (a few points around 95% would be a flat line on 0-100%), the line in view."""
    return _kpi_chart(data, "sl_999_10s", f"999 calls answered within 10 seconds, against {against(data)}",
                      "answered within 10 s (% of 999 calls)", "no 999 calls in these runs", zoom=True)


#: the per-run heatmaps: grid name (data.heatmaps) -> (title, what a cell is, the standard's KPI)
HEATMAPS = {
    "sl_999": ("999 calls answered within 10 seconds, by hour of the week", "answered in 10 s", "sl_999_10s"),
    "abandon_101": ("101 calls abandoned, by hour of the week", "abandoned", "abandon_rate_101"),
    "attendance": ("Incidents attended within target (all graded), by hour of the call", "within target",
                   "attend_within_target_all"),
}

HOURS = [f"{h:02d}:00" for h in range(24)]

#: the centred colour scale: pale yellow at the standard, towards dark red on the side that misses it
#: and dark green on the side that meets it (ColorBrewer RdYlGn's colours)
NEUTRAL = "#ffffbf"
MISSES = [NEUTRAL, "#fee08b", "#fdae61", "#f46d43", "#d73027", "#a50026"]
MEETS = [NEUTRAL, "#d9ef8b", "#a6d96a", "#66bd63", "#1a9850", "#006837"]


def _along(colours: list[str], f: float) -> str:
    """The colour a share ``f`` (0..1) of the way along a gradient of ``colours``."""
    f = min(max(f, 0.0), 1.0) * (len(colours) - 1)
    i = min(int(f), len(colours) - 2)
    a, b = (np.array([int(c[k:k + 2], 16) for k in (1, 3, 5)], dtype=float) for c in colours[i:i + 2])
    r, g, bl = np.rint(a + (b - a) * (f - i)).astype(int)
    return f"#{r:02x}{g:02x}{bl:02x}"


def centred_scale(standard: float, at_least: bool, zmin: float, zmax: float) -> list[list]:
    """A plotly colour scale over ``zmin..zmax`` whose pale-yellow centre is the ``standard``: cells that
    miss it in oranges to reds, cells that meet it in light to dark greens (``at_least``: higher meets).
    The hue steps at the standard, so a cell just on the wrong side is orange, never a near-green; both
    sides darken with the distance from the standard at the same rate (91% against a 90% goal is a
    light green, not the dark green of 100%)."""
    reach = max(standard - zmin, zmax - standard, 1e-9)
    width = max(zmax - zmin, 1e-9)
    step = width * 1e-6  # the two sides' first colours, either side of the standard

    def colour(z: float) -> str:
        meets = z >= standard if at_least else z <= standard
        return _along((MEETS if meets else MISSES)[1:], abs(z - standard) / reach)

    zs = sorted({float(z) for z in np.linspace(zmin, zmax, 21)} - {standard})
    stops = [[(z - zmin) / width, colour(z)] for z in zs]
    if zmin <= standard <= zmax:
        stops += [[(standard - zmin) / width, NEUTRAL]]
        stops += [[(standard - zmin) / width + sign * step / width, colour(standard + sign * step)]
                  for sign in (-1, 1) if zmin <= standard + sign * step <= zmax]
    stops.sort(key=lambda s: s[0])
    stops[0][0], stops[-1][0] = 0.0, 1.0
    return [[float(min(max(p, 0.0), 1.0)), c] for p, c in stops]


def _span(grids: list[np.ndarray], standard: float) -> tuple[float, float]:
    """The colour range: the cells' shares and the standard, rounded out to 5 points, within 0..1."""
    values = np.concatenate([g[~np.isnan(g)].ravel() for g in grids] + [np.array([standard])])
    lo, hi = np.floor(values.min() * 20) / 20, np.ceil(values.max() * 20) / 20
    lo, hi = max(0.0, float(lo)), min(1.0, float(hi))
    if hi - lo < 0.05:
        lo, hi = max(0.0, hi - 0.05), max(hi, 0.05)
    return lo, hi


def _ticks(lo: float, hi: float, standard: float) -> tuple[list[float], list[str]]:
    step = next(s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25) if (hi - lo) / s <= 6)
    values = [round(v, 6) for v in np.arange(np.ceil(lo / step) * step, hi + 1e-9, step)]
    values = sorted({v for v in values if abs(v - standard) > step / 3} | {round(standard, 6)})
    return values, [f"{100 * v:.4g}%" for v in values]


def heatmap_standard(data: ReportData, name: str, run: RunData | None) -> tuple[float, bool, str]:
    """The centre of a heatmap's colours: (the standard, higher meets it, what it is in words). For
    attendance over all grades: the grades' goal when they share one, else each grade's goal weighted
    by its incidents in ``run``."""
    goals = fixed_goals(data)
    kpi = HEATMAPS[name][2]
    if kpi in goals:
        std = goals[kpi]
        return std.value, std.at_least, f"the {100 * std.value:g}% {'expectation' if std.at_least else 'standard'}"
    grade_goals = {g: goals[f"attend_within_target_{g}"].value for g in DEPLOYED_GRADES}
    if len(set(grade_goals.values())) == 1:
        value = next(iter(grade_goals.values()))
        return value, True, f"the {100 * value:g}% goal"
    counts = {g: float(((run.summary.get("kpis") or {}) if run is not None else {}).get(f"incidents_{g}") or 0)
              for g in DEPLOYED_GRADES}
    total = sum(counts.values())
    value = sum(grade_goals[g] * counts[g] for g in DEPLOYED_GRADES) / total if total \
        else float(np.mean(list(grade_goals.values())))
    return value, True, f"{100 * value:.0f}%, the grades' goals by their incidents"


def _heatmap(share, counts, what: str, standard: tuple[float, bool, str], span: tuple[float, float],
             show_scale: bool = True) -> go.Heatmap:
    value, at_least, words = standard
    ticks, text = _ticks(*span, value)
    return go.Heatmap(z=share, x=HOURS, y=WEEKDAYS, colorscale=centred_scale(value, at_least, *span),
                      zmin=span[0], zmax=span[1], hovertext=_cell_text(share, counts, what), hoverinfo="text",
                      xgap=1, ygap=1, showscale=show_scale, name=esc(what),
                      colorbar=dict(title=dict(text=esc(f"{what}; pale yellow: {words}"), side="right",
                                               font=dict(size=11)), tickvals=ticks, ticktext=text))


def _colours_note(standard: tuple[float, bool, str]) -> str:
    """For a heatmap's footer: what its colours mean."""
    value, at_least, words = standard
    side = "at or above" if at_least else "at or below"
    return (f"pale yellow: {words} ({100 * value:.4g}%); greens meet it ({side}),"
            f" oranges and reds miss it, darker further away")


def _cell_text(share: np.ndarray, counts: np.ndarray, what: str) -> list[list[str]]:
    """Hover text of each heatmap cell: the hour of the week, the share and how many were measured."""
    return [[(f"{WEEKDAYS[d]} {HOURS[h]}–{(h + 1) % 24:02d}:00<br>"
              + (f"{what}: {100 * share[d, h]:.1f}%<br>{counts[d, h]:,} measured" if counts[d, h]
                 else "nothing to measure"))
             for h in range(24)] for d in range(7)]


def heatmap_charts(data: ReportData, run: RunData) -> list[go.Figure]:
    """4. Hour-of-week heatmaps of one run: where in the week a shift gap shows. The colours are centred
    on the standard (:func:`centred_scale`): a cell that misses it is red however close the others are."""
    grids = heatmaps(run)
    figs = []
    for name, (title, what, _) in HEATMAPS.items():
        share, counts = grids[name]
        standard = heatmap_standard(data, name, run)
        fig = go.Figure(_heatmap(share, counts, what, standard, _span([share], standard[0])))
        fig.update_layout(title=dict(text=esc(title), x=0.01), height=400)
        fig.update_xaxes(title_text="hour of the day (start of the hour)", tickangle=-45)
        fig.update_yaxes(title_text="day of the week", autorange="reversed")
        if not counts.any():
            _no_data(fig, "nothing to measure in this run")
        figs.append(footer(fig, data, f"one run: {data.chosen_label}; blank cells: nothing to measure\n"
                                      f"{_colours_note(standard)}"))
    return figs


QUEUES = {"mean_waiting_999": "999 queue", "mean_waiting_switchboard": "101 switchboard queue",
          "mean_waiting_secondary": "secondary line queue"}
HUB_GROUPS = {"call_handlers": "call handlers", "switchboard": "switchboard", "secondary_handlers":
              "secondary-line handlers", "digital_desk": "digital desk"}


def average_day_chart(data: ReportData, run: RunData) -> go.Figure:
    """5. Calls waiting and staff busy (against rostered) through an average day of one run."""
    day = average_day(run)
    hours = list(range(24))
    has_units = day.get("rostered_units", pd.Series([0])).fillna(0).max() > 0
    rows = 3 if has_units else 2
    titles = ["calls waiting (mean number in the queue)", "hub staff busy and rostered (people)"]
    if has_units:
        titles.append("response units busy, available and rostered; incidents waiting for a unit")
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[esc(t) for t in titles])
    for i, (col, name) in enumerate(QUEUES.items()):
        if col in day and day[col].fillna(0).max() > 0:
            fig.add_trace(go.Scatter(x=hours, y=day[col], name=esc(name), mode="lines",
                                     line=dict(color=SERIES_COLOURS[i], width=2)), row=1, col=1)
    for i, (group, name) in enumerate(HUB_GROUPS.items()):
        if day.get(f"rostered_{group}", pd.Series([0])).fillna(0).max() > 0:
            colour = SERIES_COLOURS[(i + 4) % len(SERIES_COLOURS)]
            fig.add_trace(go.Scatter(x=hours, y=day[f"mean_busy_{group}"], name=esc(f"{name} busy"), mode="lines",
                                     line=dict(color=colour, width=2)), row=2, col=1)
            fig.add_trace(go.Scatter(x=hours, y=day[f"rostered_{group}"], name=esc(f"{name} rostered"),
                                     mode="lines", line=dict(color=colour, width=1.5, dash="dot", shape="hv")),
                          row=2, col=1)
    if has_units:
        fig.add_trace(go.Scatter(x=hours, y=day["mean_busy_units"], name="units busy", mode="lines",
                                 line=dict(color="#17becf", width=2)), row=3, col=1)
        fig.add_trace(go.Scatter(x=hours, y=day["rostered_units"], name="units rostered", mode="lines",
                                 line=dict(color="#17becf", width=1.5, dash="dot", shape="hv")), row=3, col=1)
        if "available_units" in day:  # net of meal breaks and abstraction (runs before issue 10 lack it)
            fig.add_trace(go.Scatter(x=hours, y=day["available_units"], name="units available", mode="lines",
                                     line=dict(color="#17becf", width=1.5, dash="dash", shape="hv")), row=3, col=1)
        fig.add_trace(go.Scatter(x=hours, y=day["mean_waiting_dispatch"], name="incidents waiting for a unit",
                                 mode="lines", line=dict(color="#9467bd", width=2)), row=3, col=1)
    fig.update_layout(title=dict(text="Calls waiting and staff busy through an average day", x=0.01),
                      height=300 + 230 * rows)
    fig.update_xaxes(tickmode="array", tickvals=hours[::2], ticktext=[f"{h:02d}:00" for h in hours[::2]])
    fig.update_xaxes(title_text="hour of the day (mean over the measured days)", row=rows, col=1)
    fig.update_yaxes(title_text="calls", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="people", row=2, col=1, rangemode="tozero")
    if has_units:
        fig.update_yaxes(title_text="units, incidents", row=3, col=1, rangemode="tozero")
    return footer(fig, data, f"one run: {data.chosen_label}; dotted: rostered; dashed: units available")


def area_charts(data: ReportData, run: RunData) -> list[tuple[str, go.Figure]]:
    """6. One chart per area of one run: each grade's share attended within target, with its goal
    (``(div_id, figure)`` pairs; none for a run without areas)."""
    goals = fixed_goals(data)
    out = []
    for k, (area, grades) in enumerate(area_attendance(run).items()):
        fig = go.Figure()
        shares = [grades[g][0] for g in DEPLOYED_GRADES]
        counts = [grades[g][1] for g in DEPLOYED_GRADES]
        fig.add_trace(go.Bar(x=DEPLOYED_GRADES, y=[np.nan if v is None else v for v in shares],
                             marker_color=[GRADE_COLOURS[g] for g in DEPLOYED_GRADES],
                             text=["n/a" if v is None else f"{100 * v:.0f}%" for v in shares], textposition="outside",
                             hovertext=[f"{esc(area)}, {g}: " + ("nothing to measure" if v is None else
                                                                f"{100 * v:.1f}% within target") + f"<br>{n} incidents"
                                        for g, v, n in zip(DEPLOYED_GRADES, shares, counts)],
                             hoverinfo="text", showlegend=False))
        for g in DEPLOYED_GRADES:  # each grade's goal over its own bar
            std = goals[f"attend_within_target_{g}"]
            fig.add_shape(type="line", x0=DEPLOYED_GRADES.index(g) - 0.45, x1=DEPLOYED_GRADES.index(g) + 0.45,
                          y0=std.value, y1=std.value, line=dict(color=STANDARD_COLOUR, dash="dash", width=1.5))
        fig.update_layout(title=dict(text=f"{esc(area)}: incidents attended within target, by grade", x=0.01),
                          height=380)
        fig.update_xaxes(title_text="grade of the incident")
        fig.update_yaxes(title_text="attended within target (%)", tickformat=".0%", range=[0, 1.1])
        if not any(counts):
            _no_data(fig, "no incidents with an attendance target in this area")
        note = ", ".join(f"{g} {n}" for g, n in zip(DEPLOYED_GRADES, counts))
        out.append((f"chart-area-{k}", footer(fig, data, f"one run: {data.chosen_label}; incidents: {note}; "
                                                          "dashed: each grade's goal share")))
    return out


# ----------------------------------------------------------------- against a baseline (--baseline)
#: the KPIs of the difference chart: the standards' (colour, name)
DIFFERENCE_KPIS = {"sl_999_10s": ("#9467bd", "999 answered within 10 s"),
                   "abandon_rate_101": ("#7f7f7f", "101 calls abandoned"),
                   **{f"attend_within_target_{g}": (GRADE_COLOURS[g], f"{g} attended within target")
                      for g in DEPLOYED_GRADES}}


def difference_chart(data: ReportData) -> go.Figure:
    """7. Each standard's KPI minus the baseline's, seed by seed: mean and 95% band against the swept value
    (percentage points; 0, the baseline's level, drawn)."""
    fig = _sweep_figure(data, f"Difference from the baseline, against {against(data)}",
                        "difference from the baseline (percentage points)")
    fig.update_yaxes(tickformat="+.1f", ticksuffix=" pts", rangemode="normal", zeroline=True)
    comparison = data.comparison
    numeric = _numeric(comparison[data.x_key].dropna()) if data.x_key in comparison else False
    drawn = False
    for kpi, (colour, name) in DIFFERENCE_KPIS.items():
        part = comparison[comparison["kpi"] == kpi]
        groups = part.groupby(data.series_keys, sort=True, dropna=False) if data.series_keys else [((), part)]
        for i, (values, frame) in enumerate(groups):
            frame = frame.sort_values(data.x_key)
            if frame["diff_mean"].isna().all():
                continue
            values = values if isinstance(values, tuple) else (values,)
            setting = setting_words(dict(zip(data.series_keys, values)), _config(data))
            label = name + (f" · {setting}" if setting else "")
            x = frame[data.x_key].to_numpy()
            mean = 100 * frame["diff_mean"].to_numpy(dtype=float)
            low, high = 100 * frame["ci_low"].to_numpy(dtype=float), 100 * frame["ci_high"].to_numpy(dtype=float)
            keep = ~(np.isnan(low) | np.isnan(high))
            if numeric and keep.any():
                xs = np.asarray(x)[keep]
                fig.add_trace(go.Scatter(x=np.concatenate([xs, xs[::-1]]),
                                         y=np.concatenate([high[keep], low[keep][::-1]]), mode="lines",
                                         fill="toself", fillcolor=_rgba(colour, 0.15), line=dict(width=0),
                                         hoverinfo="skip", showlegend=False, legendgroup=label))
            hover = [f"{esc(against(data))}: {esc(value_words(data.x_key, xv))}<br>{esc(name)}: {m:+.1f} points"
                     + (f"<br>95% CI {lo:+.1f} to {hi:+.1f}" if not np.isnan(lo) else "<br>no CI (1 pair)")
                     + f"<br>{n} seed{'s' if n != 1 else ''} paired"
                     for xv, m, lo, hi, n in zip(x, mean, low, high, frame["n"].to_numpy())]
            error = None if numeric else dict(type="data", symmetric=False, array=high - mean, arrayminus=mean - low,
                                              color=colour, thickness=1.5)
            fig.add_trace(go.Scatter(x=x if numeric else [esc(v) for v in x], y=mean,
                                     mode="lines+markers" if numeric else "markers", name=esc(label),
                                     line=dict(color=colour, width=2, dash=DASHES[i % len(DASHES)]),
                                     marker=dict(size=8), error_y=error, hovertext=hover, hoverinfo="text",
                                     legendgroup=label))
            drawn = True
    fig.add_hline(y=0, line=dict(color=STANDARD_COLOUR, dash="dash", width=1.5),
                  annotation_text="the baseline's level", annotation_position="top left",
                  annotation_font=dict(size=11, color=STANDARD_COLOUR))
    if not drawn:
        _no_data(fig, "nothing to compare in these runs")
    return footer(fig, data, f"per seed: point minus {baseline_words(data)}; mean of the differences over "
                             f"replications, 95% Student-t band; {swept_source(data)}")


def heatmap_pair_charts(data: ReportData, baseline_run: RunData, run: RunData) -> list[go.Figure]:
    """8. Each hour-of-week heatmap of the chosen run beside the baseline's run with the same seed,
    one colour scale for both, centred on the standard (:func:`centred_scale`)."""
    left, right = heatmaps(baseline_run), heatmaps(run)
    figs = []
    for name, (title, what, _) in HEATMAPS.items():
        fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                            subplot_titles=["baseline (same seed)", "chosen run"])
        standard = heatmap_standard(data, name, run)
        span = _span([left[name][0], right[name][0]], standard[0])
        for col, grids in ((1, left), (2, right)):
            share, counts = grids[name]
            fig.add_trace(_heatmap(share, counts, what, standard, span, show_scale=col == 2), row=1, col=col)
        fig.update_layout(title=dict(text=esc(title), x=0.01), height=420)
        fig.update_xaxes(title_text="hour of the day (start of the hour)", tickangle=-45, dtick=3)
        fig.update_yaxes(autorange="reversed")
        fig.update_yaxes(title_text="day of the week", row=1, col=1)
        figs.append(footer(fig, data, f"left: {baseline_words(data)}, seed {int(run.summary['seed'])}; "
                                      f"right: {data.chosen_label}\n{_colours_note(standard)}"))
    return figs
