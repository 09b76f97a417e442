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


def share(flags: pd.Series):
    """Share of True among the known values, or None when there are none."""
    flags = flags.dropna()
    return float(flags.mean()) if len(flags) else None


def mean_or_none(values: pd.Series, scale: float = 1.0):
    values = values.dropna()
    return float(values.mean() / scale) if len(values) else None


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


def line_kpis(calls: pd.DataFrame) -> dict:
    c999 = calls[calls["line"] == "999"]
    c101 = calls[calls["line"] == "101"]
    answered_999 = c999["outcome"] == "answered"
    forwarded = c101[c101["route"] == "secondary"]
    return {
        "calls_999_offered": int(len(c999)),
        "calls_101_offered": int(len(c101)),
        "sl_999_10s": share(answered_999 & (c999["wait_s"] <= ANSWER_WITHIN_S)),
        "abandon_rate_999": share(c999["outcome"] == "abandoned"),
        "abandon_rate_101": share(c101["outcome"].isin(["abandoned_switchboard", "abandoned_secondary"])),
        "abandon_rate_101_secondary": share(forwarded["outcome"] == "abandoned_secondary"),
        "asa_999_s": mean_or_none(c999.loc[answered_999, "wait_s"]),
        "asa_101_s": mean_or_none(c101["wait_s"]),
        "redials_999_from_101": int(((c999["origin"] == "redial")).sum()),
    }


def attendance_kpis(incidents: pd.DataFrame) -> dict:
    out = {}
    for grade in DEPLOYED_GRADES:
        out[f"incidents_{grade}"] = int((incidents["grade"] == grade).sum())
    for grade in DEPLOYED_GRADES:
        out[f"attend_within_target_{grade}"] = share(incidents.loc[incidents["grade"] == grade, "within_target"])
    out["attend_within_target_all"] = share(incidents.loc[incidents["grade"].isin(DEPLOYED_GRADES), "within_target"])
    for grade in DEPLOYED_GRADES:
        attended = incidents.loc[incidents["grade"] == grade, "attendance_s"].dropna()
        out[f"attend_p90_min_{grade}"] = float(np.percentile(attended, 90) / 60.0) if len(attended) else None
    for grade in DEPLOYED_GRADES:
        waits = incidents.loc[incidents["grade"] == grade, "dispatch_wait_s"]
        out[f"dispatch_wait_mean_min_{grade}"] = mean_or_none(waits, 60.0)
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


def compute_kpis(records: RunRecords, model: ModelParts) -> dict:
    """All KPIs of shared/KPIS.md for one run."""
    kpis = line_kpis(measured_calls(records, model))
    kpis.update(attendance_kpis(measured_incidents(records, model)))
    kpis.update(utilisation_kpis(records, model))
    return kpis


def run_counts(records: RunRecords, model: ModelParts) -> dict:
    """Counts that explain the KPIs (for summary.json), over the measured period."""
    calls = measured_calls(records, model)
    incidents = measured_incidents(records, model)
    deployed = incidents[incidents["grade"].isin(DEPLOYED_GRADES)]
    return {
        "calls_open_at_end": int((calls["outcome"] == "open_at_end").sum()),
        "incidents_excluded_target_not_yet_due": int(deployed["within_target"].isna().sum()),
        "incidents_unattended_past_target": int((deployed["attendance_s"].isna()
                                                 & deployed["within_target"].notna()).sum()),
        "victim_updates_due": int(deployed["victim_update_due"].sum()),
        "incidents_scheduled": int((incidents["grade"] == "scheduled").sum()),
        "incidents_no_deployment": int((incidents["grade"] == "no_deployment").sum()),
    }
