"""(2) Many calls of a small profiled function from an unprofiled loop."""
from _harness import clock, profile, report


@profile
def small(x):
    y = x + 1
    return y * 2


def driver(n):
    total = 0
    for i in range(n):
        total += small(i)
    return total


start = clock()
driver(600000)
report(clock() - start)
