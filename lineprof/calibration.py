"""The per-event cost that lineprof subtracts from line times.

The C tracer reads the clock once per event, when the event arrives, so a
line's time also holds what the event costs around that moment: the
interpreter stopping at the line, calling the callback, boxing its
arguments, the tracer's own work, getting back to the bytecode. Each line
knows how many such dispatches its time contains, so subtracting a measured
cost per dispatch brings its time close to what the line costs without a
profiler.

The cost is measured once per process, the first time it is needed: a small
loop of known lines runs with and without a private tracer, and the extra
time per dispatch is the difference divided by the number of dispatches.
Plain and traced runs alternate in batches; a batch's estimate is the lower
quartile of its paired ones, since a burst of load from elsewhere slows the
longer traced run more than the short plain one. Batches repeat until two in
a row agree: a process's first tens of milliseconds often run at another
clock speed than the rest, and an estimate from then would be off.

The loop is made of the cheapest lines there are (local assignments), on
purpose: on 3.8-3.11 tracing also slows the bytecode itself (3.11 stops
specialising it), more for some instructions than for others, and that part
is no per-event cost. Calibrating on the cheapest lines errs on the side of
subtracting too little, never too much.
"""
from lineprof import _tracer

_PAIRS_PER_BATCH = 8
_MAX_BATCHES = 8
_AGREEMENT = 0.15
_ITERATIONS = 4000

_cost = None
_timer_unit = None


def _calibration_loop(n):
    for i in range(n):
        a = i
        b = a
        c = b
    return c


def _plain_ticks():
    start = _tracer.timer()
    _calibration_loop(_ITERATIONS)
    return _tracer.timer() - start


def _traced_ticks(tracer, code):
    tracer.clear()
    tracer.enable()
    try:
        _calibration_loop(_ITERATIONS)
    finally:
        tracer.disable()
    rows = dict(tracer.get_counts())[code]
    return sum(row[2] for row in rows), sum(row[3] for row in rows)


def _batch_estimate(tracer, code):
    estimates = []
    for _ in range(_PAIRS_PER_BATCH):
        plain = _plain_ticks()
        ticks, dispatches = _traced_ticks(tracer, code)
        estimates.append((ticks - plain) / dispatches)
    return sorted(estimates)[_PAIRS_PER_BATCH // 4]


def measure_event_cost():
    """Ticks of interpreter overhead per event dispatch, measured now."""
    import dis
    code = _calibration_loop.__code__
    lines = [line for _, line in dis.findlinestarts(code) if line is not None]
    tracer = _tracer.Tracer()
    tracer.add_code(code, min(lines), max(lines))
    previous = _batch_estimate(tracer, code)
    for _ in range(_MAX_BATCHES - 1):
        current = _batch_estimate(tracer, code)
        if abs(current - previous) <= _AGREEMENT * max(current, previous):
            break
        previous = current
    return max(0.0, min(previous, current))


def event_cost():
    """The per-dispatch cost in ticks, measured on first use and then kept."""
    global _cost
    if _cost is None:
        _cost = measure_event_cost()
    return _cost


def timer_unit():
    """Seconds per tick of the tracer's clock. With the TSC, the first
    reading waits until 20 ms have passed since the extension was loaded,
    to measure the TSC's rate against the system clock; it is then kept."""
    global _timer_unit
    if _timer_unit is None:
        _timer_unit = _tracer.timer_unit()
    return _timer_unit


def use_measured(event_cost, unit):
    """Takes the event cost and timer unit measured by another process of the
    same Python on the same machine: a job's children reuse their parent's
    rather than spend up to 20 ms of their own measuring them."""
    global _cost, _timer_unit
    _cost = float(event_cost)
    _timer_unit = float(unit)
