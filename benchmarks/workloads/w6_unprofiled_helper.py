"""(6) A small profiled function that calls a large unprofiled Python helper.
The helper's own time is measured around each call."""
from _harness import clock, profile, report


def helper(n):
    total = 0
    for i in range(n):
        if i % 3:
            total += i
        else:
            total -= 1
    return total


HELPER_TIME = [0.0]


@profile
def caller(n):
    before = clock()
    result = helper(n)
    HELPER_TIME[0] += clock() - before
    return result


start = clock()
for _ in range(60):
    caller(20000)
report(clock() - start, helper=HELPER_TIME[0])
