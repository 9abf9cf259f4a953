"""(7) One small function is profiled; most of the time goes to other,
unprofiled functions. The profiled share is timed around each of its calls."""
from _harness import clock, profile, report, scaled


def unprofiled_fib(n):
    return n if n < 2 else unprofiled_fib(n - 1) + unprofiled_fib(n - 2)


def unprofiled_text(n):
    parts = []
    for i in range(n):
        parts.append(str(i).zfill(6))
    return ",".join(parts)


@profile
def checksum(text):
    head = text[:50]
    return sum(map(ord, head))


rounds = scaled(1000)
profiled = 0.0
start = clock()
for _ in range(rounds):
    unprofiled_fib(14)
    text = unprofiled_text(2000)
    before = clock()
    checksum(text)
    profiled += clock() - before
report(clock() - start, profiled=profiled)
