"""A job of many processes, each writing its own profile into a shared folder,
merged at the end: how to profile work that a launcher you do not control
(Dask, Ray, Celery, gunicorn, mpirun) spreads over processes and machines.

    LINEPROF=1 LINEPROF_DIR=profiles python examples/many_processes.py
    python -m lineprof merge profiles -o job.lprof
    python -m lineprof show job.lprof

Here the launcher is concurrent.futures: 4 worker processes (started with
spawn, as on macOS and Windows, so that nothing is shared with the parent
but the environment). Every process that uses lineprof.profile writes
profiles/many_processes.<host>.<pid>.<start>.lprof when it ends. Without
LINEPROF=1 the program runs unprofiled and writes nothing.

`kernprof -l -v examples/many_processes.py` profiles the same job, children
included, into one file, with no variables to set.
"""
import concurrent.futures
import multiprocessing

from lineprof import profile

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()


def make_text(seed, length=20000):
    """A deterministic text of `length` words."""
    return " ".join(WORDS[(seed * 7 + i * i) % len(WORDS)] for i in range(length))


@profile
def count_words(seed):
    counts = {}
    for word in make_text(seed).split():
        if word in counts:
            counts[word] += 1
        else:
            counts[word] = 1
    return counts


def main():
    spawn = multiprocessing.get_context("spawn")
    total = {}
    with concurrent.futures.ProcessPoolExecutor(4, mp_context=spawn) as executor:
        for counts in executor.map(count_words, range(16)):
            for word, count in counts.items():
                total[word] = total.get(word, 0) + count
    print("%d words, %d distinct" % (sum(total.values()), len(total)))


if __name__ == "__main__":
    main()
