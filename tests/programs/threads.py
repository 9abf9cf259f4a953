import threading


def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


def run_threads(count, n):
    threads = [threading.Thread(target=spin, args=(n,)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


PROFILED = [spin, run_threads]


def run():
    run_threads(4, 500)
