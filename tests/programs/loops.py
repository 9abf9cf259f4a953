def loops(n):
    total = 0
    for i in range(n):
        if i % 3 == 0:
            continue
        total += i
    else:
        total += 1
    k = 0
    while k < n:
        k += 2
    else:
        k -= 1
    for j in range(3): total += j
    while k > 0: k -= 1
    return (total +
            k +
            sum([1,
                 2]))


def early_return(n):
    for i in range(n):
        if i == 3:
            return i
    return -1


def try_finally(n):
    try:
        x = n * 2
        if x > 4:
            return x
    finally:
        n += 1
    return n


PROFILED = [loops, early_return, try_finally]


def run():
    loops(20)
    early_return(10)
    early_return(2)
    try_finally(1)
    try_finally(5)
