def raiser(n):
    if n > 2:
        raise ValueError(n)
    return n


def middle(n):
    value = raiser(n)
    return value * 2


def catcher(n):
    try:
        middle(n)
    except ValueError as error:
        caught = error.args[0]
        return caught
    else:
        return 0


def propagates(n):
    try:
        return middle(n)
    finally:
        n = 0


PROFILED = [raiser, middle, catcher, propagates]


def run():
    for n in range(5):
        catcher(n)
    try:
        propagates(5)
    except ValueError:
        pass
    propagates(1)
