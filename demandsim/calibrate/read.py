"""Read a force's call (ACD) and incident (CAD) exports into the clean tables of issue 12.

:func:`read_calls` and :func:`read_incidents` take a CSV or Parquet file (by suffix), rename the
force's own columns and values onto the canonical ones with a :class:`Mapping` (``MAP.yaml``,
:func:`load_mapping`; none = the canonical names and values), and return one clean table with
the rows left out counted by reason (``records.excluded``). Every problem with an export is
either such a reason or a one-line :class:`CalibrationError` naming the column (and the mapping
key to change) with one example row: its row number in the file (1 = the first data row) and
its value. Nothing is guessed silently.

The rules, in the order they are applied (a row left out is counted under the FIRST reason that
applies to it, so the counts add up to the rows left out):

Both exports
    - A file that is missing, empty (no header) or has no data rows, or a required column that is
      not in the file (the error lists every missing one and the columns the file has): error.
      A column the mapping names explicitly must be there, even an optional one.
    - Text values are compared after trimming spaces; empty, ``NA``, ``NULL`` and ``N/A`` are
      missing. Values are matched exactly (case matters): list every spelling in the mapping.
    - ``empty_row``: a row with every column read empty (blank lines at the very end of the file
      are not rows and are not counted).
    - ``duplicate``: a row whose canonical columns all equal an earlier row's, as written in the
      file: one is kept, the others are counted. Two real calls never agree on arrival to the
      second, line, outcome, wait and handle time (and agent).
    - A time column in which NO value reads as a date-time is a format problem, not bad rows: error
      naming the column and its first row, suggesting ``time_format`` (with a format that reads
      the file's values when a common one does). Times are ISO-8601 by default; a UTC offset
      (``+01:00``, ``Z``) is dropped, keeping the wall-clock time as written.
    - Rows are sorted by their time (arrival, creation); rows with equal times keep file order.
      Unsorted exports are not an error.

Calls (``read_calls``)
    - ``bad_arrived_at``: ``arrived_at`` missing or not a date-time.
    - ``outcome``: ``answered`` and ``abandoned`` are kept. A value the mapping lists under
      ``calls.outcome.excluded.<reason>`` (say ``ivr_hangup``: callers who never reached the queue
      are not abandonments) is counted under that reason; any other value under
      ``other_outcome:<value>``; an empty one under ``missing_outcome``.
    - ``line``: on every row whose outcome is answered or abandoned, a value that the mapping does
      not map to ``999`` or ``101`` (and does not list under ``calls.line.excluded.<reason>``) is an
      ERROR naming the value, its count and first row, and the key to add it under: a whole queue
      dropped silently would bias every volume and shape. Rows left out for their outcome (an IVR
      menu) may carry any line value.
    - ``missing_wait``, ``bad_wait`` (not a number), ``negative_wait``: the wait is needed for every
      call (answered calls' waits are the censored observations of patience).
    - answered calls only: ``answered_without_handle``, ``bad_handle``, ``negative_handle``. An
      abandoned call's handle time is ignored (NaN in the table).
    - Waits and handle times are seconds, or ``calls.wait_unit`` / ``calls.handle_unit`` (``s``,
      ``ms``, ``min``); a duration written ``H:MM:SS`` is read as such whatever the unit. A
      duration column with no number in it at all: error, as for times.
    - Calls spanning midnight: nothing special; ``arrived_at`` dates the call and wait and handle
      are durations. A handle time of 0 is kept.
    - Clock changes: times are kept as written, naive local wall-clock times, and hours of the
      week are wall-clock hours. Rows stamped inside the missing spring hour (Europe/London: last
      Sunday of March, 01:00-02:00) are kept too, since an ACD clock may not change. What changes
      is the denominator: :meth:`Period.hour_of_week_counts` counts how often each wall-clock hour
      of the week occurred in the period in ``calls.zone`` (default Europe/London), so that
      Sunday 01:00 occurs 0 times on the spring day and twice on the autumn day, and a per-hour
      mean divides the calls stamped in an hour by the hours that really were. An export whose
      clock never changes sets ``zone: none`` (every day 24 hours).

Incidents (``read_incidents``)
    - ``bad_created_at``: ``created_at`` missing or not a date-time.
    - ``grade``: a value not mapped to a grade (and not listed under
      ``incidents.grade.excluded.<reason>``) is an error, as for ``line``; so is an unmapped
      non-empty ``call_line`` (an empty one is None; ``call_line`` values default to the
      calls' ``line`` mapping).
    - ``bad_assigned_at``, ``bad_arrived_at``, ``bad_cleared_at``: a value given but not a
      date-time (empty is NaT: it did not happen).
    - ``times_out_of_order``: of the times given, one earlier than a time that must precede it
      (created <= assigned <= arrived <= cleared).

The mapping (YAML; every key optional; unknown keys are an error before any data is read)::

    calls:
      columns: {arrived_at: CallStart, line: Queue, outcome: Result, wait_s: QueueSecs,
                handle_s: HandleSecs, agent: AgentId}      # canonical -> the export's column
      line: {"999": [EMERG, "999"], "101": [NONEMERG]}     # canonical -> the export's values
      outcome: {answered: [ANS], abandoned: [ABN], excluded: {ivr_hangup: [IVR]}}
      time_format: "%d/%m/%Y %H:%M:%S"                     # default ISO-8601
      wait_unit: s                                         # s|ms|min; handle_unit likewise
      zone: Europe/London                                  # clock changes of the export; none
    incidents:
      columns: {created_at: Created, grade: Grade, ...}
      grade: {immediate: [I1, "Grade 1"], priority: [P2], excluded: {cancelled: [CANX]}}
      call_line: {"999": [E]}                              # default: the calls' line mapping
      time_format: "%d/%m/%Y %H:%M"

A canonical column or value the mapping does not mention stands for itself.

Example:
    >>> import io, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "calls.csv").write_text(
    ...     "arrived_at,line,outcome,wait_s,handle_s\\n"
    ...     "2024-03-04 08:00:05,999,answered,4,300\\n"
    ...     "2024-03-04 07:59:00,101,abandoned,95,\\n"
    ...     "2024-03-04 08:10:00,999,answered,-3,200\\n"
    ...     "2024-03-04 08:11:00,999,IVR,0,\\n")
    >>> calls, excluded, period = read_calls(folder / "calls.csv")
    >>> calls[["line", "outcome", "wait_s"]].values.tolist(), excluded
    ([['101', 'abandoned', 95.0], ['999', 'answered', 4.0]], {'other_outcome:IVR': 1, 'negative_wait': 1})
    >>> str(period.start), period.days, int(period.hour_of_week_counts()[8])
    ('2024-03-04 00:00:00', 1.0, 1)
"""

from __future__ import annotations

import difflib
import math
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from demandsim.config.schema import GRADES

HOURS_PER_WEEK = 168
LINES = ("999", "101")
CALL_OUTCOMES = ("answered", "abandoned")
#: the calls table's columns, in order; all but ``agent`` must be in an export
CALL_COLUMNS = ("arrived_at", "line", "outcome", "wait_s", "handle_s", "agent")
CALL_REQUIRED = CALL_COLUMNS[:5]
#: the incidents table's columns, in order; ``area``, ``unit`` and ``call_line`` are optional
INCIDENT_COLUMNS = ("created_at", "grade", "assigned_at", "arrived_at", "cleared_at", "area", "unit", "call_line")
INCIDENT_REQUIRED = INCIDENT_COLUMNS[:5]
#: an incident's times, in the order they must happen
INCIDENT_TIMES = ("created_at", "assigned_at", "arrived_at", "cleared_at")
#: seconds per unit of ``wait_unit`` / ``handle_unit``
UNITS = {"s": 1.0, "ms": 0.001, "min": 60.0}
DEFAULT_ZONE = "Europe/London"
#: formats tried on a time column no value of which reads, to suggest a ``time_format``
#: (day first before month first: these are UK exports)
COMMON_TIME_FORMATS = (
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%y %H:%M:%S", "%d/%m/%y %H:%M", "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%Y/%m/%d %H:%M:%S", "%d %b %Y %H:%M:%S", "%d-%b-%Y %H:%M:%S", "%d-%b-%y %H:%M:%S",
)
#: a UTC offset at the end of an ISO-8601 time, dropped to keep the wall-clock time as written
_OFFSET = re.compile(r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)$")
#: the canonical values of each coded column
_CODED = {
    "calls": {"line": LINES, "outcome": CALL_OUTCOMES},
    "incidents": {"grade": tuple(GRADES), "call_line": LINES},
}
_TABLE_KEYS = {
    "calls": ("columns", "line", "outcome", "time_format", "wait_unit", "handle_unit", "zone"),
    "incidents": ("columns", "grade", "call_line", "time_format"),
}
_COLUMNS = {"calls": CALL_COLUMNS, "incidents": INCIDENT_COLUMNS}


class CalibrationError(ValueError):
    """An export (or mapping) the calibration cannot use: a one-line message naming the column,
    the mapping key to change where there is one, and an example row.

    Example:
        >>> str(CalibrationError("calls.csv: column 'line': value 'Q7' is not mapped"))
        "calls.csv: column 'line': value 'Q7' is not mapped"
    """


# ----------------------------------------------------------------------------------- the period
@dataclass(frozen=True)
class Period:
    """The days the calls cover: ``start`` is midnight of the first call's day, ``end`` midnight
    after the last call's day (naive local times), ``zone`` the clock changes of the export's
    clock (None: a clock that never changes).

    Example:
        >>> week = Period(pd.Timestamp("2024-03-25"), pd.Timestamp("2024-04-01"))  # spring forward on Sunday 31st
        >>> counts = week.hour_of_week_counts()
        >>> week.days, int(counts.sum()), int(counts[6 * 24 + 1]), int(counts[6 * 24 + 2])
        (7.0, 167, 0, 1)
        >>> int(Period(week.start, week.end, zone=None).hour_of_week_counts()[6 * 24 + 1])
        1
    """

    start: pd.Timestamp
    end: pd.Timestamp
    zone: str | None = DEFAULT_ZONE

    @property
    def days(self) -> float:
        """Length of the period in calendar days."""
        return (self.end - self.start) / pd.Timedelta(days=1)

    def hour_of_week_counts(self) -> np.ndarray:
        """How many times each wall-clock hour of the week (Monday 00:00-01:00 first) occurs in
        [start, end): the denominator of a mean per hour of the week. In ``zone`` an hour skipped
        by the spring clock change does not occur that day and the hour repeated in autumn
        occurs twice."""
        if self.zone is None:
            hours = pd.date_range(self.start, self.end, freq="h", inclusive="left")
        else:
            # step through real (absolute) hours and read each on the wall clock
            start, end = (t.tz_localize(self.zone, ambiguous=True, nonexistent="shift_forward")
                          for t in (self.start, self.end))
            hours = pd.date_range(start, end, freq="h", inclusive="left").tz_localize(None)
        return np.bincount(hour_of_week(hours), minlength=HOURS_PER_WEEK).astype(np.int64)


def hour_of_week(times) -> np.ndarray:
    """Hour of the week of each naive time: Monday 00:00-01:00 is 0, Sunday 23:00-24:00 is 167.

    Example:
        >>> hour_of_week(pd.to_datetime(["2024-03-04 00:30", "2024-03-10 23:59"])).tolist()  # a Monday, a Sunday
        [0, 167]
    """
    times = pd.DatetimeIndex(times)
    return np.asarray(times.day_of_week * 24 + times.hour, dtype=np.int64)


def period_of(times: pd.Series, zone: str | None = DEFAULT_ZONE) -> Period:
    """The :class:`Period` of whole days that holds every one of ``times`` (not empty)."""
    start = times.min().normalize()
    return Period(start, times.max().normalize() + pd.Timedelta(days=1), zone)


# ---------------------------------------------------------------------------------- the mapping
@dataclass
class TableMapping:
    """How one export (``calls`` or ``incidents``) names the canonical columns and values.

    ``columns``: canonical column -> the export's column; ``values``: coded column (``line``,
    ``outcome``, ``grade``, ``call_line``) -> canonical value -> the export's values;
    ``excluded``: coded column -> reason -> the export's values whose rows are left out under that
    reason. Anything not mentioned stands for itself.
    """

    table: str = "calls"
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    excluded: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    time_format: str | None = None
    wait_unit: str = "s"
    handle_unit: str = "s"
    zone: str | None = DEFAULT_ZONE

    def column(self, canonical: str) -> str:
        """The export's name for a canonical column."""
        return self.columns.get(canonical, canonical)

    def lookup(self, coded: str) -> tuple[dict[str, str], dict[str, str]]:
        """(export value -> canonical value, export value -> reason) for a coded column."""
        to_canonical: dict[str, str] = {}
        for canonical, values in self.values.get(coded, {}).items():
            to_canonical.update(dict.fromkeys(values, canonical))
        to_reason = {value: reason for reason, values in self.excluded.get(coded, {}).items() for value in values}
        for canonical in _CODED[self.table][coded]:  # not mentioned: stands for itself
            if canonical not in self.values.get(coded, {}) and canonical not in {**to_canonical, **to_reason}:
                to_canonical[canonical] = canonical
        return to_canonical, to_reason


@dataclass
class Mapping:
    """A force's ``MAP.yaml``: how its call and incident exports name the canonical columns and
    values (:func:`load_mapping`). ``Mapping()`` is the canonical format itself."""

    calls: TableMapping = field(default_factory=lambda: TableMapping("calls"))
    incidents: TableMapping = field(default_factory=lambda: TableMapping("incidents"))
    source: str = "mapping"


def _unknown(key: str, name: object, expected) -> CalibrationError:
    near = difflib.get_close_matches(str(name), [str(e) for e in expected], n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return CalibrationError(f"{key}.{name}: unknown key{hint}; expected one of: {', '.join(map(str, expected))}")


def _text_value(value: object, key: str) -> str:
    """A value of the mapping as the export writes it (YAML reads 999 as a number, yes as true)."""
    if isinstance(value, bool):
        raise CalibrationError(f"{key}: {value} is a YAML boolean; quote the value as the export writes it "
                               f"(e.g. \"yes\")")
    if value is None:
        return ""
    if isinstance(value, (int, float, str)):
        return str(value).strip()
    raise CalibrationError(f"{key}: {value!r} must be a value or a list of values")


def _value_list(raw: object, key: str) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    return [_text_value(item, key) for item in items]


def _table_mapping(table: str, raw: object, source: str) -> TableMapping:
    if raw is None:
        return TableMapping(table)
    if not isinstance(raw, dict):
        raise CalibrationError(f"{source}: {table} must be a mapping of keys ({', '.join(_TABLE_KEYS[table])}), "
                               f"got {raw!r}")
    out = TableMapping(table)
    seen: dict[str, dict[str, str]] = {}  # coded column -> export value -> where it is listed
    for key, value in raw.items():
        where = f"{table}.{key}"
        if key not in _TABLE_KEYS[table]:
            raise _unknown(table, key, _TABLE_KEYS[table])
        if key == "columns":
            if not isinstance(value, dict):
                raise CalibrationError(f"{where}: must map canonical columns to the export's, got {value!r}")
            for canonical, name in value.items():
                if canonical not in _COLUMNS[table]:
                    raise _unknown(where, canonical, _COLUMNS[table])
                if not isinstance(name, str) or not name.strip():
                    raise CalibrationError(f"{where}.{canonical}: {name!r} must be the export's column name")
                out.columns[canonical] = name.strip()
        elif key in _CODED[table]:
            if not isinstance(value, dict):
                raise CalibrationError(f"{where}: must map canonical values to lists of the export's, got {value!r}")
            listed = seen.setdefault(key, {})
            for canonical, values in value.items():
                canonical = _text_value(canonical, where)
                if canonical == "excluded":
                    if not isinstance(values, dict):
                        raise CalibrationError(f"{where}.excluded: must map reasons to lists of the export's values, "
                                               f"got {values!r}")
                    for reason, reason_values in values.items():
                        at = f"{where}.excluded.{reason}"
                        if not isinstance(reason, str) or not re.fullmatch(r"[A-Za-z0-9_:.-]+", reason):
                            raise CalibrationError(f"{at}: a reason is a word (letters, digits, _)")
                        out.excluded.setdefault(key, {})[reason] = _listed(_value_list(reason_values, at), listed, at)
                elif canonical in _CODED[table][key]:
                    out.values.setdefault(key, {})[canonical] = _listed(
                        _value_list(values, f"{where}.{canonical}"), listed, f"{where}.{canonical}")
                else:
                    raise _unknown(where, canonical, (*_CODED[table][key], "excluded"))
        elif key == "time_format":
            if not isinstance(value, str) or "%" not in value:
                raise CalibrationError(f"{where}: {value!r} must be a strptime format such as \"%d/%m/%Y %H:%M:%S\"")
            out.time_format = value
        elif key in ("wait_unit", "handle_unit"):
            if value not in UNITS:
                raise CalibrationError(f"{where}: {value!r} must be one of {', '.join(UNITS)}")
            setattr(out, key, value)
        elif key == "zone":
            if value is None or str(value).lower() == "none":
                out.zone = None
            else:
                try:
                    zoneinfo.ZoneInfo(str(value))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    raise CalibrationError(f"{where}: {value!r} is not a time zone (e.g. Europe/London) "
                                           f"or none") from None
                out.zone = str(value)
    return out


def _listed(values: list[str], listed: dict[str, str], key: str) -> list[str]:
    """``values``, after checking none is already listed elsewhere for the same column."""
    for value in values:
        if value in listed and listed[value] != key:
            raise CalibrationError(f"{key}: value {value!r} is also listed under {listed[value]}; list it once")
        listed[value] = key
    return values


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a ``MAP.yaml`` (module docstring); a typo is a :class:`CalibrationError`
    naming the key before any data is read.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "map.yaml"
        >>> _ = path.write_text("calls:\\n  line: {999: [EMERG]}\\n  outcome: {excluded: {ivr_hangup: [IVR]}}\\n")
        >>> load_mapping(path).calls.lookup("line")
        ({'EMERG': '999', '101': '101'}, {})
        >>> _ = path.write_text("calls:\\n  colums: {line: Queue}\\n")
        >>> load_mapping(path)
        Traceback (most recent call last):
        ...
        demandsim.calibrate.read.CalibrationError: calls.colums: unknown key (did you mean 'columns'?); expected ...
    """
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CalibrationError(f"{path}: cannot read the mapping ({error.strerror or error})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise CalibrationError(f"{path}: not valid YAML{at}: {problem}") from None
    if raw is None:
        return Mapping(source=str(path))
    if not isinstance(raw, dict):
        raise CalibrationError(f"{path}: the mapping must have keys calls and/or incidents, got {raw!r}")
    for key in raw:
        if key not in ("calls", "incidents"):
            raise _unknown(str(path), key, ("calls", "incidents"))
    mapping = Mapping(_table_mapping("calls", raw.get("calls"), str(path)),
                      _table_mapping("incidents", raw.get("incidents"), str(path)), str(path))
    if "call_line" not in mapping.incidents.values and "call_line" not in mapping.incidents.excluded:
        mapping.incidents.values["call_line"] = dict(mapping.calls.values.get("line", {}))
        if "line" in mapping.calls.excluded:
            mapping.incidents.excluded["call_line"] = dict(mapping.calls.excluded["line"])
    return mapping


def _as_mapping(mapping: Mapping | str | Path | None) -> Mapping:
    if mapping is None:
        return Mapping()
    if isinstance(mapping, Mapping):
        return mapping
    return load_mapping(mapping)


# ------------------------------------------------------------------------------ reading a table
class _Table:
    """One export read into canonical column names, with what the messages need to name things."""

    def __init__(self, path: Path, spec: TableMapping, frame: pd.DataFrame, rows: np.ndarray):
        self.path, self.spec, self.frame, self.rows = path, spec, frame, rows
        self.reasons: list[str] = []
        self.reason = np.full(len(frame), -1, dtype=np.int32)  # index into reasons, -1: kept so far

    def name(self, canonical: str) -> str:
        """``column 'wait_s'``, with the export's name and the mapping key when they differ."""
        export = self.spec.column(canonical)
        if export == canonical:
            return f"column {canonical!r}"
        return f"column {canonical!r} (the export's {export!r}, {self.spec.table}.columns.{canonical})"

    def example(self, mask: np.ndarray, canonical: str) -> str:
        """``row 12: wait_s='-3'``: the first row in the file where ``mask`` holds."""
        first = int(np.flatnonzero(mask)[0])
        value = self.frame[canonical].iloc[first]
        value = "" if _missing(value) else value
        return f"row {self.rows[first]}: {canonical}={str(value)!r}"

    def error(self, canonical: str, what: str) -> CalibrationError:
        return CalibrationError(f"{self.path.name}: {self.name(canonical)}: {what}")

    def exclude(self, mask: np.ndarray, reason: str) -> None:
        """Leave out the rows of ``mask`` not already left out, under ``reason``."""
        new = mask & (self.reason < 0)
        if new.any():
            if reason not in self.reasons:
                self.reasons.append(reason)
            self.reason[new] = self.reasons.index(reason)

    @property
    def kept(self) -> np.ndarray:
        return self.reason < 0

    def counts(self) -> dict[str, int]:
        """records.excluded: reason -> rows, in the order the rules apply; only reasons that occurred."""
        counts = np.bincount(self.reason[self.reason >= 0], minlength=len(self.reasons))
        return {reason: int(n) for reason, n in zip(self.reasons, counts) if n > 0}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT


def _separator(path: Path) -> str:
    """The CSV's field separator, from its header line (comma, semicolon or tab)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
        header = file.readline()
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _read(path: str | Path, spec: TableMapping, columns: tuple[str, ...], required: tuple[str, ...]) -> _Table:
    """The export's canonical columns (as written: text for CSV), under their canonical names."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"{path}: no such file")
    suffixes = "".join(path.suffixes[-2:]).lower()
    is_parquet = path.suffix.lower() in (".parquet", ".pq")
    if not is_parquet and not re.search(r"\.(csv|txt|tsv)(\.(gz|bz2|zip|xz|zst))?$", suffixes):
        raise CalibrationError(f"{path}: unknown file type {path.suffix!r}; give a .csv or .parquet file")
    try:
        if is_parquet:
            import pyarrow.parquet as pq

            header = list(pq.read_schema(path).names)
        else:
            sep = _separator(path) if suffixes.endswith((".csv", ".txt", ".tsv")) else ","
            header = list(pd.read_csv(path, nrows=0, sep=sep, encoding="utf-8-sig").columns)
    except pd.errors.EmptyDataError:
        raise CalibrationError(f"{path}: the file is empty (no header row)") from None
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise CalibrationError(f"{path}: cannot read it: {str(error).splitlines()[0]}") from None
    by_name = {str(name).strip(): name for name in header}
    wanted = {c: spec.column(c) for c in columns if c in required or c in spec.columns or spec.column(c) in by_name}
    missing = [c if spec.column(c) == c else f"{c} (the export's {spec.column(c)!r})"
               for c, name in wanted.items() if name not in by_name]
    if missing:
        raise CalibrationError(f"{path.name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                               f"the file has: {', '.join(map(str, by_name)) or 'no columns'}"
                               + ("" if not spec.columns else f" (names from {spec.table}.columns in the mapping)"))
    use = [by_name[name] for name in wanted.values()]
    try:
        if is_parquet:
            frame = pd.read_parquet(path, columns=use)
        else:
            # text, except durations: the C parser reads a column of numbers as floats far faster
            # than pd.to_numeric would, and leaves a column with any other value as text
            frame = pd.read_csv(path, usecols=use, sep=sep, encoding="utf-8-sig", skip_blank_lines=False,
                                dtype={by_name[wanted[c]]: str for c in wanted if not c.endswith("_s")},
                                na_values=["", "NULL", "null", "N/A", "NA", "n/a", "#N/A"], keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise CalibrationError(f"{path}: cannot read it: {str(error).splitlines()[0]}") from None
    frame = frame.rename(columns={by_name[name]: canonical for canonical, name in wanted.items()})
    frame = frame[list(wanted)]
    for canonical in frame.columns:  # text: trimmed, and an empty or blank value is missing
        if pd.api.types.is_string_dtype(frame[canonical]):
            text = frame[canonical].str.strip()
            frame[canonical] = text.mask(text == "")
    empty = frame.isna().all(axis=1).to_numpy()
    trailing = len(empty) - (np.flatnonzero(~empty)[-1] + 1) if (~empty).any() else len(empty)
    frame = frame.iloc[: len(frame) - trailing].reset_index(drop=True)
    if frame.empty:
        raise CalibrationError(f"{path}: no data rows (only a header)")
    table = _Table(path, spec, frame, np.arange(1, len(frame) + 1))
    table.exclude(empty[: len(frame)], "empty_row")
    table.exclude(frame.duplicated().to_numpy(), "duplicate")
    return table


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or series.dtype == object


def _as_text(series: pd.Series) -> pd.Series:
    """A coded or free-text column as trimmed text, "" where missing (a Parquet 999 reads as "999")."""
    if pd.api.types.is_float_dtype(series):
        whole = series.dropna()
        if len(whole) and bool((whole == np.round(whole)).all()):
            series = series.astype("Int64")
    if not _is_text(series):
        series = series.astype(object).where(series.notna(), None).map(lambda v: v if v is None else str(v))
    return series.fillna("").astype(str).str.strip()


# ------------------------------------------------------------------------------ times and durations
def _times(table: _Table, canonical: str) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """(times as datetime64[ns] naive, missing, given but unreadable) for a time column."""
    series = table.frame[canonical]
    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)  # the wall-clock time in the export's own zone
        times = series.astype("datetime64[ns]")
        missing = times.isna().to_numpy()
        return times, missing, np.zeros(len(times), dtype=bool)
    text = series if _is_text(series) else series.astype(object).where(series.notna(), None).map(
        lambda v: v if v is None else str(v))
    missing = text.isna().to_numpy()
    fmt = table.spec.time_format or "ISO8601"
    try:
        times = pd.to_datetime(text, format=fmt, errors="coerce")
        aware = getattr(times.dt, "tz", None) is not None
    except ValueError:  # mixed UTC offsets
        aware = True
    if aware:  # keep the wall-clock time as written
        times = pd.to_datetime(text.astype(str).str.replace(_OFFSET, "", regex=True).mask(missing),
                               format=fmt, errors="coerce")
    times = times.astype("datetime64[ns]")
    bad = times.isna().to_numpy() & ~missing
    return times, missing, bad


def _no_time_read(table: _Table, canonical: str, bad: np.ndarray) -> CalibrationError:
    """The error for a time column in which no value reads: a format problem."""
    spec = table.spec
    how = f"time_format {spec.time_format!r}" if spec.time_format else "ISO-8601 (like 2024-03-04 08:00:05)"
    sample = table.frame[canonical][bad].astype(str).head(1000)
    fits = [f for f in COMMON_TIME_FORMATS if pd.to_datetime(sample, format=f, errors="coerce").notna().all()]
    suggestion = f"{fits[0]!r}" if fits else "a strptime format such as '%d/%m/%Y %H:%M:%S'"
    return table.error(canonical, f"no value reads as a date-time with {how}, "
                                  f"first at {table.example(bad, canonical)}; "
                                  f"set {spec.table}.time_format in the mapping to {suggestion}")


def _seconds(table: _Table, canonical: str, unit: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seconds as float64, missing, given but not a duration) for a duration column."""
    series = table.frame[canonical]
    factor = UNITS[unit]
    if pd.api.types.is_timedelta64_dtype(series):
        seconds = series.dt.total_seconds().to_numpy(dtype=float)
        missing = np.isnan(seconds)
        return seconds, missing, np.zeros(len(seconds), dtype=bool)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        seconds = series.to_numpy(dtype=float, na_value=np.nan) * factor
        missing = np.isnan(seconds)
        return seconds, missing, np.isinf(seconds)
    missing = series.isna().to_numpy()
    seconds = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan) * factor
    failed = np.isnan(seconds) & ~missing
    if failed.any():  # H:MM:SS, as many ACD reports write durations
        clock = pd.to_timedelta(series[failed].astype(str), errors="coerce").dt.total_seconds()
        seconds[failed] = clock.to_numpy(dtype=float, na_value=np.nan)
    bad = ~missing & ~np.isfinite(seconds)
    return seconds, missing, bad


def _check_some_read(table: _Table, canonical: str, within: np.ndarray, missing: np.ndarray, bad: np.ndarray,
                     what: str) -> None:
    """Error when, among the rows ``within``, values are given but none reads: a format problem."""
    given = within & ~missing
    if given.any() and not (given & ~bad).any():
        raise table.error(canonical, f"no value reads as {what}, first at {table.example(given & bad, canonical)}")


# ------------------------------------------------------------------------------------ coded values
def _coded(table: _Table, canonical: str, check: np.ndarray | None = None,
           missing_ok: bool = False) -> np.ndarray:
    """Canonical values of a coded column (object array; None where left out or missing).

    Rows whose value the mapping lists under ``excluded`` are left out under that reason. An
    unmapped value on a row of ``check`` (default: every row) is an error naming the value and the
    key to add it under; with ``missing_ok`` an empty value is None instead.
    """
    spec = table.spec
    to_canonical, to_reason = spec.lookup(canonical)
    text = _as_text(table.frame[canonical])
    codes, uniques = pd.factorize(text)
    uniques = [str(u) for u in uniques]
    canon = np.array([to_canonical.get(u) for u in uniques] + [None], dtype=object)
    reason = np.array([to_reason.get(u) for u in uniques] + [None], dtype=object)
    unmapped = np.array([u not in to_canonical and u not in to_reason and not (missing_ok and u == "")
                         for u in uniques] + [False])
    rows_unmapped = unmapped[codes] & (True if check is None else check)
    if rows_unmapped.any():
        values = pd.Series(text[rows_unmapped]).value_counts(sort=False)
        shown = ", ".join(f"{v!r} ({n} row{'s' * (n > 1)})" for v, n in list(values.items())[:5])
        more = f" and {len(values) - 5} more" if len(values) > 5 else ""
        key = f"{spec.table}.{canonical}"
        targets = ", ".join(f"{key}.{c}" for c in _CODED[spec.table][canonical])
        them = "them" if len(values) > 1 else "it"
        raise table.error(canonical, f"value{'s' * (len(values) > 1)} {shown}{more} not in the mapping, first at "
                                     f"{table.example(rows_unmapped, canonical)}; add {them} to the mapping under "
                                     f"one of {targets} (or under {key}.excluded.<reason> to leave those rows out)")
    for value in sorted({r for r in reason[codes] if r is not None}):
        table.exclude(reason[codes] == value, value)
    return canon[codes]


def _str_column(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A column of a few distinct strings as pandas' str dtype (built from its distinct values: fast)."""
    codes, uniques = pd.factorize(values)
    return pd.array(np.asarray(uniques, dtype=object), dtype="str").take(codes)


# ---------------------------------------------------------------------------------------- calls
def read_calls(path: str | Path, mapping: Mapping | str | Path | None = None
               ) -> tuple[pd.DataFrame, dict[str, int], Period]:
    """The clean calls table of an ACD export, the rows left out by reason, and its :class:`Period`.

    ``calls``: one row per call that reached the queue, sorted by ``arrived_at`` (index 0..n-1):
    ``arrived_at`` (datetime64[ns], naive local), ``line`` ('999'|'101'), ``outcome``
    ('answered'|'abandoned'), ``wait_s`` (>= 0), ``handle_s`` (>= 0 answered, NaN abandoned),
    ``agent`` (str or None). The rules for messy exports are the module docstring's.
    """
    mapping = _as_mapping(mapping)
    spec = mapping.calls
    table = _read(path, spec, CALL_COLUMNS, CALL_REQUIRED)
    n = len(table.frame)

    arrived_at, missing, bad = _times(table, "arrived_at")
    if not (~missing & ~bad).any():
        if not bad.any():
            raise table.error("arrived_at", "every value is empty")
        raise _no_time_read(table, "arrived_at", bad)
    table.exclude(missing | bad, "bad_arrived_at")

    outcome = _as_text(table.frame["outcome"])
    to_canonical, to_reason = spec.lookup("outcome")
    codes, uniques = pd.factorize(outcome)
    uniques = [str(u) for u in uniques]
    canon = np.array([to_canonical.get(u) for u in uniques] + [None], dtype=object)[codes]
    reasons = np.array([to_reason.get(u) or (None if u in to_canonical else
                                            "missing_outcome" if u == "" else f"other_outcome:{u}")
                        for u in uniques] + [None], dtype=object)[codes]
    answered, abandoned = canon == "answered", canon == "abandoned"
    queued = answered | abandoned
    for reason in dict.fromkeys(r for r in reasons if r is not None):  # first appearance in the file
        table.exclude(reasons == reason, reason)

    line = _coded(table, "line", check=queued)

    wait, wait_missing, wait_bad = _seconds(table, "wait_s", spec.wait_unit)
    _check_some_read(table, "wait_s", queued, wait_missing, wait_bad, "a number of seconds or H:MM:SS")
    table.exclude(wait_missing, "missing_wait")
    table.exclude(wait_bad, "bad_wait")
    table.exclude(wait < 0, "negative_wait")

    handle, handle_missing, handle_bad = _seconds(table, "handle_s", spec.handle_unit)
    _check_some_read(table, "handle_s", answered, handle_missing, handle_bad, "a number of seconds or H:MM:SS")
    table.exclude(answered & handle_missing, "answered_without_handle")
    table.exclude(answered & handle_bad, "bad_handle")
    table.exclude(answered & (handle < 0), "negative_handle")

    kept = table.kept
    if not kept.any():
        raise CalibrationError(f"{table.path.name}: no usable calls: all {n} row{'s' * (n > 1)} left out "
                               f"({', '.join(f'{r} {k}' for r, k in table.counts().items())})")
    agent = (_as_text(table.frame["agent"]).to_numpy(dtype=object) if "agent" in table.frame
             else np.full(n, "", dtype=object))
    arrived_at = arrived_at.to_numpy()
    take = np.flatnonzero(kept)
    take = take[np.argsort(arrived_at[take], kind="stable")]  # by arrival; equal times keep file order
    calls = pd.DataFrame({
        "arrived_at": arrived_at[take],
        "line": _str_column(line[take]),
        "outcome": _str_column(canon[take]),
        "wait_s": wait[take],
        "handle_s": np.where(answered, handle, np.nan)[take],
        "agent": pd.Series(np.where(agent == "", None, agent)[take], dtype=object),
    })
    return calls, table.counts(), period_of(calls["arrived_at"], spec.zone)


# ------------------------------------------------------------------------------------ incidents
def read_incidents(path: str | Path, mapping: Mapping | str | Path | None = None
                   ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The clean incidents table of a CAD export and the rows left out by reason.

    ``incidents``: sorted by ``created_at`` (index 0..n-1): ``created_at``, ``grade``
    (immediate|priority|prompt|scheduled|no_deployment), ``assigned_at``, ``arrived_at``,
    ``cleared_at`` (datetime64[ns], NaT where it did not happen), ``area``, ``unit``,
    ``call_line`` ('999'|'101') (object, None where absent). Rules: the module docstring's.
    """
    mapping = _as_mapping(mapping)
    spec = mapping.incidents
    table = _read(path, spec, INCIDENT_COLUMNS, INCIDENT_REQUIRED)
    n = len(table.frame)

    created_at, missing, bad = _times(table, "created_at")
    if not (~missing & ~bad).any():
        if not bad.any():
            raise table.error("created_at", "every value is empty")
        raise _no_time_read(table, "created_at", bad)
    table.exclude(missing | bad, "bad_created_at")

    grade = _coded(table, "grade")
    call_line = (_coded(table, "call_line", missing_ok=True) if "call_line" in table.frame
                 else np.full(n, None, dtype=object))

    times = {"created_at": created_at}
    for canonical in INCIDENT_TIMES[1:]:
        times[canonical], missing, bad = _times(table, canonical)
        if bad.any() and not (~missing & ~bad).any():
            raise _no_time_read(table, canonical, bad)
        table.exclude(bad, f"bad_{canonical}")
    values = np.stack([times[c].to_numpy().astype("datetime64[ns]").view(np.int64) for c in INCIDENT_TIMES])
    present = values != np.iinfo(np.int64).min  # NaT
    out_of_order = np.zeros(n, dtype=bool)
    for i in range(len(INCIDENT_TIMES)):
        for j in range(i + 1, len(INCIDENT_TIMES)):
            out_of_order |= present[i] & present[j] & (values[j] < values[i])
    table.exclude(out_of_order, "times_out_of_order")

    kept = table.kept
    if not kept.any():
        raise CalibrationError(f"{table.path.name}: no usable incidents: all {n} row{'s' * (n > 1)} left out "
                               f"({', '.join(f'{r} {k}' for r, k in table.counts().items())})")

    def optional(canonical: str) -> pd.Series:
        if canonical not in table.frame:
            return pd.Series([None] * int(kept.sum()), dtype=object)
        text = _as_text(table.frame[canonical]).to_numpy(dtype=object)
        return pd.Series(np.where(text == "", None, text)[kept], dtype=object)

    incidents = pd.DataFrame({
        "created_at": times["created_at"].to_numpy()[kept],
        "grade": _str_column(grade[kept]),
        **{c: times[c].to_numpy()[kept] for c in INCIDENT_TIMES[1:]},
        "area": optional("area"),
        "unit": optional("unit"),
        "call_line": pd.Series(call_line[kept], dtype=object),
    })
    incidents = incidents.sort_values("created_at", kind="stable", ignore_index=True)
    return incidents, table.counts()
