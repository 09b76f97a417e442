"""Benchmarks: the project's engines against peer simulators, side by side on this machine.

Usage (from the project root, with the bench extra installed: ``pip install -e '.[bench]'``)::

    python -m benchmarks.run                # every case, a year of the baseline (a few minutes)
    python -m benchmarks.run --quick        # a short smoke run (a couple of minutes), not for the record
    python -m benchmarks.run --days 56 --repeats 5 --only erlang --engines simpy
    python -m benchmarks.run --sweep        # also time the 20 x 10 x 1-year sweep, when it exists
    make bench                              # installs the extra, then the first line

Each case runs in its own fresh subprocess, so its peak memory (``ru_maxrss``) is its
own, and is timed ``--repeats`` times; the figure used is the median of the calls after
the first (the first call is reported separately: for a numba engine it includes loading
or compiling the machine code). What is timed:

- a project engine: ``build_plan(cfg)`` (every random draw) + ``engine.run(plan)`` (the
  event loop and its records); composing the config with Hydra is not timed, nor
  writing files;
- a peer: its whole run, its own random draws included;
- writing files: ``demandsim.outputs.write_run`` for the baseline run, on its own.

The table printed shows per case: calls/s (calls simulated over the median wall time),
wall and CPU seconds (CPU time hardly moves when other work shares the machine, so it
cross-checks the wall figures), the first call, the peak memory of the case's process and
the peak before its first run (imports and inputs). Then each target of the project's
issue 4 with its ratio and pass/miss, and the sanity checks (Erlang-A core against
theory; baseline KPIs of the peer against the engines). A JSON record with the machine,
the commit and every figure goes to ``benchmarks/results/<date>-<commit>.json``
(``-quick`` / ``-partial`` suffix for --quick and for --only / --engines runs; ``-2``, ``-3``, ...
after it for a later run at the same commit, which never overwrites an earlier record).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.metadata
import importlib.util
import itertools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # python benchmarks/run.py
    sys.path.insert(0, str(ROOT))

RESULTS_DIR = ROOT / "benchmarks" / "results"
DAY = 86400.0

#: the M/M/c+M core the issue's targets are stated on: c=30, 7 calls/min, 4 min handling, 2 min patience
ERLANG_A = {"servers": 30, "per_min": 7.0, "handle_min": 4.0, "patience_min": 2.0}
ERLANG_A_OVERRIDES = [
    "scenario=validation/erlang_a",
    f"validation.servers={ERLANG_A['servers']}",
    f"validation.arrivals_per_min={ERLANG_A['per_min']:g}",
    f"validation.mean_handle_min={ERLANG_A['handle_min']:g}",
    f"validation.mean_patience_min={ERLANG_A['patience_min']:g}",
    "run.seed=1",
    "run.progress=false",
]
#: targets of issue 4 (ratios measured in one run on this machine)
TARGETS = {
    "fast_vs_simpy_idiomatic_erlang_a": 40.0,
    "fast_vs_ciw_erlang_a": 100.0,
    "fast_baseline_year_s": 1.5,
    "simpy_reference_vs_idiomatic_baseline": 3.0,
    "sweep_s": 120.0,
    "peak_mb_year": 500.0,
}
#: the idiomatic hub peer has one pool of units (no areas, demandsim.model.areas) and never diverts a
#: unit (demandsim.model.dispatch): its comparison with the reference engine runs the baseline with one
#: area and no diversion, for both (benchmarks/smoke_test.py too)
ONE_AREA = ["areas.districts=[]", "dispatch.divert_from=none"]
PACKAGES = ("demandsim", "simpy", "numpy", "scipy", "pandas", "pyarrow", "hydra-core", "omegaconf", "numba",
            "llvmlite", "ciw")


# ====================================================================== child side: one case
def _peak_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _erlang_a_check(stats: dict) -> dict:
    """Simulated abandon share and 10-s service level against Erlang A, as z-scores."""
    from demandsim.theory import erlang_a_metrics

    exact = erlang_a_metrics(ERLANG_A["servers"], ERLANG_A["per_min"], ERLANG_A["handle_min"],
                             ERLANG_A["patience_min"], 10.0 / 60.0)
    out = {"abandon": stats.get("abandon"), "abandon_exact": exact.p_abandon,
           "sl_10s": stats.get("sl_10s"), "sl_10s_exact": exact.service_level}
    for key, value in (("abandon", exact.p_abandon), ("sl_10s", exact.service_level)):
        se = stats.get(f"{key}_se")
        out[f"{key}_z"] = (stats[key] - value) / se if se else None
    out["ok"] = all(out[f"{k}_z"] is not None and abs(out[f"{k}_z"]) < 4 for k in ("abandon", "sl_10s"))
    return out


_CPU: list[float] = []  # CPU seconds of each timed call in this process
_BEFORE: list[float] = []  # peak MB before the first timed call


#: a case's timed calls go on past --repeats until they add up to this many seconds
#: (short cases get more calls, so their median is steadier), up to MAX_REPEATS calls
MIN_TIME_S = 3.0
MAX_REPEATS = 25


def _time_calls(fn, repeats: int) -> tuple[list[float], object]:
    """Call ``fn()`` ``repeats`` times (more for a short case); wall seconds of each, and the last result.

    The CPU seconds of each call (this process, all threads) go to ``_CPU``: unlike wall
    time they hardly change when other work shares the machine.
    """
    walls, result = [], None
    _BEFORE.append(_peak_mb())  # imports, config and inputs loaded; nothing simulated yet
    while len(walls) < repeats or (sum(walls) < MIN_TIME_S and len(walls) < MAX_REPEATS):
        result = None
        gc.collect()
        cpu = time.process_time()
        started = time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - started)
        _CPU.append(time.process_time() - cpu)
    return walls, result


def _summary(walls: list[float], calls: int) -> dict:
    later = walls[1:] or walls
    wall = statistics.median(later)
    cpu = statistics.median(_CPU[1:] or _CPU)
    return {"walls_s": walls, "first_s": walls[0], "wall_s": wall, "calls": calls,
            "calls_per_s": calls / wall if wall > 0 else None, "cpus_s": list(_CPU), "cpu_s": cpu,
            "calls_per_cpu_s": calls / cpu if cpu > 0 else None}


def case_engine(spec: dict) -> dict:
    """A project engine on a scenario: build_plan + engine.run, timed."""
    from demandsim.config import PROJECT_DIR, load_config
    from demandsim.engines import get_engine
    from demandsim.model.plan import build_plan

    core = spec["core"]
    overrides = (ERLANG_A_OVERRIDES + ["run.warmup_days=1"] if core == "erlang_a"
                 else ["scenario=baseline_2021", "run.progress=false"]) + [f"run.days={spec['days']:g}"]
    if core == "baseline_one_area":  # the like-for-like partner of the idiomatic hub peer
        overrides += ONE_AREA
    cfg = load_config(overrides)
    started = time.perf_counter()
    engine = get_engine(spec["engine"])  # imports the engine's module (and, for numba, any eager compilation)
    import_s = time.perf_counter() - started
    split = {"plan_s": [], "loop_s": []}

    def once():
        t0 = time.perf_counter()
        # every call draws, as a single run does: the plan its arrivals, the run the rest through the draw window
        plan = build_plan(cfg, base_dir=PROJECT_DIR, reuse_draws=False)
        t1 = time.perf_counter()
        records = engine.run(plan)
        split["plan_s"].append(t1 - t0)
        split["loop_s"].append(time.perf_counter() - t1)
        return plan, records

    walls, (plan, records) = _time_calls(once, spec["repeats"])
    out = _summary(walls, int(len(records.calls)))
    later = slice(1, None) if len(walls) > 1 else slice(None)
    out.update(import_s=import_s, plan_s=statistics.median(split["plan_s"][later]),
               loop_s=statistics.median(split["loop_s"][later]), uses_numba="numba" in sys.modules)
    if core == "erlang_a":
        import numpy as np

        from benchmarks.peers import erlang_a_stats

        c = records.calls
        outcome = c["outcome"].astype(str).to_numpy()
        stats = erlang_a_stats(c["t_offer"].to_numpy(), c["wait_s"].to_numpy(), outcome == "answered",
                               outcome == "abandoned", plan.model.warmup_s, plan.model.horizon_s)
        out["check"] = _erlang_a_check(stats)
        del np
    else:
        from demandsim.kpis import kpis_and_counts

        k, _ = kpis_and_counts(records, plan.model)
        out["kpis"] = {name: k[name] for name in ("calls_999_offered", "calls_101_offered", "sl_999_10s",
                                                  "abandon_rate_999", "abandon_rate_101", "attend_within_target_all")}
    return out


def case_peer_erlang_a(spec: dict) -> dict:
    """A peer model of the Erlang-A core, timed as a whole."""
    import importlib

    module = importlib.import_module(f"benchmarks.peers.{spec['peer']}")
    walls, result = _time_calls(lambda: module.run(**ERLANG_A, days=spec["days"], warmup_days=1.0, seed=1),
                                spec["repeats"])
    out = _summary(walls, result.calls)
    out["check"] = _erlang_a_check(result.stats)
    return out


def case_peer_hub(spec: dict) -> dict:
    """The idiomatic process-per-caller hub on the baseline with one area (it has one pool of
    units): build_plan + simulate, timed."""
    from benchmarks.peers import simpy_idiomatic_hub as hub
    from demandsim.config import PROJECT_DIR, load_config
    from demandsim.model.plan import build_plan

    cfg = load_config(["scenario=baseline_2021", "run.progress=false", f"run.days={spec['days']:g}", *ONE_AREA])

    def once():
        plan = build_plan(cfg, base_dir=PROJECT_DIR, reuse_draws=False)  # every call draws, as a first run does
        return plan, hub.simulate(plan)

    walls, (plan, log) = _time_calls(once, spec["repeats"])
    out = _summary(walls, log.calls)
    out["kpis"] = hub.stats(log, plan)
    return out


def case_write(spec: dict) -> dict:
    """Writing the baseline run's files (demandsim.outputs.write_run), timed on its own."""
    from demandsim.config import load_config
    from demandsim.outputs import write_run
    from demandsim.runner import simulate

    cfg = load_config(["scenario=baseline_2021", "run.progress=false", f"run.days={spec['days']:g}",
                       f"run.engine={spec['engine']}"])
    result = simulate(cfg, progress=False)
    tmp = Path(tempfile.mkdtemp(prefix="demandsim-bench-"))
    try:
        dirs = (tmp / f"run{i}" for i in itertools.count())
        walls, _ = _time_calls(lambda: write_run(result, next(dirs)), spec["repeats"])
        files = {p.name: p.stat().st_size for p in (tmp / "run0").iterdir()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = _summary(walls, int(len(result.records.calls)))
    out.update(files_bytes=files, total_mb=sum(files.values()) / 1e6, engine=spec["engine"])
    return out


CASES = {"engine": case_engine, "peer_erlang_a": case_peer_erlang_a, "peer_hub": case_peer_hub, "write": case_write}


def child_main(spec: dict) -> None:
    """Run one case and print its result as one JSON line."""
    global MIN_TIME_S
    MIN_TIME_S = spec.get("min_time", MIN_TIME_S)
    # every case, peers too, runs with the allocator setting the project's engines use
    from demandsim.allocator import keep_freed_memory

    keep_freed_memory()
    rss_start = _peak_mb()
    try:
        out = CASES[spec["kind"]](spec)
        out["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported in the table
        out = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    out["peak_mb"] = _peak_mb()
    out["peak_at_start_mb"] = rss_start
    out["peak_before_runs_mb"] = _BEFORE[0] if _BEFORE else None
    print("BENCH-RESULT " + json.dumps(out, default=float))


# ====================================================================== parent side
def run_case(spec: dict, env: dict | None = None, timeout: float = 3600.0) -> dict:
    """Run one case in a fresh interpreter; its result, with load average around it."""
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--child", json.dumps(spec)], cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return {**spec, "status": "error", "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH-RESULT ")]
    if not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {**spec, "status": "error", "error": " | ".join(tail) or f"exit {proc.returncode}"}
    out = {**spec, **json.loads(lines[-1][len("BENCH-RESULT "):])}
    out["process_s"] = time.perf_counter() - started
    out["load_before"], out["load_after"] = load_before, os.getloadavg()[0]
    return out


def available_engines() -> list[str]:
    from demandsim.engines import ENGINES

    return list(ENGINES)


def chosen_engines(args) -> list[str]:
    """The project engines to measure: every one in ENGINES, or those named by --engines."""
    engines = available_engines()
    return [e for e in engines if e in args.engines.split(",")] if args.engines else engines


def plan_cases(args) -> list[dict]:
    cases = []
    engines = chosen_engines(args)
    for name in engines:
        days = args.fast_erlang_days if name == "fast" and args.fast_erlang_days else args.erlang_days
        cases.append({"id": f"{name}/erlang_a", "kind": "engine", "engine": name, "core": "erlang_a", "days": days})
    for name in engines:
        cases.append({"id": f"{name}/baseline", "kind": "engine", "engine": name, "core": "baseline", "days": args.days})
    cases.append({"id": "peer:simpy_idiomatic/erlang_a", "kind": "peer_erlang_a", "peer": "simpy_erlang_a",
                  "days": args.erlang_days, "needs": "simpy"})
    cases.append({"id": "peer:ciw/erlang_a", "kind": "peer_erlang_a", "peer": "ciw_erlang_a",
                  "days": args.erlang_days, "needs": "ciw"})
    # the hub peer and its partner, the reference engine, on the baseline with one area
    if "simpy" in engines:
        cases.append({"id": "simpy/baseline_one_area", "kind": "engine", "engine": "simpy",
                      "core": "baseline_one_area", "days": args.hub_days or args.days})
    cases.append({"id": "peer:simpy_idiomatic_hub/baseline_one_area", "kind": "peer_hub",
                  "days": args.hub_days or args.days, "needs": "simpy"})
    writer = "fast" if "fast" in engines else "simpy"  # which engine made the result does not matter
    cases.append({"id": "write_run/baseline", "kind": "write", "engine": writer, "days": args.days})
    for c in cases:
        c["repeats"], c["min_time"] = args.repeats, args.min_time
    if args.only:
        cases = [c for c in cases if any(word in c["id"] for word in args.only.split(","))]
    return cases


def _fmt(x, spec: str = ",.0f", missing: str = "-") -> str:
    return missing if x is None else format(x, spec)


def print_row(r: dict) -> None:
    if r.get("status") != "ok":
        print(f"  {r['id']:<44} {r.get('status', 'error')}: {r.get('error', '')}", flush=True)
        return
    extra = f"x{len(r['walls_s'])}  "
    if "plan_s" in r:
        extra += f"plan {r['plan_s']:.2f} s + run {r['loop_s']:.2f} s"
    rate = _fmt(r["calls_per_s"])
    if r["kind"] == "write":
        extra, rate = extra + f"{r['total_mb']:.1f} MB of files (time to write them; no simulation)", "-"
    print(f"  {r['id']:<44} {r['days']:>6g} {r['calls']:>10,} {rate:>11} {r['wall_s']:>8.2f} {r['cpu_s']:>7.2f} "
          f"{r['first_s']:>8.2f} {r['peak_mb']:>8.0f} {_fmt(r.get('peak_before_runs_mb')):>7}   {extra}", flush=True)


def verdict(value, target, higher_is_better=True) -> str:
    if value is None:
        return "n/a"
    ok = value >= target if higher_is_better else value < target
    return "pass" if ok else "MISS"


def compute_targets(results: dict, args, sweep: dict | None) -> list[dict]:
    """The ratios and limits issue 4 names, from this run's figures."""
    def rate(case_id):
        r = results.get(case_id)
        return r["calls_per_s"] if r and r.get("status") == "ok" else None

    def cpu_rate(case_id):
        r = results.get(case_id)
        return r.get("calls_per_cpu_s") if r and r.get("status") == "ok" else None

    def ratio(a, b):
        return a / b if a is not None and b else None

    def cpu_note(a, b):
        value = ratio(cpu_rate(a), cpu_rate(b))
        return None if value is None else f"CPU-time ratio {value:.1f}x"

    rows = []
    fast = rate("fast/erlang_a")
    unavailable = None if "fast/erlang_a" in results else (
        "fast engine not measured in this run" if "fast" in available_engines() else "fast engine not yet available")
    for key, peer, label in (("fast_vs_simpy_idiomatic_erlang_a", "peer:simpy_idiomatic/erlang_a",
                              "fast engine vs idiomatic SimPy, Erlang-A core (calls/s ratio)"),
                             ("fast_vs_ciw_erlang_a", "peer:ciw/erlang_a", "fast engine vs Ciw, Erlang-A core")):
        value = ratio(fast, rate(peer))
        rows.append({"target": key, "label": label, "value": value, "goal": f">= {TARGETS[key]:g}x",
                     "verdict": verdict(value, TARGETS[key]), "note": unavailable or cpu_note("fast/erlang_a", peer)})

    fb = results.get("fast/baseline")
    year_s, note = None, unavailable
    if fb and fb.get("status") == "ok":
        year_s = fb["wall_s"] * 365.0 / fb["days"]
        note = f"median after the first call; compile {fb.get('compile_s', float('nan')):.1f} s cold, " \
               f"first call with the cache {fb['first_s']:.2f} s"
        if fb["days"] != 365:
            note += f"; scaled from {fb['days']:g} days"
    rows.append({"target": "fast_baseline_year_s", "label": "fast engine, one simulated year of the baseline (s)",
                 "value": year_s, "goal": "< 1.5 s", "verdict": verdict(year_s, TARGETS["fast_baseline_year_s"], False),
                 "note": note})

    # both with one area: the hub peer has one pool of units
    value = ratio(rate("simpy/baseline_one_area"), rate("peer:simpy_idiomatic_hub/baseline_one_area"))
    rows.append({"target": "simpy_reference_vs_idiomatic_baseline",
                 "label": "SimPy reference engine vs idiomatic SimPy hub, baseline (one area)", "value": value,
                 "goal": ">= 3x", "verdict": verdict(value, TARGETS["simpy_reference_vs_idiomatic_baseline"]),
                 "note": cpu_note("simpy/baseline_one_area", "peer:simpy_idiomatic_hub/baseline_one_area")})

    sweep_s = sweep.get("wall_s") if sweep else None
    rows.append({"target": "sweep_s", "label": "sweep 20 points x 10 replications x 1 year, with report (s)",
                 "value": sweep_s, "goal": "< 120 s", "verdict": verdict(sweep_s, TARGETS["sweep_s"], False),
                 "note": (sweep or {}).get("note", "not measured (use --sweep)")})

    for r in results.values():
        if r.get("kind") == "engine" and r.get("core") == "baseline":
            peak = r.get("peak_mb") if r.get("status") == "ok" else None
            note = None if r.get("days") == 365 else f"{r.get('days'):g} days, not a year"
            rows.append({"target": f"peak_mb_year[{r['engine']}]", "label": f"peak memory, {r['engine']} engine, baseline",
                         "value": peak, "goal": "< 500 MB", "verdict": verdict(peak, TARGETS["peak_mb_year"], False),
                         "note": note})
    if "fast/baseline" not in results:
        rows.append({"target": "peak_mb_year[fast]", "label": "peak memory, fast engine, baseline", "value": None,
                     "goal": "< 500 MB", "verdict": "n/a", "note": unavailable})

    # context, no target
    for key, a, b, label in (
        ("simpy_reference_vs_idiomatic_erlang_a", "simpy/erlang_a", "peer:simpy_idiomatic/erlang_a",
         "SimPy reference engine vs idiomatic SimPy, Erlang-A core"),
        ("simpy_reference_vs_ciw_erlang_a", "simpy/erlang_a", "peer:ciw/erlang_a", "SimPy reference engine vs Ciw, Erlang-A core"),
        ("fast_vs_simpy_reference_erlang_a", "fast/erlang_a", "simpy/erlang_a", "fast engine vs SimPy reference, Erlang-A core"),
        ("fast_vs_simpy_reference_baseline", "fast/baseline", "simpy/baseline", "fast engine vs SimPy reference, baseline"),
    ):
        rows.append({"target": key, "label": label, "value": ratio(rate(a), rate(b)), "goal": "(context)",
                     "verdict": "", "note": cpu_note(a, b)})
    return rows


def run_round(args, cold_compile: bool) -> dict:
    """Every planned case once, each in its own process; the cold numba compile only if asked."""
    results: dict = {}
    for spec in plan_cases(args):
        needs = spec.pop("needs", None)
        if needs and importlib.util.find_spec(needs) is None:
            r = {**spec, "status": "unavailable", "error": f"{needs} not installed: pip install -e '.[bench]'"}
        else:
            r = run_case(spec)
        results[spec["id"]] = r
        print_row(r)
        if (cold_compile and r.get("status") == "ok" and r.get("kind") == "engine" and r.get("uses_numba")
                and r["core"] == "baseline"):
            with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
                cold = run_case({**spec, "repeats": 1}, env={"NUMBA_CACHE_DIR": cache})
            if cold.get("status") == "ok":
                r["cold_first_s"], r["cold_import_s"] = cold["first_s"], cold["import_s"]
                r["compile_s"] = cold["import_s"] + cold["first_s"] - r["import_s"] - r["wall_s"]
                print(f"  {'':<44} compile (empty cache): {r['compile_s']:.1f} s; with the cache, first call "
                      f"{r['first_s']:.2f} s + import {r['import_s']:.2f} s", flush=True)
    return results


def median_round(rounds: list[dict]) -> dict:
    """Per case, its result from the round with the median wall time (the first round's compile kept)."""
    out = {}
    for case_id in rounds[0]:
        runs = [r[case_id] for r in rounds if r.get(case_id, {}).get("status") == "ok"]
        if not runs:
            out[case_id] = rounds[0][case_id]
            continue
        chosen = dict(sorted(runs, key=lambda r: r["wall_s"])[(len(runs) - 1) // 2])
        for key in ("compile_s", "cold_first_s", "cold_import_s"):
            if key in rounds[0][case_id]:
                chosen[key] = rounds[0][case_id][key]
        chosen["walls_by_round_s"] = [r["wall_s"] for r in runs]
        out[case_id] = chosen
    return out


def combine_targets(per_round: list[list[dict]]) -> list[dict]:
    """Each target's median over rounds (each round's ratio is taken within the round), with the range."""
    if len(per_round) == 1:
        return per_round[0]
    out = []
    for rows in zip(*per_round):
        values = [r["value"] for r in rows if r["value"] is not None]
        first = dict(rows[0])
        if first["target"] == "sweep_s":  # measured once, after the rounds
            out.append(first)
            continue
        if values:
            first["value"] = statistics.median(values)
            first["per_round"] = [r["value"] for r in rows]
            goal = TARGETS.get(first["target"].split("[")[0])
            if goal is not None and first["verdict"]:
                first["verdict"] = verdict(first["value"], goal, higher_is_better=">=" in first["goal"])
            spread = f"median of {len(values)} rounds, range {min(values):.3g}-{max(values):.3g}"
            first["note"] = spread + (f"; round 1: {rows[0]['note']}" if rows[0].get("note") else "")
        out.append(first)
    return out


def sweep_feature() -> str | None:
    """Why the sweep cannot be measured yet, or None when it can."""
    import dataclasses

    from demandsim.config.schema import RunConfig

    if "replications" not in {f.name for f in dataclasses.fields(RunConfig)}:
        return "not yet measurable: run.replications does not exist yet"
    if importlib.util.find_spec("demandsim.report") is None:
        return "not yet measurable: demandsim.report does not exist yet"
    return None


def run_sweep(args) -> dict:
    """Time the real sweep command and the report, end to end, in a scratch folder."""
    missing = sweep_feature()
    if missing and not args.sweep_cmd:
        return {"status": "unavailable", "note": missing}
    engine = args.sweep_engine or ("fast" if "fast" in available_engines() else "simpy")
    out = Path(tempfile.mkdtemp(prefix="demandsim-sweep-"))
    # 20 points (units on the late shift, 16..35) x 10 replications x 1 year; Hydra's default
    # launcher here is joblib on both cores (configs/hydra/launcher/local.yaml)
    sweep_cmd = args.sweep_cmd or (
        f"{sys.executable} -m demandsim -m scenario=baseline_2021 run.engine={engine} run.days=365 "
        f"run.replications=10 run.progress=false 'staffing.units.shifts.1.staff=range(16,36)' "
        f"hydra.sweep.dir={out}")
    report_cmd = args.report_cmd or f"{sys.executable} -m demandsim.report {out}"
    sweep_cmd, report_cmd = sweep_cmd.replace("{out}", str(out)), report_cmd.replace("{out}", str(out))
    started = time.perf_counter()
    steps = []
    try:
        for cmd in (sweep_cmd, report_cmd):
            t0, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True)
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            # CPU of the command and the worker processes it waited for (approximate)
            cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
            steps.append({"cmd": cmd, "s": time.perf_counter() - t0, "cpu_s": cpu, "exit": proc.returncode,
                          "stderr_tail": proc.stderr.strip().splitlines()[-3:]})
            if proc.returncode != 0:
                return {"status": "error", "steps": steps, "note": f"failed: {cmd}"}
        wall = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    cpu = sum(step["cpu_s"] for step in steps)
    return {"status": "ok", "wall_s": wall, "cpu_s": cpu, "engine": engine, "steps": steps,
            "note": f"engine {engine}; sweep {steps[0]['s']:.1f} s + report {steps[1]['s']:.1f} s; "
                    f"{cpu:.0f} CPU s in all, {cpu / (os.cpu_count() or 1):.0f} s on idle cores at best"}


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "memory_gb": round(mem_gb, 1) if mem_gb else None, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "packages": versions}


def git_info() -> dict:
    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return {"commit": git("rev-parse", "HEAD"), "short": git("rev-parse", "--short", "HEAD"),
                "dirty": bool(dirty), "changed": dirty.splitlines()[:20]}
    except OSError:
        return {"commit": None, "short": "nogit", "dirty": None, "changed": []}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=float, default=365, help="simulated days of the baseline runs (default 365)")
    p.add_argument("--erlang-days", type=float, default=20,
                   help="simulated days on the Erlang-A core, every engine and peer (default 20: ~200,000 calls)")
    p.add_argument("--fast-erlang-days", type=float, default=None,
                   help="simulated days on the Erlang-A core for the fast engine (default: --erlang-days)")
    p.add_argument("--hub-days", type=float, default=None,
                   help="days for the idiomatic hub peer and its partner, the SimPy engine with one area "
                        "(default: --days)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per case; the median after the first is used")
    p.add_argument("--min-time", type=float, default=MIN_TIME_S,
                   help=f"keep timing a case past --repeats until its calls add up to this (default {MIN_TIME_S:g} s, "
                        f"at most {MAX_REPEATS} calls)")
    p.add_argument("--quick", action="store_true", help="short smoke run: 28 baseline days, 2 Erlang-A days, 2 repeats")
    p.add_argument("--engines", help="comma-separated project engines to measure (default: all in ENGINES)")
    p.add_argument("--only", help="comma-separated substrings of case ids to run (e.g. erlang,write)")
    p.add_argument("--sweep", action="store_true", help="also time the sweep + report (when the feature exists)")
    p.add_argument("--sweep-engine", help="engine of the sweep (default: fast when available, else simpy)")
    p.add_argument("--sweep-cmd", help="override the sweep command ({out} = scratch folder)")
    p.add_argument("--report-cmd", help="override the report command ({out} = scratch folder)")
    p.add_argument("--rounds", type=int, default=1,
                   help="run every case this many times, one round after another; each ratio is taken within a "
                        "round (engine and peer close in time) and the median over rounds is reported (default 1)")
    p.add_argument("--no-json", action="store_true", help="do not write benchmarks/results/*.json")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child_main(json.loads(args.child))
        return 0
    if args.quick:
        args.days, args.erlang_days, args.repeats, args.min_time = 28, 2, 2, 0.0
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    if args.rounds < 1:
        p.error("--rounds must be >= 1")

    machine, git = machine_info(), git_info()
    load = os.getloadavg()
    print(f"demandsim benchmarks: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB, "
          f"Python {machine['python']}; commit {git['short']}{' (dirty)' if git['dirty'] else ''}")
    print(f"load average at start {load[0]:.2f} (other work on the machine skews every figure)")
    engines = chosen_engines(args)
    print(f"project engines: {', '.join(engines)}" + ("" if "fast" in available_engines()
                                                      else "; fast engine not yet available"))
    print(f"\n  {'case':<44} {'days':>6} {'calls':>10} {'calls/s':>11} {'wall s':>8} {'cpu s':>7} {'first s':>8} "
          f"{'peak MB':>8} {'pre MB':>7}")

    rounds: list[dict] = []
    for number in range(args.rounds):
        if args.rounds > 1:
            print(f"  round {number + 1} of {args.rounds}", flush=True)
        rounds.append(run_round(args, cold_compile=number == 0))
    results = median_round(rounds)

    sweep = run_sweep(args) if args.sweep else None
    if sweep:
        print(f"\n  sweep: {sweep.get('note')}" + (f": {sweep['wall_s']:.1f} s" if sweep.get("wall_s") else ""))

    targets = combine_targets([compute_targets(r, args, sweep) for r in rounds])
    print("\nTargets (issue 4), ratios of calls/s in this run:")
    for t in targets:
        value = "-" if t["value"] is None else (f"{t['value']:.1f}" if "x" in t["goal"] or t["goal"] == "(context)"
                                                else f"{t['value']:.2f}")
        if "x" in t["goal"] or t["goal"] == "(context)":
            value += "x" if t["value"] is not None else ""
        note = f"  ({t['note']})" if t.get("note") else ""
        print(f"  {t['label']:<64} {value:>9}  {t['goal']:<9} {t['verdict']:<4}{note}")
    checks = [(r["id"], r["check"]) for r in results.values() if r.get("check")]
    if checks:
        print("\nSanity, Erlang-A core against theory (abandon share / answered within 10 s, z = (sim-exact)/se):")
        for case_id, c in checks:
            print(f"  {case_id:<44} abandon {c['abandon']:.4f} vs {c['abandon_exact']:.4f} "
                  f"(z {_fmt(c['abandon_z'], '+.1f')})"
                  f"   SL {c['sl_10s']:.4f} vs {c['sl_10s_exact']:.4f} (z {_fmt(c['sl_10s_z'], '+.1f')})"
                  f"   {'ok' if c['ok'] else 'CHECK FAILED'}")
    kpis = [(r["id"], r["kpis"]) for r in results.values() if r.get("kpis")]
    if kpis:
        print("\nSanity, baseline KPIs (same plan, so the hub peer should agree with simpy/baseline_one_area; "
              "the six-area cases differ):")
        for case_id, k in kpis:
            print(f"  {case_id:<44} " + "  ".join(f"{n} {_fmt(v, '.4f')}" for n, v in k.items()
                                                  if n in ("sl_999_10s", "abandon_rate_101", "attend_within_target_all")))
    load_end = os.getloadavg()
    print(f"\nload average at end {load_end[0]:.2f}")

    if not args.no_json:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now()
        partial = "-quick" if args.quick else ("-partial" if args.only or args.engines else "")
        name = f"{stamp:%Y-%m-%d}-{git['short']}{partial}.json"
        record = {"date": stamp.isoformat(timespec="seconds"), "machine": machine, "git": git,
                  "options": {k: v for k, v in vars(args).items() if k != "child"},
                  "load_average": {"start": load, "end": load_end}, "erlang_a_core": ERLANG_A,
                  "cases": results, "rounds": rounds if len(rounds) > 1 else None, "sweep": sweep,
                  "targets": targets}
        path = RESULTS_DIR / name
        for n in range(2, 100):  # a second run at the same commit keeps the first's record
            if not path.exists():
                break
            path = RESULTS_DIR / name.replace(".json", f"-{n}.json")
        path.write_text(json.dumps(record, indent=2, default=float) + "\n")
        print(f"JSON record: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
