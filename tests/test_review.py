"""THRIVE review, victim updates, resolution by phone, appointments (issue 10).

- the rules (demandsim.model.review) and the fast engine's compiled copies agree;
- a hand-worked timeline on both engines: first review at the target, then every interval;
  outcomes from the incident's uniform; an appointment booked in the first window with room
  after the lead time, back in the queue in its place at the slot's start, kept or missed;
  calls in call-handler time, one after another;
- conservation: every incident ends in exactly one state, reviews only of incidents still
  waiting for their first unit at their target and every interval after, slots never over
  their capacity;
- zero effect: reviews that always keep the incident and take no time change nothing;
- direction under common random numbers: with review the dispatch backlog is smaller and the
  call handlers busier; more resolution by phone leaves no more incidents waiting;
- stability: demand_2024 with review off grows without settling, demand_2024 (review on) and
  nov_2023 do not (tests/test_scenarios.py: 120 days; a year in the slow test);
- the KPIs count the measured incidents' reviews; the backlog leaves out incidents a review
  took out of the queue;
- bad input is one line naming the key and the value.

The engines' equality on loaded cases with every outcome is in tests/test_engines_equal.py.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from demandsim.config import load_config
from demandsim.engines import fast_engine as fe
from demandsim.engines import get_engine
from demandsim.errors import ConfigError
from demandsim.kpis import appointments_waiting_at, backlog_at, kpis_and_counts, review_kpis
from demandsim.model import review as rv
from demandsim.model.plan import build_model, build_plan
from helpers import cli

MIN = 60.0
SHORT = ["run.days=6", "run.warmup_days=1"]
#: demand_2024 (review on): units short, so that reviews happen often and every outcome with them
LOADED = ["scenario=demand_2024", *SHORT]
#: demand_2024 with review off: the same callers and units, nothing done about the queue
WITHOUT_REVIEW = ["scenario=demand_2024", "review.enabled=false"]


def records_of(overrides: list[str], engine: str = "simpy"):
    plan = build_plan(load_config(overrides))
    return plan, get_engine(engine).run(plan)


# ----------------------------------------------------------------- the rules and their compiled copies
def test_the_fast_engines_copies_of_the_rules_agree_with_them():
    rng = np.random.default_rng(5)
    for _ in range(2000):
        stays = float(rng.choice([0.0, 1.0, rng.random()]))
        resolved = float(rng.random() * (1 - stays))
        u = min(float(rng.choice([rng.random(), stays, stays + resolved, rv.BELOW_ONE, 0.0])), rv.BELOW_ONE)
        assert rv.review_outcome(u, stays, stays + resolved) == fe._review_outcome(u, stays, stays + resolved)
        start_hour, windows = int(rng.integers(0, 12)), int(rng.integers(1, 8))
        slot_s = float(rng.choice([1800.0, 3600.0, 5400.0, 1234.5]))
        args = (start_hour * 3600.0, slot_s, windows, int(rng.integers(1, 30)))
        t = float(rng.choice([rng.random() * 30 * 86400, int(rng.integers(0, 30)) * 86400.0 + args[0]]))
        free, used = int(rng.integers(0, 100)), 0
        lead, max_wait = float(rng.random() * 7200), float(rng.random() * 2 * 86400)
        assert rv.first_slot_at_or_after(t, *args) == fe._first_slot_at_or_after(t, *args)
        assert rv.book(t, free, used, *args) == fe._book(t, free, used, *args)
        assert rv.book_within(t, lead, lead + max_wait, free, used, *args) == fe._book_within(
            t, lead, lead + max_wait, free, used, *args)
        assert rv.slot_start(free, *args) == fe._slot_start(free, *args)
        assert rv.first_review_time(t, 900.0, t + lead - 3600) == fe._first_review_time(t, 900.0, t + lead - 3600)


def test_a_slot_found_for_a_time_starts_at_or_after_it_and_none_between():
    args = (8 * 3600.0, 5400.0, 8, 16)  # 08:00-20:00 in 1.5-hour windows
    for t in np.linspace(0, 3 * 86400, 977):
        slot = rv.first_slot_at_or_after(float(t), *args)
        assert rv.slot_start(slot, *args) >= t
        assert slot == 0 or rv.slot_start(slot - 1, *args) < t


def test_the_outcomes_of_successive_reviews_have_the_configured_shares():
    """u / stays is uniform again given that the incident stayed: the k-th review's outcome has the shares."""
    stays, resolved = 0.6, 0.15
    u = np.random.default_rng(2).random(200_000)
    for k in range(3):
        outcome = np.empty(len(u), dtype=int)
        for j, x in enumerate(u):
            outcome[j], u[j] = rv.review_outcome(float(x), stays, stays + resolved)
        shares = np.bincount(outcome, minlength=4)[1:] / len(u)
        error = 4 * math.sqrt(0.25 / len(u))  # four standard errors of a share at most
        assert shares == pytest.approx([stays, resolved, 1 - stays - resolved], abs=error), k
        u = u[outcome == rv.OUTCOME_STAYS]


# ----------------------------------------------------------------- a hand-worked timeline
#: (minute, grade, on scene min, travel min, review uniform) of four 999 calls, graded at once
#: (validation/priority_dispatch: no handling time) and dispatched to one unit
CALLS = [(0, "priority", 400, 0, 0.5),    # A: the unit's at once, for 400 min: never reviewed
         (1, "prompt", 10, 5, 0.9),       # B: reviewed at 241 (its target): appointment
         (2, "priority", 10, 0, 0.3),     # C: 62 stays (u -> 0.6); 92 resolved by phone
         (3, "prompt", 10, 70, 0.1)]      # D: 243, 273, 303 stay (u 0.2, 0.4, 0.8); 333 appointment
GRADE_U = {"immediate": 0.1, "priority": 0.5, "prompt": 0.9}


def timeline():
    overrides = ["scenario=validation/priority_dispatch", "validation.units=1", "validation.per_hour_immediate=1",
                 "validation.per_hour_priority=1", "validation.per_hour_prompt=1", "run.days=1", "run.warmup_days=0",
                 "run.seed=1", "review.enabled=true", "review.interval=30", "review.handlers_kept_free=0",
                 "review.priority={stays:0.5,resolved_by_phone:0.25,appointment:0.25}",
                 "review.prompt={stays:0.5,resolved_by_phone:0.25,appointment:0.25}",
                 "review.victim_update_time={kind:deterministic,value:2}",
                 "review.phone_resolution_time={kind:deterministic,value:10}",
                 "review.booking_time={kind:deterministic,value:4}",
                 "review.appointment_lead_time=1", "review.appointment_max_wait=48",
                 "review.appointment_hours={start_hour:0,end_hour:24}", "review.appointment_slot_minutes=60",
                 "review.appointment_slots_per_day=24"]  # one appointment in each hour's window
    plan = build_plan(load_config(overrides), reuse_draws=False)
    d = plan.draws
    assert d.attempts == 1 and d.n_999 >= len(CALLS)
    cols = {name: getattr(d, name).copy() for name in ("u_grade", "travel", "on_scene", "u_review")}
    for row, (_, grade, scene, travel, u) in enumerate(CALLS):
        cols["u_grade"][row], cols["on_scene"][row], cols["travel"][row] = GRADE_U[grade], scene * MIN, travel * MIN
        cols["u_review"][row] = u
    plan = dataclasses.replace(plan, arrivals_999=np.array([m * MIN for m, *_ in CALLS]),
                               drawn=dataclasses.replace(d, **cols))
    reference, fast = (get_engine(name).run(plan) for name in ("simpy", "fast"))
    assert reference.incidents["grade"].astype(str).tolist() == [g for _, g, *_ in CALLS]
    for table in ("calls", "incidents", "intervals"):
        pd.testing.assert_frame_equal(getattr(reference, table), getattr(fast, table), check_exact=True)
    return reference


def test_a_hand_worked_timeline_of_reviews_appointments_and_a_phone_resolution():
    inc = timeline().incidents
    minutes = lambda name: (inc[name] / MIN).round(9).tolist()  # noqa: E731
    nan = float("nan")
    assert inc["reviews"].tolist() == [0, 1, 2, 4]
    assert inc["victim_updates"].tolist() == [0, 0, 1, 3]
    assert inc["review_outcome"].astype(str).tolist() == ["none", "appointment", "resolved_by_phone", "appointment"]
    np.testing.assert_array_equal(minutes("t_review_last"), [nan, 241, 92, 333])
    np.testing.assert_array_equal(minutes("t_resolved"), [nan, nan, 102, nan])  # 92 + 10 min on the phone
    # B: from 241 + 1 h, the 06:00 window; D: from 393, the 07:00 window
    np.testing.assert_array_equal(minutes("t_appointment"), [nan, 360, nan, 420])
    # the unit frees at 400: B (back at 360) gets it, on scene at 405 (kept: before 07:00); free at 415;
    # D is out of the queue until 07:00, gets the unit then and arrives at 490 (missed: after 08:00)
    np.testing.assert_array_equal(minutes("t_assigned"), [0, 400, nan, 420])
    np.testing.assert_array_equal(minutes("t_on_scene"), [0, 405, nan, 490])
    assert inc["appointment_kept"].tolist() == [pd.NA, True, pd.NA, False]
    assert inc["within_target"].tolist() == [True, False, False, False]  # resolved by phone: not in time
    assert inc["dispatch_wait_s"].isna().tolist() == [False, False, True, False]


def test_the_hand_worked_timeline_keeps_the_handler_busy_one_call_after_another():
    """Calls: C's update 62-64, C's resolution 92-102, B's booking 241-245, D's update 243 waits to
    245-247, D's updates 273-275 and 303-305, D's booking 333-337: 26 minutes in all."""
    records = timeline()
    iv = records.intervals
    busy_min = float((iv["mean_busy_call_handlers"] * iv["length_s"]).sum() / MIN)
    assert busy_min == pytest.approx(26.0, abs=1e-9)
    waited_min = float((iv["mean_waiting_review_calls"] * iv["length_s"]).sum() / MIN)
    assert waited_min == pytest.approx(2.0, abs=1e-9)  # D's first update, behind B's booking
    booked_min = float((iv["mean_waiting_appointment"] * iv["length_s"]).sum() / MIN)
    assert booked_min == pytest.approx((360 - 241) + (420 - 333), abs=1e-9)
    waiting_min = float((iv["mean_waiting_dispatch"] * iv["length_s"]).sum() / MIN)
    # B 1-241 and 360-400; C 2-92; D 3-333
    assert waiting_min == pytest.approx(240 + 40 + 90 + 330, abs=1e-9)


# ----------------------------------------------------------------- conservation
@pytest.fixture(scope="module")
def loaded():
    return records_of([*LOADED, "run.seed=3"])


def test_every_incident_ends_in_exactly_one_state(loaded):
    plan, records = loaded
    inc, horizon = records.incidents, plan.model.horizon_s
    deployed = inc["grade"].astype(str).isin(["immediate", "priority", "prompt"]).to_numpy()
    outcome = inc["review_outcome"].astype(str).to_numpy()
    attended = inc["t_on_scene"].notna().to_numpy()
    resolved = outcome == "resolved_by_phone"
    awaiting_slot = (outcome == "appointment") & (inc["t_appointment"].to_numpy() > horizon)
    travelling = inc["t_assigned_last"].notna().to_numpy() & ~attended
    waiting = inc["t_assigned_last"].isna().to_numpy() & ~resolved & ~awaiting_slot & deployed
    states = np.stack([attended, resolved, awaiting_slot, travelling, waiting])
    assert (states[:, deployed].sum(axis=0) == 1).all()
    assert (~deployed).any() and (inc.loc[~deployed, "reviews"] == 0).all()
    assert (inc.loc[~deployed, "review_outcome"].astype(str) == "none").all()
    assert inc.loc[~deployed, "t_assigned"].isna().all()
    for name, state in (("resolved by phone", resolved), ("waiting for a slot", awaiting_slot),
                        ("waiting for a unit", waiting)):
        assert state.sum() > 0, name  # a loaded case: every state happens
    assert waiting.sum() == backlog_at(inc, horizon)
    assert awaiting_slot.sum() == appointments_waiting_at(inc, horizon)
    # never attended: resolved by phone; kept or missed only for appointments, known once the slot ended
    assert not (resolved & (attended | inc["t_assigned"].notna().to_numpy())).any()
    kept = inc["appointment_kept"]
    assert kept.notna().sum() > 0 and (kept.dropna() == True).any() and (kept.dropna() == False).any()  # noqa: E712
    assert (outcome[kept.notna().to_numpy()] == "appointment").all()


def test_reviews_only_of_incidents_still_waiting_at_their_target_and_every_interval(loaded):
    plan, records = loaded
    inc, m = records.incidents, plan.model
    deployed = inc["grade"].astype(str).isin(["immediate", "priority", "prompt"]).to_numpy()
    inc = inc[deployed]
    first = np.maximum(inc["t_call_start"] + inc["target_s"], inc["t_ready"]).to_numpy()
    assigned, reviews = inc["t_assigned"].to_numpy(), inc["reviews"].to_numpy()
    due = (first < m.horizon_s) & ~(assigned <= first)  # still waiting for its first unit at its target
    np.testing.assert_array_equal(reviews > 0, due)
    reviewed = reviews > 0
    last = inc["t_review_last"].to_numpy()
    interval = m.review.interval_s
    np.testing.assert_allclose(last[reviewed], first[reviewed] + (reviews[reviewed] - 1) * interval, rtol=0, atol=1e-6)
    outcome = inc["review_outcome"].astype(str).to_numpy()
    stays = reviewed & (outcome == "stays")
    # one that stayed was reviewed again an interval later unless a unit came first or the run ended
    ends = np.where(np.isnan(assigned), m.horizon_s, assigned)
    assert (last[stays] + interval >= ends[stays] - 1e-6).all()
    assert (assigned[stays & ~np.isnan(assigned)] > last[stays & ~np.isnan(assigned)]).all()
    # a victim update for every review that kept the incident, at most (dropped once it had a unit)
    updates = inc["victim_updates"].to_numpy()
    kept_waiting = reviews - np.isin(outcome, ["resolved_by_phone", "appointment"])
    assert (updates <= kept_waiting).all() and updates.sum() > 0.5 * kept_waiting.sum()
    assert set(outcome[reviewed]) == {"stays", "resolved_by_phone", "appointment"}
    assert set(inc["grade"].astype(str)[reviewed]) == {"immediate", "priority", "prompt"}
    assert (outcome[inc["grade"].astype(str).to_numpy() == "immediate"] != "resolved_by_phone").all()


def test_appointments_are_in_windows_with_room_within_the_lead_and_the_longest_wait(loaded):
    plan, records = loaded
    inc, r = records.incidents, plan.model.review
    booked = inc[inc["review_outcome"].astype(str) == "appointment"]
    start, review = booked["t_appointment"].to_numpy(), booked["t_review_last"].to_numpy()
    assert len(booked) > 20
    assert (start >= review + r.lead_s).all() and (start <= review + r.max_wait_s).all()
    args = r.slots.args()
    slots = np.array([rv.first_slot_at_or_after(float(t), *args) for t in start])
    np.testing.assert_array_equal([rv.slot_start(int(s), *args) for s in slots], start)  # window starts
    used = pd.Series(slots).value_counts()
    assert all(n <= rv.slot_capacity(int(s), r.slots.windows, r.slots.per_day) for s, n in used.items())
    # an appointment is attended from the slot's start, never before
    on_scene = booked["t_on_scene"].to_numpy()
    assert not (on_scene < start).any()
    kept = booked["appointment_kept"].to_numpy(dtype=object)
    attended_in_slot = on_scene <= start + r.slots.slot_s
    assert all(k is pd.NA or k == a for k, a in zip(kept, attended_in_slot))


# ----------------------------------------------------------------- zero effect
def test_reviews_that_keep_every_incident_and_take_no_time_change_nothing():
    base = [*WITHOUT_REVIEW, *SHORT, "run.seed=7"]
    off = records_of(base)[1]
    on = records_of([*base, "review.enabled=true", "review.handlers_kept_free=0",
                     *(f"review.{g}={{stays:1,resolved_by_phone:0,appointment:0}}" for g in ("priority", "prompt")),
                     "review.victim_update_time={kind:deterministic,value:0}"])[1]
    assert on.incidents["reviews"].sum() > 1000 and on.incidents["victim_updates"].sum() > 1000
    pd.testing.assert_frame_equal(off.calls, on.calls, check_exact=True)
    review_columns = ["reviews", "victim_updates", "review_outcome", "t_review_last"]
    pd.testing.assert_frame_equal(off.incidents.drop(columns=review_columns),
                                  on.incidents.drop(columns=review_columns), check_exact=True)
    levels = [c for c in off.intervals if c != "mean_waiting_review_calls"]
    pd.testing.assert_frame_equal(off.intervals[levels], on.intervals[levels], check_exact=True)


# ----------------------------------------------------------------- direction under common random numbers
@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_review_shrinks_the_backlog_and_busies_the_call_handlers(seed):
    common = ["run.days=12", "run.warmup_days=1", f"run.seed={seed}"]
    off_plan, off = records_of([*WITHOUT_REVIEW, *common], "fast")
    on_plan, on = records_of(["scenario=demand_2024", *common], "fast")
    more_plan, more = records_of(["scenario=demand_2024", *common,
                                  "review.prompt={stays:0.25,resolved_by_phone:0.5,appointment:0.25}"], "fast")
    k_off, k_on, k_more = (kpis_and_counts(r, p.model)[0] for r, p in ((off, off_plan), (on, on_plan),
                                                                        (more, more_plan)))
    waiting = [r.intervals["mean_waiting_dispatch"].mean() for r in (off, on, more)]
    assert k_on["backlog_end"] < k_off["backlog_end"] and waiting[1] < waiting[0]
    assert k_on["utilisation_call_handlers"] > k_off["utilisation_call_handlers"]
    assert k_on["thrive_reviews"] > 0 and k_off["thrive_reviews"] == 0
    # more prompt incidents resolved by phone: more resolved, no more incidents waiting for a unit
    assert k_more["resolved_by_phone_after_review"] > k_on["resolved_by_phone_after_review"]
    assert waiting[2] <= waiting[1] * 1.02, waiting  # the same callers; a little noise from units freed


# ----------------------------------------------------------------- KPIs
def test_the_kpis_count_the_measured_incidents_reviews(loaded):
    plan, records = loaded
    kpis, counts = kpis_and_counts(records, plan.model)
    measured = records.incidents[records.incidents["t_call_start"] >= plan.model.warmup_s]
    outcome = measured["review_outcome"].astype(str)
    assert kpis["thrive_reviews"] == measured["reviews"].sum() > 0
    assert kpis["victim_updates_made"] == measured["victim_updates"].sum() > 0
    assert kpis["resolved_by_phone_after_review"] == (outcome == "resolved_by_phone").sum() > 0
    assert kpis["appointments_booked"] == (outcome == "appointment").sum() > 0
    assert kpis["appointments_kept_rate"] == pytest.approx(measured["appointment_kept"].dropna().mean())
    assert counts["appointments_waiting_at_end"] == appointments_waiting_at(records.incidents, plan.model.horizon_s)


def test_resolved_by_phone_stays_in_the_attendance_denominator_as_not_in_time(loaded):
    plan, records = loaded
    kpis = kpis_and_counts(records, plan.model)[0]
    inc = records.incidents[records.incidents["t_call_start"] >= plan.model.warmup_s]
    prompt = inc[inc["grade"].astype(str) == "prompt"]
    resolved = prompt["review_outcome"].astype(str) == "resolved_by_phone"
    assert resolved.sum() > 0 and (prompt.loc[resolved, "within_target"] == False).all()  # noqa: E712
    known = prompt["within_target"].dropna()
    assert kpis["attend_within_target_prompt"] == known.mean()
    assert kpis["attend_within_target_prompt"] < known[~resolved.loc[known.index]].mean()  # excluding would flatter


def test_review_kpis_are_zero_and_null_when_review_is_off():
    plan, records = records_of(["run.days=3", "run.warmup_days=1"])
    kpis = kpis_and_counts(records, plan.model)[0]
    assert {k: kpis[k] for k in ("thrive_reviews", "victim_updates_made", "resolved_by_phone_after_review",
                                 "appointments_booked", "appointments_kept_rate")} == {
        "thrive_reviews": 0, "victim_updates_made": 0, "resolved_by_phone_after_review": 0,
        "appointments_booked": 0, "appointments_kept_rate": None}
    assert review_kpis(records.incidents)["thrive_reviews"] == 0


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("override, message", [
    ("review.interval=0", "review.interval=0.0: must be a number of minutes > 0"),
    ("review.interval=-30", "review.interval=-30.0: must be a number of minutes > 0"),
    ("review.prompt.stays=0.6", "review.prompt='stays 0.6+resolved_by_phone 0.25+appointment 0.25 = 1.1': "
                                "shares must sum to 1"),
    ("review.priority.resolved_by_phone=-0.1", "review.priority.resolved_by_phone=-0.1: share must be a number >= 0"),
    ("review.victim_update_time={kind:deterministic,value:-2}",
     "review.victim_update_time.value=-2.0: must be >= 0"),
    ("review.phone_resolution_time.mean=-15", "review.phone_resolution_time.mean=-15.0: must be > 0"),
    ("review.appointment_lead_time=-1", "review.appointment_lead_time=-1.0: must be a number of hours >= 0"),
    ("review.appointment_max_wait=2", "review.appointment_max_wait=2.0: must be a number of hours >= "
                                      "review.appointment_lead_time (4)"),
    ("review.appointment_slot_minutes=0", "review.appointment_slot_minutes=0.0: must be a number of minutes > 0"),
    ("review.appointment_slot_minutes=800", "review.appointment_slot_minutes=800.0: longer than the appointment "
                                            "hours (8:00-20:00)"),
    ("review.appointment_hours.end_hour=8", "review.appointment_hours.end_hour=8: must be 9..24"),
    ("review.handlers_kept_free=-1", "review.handlers_kept_free=-1: must be a whole number >= 0"),
])
def test_bad_review_values_are_refused_naming_key_and_value(override, message):
    with pytest.raises(ConfigError) as error:
        build_model(load_config(["run.days=1", "run.warmup_days=0.5", override]))
    assert str(error.value) == message


def test_no_slot_is_refused_only_when_reviews_book_appointments():
    build_model(load_config(["run.days=1", "run.warmup_days=0.5", "review.appointment_slots_per_day=0"]))  # off
    with pytest.raises(ConfigError, match=r"^review.appointment_slots_per_day=0: must be >= 1 when"):
        build_model(load_config(["run.days=1", "run.warmup_days=0.5", "review.enabled=true",
                                 "review.appointment_slots_per_day=0"]))


def test_a_bad_review_value_on_the_command_line_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    done = cli("review.interval=0", "review.enabled=true", "run.days=1", "run.warmup_days=0.5",
               f"hydra.run.dir={out}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "review.interval=0" in lines[0], lines[0]
    assert not out.exists()
