"""(4) Generators and coroutines with many suspensions. Both are driven from C
(sum, deque) so that the timed part is the profiled code and its suspensions."""
from collections import deque

from _harness import clock, profile, report, scaled


@profile
def numbers(n):
    for i in range(n):
        yield i * 2


class Suspend:
    def __await__(self):
        yield


@profile
async def ticking(n):
    total = 0
    for i in range(n):
        await Suspend()
        total += i
    return total


n = scaled(150000)
start = clock()
sum(numbers(n))
deque(ticking(n).__await__(), maxlen=0)
report(clock() - start)
