"""``python -m demandsim.optimise scenario=NAME optimise.group=... optimise.goal.<kpi>=... hydra.run.dir=OUT``

The least staff, hour by hour (and shift by shift with ``optimise.shifts``), that meets every
goal; docs/optimise.md. Writes ``OUT/optimise.json``, ``OUT/roster.yaml`` (a scenario file:
``python -m demandsim scenario=OUT/roster.yaml`` runs the found roster) and ``OUT/report.html``,
all together once the search has finished: an error or Ctrl-C leaves nothing.

Example:
    python -m demandsim.optimise scenario=baseline_2021 optimise.group=call_handlers \\
        optimise.goal.sl_999_10s=0.9 run.days=28 run.replications=5 hydra.run.dir=results/optimise/ch
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import sys
import time
from pathlib import Path

import numpy as np

EXIT_BAD_INPUT = 2


def run(argv: list[str], say=None) -> tuple[dict, dict, Path]:
    """The whole optimisation in memory: (optimise.json's content, extras for the page and roster, out folder)."""
    from demandsim.config import load_config
    from demandsim.errors import ConfigError
    from demandsim.model.staffing import paid_by_hour_of_week
    from demandsim.optimise import evaluate as ev_mod
    from demandsim.optimise import isa as isa_mod
    from demandsim.optimise import search
    from demandsim.optimise.settings import GOAL_GROUPS, parse

    settings, overrides, out = parse(argv)
    cfg = load_config(overrides)
    replications = int(cfg.run.replications)
    if replications < 2:
        raise ConfigError("run.replications", replications, "the optimiser needs at least 2 (a confidence bound "
                          "comes from the spread between replications); 5 is a good start")
    if "units" in settings.groups and cfg.staffing.response.meal_break_min > 0:
        raise ConfigError("optimise.group", "units", f"the scenario lays meal breaks on the units' shifts "
                          f"(staffing.response.meal_break_min={cfg.staffing.response.meal_break_min:g}), which the "
                          "optimiser's hour-by-hour staff cannot carry yet: add staffing.response.meal_break_min=0 to "
                          "optimise units on duty net of breaks")
    cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, engine="fast", progress=False, replications=1))
    started = time.perf_counter()
    today = {g: paid_by_hour_of_week(cfg.staffing)[g] for g in settings.groups}
    kpis = list(settings.goals)
    # one-sided bounds at `confidence` are the ends of a two-sided interval at 2 x confidence - 1
    level = 2 * settings.confidence - 1

    def evaluate(staff: dict):
        return ev_mod.evaluate(cfg, staff, kpis, replications, confidence=level, n_jobs=settings.n_jobs,
                               ray_address=settings.ray_address)

    s = search.Search(settings, evaluate, progress=say)
    erlang, start = {}, {}
    delay = _delay_probability(settings.goals)
    for g in settings.groups:
        own = {k: v for k, v in settings.goals.items() if g in GOAL_GROUPS[k]}
        try:  # what a spreadsheet would say, each hour alone: the page shows it beside the answer
            erlang[g] = np.asarray(isa_mod.per_interval_erlang(cfg, g, own), dtype=np.int64)
        except (NotImplementedError, ConfigError):  # no formula judges these goals (attendance): none shown
            erlang[g] = None

        def isa_progress(iteration, runs, staff, g=g):
            if say:
                say(f"optimise: time-stable start ({g}), ISA iteration {iteration}, {runs} runs, "
                    f"{int(np.sum(staff)):,} staff-hours a week")

        try:
            found = isa_mod.isa(cfg, g, delay, replications, progress=isa_progress, n_jobs=settings.n_jobs,
                                ray_address=settings.ray_address)
            start[g] = np.asarray(found.staff, dtype=np.int64)
            s.iterations += found.iterations
            s.runs += found.runs
        except NotImplementedError as why:  # units with breaks and abstraction: from the formula or today
            if say:
                say(f"optimise: no time-stable start for {g} ({why}); starting from "
                    + ("the per-interval formula" if erlang[g] is not None else "today's roster"))
            start[g] = erlang[g] if erlang[g] is not None else np.asarray(today[g], dtype=np.int64)
    try:
        staff, evaluation, finished = search.every_hour(s, start)
        every_hour_hours = search.staff_hours(staff)
    except search.Infeasible:
        if settings.mode != "overall":
            raise
        # an hour no staffing of its own puts right (attendance there hangs on the units of the hours
        # after): over the period the goal may still be met; start from a roster that meets it there
        staff, evaluation = search.enough_overall(s, start)
        every_hour_hours = None
    if settings.mode == "overall":
        staff, evaluation, finished = search.overall(s, staff, evaluation)
    shifts = None
    if settings.shifts is not None:
        staff, evaluation, shifts, finished = _shifts(s, settings, staff, finished)
    result = {
        "group": ",".join(settings.groups), "mode": settings.mode, "goals": dict(settings.goals),
        "staff_per_hour_of_week": [int(x) for x in sum(staff.values())],
        "staff_hours_per_week": search.staff_hours(staff),
        "shifts": shifts,
        "achieved": evaluation.achieved(),
        "iterations": s.iterations, "runs": s.runs, "seconds": round(time.perf_counter() - started, 1),
        "finished": finished, "confidence": settings.confidence, "replications": replications,
        "staff_by_group": {g: [int(x) for x in v] for g, v in staff.items()},
        "today_staff_hours_per_week": int(sum(int(t.sum()) for t in today.values())),
        "every_hour_staff_hours_per_week": every_hour_hours}
    extras = {"cfg": cfg, "overrides": overrides, "settings": settings, "today": today, "erlang": erlang,
              "staff": staff}
    folder = Path(out) if out else Path("results") / "optimise" / (
        f"{cfg.scenario_name}_{_dt.datetime.now().strftime('%Y-%m-%d_%H-%M-%S')}")
    return result, extras, folder


def _delay_probability(goals: dict) -> float:
    """The ISA's target delay probability from the goals: 1 - the answer-time share for an
    answer-time goal (a caller who never waits is answered within 10 s), the abandonment share
    otherwise (a caller who never waits never hangs up), 0.2 for goals on times; the search
    then refines hour by hour."""
    candidates = [1 - v if k.startswith(("sl_", "attend_")) else v if k.startswith("abandon") else 0.2
                  for k, v in goals.items()]
    return max(0.01, min(candidates))


def _shifts(s, settings, hourly: dict, finished: bool):
    """Cover the hourly requirement with whole shifts, then repair by simulation where a goal fails."""
    from demandsim.optimise import shifts as sh
    from demandsim.optimise.search import _bounds, failing_hours

    patterns = sh.patterns_from_config(settings.shifts)
    counts = {g: sh.cover(np.asarray(v), patterns) for g, v in hourly.items()}
    while True:
        staff = {g: np.asarray(sh.roster_of(c), dtype=np.int64) for g, c in counts.items()}
        ev = s.run(staff)
        low, high = _bounds(ev, settings.goals)
        fails = failing_hours(settings.goals, low, high)
        if settings.mode == "overall":
            from demandsim.optimise.search import overall_met

            fails = np.zeros(168, dtype=bool) if overall_met(settings.goals, ev) else fails
        if not fails.any() or s.iterations >= settings.max_iterations:
            s.say("shift roster verified" if not fails.any() else "shift roster: iterations used up", staff)
            out = [dict(x, group=g) if len(counts) > 1 else x for g, c in counts.items() for x in sh.as_shifts(c)]
            return staff, ev, out, finished and not fails.any()
        for g in counts:
            counts[g] = sh.repair(counts[g], np.flatnonzero(fails), patterns)
        s.say(f"shift roster misses a goal in {int(fails.sum())} hours: one more on a shift covering each", staff)


def roster_yaml(result: dict, extras: dict) -> str:
    """``roster.yaml``: a scenario file on top of the optimised scenario, with the optimiser's other
    overrides (the demand it was optimised for) and the roster found."""
    from omegaconf import OmegaConf

    from demandsim.optimise.settings import _value

    overrides = extras["overrides"]
    scenario = next((o.partition("=")[2] for o in overrides if o.partition("=")[0].lstrip("+") == "scenario"),
                    "baseline_2021")
    tree = {}
    for text in overrides:
        key = text.partition("=")[0].lstrip("+~")
        if key == "scenario" or key.startswith("hydra.") or key == "run.replications":
            continue
        node = tree
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _value(text)
    staffing = tree.setdefault("staffing", {})
    for g, staff in extras["staff"].items():
        if result["shifts"] is not None:
            shifts = [{k: v for k, v in x.items() if k != "group"} for x in result["shifts"] if x.get("group", g) == g]
            staffing[g] = {"shifts": shifts, "hour_of_week": None, "extra": []}
        else:
            staffing[g] = {"shifts": [], "hour_of_week": [int(x) for x in staff], "extra": []}
        staffing.setdefault("scale", {})[g] = 1.0
        staffing.setdefault("add", {})[g] = 0
    head = ["# @package _global_",
            f"# The roster python -m demandsim.optimise found ({result['mode']}, goals "
            + ", ".join(f"{k} {v:g}" for k, v in result["goals"].items())
            + f", {result['confidence']:.0%} confidence, {result['replications']} replications), on top of",
            f"# scenario {scenario} with the optimiser's other overrides. Run it:",
            "#   python -m demandsim scenario=<this file>",
            "defaults:", f"  - /scenario/{scenario}", "  - _self_",
            f"scenario_name: {extras['cfg'].scenario_name}_optimised"]
    return "\n".join(head) + "\n" + OmegaConf.to_yaml(OmegaConf.create(tree))


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2: bad input, said in one line; 130: interrupted)."""
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    from demandsim.errors import ConfigError, ScenarioRefused

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    try:
        result, extras, out = run(argv, say)
        from demandsim.optimise.page import render

        files = {"optimise.json": json.dumps(result, indent=1, allow_nan=False) + "\n",
                 "roster.yaml": roster_yaml(result, extras),
                 "report.html": render(result, extras)}
        from demandsim.outputs import write_files

        write_files(out, files)
    except (ConfigError, ScenarioRefused) as exc:
        print(f"demandsim.optimise: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("demandsim.optimise: interrupted (nothing written)", file=sys.stderr)
        return 130
    print(f"{out / 'optimise.json'}\n{out / 'roster.yaml'}\n{out / 'report.html'}")
    print(f"{result['staff_hours_per_week']:,} staff-hours a week (today {result['today_staff_hours_per_week']:,}); "
          f"{result['runs']} runs in {result['seconds']:.0f} s; run it: python -m demandsim "
          f"scenario={(out / 'roster.yaml').resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
