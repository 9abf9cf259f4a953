import functools


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


class Shape:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side

    @classmethod
    def unit(cls):
        return cls(1)

    @staticmethod
    def describe(kind):
        words = ["a", kind]
        return " ".join(words)

    @property
    def double(self):
        return self.side * 2

    @double.setter
    def double(self, value):
        self.side = value / 2

    @logged
    @logged
    def stacked(self, n):
        total = 0
        for i in range(n):
            total += self.side
        return total


def make_adder(k):
    def add(x):
        result = x + k
        return result
    return add


ADD_TWO = make_adder(2)


def using_with(path):
    class Context:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False
    with Context() as context:
        value = context is not None
    return value


PROFILED = [Shape.__init__, Shape.area, Shape.unit, Shape.describe, Shape.double.fget,
            Shape.double.fset, Shape.stacked, make_adder, ADD_TWO, using_with]


def run():
    s = Shape(3)
    s.area()
    Shape.unit().area()
    Shape.describe("square")
    s.double
    s.double = 10
    s.stacked(4)
    make_adder(5)(1)
    ADD_TWO(3)
    using_with(None)
