"""``report.html`` of an optimisation: self-contained (plotly.js inlined, nothing fetched).

Required staff per hour against today's roster and the per-interval Erlang staffing a
spreadsheet would give, the shift roster, each goal's KPI per hour with its band and the
goal line, and staff-hours today against optimised.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from demandsim.calibrate.page import HOUR_TICKS, _div
from demandsim.report.page import document, e, table

WORDS = {"sl_999_10s": "999 answered within 10 s (share)", "abandon_rate_999": "999 abandoned (share)",
         "asa_999_s": "999 mean wait of answered calls (s)", "abandon_rate_101": "101 abandoned (share)"}


def kpi_words(kpi: str) -> str:
    if kpi in WORDS:
        return WORDS[kpi]
    if kpi.startswith("attend_within_target_"):
        return f"{kpi.rsplit('_', 1)[1]} attended within target (share)"
    return f"{kpi.rsplit('_', 1)[1]} mean wait for a unit (min)"


def staff_chart(result: dict, extras: dict) -> go.Figure:
    x = list(range(168))
    fig = go.Figure()
    today = sum(extras["today"].values())
    fig.add_trace(go.Scatter(x=x, y=today.tolist(), mode="lines", line={"shape": "hv", "color": "#999"},
                             name=f"today's roster ({int(today.sum()):,} staff-hours)"))
    erlang = [v for v in extras["erlang"].values() if v is not None]
    if len(erlang) == len(extras["erlang"]):
        total = sum(erlang)
        fig.add_trace(go.Scatter(x=x, y=total.tolist(), mode="lines", line={"shape": "hv", "dash": "dot"},
                                 name=f"per-interval Erlang, each hour alone ({int(total.sum()):,})"))
    fig.add_trace(go.Scatter(x=x, y=result["staff_per_hour_of_week"], mode="lines",
                             line={"shape": "hv", "color": "#1f4e79", "width": 2.5},
                             name=f"optimised, {result['mode'].replace('_', ' ')} ({result['staff_hours_per_week']:,})"))
    fig.update_layout(title=f"{result['group'].replace('_', ' ')}: staff per hour of the week", xaxis=HOUR_TICKS,
                      yaxis_title="people on duty")
    return fig


def kpi_chart(result: dict, kpi: str) -> go.Figure:
    x = list(range(168))
    a = result["achieved"]["by_hour_of_week"][kpi]
    from demandsim.optimise.evaluate import KPIS

    top = 1.0 if KPIS[kpi].share else np.inf  # a share's bound stops at 100%
    low = [np.nan if v is None else max(0.0, v) for v in a["ci_low"]]
    high = [np.nan if v is None else min(top, v) for v in a["ci_high"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x + x[::-1], y=high + low[::-1], fill="toself", fillcolor="rgba(31,78,121,0.18)",
                             line={"width": 0}, name=f"{result['confidence']:.0%} bounds", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=a["mean"], mode="lines", line={"color": "#1f4e79"}, name="achieved (mean)"))
    fig.add_hline(y=result["goals"][kpi], line_dash="dash", line_color="#c0392b",
                  annotation_text=f"goal {result['goals'][kpi]:g}")
    fig.update_layout(title=f"{kpi_words(kpi)}, optimised roster", xaxis=HOUR_TICKS, yaxis_title=kpi_words(kpi))
    return fig


def render(result: dict, extras: dict) -> str:
    """The whole page."""
    import plotly.offline

    today = result["today_staff_hours_per_week"]
    saved = today - result["staff_hours_per_week"]
    parts = [f"<h1>Least roster: {e(result['group'].replace('_', ' '))}</h1>",
             f'<p class="meta">scenario {e(extras["cfg"].scenario_name)} · mode {e(result["mode"])} · goals '
             f'{e(", ".join(f"{k} {v:g}" for k, v in result["goals"].items()))} · {result["confidence"]:.0%} '
             f'confidence · {result["replications"]} replications of {extras["cfg"].run.days:g} days · '
             f'{result["iterations"]} iterations, {result["runs"]} runs, {result["seconds"]:.0f} s'
             + ("" if result["finished"] else " · <b>stopped at optimise.max_iterations: not the least yet</b>")
             + "</p>",
             table([{"roster": "today", "staff-hours a week": f"{today:,}"},
                    {"roster": f"optimised ({result['mode'].replace('_', ' ')})",
                     "staff-hours a week": f"{result['staff_hours_per_week']:,}"},
                    {"roster": "difference", "staff-hours a week": f"{-saved:+,}"}],
                   ["roster", "staff-hours a week"]),
             _div(staff_chart(result, extras), "staff")]
    if result["shifts"]:
        parts.append("<h2>Shift roster</h2>")
        parts.append(table([{**x, "days": ", ".join(x["days"])} for x in result["shifts"]],
                           [k for k in ("group", "start_hour", "hours", "staff", "days")
                            if k in result["shifts"][0] or k != "group"]))
    parts.append("<h2>What the optimised roster achieves</h2>")
    parts.append('<p class="note">Each hour is judged alone: the band is the one-sided bound at the stated '
                 "confidence over the replications. With 168 hours, a few may fall short by chance in a new "
                 "month even when each is met at 95% (docs/optimise.md).</p>")
    for i, kpi in enumerate(result["goals"]):
        parts.append(_div(kpi_chart(result, kpi), f"k{i}"))
    return document(f"demandsim optimiser: {result['group']}", "\n".join(parts), plotly.offline.get_plotlyjs())
