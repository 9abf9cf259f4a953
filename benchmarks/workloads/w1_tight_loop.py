"""(1) A tight loop of short one-line statements: the cost of a line event."""
from _harness import clock, profile, report, scaled


@profile
def tight_loop(n):
    a = 0
    for i in range(n):
        a = a + 1
        b = a * 2
        c = b - i
    return c


if __name__ == "__main__":      # benchmarks/floor.py imports the loop
    n = scaled(3000000)
    start = clock()
    tight_loop(n)
    report(clock() - start)
