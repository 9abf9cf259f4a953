"""(6) A small profiled function that calls a large unprofiled Python helper.
The helper's own time is measured around each call."""
from _harness import clock, profile, report, scaled


def helper(n):
    total = 0
    for i in range(n):
        if i % 3:
            total += i
        else:
            total -= 1
    return total


helper_time = 0.0


@profile
def caller(n):
    global helper_time
    before = clock()
    result = helper(n)
    helper_time += clock() - before
    return result


calls = scaled(200)
start = clock()
for _ in range(calls):
    caller(20000)
report(clock() - start, helper=helper_time)
