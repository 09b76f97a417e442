"""Reading a force's ACD and CAD exports into the clean tables (demandsim.calibrate.read, issue 12).

Each messy case of the issue ("Real exports are messy") is a small hand-made file: it gives the
expected records.excluded counts, or a one-line CalibrationError naming the column and the row.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from demandsim.calibrate.read import (
    CALL_COLUMNS,
    INCIDENT_COLUMNS,
    CalibrationError,
    Period,
    load_mapping,
    read_calls,
    read_incidents,
)

HEADER = "arrived_at,line,outcome,wait_s,handle_s,agent\n"


def write(tmp_path, text: str, name: str = "calls.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def calls_file(tmp_path, *rows: str, header: str = HEADER, name: str = "calls.csv"):
    return write(tmp_path, header + "".join(row + "\n" for row in rows), name)


def error_of(call, *args) -> str:
    with pytest.raises(CalibrationError) as caught:
        call(*args)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


# ------------------------------------------------------------------------------ clean round trip
def clean_calls(n: int = 200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arrived = pd.Timestamp("2024-05-06") + pd.to_timedelta(np.sort(rng.integers(0, 14 * 86400, n)), unit="s")
    abandoned = rng.random(n) < 0.2
    return pd.DataFrame({
        "arrived_at": arrived.astype("datetime64[ns]"),
        "line": np.where(rng.random(n) < 0.5, "999", "101"),
        "outcome": np.where(abandoned, "abandoned", "answered"),
        "wait_s": rng.exponential(20, n).round(1),
        "handle_s": np.where(abandoned, np.nan, rng.gamma(2, 150, n).round(1)),
        "agent": pd.Series(np.where(abandoned, None, np.char.add("A", rng.integers(0, 9, n).astype(str))),
                           dtype=object),
    })


def assert_same_calls(got: pd.DataFrame, want: pd.DataFrame):
    assert list(got.columns) == list(CALL_COLUMNS)
    assert got.index.equals(pd.RangeIndex(len(want)))
    assert str(got["arrived_at"].dtype) == "datetime64[ns]"
    assert got["wait_s"].dtype == np.float64 and got["handle_s"].dtype == np.float64
    assert got["agent"].dtype == object
    assert (got["arrived_at"].to_numpy() == want["arrived_at"].to_numpy()).all()
    for column in ("line", "outcome"):
        assert got[column].tolist() == want[column].tolist()
    np.testing.assert_allclose(got["wait_s"], want["wait_s"])
    np.testing.assert_allclose(got["handle_s"], want["handle_s"])  # NaN where abandoned, both
    assert got["agent"].tolist() == want["agent"].tolist()


def test_a_clean_canonical_file_round_trips(tmp_path):
    want = clean_calls()
    path = tmp_path / "calls.csv"
    want.to_csv(path, index=False)
    calls, excluded, period = read_calls(path)
    assert excluded == {}
    assert_same_calls(calls, want)
    assert period == Period(pd.Timestamp("2024-05-06"), want["arrived_at"].max().normalize() + pd.Timedelta(days=1))


def test_parquet_input_reads_as_the_csv_does(tmp_path):
    want = clean_calls()
    want.to_parquet(tmp_path / "calls.parquet", index=False)
    want.to_csv(tmp_path / "calls.csv", index=False)
    from_parquet = read_calls(tmp_path / "calls.parquet")
    assert_same_calls(from_parquet[0], want)
    assert from_parquet[1] == read_calls(tmp_path / "calls.csv")[1] == {}
    # Parquet types: a line written as a number and times with a zone still read as the canonical values
    typed = want.assign(line=want["line"].astype(int),
                        arrived_at=want["arrived_at"].dt.tz_localize("Europe/London"))
    typed.to_parquet(tmp_path / "typed.parquet", index=False)
    assert_same_calls(read_calls(tmp_path / "typed.parquet")[0], want)


def test_agent_column_is_optional_and_all_none_when_absent(tmp_path):
    path = calls_file(tmp_path, "2024-05-06 08:00:00,999,answered,3,100",
                      header="arrived_at,line,outcome,wait_s,handle_s\n")
    calls, _, _ = read_calls(path)
    assert list(calls.columns) == list(CALL_COLUMNS) and calls["agent"].tolist() == [None]


# ------------------------------------------------------------------------------ messy calls
def test_unsorted_rows_are_sorted_not_an_error(tmp_path):
    path = calls_file(tmp_path,
                      "2024-05-06 09:00:00,999,answered,3,100,A",
                      "2024-05-06 08:00:00,101,abandoned,40,,",
                      "2024-05-06 08:30:00,999,answered,5,200,B")
    calls, excluded, _ = read_calls(path)
    assert excluded == {}
    assert calls["arrived_at"].is_monotonic_increasing
    assert calls["wait_s"].tolist() == [40.0, 5.0, 3.0]


def test_exact_duplicates_keep_one_and_count_the_rest(tmp_path):
    row = "2024-05-06 08:00:00,999,answered,3,100,A"
    path = calls_file(tmp_path, row, "2024-05-06 08:00:00,999,answered,3,101,A", row, row)
    calls, excluded, _ = read_calls(path)
    assert excluded == {"duplicate": 2}
    assert calls["handle_s"].tolist() == [100.0, 101.0]  # a row differing in one column is another call


def test_bad_waits_and_handle_times_are_excluded_with_their_reason(tmp_path):
    path = calls_file(tmp_path,
                      "2024-05-06 08:00:00,999,answered,3,100,A",       # kept
                      "2024-05-06 08:01:00,999,answered,-2,100,A",      # negative_wait
                      "2024-05-06 08:02:00,999,abandoned,,,",           # missing_wait
                      "2024-05-06 08:03:00,999,answered,,100,A",        # missing_wait
                      "2024-05-06 08:04:00,101,answered,4,,A",          # answered_without_handle
                      "2024-05-06 08:05:00,101,answered,4,-1,A",        # negative_handle
                      "2024-05-06 08:06:00,101,abandoned,30,-1,",       # kept: an abandoned call's handle is ignored
                      "2024-05-06 08:07:00,101,answered,soon,10,A",     # bad_wait
                      "2024-05-06 08:08:00,101,answered,0:00:07,0:05:00,A")  # kept: H:MM:SS
    calls, excluded, _ = read_calls(path)
    assert excluded == {"missing_wait": 2, "bad_wait": 1, "negative_wait": 1, "answered_without_handle": 1,
                        "negative_handle": 1}
    assert calls["wait_s"].tolist() == [3.0, 30.0, 7.0]
    assert calls["handle_s"].tolist()[::2] == [100.0, 300.0] and np.isnan(calls["handle_s"][1])


def test_a_row_is_counted_once_under_the_first_reason(tmp_path):
    path = calls_file(tmp_path,
                      "2024-05-06 08:00:00,999,answered,3,100,A",
                      "not a time,999,answered,-3,,A",   # bad_arrived_at first, not negative_wait
                      "not a time,999,answered,-3,,A")   # duplicate before anything else
    assert read_calls(path)[1] == {"duplicate": 1, "bad_arrived_at": 1}


def test_missing_or_unreadable_arrival_times_are_excluded(tmp_path):
    path = calls_file(tmp_path,
                      "2024-05-06 08:00:00,999,answered,3,100,A",
                      ",999,answered,3,100,A",
                      "06/05/2024 08:00,999,answered,4,100,A",
                      "2024-05-06T08:05:00+01:00,999,answered,5,100,A")  # an offset: the wall-clock time is kept
    calls, excluded, _ = read_calls(path)
    assert excluded == {"bad_arrived_at": 2}
    assert calls["arrived_at"].tolist() == [pd.Timestamp("2024-05-06 08:00"), pd.Timestamp("2024-05-06 08:05")]


def test_when_no_arrival_time_reads_it_is_a_format_error_suggesting_time_format(tmp_path):
    path = calls_file(tmp_path,
                      "06/05/2024 08:00:00,999,answered,3,100,A",
                      "25/05/2024 09:00:00,999,answered,3,100,A")
    message = error_of(read_calls, path)
    assert "'arrived_at'" in message and "row 1" in message and "06/05/2024 08:00:00" in message
    assert "calls.time_format" in message and "'%d/%m/%Y %H:%M:%S'" in message  # a format that reads them


def test_outcomes_other_than_answered_or_abandoned_are_counted_by_value(tmp_path):
    path = calls_file(tmp_path,
                      "2024-05-06 08:00:00,999,answered,3,100,A",
                      "2024-05-06 08:01:00,999,transferred,3,100,A",
                      "2024-05-06 08:02:00,999,transferred,3,100,A",
                      "2024-05-06 08:03:00,999,,3,100,A",
                      "2024-05-06 08:04:00,999,Answered,3,100,A")  # values match exactly
    assert read_calls(path)[1] == {"other_outcome:transferred": 2, "missing_outcome": 1,
                                   "other_outcome:Answered": 1}


def test_mapped_outcomes_are_excluded_under_the_mappings_reason_whatever_their_line(tmp_path):
    mapping = write(tmp_path, "calls:\n  outcome:\n    excluded: {ivr_hangup: [IVR], short_abandon: [SHORT]}\n",
                    "map.yaml")
    path = calls_file(tmp_path,
                      "2024-05-06 08:00:00,999,answered,3,100,A",
                      "2024-05-06 08:01:00,MENU,IVR,0,,",   # never reached a queue: its line is not checked
                      "2024-05-06 08:02:00,101,SHORT,2,,",
                      "2024-05-06 08:03:00,101,IVR,0,,")
    calls, excluded, _ = read_calls(path, load_mapping(mapping))
    assert excluded == {"ivr_hangup": 2, "short_abandon": 1} and len(calls) == 1


def test_a_line_value_not_in_the_mapping_is_an_error_naming_value_row_and_key(tmp_path):
    path = calls_file(tmp_path,
                      "2024-05-06 08:00:00,999,answered,3,100,A",
                      "2024-05-06 08:01:00,101,answered,3,100,A",
                      "2024-05-06 08:02:00,QUEUE7,abandoned,3,,",
                      "2024-05-06 08:03:00,QUEUE7,answered,3,100,A")
    message = error_of(read_calls, path)
    assert "'line'" in message and "'QUEUE7' (2 rows)" in message and "row 3" in message
    assert "under one of calls.line.999, calls.line.101" in message and "calls.line.excluded" in message
    # listed under a reason, the queue is left out on purpose and counted
    mapping = write(tmp_path, "calls:\n  line: {excluded: {other_queue: [QUEUE7]}}\n", "map.yaml")
    assert read_calls(path, load_mapping(mapping))[1] == {"other_queue": 2}


def test_a_clock_change_day_keeps_wall_clock_times_and_counts_wall_clock_hours(tmp_path):
    # Sunday 31 March 2024 (spring: 01:00-02:00 never happens) and Sunday 27 October 2024 (01:00-02:00 twice)
    path = calls_file(tmp_path,
                      "2024-03-31 00:59:59,999,answered,3,100,A",
                      "2024-03-31 01:30:00,999,answered,3,100,A",   # inside the missing hour: kept as written
                      "2024-03-31 02:00:00,999,answered,3,100,A",
                      "2024-10-27 01:30:00,999,answered,3,100,A",
                      "2024-10-27 01:30:00,101,answered,3,100,A")   # the repeated hour: two calls, both kept
    calls, excluded, period = read_calls(path)
    assert excluded == {} and len(calls) == 5
    assert calls["arrived_at"][1] == pd.Timestamp("2024-03-31 01:30")
    sunday_1am = 6 * 24 + 1
    assert period.start == pd.Timestamp("2024-03-31") and period.end == pd.Timestamp("2024-10-28")
    counts = period.hour_of_week_counts()
    weeks = 30  # 31 March to 27 October: 31 Sundays, of which the two clock-change days
    assert counts[sunday_1am] == weeks + 1 - 1 + 1  # the spring one has no 01:00, the autumn one two
    assert counts[sunday_1am + 1] == weeks + 1
    assert counts.sum() == period.days * 24  # one hour lost in spring, one gained in autumn
    naive = Period(period.start, period.end, zone=None).hour_of_week_counts()
    assert naive[sunday_1am] == weeks + 1 and set(naive) == {weeks, weeks + 1}


@pytest.mark.parametrize(("start", "end", "hours"), [("2024-03-25", "2024-04-01", 167),
                                                     ("2024-10-21", "2024-10-28", 169),
                                                     ("2024-05-06", "2024-05-13", 168)])
def test_hour_of_week_counts_of_a_week(start, end, hours):
    counts = Period(pd.Timestamp(start), pd.Timestamp(end)).hour_of_week_counts()
    assert counts.shape == (168,) and counts.sum() == hours
    assert set(counts[:144]) == {1}  # Monday to Saturday: every hour once


def test_calls_spanning_midnight_belong_to_their_arrival_day(tmp_path):
    path = calls_file(tmp_path, "2024-05-06 23:59:50,999,answered,30,600,A")
    calls, excluded, period = read_calls(path)
    assert excluded == {} and calls["wait_s"][0] == 30.0
    assert period == Period(pd.Timestamp("2024-05-06"), pd.Timestamp("2024-05-07"))


def test_a_missing_required_column_lists_it_and_the_files_columns(tmp_path):
    path = write(tmp_path, "arrived_at,line,outcome,handle_s\n2024-05-06 08:00:00,999,answered,100\n")
    message = error_of(read_calls, path)
    assert "missing column wait_s" in message and "the file has: arrived_at, line, outcome, handle_s" in message


@pytest.mark.parametrize(("text", "expected"), [
    ("", "empty"),
    (HEADER, "no data rows"),
    (HEADER + "2024-05-06 08:00:00,999,answered,-1,100,A\n", "no usable calls: all 1 row left out (negative_wait 1)"),
])
def test_an_empty_file_or_no_usable_rows_is_an_error(tmp_path, text, expected):
    assert expected in error_of(read_calls, write(tmp_path, text))


def test_blank_lines_are_not_calls_and_row_numbers_stay_the_files(tmp_path):
    path = write(tmp_path, HEADER + "2024-05-06 08:00:00,999,answered,3,100,A\n\n"
                 "2024-05-06 08:01:00,X,answered,3,100,A\n\n\n")
    assert "row 3" in error_of(read_calls, path)
    path = write(tmp_path, HEADER + "2024-05-06 08:00:00,999,answered,3,100,A\n,,,,,\n\n"
                 "2024-05-06 08:01:00,999,answered,3,100,A\n\n,,,,,\n")
    assert read_calls(path)[1] == {"empty_row": 2}  # blank or every field empty; at the end of the file, not rows


def test_no_number_in_a_duration_column_is_an_error(tmp_path):
    path = calls_file(tmp_path, "2024-05-06 08:00:00,999,answered,three,100,A")
    message = error_of(read_calls, path)
    assert "'wait_s'" in message and "row 1" in message and "'three'" in message


# ------------------------------------------------------------------------------ the mapping
FORCE_EXPORT = (
    "CallStart;Queue;Result;QueueMs;HandleSecs;AgentId;Site\n"
    "04/03/2024 08:00:05;EMERG;ANS;4000;300;u17;north\n"
    "04/03/2024 07:59:00;NONEMERG;ABN;95000;;;north\n"
    "04/03/2024 08:10:00;999;Answered;2500;200;u3;south\n"
    "04/03/2024 08:11:00;EMERG;IVR;0;;;north\n"
)
FORCE_MAPPING = """
calls:
  columns: {arrived_at: CallStart, line: Queue, outcome: Result, wait_s: QueueMs, handle_s: HandleSecs, agent: AgentId}
  line: {"999": [EMERG, "999"], 101: [NONEMERG]}
  outcome: {answered: [ANS, Answered], abandoned: [ABN], excluded: {ivr_hangup: [IVR]}}
  time_format: "%d/%m/%Y %H:%M:%S"
  wait_unit: ms
"""


def test_a_mapping_reads_a_force_style_export(tmp_path):
    path = write(tmp_path, FORCE_EXPORT, "force.csv")
    calls, excluded, period = read_calls(path, write(tmp_path, FORCE_MAPPING, "map.yaml"))
    assert excluded == {"ivr_hangup": 1}
    assert calls["arrived_at"].tolist() == list(pd.to_datetime(["2024-03-04 07:59:00", "2024-03-04 08:00:05",
                                                                "2024-03-04 08:10:00"]))
    assert calls["line"].tolist() == ["101", "999", "999"]
    assert calls["outcome"].tolist() == ["abandoned", "answered", "answered"]
    assert calls["wait_s"].tolist() == [95.0, 4.0, 2.5]
    assert calls["agent"].tolist() == [None, "u17", "u3"]
    assert period.days == 1.0


def test_mapping_errors_name_the_export_column_and_the_mapping_key(tmp_path):
    mapping = load_mapping(write(tmp_path, FORCE_MAPPING, "map.yaml"))
    path = write(tmp_path, FORCE_EXPORT.replace("04/03/2024 08:10:00;999", "04/03/2024 08:10:00;TEST"), "f.csv")
    message = error_of(read_calls, path, mapping)
    assert "'line' (the export's 'Queue', calls.columns.line)" in message and "row 3: line='TEST'" in message
    path = write(tmp_path, FORCE_EXPORT.replace("QueueMs", "WaitMs"), "f.csv")
    message = error_of(read_calls, path, mapping)
    assert "missing column wait_s (the export's 'QueueMs')" in message and "WaitMs" in message


@pytest.mark.parametrize(("text", "expected"), [
    ("calls:\n  colums: {line: Queue}\n", "calls.colums: unknown key (did you mean 'columns'?)"),
    ("calls:\n  columns: {waitt_s: Q}\n", "calls.columns.waitt_s: unknown key (did you mean 'wait_s'?)"),
    ("call:\n  columns: {}\n", "unknown key (did you mean 'calls'?)"),
    ("calls:\n  outcome: {answerd: [A]}\n", "calls.outcome.answerd: unknown key (did you mean 'answered'?)"),
    ("calls:\n  line: {999: [A], 101: [A]}\n", "calls.line.101: value 'A' is also listed under calls.line.999"),
    ("calls:\n  wait_unit: hours\n", "calls.wait_unit: 'hours' must be one of s, ms, min"),
    ("calls:\n  zone: Europe/Londn\n", "calls.zone: 'Europe/Londn' is not a time zone"),
    ("calls:\n  outcome: {answered: [yes]}\n", "calls.outcome.answered: True is a YAML boolean"),
    ("incidents:\n  grade: {urgent: [U]}\n", "incidents.grade.urgent: unknown key"),
    ("calls: [\n", "not valid YAML"),
])
def test_unknown_or_bad_mapping_keys_are_errors_before_reading_data(tmp_path, text, expected):
    assert expected in error_of(load_mapping, write(tmp_path, text, "map.yaml"))


def test_a_canonical_value_the_mapping_does_not_mention_stands_for_itself(tmp_path):
    mapping = load_mapping(write(tmp_path, "calls:\n  line: {999: [EMERG]}\n", "map.yaml"))
    path = calls_file(tmp_path, "2024-05-06 08:00:00,EMERG,answered,3,100,A",
                      "2024-05-06 08:01:00,101,answered,3,100,A")
    assert read_calls(path, mapping)[0]["line"].tolist() == ["999", "101"]
    assert "'999'" in error_of(read_calls, calls_file(tmp_path, "2024-05-06 08:00:00,999,answered,3,100,A"),
                               mapping)  # listed values replace the canonical spelling


# ------------------------------------------------------------------------------ incidents
INCIDENT_HEADER = "created_at,grade,assigned_at,arrived_at,cleared_at,area,unit,call_line\n"


def incidents_file(tmp_path, *rows: str, header: str = INCIDENT_HEADER):
    return write(tmp_path, header + "".join(row + "\n" for row in rows), "incidents.csv")


def test_clean_incidents_read_with_nat_and_none_where_absent(tmp_path):
    path = incidents_file(tmp_path,
                          "2024-05-06 09:00,priority,2024-05-06 09:20,2024-05-06 09:50,2024-05-06 11:00,north,U2,101",
                          "2024-05-06 08:00,immediate,2024-05-06 08:02,2024-05-06 08:10,2024-05-06 09:00,south,U1,999",
                          "2024-05-06 08:30,no_deployment,,,,,,")
    incidents, excluded = read_incidents(path)
    assert excluded == {}
    assert list(incidents.columns) == list(INCIDENT_COLUMNS)
    assert incidents["grade"].tolist() == ["immediate", "no_deployment", "priority"]
    for column in ("created_at", "assigned_at", "arrived_at", "cleared_at"):
        assert str(incidents[column].dtype) == "datetime64[ns]"
    assert incidents["assigned_at"].isna().tolist() == [False, True, False]
    assert incidents["area"].tolist() == ["south", None, "north"] and incidents["unit"].tolist() == ["U1", None, "U2"]
    assert incidents["call_line"].tolist() == ["999", None, "101"]


def test_optional_incident_columns_are_present_as_none(tmp_path):
    path = incidents_file(tmp_path, "2024-05-06 09:00,prompt,,,",
                          header="created_at,grade,assigned_at,arrived_at,cleared_at\n")
    incidents, _ = read_incidents(path)
    assert list(incidents.columns) == list(INCIDENT_COLUMNS)
    assert incidents[["area", "unit", "call_line"]].iloc[0].tolist() == [None, None, None]


def test_incident_times_out_of_order_and_missing_creation_are_excluded(tmp_path):
    path = incidents_file(tmp_path,  # created, assigned, arrived, cleared
                          "2024-05-06 09:00,prompt,2024-05-06 09:10,2024-05-06 09:30,2024-05-06 10:00,,,",  # kept
                          # assigned too early
                          "2024-05-06 09:00,prompt,2024-05-06 08:59,2024-05-06 09:30,2024-05-06 10:00,,,",
                          # arrived too early
                          "2024-05-06 09:00,prompt,2024-05-06 09:10,2024-05-06 09:05,2024-05-06 10:00,,,",
                          # cleared too early
                          "2024-05-06 09:00,prompt,2024-05-06 09:10,2024-05-06 09:30,2024-05-06 09:20,,,",
                          "2024-05-06 09:00,prompt,,,2024-05-06 08:00,,,",  # cleared before created (no attendance)
                          ",prompt,2024-05-06 09:10,2024-05-06 09:30,2024-05-06 10:00,,,",  # bad_created_at
                          "2024-05-06 09:00,prompt,soon,,,,,")  # bad_assigned_at
    incidents, excluded = read_incidents(path)
    assert excluded == {"bad_created_at": 1, "bad_assigned_at": 1, "times_out_of_order": 4}
    assert len(incidents) == 1


def test_a_grade_not_in_the_mapping_is_an_error_naming_value_row_and_key(tmp_path):
    path = incidents_file(tmp_path, "2024-05-06 09:00,prompt,,,,,,", "2024-05-06 09:01,P2,,,,,,")
    message = error_of(read_incidents, path)
    assert "'grade'" in message and "'P2' (1 row)" in message and "row 2" in message
    assert "incidents.grade.priority" in message
    mapping = write(tmp_path, "incidents:\n  grade: {priority: [P2], excluded: {cancelled: [CANX]}}\n", "map.yaml")
    path = incidents_file(tmp_path, "2024-05-06 09:00,prompt,,,,,,", "2024-05-06 09:01,P2,,,,,,",
                          "2024-05-06 09:02,CANX,,,,,,")
    incidents, excluded = read_incidents(path, mapping)
    assert incidents["grade"].tolist() == ["prompt", "priority"] and excluded == {"cancelled": 1}


def test_incident_call_lines_follow_the_calls_line_mapping(tmp_path):
    mapping = write(tmp_path, "calls:\n  line: {999: [EMERG]}\n", "map.yaml")
    path = incidents_file(tmp_path, "2024-05-06 09:00,prompt,,,,,,EMERG", "2024-05-06 09:01,prompt,,,,,,101")
    assert read_incidents(path, mapping)[0]["call_line"].tolist() == ["999", "101"]
    path = incidents_file(tmp_path, "2024-05-06 09:00,prompt,,,,,,EMERG", "2024-05-06 09:01,prompt,,,,,,X")
    assert "'call_line'" in error_of(read_incidents, path, mapping)


def test_incidents_with_no_readable_creation_time_suggest_a_format(tmp_path):
    path = incidents_file(tmp_path, "06/05/2024 09:00,prompt,,,,,,")
    message = error_of(read_incidents, path)
    assert "'created_at'" in message and "row 1" in message and "incidents.time_format" in message


# ------------------------------------------------------------------------------ size
def big_export(path, n: int) -> None:
    rng = np.random.default_rng(12)
    arrived = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s")
    abandoned = rng.random(n) < 0.1
    pd.DataFrame({
        "arrived_at": arrived.strftime("%Y-%m-%d %H:%M:%S"),
        "line": np.where(rng.random(n) < 0.6, "999", "101"),
        "outcome": np.where(abandoned, "abandoned", "answered"),
        "wait_s": rng.exponential(20, n).round(1),
        "handle_s": np.where(abandoned, np.nan, rng.gamma(2, 150, n).round(0)),
        "agent": np.char.add("A", rng.integers(0, 80, n).astype(str)),
    }).to_csv(path, index=False)


@pytest.mark.slow
def test_a_year_of_calls_reads_and_cleans(tmp_path):
    n = 450_000
    big_export(tmp_path / "calls.csv", n)
    started = time.perf_counter()
    calls, excluded, period = read_calls(tmp_path / "calls.csv")
    print(f"read and cleaned {n} calls in {time.perf_counter() - started:.1f} s")
    assert len(calls) + sum(excluded.values()) == n
    assert calls["arrived_at"].is_monotonic_increasing and period.days == 365.0


def test_a_larger_file_reads(tmp_path):
    n = 50_000
    big_export(tmp_path / "calls.csv", n)
    calls, excluded, period = read_calls(tmp_path / "calls.csv")
    assert len(calls) + sum(excluded.values()) == n and set(excluded) <= {"duplicate"}
    assert calls["arrived_at"].is_monotonic_increasing
