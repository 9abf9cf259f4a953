"""(3) Recursion."""
from _harness import clock, profile, report, scaled


@profile
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


repeats = scaled(120)
start = clock()
for _ in range(repeats):
    fib(18)
report(clock() - start)
