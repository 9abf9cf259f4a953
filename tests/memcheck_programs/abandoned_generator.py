"""Generators left half-way: closed, dropped, and one still suspended at exit."""


@profile
def numbers(n):
    for i in range(n):
        yield i


@profile
def consume_part():
    first = numbers(100)
    next(first)
    next(first)
    first.close()
    second = numbers(100)
    next(second)
    del second
    return numbers(100)


kept = consume_part()
next(kept)
