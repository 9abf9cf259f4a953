"""A module profiled with kernprof -p, without decorators."""


class Square:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side


def total_area(sides):
    return sum(Square(side).area() for side in sides)
