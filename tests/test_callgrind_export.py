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
'''

# One line of callgrind_annotate's annotated source: two counts ("." when the
# line has no cost), then the source text after two spaces.
ANNOTATED_LINE = re.compile(r"^\s*([\d,]+|\.)\s+([\d,]+|\.)  (.*)$")


@pytest.fixture
def callgrind_annotate():
    path = shutil.which("callgrind_annotate")
    if path is None:
        message = "callgrind_annotate (valgrind) is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    def run(callgrind_file):
        # Run from the root: callgrind_annotate shortens file names below its
        # working directory, and the test wants the absolute names back.
        result = subprocess.run(
            [path, "--auto=yes", "--show-percs=no", "--threshold=100", "--context=100000",
             str(callgrind_file)],
            cwd=os.path.abspath(os.sep), capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout
    return run


def annotated_source(output, filename):
    """{line number: (time, hits)} of the costed lines of one annotated file,
    and the source text as callgrind_annotate printed it."""
    lines = output.splitlines()
    start = lines.index("-- Auto-annotated source: %s" % filename)
    # A rule, the event names and a blank line come before the source.
    assert lines[start + 2].split() == ["Time_ns", "Hits"]
    costs, source = {}, []
    for lineno, text in enumerate(lines[start + 4:], start=1):
        if not text:
            break
        match = ANNOTATED_LINE.match(text)
        assert match, text
        time, hits, code = match.groups()
        source.append(code)
        assert (time == ".") == (hits == "."), text
        if time != ".":
            costs[lineno] = (int(time.replace(",", "")), int(hits.replace(",", "")))
    return costs, source


def function_totals(output, filename):
    """{function name: (time, hits)} from the table of function totals."""
    totals = {}
    for text in output.splitlines():
        match = re.match(r"^\s*([\d,]+)\s+([\d,]+)  %s:(.+)$" % re.escape(filename), text)
        if match:
            time, hits, name = match.groups()
            totals[name] = (int(time.replace(",", "")), int(hits.replace(",", "")))
    return totals


def program_totals(output):
    match = re.search(r"^\s*([\d,]+)\s+([\d,]+)  PROGRAM TOTALS$", output, re.MULTILINE)
    return tuple(int(number.replace(",", "")) for number in match.groups())


def test_annotated_source_shows_each_lines_time_and_hits(tmp_path, kernprof,
                                                         callgrind_annotate):
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    result = kernprof("-l", "prog.py")
    assert result.returncode == 0, result.stderr
    stats = lineprof.load_stats(str(tmp_path / "prog.py.lprof"))
    assert stats.unit == 1e-9
    work = stats.timings[(str(program), 1, "work")]
    helper = stats.timings[(str(program), 8, "helper")]
    assert [(lineno, hits) for lineno, hits, _ in work] == [(2, 1), (3, 31), (4, 30), (5, 1)]
    assert [(lineno, hits) for lineno, hits, _ in helper] == [(10, 30), (11, 10), (12, 20)]

    out = tmp_path / "callgrind.out.prog"
    write_callgrind(stats, str(out))
    output = callgrind_annotate(out)

    costs, source = annotated_source(output, str(program))
    assert source == PROGRAM.splitlines()
    expected = {lineno: (time, hits) for lineno, hits, time in work + helper}
    assert costs == expected
    assert function_totals(output, str(program)) == {
        "work": (sum(time for _, _, time in work), 63),
        "helper": (sum(time for _, _, time in helper), 60),
    }
    assert program_totals(output) == (sum(time for _, _, time in work + helper), 123)
    text = out.read_text()
    assert text.startswith("# callgrind format\nversion: 1\ncreator: lineprof %s\n"
                           % lineprof.__version__)
    assert "\ncmd: prog.py\n" in text
    assert "calls=" not in text


def test_other_units_become_nanoseconds_and_same_names_stay_apart(tmp_path,
                                                                  callgrind_annotate):
    source = tmp_path / "lambdas.py"
    source.write_text("double = lambda x: x * 2\ntriple = lambda x: x * 3\n\n"
                      "def unused():\n    pass\n")
    filename = str(source)
    # As line_profiler writes it: microseconds.
    stats = lineprof.LineStats({
        (filename, 1, "<lambda>"): [(1, 4, 7)],
        (filename, 2, "<lambda>"): [(2, 5, 1500)],
        (filename, 4, "unused"): [],
    }, 1e-6, metadata={"argv": ["run it.py", "-x"]})
    out = tmp_path / "callgrind.out"
    write_callgrind(stats, str(out))
    output = callgrind_annotate(out)

    costs, _ = annotated_source(output, filename)
    assert costs == {1: (7000, 4), 2: (1500000, 5)}
    assert function_totals(output, filename) == {"<lambda>:1": (7000, 4), "<lambda>:2": (1500000, 5)}
    assert program_totals(output) == (1507000, 9)
    text = out.read_text()
    assert "fn=unused" not in text
    assert "\ncmd: 'run it.py' -x\n" in text
    assert "\nsummary: 1507000 9\n" in text and text.endswith("\ntotals: 1507000 9\n")
