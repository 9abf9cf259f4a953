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


def traced():
    """A tracer that recorded one run of caller(CALLS)."""
    tracer = _tracer.Tracer()
    for function in (caller, callee):
        code = function.__code__
        lines = [line for _, line in dis.findlinestarts(code) if line is not None]
        tracer.add_code(code, min(lines), max(lines))
    tracer.enable()
    try:
        caller(CALLS)
    finally:
        tracer.disable()
    return tracer


def counts_of(tracer):
    """{function: {line: (hits, ticks, line dispatches, frame dispatches)}}"""
    return {code.co_name: {row[0]: row[1:] for row in rows} for code, rows in tracer.get_counts()}


def timings_of(tracer, event_cost, frame_event_cost):
    tracer.event_cost = event_cost
    tracer.frame_event_cost = frame_event_cost
    return {code.co_name: {line: ticks for line, _, ticks in rows}
            for code, rows in tracer.get_timings()}


def edges_of(tracer, frame_event_cost):
    tracer.event_cost = 0.0
    tracer.frame_event_cost = frame_event_cost
    return tracer.get_edges()


def test_frame_dispatches_are_counted_where_their_time_is():
    calling, called = counts_of(traced()).values()
    # Each call's start and return are whole dispatches inside the calling
    # line's time. The halves of frame events that open or close a line are
    # not counted (they are not halves: a return does most of its work after
    # the clock is read), neither in the caller's last line nor in the
    # callee's.
    assert calling[CALLING_LINE][3] == 2 * CALLS
    assert calling[FIRST + 1][3] == calling[FIRST + 2][3] == calling[FIRST + 4][3] == 0
    (callee_line,) = called.values()
    assert callee_line[0] == CALLS and callee_line[3] == 0
    # Line events are counted apart: the callee's line opens with one.
    assert calling[CALLING_LINE][2] >= CALLS
    assert callee_line[2] == CALLS / 2


def test_timings_subtract_each_kind_at_its_own_cost():
    tracer = traced()
    ticks, line_dispatches, frame_dispatches = counts_of(tracer)["caller"][CALLING_LINE][1:]
    assert timings_of(tracer, 0.0, 0.0)["caller"][CALLING_LINE] == ticks
    # Costs that take a quarter of the line's ticks each.
    line_cost = ticks / 4 / line_dispatches
    frame_cost = ticks / 4 / frame_dispatches
    compensated = timings_of(tracer, line_cost, frame_cost)["caller"][CALLING_LINE]
    assert abs(compensated - ticks / 2) <= 1
    # Never below zero.
    assert timings_of(tracer, 0.0, 2 * ticks / frame_dispatches)["caller"][CALLING_LINE] == 0


def test_edges_subtract_the_frame_dispatches_of_the_calls():
    tracer = traced()
    ((_, line, _, calls, raw_ticks),) = edges_of(tracer, 0.0)
    assert (line, calls) == (CALLING_LINE, CALLS)
    # Each call's time holds the half after its start and the half before its
    # return: one whole dispatch per call.
    ((_, _, _, _, ticks),) = edges_of(tracer, raw_ticks / CALLS / 4)
    assert abs(ticks - 3 * raw_ticks / 4) <= 1


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
