"""The standards over a swept shift's own hours, computed by the worker while a run's records are in memory.

When a swept key is one shift's staff (``staffing.<group>.shifts|extra.<i>.staff``), the report
judges the standards over that shift's hours as well as over the whole week
(:func:`demandsim.report.standards.shift_summary`): the shift's staff answer only the calls of its
hours. Those KPIs come from the same function as a run's own (:func:`demandsim.kpis.measured_kpis`
over the shift's :class:`~demandsim.window.Window`). Computed by the report they meant reading every
run's three tables again (40 of a 44-s report on a 200-run sweep); the worker computes them instead,
about 0.1 s of a baseline year's run in the worker, and writes them into the run's ``summary.json``:

    "swept_shifts": {"<swept key>": {"hours": "15-01", "days": [...], "kpis": {<name>: value}}}

The report takes them when the hours and days match the shift it reads from the config, else
(a sweep written before this block existed) it computes them from the tables.

Example:
    >>> summary = {"swept_shifts": {"k": {"hours": "17-03", "days": ["Fri"], "kpis": {"sl_999_10s": 0.9}}}}
    >>> from demandsim.window import shift_window
    >>> stored_shift_kpis(summary, "k", shift_window(17, 10, ["Fri"], "late"))
    {'sl_999_10s': 0.9}
    >>> stored_shift_kpis(summary, "k", shift_window(16, 10, ["Fri"], "late")) is None
    True
"""

from __future__ import annotations

import dataclasses

from demandsim.window import Window, swept_shift_window

#: summary.json's block of KPIs over each swept shift's hours
SWEPT_SHIFTS = "swept_shifts"


def swept_shift_block(result, swept_keys: list[str]) -> dict:
    """summary.json's ``swept_shifts`` block for a run (a :class:`demandsim.runner.RunResult`) of a
    sweep of ``swept_keys``: empty when no swept key is one shift's staff."""
    from demandsim.kpis import measured_kpis

    config = None
    block = {}
    for key in swept_keys:
        if not key.startswith("staffing."):  # the config is turned into a dict only when needed
            continue
        config = config if config is not None else dataclasses.asdict(result.config)
        window = swept_shift_window(key, config)
        if window is not None:
            model = result.model
            values = measured_kpis(result.records, model.warmup_s, model.horizon_s, window)[0]
            block[key] = {**window.block(), "kpis": values}
    return {SWEPT_SHIFTS: block} if block else {}


def stored_shift_kpis(summary: dict, key: str, window: Window) -> dict | None:
    """The KPIs over ``window`` (the hours of the shift whose staff ``key`` is) that the worker wrote into
    a run's ``summary`` (:func:`swept_shift_block`), or None when it wrote none for these hours."""
    stored = (summary.get(SWEPT_SHIFTS) or {}).get(key)
    if not stored or {"hours": stored.get("hours"), "days": stored.get("days")} != window.block():
        return None
    return stored.get("kpis")
