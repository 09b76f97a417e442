"""The report page: one self-contained HTML file (plotly.js embedded, nothing fetched).

Force networks are often offline, so the page loads no script, style or font
from anywhere: plotly.js is inlined once in the head. Every piece of text that
comes from a user (scenario names, config keys and values, folder names) is
escaped.

Example:
    >>> "<script" in table([{"a": "<script>"}], ["a"])
    False
"""

from __future__ import annotations

import datetime as _dt
import html

import plotly.io as pio

from demandsim import __version__
from demandsim.report.data import ReportData, capacity_warnings, which_answer

CSS = """
body { font-family: Arial, Helvetica, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: 14px; } .note { color: #444; font-size: 14px; }
.missing { background: #fff4e5; border-left: 4px solid #e67e22; padding: 8px 14px; margin: 16px 0; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0 16px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; } th { background: #f3f3f3; }
td.num { text-align: right; } .chart { margin: 18px 0 28px; }
"""
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "toImageButtonOptions": {"format": "png", "scale": 2}}


def e(text) -> str:
    return html.escape(str(text), quote=True)


def table(rows: list[dict], columns: list[str], headers: list[str] | None = None) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in (headers or columns))
    body = "".join("<tr>" + "".join(f"<td>{e(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def chart_div(fig, div_id: str) -> str:
    """A chart's div and the script that draws it (plotly.js itself is in the head)."""
    snippet = pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)
    return f'<div class="chart" data-chart="{e(div_id)}">{snippet}</div>'


def kpi_table(data: ReportData) -> str:
    """Headline KPIs: per point, mean and 95% interval (a sweep), or the values (a single run)."""
    # with a window, its KPIs (the standards read them: Standard.column)
    from demandsim.sweep.tables import WINDOW_PREFIX, window_kpis

    prefix = WINDOW_PREFIX if data.window else ""
    names = [s.column for s in data.standards] + [
        f"{prefix}{k}" for k in ("calls_999_offered", "calls_101_offered", "utilisation_call_handlers")]
    if data.is_sweep:
        from demandsim.sweep.plan import point_label

        summary = data.summary
        points = summary.drop_duplicates("point")
        labels = {int(r["point"]): point_label({k: r[k] for k in data.swept_keys}) or "mean of replications"
                  for _, r in points.iterrows()}
        rows = []
        for name in names:
            row = {"kpi": name}
            for point, label in labels.items():
                hit = summary[(summary["point"] == point) & (summary["kpi"] == name)]
                if not hit.empty:
                    r = hit.iloc[0]
                    row[label] = f"{_num(r['mean'])} ({_ci(r['ci_low'], r['ci_high'])}, n={int(r['n'])})"
            rows.append(row)
        return table(rows, ["kpi", *labels.values()], ["KPI", *labels.values()]) + \
            '<p class="note">mean over replications (95% confidence interval, number of replications)</p>'
    kpis = {**data.chosen.summary.get("kpis", {}), **window_kpis(data.chosen.summary)}
    rows = [{"kpi": n, "value": _num(kpis.get(n))} for n in names if n in kpis]
    return table(rows, ["kpi", "value"], ["KPI", "value"])


def _num(x) -> str:
    if x is None or x != x:
        return "n/a"
    return f"{x:,.4g}" if abs(x) >= 1 or x == 0 else f"{100 * x:.1f}%"


def _ci(lo, hi) -> str:
    if lo != lo or hi != hi:
        return "no CI"
    return f"{_num(lo)} – {_num(hi)}"


def render(data: ReportData, sections: list[tuple[str, str, list]], smallest: list[dict], plotly_js: str) -> str:
    """The whole page. ``sections``: (heading, explanation, [(div_id, figure)]) in order."""
    parts = [f"<h1>Demand hub report: {e(data.scenario)}</h1>"]
    kind = (f"sweep of {e(', '.join(data.swept_keys) or 'replications')}: {data.runs['point'].nunique()} point(s), "
            f"{len(data.runs)} finished run(s), {data.replications} replication(s) per point") if data.is_sweep \
        else "a single run"
    parts.append(f'<p class="meta">{kind} · folder {e(data.folder)} · config hash {e(data.config_hash)} · '
                 f"demandsim {e(__version__)} · made {e(_dt.datetime.now().strftime('%Y-%m-%d %H:%M'))}</p>")
    if data.missing:
        items = "".join(f"<li>{e(m)}</li>" for m in data.missing)
        parts.append(f'<div class="missing" id="missing"><b>Runs missing from this sweep</b> (their points are '
                     f"left out of the charts, or drawn from fewer replications; re-run the sweep command to "
                     f"complete them):<ul>{items}</ul></div>")
    warnings = capacity_warnings(data)
    if warnings:
        items = "".join(f"<li>{e(w)}</li>" for w in warnings)
        parts.append(f'<div class="missing" id="capacity"><b>Units cannot keep up</b> (a backlog that grows '
                     f"without settling: not a steady state; see stable and backlog_growth_per_day in "
                     f"docs/model.md):<ul>{items}</ul></div>")
    if smallest:
        parts.append("<h2>Smallest staffing that meets each standard</h2>")
        parts.append('<p class="note">The least swept value from which the standard is met with 95% confidence '
                     "at that value and at every larger swept value (the whole 95% confidence interval of the mean "
                     "over replications is on the right side of the line), or “not met in range”. A note says when "
                     "the standard is also met at a smaller value below one that fails (results not monotone).</p>")
        answer = which_answer(data)
        if answer:
            parts.append(f'<p class="note" id="which-hours">{e(answer)}</p>')
        parts.append(table(smallest, ["key", "setting", "over", "standard", "least", "note"],
                           ["swept key", "other keys", "over the hours", "standard", "least value", "note"]))
    else:
        over = f'<p class="note" id="which-hours">Over the runs\' window (window.hours, window.days): ' \
            f"{e(data.window)}.</p>" if data.window else ""
        parts.append("<h2>Headline KPIs</h2>" + over + kpi_table(data))
    for heading, explanation, figures in sections:
        parts.append(f"<h2>{e(heading)}</h2><p class=\"note\">{e(explanation)}</p>")
        parts += [chart_div(fig, div_id) for div_id, fig in figures]
    parts.append('<h2>Notes</h2><ul class="note">'
                 "<li>Bands are 95% Student-t confidence intervals of the mean over replications (runs that "
                 "differ only in seed; replication r uses seed run.seed + r at every point, so points compare like "
                 "with like). Shares are drawn within 0–100%.</li>"
                 "<li>The goal share per grade is a config value (report.attendance_goal); the sources publish "
                 "targets but no goal share, so it is 90% unless a scenario sets it.</li>"
                 "<li>KPI definitions: docs/model.md. Tables behind this page: sweep.parquet, "
                 "sweep_summary.parquet and each run's folder.</li></ul>")
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>demandsim report: {e(data.scenario)}</title><style>{CSS}</style>"
            f'<script type="text/javascript">{plotly_js}</script></head>\n<body>\n{body}\n</body></html>\n')
