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
from demandsim.report.data import (FROM_COMMAND_LINE, ReportData, RunData, Standard, area_attendance, average_day,
                                   heatmaps)

GRADE_COLOURS = {"immediate": "#c0392b", "priority": "#e67e22", "prompt": "#2471a3"}
SERIES_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
STANDARD_COLOUR = "#333333"
FONT = dict(family="Arial, Helvetica, sans-serif", size=13)


def esc(text) -> str:
    """Escape text for plotly's HTML-like labels."""
    return html.escape(str(text), quote=False)


def key_title(key: str | None) -> str:
    """An x-axis title with its unit, from a swept config key."""
    if key is None:
        return ""
    parts = key.split(".")
    if parts[0] == "staffing" and parts[-1] == "staff":
        group = parts[1].replace("_", " ")
        unit = "response units on duty" if parts[1] == "units" else "people on duty"
        where = ""
        if len(parts) >= 5 and parts[-3] in ("shifts", "extra") and parts[-2].isdigit():
            where = f", {parts[-3][:-1] if parts[-3] == 'shifts' else 'extra shift'} {parts[-2]}"
        return f"{esc(group)}{esc(where)} ({unit}) — {esc(key)}"
    if key == "validation.servers":
        return f"call handlers on duty (people) — {esc(key)}"
    if key == "validation.units":
        return f"response units on duty (units) — {esc(key)}"
    return esc(key)


def footer(fig: go.Figure, data: ReportData, source: str) -> go.Figure:
    """The footer line under a chart: scenario, config hash, and which runs it shows."""
    text = f"Scenario: {esc(data.scenario)} · config hash {esc(data.config_hash)}<br>{esc(source)}"
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
        label = ", ".join(f"{k}={v}" for k, v in zip(data.series_keys, values))
        yield label, group.sort_values(data.x_key)


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


def _line(fig, frame: pd.DataFrame, x_key: str, colour: str, name: str, dash: str = "solid") -> None:
    """Mean against the swept value with its 95% band; for a non-numeric key (a scenario),
    points with error bars, not a line (there is nothing between two scenarios)."""
    x = frame[x_key].to_numpy()
    mean = frame["mean"].to_numpy(dtype=float)
    low = frame["ci_low"].to_numpy(dtype=float)
    high = frame["ci_high"].to_numpy(dtype=float)
    numeric = _numeric(x)
    if numeric:
        _band(fig, x, low, high, colour, name)
    hover = [f"{esc(x_key)}={esc(xv)}<br>mean {100 * m:.1f}%"
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


def _standard_line(fig, std: Standard, colour: str = STANDARD_COLOUR, label: str | None = None) -> None:
    label = label or f"{'goal' if std.at_least else 'standard'} {100 * std.value:g}%"
    if std.source == FROM_COMMAND_LINE:  # the page's table of goals says where every line came from
        label += " (set when the report was made)"
    fig.add_hline(y=std.value, line=dict(color=colour, dash="dash", width=1.5),
                  annotation_text=esc(label),
                  annotation_position="top left", annotation_font=dict(size=11, color=colour))


def _no_data(fig, text: str) -> None:
    fig.add_annotation(text=esc(text), xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=14, color="#888888"))


def _sweep_figure(data: ReportData, title: str, y_title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=dict(text=esc(title), x=0.01), height=470,
                      legend=dict(orientation="v", yanchor="top", y=1.0, xanchor="left", x=1.01))
    fig.update_xaxes(title_text=key_title(data.x_key))
    xs = sorted({v for v in data.summary[data.x_key].dropna()}) if data.x_key in data.summary else []
    if xs and _numeric(xs):
        pad = max((xs[-1] - xs[0]) * 0.04, 0.5)
        fig.update_xaxes(range=[xs[0] - pad, xs[-1] + pad])
        if len(xs) <= 25 and all(float(v).is_integer() for v in xs):
            fig.update_xaxes(tickmode="array", tickvals=xs, ticktext=[str(int(v)) for v in xs])
    fig.update_yaxes(title_text=esc(y_title), tickformat=".0%", rangemode="tozero")
    return fig


def _sources(data: ReportData) -> str:
    missing = f"; {len(data.missing)} point(s) with runs missing, listed above" if data.missing else ""
    return f"mean of {data.replications} replication(s) per point, 95% Student-t band{missing}"


def attendance_chart(data: ReportData) -> go.Figure:
    """1. Attended within target per grade against the swept value, with each grade's goal."""
    fig = _sweep_figure(data, f"Incidents attended within target, by grade, against {data.x_key}",
                        "attended within target (%)")
    drawn = False
    goals = fixed_goals(data)
    for grade in DEPLOYED_GRADES:
        kpi = f"attend_within_target_{grade}"
        for i, (label, frame) in enumerate(_series(data, kpi)):
            if frame["mean"].notna().any():
                _line(fig, frame, data.x_key, GRADE_COLOURS[grade], f"{grade}{' · ' + label if label else ''}",
                      DASHES[i % len(DASHES)])
                drawn = True
    shares = {(goals[f"attend_within_target_{g}"].value, goals[f"attend_within_target_{g}"].source)
              for g in DEPLOYED_GRADES}
    if len(shares) == 1:  # one line for every grade
        std = goals[f"attend_within_target_{DEPLOYED_GRADES[0]}"]
        _standard_line(fig, std, label=f"goal {100 * std.value:g}% for every grade (assumed: the sources set none)")
    else:
        for grade in DEPLOYED_GRADES:
            std = goals[f"attend_within_target_{grade}"]
            _standard_line(fig, std, GRADE_COLOURS[grade], f"{grade} goal {100 * std.value:g}%")
    if not drawn:
        _no_data(fig, "no incidents with an attendance target in these runs")
    fig.update_yaxes(range=[0, 1.05])
    return footer(fig, data, _sources(data) + "; goal shares are config values (report.attendance_goal), "
                                              "90% by default: the sources set none")


def _kpi_chart(data: ReportData, kpi: str, title: str, y_title: str, empty: str) -> go.Figure:
    fig = _sweep_figure(data, title, y_title)
    drawn = False
    for i, (label, frame) in enumerate(_series(data, kpi)):
        if frame["mean"].notna().any():
            _line(fig, frame, data.x_key, SERIES_COLOURS[i % len(SERIES_COLOURS)], label or "mean")
            drawn = True
    std = fixed_goals(data)[kpi]
    _standard_line(fig, std, label=f"{std.note}: {'≥' if std.at_least else '≤'} {100 * std.value:g}%")
    if not drawn:
        _no_data(fig, empty)
        fig.update_yaxes(range=[0, max(0.2, 1.5 * std.value)])
    return footer(fig, data, _sources(data))


def abandonment_chart(data: ReportData) -> go.Figure:
    """2. 101 abandonment against the swept value, with the 5% standard."""
    fig = _kpi_chart(data, "abandon_rate_101", f"101 calls abandoned, against {data.x_key}",
                     "101 calls abandoned (%)", "no 101 calls in these runs")
    return fig


def service_level_chart(data: ReportData) -> go.Figure:
    """3. 999 calls answered within 10 s against the swept value, with the 90% line."""
    fig = _kpi_chart(data, "sl_999_10s", f"999 calls answered within 10 seconds, against {data.x_key}",
                     "answered within 10 s (% of 999 calls)", "no 999 calls in these runs")
    fig.update_yaxes(range=[0, 1.05])
    return fig


HEATMAPS = {
    "sl_999": ("999 calls answered within 10 seconds, by hour of the week", "answered in 10 s", "RdYlGn", False),
    "abandon_101": ("101 calls abandoned, by hour of the week", "abandoned", "RdYlGn", True),
    "attendance": ("Incidents attended within target (all graded), by hour of the call", "within target",
                   "RdYlGn", False),
}


HOURS = [f"{h:02d}:00" for h in range(24)]


def _cell_text(share: np.ndarray, counts: np.ndarray, what: str) -> list[list[str]]:
    """Hover text of each heatmap cell: the hour of the week, the share and how many were measured."""
    return [[(f"{WEEKDAYS[d]} {HOURS[h]}–{(h + 1) % 24:02d}:00<br>"
              + (f"{what}: {100 * share[d, h]:.1f}%<br>{counts[d, h]} measured" if counts[d, h]
                 else "nothing to measure"))
             for h in range(24)] for d in range(7)]


def heatmap_charts(data: ReportData, run: RunData) -> list[go.Figure]:
    """4. Hour-of-week heatmaps of one run: where in the week a shift gap shows."""
    grids = heatmaps(run)
    hours = HOURS
    figs = []
    for name, (title, what, scale, reverse) in HEATMAPS.items():
        share, counts = grids[name]
        text = _cell_text(share, counts, what)
        fig = go.Figure(go.Heatmap(z=share, x=hours, y=WEEKDAYS, colorscale=scale, reversescale=reverse,
                                   zmin=0, zmax=1, hovertext=text, hoverinfo="text", xgap=1, ygap=1,
                                   colorbar=dict(title=dict(text=esc(what)), tickformat=".0%")))
        fig.update_layout(title=dict(text=esc(title), x=0.01), height=400)
        fig.update_xaxes(title_text="hour of the day (start of the hour)", tickangle=-45)
        fig.update_yaxes(title_text="day of the week", autorange="reversed")
        if not counts.any():
            _no_data(fig, "nothing to measure in this run")
        figs.append(footer(fig, data, f"one run: {data.chosen_label}; blank cells: nothing to measure"))
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
    fig = _sweep_figure(data, f"Difference from the baseline ({data.baseline.label}), against {data.x_key}",
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
            label = name + ("".join(f" · {k}={v}" for k, v in zip(data.series_keys, values)))
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
            hover = [f"{esc(data.x_key)}={esc(xv)}<br>{esc(name)}: {m:+.1f} points"
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
    return footer(fig, data, f"per seed: point minus {data.baseline.label}; mean of the differences over "
                             "replications, 95% Student-t band")


def heatmap_pair_charts(data: ReportData, baseline_run: RunData, run: RunData) -> list[go.Figure]:
    """8. Each hour-of-week heatmap of the chosen run beside the baseline's run with the same seed,
    one colour scale for both."""
    left, right = heatmaps(baseline_run), heatmaps(run)
    figs = []
    for name, (title, what, scale, reverse) in HEATMAPS.items():
        fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                            subplot_titles=["baseline (same seed)", "chosen run"])
        for col, grids in ((1, left), (2, right)):
            share, counts = grids[name]
            fig.add_trace(go.Heatmap(z=share, x=HOURS, y=WEEKDAYS, colorscale=scale, reversescale=reverse,
                                     zmin=0, zmax=1, hovertext=_cell_text(share, counts, what), hoverinfo="text",
                                     xgap=1, ygap=1, showscale=col == 2, coloraxis=None,
                                     colorbar=dict(title=dict(text=esc(what)), tickformat=".0%")), row=1, col=col)
        fig.update_layout(title=dict(text=esc(title), x=0.01), height=420)
        fig.update_xaxes(title_text="hour of the day (start of the hour)", tickangle=-45, dtick=3)
        fig.update_yaxes(autorange="reversed")
        fig.update_yaxes(title_text="day of the week", row=1, col=1)
        figs.append(footer(fig, data, f"left: {data.baseline.label}, seed {int(run.summary['seed'])}; "
                                      f"right: {data.chosen_label}"))
    return figs
