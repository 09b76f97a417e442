"""The response side of a CAD export: grade mix, travel and job times, attendance, areas (issue 12).

The incidents are drawn here with known parameters (fixed seeds); each recovered share or mean
must lie within 4 standard errors of the truth, the standard error computed from the number of
records it is estimated from (binomial for shares, sd / sqrt(n) for means).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from demandsim.calibrate.incidents import (COUNTED_GRADES, area_summary, default_targets_min, grade_mix,
                                           mean_keeping_values, response_times)
from demandsim.config.schema import DEPLOYED_GRADES, GRADES

START = pd.Timestamp("2024-01-01")
Z = 4.0
#: the true mix per line (configs/grading/default.yaml's line_999 and from_101)
MIX = {"999": [0.22, 0.36, 0.17, 0.10, 0.15], "101": [0.10, 0.30, 0.25, 0.15, 0.20]}
ANSWERED = {"999": 20_000, "101": 8_000}
#: true mean travel and job time per grade, seconds (lognormal travel, gamma job)
TRAVEL_S = {"immediate": 600.0, "priority": 1500.0, "prompt": 3600.0}
JOB_S = {"immediate": 5400.0, "priority": 4800.0, "prompt": 3000.0}
AREAS = ["Fen", "Mid", "Town"]
AREA_SHARE = [0.2, 0.3, 0.5]
TRAVEL_FACTOR = [1.5, 1.0, 0.7]
CV = 0.6


def lognormal(rng, mean, cv, size):
    sigma2 = np.log1p(cv * cv)
    return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), size)


def make_incidents(seed: int = 1) -> pd.DataFrame:
    """Incidents from ANSWERED calls graded with MIX: half the no_deployment calls leave an
    incident row, the other half none; 5% of 999 incidents lose their call_line."""
    rng = np.random.default_rng(seed)
    frames = []
    for line, answered in ANSWERED.items():
        grade = rng.choice(GRADES, answered, p=MIX[line])
        keep = (grade != "no_deployment") | (rng.random(answered) < 0.5)
        grade = grade[keep]
        call_line = np.full(len(grade), line, dtype=object)
        if line == "999":
            call_line[rng.random(len(grade)) < 0.05] = None
        frames.append(pd.DataFrame({"grade": grade, "call_line": call_line}))
    table = pd.concat(frames, ignore_index=True)
    n = len(table)
    area_index = rng.choice(len(AREAS), n, p=AREA_SHARE)
    created = START + pd.to_timedelta(rng.uniform(0, 28 * 86400, n), unit="s")
    deployed = table["grade"].isin(DEPLOYED_GRADES).to_numpy()
    base_travel = table["grade"].map(TRAVEL_S).to_numpy(dtype=float)
    travel = lognormal(rng, np.nan_to_num(base_travel, nan=1.0) * np.array(TRAVEL_FACTOR)[area_index], CV, n)
    job_mean = table["grade"].map(JOB_S).to_numpy(dtype=float)
    job = rng.gamma(1 / CV**2, np.nan_to_num(job_mean, nan=1.0) * CV**2)
    dispatch = pd.to_timedelta(rng.exponential(300.0, n), unit="s")
    assigned = (created + dispatch).where(deployed)
    arrived = assigned + pd.to_timedelta(travel, unit="s")
    table = table.assign(created_at=created, assigned_at=assigned, arrived_at=arrived,
                         cleared_at=arrived + pd.to_timedelta(job, unit="s"),
                         area=np.array(AREAS, dtype=object)[area_index], unit=None)
    return table.sort_values("created_at", ignore_index=True)


@pytest.fixture(scope="module")
def incidents() -> pd.DataFrame:
    return make_incidents()


def test_grade_mix_recovers_the_shares_of_answered_calls(incidents):
    result = grade_mix(incidents, ANSWERED)
    assert result["notes"] and "counted as 999" in result["notes"][0]
    for line, answered in ANSWERED.items():
        found = result["lines"][line]
        assert found["answered_calls"] == answered
        assert sum(found["mix"].values()) == pytest.approx(1.0)
        for grade, truth in zip(GRADES, MIX[line]):
            assert abs(found["mix"][grade] - truth) <= Z * np.sqrt(truth * (1 - truth) / answered), (line, grade)
        counted = sum(found["incidents"][g] for g in COUNTED_GRADES)
        assert found["mix"]["no_deployment"] == pytest.approx(1 - counted / answered)


def test_grade_mix_refuses_more_incidents_than_answered_calls(incidents):
    with pytest.raises(ValueError, match=r"^call_line=101: \d+ incidents but only 100 answered calls"):
        grade_mix(incidents, {"999": 20_000, "101": 100})
    with pytest.raises(ValueError, match="call_line='112'"):
        grade_mix(incidents.assign(call_line="112"), ANSWERED)
    # a line with no incident and no answered call is left out; one with calls only has its mix
    only_999 = incidents.assign(call_line="999")
    result = grade_mix(only_999, {"999": 30_000})
    assert set(result["lines"]) == {"999"} and not result["notes"]
    assert grade_mix(only_999.iloc[:0], {"999": 5, "101": 0})["lines"]["101"]["mix"] is None


def test_travel_and_job_times_per_grade_keep_the_mean(incidents):
    result = response_times(incidents, SimpleNamespace(start=START, end=START + pd.Timedelta(days=28), days=28.0))
    mean_factor = float(np.dot(AREA_SHARE, TRAVEL_FACTOR))
    for grade in DEPLOYED_GRADES:
        for part, truth in (("travel", TRAVEL_S[grade] * mean_factor), ("job", JOB_S[grade])):
            found = result["grades"][grade][part]
            sd = truth * CV
            if part == "travel":  # a mixture over the areas: E[X^2] = sum of share x mean^2 x (1 + cv^2)
                second = np.dot(AREA_SHARE, (TRAVEL_S[grade] * np.array(TRAVEL_FACTOR)) ** 2) * (1 + CV**2)
                sd = np.sqrt(second - truth**2)
            assert abs(found["mean_s"] - truth) <= Z * sd / np.sqrt(found["n"]), (grade, part)
            values = found["empirical"]["values"]
            assert len(values) == 100 and values == sorted(values)
            assert np.mean(values) * 60 == pytest.approx(found["mean_s"], rel=1e-12)
        assert result["excluded"][grade] == {"negative_travel": 0, "negative_job": 0}


def test_attendance_within_target_counts_the_unattended_whose_target_passed():
    created = START + pd.to_timedelta([0, 0, 0, 0, 0, 1435], unit="min")
    arrived_after_min = [10, 20, None, None, 5, None]  # within, late, never (target passed) x2, within, never
    arrived = [c + pd.Timedelta(minutes=m) if m is not None else pd.NaT for c, m in zip(created, arrived_after_min)]
    table = pd.DataFrame({"created_at": created, "grade": "immediate",
                          "assigned_at": [c + pd.Timedelta(minutes=1) if a is not pd.NaT else pd.NaT
                                          for c, a in zip(created, arrived)],
                          "arrived_at": pd.to_datetime(arrived), "cleared_at": pd.to_datetime(arrived),
                          "area": None, "unit": None, "call_line": "999"})
    day = SimpleNamespace(start=START, end=START + pd.Timedelta(days=1), days=1.0)
    attendance = response_times(table, day)["grades"]["immediate"]["attendance"]
    # the last was created 23:55: its 15 minutes had not passed at midnight, so its outcome is unknown
    assert attendance == {"target_min": 15.0, "n": 5, "within": 2, "within_target": 0.4, "not_attended": 2}
    # without a period, the day's end is midnight after the last incident: the same
    assert response_times(table)["grades"]["immediate"]["attendance"] == attendance
    assert response_times(table)["grades"]["priority"]["attendance"]["within_target"] is None
    assert default_targets_min() == {"immediate": 15.0, "priority": 60.0, "prompt": 240.0}


def test_areas_demand_share_and_travel_factor(incidents):
    areas = response_times(incidents)["areas"]
    assert list(areas) == AREAS
    n = len(incidents)
    mean_factor = float(np.dot(AREA_SHARE, TRAVEL_FACTOR))
    for name, share, factor in zip(AREAS, AREA_SHARE, TRAVEL_FACTOR):
        assert abs(areas[name]["demand_share"] - share) <= Z * np.sqrt(share * (1 - share) / n)
        # the grade mix is the same in every area here, so the factor is the truth over the mean
        n_area = int(((incidents["area"] == name) & incidents["arrived_at"].notna()).sum())
        relative = factor / mean_factor
        assert abs(areas[name]["travel_factor"] - relative) <= Z * 1.5 * CV * relative / np.sqrt(n_area)
        for grade in DEPLOYED_GRADES:
            assert areas[name]["travel_mean_s"][grade] == pytest.approx(TRAVEL_S[grade] * factor, rel=0.1)
        assert areas[name]["units_home_share"] is None
    assert response_times(incidents.assign(area=None))["areas"] is None


def test_travel_factor_is_standardised_for_the_grade_mix_and_units_have_a_home():
    """Two areas with the same travel per grade but different grades: both factors are 1
    (crude means would make the prompt-heavy area look twice as far)."""
    grades = ["immediate"] * 3 + ["prompt"] + ["immediate"] + ["prompt"] * 3
    travel = {"immediate": 10, "prompt": 50}
    created = [START + pd.Timedelta(hours=k) for k in range(8)]
    assigned = [c + pd.Timedelta(minutes=1) for c in created]
    arrived = [a + pd.Timedelta(minutes=travel[g]) for a, g in zip(assigned, grades)]
    table = pd.DataFrame({"created_at": created, "grade": grades, "assigned_at": assigned, "arrived_at": arrived,
                          "cleared_at": [a + pd.Timedelta(minutes=30) for a in arrived],
                          "area": ["North"] * 4 + ["South"] * 4,
                          "unit": ["u1", "u1", "u2", "u3", "u1", "u2", "u2", "u3"], "call_line": "999"})
    areas = area_summary(table)
    assert [areas[name]["travel_factor"] for name in ("North", "South")] == pytest.approx([1.0, 1.0])
    assert areas["North"]["travel_mean_s"] == {"immediate": 600.0, "priority": None, "prompt": 3000.0}
    # u1: North twice; u2: South twice, North once; u3: once each (a tie: the first by name, North)
    assert areas["North"]["units_home_share"] == pytest.approx(2 / 3)
    assert areas["South"]["units_home_share"] == pytest.approx(1 / 3)


def test_mean_keeping_values_keeps_the_mean_of_awkward_sizes():
    rng = np.random.default_rng(7)
    for n in (1, 99, 100, 101, 1234):
        data = rng.lognormal(1.0, 1.2, n)
        values = mean_keeping_values(data)
        assert len(values) == min(n, 100)
        assert np.mean(values) == pytest.approx(data.mean(), rel=1e-12)
        assert values == sorted(values)
