"""Runs the programs of tests/memcheck_programs under `python -m kernprof -l`
in valgrind memcheck, and fails if valgrind finds, in lineprof's C extension,
an invalid read, write or free, a use of uninitialised memory, or a block
definitely lost. CPython has reports of its own (blocks it does not free at
exit); only those with a frame of lineprof's _tracer in one of their stacks
count.

    python tests/run_memcheck.py      (`python3 -m nox -s memcheck` runs it)

The interpreter running this script is the one checked, with lineprof
installed in it (built with -g, for stacks with file and line).
"""
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

import lineprof._tracer

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS_DIR = os.path.join(HERE, "memcheck_programs")
TRACER_SO = os.path.realpath(lineprof._tracer.__file__)

# (name, folder inside memcheck_programs to run in, kernprof arguments)
PROGRAMS = [
    ("decorated loop", ".", ["-l", "-v", "loop.py"]),
    ("recursion", ".", ["-l", "-v", "recursion.py"]),
    ("generator abandoned half-way", ".", ["-l", "-v", "abandoned_generator.py"]),
    ("threads", ".", ["-l", "-v", "threads.py"]),
    ("exception through profiled functions", ".", ["-l", "-v", "exception.py"]),
    ("LineProfiler enable/disable", ".", ["-l", "enable_disable.py"]),
    ("kernprof -l -p on a module", "target", ["-l", "-v", "-p", "shapes", "main.py"]),
    ("memory per line, threads", ".", ["-l", "-v", "--memory", "threads.py"]),
    ("memory on and off, tracemalloc", ".", ["-l", "memory_toggle.py"]),
]

# Kept apart from the programs' own exit codes, which must be 0.
VALGRIND_ERROR_EXIT = 99
VALGRIND = ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--error-exitcode=%d" % VALGRIND_ERROR_EXIT,
            "--suppressions=" + os.path.join(HERE, "memcheck.supp"), "--xml=yes"]
# Only definite leaks count: at exit CPython holds blocks that only interior
# pointers reach (possibly lost), and an indirect leak comes with a definite one.
COUNTED_LEAK = "Leak_DefinitelyLost"
# With memory per line on, every block CPython allocates passes through
# these (memory.c) on its way to the allocator: a block CPython itself never
# frees (interned strings at exit) is CPython's, not lineprof's, unless
# another lineprof frame made it.
ALLOCATOR_HOOKS = ("hook_malloc", "hook_calloc", "hook_realloc")


def lineprof_errors(xml_path):
    """The errors of a valgrind XML report that involve lineprof's extension:
    [(kind, description, [stack text, ...]), ...]."""
    found = []
    for error in ElementTree.parse(xml_path).getroot().iter("error"):
        kind = error.findtext("kind")
        if kind.startswith("Leak_") and kind != COUNTED_LEAK:
            continue
        stacks = error.findall("stack")
        if not any(os.path.realpath(frame.findtext("obj") or "") == TRACER_SO
                   and not (kind.startswith("Leak_") and frame.findtext("fn") in ALLOCATOR_HOOKS)
                   for stack in stacks for frame in stack.iter("frame")):
            continue
        description = error.findtext("what") or error.findtext("xwhat/text")
        found.append((kind, description, [stack_text(stack) for stack in stacks]))
    return found


def stack_text(stack):
    lines = []
    for frame in stack.iter("frame"):
        where = frame.findtext("file")
        where = "%s:%s" % (where, frame.findtext("line")) if where else frame.findtext("obj")
        lines.append("    %s (%s)" % (frame.findtext("fn") or "???", where))
    return "\n".join(lines)


def run_one(program):
    """Runs one program under valgrind; returns a list of failure texts."""
    name, folder, args = program
    with tempfile.TemporaryDirectory(prefix="memcheck-") as work:
        shutil.copytree(PROGRAMS_DIR, os.path.join(work, "programs"))
        cwd = os.path.join(work, "programs", folder)
        xml_path = os.path.join(work, "valgrind.xml")
        env = dict(os.environ, PYTHONMALLOC="malloc")   # pymalloc's pools would hide errors
        command = VALGRIND + ["--xml-file=" + xml_path, sys.executable, "-m", "kernprof"] + args
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=600)
        if done.returncode not in (0, VALGRIND_ERROR_EXIT):
            return ["%s: exited with %d\n%s%s" % (name, done.returncode, done.stdout, done.stderr)]
        failures = []
        for kind, description, stacks in lineprof_errors(xml_path):
            failures.append("%s: %s: %s\n%s" % (name, kind, description, "\n  --\n".join(stacks)))
        return failures


def main():
    print("memcheck of %s" % TRACER_SO)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        results = list(pool.map(run_one, PROGRAMS))
    failed = False
    for (name, _, _), failures in zip(PROGRAMS, results):
        print("%-40s %s" % (name, "FAILED" if failures else "clean"))
        for failure in failures:
            print(failure)
        failed = failed or bool(failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
