"""(8) Four threads running profiled code."""
import threading

from _harness import clock, profile, report


@profile
def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


threads = [threading.Thread(target=spin, args=(400000,)) for _ in range(4)]
start = clock()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
report(clock() - start)
