"""Memory counting switched on and off, with tracemalloc started before and
stopped after: the hooks stay chained while tracemalloc's sit in front of
them, and come out once they are in front again."""
import tracemalloc

from lineprof import LineProfiler


def grow(n):
    data = [str(i) for i in range(n)]
    text = ",".join(data)
    del data
    return len(text)


for round_number in range(3):
    profiler = LineProfiler(grow, memory=True)
    if round_number == 1:
        tracemalloc.start()
    profiler.runcall(grow, 2000)
    profiler.memory = False
    if round_number == 1:
        tracemalloc.stop()
    assert profiler.get_stats().memory
