"""LineProfilers made, switched on and off (also while another one runs,
and by count), read and dropped: their memory is freed before exit."""
import gc

from lineprof import LineProfiler


def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


for _ in range(3):
    outer = LineProfiler(work)
    inner = LineProfiler(work)
    outer.enable()
    work(500)
    inner.enable_by_count()
    work(500)
    inner.disable_by_count()
    outer.disable()
    work(500)
    outer.enable()
    del inner           # dropped while the other one profiles the same code
    gc.collect()
    work(500)
    outer.disable()
    outer.get_stats()
    forgotten = LineProfiler(work)
    forgotten.enable_by_count()     # dropped before disable_by_count()
    work(100)
    del forgotten, outer
    gc.collect()
