"""Direct and mutual recursion, deep enough to grow the tracer's frame stack."""


@profile
def depth(n):
    if n == 0:
        return 0
    return 1 + depth(n - 1)


@profile
def is_even(n):
    return True if n == 0 else is_odd(n - 1)


@profile
def is_odd(n):
    return False if n == 0 else is_even(n - 1)


depth(300)
is_even(201)
