"""What the compensation subtracts: the dispatches each line's time holds,
counted by kind (line events, frame events), and their calibrated costs."""
import dis

import pytest

from lineprof import LineProfiler, _tracer, calibration


def callee():
    return 1


def caller(n):
    total = 0
    for _ in range(n):
        total += callee()
    return total


CALLS = 50
FIRST = caller.__code__.co_firstlineno
CALLING_LINE = FIRST + 3


def traced_counts(event_cost=0.0, frame_event_cost=0.0):
    """{function: {line: (hits, ticks, line dispatches, frame dispatches)}}
    and the tracer's timings, for one run of caller(CALLS)."""
    tracer = _tracer.Tracer()
    for function in (caller, callee):
        code = function.__code__
        lines = [line for _, line in dis.findlinestarts(code) if line is not None]
        tracer.add_code(code, min(lines), max(lines))
    tracer.event_cost = event_cost
    tracer.frame_event_cost = frame_event_cost
    tracer.enable()
    try:
        caller(CALLS)
    finally:
        tracer.disable()
    counts = {code.co_name: {row[0]: row[1:] for row in rows}
              for code, rows in tracer.get_counts()}
    timings = {code.co_name: {line: ticks for line, _, ticks in rows}
               for code, rows in tracer.get_timings()}
    edges = tracer.get_edges()
    return counts, timings, edges


def test_frame_dispatches_are_counted_where_their_time_is():
    counts, _, _ = traced_counts()
    calling = counts["caller"]
    # Each call's start and return are whole dispatches inside the calling
    # line's time; the last line holds the half before the caller's own
    # return. (The first line starts at its line event: the time between the
    # start and it is no line's.)
    assert calling[CALLING_LINE][3] == 2 * CALLS
    assert calling[FIRST + 4][3] == 0.5
    assert calling[FIRST + 1][3] == calling[FIRST + 2][3] == 0
    # The callee's one line: closed by its return.
    (callee_line,) = counts["callee"].values()
    assert callee_line[0] == CALLS and callee_line[3] == CALLS / 2
    # Line events are counted apart: the callee's line opens with one.
    assert calling[CALLING_LINE][2] >= CALLS
    assert callee_line[2] == CALLS / 2


def test_timings_subtract_each_kind_at_its_own_cost():
    counts, raw, _ = traced_counts()
    assert raw["caller"][CALLING_LINE] == counts["caller"][CALLING_LINE][1]
    ticks, line_dispatches, frame_dispatches = counts["caller"][CALLING_LINE][1:]
    # Costs that take a quarter of the line's ticks each, from another run.
    line_cost = ticks / 4 / line_dispatches
    frame_cost = ticks / 4 / frame_dispatches
    counts, timings, _ = traced_counts(line_cost, frame_cost)
    ticks, line_dispatches, frame_dispatches = counts["caller"][CALLING_LINE][1:]
    expected = ticks - line_cost * line_dispatches - frame_cost * frame_dispatches
    assert abs(timings["caller"][CALLING_LINE] - max(expected, 0)) <= 1


def test_edges_subtract_the_frame_dispatches_of_the_calls():
    _, _, raw_edges = traced_counts()
    ((_, line, _, calls, raw_ticks),) = raw_edges
    assert (line, calls) == (CALLING_LINE, CALLS)
    # Each call's time holds the half after its start and the half before its
    # return: one whole dispatch per call, at most all of the edge's time.
    frame_cost = raw_ticks / CALLS / 2
    _, _, edges = traced_counts(0.0, frame_cost)
    ((_, _, _, _, ticks),) = edges
    assert 0 <= ticks < raw_ticks


def test_both_costs_are_measured_and_recorded():
    profiler = LineProfiler(caller, callee)
    profiler.runcall(caller, CALLS)
    metadata = profiler.get_stats().metadata
    assert calibration.event_cost() >= 0 and calibration.frame_event_cost() >= 0
    unit_ns = calibration.timer_unit() * 1e9
    assert metadata["compensation_ns_per_frame_event"] == \
        pytest.approx(calibration.frame_event_cost() * unit_ns)
    plain = LineProfiler(caller, callee, compensation=False)
    plain.runcall(caller, CALLS)
    assert plain.get_stats().metadata["compensation_ns_per_frame_event"] == 0
