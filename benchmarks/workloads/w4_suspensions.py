"""(4) Generators and coroutines with many suspensions."""
from _harness import clock, profile, report


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


def drive(coroutine):
    try:
        while True:
            coroutine.send(None)
    except StopIteration as stop:
        return stop.value


start = clock()
total = sum(numbers(250000))
drive(ticking(250000))
report(clock() - start)
