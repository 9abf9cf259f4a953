def comprehensions(n):
    squares = [i * i for i in range(n)]
    evens = {i for i in range(n) if i % 2 == 0}
    table = {i: str(i) for i in range(n)}
    total = sum(i for i in range(n))
    nested = [[j for j in range(i)] for i in range(4)]
    lam = (lambda x: x + 1)(3)
    return len(squares) + len(evens) + len(table) + total + len(nested) + lam


PROFILED = [comprehensions]


def run():
    comprehensions(10)
    comprehensions(0)
