"""A decorated loop with a nested call."""


def square(x):
    return x * x


@profile
def sum_of_squares(n):
    total = 0
    for i in range(n):
        total += square(i)
    return total


for _ in range(3):
    sum_of_squares(2000)
