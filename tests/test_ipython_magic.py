"""%lprun, %%lprun and %%lprun_all in a real IPython shell."""
import sys

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

import lineprof  # noqa: E402
from conftest import run_python  # noqa: E402
from lineprof.ipython_magic import LineProfileReport  # noqa: E402

SUM_TO = "def f(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n"


@pytest.fixture(scope="module")
def ip():
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "lineprof")
    shell.run_cell(SUM_TO)
    shell.run_cell("def never_called():\n    return 1\n")
    return shell


def row_hits(output, contents):
    """The hits column of the report row whose source is `contents`."""
    rows = [line for line in output.splitlines() if line.rstrip().endswith(contents)]
    assert len(rows) == 1, output
    return int(rows[0].split()[1])


def hits_by_line(profiler, name):
    [lines] = [lines for key, lines in profiler.get_stats().timings.items() if key[2] == name]
    return {lineno: hits for lineno, hits, _ in lines}


def test_line_magic_shows_the_report(ip, capsys):
    assert ip.run_line_magic("lprun", "-f f f(10)") is None
    output = capsys.readouterr().out
    assert "Timer unit:" in output and "Function: f at line 1" in output
    assert row_hits(output, "for i in range(n):") == 11
    assert row_hits(output, "t += i") == 10
    assert row_hits(output, "return t") == 1


def test_r_returns_the_profiler(ip, capsys):
    profiler = ip.run_line_magic("lprun", "-r -f f f(10)")
    assert isinstance(profiler, lineprof.LineProfiler)
    assert hits_by_line(profiler, "f") == {2: 1, 3: 11, 4: 10, 5: 1}


def test_the_displayed_text_is_the_print_stats_report(ip, capsys):
    profiler = ip.run_line_magic("lprun", "-r -f f f(3)")
    shown = capsys.readouterr().out
    profiler.print_stats(output_unit=1e-6)      # %lprun's default unit
    printed = capsys.readouterr().out
    assert repr(LineProfileReport(profiler.get_stats(), output_unit=1e-6)) == printed
    assert shown.rstrip("\n") == printed.rstrip("\n")


def test_the_statement_runs_as_typed_in_the_user_namespace(ip, capsys):
    ip.run_line_magic("lprun", "-f f total = f(4); spaced = 'a  b'")
    assert ip.user_ns["total"] == 6 and ip.user_ns["spaced"] == "a  b"


def test_several_functions_and_a_module(ip, capsys, tmp_path, monkeypatch):
    (tmp_path / "magic_helpers.py").write_text(
        "def double(x):\n    return 2 * x\n\n\nclass Box:\n    def get(self):\n        return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ip.run_cell("def g():\n    return f(2) + f(3)\n")
    profiler = ip.run_line_magic("lprun", "-r -f f -f g -m magic_helpers "
                                          "g(); import magic_helpers; magic_helpers.double(1)")
    # The method's name is qualified from 3.11 on (co_qualname).
    names = {key[2].split(".")[-1] for key in profiler.get_stats().timings}
    assert names == {"f", "g", "double", "get"}
    assert hits_by_line(profiler, "f")[2] == 2
    assert hits_by_line(profiler, "double") == {2: 1}


def test_cell_magic_profiles_the_cell(ip, capsys):
    profiler = ip.run_cell_magic("lprun", "-r -f f", "for k in range(3):\n    f(k)\n")
    assert hits_by_line(profiler, "f") == {2: 3, 3: 6, 4: 3, 5: 3}
    output = capsys.readouterr().out
    assert row_hits(output, "t += i") == 3


def test_cell_magic_through_run_cell(ip, capsys):
    ip.run_cell("%%lprun -f f\nvalue = f(5)\nvalue += f(5)\n")
    output = capsys.readouterr().out
    assert ip.user_ns["value"] == 20
    assert row_hits(output, "for i in range(n):") == 12


def test_D_writes_a_loadable_profile(ip, capsys, tmp_path):
    path = tmp_path / "out.lprof"
    ip.run_line_magic("lprun", "-D %s -f f f(10)" % path)
    assert "'%s'" % path in capsys.readouterr().out
    [lines] = lineprof.load_stats(str(path)).timings.values()
    assert {lineno: hits for lineno, hits, _ in lines} == {2: 1, 3: 11, 4: 10, 5: 1}


def test_T_writes_the_text_report(ip, capsys, tmp_path):
    path = tmp_path / "my report.txt"
    ip.run_line_magic("lprun", '-T "%s" -f f f(10)' % path)
    assert "'%s'" % path in capsys.readouterr().out
    text = path.read_text()
    assert text.startswith("Timer unit:")
    assert row_hits(text, "for i in range(n):") == 11


@pytest.mark.parametrize("flag", ["-s", "-z"])
def test_s_and_z_leave_out_functions_never_called(ip, capsys, flag):
    ip.run_line_magic("lprun", "-f f -f never_called f(2)")
    assert "never_called" in capsys.readouterr().out
    ip.run_line_magic("lprun", "%s -f f -f never_called f(2)" % flag)
    output = capsys.readouterr().out
    assert "never_called" not in output and "Function: f" in output


def test_u_sets_the_output_unit(ip, capsys):
    ip.run_line_magic("lprun", "-u 1e-3 -f f f(2)")
    assert capsys.readouterr().out.startswith("Timer unit: 0.001 s")


def test_html_report_is_a_table_of_the_lines(ip, capsys):
    ip.run_cell("def compare(a, b):\n    return a < b and '&'\n")
    profiler = ip.run_line_magic("lprun", "-r -f f -f compare f(10); compare(1, 2)")
    page = LineProfileReport(profiler.get_stats())._repr_html_()
    assert page.count("<table") == 2 and "<script" not in page
    assert "Line #" in page and "% Time" in page
    assert "<td style=\"text-align:right;padding:0 0.5em\">3</td>" \
           "<td style=\"text-align:right;padding:0 0.5em\">11</td>" in page
    assert "return a &lt; b and &#x27;&amp;&#x27;" in page
    assert "<h4>compare</h4>" in page


def test_ipython_formats_the_report_as_text_and_html(ip, capsys):
    profiler = ip.run_line_magic("lprun", "-r -f f f(2)")
    report = LineProfileReport(profiler.get_stats())
    data, _ = ip.display_formatter.format(report)
    assert data["text/plain"] == report.text().rstrip("\n")
    assert data["text/html"] == report._repr_html_()


def test_html_report_leaves_out_functions_never_called_with_s(ip, capsys):
    profiler = ip.run_line_magic("lprun", "-r -f f -f never_called f(1)")
    assert "never_called" in LineProfileReport(profiler.get_stats())._repr_html_()
    page = LineProfileReport(profiler.get_stats(), stripzeros=True)._repr_html_()
    assert "never_called" not in page and "<h4>f</h4>" in page


@pytest.mark.parametrize("raised", ["SystemExit(3)", "KeyboardInterrupt"])
def test_the_profile_is_shown_after_exit_or_interrupt(ip, capsys, raised):
    ip.run_cell("def stop():\n    f(3)\n    raise %s\n" % raised)
    profiler = ip.run_line_magic("lprun", "-r -f f -f stop stop()")
    output = capsys.readouterr().out
    name = raised.split("(")[0]
    assert "*** %s exception caught in code being profiled." % name in output
    assert row_hits(output, "raise %s" % raised) == 1
    assert hits_by_line(profiler, "f")[3] == 4


@pytest.mark.parametrize("line, message", [
    ("f(1)", "-f FUNC or -m MODULE"),
    ("-f f", "no statement"),
    ("-f nosuchname f(1)", "could not evaluate -f nosuchname: NameError"),
    ("-f 42 f(1)", "-f 42"),
    ("-m no_such_module_here f(1)", "could not import -m no_such_module_here"),
    ("-q -f f f(1)", "unknown option -q"),
    ("-u fast -f f f(1)", "-u needs a positive number"),
    ("-f", "option -f needs a value"),
])
def test_usage_errors(ip, capsys, line, message):
    with pytest.raises(UsageError, match=message):
        ip.run_line_magic("lprun", line)
    # Typed at the prompt, it is one line, without a traceback.
    ip.run_cell("%lprun " + line)
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "UsageError:" in output and message in output
    assert "Traceback" not in output


def test_an_unwritable_output_file_is_a_usage_error_after_the_report(ip, capsys, tmp_path):
    missing = tmp_path / "no" / "such" / "folder.lprof"
    with pytest.raises(UsageError, match="could not write"):
        ip.run_line_magic("lprun", "-D %s -f f f(10)" % missing)
    assert row_hits(capsys.readouterr().out, "t += i") == 10


def test_cell_magic_line_takes_options_only(ip):
    with pytest.raises(UsageError, match="options only"):
        ip.run_cell_magic("lprun", "-f f f(1)", "f(2)\n")


def test_import_lineprof_does_not_need_ipython(tmp_path):
    blocked = ("import sys; sys.modules['IPython'] = None; "
               "import lineprof, lineprof.ipython_magic; print('imported')")
    result = run_python(["-c", blocked], tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "imported", result.stderr


CELL = ("x = 1\n"
        "class C:\n"
        "    def m(self):\n"
        "        return sorted([3, 1, 2])\n"
        "def g():\n"
        "    return C().m()\n"
        "y = len(g()) + x\n")


def test_lprun_all_profiles_the_cell_and_the_functions_it_defines(ip, capsys):
    profiler = ip.run_cell_magic("lprun_all", "-r -t", CELL)
    output = capsys.readouterr().out
    assert ip.user_ns["y"] == 4     # len(sorted([3, 1, 2])) + 1
    assert "Function: <lprof_cell> at line 1" in output
    assert row_hits(output, "y = len(g()) + x") == 1
    # The functions' lines, in their own blocks (the cell's block lists them too).
    method = "C.m" if sys.version_info >= (3, 11) else "m"     # qualified names are 3.11+
    for function, line in (("g", "return C().m()"), (method, "return sorted([3, 1, 2])")):
        block = output.split("Function: %s at line" % function)[1].split("Total time:")[0]
        assert row_hits(block, line) == 1
    names = {key[2] for key in profiler.get_stats().timings}
    assert names == {"<lprof_cell>", method, "g"}
    stats = profiler.get_stats()
    [cell] = [key for key in stats.timings if key[2] == "<lprof_cell>"]
    assert ip.user_ns["_total_time_taken"] == stats.total_time(cell) > 0
    # The cell called g, which called C.m: the call graph says so.
    assert {(caller[2], callee[2]) for caller, _, callee in stats.edges} == {
        ("<lprof_cell>", "g"), ("g", method)}


def test_lprun_all_p_profiles_the_top_level_only(ip, capsys):
    profiler = ip.run_cell_magic("lprun_all", "-p -r", CELL)
    assert {key[2] for key in profiler.get_stats().timings} == {"<lprof_cell>"}
    output = capsys.readouterr().out
    assert row_hits(output, "y = len(g()) + x") == 1


def test_lprun_all_usage_errors(ip):
    with pytest.raises(UsageError, match="-u needs a positive number"):
        ip.run_cell_magic("lprun_all", "-u fast", "x = 1\n")
    with pytest.raises(UsageError, match="unknown option -f"):
        ip.run_cell_magic("lprun_all", "-f f", "x = 1\n")
    with pytest.raises(UsageError, match="options only"):
        ip.run_cell_magic("lprun_all", "x = 1", "x = 1\n")


def test_memory_option_adds_net_and_peak(ip, capsys):
    ip.run_cell("def grow(n):\n    data = [str(i) for i in range(n)]\n    del data\n")
    profiler = ip.run_line_magic("lprun", "-r --memory -f grow grow(10000)")
    output = capsys.readouterr().out
    header = next(line for line in output.splitlines() if line.startswith("Line #"))
    assert "Net" in header and "Peak" in header
    (lines,) = profiler.get_stats().memory.values()
    assert lines[2][0] > 10000 * 40 and lines[3][1] > 10000 * 40
    html_report = LineProfileReport(profiler.get_stats())._repr_html_()
    assert ">Net</th>" in html_report and ">Peak</th>" in html_report
    # Without it, the report is line_profiler's.
    ip.run_line_magic("lprun", "-f grow grow(10)")
    assert "Peak" not in capsys.readouterr().out
