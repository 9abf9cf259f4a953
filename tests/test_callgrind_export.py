"""The callgrind export, read back by valgrind's callgrind_annotate."""
import os
import re
import shutil
import subprocess

import pytest

import lineprof
from lineprof.callgrind_export import write_callgrind

PROGRAM = '''\
def work(n):
    total = 0
    for i in range(n):
        total += helper(i)
    return total


@profile
def helper(i):
    if i % 3 == 0:
        return i * 2
    return i


work = profile(work)
work(30)


@profile
def leaf(n):
    return sum(range(n))


leaf(1000)
'''

RECURSIVE_PROGRAM = '''\
@profile
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@profile
def is_even(n):
    return True if n == 0 else is_odd(n - 1)


@profile
def is_odd(n):
    return False if n == 0 else is_even(n - 1)


@profile
def main():
    fib(12)
    is_even(21)


main()
'''

# One line of callgrind_annotate's annotated source: two counts ("." when the
# line has no cost), then the source text after two spaces.
ANNOTATED_LINE = re.compile(r"^\s*([\d,]+|\.)\s+([\d,]+|\.)  (.*)$")
# A call from the source line above it: the calls' cost, then the callee
# (file:function) and the number of calls.
ANNOTATED_CALL = re.compile(r"^\s*([\d,]+|\.)\s+([\d,]+|\.)  => (.+) \(([\d,]+)x\)$")
# A line of the --tree output: a caller (<), the function itself (*) or a
# callee (>), the call count for callers and callees.
TREE_LINE = re.compile(r"^\s*([\d,]+|\.)\s+([\d,]+|\.)  (<|\*|>)\s+(.+?)"
                       r"(?: \(([\d,]+)x\))?(?: \[\])?$")


@pytest.fixture
def callgrind_annotate():
    path = shutil.which("callgrind_annotate")
    if path is None:
        message = "callgrind_annotate (valgrind) is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    def run(callgrind_file, *options):
        # Run from the root: callgrind_annotate shortens file names below its
        # working directory (those of fl= lines, not those of cfl= lines), and
        # the test wants the absolute names back.
        result = subprocess.run(
            [path, "--auto=yes", "--show-percs=no", "--threshold=100", "--context=100000"]
            + list(options) + [str(callgrind_file)],
            cwd=os.path.abspath(os.sep), capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "WARNING" not in result.stderr, result.stderr
        return result.stdout
    return run


def number(text):
    return 0 if text == "." else int(text.replace(",", ""))


def annotated_source(output, filename):
    """{line number: (time, hits)} of the costed lines of one annotated file,
    {line number: [(time, hits, callee, calls)]} of the calls printed under
    them, and the source text as callgrind_annotate printed it."""
    lines = output.splitlines()
    start = lines.index("-- Auto-annotated source: %s" % filename)
    # A rule, the event names and a blank line come before the source.
    assert lines[start + 2].split() == ["Time_ns", "Hits"]
    costs, calls, source = {}, {}, []
    for text in lines[start + 4:]:
        if not text:
            break
        call = ANNOTATED_CALL.match(text)
        if call:
            time, hits, callee, count = call.groups()
            calls.setdefault(len(source), []).append(
                (number(time), number(hits), callee, number(count)))
            continue
        match = ANNOTATED_LINE.match(text)
        assert match, text
        time, hits, code = match.groups()
        source.append(code)
        assert (time == ".") == (hits == "."), text
        if time != ".":
            costs[len(source)] = (number(time), number(hits))
    return costs, calls, source


def function_totals(output, filename):
    """{function name: (time, hits)} from the table of function totals."""
    totals = {}
    for text in output.splitlines():
        match = re.match(r"^\s*([\d,]+)\s+([\d,]+)  %s:(.+)$" % re.escape(filename), text)
        if match:
            time, hits, name = match.groups()
            totals[name] = (number(time), number(hits))
    return totals


def call_tree(output):
    """{function: {"cost": (time, hits), "<": {caller: (time, hits, calls)},
    ">": {callee: (time, hits, calls)}}} from --tree output."""
    blocks, block = {}, None
    for text in output.splitlines():
        match = TREE_LINE.match(text)
        if not match:
            block = None if not text.strip() else block
            continue
        time, hits, kind, name, count = match.groups()
        if block is None:
            block = {"<": {}, ">": {}}
        if kind == "*":
            assert count is None, text
            block["cost"] = (number(time), number(hits))
            blocks[name] = block
        else:
            block[kind][name] = (number(time), number(hits), number(count))
    return blocks


def program_totals(output):
    match = re.search(r"^\s*([\d,]+)\s+([\d,]+)  PROGRAM TOTALS$", output, re.MULTILINE)
    return tuple(number(text) for text in match.groups())


def self_times(stats, key):
    """{line: time less that of the calls made from it} of one function."""
    return {lineno: max(0, time - sum(call_time for (line, _), (_, call_time)
                                      in stats.callees(key).items() if line == lineno))
            for lineno, _, time in stats.timings[key]}


def check_totals_are_the_profiled_time(stats, output):
    """The program totals are the self costs' sum: the profiled time, each
    nested call counted once, and every line execution once."""
    time, hits = program_totals(output)
    assert time == sum(sum(self_times(stats, key).values()) for key in stats.timings)
    assert abs(time - stats.profiled_time() * 1e9) <= 1
    assert hits == sum(hits for lines in stats.timings.values() for _, hits, _ in lines)


@pytest.fixture
def program_profile(tmp_path, kernprof):
    """PROGRAM profiled by kernprof -l: (its path, its LineStats, its
    callgrind file). Without compensation: the tests check what the export
    makes of the times, and a calibration that overshoots (as under a
    sanitizer) can take a short callee's time to zero."""
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    result = kernprof("-l", "--no-compensation", "prog.py")
    assert result.returncode == 0, result.stderr
    stats = lineprof.load_stats(str(tmp_path / "prog.py.lprof"))
    assert stats.unit == 1e-9
    out = tmp_path / "callgrind.out.prog"
    write_callgrind(stats, str(out))
    return program, stats, out


def test_annotated_source_shows_each_lines_self_time_hits_and_calls(program_profile,
                                                                    callgrind_annotate):
    program, stats, out = program_profile
    work_key, helper_key, leaf_key = [(str(program), first, name) for first, name
                                      in ((1, "work"), (8, "helper"), (19, "leaf"))]
    work, helper, leaf = (stats.timings[key] for key in (work_key, helper_key, leaf_key))
    assert [(lineno, hits) for lineno, hits, _ in work] == [(2, 1), (3, 31), (4, 30), (5, 1)]
    assert [(lineno, hits) for lineno, hits, _ in helper] == [(10, 30), (11, 10), (12, 20)]
    assert [(lineno, hits) for lineno, hits, _ in leaf] == [(21, 1)]
    assert list(stats.edges) == [(work_key, 4, helper_key)]
    helper_calls, helper_calls_time = stats.edges[work_key, 4, helper_key]
    assert helper_calls == 30

    output = callgrind_annotate(out)

    costs, calls, source = annotated_source(output, str(program))
    assert source == PROGRAM.splitlines()
    work_self = self_times(stats, work_key)
    assert work_self[4] == next(time for lineno, _, time in work if lineno == 4) - helper_calls_time
    expected = {lineno: (work_self[lineno], hits) for lineno, hits, _ in work}
    expected.update((lineno, (time, hits)) for lineno, hits, time in helper + leaf)
    assert costs == expected
    # The call is printed under its line, with its inclusive time and no hits.
    assert calls == {4: [(helper_calls_time, 0, "%s:helper" % program, 30)]}
    # Functions' self costs: the work's own time, all of helper's and leaf's.
    assert function_totals(output, str(program)) == {
        "work": (int(round(stats.own_time(work_key) * 1e9)), 63),
        "helper": (sum(time for _, _, time in helper), 60),
        "leaf": (sum(time for _, _, time in leaf), 1),
    }
    check_totals_are_the_profiled_time(stats, output)
    assert program_totals(output)[1] == 124

    text = out.read_text()
    assert text.startswith("# callgrind format\nversion: 1\ncreator: lineprof %s\n"
                           % lineprof.__version__)
    assert "\ncmd: prog.py\n" in text
    assert "\nevent: Time_ns : Time (ns)\n" in text
    assert ("\n4 %d 30\ncfl=%s\ncfn=helper\ncalls=30 8\n4 %d 0\n5 "
            % (work_self[4], program, helper_calls_time)) in text


def test_inclusive_cost_adds_the_calls_of_a_caller_and_not_of_a_leaf(program_profile,
                                                                     callgrind_annotate):
    program, stats, out = program_profile
    work_key, helper_key, leaf_key = [(str(program), first, name) for first, name
                                      in ((1, "work"), (8, "helper"), (19, "leaf"))]
    (_, helper_calls_time), = stats.callers(helper_key).values()

    self_cost = function_totals(callgrind_annotate(out), str(program))
    inclusive = function_totals(callgrind_annotate(out, "--inclusive=yes"), str(program))

    # The caller: self is its own time, inclusive its whole time (its own
    # plus its call's), hits its own either way.
    assert self_cost["work"] == (int(round(stats.own_time(work_key) * 1e9)), 63)
    assert inclusive["work"] == (sum(time for _, _, time in stats.timings[work_key]), 63)
    assert inclusive["work"][0] == self_cost["work"][0] + helper_calls_time
    assert inclusive["work"] != self_cost["work"]
    # A leaf nothing profiled calls: the same.
    assert inclusive["leaf"] == self_cost["leaf"] == (
        sum(time for _, _, time in stats.timings[leaf_key]), 1)
    # A called leaf: callgrind_annotate takes its inclusive cost from the calls
    # into it, as its callers saw them (the calls' own cost included), with
    # no hits (call costs carry none).
    assert self_cost["helper"] == (sum(time for _, _, time in stats.timings[helper_key]), 60)
    assert inclusive["helper"] == (helper_calls_time, 0)
    # The program total is the same: calls are not added to it.
    assert (program_totals(callgrind_annotate(out, "--inclusive=yes"))
            == program_totals(callgrind_annotate(out)))


def test_call_tree_of_the_primes_example(tmp_path, kernprof, callgrind_annotate):
    here = os.path.dirname(os.path.abspath(__file__))
    shutil.copy(os.path.join(os.path.dirname(here), "examples", "primes.py"), str(tmp_path))
    result = kernprof("-l", "primes.py")
    assert result.returncode == 0, result.stderr
    stats = lineprof.load_stats(str(tmp_path / "primes.py.lprof"))
    program = str(tmp_path / "primes.py")
    is_prime, primes_below = (program, 4, "is_prime"), (program, 14, "primes_below")
    assert set(stats.edges) == {(primes_below, 18, is_prime)}
    calls, calls_time = stats.edges[primes_below, 18, is_prime]
    assert calls == stats.calls[is_prime] == 60000
    out = tmp_path / "callgrind.out.primes"
    write_callgrind(stats, str(out))

    callers = call_tree(callgrind_annotate(out, "--tree=caller"))
    assert callers[program + ":is_prime"] == {
        "<": {program + ":primes_below": (calls_time, 0, 60000)}, ">": {},
        "cost": (int(round(stats.total_time(is_prime) * 1e9)),
                 sum(hits for _, hits, _ in stats.timings[is_prime]))}
    assert callers[program + ":primes_below"]["<"] == {}

    output = callgrind_annotate(out, "--tree=calling")
    calling = call_tree(output)
    assert calling[program + ":primes_below"]["<"] == {}
    assert calling[program + ":primes_below"][">"] == {
        program + ":is_prime": (calls_time, 0, 60000)}
    assert calling[program + ":primes_below"]["cost"][0] == int(round(
        stats.own_time(primes_below) * 1e9))
    assert calling[program + ":is_prime"][">"] == {}
    _, annotated_calls, source = annotated_source(output, program)
    assert source[17].strip() == "if is_prime(n):"
    assert annotated_calls == {18: [(calls_time, 0, program + ":is_prime", 60000)]}
    check_totals_are_the_profiled_time(stats, output)


def test_recursive_calls(tmp_path, kernprof, callgrind_annotate):
    program = tmp_path / "recursive.py"
    program.write_text(RECURSIVE_PROGRAM)
    result = kernprof("-l", "recursive.py")
    assert result.returncode == 0, result.stderr
    stats = lineprof.load_stats(str(tmp_path / "recursive.py.lprof"))
    fib, is_even, is_odd, main = [(str(program), first, name) for first, name in
                                  ((1, "fib"), (6, "is_even"), (11, "is_odd"), (16, "main"))]
    fib_calls, _ = stats.edges[fib, 3, fib]
    assert fib_calls == stats.calls[fib] - 1
    out = tmp_path / "callgrind.out.recursive"
    write_callgrind(stats, str(out))

    for options in ([], ["--inclusive=yes"], ["--tree=both"], ["--tree=both", "--inclusive=yes"]):
        output = callgrind_annotate(out, *options)
        check_totals_are_the_profiled_time(stats, output)
    tree = call_tree(output)
    name = "%s:%%s" % program
    assert tree[name % "fib"]["<"][name % "main"][2] == 1
    assert tree[name % "fib"]["<"][name % "fib"][2] == fib_calls
    assert tree[name % "fib"][">"] == {name % "fib": tree[name % "fib"]["<"][name % "fib"]}
    assert tree[name % "is_even"][">"][name % "is_odd"][2] == stats.edges[is_even, 8, is_odd][0]
    assert tree[name % "is_odd"][">"][name % "is_even"][2] == stats.edges[is_odd, 13, is_even][0]
    assert set(tree[name % "main"][">"]) == {name % "fib", name % "is_even"}
    _, calls, _ = annotated_source(output, str(program))
    assert calls[3] == [(stats.edges[fib, 3, fib][1], 0, name % "fib", fib_calls)]


def test_other_units_become_nanoseconds_and_same_names_stay_apart(tmp_path,
                                                                  callgrind_annotate):
    source = tmp_path / "lambdas.py"
    source.write_text("double = lambda x: x * 2\ntriple = lambda x: x * 3\n\n"
                      "def unused():\n    pass\n")
    filename = str(source)
    # As line_profiler writes it: microseconds, no call graph.
    stats = lineprof.LineStats({
        (filename, 1, "<lambda>"): [(1, 4, 7)],
        (filename, 2, "<lambda>"): [(2, 5, 1500)],
        (filename, 4, "unused"): [],
    }, 1e-6, metadata={"argv": ["run it.py", "-x"]})
    out = tmp_path / "callgrind.out"
    write_callgrind(stats, str(out))
    output = callgrind_annotate(out)

    costs, calls, _ = annotated_source(output, filename)
    assert costs == {1: (7000, 4), 2: (1500000, 5)}
    assert calls == {}
    assert function_totals(output, filename) == {"<lambda>:1": (7000, 4), "<lambda>:2": (1500000, 5)}
    assert program_totals(output) == (1507000, 9)
    text = out.read_text()
    assert "fn=unused" not in text
    assert "calls=" not in text
    # Without a call graph a line's time includes its callees': the file says so.
    assert "\nevent: Time_ns : Time (ns, including callees)\n" in text
    assert "\ncmd: 'run it.py' -x\n" in text
    assert "\nsummary: 1507000 9\n" in text and text.endswith("\ntotals: 1507000 9\n")


def test_calls_between_same_named_functions_in_another_unit(tmp_path, callgrind_annotate):
    source = tmp_path / "lambdas.py"
    source.write_text("double = lambda x: x * 2\ntwice = lambda x: double(double(x))\n"
                      "never = lambda: None\n")
    filename = str(source)
    double, twice, never = (filename, 1, "<lambda>"), (filename, 2, "<lambda>"), \
        (filename, 3, "<lambda>")
    # Microseconds; the second call's time a bit above the line's, as the
    # tracer's rounding can leave it: the line's self time is then 0. A
    # callee without lines still gets its disambiguated name.
    stats = lineprof.LineStats({double: [(1, 6, 9)], twice: [(2, 3, 30)], never: []}, 1e-6,
                               edges={(twice, 2, double): (6, 31), (twice, 2, never): (1, 0)})
    out = tmp_path / "callgrind.out"
    write_callgrind(stats, str(out))
    text = out.read_text()
    assert "\nevent: Time_ns : Time (ns)\n" in text
    assert ("\nfn=<lambda>:2\n2 0 3\ncfl=%s\ncfn=<lambda>:1\ncalls=6 1\n2 31000 0\n"
            "cfl=%s\ncfn=<lambda>:3\ncalls=1 3\n2 0 0\n" % (filename, filename)) in text
    assert text.endswith("\ntotals: 9000 9\n")

    output = callgrind_annotate(out, "--tree=calling")
    costs, calls, _ = annotated_source(output, filename)
    assert costs == {1: (9000, 6), 2: (0, 3)}
    assert calls[2][0] == (31000, 0, filename + ":<lambda>:1", 6)
    assert call_tree(output)[filename + ":<lambda>:2"][">"][filename + ":<lambda>:1"] == (
        31000, 0, 6)
    assert program_totals(output) == (9000, 9)
