"""lineprof beside another trace function (a debugger, coverage.py).

On 3.8-3.11 a thread has one trace function: lineprof pauses the one it finds,
says so once on stderr, and puts it back when it stops tracing. On 3.12+
lineprof uses sys.monitoring, so the other tracer keeps running throughout."""
import sys
import textwrap

import pytest

from conftest import run_python

PROGRAM = textwrap.dedent("""
    import sys
    from lineprof import LineProfiler

    seen = []
    def tracer(frame, event, arg):
        seen.append((frame.f_code.co_name, event))
        return tracer

    def work(n):
        total = 0
        for i in range(n):
            total += i
        return total

    def after():
        return 1

    profiler = LineProfiler()
    sys.settrace(tracer)
    if MODE == "decorated":
        profiler(work)(10)
    else:
        profiler.add_function(work)
        profiler.enable()
        work(10)
        profiler.disable()
    restored = sys.gettrace() is tracer
    after()
    sys.settrace(None)
    (lines,) = profiler.get_stats().timings.values()
    print("restored", restored)
    print("after-seen", ("after", "call") in seen)
    print("work-seen", ("work", "call") in seen)
    print("hits", sorted((ln, h) for ln, h, _ in lines))
""")


@pytest.mark.parametrize("mode", ["decorated", "enable"])
def test_another_trace_function_is_restored(tmp_path, mode):
    result = run_python(["-c", "MODE = %r\n" % mode + PROGRAM], tmp_path)
    assert result.returncode == 0, result.stderr
    out = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    # Lines 12-15 (after the MODE line) are the body of work: exact hits despite the other tracer.
    assert out["hits"] == "[(12, 1), (13, 11), (14, 10), (15, 1)]"
    assert out["restored"] == "True"
    assert out["after-seen"] == "True"
    warning = "lineprof: another trace function (a debugger or coverage?) is active"
    if sys.version_info < (3, 12):
        assert result.stderr.count(warning) == 1
        assert out["work-seen"] == "False"      # paused while lineprof traced
    else:
        assert warning not in result.stderr
        assert out["work-seen"] == "True"       # both tools see the call


REPLACING = textwrap.dedent("""
    import sys
    from lineprof import LineProfiler

    def tracer(frame, event, arg):
        return tracer

    profiler = LineProfiler()

    @profiler
    def work():
        a = 1
        sys.settrace(tracer)
        b = 2
        return a + b

    work()
    print("kept", sys.gettrace() is tracer)
    sys.settrace(None)
    (lines,) = profiler.get_stats().timings.values()
    print("hits", sorted((ln, h) for ln, h, _ in lines))
""")


def test_a_trace_function_that_replaces_lineprofs_is_reported_and_kept(tmp_path):
    result = run_python(["-c", REPLACING], tmp_path)
    assert result.returncode == 0, result.stderr
    out = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert out["kept"] == "True"        # lineprof does not remove the newcomer
    warning = "lineprof: another trace function (a debugger or coverage?) replaced lineprof's"
    if sys.version_info < (3, 12):
        assert result.stderr.count(warning) == 1
        # The lines before the replacement are kept; those after were not seen.
        assert out["hits"] == "[(12, 1), (13, 1)]"
    else:
        assert warning not in result.stderr
        assert out["hits"] == "[(12, 1), (13, 1), (14, 1), (15, 1)]"


SAVE_AND_RESTORE = textwrap.dedent('''\
    import doctest
    import sys
    from lineprof import LineProfiler


    def work(n):
        t = 0
        for i in range(n):
            t += i
        return t


    def checked():
        """
        >>> work(4)
        6
        """


    profiler = LineProfiler(work)
    profiler.enable()
    saved = sys.gettrace()      # what a debugger or doctest saves ...
    sys.settrace(None)
    sys.settrace(saved)         # ... and puts back
    work(10)
    # doctest saves and restores the trace function around each example.
    failures, _ = doctest.run_docstring_examples(checked, {"work": work}) or (0, 0)
    profiler.disable()
    rows = list(profiler.get_stats().timings.values())[0]
    print(sorted((line - work.__code__.co_firstlineno, hits) for line, hits, _ in rows))
    print(sys.gettrace())
    ''')


def test_the_tracer_a_program_saves_and_sets_back_keeps_working(tmp_path):
    (tmp_path / "prog.py").write_text(SAVE_AND_RESTORE)
    result = run_python(["prog.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # work(10) and the doctest's work(4), every line counted.
    assert result.stdout.splitlines() == ["[(1, 2), (2, 16), (3, 14), (4, 2)]", "None"]


@pytest.mark.parametrize("mode", ["decorated", "enable"])
def test_wrap_trace_passes_every_event_on_to_the_other_trace_function(tmp_path, mode):
    program = PROGRAM.replace("LineProfiler()", "LineProfiler(wrap_trace=True)").replace(
        'print("work-seen"', 'print("lines-seen", seen.count(("work", "line")))\n'
                             'print("work-seen"')
    result = run_python(["-c", "MODE = %r\n" % mode + program], tmp_path)
    assert result.returncode == 0, result.stderr
    out = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert out["hits"] == "[(12, 1), (13, 11), (14, 10), (15, 1)]"
    assert out["restored"] == "True"
    # Both tools see the call and each of its 23 line events, on every version.
    assert out["work-seen"] == "True"
    assert out["lines-seen"] == "23"
    assert "paused" not in result.stderr
