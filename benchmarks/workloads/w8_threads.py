"""(8) Four threads running profiled code.

Profilers add up the wall time each thread spends in a line, including the
time other threads hold the GIL, so the profiled share is the sum of each
thread's time inside `spin`, not the wall time of the whole."""
import threading

from _harness import clock, profile, report, scaled


@profile
def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


spans = []


def timed_spin(n):
    before = clock()
    spin(n)
    spans.append(clock() - before)


n = scaled(1000000)
threads = [threading.Thread(target=timed_spin, args=(n,)) for _ in range(4)]
start = clock()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
report(clock() - start, profiled=sum(spans))
