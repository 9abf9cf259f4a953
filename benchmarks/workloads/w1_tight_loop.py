"""(1) A tight loop of short one-line statements."""
from _harness import clock, profile, report


@profile
def tight_loop(n):
    a = 0
    for i in range(n):
        a = a + 1
        b = a * 2
        c = b - i
    return c


start = clock()
tight_loop(1000000)
report(clock() - start)
