"""What `lineprof.profile` costs a call it does not profile (issue 13).

    python3 benchmarks/unsampled_call.py [--rounds 7] PYTHON [PYTHON...]

Each PYTHON is a venv's python with lineprof installed. For each, one child
process times, side by side and interleaved round after round, the same
one-line function called 10**6 times:
  plain       undecorated
  off         @profile with LINEPROF unset (the function itself: the
              decorator returns it untouched)
  unsampled   @profile with LINEPROF=1 LINEPROF_SAMPLE=1e-12: the sampling
              wrapper, which draws no call (the unsampled path: a thread-local
              read, a counter, a try/finally)
  nested      an unsampled decorated call that calls a decorated callee:
              the callee's cost inside an unsampled call (its own wrapper
              seeing it is nested), the per-call figure for the callee alone
The figure is the best round's time per call minus plain's, in ns (the
machine may be shared: best of rounds, all in one process).
"""
import argparse
import os
import subprocess
import sys

CHILD = r'''
import os, sys, time
CALLS = 10 ** 6
ROUNDS = int(sys.argv[1])

def plain(x):
    return x

def plain_outer(x):
    return plain(x)

os.environ.pop("LINEPROF", None)
from lineprof.explicit import GlobalProfiler
off_profile = GlobalProfiler()
off = off_profile(lambda x: x)
os.environ.update(LINEPROF="1", LINEPROF_SAMPLE="1e-12", LINEPROF_DIR=os.environ["OUT_DIR"])
on_profile = GlobalProfiler()

@on_profile
def unsampled(x):
    return x

@on_profile
def callee(x):
    return x

@on_profile
def outer(x):
    return callee(x)

assert off.__name__ == "<lambda>" and not hasattr(off, "__wrapped__")
assert hasattr(unsampled, "__wrapped__")

def best(func, arg=1):
    rng = range(CALLS)
    start = time.perf_counter_ns()
    for _ in rng:
        func(arg)
    return time.perf_counter_ns() - start

results = {name: [] for name in ("plain", "off", "unsampled", "plain_outer", "outer")}
for _ in range(ROUNDS):
    results["plain"].append(best(plain))
    results["off"].append(best(off))
    results["unsampled"].append(best(unsampled))
    results["plain_outer"].append(best(plain_outer))
    results["outer"].append(best(outer))
per = {name: min(times) / CALLS for name, times in results.items()}
print("%-10s plain %.1f ns/call | off +%.1f | unsampled +%.1f | nested callee +%.1f ns"
      % (sys.version.split()[0], per["plain"], per["off"] - per["plain"],
         per["unsampled"] - per["plain"],
         (per["outer"] - per["plain_outer"]) - (per["unsampled"] - per["plain"])))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("pythons", nargs="+")
    options = parser.parse_args()
    import tempfile
    for python in options.pythons:
        with tempfile.TemporaryDirectory() as folder:
            env = dict(os.environ, OUT_DIR=folder)
            for name in ("LINEPROF", "LINEPROF_SAMPLE", "LINEPROF_LIMIT", "LINEPROF_PER_CALL"):
                env.pop(name, None)
            subprocess.run([python, "-c", CHILD, str(options.rounds)], env=env, check=True,
                           cwd=folder)     # not a source folder: the installed lineprof
    return 0


if __name__ == "__main__":
    sys.exit(main())
