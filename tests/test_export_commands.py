"""`python -m lineprof html|callgrind|pstats|json` as a user runs them."""
import json
import pstats

from conftest import run_python
from test_kernprof import SCRIPT, assert_one_line_error, write


def profile(tmp_path, kernprof):
    write(tmp_path, "script.py", SCRIPT)
    assert kernprof("-l", "script.py").returncode == 0
    return "script.py.lprof"


def lineprof(tmp_path, *args):
    return run_python(["-m", "lineprof"] + list(args), tmp_path)


def test_each_export_command_writes_what_its_reader_opens(tmp_path, kernprof):
    lprof = profile(tmp_path, kernprof)
    key = (str(tmp_path / "script.py"), 3, "work")

    result = lineprof(tmp_path, "html", lprof, "-o", "report")
    assert result.returncode == 0, result.stderr
    index = (tmp_path / "report" / "index.html").read_text()
    assert 'data-function="work"' in index

    result = lineprof(tmp_path, "callgrind", lprof)
    assert result.returncode == 0, result.stderr
    callgrind = (tmp_path / "callgrind.out.script.py").read_text()
    assert "fn=work" in callgrind and "\n7 " in callgrind      # line 7 ran 10 times

    result = lineprof(tmp_path, "pstats", lprof, "-o", "script.prof")
    assert result.returncode == 0, result.stderr
    loaded = pstats.Stats(str(tmp_path / "script.prof"))
    assert loaded.stats[key][:2] == (1, 1)                      # one call of work

    result = lineprof(tmp_path, "json", lprof)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    (function,) = document["functions"]
    assert (function["name"], function["calls"], function["total_hits"]) == ("work", 1, 23)
    result = lineprof(tmp_path, "json", lprof, "-o", "script.json")
    assert json.loads((tmp_path / "script.json").read_text()) == document


def test_bad_input_to_the_export_commands_is_one_line(tmp_path, kernprof):
    lprof = profile(tmp_path, kernprof)
    (tmp_path / "folder").mkdir()
    for args in (["html", "missing.lprof"], ["callgrind", "folder"],
                 ["pstats", lprof, "-o", "no/such/dir/x.prof"],
                 ["json", lprof, "-o", "folder"], ["html", lprof, "--bogus"],
                 ["callgrind", "script.py"]):
        assert_one_line_error(lineprof(tmp_path, *args), prefix="lineprof: ")
