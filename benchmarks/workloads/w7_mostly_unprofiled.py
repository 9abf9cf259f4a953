"""(7) One small function is profiled; most of the time goes to other,
unprofiled functions."""
from _harness import clock, profile, report


def unprofiled_fib(n):
    return n if n < 2 else unprofiled_fib(n - 1) + unprofiled_fib(n - 2)


def unprofiled_text(n):
    parts = []
    for i in range(n):
        parts.append(str(i).zfill(6))
    return ",".join(parts)


@profile
def checksum(text):
    return sum(map(ord, text[:50]))


start = clock()
for _ in range(300):
    unprofiled_fib(14)
    checksum(unprofiled_text(2000))
report(clock() - start)
