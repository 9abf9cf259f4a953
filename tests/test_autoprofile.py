"""kernprof -p: profiling without decorators, as a user runs it."""
import sys

import lineprof

from test_kernprof import write

PACKAGE = {
    "mypkg/__init__.py": "",
    "mypkg/core.py": '''\
from . import helpers


def square_all(values):
    out = []
    for v in values:
        out.append(helpers.square(v))
    return out


class Box:
    def __init__(self, n):
        self.n = n

    def total(self):
        def inner(k):
            return k + 1
        return sum([inner(i) for i in range(self.n)])

    class Inner:
        @staticmethod
        def ping():
            return "pong"
''',
    "mypkg/helpers.py": '''\
def square(x):
    y = x * x
    return y


def unused():
    return None
''',
    "run.py": '''\
from mypkg import core


def main():
    print(core.square_all([1, 2, 3]))
    print(core.Box(4).total(), core.Box.Inner.ping())


main()
''',
}


def make_package(tmp_path):
    for name, text in PACKAGE.items():
        write(tmp_path, name, text)


def profiled(tmp_path, outfile="run.py.lprof"):
    """{(file name, function name): {line: hits}} of the profile."""
    stats = lineprof.load_stats(str(tmp_path / outfile))
    return {(filename.replace(str(tmp_path) + "/", ""), name.rpartition(".")[2]
             if "<locals>" not in name else name.split(".")[-1]):
            {lineno: hits for lineno, hits, _ in rows if hits}
            for (filename, _, name), rows in stats.timings.items()}


def test_a_module_is_profiled_with_methods_and_nested_functions(tmp_path, kernprof):
    make_package(tmp_path)
    result = kernprof("-l", "-p", "mypkg.core", "run.py")
    assert result.returncode == 0, result.stderr
    assert "[1, 4, 9]" in result.stdout and "10 pong" in result.stdout
    functions = profiled(tmp_path)
    assert functions == {
        ("mypkg/core.py", "square_all"): {5: 1, 6: 4, 7: 3, 8: 1},
        ("mypkg/core.py", "__init__"): {13: 1},
        # 3.12 inlines the list comprehension: each loop back is a line
        # event under sys.settrace too.
        ("mypkg/core.py", "total"): {16: 1, 18: 5 if sys.version_info >= (3, 12) else 1},
        ("mypkg/core.py", "inner"): {17: 4},
        ("mypkg/core.py", "ping"): {23: 1},
    }


def test_prof_imports_adds_what_the_target_imports(tmp_path, kernprof):
    make_package(tmp_path)
    result = kernprof("-l", "-p", "mypkg.core", "--prof-imports", "run.py")
    assert result.returncode == 0, result.stderr
    functions = profiled(tmp_path)
    assert functions[("mypkg/helpers.py", "square")] == {2: 3, 3: 3}
    assert ("mypkg/helpers.py", "unused") in functions     # profiled, never called
    # Not followed further: run.py imports mypkg.core but run.py is no target.
    assert not any(filename == "run.py" for filename, _ in functions)


def test_the_script_itself_a_folder_and_a_class(tmp_path, kernprof):
    make_package(tmp_path)
    assert kernprof("-l", "-p", "run.py", "run.py").returncode == 0
    assert profiled(tmp_path) == {("run.py", "main"): {5: 1, 6: 1}}

    assert kernprof("-l", "-p", "mypkg/", "run.py").returncode == 0
    assert {filename for filename, _ in profiled(tmp_path)} == {"mypkg/core.py",
                                                                "mypkg/helpers.py"}

    assert kernprof("-l", "-p", "mypkg.core.Box,mypkg.helpers.square", "run.py").returncode == 0
    assert set(profiled(tmp_path)) == {("mypkg/core.py", "__init__"),
                                       ("mypkg/core.py", "total"), ("mypkg/core.py", "inner"),
                                       ("mypkg/core.py", "ping"),
                                       ("mypkg/helpers.py", "square")}


def test_a_module_imported_before_the_program_runs(tmp_path, kernprof):
    # json is imported by lineprof itself, so it is profiled through its live
    # functions rather than the import hook.
    write(tmp_path, "use_json.py", "import json\nprint(json.dumps([1]))\n")
    result = kernprof("-l", "-p", "json", "use_json.py")
    assert result.returncode == 0, result.stderr
    stats = lineprof.load_stats(str(tmp_path / "use_json.py.lprof"))
    called = {name for (_, _, name), rows in stats.timings.items() if any(h for _, h, _ in rows)}
    assert "dumps" in called


def test_decorators_still_count_beside_p(tmp_path, kernprof):
    make_package(tmp_path)
    write(tmp_path, "both.py", "from mypkg import helpers\n\n@profile\ndef twice(x):\n"
                               "    return helpers.square(x) * 2\n\nprint(twice(3))\n")
    result = kernprof("-l", "-p", "mypkg.helpers", "both.py")
    assert result.returncode == 0, result.stderr
    assert "18" in result.stdout
    functions = profiled(tmp_path, "both.py.lprof")
    assert functions[("both.py", "twice")] == {5: 1}
    assert functions[("mypkg/helpers.py", "square")] == {2: 1, 3: 1}


def test_bad_targets_are_one_line_warnings(tmp_path, kernprof):
    # As line_profiler 5.1: the program runs without them (more in
    # test_prof_mod_compat.py).
    make_package(tmp_path)
    for target in ("no_such_module", "missing/file.py"):
        result = kernprof("-l", "-p", target, "run.py")
        assert result.returncode == 0, result.stderr
        assert "[1, 4, 9]" in result.stdout
        assert result.stderr.splitlines()[0].startswith("kernprof: warning: -p %s: " % target)
