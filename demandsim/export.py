"""A run's calls and incidents as a force's telephony (ACD) and command-and-control (CAD) exports.

``python -m demandsim.export RUN_DIR [--out DIR] [--format csv|parquet]`` writes
``calls.csv`` and ``incidents.csv`` (or ``.parquet``) in the canonical format of
issue 12 (what ``python -m demandsim.calibrate`` reads), covering the run's measured
period (after warm-up): what an analyst of the force would have pulled from the ACD
and the CAD for those days. docs/export.md says what each column means and which
simulator rows are in and out; :func:`canonical_calls` and
:func:`canonical_incidents` say it in full.

Times: the simulator counts seconds from midnight at the start of ``run.start_date``,
naive local time with no clock changes; the export adds them to that midnight, so a
day of the export has 24 hours (real exports have a 23- and a 25-hour day a year).

Handling time (``handle_s``) is talk plus wrap-up, as an ACD records it. The records
keep the end of talk (``t_end``) but not the wrap-up that follows it, so
:func:`export_run` rebuilds the run's own random draws from its config.yaml and seed
(:func:`handle_999_from_draws`) and checks them against every talk in the records
before using them.

Example:
    >>> import pandas as pd
    >>> calls = pd.DataFrame({"line": pd.Categorical(["999", "999"]), "origin": pd.Categorical(["original"] * 2),
    ...     "outcome": pd.Categorical(["answered", "abandoned"]), "t_offer": [30.0, 90.0], "t_answer": [35.0, None],
    ...     "t_end": [335.0, 100.0], "route": None, "t_secondary_offer": None})
    >>> out = canonical_calls(calls, "2021-04-05")
    >>> out[["line", "outcome", "wait_s", "handle_s"]].values.tolist()
    [['999', 'answered', 5.0, 300.0], ['999', 'abandoned', 10.0, nan]]
    >>> str(out["arrived_at"].iloc[1])
    '2021-04-05 00:01:30'
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

CALL_EXPORT_COLUMNS = ("arrived_at", "line", "outcome", "wait_s", "handle_s", "agent")
INCIDENT_EXPORT_COLUMNS = ("created_at", "grade", "assigned_at", "arrived_at", "cleared_at", "area", "unit",
                           "call_line")
FORMATS = ("csv", "parquet")
#: ISO-8601 date-time as written to CSV: local time, no zone, to the microsecond (the simulator's
#: times are floats of seconds; the waits and handling times are written in full beside them)
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
#: a rebuilt talk time (question set + rest of call) may differ from the records' t_end - t_answer
#: by rounding only: both are sums of the same floats, in another order
TALK_TOLERANCE_S = 1e-6


class ExportError(ValueError):
    """A run folder that cannot be exported; the message is one line naming the folder."""


def _is(column: pd.Series, *names: str) -> np.ndarray:
    return column.isin(names).to_numpy()


def _clock(start_date: str, seconds: np.ndarray) -> np.ndarray:
    """Seconds from midnight of ``start_date`` as naive local datetimes (NaT where missing)."""
    midnight = np.datetime64(pd.Timestamp(str(start_date)).normalize().to_datetime64(), "ns")
    return midnight + pd.to_timedelta(np.asarray(seconds, dtype=np.float64), unit="s").to_numpy()


def handle_999_from_draws(calls: pd.DataFrame, draws) -> np.ndarray:
    """Per row of ``calls``, a 999 handler's time on the call: question set + rest of call + wrap-up.

    Read from the run's draws (:class:`demandsim.draws.CallDraws`) at the call's
    ``draw_row``; meaningful for 999 calls a handler or the digital desk answered (NaN
    for the rest). The records keep the end of talk, so every answered call whose talk
    ended in the run is checked: its ``t_end - t_answer`` must be the draws' talk. A
    mismatch means the draws are not the run's (the code or a data file changed since it
    ran) and raises :class:`ExportError`.
    """
    answered = (_is(calls["line"], "999") & _is(calls["outcome"], "answered")
                & ~_is(calls["origin"], "callback"))
    row = calls["draw_row"].to_numpy()[answered]
    talk = draws.question_999[row] + draws.rest_999[row]
    recorded = (calls["t_end"] - calls["t_answer"]).to_numpy()[answered]
    ended = ~np.isnan(recorded)
    off = np.abs(recorded[ended] - talk[ended])
    if np.isnan(talk).any() or (off > TALK_TOLERANCE_S).any():
        raise ExportError("the run's random draws, rebuilt from its config.yaml, do not give the talk times in "
                          "its calls.parquet (code or data files changed since it ran?)")
    out = np.full(len(calls), np.nan)
    out[answered] = talk + draws.wrap_999[row]
    return out


def canonical_calls(calls: pd.DataFrame, start_date: str, *, from_s: float = 0.0, to_s: float = math.inf,
                    handle_999_s: np.ndarray | None = None) -> pd.DataFrame:
    """The simulator's calls table as an ACD export of inbound calls: one row per call that reached a queue.

    ``calls``: calls.parquet (:data:`demandsim.records.CALL_COLUMNS`, times in seconds
    from midnight of ``start_date``). Rows are sorted by ``arrived_at``; the index is the
    simulator's ``call_id`` of each row (not written out: the canonical format has no id).

    What an ACD records for each simulator row:

    - **999 calls from the public** (origin ``original`` or ``redial``) and **switchboard
      transfers** into 999 (``switchboard_transfer``): one row each on line ``999``. A
      transfer is a call the 999 queue receives, and an ACD counts it; its ``arrived_at``
      is when it entered the 999 queue (the end of the switchboard's triage). ``answered``
      (by a call handler or by the digital desk), ``wait_s`` = ``t_answer - t_offer``,
      ``handle_s`` = talk + wrap-up; or ``abandoned``, ``wait_s`` = ``t_end - t_offer``
      (the hang-up), ``handle_s`` empty.
    - **Call-backs** (origin ``callback``) are left out: outbound calls a handler makes,
      which an ACD of inbound calls does not have.
    - **101 calls** (first calls and redials): one row on line ``101`` describing the
      first queue, the switchboard. ``answered`` when the switchboard answered, whatever
      followed (closed at the switchboard, transferred to 999, forwarded to the secondary
      line, and there answered, abandoned or still waiting); ``wait_s`` = the switchboard
      wait, ``t_answer - t_offer``; ``handle_s`` = the switchboard's time from its answer
      to the end of its part, which is the end of triage: ``t_end`` for a call closed at
      the switchboard or transferred to 999 (the engines set it when triage ends), and
      ``t_secondary_offer`` for one forwarded to the secondary line (``t_end`` is then the
      end of the secondary talk or the hang-up there). The switchboard has no wrap-up in
      the model. ``abandoned`` when the caller hung up waiting for the switchboard
      (``abandoned_switchboard``), ``wait_s`` = ``t_end - t_offer``.
    - **Unfinished at the end of the run**: a call whose part this row describes had not
      ended is left out (an export covers a finished period): 999 calls still waiting
      (``open_at_end``), 101 calls still waiting for the switchboard or still in triage.
      A 101 call forwarded to the secondary line and still waiting there at the end
      (``open_at_end`` in the records) is kept: its switchboard part is over. A 999 call
      answered before the end keeps its full handling time even if its talk runs past it.
    - Calls **offered** outside ``[from_s, to_s)`` are left out, whatever their outcome
      time (an export by arrival date).

    ``handle_999_s``: per row of ``calls``, the 999 handler's time on the call, talk plus
    wrap-up (:func:`handle_999_from_draws`, what :func:`export_run` passes). None: the talk
    from the timestamps alone, ``t_end - t_answer``, without the wrap-up (the records do not
    keep it), missing for a talk still under way at the end of the run.

    ``agent`` is always empty: the simulator does not name its call handlers.
    """
    line, origin, outcome = calls["line"], calls["origin"], calls["outcome"]
    t_offer = calls["t_offer"].to_numpy(dtype=np.float64)
    t_answer = calls["t_answer"].to_numpy(dtype=np.float64)
    t_end = calls["t_end"].to_numpy(dtype=np.float64)
    in_period = (t_offer >= from_s) & (t_offer < to_s)

    on_999 = _is(line, "999") & _is(origin, "original", "redial", "switchboard_transfer")
    answered_999 = on_999 & _is(outcome, "answered")
    abandoned_999 = on_999 & _is(outcome, "abandoned")

    on_101 = _is(line, "101")
    abandoned_101 = on_101 & _is(outcome, "abandoned_switchboard")
    # the end of the switchboard's part: its triage ends, and the call is closed, transferred (t_end)
    # or forwarded to the secondary line (t_secondary_offer); missing while triage is under way
    forwarded = _is(calls["route"], "secondary") if "route" in calls else np.zeros(len(calls), dtype=bool)
    t_secondary_offer = (calls["t_secondary_offer"].to_numpy(dtype=np.float64) if "t_secondary_offer" in calls
                         else np.full(len(calls), np.nan))
    switchboard_done = np.where(forwarded, t_secondary_offer, t_end)
    answered_101 = on_101 & ~np.isnan(t_answer) & ~np.isnan(switchboard_done)

    answered = answered_999 | answered_101
    keep = in_period & (answered | abandoned_999 | abandoned_101)

    talk_999 = t_end - t_answer if handle_999_s is None else np.asarray(handle_999_s, dtype=np.float64)
    handle = np.where(answered_999, talk_999, np.where(answered_101, switchboard_done - t_answer, np.nan))
    wait = np.where(answered, t_answer, t_end) - t_offer

    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(t_offer[rows], kind="stable")]
    out = pd.DataFrame({
        "arrived_at": _clock(start_date, t_offer[rows]),
        "line": np.where(on_999[rows], "999", "101").astype(object),
        "outcome": np.where(answered[rows], "answered", "abandoned").astype(object),
        "wait_s": wait[rows],
        "handle_s": handle[rows],
        "agent": np.full(len(rows), None, dtype=object),
    }, index=pd.Index(calls["call_id"].to_numpy()[rows] if "call_id" in calls else rows, name="call_id"))
    return out


def canonical_incidents(incidents: pd.DataFrame, start_date: str, *, calls: pd.DataFrame, from_s: float = 0.0,
                        to_s: float = math.inf, with_areas: bool | None = None) -> pd.DataFrame:
    """The simulator's incidents table as a CAD export: one row per incident whose call started in
    ``[from_s, to_s)`` (the time attendance is measured from, as the KPIs select them).

    ``incidents``: incidents.parquet (:data:`demandsim.records.INCIDENT_COLUMNS`); ``calls``:
    the run's whole calls table (row ``i`` is call ``i``), for ``call_line``. Sorted by
    ``created_at``; the index is the simulator's ``incident_id``. Columns:

    - ``created_at``: ``t_call_start``, the start of the call attendance is measured from
      (for a switchboard transfer, its 101 call; for a call-back, the call it rang back);
    - ``grade``: immediate, priority, prompt, scheduled or no_deployment;
    - ``assigned_at``: the first unit assigned (``t_assigned``), ``arrived_at``: the first unit
      on scene (``t_on_scene``, attendance, even if that unit was diverted later), empty when it
      did not happen by the end of the run: not deployed (scheduled, no_deployment), resolved
      by phone after a THRIVE review, or still waiting;
    - ``cleared_at``: when the unit on it, the last one, was free again (``t_clear``); empty
      while a unit is still on it at the end, or while it waits again after a diversion;
    - ``area``: the incident's district when the scenario has areas (``with_areas``; None: when
      the table's area column has more than one name), else empty;
    - ``unit``: always empty: the records keep the area of the unit that attended
      (``unit_area``), not which unit it was;
    - ``call_line``: ``999`` or ``101``, the line the caller first rang (the caller's first
      call, ``origin_call_id``): ``101`` for an incident from a switchboard transfer or the
      secondary line, and for a 101 caller who hung up and then rang 999; this is the line
      the model's grade mix is chosen by (``grading`` sources).
    """
    t_start = incidents["t_call_start"].to_numpy(dtype=np.float64)
    rows = np.flatnonzero((t_start >= from_s) & (t_start < to_s))
    rows = rows[np.argsort(t_start[rows], kind="stable")]
    call_id = incidents["call_id"].to_numpy()[rows]
    first_call = calls["origin_call_id"].to_numpy()[call_id]
    call_line = np.where(_is(calls["line"], "999")[first_call], "999", "101").astype(object)
    area = incidents["area"]
    if with_areas is None:
        with_areas = isinstance(area.dtype, pd.CategoricalDtype) and len(area.cat.categories) > 1
    areas = (area.astype(object).to_numpy()[rows] if with_areas else np.full(len(rows), None, dtype=object))

    def clock(column: str) -> np.ndarray:
        return _clock(start_date, incidents[column].to_numpy(dtype=np.float64)[rows])

    return pd.DataFrame({
        "created_at": clock("t_call_start"),
        "grade": incidents["grade"].astype(object).to_numpy()[rows],
        "assigned_at": clock("t_assigned"),
        "arrived_at": clock("t_on_scene"),
        "cleared_at": clock("t_clear"),
        "area": areas,
        "unit": np.full(len(rows), None, dtype=object),
        "call_line": call_line,
    }, index=pd.Index(incidents["incident_id"].to_numpy()[rows] if "incident_id" in incidents else rows,
                      name="incident_id"))


# ----------------------------------------------------------------- a run folder
def run_config(run_dir: Path):
    """The run's :class:`~demandsim.config.schema.Config`, rebuilt from its config.yaml."""
    from omegaconf import OmegaConf

    from demandsim import config as config_pkg
    from demandsim.config.schema import Config
    from demandsim.outputs import read_yaml

    config_pkg.setup()
    return config_pkg.to_config(OmegaConf.merge(OmegaConf.structured(Config), read_yaml(run_dir / "config.yaml")))


def export_tables(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The canonical calls and incidents of a run folder over its measured period (after warm-up).

    The run's draws are rebuilt from its config.yaml with its seed (``run.seed +
    run.replication``) for the 999 handling times (:func:`handle_999_from_draws`).
    """
    from omegaconf.errors import OmegaConfBaseException

    from demandsim.errors import ConfigError
    from demandsim.model.plan import build_plan
    from demandsim.outputs import is_complete_run
    from demandsim.runner import effective_seed

    run_dir = Path(run_dir)
    if not is_complete_run(run_dir):
        raise ExportError(f"{run_dir}: not a run folder (summary.json, calls.parquet, incidents.parquet, "
                          "intervals.parquet and config.yaml are expected)")
    try:
        cfg = run_config(run_dir)
        seeded = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, seed=effective_seed(cfg), replication=0))
        plan = build_plan(seeded, base_dir=Path(seeded.paths.data_dir))
    except (ConfigError, OmegaConfBaseException, OSError, ValueError, KeyError) as exc:
        # a run made by another version of demandsim (a key it no longer knows): one line, not a traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"{run_dir}: its config.yaml cannot be rebuilt by this version of demandsim: "
                          f"{reason}") from None
    model = plan.model
    calls = pd.read_parquet(run_dir / "calls.parquet")
    incidents = pd.read_parquet(run_dir / "incidents.parquet")
    try:
        handle = handle_999_from_draws(calls, plan.draws)
    except ExportError as exc:
        raise ExportError(f"{run_dir}: {exc}") from None
    start_date, period = cfg.run.start_date, {"from_s": model.warmup_s, "to_s": model.horizon_s}
    return (canonical_calls(calls, start_date, handle_999_s=handle, **period),
            canonical_incidents(incidents, start_date, calls=calls, with_areas=model.areas.count > 1, **period))


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    from demandsim.outputs import write_atomic

    if fmt == "csv":
        write_atomic(path, lambda p: frame.to_csv(p, index=False, date_format=ISO_FORMAT, na_rep=""))
    else:
        write_atomic(path, lambda p: frame.to_parquet(p, index=False, engine="pyarrow"))


def export_run(run_dir, out_dir=None, fmt: str = "csv") -> tuple[Path, Path]:
    """Write a run folder's calls and incidents in the canonical format; returns the two paths.

    ``out_dir`` (default ``RUN_DIR/export``, never the run folder itself, whose
    calls.parquet is the simulator's) gets ``calls.FMT`` and ``incidents.FMT`` covering the
    measured period (after ``run.warmup_days``, to the end of ``run.days``). Both tables
    are made before anything is written, and each file is written under a temporary name
    and renamed into place: an error leaves nothing half-written.
    """
    if fmt not in FORMATS:
        raise ExportError(f"format {fmt!r}: must be one of {', '.join(FORMATS)}")
    run_dir = Path(run_dir)
    calls, incidents = export_tables(run_dir)
    out = run_dir / "export" if out_dir is None else Path(out_dir)
    if out.resolve() == run_dir.resolve():
        raise ExportError(f"{out}: the export may not go into the run folder itself (its calls.parquet is the "
                          "simulator's); choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    paths = out / f"calls.{fmt}", out / f"incidents.{fmt}"
    _write(calls, paths[0], fmt)
    _write(incidents, paths[1], fmt)
    return paths


def main(argv: list[str] | None = None) -> int:
    """``python -m demandsim.export RUN_DIR [--out DIR] [--format csv|parquet]``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m demandsim.export",
        description="Write a run's calls and incidents as a force's ACD and CAD exports (the canonical format "
                    "python -m demandsim.calibrate reads), over the run's measured period (after warm-up). "
                    "See docs/export.md.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (summary.json, calls.parquet, ...)")
    parser.add_argument("--out", metavar="DIR", help="where to write calls.* and incidents.* (default RUN_DIR/export)")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="csv (default) or parquet")
    args = parser.parse_args(argv)
    try:
        paths = export_run(args.run_dir, args.out, args.format)
    except ExportError as exc:
        print(f"demandsim.export: error: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"{path}: {_rows(path):,} rows")
    return 0


def _rows(path: Path) -> int:
    """Data rows of a file written here (a CSV's values hold no line break)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as f:
        return sum(1 for _ in f) - 1


if __name__ == "__main__":
    sys.exit(main())
