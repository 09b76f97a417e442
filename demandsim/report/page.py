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
from demandsim.report.data import FROM_BASELINE, ReportData, capacity_warnings
from demandsim.report.standards import which_answer

CSS = """
body { font-family: Arial, Helvetica, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: 14px; } .note { color: #444; font-size: 14px; }
.missing { background: #fff4e5; border-left: 4px solid #e67e22; padding: 8px 14px; margin: 16px 0; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0 16px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; } th { background: #f3f3f3; }
td.num { text-align: right; } .chart { margin: 18px 0 28px; }
.chart-note { background: #f4f8fb; border-left: 4px solid #2471a3; padding: 6px 12px; margin: 4px 0; }
"""
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "toImageButtonOptions": {"format": "png", "scale": 2}}


def e(text) -> str:
    return html.escape(str(text), quote=True)


def document(title: str, body: str, plotly_js: str) -> str:
    """A whole self-contained page (the report, a calibration's, an optimisation's): ``title``
    escaped, ``body`` HTML as given, plotly.js inlined once in the head."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{CSS}</style>"
            f'<script type="text/javascript">{plotly_js}</script></head>\n<body>\n{body}\n</body></html>\n')


def table(rows: list[dict], columns: list[str], headers: list[str] | None = None) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in (headers or columns))
    body = "".join("<tr>" + "".join(f"<td>{e(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def chart_div(fig, div_id: str) -> str:
    """A chart's div and the script that draws it (plotly.js itself is in the head), then its notes
    (a line flat or against intuition, and why: demandsim.report.notes) under it."""
    from demandsim.report.charts import chart_notes

    snippet = pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)
    notes = "".join(f'<p class="note chart-note">{e(n)}</p>' for n in chart_notes(fig))
    return f'<div class="chart" data-chart="{e(div_id)}">{snippet}{notes}</div>'


def kpi_table(data: ReportData) -> str:
    """Headline KPIs: per point, mean and 95% interval (a sweep), or the values (a single run)."""
    from demandsim.sweep.tables import window_kpis

    names = headline_kpis(data)
    if data.is_sweep:
        from demandsim.sweep.plan import point_labels

        summary = data.summary
        labels = point_labels(summary, data.swept_keys)
        rows = []
        for name in names:
            row = {"kpi": kpi_label(name)}
            for point, label in labels.items():
                hit = summary[(summary["point"] == point) & (summary["kpi"] == name)]
                if not hit.empty:
                    r = hit.iloc[0]
                    row[label] = f"{_num(r['mean'])} ({_ci(r['ci_low'], r['ci_high'])}, n={int(r['n'])})"
            rows.append(row)
        return table(rows, ["kpi", *labels.values()], ["KPI", *labels.values()]) + \
            '<p class="note">mean over replications (95% confidence interval, number of replications)</p>'
    kpis = {**data.chosen.summary.get("kpis", {}), **window_kpis(data.chosen.summary)}
    rows = [{"kpi": kpi_label(n), "value": _num(kpis.get(n))} for n in names if n in kpis]
    return table(rows, ["kpi", "value"], ["KPI", "value"])


def kpi_label(name: str) -> str:
    """A KPI in a table: in words, then its name (the name report.json and sweep_summary.parquet use).

    >>> kpi_label("sl_999_10s")
    '999 calls answered within 10 s (sl_999_10s)'
    """
    from demandsim.report.words import kpi_words

    return f"{kpi_words(name)} ({name})"


def headline_kpis(data: ReportData) -> list[str]:
    """The KPIs of the page's tables: the standards' and a few that explain them."""
    from demandsim.sweep.tables import WINDOW_PREFIX

    prefix = WINDOW_PREFIX if data.window else ""  # with a window, its KPIs (the standards read them)
    names = [s.column for s in data.standards if not s.of_baseline]
    return list(dict.fromkeys(names + [f"{prefix}{k}" for k in ("attend_within_target_all", "calls_999_offered",
                                                                "calls_101_offered", "utilisation_call_handlers",
                                                                "utilisation_units")]))


def goals_table(data: ReportData) -> str:
    """Each line drawn, its value and where it came from (the runs' config, the command line, the baseline)."""
    rows = []
    for s in data.standards:
        if s.of_baseline:
            value = f"the baseline's mean, {_num(s.value)}; judged on the paired difference"
            source = f"{FROM_BASELINE}: {data.baseline.label}"
        else:
            value, source = f"{100 * s.value:g}%", f"{s.source} ({s.key})"
        rows.append({"standard": s.text, "value": value, "from": source})
    return table(rows, ["standard", "value", "from"], ["standard", "line", "where it came from"])


def comparison_block(data: ReportData, sections) -> str:
    """The comparison against the baseline: a table of paired differences per point, then its charts."""
    from demandsim.sweep.plan import point_labels

    comp = data.comparison
    labels = point_labels(comp, data.swept_keys, unswept="this run")
    if data.baseline.same_sweep and data.baseline.point in labels:
        labels[data.baseline.point] += " (the baseline)"
    rows = []
    for name in headline_kpis(data):
        row = {"kpi": kpi_label(name)}
        for point, label in labels.items():
            hit = comp[(comp["point"] == point) & (comp["kpi"] == name)]
            if not hit.empty:
                r = hit.iloc[0]
                row[label] = f"{_diff(r['diff_mean'], name)} ({_diff(r['ci_low'], name)} to " \
                             f"{_diff(r['ci_high'], name)}, n={int(r['n'])})" if r["ci_low"] == r["ci_low"] \
                    else f"{_diff(r['diff_mean'], name)} (no CI, n={int(r['n'])})"
        rows.append(row)
    parts = [f'<section id="comparison"><h2>Against the baseline: {e(data.baseline.label)}</h2>',
             '<p class="note">Each point minus the baseline, seed by seed (replication r of each uses the same '
             "seed: common random numbers, so both saw the same calls), then the mean of those differences and "
             "its 95% Student-t interval: far tighter than the two points' own intervals side by side. Shares "
             "in percentage points (pts). “Back to the baseline's level” in the table of standards: the least "
             "swept value from which the whole interval of the difference is on the right side of 0.</p>",
             table(rows, ["kpi", *labels.values()], ["KPI", *labels.values()])]
    for heading, explanation, figures in sections:
        parts.append(f"<h3>{e(heading)}</h3><p class=\"note\">{e(explanation)}</p>")
        parts += [chart_div(fig, div_id) for div_id, fig in figures]
    parts.append("</section>")
    return "\n".join(parts)


def _diff(x, kpi: str) -> str:
    """A difference: percentage points for a share, else the KPI's own unit."""
    from demandsim.kpis import SHARE_KPIS

    if x is None or x != x:
        return "n/a"
    from demandsim.report.words import number

    if kpi.rsplit(".", 1)[-1] in SHARE_KPIS:
        return f"{100 * x:+.1f} pts"
    return ("+" if x > 0 else "") + number(x)


def _num(x) -> str:
    if x is None or x != x:
        return "n/a"
    from demandsim.report.words import number

    return number(x) if abs(x) >= 1 or x == 0 else f"{100 * x:.1f}%"


def _ci(lo, hi) -> str:
    if lo != lo or hi != hi:
        return "no CI"
    return f"{_num(lo)} – {_num(hi)}"


def render(data: ReportData, sections: list[tuple[str, str, list]], smallest: list[dict], plotly_js: str,
           compared: list[tuple[str, str, list]] | None = None) -> str:
    """The whole page. ``sections``: (heading, explanation, [(div_id, figure)]) in order; ``compared``: the
    comparison's sections (with --baseline), drawn after the tables."""
    from demandsim.report.charts import made_by
    from demandsim.report.words import title_overrides

    parts = [f"<h1>Demand hub report: {e(made_by(data))}</h1>"]
    rest = [w for w in data.overrides if w not in title_overrides(data.overrides, data.swept_keys)
            and w.partition("=")[0] not in ("scenario", "scenario_name", *data.swept_keys)
            and not w.startswith("hydra.")]
    if rest:  # run length, replications: not what makes the point, said once here
        parts.append(f'<p class="meta">Also on the command line: {e(", ".join(rest))}</p>')
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
    parts.append('<h2>Goals and where they came from</h2><div id="goals">' + goals_table(data) +
                 '<p class="note">Goals are set by the runs\' config (report.*) or when the report is made '
                 "(python -m demandsim.report DIR report.KEY=VALUE), which wins.</p></div>")
    if data.baseline is not None:
        parts.append(comparison_block(data, compared or []))
    for heading, explanation, figures in sections:
        parts.append(f"<h2>{e(heading)}</h2><p class=\"note\">{e(explanation)}</p>")
        parts += [chart_div(fig, div_id) for div_id, fig in figures]
    parts.append('<h2>Notes</h2><ul class="note">'
                 "<li>Bands are 95% confidence intervals of the mean over replications (runs that differ only "
                 "in seed; replication r uses seed run.seed + r at every point, so points compare like with "
                 "like): Student-t, and for a share a logit interval, which stays within 0–100% "
                 "(docs/report.md).</li>"
                 "<li>The goal share per grade is a config value (report.attendance_goal); the sources publish "
                 "targets but no goal share, so it is 90% unless a scenario sets it.</li>"
                 "<li>KPI definitions: docs/model.md. Tables behind this page: sweep.parquet, "
                 "sweep_summary.parquet and each run's folder.</li></ul>")
    return document(f"demandsim report: {made_by(data)}", "\n".join(parts), plotly_js)
