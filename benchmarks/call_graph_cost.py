"""What the call graph (issue 11) costs per call and per line event: two
builds of lineprof side by side, e.g. its parent commit and the commit that
added it.

    # each Python given as NAME=PYTHON, a venv with that build of lineprof:
    python3 benchmarks/call_graph_cost.py callgrind \\
        before=/tmp/vbench-before-3.11/bin/python after=/tmp/vbench-after-3.11/bin/python
    python3 benchmarks/call_graph_cost.py timing --runs 15 \\
        before=/tmp/vbench-before-3.12/bin/python after=/tmp/vbench-after-3.12/bin/python

The workloads (the functions are decorated with one LineProfiler, or are
left plain; no report is read, so the calibration never runs):
  calls      a profiled caller's loop calling a profiled callee whose body is
             one line, n times: the most call and return events per line event
             a program can have, the worst case for the call graph
  loop       workload 1's tight loop (benchmarks/workloads/w1_tight_loop.py):
             line events only, which the call graph should leave alone
  recursion  workload 3's shape: a profiled fib(15), repeated n times

`callgrind` counts instructions with valgrind's callgrind, which do not
depend on the machine's load: each workload at sizes n and 2n, plain and
profiled; the difference between the two sizes, divided by the extra calls
(calls, recursion) or line events (loop), is the cost of one, and profiled
minus plain is what the profiler adds. "lineprof's own" is the part counted
in lineprof's extension module (the tracer and the C wrapper); the rest of the
added instructions are CPython's side of each event. The line events per call
are counted from the report's hits in a run outside valgrind.

`timing` runs the three workloads as separate processes (each the best of 5
runs in the process), interleaved round after round (plain, then each build
in a rotating order), and prints the time each build adds per call or line
event, the last build's added time over the first's, and the ratio of their
profiled times: only such ratios, measured side by side, mean anything on a
shared machine.

`work MODE WORKLOAD N` is the one run the other two start.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ("calls", "loop", "recursion")
FIB_N = 15
# n for the callgrind runs (and 2n); the timing runs use TIMING_SCALE times more.
CALLGRIND_N = {"calls": 50000, "loop": 50000, "recursion": 25}
TIMING_SCALE = 20


# ---- the workloads -------------------------------------------------------

def callee(x):
    return x + 1


def caller(n):
    for i in range(n):
        callee(i)


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def fib_calls(n):
    """How many calls fib(n) makes, itself included: 2 F(n+1) - 1."""
    a, b = 0, 1
    for _ in range(n + 1):
        a, b = b, a + b
    return 2 * a - 1


def recursion(n):
    for _ in range(n):
        fib(FIB_N)


def work(mode, workload, n, repeat):
    """Runs a workload in this process; prints its best time (and, for mode
    `count`, the hits the report shows) as JSON."""
    global callee, fib
    sys.path.insert(0, os.path.join(HERE, "workloads"))
    from w1_tight_loop import tight_loop  # workload 1's loop, undecorated here
    profiler = None
    if mode != "plain":
        from lineprof import LineProfiler
        profiler = LineProfiler()
        # The global names are rebound, so that the inner calls (callee from
        # caller, fib from fib) go through the profiler's wrappers too.
        callee = profiler(callee)
        fib = profiler(fib)
        run = {"calls": profiler(caller), "loop": profiler(tight_loop),
               "recursion": profiler(recursion)}[workload]
    else:
        run = {"calls": caller, "loop": tight_loop, "recursion": recursion}[workload]
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        run(n)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    result = {"elapsed": best, "calls": calls_made(workload, n)}
    if mode == "count":
        stats = profiler.get_stats()
        hits = sum(row[1] for rows in stats.timings.values() for row in rows)
        result["hits"] = hits // repeat
    print(json.dumps(result))


def calls_made(workload, n):
    """The profiled calls a run of size n makes (the loop: none)."""
    if workload == "calls":
        return n
    if workload == "recursion":
        return n * fib_calls(FIB_N)
    return 0


# ---- callgrind -----------------------------------------------------------

def callgrind(python, mode, workload, n, folder):
    """(all instructions, instructions in lineprof's extension) of one run."""
    out = os.path.join(folder, "cg.%s.%s.%d.out" % (mode, workload, n))
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("PYTHONPATH", None)
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                    python, os.path.abspath(__file__), "work", mode, workload, str(n)],
                   check=True, capture_output=True, env=env, cwd=folder)
    total, own = read_callgrind(out)
    os.unlink(out)
    return total, own


def read_callgrind(path):
    """The total Ir, and the self Ir counted in objects of lineprof's extension."""
    names = {}
    current = None
    skip_next = False
    own = 0
    total = None
    with open(path) as stream:
        for line in stream:
            if skip_next:           # the inclusive cost of a call: not self cost
                skip_next = False
                continue
            if line.startswith(("ob=", "cob=")):
                # A compressed name is defined at its first use, by either.
                key, _, value = line.rstrip("\n").partition("=")
                match = re.match(r"\((\d+)\)(?: (.*))?", value)
                if match:
                    if match.group(2):
                        names[match.group(1)] = match.group(2)
                    value = names.get(match.group(1))
                if key == "ob":
                    current = value
            elif line.startswith("calls="):
                skip_next = True
            elif line.startswith(("totals:", "summary:")):
                total = int(line.split()[1])
            elif line[:1].isdigit() or line[:1] in "+-*":
                if current and "lineprof" in current and "_tracer" in current:
                    parts = line.split()
                    if len(parts) >= 2:
                        own += int(parts[1])
    return total, own


def count_line_events(python, workload, n, folder):
    """Line events a run of size n makes: the report's hits."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    output = subprocess.run([python, os.path.abspath(__file__), "work", "count", workload,
                             str(n)], check=True, capture_output=True, text=True,
                            env=env, cwd=folder).stdout
    return json.loads(output.splitlines()[-1])["hits"]


def callgrind_main(builds, workloads):
    folder = tempfile.mkdtemp(prefix="lp-cg-")
    rows = []
    for workload in workloads:
        n = CALLGRIND_N[workload]
        for name, python in builds:
            counts = {}
            for mode in ("plain", "profiled"):
                for size in (n, 2 * n):
                    counts[mode, size] = callgrind(python, mode, workload, size, folder)
            events = (count_line_events(python, workload, 2 * n, folder)
                      - count_line_events(python, workload, n, folder))
            calls = calls_made(workload, 2 * n) - calls_made(workload, n)
            per = calls if workload != "loop" else events
            added = ((counts["profiled", 2 * n][0] - counts["profiled", n][0])
                     - (counts["plain", 2 * n][0] - counts["plain", n][0])) / per
            own = (counts["profiled", 2 * n][1] - counts["profiled", n][1]) / per
            plain = (counts["plain", 2 * n][0] - counts["plain", n][0]) / per
            rows.append({"workload": workload, "build": name, "n": n,
                         "unit": "line event" if workload == "loop" else "call",
                         "line events per unit": events / per, "plain": plain,
                         "added": added, "lineprof's own": own})
            print("%-9s %-8s n=%-6d per %-10s plain %7.1f  added %7.1f  lineprof's own %6.1f"
                  "  (line events per %s: %.2f)" % (
                      workload, name, n, rows[-1]["unit"], plain, added, own,
                      rows[-1]["unit"], events / per), flush=True)
    os.rmdir(folder)
    print()
    print("| workload | instructions per | line events per unit | "
          + " | ".join("%s: added (lineprof's own)" % name for name, _ in builds)
          + " | change |")
    print("|---|---|---|" + "---|" * len(builds) + "---|")
    for workload in workloads:
        mine = [row for row in rows if row["workload"] == workload]
        first, last = mine[0]["added"], mine[-1]["added"]
        print("| %s | %s | %.2f | %s | %+.0f (%+.1f%%) |" % (
            workload, mine[0]["unit"], mine[0]["line events per unit"],
            " | ".join("%.0f (%.0f)" % (row["added"], row["lineprof's own"]) for row in mine),
            last - first, 100 * (last - first) / first))


# ---- timing --------------------------------------------------------------

def timed(python, mode, workload, n):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    output = subprocess.run([python, os.path.abspath(__file__), "work", mode, workload, str(n),
                             "--repeat", "5"], check=True, capture_output=True, text=True,
                            env=env, cwd=tempfile.gettempdir()).stdout
    return json.loads(output.splitlines()[-1])["elapsed"]


def timing_main(builds, workloads, runs, warmup):
    results = {}
    for workload in workloads:
        n = CALLGRIND_N[workload] * TIMING_SCALE
        python = builds[0][1]
        events = count_line_events(python, workload, n, tempfile.gettempdir())
        calls = calls_made(workload, n)
        per = calls if workload != "loop" else events
        added = {name: [] for name, _ in builds}
        ratios = []
        time_ratios = []
        for index in range(warmup + runs):
            plain = timed(python, "plain", workload, n)
            order = builds[index % len(builds):] + builds[:index % len(builds)]
            elapsed = {name: timed(path, "profiled", workload, n) for name, path in order}
            if index < warmup:
                continue
            for name, _ in builds:
                added[name].append((elapsed[name] - plain) / per * 1e9)
            ratios.append((elapsed[builds[-1][0]] - plain) / (elapsed[builds[0][0]] - plain))
            time_ratios.append(elapsed[builds[-1][0]] / elapsed[builds[0][0]])
        results[workload] = (per, added, ratios, time_ratios)
        print("%s: n=%d, %d %ss, %d line events" % (
            workload, n, per, "line event" if workload == "loop" else "call", events), flush=True)

    def cell(values, digits):
        values = sorted(values)
        return "%.*f (%.*f–%.*f)" % (digits, statistics.median(values), digits, values[0],
                                     digits, values[-1])

    print()
    print("| workload | ns added per | " + " | ".join(name for name, _ in builds)
          + " | %s / %s: added time | profiled time |" % (builds[-1][0], builds[0][0]))
    print("|---|---|" + "---|" * len(builds) + "---|---|")
    for workload, (per, added, ratios, time_ratios) in results.items():
        print("| %s | %s | %s | %s | %s |" % (
            workload, "line event" if workload == "loop" else "call",
            " | ".join(cell(added[name], 1) for name, _ in builds), cell(ratios, 2),
            cell(time_ratios, 3)))


def parse_builds(parser, values):
    builds = []
    for value in values:
        name, sep, python = value.partition("=")
        if not sep or not python:
            parser.error("builds are given as NAME=PYTHON, e.g. before=/tmp/v/bin/python")
        builds.append((name, python))
    return builds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("work", help="one run, in this process")
    run.add_argument("mode", choices=("plain", "profiled", "count"))
    run.add_argument("workload", choices=WORKLOADS)
    run.add_argument("n", type=int)
    run.add_argument("--repeat", type=int, default=1)
    for name in ("callgrind", "timing"):
        command = commands.add_parser(name)
        command.add_argument("builds", nargs="+", metavar="NAME=PYTHON")
        command.add_argument("--workloads", default=",".join(WORKLOADS))
        if name == "timing":
            command.add_argument("--runs", type=int, default=7)
            command.add_argument("--warmup", type=int, default=1)
    options = parser.parse_args(argv)
    if options.command == "work":
        work(options.mode, options.workload, options.n, options.repeat)
        return
    builds = parse_builds(parser, options.builds)
    workloads = options.workloads.split(",")
    if options.command == "callgrind":
        callgrind_main(builds, workloads)
    else:
        timing_main(builds, workloads, options.runs, options.warmup)


if __name__ == "__main__":
    main()
