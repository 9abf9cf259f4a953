"""(3) Recursion."""
from _harness import clock, profile, report


@profile
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


start = clock()
fib(27)
report(clock() - start)
