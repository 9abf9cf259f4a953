"""Profiled work on threads, more threads than run at once, so that the
stacks of ended threads are reused."""
import threading


@profile
def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


for _ in range(3):
    workers = [threading.Thread(target=spin, args=(3000,)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
