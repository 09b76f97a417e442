"""The fast engine is the reference model: identical records from the same draws.

For every shipped scenario (and the options the scenarios do not exercise:
pooled secondary line, digital desk, many 999 hang-ups with redials and
call-backs, zero-time call-backs, patience that continues after a transfer,
units diverted to immediate incidents from travelling or from on scene, THRIVE reviews with
every outcome (in the shipped six areas), areas whose units go to neighbours' incidents, with
diversion, and an area with no units of its own),
both engines run the same plan and must
produce the same calls, incidents and hourly levels: same outcomes, same
routes, times equal to 1e-9 s.
"""

from __future__ import annotations

import pandas as pd
import pytest

from demandsim.config import list_scenarios, load_config
from demandsim.engines import ENGINES, get_engine
from demandsim.errors import ConfigError
from demandsim.model.plan import build_plan
from helpers import cli

SHORT = ["run.days=3", "run.warmup_days=1"]
EXTRA_CASES = {
    "pooled_secondary_and_digital_desk": [
        "staffing.pooled_secondary=true",
        "staffing.digital_desk.roster.shifts=[{start_hour:8,hours:12,staff:3}]",
        "staffing.digital_desk.queue_threshold=2",
    ],
    "heavy_redial_and_zero_times": [
        "callers.redial.to_999=0.5", "callers.redial.to_101=0.5", "callers.redial.max_attempts=4",
        "handling.line_999.wrap_up={kind:deterministic,value:0}",
        "dispatch.prompt.travel={kind:deterministic,value:0}",
    ],
    # short 999 patience and few call handlers: half the 999 calls hang up, and redials,
    # call-backs (reached or not, cancelled when the caller gets through first) and
    # transfers whose patience runs on from the switchboard all happen many times
    "many_999_hang_ups_redials_and_call_backs": [
        "callers.patience.line_999={kind:exponential,mean:0.5}",
        *(f"staffing.call_handlers.shifts.{i}.staff={n}" for i, n in enumerate((2, 1, 2, 1))),
        "callers.redial_999.to_999=0.6", "callers.redial_999.delay={kind:exponential,mean:1.5}",
        "callers.callback_999.delay={kind:exponential,mean:2}", "callers.callback_999.reach=0.5",
        "callers.callback_999.unreached_time={kind:exponential,mean:0.5}",
        "callers.patience_after_transfer=continue", "callers.redial.max_attempts=5",
        "triage.route.to_999=0.2", "triage.route.secondary=0.5", "triage.route.closed=0.3",
        "staffing.pooled_secondary=true",
        "staffing.digital_desk.roster.shifts=[{start_hour:8,hours:12,staff:1}]",
        "staffing.digital_desk.queue_threshold=2",
    ],
    # call-backs due at the hang-up, unreached ones taking no handler time, redials at the
    # same instant: ties between events resolved the same way in both engines
    "call_backs_and_redials_at_zero_times": [
        "callers.patience.line_999={kind:exponential,mean:0.5}",
        *(f"staffing.call_handlers.shifts.{i}.staff=2" for i in range(4)),
        "callers.callback_999.delay={kind:deterministic,value:0}", "callers.callback_999.reach=0.3",
        "callers.callback_999.unreached_time={kind:deterministic,value:0}",
        "callers.redial_999.to_999=0.5", "callers.redial_999.delay={kind:deterministic,value:0}",
        "callers.redial.max_attempts=4",
    ],
    # units short (demand_2024's +27% 999 calls, review off so that nothing leaves the queue):
    # hundreds of units taken off priority and prompt incidents, some more than once, and
    # re-assigned; zero prompt travel (never travelling, so never taken when travelling only) and a
    # roster change at every hour of the day
    "diversion_from_travelling": [
        "scenario=demand_2024", "review.enabled=false", "dispatch.divert_from=travelling",
        "dispatch.prompt.travel={kind:deterministic,value:0}",
    ],
    # also units on scene; zero travel for immediate (a unit arrives the instant it is sent)
    "diversion_from_on_scene": [
        "scenario=demand_2024", "review.enabled=false", "dispatch.divert_from=on_scene",
        "dispatch.immediate.travel={kind:deterministic,value:0}",
        "staffing.units.extra=[{start_hour:3,hours:1,staff:4},{start_hour:11,hours:2,staff:3}]",
    ],
    # THRIVE review with every outcome, many times: victim updates, phone resolutions, appointments
    # kept and missed, appointments refused for want of a window (few a day) and turned into stays;
    # immediate incidents taken out of the queue too while diversion takes units for the others
    # (stale queue entries at its head); appointments due at the review's instant (no lead time)
    "review_every_outcome_with_diversion": [
        "scenario=demand_2024", "dispatch.divert_from=on_scene", "review.interval=30",
        "review.immediate={stays:0.6,resolved_by_phone:0.2,appointment:0.2}",
        "review.appointment_slots_per_day=40", "review.appointment_lead_time=0", "review.appointment_max_wait=6",
        "review.appointment_hours={start_hour:6,end_hour:23}", "review.appointment_slot_minutes=45",
        "review.handlers_kept_free=0",
    ],
    # calls of no time (nobody rings), the pooled secondary line after review calls, and two call
    # handlers kept for 999 while calls wait
    "review_calls_of_no_time_and_pooled_secondary": [
        "scenario=demand_2024", "staffing.pooled_secondary=true",
        "review.victim_update_time={kind:deterministic,value:0}",
        "review.booking_time={kind:deterministic,value:0}",
        "review.prompt={stays:0.3,resolved_by_phone:0.3,appointment:0.4}",
    ],
    # areas (the shipped six) loaded (review off), with diversion: immediate incidents wait 5 minutes for their own
    # area's unit, so units are diverted before neighbours may go; prompt ones may have a neighbour's
    # unit at once; neighbours' journeys twice as long
    "areas_neighbours_and_diversion": [
        "scenario=demand_2024", "review.enabled=false", "dispatch.divert_from=travelling",
        "dispatch.neighbour_after.immediate=5",
        "dispatch.neighbour_after.prompt=0", "areas.neighbour_travel_factor=2",
    ],
    # three areas in a row, the first with no units of its own (every one of its incidents a neighbour's),
    # every grade at once; units taken from on scene; extra units for an hour now and then
    "areas_one_without_units": [
        "areas.districts=[{name:X,demand_share:0.3,units_share:0,travel_factor:1.3,neighbours:[Y]},"
        "{name:Y,demand_share:0.3,units_share:0.5,travel_factor:1,neighbours:[X,Z]},"
        "{name:Z,demand_share:0.4,units_share:0.5,travel_factor:0.7,neighbours:[Y]}]",
        "dispatch.neighbour_after.priority=0", "dispatch.neighbour_after.prompt=0", "dispatch.divert_from=on_scene",
        "staffing.units.extra=[{start_hour:3,hours:1,staff:4},{start_hour:11,hours:2,staff:3}]",
    ],
}
#: the cases in which units must be diverted
DIVERSION_CASES = ("diversion_from_travelling", "diversion_from_on_scene", "areas_neighbours_and_diversion",
                   "areas_one_without_units")
#: the cases in which units must go to neighbouring areas' incidents
AREA_CASES = ("areas_neighbours_and_diversion", "areas_one_without_units")
#: the cases in which every review outcome must happen
REVIEW_CASES = ("review_every_outcome_with_diversion", "review_calls_of_no_time_and_pooled_secondary")


def assert_same_records(overrides: list[str]):
    """Both engines' records of the plan ``overrides`` make are the same; returns the reference's."""
    plan = build_plan(load_config(overrides))
    reference = get_engine("simpy").run(plan)
    fast = get_engine("fast").run(plan)
    assert len(reference.calls) > 0
    for table in ("calls", "incidents", "intervals"):
        pd.testing.assert_frame_equal(getattr(reference, table), getattr(fast, table),
                                      check_exact=False, rtol=0, atol=1e-9, obj=table)
    return reference


@pytest.mark.parametrize("scenario", list_scenarios())
def test_engines_equal_on_shipped_scenarios(scenario):
    assert_same_records([f"scenario={scenario}", *SHORT, "run.seed=31"])


@pytest.mark.parametrize("case", sorted(EXTRA_CASES))
def test_engines_equal_on_other_options(case):
    records = assert_same_records([*SHORT, "run.seed=32", *EXTRA_CASES[case]])
    if case in DIVERSION_CASES:
        diversions = records.incidents["diversions"]
        # (fewer with the baseline's six areas: a neighbour's free unit goes to an immediate incident first)
        assert diversions.sum() > 50 and diversions.max() > 1, (diversions.sum(), diversions.max())
    if case in AREA_CASES:
        inc = records.incidents
        by_neighbour = inc["unit_area"].notna() & (inc["unit_area"].astype(str) != inc["area"].astype(str))
        assert by_neighbour.sum() > 100, by_neighbour.sum()
    if case in REVIEW_CASES:
        inc = records.incidents
        outcomes = inc["review_outcome"].astype(str).value_counts()
        assert (outcomes.drop("none") > 20).all() and len(outcomes) == 4, outcomes
        assert inc["appointment_kept"].dropna().nunique() == 2 and inc["victim_updates"].sum() > 100


def test_fast_engine_from_the_command_line(tmp_path):
    a, b = tmp_path / "simpy", tmp_path / "fast"
    assert cli("run.days=2", "run.warmup_days=0.5", "run.engine=simpy", f"hydra.run.dir={a}").returncode == 0
    done = cli("run.days=2", "run.warmup_days=0.5", "run.engine=fast", f"hydra.run.dir={b}")
    assert done.returncode == 0, done.stderr
    for name in ("calls.parquet", "incidents.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(a / name), pd.read_parquet(b / name),
                                      check_exact=False, rtol=0, atol=1e-9)


def test_unknown_engine_is_named():
    assert set(ENGINES) == {"simpy", "fast"}
    with pytest.raises(ConfigError, match="run.engine=warp"):
        get_engine("warp")


@pytest.mark.parametrize("case", [f"scenario={s}" for s in list_scenarios()] + sorted(EXTRA_CASES))
def test_durations_drawn_only_where_needed_change_no_record(case):
    """The draws compute a duration only for rows that can need it (demandsim.draws);
    computing every entry instead must give exactly the same records."""
    import dataclasses

    import numpy as np

    from demandsim.draws import draw_calls

    overrides = [case, *SHORT, "run.seed=33"] if case.startswith("scenario=") else [*SHORT, "run.seed=33",
                                                                                    *EXTRA_CASES[case]]
    plan = build_plan(load_config(overrides))
    d = plan.draws
    full = dataclasses.replace(plan, drawn=draw_calls(plan.model, d.n_999, d.n_101, plan.seed, every_entry=True))
    def left_out(draws) -> int:
        return sum(int(np.isnan(getattr(draws, name)).sum()) for name in ("patience_999", "patience_switchboard",
                   "patience_secondary", "triage", "question_999", "question_secondary", "redial_delay",
                   "redial_999_delay", "callback_delay"))

    assert left_out(d) > left_out(full.draws)  # some entries were left out
    engine = get_engine("simpy")
    lean, every = engine.run(plan), engine.run(full)
    for table in ("calls", "incidents", "intervals"):
        pd.testing.assert_frame_equal(getattr(lean, table), getattr(every, table), check_exact=True, obj=table)


@pytest.mark.parametrize("scenario", ["baseline_2021", "validation/priority_dispatch"])
def test_travel_and_on_scene_follow_each_incidents_grade(scenario):
    """The draws keep one travel and one on-scene time per row, for the grade the row's
    call would get: each attended incident's times must be its own grade's distribution
    applied to its row's uniform (the travel times the areas' multiplier, its area's factor and
    the neighbour factor if a neighbour's unit went; the time after arrival less the follow-up
    work, which tests/test_follow_up.py checks)."""
    from demandsim.draws import follow_up_work, uniforms

    plan = build_plan(load_config([f"scenario={scenario}", *SHORT, "run.seed=34"]))
    records = get_engine("simpy").run(plan)
    inc = records.incidents.dropna(subset=["t_assigned", "t_clear"])
    # an incident diverted (the baseline's units on their way) has its times spread over two units;
    # tests/test_diversion.py follows those by hand
    inc = inc[inc["diversions"] == 0]
    assert len(inc) > 50
    d, m = plan.draws, plan.model
    rows = records.calls.set_index("call_id").loc[inc["call_id"], "draw_row"].to_numpy()
    codes = inc["grade"].cat.codes.to_numpy()
    multiplier = m.areas.travel_multiplier()[inc["unit_area"].cat.codes.to_numpy(), inc["area"].cat.codes.to_numpy()]
    for purpose, kinds, measured in (("travel", m.travel, (inc["t_on_scene"] - inc["t_assigned"]) / multiplier),
                                     ("on_scene", m.on_scene,
                                      inc["t_clear"] - inc["t_on_scene"] - follow_up_work(plan)[rows])):
        u = uniforms(plan.seed, purpose, d.n_999, d.n_101, d.attempts)
        expected = [float(kinds[g].seconds(u[[r]])[0]) for r, g in zip(rows, codes)]
        assert measured.to_numpy() == pytest.approx(expected, abs=1e-6), purpose
    assert len(set(codes)) > 1  # more than one grade was attended


@pytest.mark.parametrize("case", ["review_every_outcome_with_diversion", "areas_one_without_units"])
def test_fast_engine_incident_columns_grown_mid_run_keep_their_defaults(case, monkeypatch):
    """The fast engine fills a new incident's columns with their defaults before the run and writes
    only what differs; when its incident arrays start small and grow many times during the run, the
    rows added must hold the same defaults: the records equal the reference engine's."""
    from demandsim.engines import fast_engine

    blank, made = fast_engine._blank, []

    def small_incident_arrays(defaults, size):
        # the two incident arrays made before the run start with room for 200 incidents
        first = defaults is fast_engine.IF_DEFAULTS or defaults is fast_engine.II_DEFAULTS
        made.append(size)
        return blank(defaults, 200 if first and len(made) <= 4 else size)

    monkeypatch.setattr(fast_engine, "_blank", small_incident_arrays)
    records = assert_same_records([*SHORT, "run.seed=35", *EXTRA_CASES[case]])
    assert len(records.incidents) > 200 * 1.5 ** 3  # grown at least three times
