"""Follow-up work after attending: a share of each grade's incidents keeps its unit longer.

The work is drawn per caller row in demandsim/draws.py (attribute 0 of the "follow_up"
stream decides whether the incident has any, attribute 1 its time) and added to the time on
scene, so the engines only see a longer job. The checks: the shares and times are what the
config says (tolerances from the sample size), a mechanism with zero effect changes no record,
the other draws are untouched (common random numbers), more follow-up never improves
attendance, and bad input is refused with the key named.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from demandsim.config import load_config
from demandsim.draws import follow_up_work
from demandsim.errors import ConfigError
from demandsim.model.grading import DEPLOYED_GRADES
from demandsim.model.plan import build_model, build_plan
from demandsim.runner import simulate
from helpers import run

SHORT = ["run.days=14", "run.warmup_days=1", "run.engine=fast", "run.seed=5"]


def graded_rows(overrides: list[str]):
    """(plan, per deployed grade the draw rows of that grade's incidents) of a run."""
    result = run(overrides)
    plan = build_plan(load_config(overrides))
    calls = result.records.calls.set_index("call_id")
    incidents = result.records.incidents
    rows = {}
    for g in DEPLOYED_GRADES:
        mine = incidents[incidents["grade"] == g]
        rows[g] = calls.loc[mine["call_id"], "draw_row"].to_numpy()
    return plan, rows, result


def test_share_and_time_of_follow_up_are_the_configured_ones():
    plan, rows, _ = graded_rows(SHORT)
    m, d, work = plan.model, plan.draws, follow_up_work(plan)
    for k, g in enumerate(DEPLOYED_GRADES):
        follow = work[rows[g]]
        n, share = len(follow), m.follow_up_share[k]
        assert n > 500
        # binomial: 4 standard deviations
        assert abs((follow > 0).mean() - share) <= 4 * math.sqrt(share * (1 - share) / n), g
        with_work = follow[follow > 0]
        mean, cv = 60 * m.follow_up[k].mean, 0.8  # configs/dispatch/default.yaml: lognormal, cv 0.8
        assert abs(with_work.mean() - mean) <= 4 * cv * mean / math.sqrt(len(with_work)), g
        # the engines read on_scene: the time on scene plus the follow-up work
        on_scene = d.on_scene[rows[g]] - follow
        assert (on_scene > 0).all()


def test_the_unit_is_busy_until_the_follow_up_work_is_done():
    plan, rows, result = graded_rows(SHORT)
    d = plan.draws
    incidents = result.records.incidents
    calls = result.records.calls.set_index("call_id")
    done = incidents.dropna(subset=["t_clear"])
    row = calls.loc[done["call_id"], "draw_row"].to_numpy()
    np.testing.assert_allclose(done["t_clear"] - done["t_on_scene"], d.on_scene[row], rtol=1e-9, atol=1e-6)
    assert (follow_up_work(plan)[row] > 0).sum() > 100


def test_no_follow_up_and_follow_up_of_no_time_give_the_same_records():
    """Share 0, or share 1 with a time of 0: the same records, and the same as any share with
    a time of 0 (the follow-up stream is apart from the others)."""
    none = [f"dispatch.{g}.follow_up_share=0" for g in DEPLOYED_GRADES]
    zero_time = [*(f"dispatch.{g}.follow_up_share=1" for g in DEPLOYED_GRADES),
                 *(f"dispatch.{g}.follow_up={{kind:deterministic,value:0}}" for g in DEPLOYED_GRADES)]
    a, b = run([*SHORT, *none]), run([*SHORT, *zero_time])
    for table in ("calls", "incidents", "intervals"):
        pd.testing.assert_frame_equal(getattr(a.records, table), getattr(b.records, table), check_exact=True)


def test_follow_up_leaves_every_other_draw_unchanged():
    plain = build_plan(load_config([*SHORT, *(f"dispatch.{g}.follow_up_share=0" for g in DEPLOYED_GRADES)])).draws
    plan = build_plan(load_config(SHORT))
    shipped, follow_up = plan.draws, follow_up_work(plan)
    np.testing.assert_array_equal(plain.travel, shipped.travel)
    np.testing.assert_array_equal(plain.u_grade, shipped.u_grade)
    np.testing.assert_array_equal(plain.patience_999, shipped.patience_999)
    graded = ~np.isnan(shipped.on_scene)
    np.testing.assert_allclose(shipped.on_scene[graded] - follow_up[graded], plain.on_scene[graded],
                               rtol=1e-12)


def test_more_follow_up_work_never_improves_attendance():
    """Common random numbers, several seeds: a longer follow-up (1.5 x the time) gives no grade
    a better attendance within target beyond the paired runs' noise (one-sided 99% t)."""
    from scipy import stats

    longer = [f"dispatch.{g}.follow_up={{kind:lognormal,mean:195.0,cv:0.8}}" for g in DEPLOYED_GRADES]
    configs = [load_config(SHORT[:3]), load_config([*SHORT[:3], *longer])]
    diffs: dict[str, list] = {g: [] for g in (*DEPLOYED_GRADES, "all")}
    for seed in range(1, 6):
        kpis = []
        for cfg in configs:
            cfg = copy.deepcopy(cfg)
            cfg.run.seed = seed
            kpis.append(simulate(cfg, progress=False).kpis)
        for g in diffs:
            name = f"attend_within_target_{g}"
            diffs[g].append(kpis[1][name] - kpis[0][name])
    for g, d in diffs.items():
        d = np.array(d)
        margin = stats.t.ppf(0.99, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
        assert d.mean() <= margin, (g, d)
    assert np.mean(diffs["all"]) < 0  # and it does cost attendance: the check can tell


@pytest.mark.parametrize("override, key", [
    ("dispatch.priority.follow_up_share=1.5", "dispatch.priority.follow_up_share=1.5"),
    ("dispatch.prompt.follow_up_share=-0.1", "dispatch.prompt.follow_up_share=-0.1"),
    ("dispatch.immediate.follow_up={kind:lognormal,mean:-5,cv:0.5}", "dispatch.immediate.follow_up"),
])
def test_bad_follow_up_is_refused_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[")):
        build_model(load_config([override]))
