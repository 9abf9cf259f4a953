"""The per-event costs that lineprof subtracts from line times.

The C tracer reads the clock once per event, when the event arrives, so a
line's time also holds what the event costs around that moment: the
interpreter stopping at the line, calling the callback, boxing its
arguments, the tracer's own work, getting back to the bytecode. Each line
knows how many such dispatches its time contains, line events apart from
frame events (a profiled function's call and return, a generator's yield
and resume: the whole dispatches of those of its callees are in a calling
line's time), so subtracting a measured cost per dispatch of each kind
brings its time close to what the line costs without a profiler.

The costs are measured once per process, the first time they are needed: a
small loop of known lines runs with and without a private tracer, and the
extra time per dispatch is the difference divided by the number of
dispatches; then a loop that calls a one-line profiled function, whose extra
time less its line events' is divided by its frame events. Plain and traced
runs alternate in batches; a batch's estimate is the lower quartile of its
paired ones, since a burst of load from elsewhere slows the longer traced
run more than the short plain one. Batches repeat until two in a row agree:
a process's first tens of milliseconds often run at another clock speed than
the rest, and an estimate from then would be off.

The loops are made of the cheapest lines there are (local assignments, a
call of a function that returns at once), on purpose: on 3.8-3.11 tracing
also slows the bytecode itself (3.11 stops specialising it), more for some
instructions than for others, and that part is no per-event cost.
Calibrating on the cheapest lines errs on the side of subtracting too
little, never too much.
"""
from lineprof import _tracer

_PAIRS_PER_BATCH = 8
_MAX_BATCHES = 8
_AGREEMENT = 0.15
_ITERATIONS = 4000

_costs = None       # (per line event, per frame event), in ticks
_timer_unit = None


def _calibration_loop(n):
    for i in range(n):
        a = i
        b = a
        c = b
    return c


def _calibration_callee():
    return None


def _calibration_calls(n):
    for i in range(n):
        _calibration_callee()
    return n


def _plain_ticks(loop):
    start = _tracer.timer()
    loop(_ITERATIONS)
    return _tracer.timer() - start


def _traced(tracer, loop):
    """(ticks, line dispatches, frame dispatches) in the loop's lines."""
    tracer.clear()
    tracer.enable()
    try:
        loop(_ITERATIONS)
    finally:
        tracer.disable()
    rows = dict(tracer.get_counts())[loop.__code__]
    return tuple(sum(row[i] for row in rows) for i in (2, 3, 4))


def _batch_estimate(tracer, loop, line_cost):
    """Per line-event dispatch (line_cost None), else per frame-event one."""
    estimates = []
    for _ in range(_PAIRS_PER_BATCH):
        plain = _plain_ticks(loop)
        ticks, line_dispatches, frame_dispatches = _traced(tracer, loop)
        if line_cost is None:
            estimates.append((ticks - plain) / line_dispatches)
        else:
            estimates.append((ticks - plain - line_cost * line_dispatches) / frame_dispatches)
    return sorted(estimates)[_PAIRS_PER_BATCH // 4]


def _register(tracer, function):
    import dis
    code = function.__code__
    lines = [line for _, line in dis.findlinestarts(code) if line is not None]
    tracer.add_code(code, min(lines), max(lines))


def _settled_estimate(tracer, loop, line_cost=None):
    previous = _batch_estimate(tracer, loop, line_cost)
    for _ in range(_MAX_BATCHES - 1):
        current = _batch_estimate(tracer, loop, line_cost)
        if abs(current - previous) <= _AGREEMENT * max(current, previous):
            break
        previous = current
    return max(0.0, min(previous, current))


def measure_event_costs():
    """Ticks of overhead per line-event dispatch and per frame-event
    dispatch, measured now."""
    tracer = _tracer.Tracer()
    for function in (_calibration_loop, _calibration_calls, _calibration_callee):
        _register(tracer, function)
    line_cost = _settled_estimate(tracer, _calibration_loop)
    return line_cost, _settled_estimate(tracer, _calibration_calls, line_cost)


def _measured():
    global _costs
    if _costs is None:
        _costs = measure_event_costs()
    return _costs


def event_cost():
    """The per line-event dispatch cost in ticks, measured on first use (with
    the frame events') and then kept."""
    return _measured()[0]


def frame_event_cost():
    """The per frame-event dispatch cost in ticks (call, return, yield,
    resume), measured with event_cost()."""
    return _measured()[1]


def timer_unit():
    """Seconds per tick of the tracer's clock. With the TSC, the first
    reading waits until 20 ms have passed since the extension was loaded,
    to measure the TSC's rate against the system clock; it is then kept."""
    global _timer_unit
    if _timer_unit is None:
        _timer_unit = _tracer.timer_unit()
    return _timer_unit


def use_measured(event_cost, unit, frame_event_cost=0.0):
    """Takes the event costs and timer unit measured by another process of
    the same Python on the same machine: a job's children reuse their
    parent's rather than spend up to 20 ms of their own measuring them."""
    global _costs, _timer_unit
    _costs = (float(event_cost), float(frame_event_cost))
    _timer_unit = float(unit)
