"""Exceptions raised through profiled functions, caught and not."""


@profile
def fail(n):
    if n == 0:
        raise ValueError("bottom")
    return fail(n - 1)


@profile
def catch():
    try:
        fail(5)
    except ValueError:
        return "caught"


for _ in range(10):
    catch()
try:
    fail(3)
except ValueError:
    pass
