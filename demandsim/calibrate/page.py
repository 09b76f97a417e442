"""``NAME.calibration.html``: the page an analyst shows to say "the model reproduces last month".

Self-contained like the run report (plotly.js inlined, nothing fetched): arrivals by hour
of the week with the fitted profile, the Kaplan-Meier patience curve with the fitted one,
handling times against the distribution the scenario uses, staff available against head
counts, and the back-test by hour of day (the records' value against the simulated band).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from demandsim.report.page import PLOTLY_CONFIG, document, e, table

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOUR_TICKS = {"tickvals": list(range(0, 168, 24)), "ticktext": list(DAYS)}
KPI_WORDS = {"abandon_rate": "abandoned (share of offered)", "sl_10s": "answered within 10 s (share of offered)",
             "asa_s": "mean wait of answered calls (s)", "attend_within_target": "attended within target (share)"}
LINE_WORDS = {"999": "999", "101": "101"}


def _div(fig: go.Figure, div_id: str) -> str:
    import plotly.io as pio

    fig.update_layout(template="plotly_white", height=380, margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return (f'<div class="chart">'
            f'{pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)}</div>')


def arrivals_chart(line: str, charts: dict, fitted: list[float]) -> go.Figure:
    """Each week's calls per hour of the week (thin grey) and the fitted profile (the scenario's)."""
    fig = go.Figure()
    for i, week in enumerate(charts.get("weeks", [])):
        fig.add_trace(go.Scatter(x=list(range(168)), y=week, mode="lines", line={"color": "#c8c8c8", "width": 1},
                                 name="a week of records", showlegend=i == 0, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=list(range(168)), y=fitted, mode="lines", line={"color": "#1f4e79", "width": 2.5},
                             name="fitted: mean of the period (the scenario's profile)"))
    fig.update_layout(title=f"{line} calls arriving in each hour of the week", xaxis=HOUR_TICKS,
                      yaxis_title="calls in the hour")
    return fig


def patience_chart(line: str, patience: dict) -> go.Figure:
    """Kaplan-Meier survival of patience (hang-ups events, answered waits censored) and the fitted curve."""
    from demandsim.calibrate.fit import fitted_survival

    fig = go.Figure()
    curve = patience.get("km_curve") or {}
    if curve.get("t_s"):
        fig.add_trace(go.Scatter(x=curve["t_s"], y=curve["survival"], mode="lines", line={"shape": "hv"},
                                 name="Kaplan-Meier (records)"))
        t = np.linspace(0, max(curve["t_s"]), 200)
        fig.add_trace(go.Scatter(x=t, y=fitted_survival(patience["fit"], t), mode="lines",
                                 line={"dash": "dash"}, name=f"fitted: {patience['fit']['family']}"))
    fig.update_layout(title=f"{line} callers still willing to wait after t seconds", xaxis_title="seconds waited",
                      yaxis_title="share still waiting", yaxis_range=[0, 1.02])
    return fig


def handling_chart(line: str, handle: dict, empirical_min: list[float]) -> go.Figure:
    """Histogram of the records' handle times against the distribution the scenario draws from."""
    fig = go.Figure()
    hist = handle.get("hist") or {}
    if hist.get("edges_s"):
        edges = np.asarray(hist["edges_s"], dtype=float)
        counts = np.asarray(hist["counts"], dtype=float)
        width = np.diff(edges)
        fig.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts / counts.sum() / width, width=width,
                             name="records", marker_color="#9db4c8"))
        used, _ = np.histogram(np.asarray(empirical_min) * 60.0, bins=edges)
        fig.add_trace(go.Scatter(x=(edges[:-1] + edges[1:]) / 2, y=used / max(len(empirical_min), 1) / width,
                                 mode="lines", line={"shape": "hvh", "color": "#1f4e79"},
                                 name="scenario (empirical, same mean)"))
        parametric = handle.get("parametric")
        if parametric:
            from demandsim.calibrate.fit import fitted_pdf

            t = np.linspace(edges[0], edges[-1], 200)
            fig.add_trace(go.Scatter(x=t, y=fitted_pdf(parametric, t), mode="lines", line={"dash": "dot"},
                                     name=f"maximum-likelihood {parametric['family']}: mean off by "
                                          f"{parametric.get('mean_error', 0):+.1%} (not used)"))
    fig.add_vline(x=handle["mean_s"], line_dash="dash", annotation_text=f"mean {handle['mean_s']:.0f} s")
    fig.update_layout(title=f"{line} handle time (talk + wrap-up)", xaxis_title="seconds", yaxis_title="density",
                      bargap=0)
    return fig


def staffing_chart(line: str, staff: list[float], heads: list[float] | None, rostered: list[int]) -> go.Figure:
    """Handlers available (estimated from the queue) against distinct agents answering, per hour of the week."""
    fig = go.Figure()
    if heads is not None:
        fig.add_trace(go.Scatter(x=list(range(168)), y=heads, mode="lines", line={"color": "#b0b0b0"},
                                 name="head count: agents who answered in the hour"))
    fig.add_trace(go.Scatter(x=list(range(168)), y=staff, mode="lines", name="available: estimated from the queue"))
    fig.add_trace(go.Scatter(x=list(range(168)), y=rostered, mode="lines", line={"shape": "hv", "dash": "dot"},
                             name="in the scenario (whole people)"))
    fig.update_layout(title=f"{line}: handlers available to take calls", xaxis=HOUR_TICKS, yaxis_title="people")
    return fig


def backtest_chart(title: str, comparison: dict, kpi: str) -> go.Figure:
    """Observed value by hour of day against the simulated mean and band."""
    hours = list(range(24))
    rows = comparison["by_hour_of_day"]
    obs = [r["observed"][kpi] for r in rows]
    mean = [r["simulated"]["mean"][kpi] for r in rows]
    low = [r["simulated"]["ci_low"][kpi] for r in rows]
    high = [r["simulated"]["ci_high"][kpi] for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=hours + hours[::-1], y=high + low[::-1], fill="toself", fillcolor="rgba(31,78,121,0.18)",
                             line={"width": 0}, name="simulated: 95% band for one period", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=hours, y=mean, mode="lines", line={"color": "#1f4e79"}, name="simulated mean"))
    fig.add_trace(go.Scatter(x=hours, y=obs, mode="markers", marker={"color": "#c0392b", "size": 8},
                             name="records"))
    fig.update_layout(title=title, xaxis_title="hour of day", yaxis_title=KPI_WORDS[kpi], xaxis_dtick=2)
    return fig


def _fit_rows(cal: dict) -> list[dict]:
    rows = []
    for line, x in cal["lines"].items():
        p = x["patience"]["fit"]
        rows.append({"line": line, "calls": f"{x['calls']:,}",
                     "patience": f"{p['family']}, mean {p['mean_s']:.0f} s" if p.get("mean_s") else p["family"],
                     "KM median": "-" if x["patience"]["km_median_s"] is None else f"{x['patience']['km_median_s']:.0f} s",
                     "handle": f"mean {x['handle']['mean_s']:.0f} s ({x['handle']['fit']['family']})"})
    return rows


def _backtest_rows(bt: dict) -> list[dict]:
    from demandsim.calibrate.backtest import within_band

    rows = []
    blocks = [(f"line {k}", v) for k, v in bt["lines"].items()] + [(g, v) for g, v in bt.get("incidents", {}).items()]
    for what, block in blocks:
        ok = within_band(block["overall"])
        for kpi, value in block["overall"]["observed"].items():
            sim = block["overall"]["simulated"]
            rows.append({"what": what, "KPI": KPI_WORDS[kpi], "records": _n(value, kpi),
                         "simulated": _n(sim["mean"][kpi], kpi),
                         "band": f"{_n(sim['ci_low'][kpi], kpi)} - {_n(sim['ci_high'][kpi], kpi)}",
                         "in band": {True: "yes", False: "NO", None: "-"}[ok[kpi]]})
    return rows


def _n(x, kpi) -> str:
    if x is None:
        return "-"
    return f"{x:.1%}" if kpi != "asa_s" else f"{x:.1f}"


def render(name: str, cal: dict, charts: dict, backtest: dict | None, plotly_js: str) -> str:
    """The whole page."""
    parts = [f"<h1>Calibration: {e(name)}</h1>",
             f'<p class="meta">Records {e(charts["source"])} · {cal["records"]["used"]:,} used · period '
             f'{e(cal["period"]["start"][:10])} to {e(cal["period"]["end"][:10])} ({cal["period"]["days"]:g} days) · '
             f'left out: {e(", ".join(f"{k} {v:,}" for k, v in cal["records"]["excluded"].items()) or "none")}</p>',
             "<h2>What was fitted</h2>", table(_fit_rows(cal), ["line", "calls", "patience", "KM median", "handle"])]
    n = 0
    for line, x in cal["lines"].items():
        c = charts["lines"][line]
        parts.append(f"<h2>Line {e(line)}</h2>")
        for fig in (arrivals_chart(line, c["arrivals"], x["per_hour_of_week"]),
                    patience_chart(line, c["patience"]),
                    handling_chart(line, c["handle"], c["handle_empirical_min"])):
            n += 1
            parts.append(_div(fig, f"c{n}"))
        n += 1
        parts.append(_div(staffing_chart(line, x["staff_per_hour_of_week"], x.get("head_counts_per_hour_of_week"),
                                         c["rostered"]), f"c{n}"))
        parts.append(f'<p class="note">{e(c["staff_why"])}</p>')
    if backtest:
        parts.append("<h2>Back-test: the scenario simulated over the same period</h2>")
        parts.append(f'<p class="note">{backtest["replications"]} replications on the fast engine. The band is '
                     "where one period's value should fall if the model is right (a 95% prediction band), so "
                     "about one hour in twenty falls outside by chance alone.</p>")
        parts.append(table(_backtest_rows(backtest), ["what", "KPI", "records", "simulated", "band", "in band"]))
        for line, block in backtest["lines"].items():
            for kpi in ("sl_10s", "abandon_rate", "asa_s"):
                n += 1
                parts.append(_div(backtest_chart(f"Line {line}: {KPI_WORDS[kpi]}, by hour of day", block, kpi),
                                  f"c{n}"))
        for grade, block in backtest.get("incidents", {}).items():
            n += 1
            parts.append(_div(backtest_chart(f"{grade}: attended within target, by hour created", block,
                                             "attend_within_target"), f"c{n}"))
    else:
        parts.append('<p class="note">No back-test: run the calibration with --backtest to compare the '
                     "scenario with the records.</p>")
    parts.append('<p class="note">How each value was estimated, and what a back-test can and cannot show: '
                 "docs/calibration.md.</p>")
    return document(f"demandsim calibration: {name}", "\n".join(parts), plotly_js)
