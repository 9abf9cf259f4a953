"""What a child process pays for being profiled as part of a kernprof job:

    python benchmarks/child_startup.py [--rounds 40]

Starts the same child Python, as subprocess.run would, with and without the
environment of a lineprof job (lineprof.job.Job: its sitecustomize on
PYTHONPATH), interleaved, and reports the median wall time of each and the
difference: the cost of start-up (importing lineprof, setting up the
profiler, the start mark) and of the exit (writing the part). Two children:
`pass`, and a script that decorates one function with @profile and calls it
once. The target is under 30 ms per process.

Run it with a Python that has lineprof installed (benchmarks/run.py makes
such environments under .bench/)."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from lineprof import LineProfiler
from lineprof.job import PART_SUFFIX, Job

SCRIPT = """\
@profile
def work(n):
    total = 0
    for i in range(n):
        total += i
    return total

work(1000)
"""


def wall_time(argv, env):
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "child.py")
        with open(script, "w") as stream:
            stream.write(SCRIPT)
        plain_env = dict(os.environ)
        job = Job(LineProfiler(), "child")
        job.start()
        job_env = dict(os.environ)
        job.close()
        # Without the job, the script needs a 'profile' that does nothing.
        plain_script = [sys.executable, "-c",
                        "import builtins; builtins.profile = lambda f: f\n" + SCRIPT]
        children = {"python -c pass": ([sys.executable, "-c", "pass"],) * 2,
                    "@profile, one call": (plain_script, [sys.executable, script])}
        print("Python %s, %d rounds, interleaved" % (sys.version.split()[0], rounds))
        print("%-20s %10s %10s %10s" % ("child", "plain ms", "job ms", "cost ms"))
        for name, (plain_argv, job_argv) in children.items():
            plain, profiled = [], []
            for _ in range(rounds):
                plain.append(wall_time(plain_argv, plain_env))
                profiled.append(wall_time(job_argv, job_env))
            plain_ms = statistics.median(plain) * 1e3
            job_ms = statistics.median(profiled) * 1e3
            print("%-20s %10.1f %10.1f %10.1f" % (name, plain_ms, job_ms, job_ms - plain_ms))
        parts = len([name for name in os.listdir(job.parts) if name.endswith(PART_SUFFIX)])
        job.discard()
        print("(%d parts written by the job's children)" % parts)


if __name__ == "__main__":
    main()
