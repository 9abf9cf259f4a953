def counter(n):
    for i in range(n):
        received = yield i
        if received:
            n += received


def delegating(n):
    yield 0
    result = yield from counter(n)
    yield result


def closing():
    try:
        while True:
            yield 1
    finally:
        cleaned = True
        del cleaned


def throwing():
    while True:
        try:
            yield 1
        except ValueError:
            yield 2


PROFILED = [counter, delegating, closing, throwing]


def run():
    list(counter(5))
    g = counter(3)
    next(g)
    g.send(2)
    for _ in g:
        pass
    list(delegating(3))
    c = closing()
    next(c)
    next(c)
    c.close()
    t = throwing()
    next(t)
    t.throw(ValueError)
    next(t)
    t.close()
