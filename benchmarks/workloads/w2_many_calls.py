"""(2) Many calls of a small profiled function from an unprofiled loop.

The profiled share is what the calls cost: the loop's time minus the same loop
without the call. It includes the call's set-up, which no line event sees, so
a report that is exact shows somewhat less."""
from _harness import clock, profile, report, scaled


@profile
def small(x):
    y = x + 1
    return y * 2


def driver(n):
    total = 0
    for i in range(n):
        total += small(i)
    return total


def driver_without_calls(n):
    total = 0
    for i in range(n):
        total += i
    return total


n = scaled(300000)
start = clock()
driver(n)
elapsed = clock() - start
start = clock()
driver_without_calls(n)
report(elapsed, profiled=elapsed - (clock() - start))
