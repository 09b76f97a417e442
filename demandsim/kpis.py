"""KPI definitions (names from shared/KPIS.md), one small function each.

Every KPI is a pure function of the run's tables over the measured period
(after warm-up): calls by offer time, incidents by the start of their call,
utilisation by the hours after warm-up. A KPI with nothing to measure is
``None`` (``null`` in JSON), never 0.

Example:
    >>> import pandas as pd
    >>> share(pd.Series([True, False, True, True]))
    0.75
    >>> share(pd.Series([], dtype=bool)) is None
    True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.model.plan import ModelParts
from demandsim.records import RunRecords

#: "answered within 10 seconds" (national 999 standard)
ANSWER_WITHIN_S = 10.0


def share(flags, among: np.ndarray | None = None):
    """Share of True among the known values (of the rows ``among``), or None when there are none."""
    flags = _known(flags, among)
    return float(np.count_nonzero(flags) / len(flags)) if len(flags) else None


def mean_or_none(values, scale: float = 1.0, among: np.ndarray | None = None):
    """Mean of the known values (of the rows ``among``) divided by ``scale``, or None when there are none."""
    values = _known(values, among)
    return float(values.mean() / scale) if len(values) else None


def _known(values, among: np.ndarray | None) -> np.ndarray:
    """The values that are not missing, as a numpy array (rows ``among`` only, if given)."""
    if isinstance(values, np.ndarray):
        known = ~np.isnan(values) if values.dtype.kind == "f" else np.ones(len(values), dtype=bool)
    else:
        values = values if isinstance(values, pd.Series) else pd.Series(values)
        known = values.notna().to_numpy()
        values = values.array  # pandas' own array (a BooleanArray keeps its missing values)
    if among is not None:
        known = known & among
    return np.asarray(values[known])


#: the columns the KPIs read; only these are copied when the warm-up is cut off (a year's
#: call table has 21 columns, and copying them all was most of the time spent on KPIs)
CALL_KPI_COLUMNS = ["line", "origin", "outcome", "route", "wait_s"]
INCIDENT_KPI_COLUMNS = ["grade", "within_target", "attendance_s", "dispatch_wait_s", "victim_update_due"]


def measured_calls(records: RunRecords, model: ModelParts, columns: list[str] = CALL_KPI_COLUMNS) -> pd.DataFrame:
    """``columns`` of the calls offered after warm-up."""
    calls = records.calls
    return calls.loc[calls["t_offer"].to_numpy() >= model.warmup_s, columns]


def measured_incidents(records: RunRecords, model: ModelParts,
                       columns: list[str] = INCIDENT_KPI_COLUMNS) -> pd.DataFrame:
    """``columns`` of the incidents whose call started after warm-up."""
    incidents = records.incidents
    return incidents.loc[incidents["t_call_start"].to_numpy() >= model.warmup_s, columns]


def _is(column: pd.Series, *names: str) -> np.ndarray:
    """Rows whose categorical value is one of ``names`` (compares codes: far faster than
    boolean-indexing a pandas Series, which each KPI did before)."""
    out = (column == names[0]).to_numpy()
    for name in names[1:]:
        out = out | (column == name).to_numpy()
    return out


def line_kpis(calls: pd.DataFrame) -> dict:
    is_999, is_101 = _is(calls["line"], "999"), _is(calls["line"], "101")
    outcome, wait = calls["outcome"], calls["wait_s"].to_numpy()
    answered_999 = is_999 & _is(outcome, "answered")
    forwarded = is_101 & _is(calls["route"], "secondary")
    return {
        "calls_999_offered": int(is_999.sum()),
        "calls_101_offered": int(is_101.sum()),
        "sl_999_10s": share(answered_999 & (wait <= ANSWER_WITHIN_S), among=is_999),
        "abandon_rate_999": share(_is(outcome, "abandoned"), among=is_999),
        "abandon_rate_101": share(_is(outcome, "abandoned_switchboard", "abandoned_secondary"), among=is_101),
        "abandon_rate_101_secondary": share(_is(outcome, "abandoned_secondary"), among=forwarded),
        "asa_999_s": mean_or_none(wait, among=answered_999),
        "asa_101_s": mean_or_none(wait, among=is_101),
        "redials_999_from_101": int((is_999 & _is(calls["origin"], "redial")).sum()),
    }


def attendance_kpis(incidents: pd.DataFrame) -> dict:
    of_grade = {g: _is(incidents["grade"], g) for g in DEPLOYED_GRADES}  # each grade's rows, found once
    within, attendance, waits = incidents["within_target"], incidents["attendance_s"], incidents["dispatch_wait_s"]
    out = {}
    for g in DEPLOYED_GRADES:
        out[f"incidents_{g}"] = int(of_grade[g].sum())
    for g in DEPLOYED_GRADES:
        out[f"attend_within_target_{g}"] = share(within, among=of_grade[g])
    out["attend_within_target_all"] = share(within, among=_is(incidents["grade"], *DEPLOYED_GRADES))
    for g in DEPLOYED_GRADES:
        attended = _known(attendance, of_grade[g])
        out[f"attend_p90_min_{g}"] = float(np.percentile(attended, 90) / 60.0) if len(attended) else None
    for g in DEPLOYED_GRADES:
        out[f"dispatch_wait_mean_min_{g}"] = mean_or_none(waits, 60.0, among=of_grade[g])
    return out


def utilisation_kpis(records: RunRecords, model: ModelParts) -> dict:
    """Busy time over rostered (paid) time in the measured hours."""
    iv = records.intervals
    start = iv["t_start"].to_numpy()
    length = iv["length_s"].to_numpy()
    # share of each hour that lies after warm-up
    weight = np.clip((start + length - model.warmup_s) / length, 0.0, 1.0)
    out = {}
    for kpi, groups in (("utilisation_call_handlers", ["call_handlers"]),
                        ("utilisation_switchboard", ["switchboard"]),
                        ("utilisation_units", ["units"])):
        busy = sum((iv[f"mean_busy_{g}"] * length * weight).sum() for g in groups)
        paid = sum((iv[f"rostered_{g}"] * length * weight).sum() for g in groups)
        out[kpi] = float(busy / paid) if paid > 0 else None
    return out


def counts(calls: pd.DataFrame, incidents: pd.DataFrame) -> dict:
    """Counts that explain the KPIs (for summary.json), of the measured calls and incidents."""
    grade = incidents["grade"]
    deployed = _is(grade, *DEPLOYED_GRADES)
    unknown = incidents["within_target"].isna().to_numpy()
    unattended = incidents["attendance_s"].isna().to_numpy()
    return {
        "calls_open_at_end": int(_is(calls["outcome"], "open_at_end").sum()),
        "incidents_excluded_target_not_yet_due": int((deployed & unknown).sum()),
        "incidents_unattended_past_target": int((deployed & unattended & ~unknown).sum()),
        "victim_updates_due": int((deployed & incidents["victim_update_due"].to_numpy()).sum()),
        "incidents_scheduled": int(_is(grade, "scheduled").sum()),
        "incidents_no_deployment": int(_is(grade, "no_deployment").sum()),
    }


def kpis_and_counts(records: RunRecords, model: ModelParts) -> tuple[dict, dict]:
    """All KPIs of shared/KPIS.md for one run, and its :func:`counts`; the warm-up cut off once."""
    calls, incidents = measured_calls(records, model), measured_incidents(records, model)
    kpis = line_kpis(calls)
    kpis.update(attendance_kpis(incidents))
    kpis.update(utilisation_kpis(records, model))
    return kpis, counts(calls, incidents)


def compute_kpis(records: RunRecords, model: ModelParts) -> dict:
    """All KPIs of shared/KPIS.md for one run."""
    return kpis_and_counts(records, model)[0]
