"""kernprof -p as line_profiler 5.1 behaves (issue 12): targets that cannot be
found, --preimports/--no-preimports, pkg.__init__, -c and stdin code, and
what a module or class target takes in."""
import pytest

import lineprof
from test_kernprof import write

PACKAGE = {
    "pkg/__init__.py": "print('importing pkg')\n"
                       "def init_func():\n"
                       "    return 1\n",
    "pkg/a.py": "print('importing pkg.a')\n"
                "import functools\n"
                "from pkg.b import b_func\n"
                "def a_func():\n"
                "    return b_func() + 1\n"
                "class K:\n"
                "    def meth(self, x):\n"
                "        return x + 1\n"
                "    pp = functools.partial(a_func)\n",
    "pkg/b.py": "print('importing pkg.b')\n"
                "def b_func():\n"
                "    return 2\n",
    "pkg/sub/__init__.py": "print('importing pkg.sub')\n",
    "pkg/sub/c.py": "print('importing pkg.sub.c')\n"
                    "def c_func():\n"
                    "    return 3\n",
    "pkg/bad.py": "print('importing pkg.bad')\n"
                  "raise RuntimeError('bad module')\n",
    "run.py": "print('run start')\n"
              "import pkg\n"
              "print('result', pkg.init_func())\n",
    "run_k.py": "from pkg.a import K\n"
                "print('result', K().meth(1), K.pp())\n",
}


def make_package(tmp_path):
    for name, text in PACKAGE.items():
        write(tmp_path, name, text)


def functions(tmp_path, outfile):
    """{function name: total hits} of the profile (methods by their name:
    3.8-3.10 code objects have no qualified name)."""
    stats = lineprof.load_stats(str(tmp_path / outfile))
    return {name.rpartition(".")[2]: sum(hits for _, hits, _ in rows)
            for (_, _, name), rows in stats.timings.items()}


def warnings_of(result):
    return [line for line in result.stderr.splitlines() if line.startswith("kernprof: warning:")]


# ---- 1. a target that cannot be found (no longer refused: test_bad_input.py) ----

def test_a_target_that_cannot_be_found_is_a_one_line_warning(tmp_path, kernprof):
    make_package(tmp_path)
    for target, says in [("no_such_module", "no module of that name"),
                         ("no_such_module.func", "no module of that name"),
                         ("missing.py", "no such file or folder"),
                         ("nodir/", "no such file or folder"),
                         ("pkg.nosuch", "module pkg has no nosuch")]:
        result = kernprof("-l", "-p", target, "run.py")
        assert result.returncode == 0, result.stderr
        assert "result 1" in result.stdout, target
        assert len(warnings_of(result)) == 1, result.stderr
        assert warnings_of(result)[0].startswith("kernprof: warning: -p %s: " % target)
        assert says in warnings_of(result)[0], result.stderr
        assert "Traceback" not in result.stderr


def test_the_targets_that_are_found_are_still_profiled(tmp_path, kernprof):
    make_package(tmp_path)
    result = kernprof("-l", "-p", "no_such_module,pkg", "run.py")
    assert result.returncode == 0, result.stderr
    assert functions(tmp_path, "run.py.lprof")["init_func"] == 1


# ---- 2. --preimports / --no-preimports --------------------------------------

def test_preimports_by_default_import_a_package_and_its_submodules(tmp_path, kernprof):
    make_package(tmp_path)
    result = kernprof("-l", "-p", "pkg", "run.py")
    assert result.returncode == 0, result.stderr
    # Imported before the program runs, all of them.
    before = result.stdout.split("run start")[0]
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c", "pkg.bad"):
        assert "importing %s\n" % name in before, result.stdout
    # A submodule that fails to import is a warning, as in line_profiler.
    assert warnings_of(result) == [
        "kernprof: warning: 1 submodule of the -p targets could not be imported: pkg.bad"]
    found = functions(tmp_path, "run.py.lprof")
    assert found["init_func"] == 1
    assert {"a_func", "meth", "b_func", "c_func"} <= set(found)


def test_no_preimports_leaves_the_imports_to_the_program(tmp_path, kernprof):
    make_package(tmp_path)
    for flag in (["--no-preimports"], ["--preimports", "off"], ["--preimports=no"]):
        result = kernprof("-l", *flag, "-p", "pkg", "run.py")
        assert result.returncode == 0, result.stderr
        assert "importing pkg.a" not in result.stdout, flag
        assert result.stdout.index("run start") < result.stdout.index("importing pkg")
        assert warnings_of(result) == []
        assert set(functions(tmp_path, "run.py.lprof")) == {"init_func"}


def test_a_target_that_fails_to_import_shows_its_traceback(tmp_path, kernprof):
    make_package(tmp_path)
    for target in ("pkg.bad", "pkg.bad.func", "pkg/bad.py"):
        result = kernprof("-l", "-p", target, "run.py")
        assert result.returncode == 1, result.stderr
        assert "run start" not in result.stdout      # the program did not run
        lines = result.stderr.splitlines()
        assert lines[0] == "Traceback (most recent call last):"
        assert 'bad.py", line 2, in <module>' in result.stderr
        assert lines[-2] == "RuntimeError: bad module"
        assert lines[-1].startswith("kernprof: -p %s: importing pkg.bad failed" % target)
        assert "--no-preimports" in lines[-1]
        # Only the module's frames: not kernprof's, nor importlib's.
        assert "kernprof.py" not in result.stderr and "importlib" not in result.stderr
        assert "autoprofile.py" not in result.stderr
        # With --no-preimports the program runs; it never imports pkg.bad.
        result = kernprof("-l", "--no-preimports", "-p", target, "run.py")
        assert result.returncode == 0 and "result 1" in result.stdout, result.stderr


def test_preimports_from_line_profiler_configuration(tmp_path, kernprof):
    make_package(tmp_path)
    write(tmp_path, "pyproject.toml", "[tool.line_profiler.kernprof]\npreimports = false\n")
    result = kernprof("-l", "-p", "pkg", "run.py")
    assert result.returncode == 0, result.stderr
    assert "importing pkg.a" not in result.stdout
    result = kernprof("-l", "--preimports", "-p", "pkg", "run.py")
    assert "importing pkg.a" in result.stdout


def test_the_script_is_not_preimported(tmp_path, kernprof):
    make_package(tmp_path)
    result = kernprof("-l", "-p", "run.py,run", "run.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("run start") == 1


# ---- 3. pkg.__init__ ---------------------------------------------------------

def test_pkg_init_profiles_the_package_module_only(tmp_path, kernprof):
    make_package(tmp_path)
    write(tmp_path, "run_all.py", "import pkg, pkg.a, pkg.sub.c\n"
                                  "print('result', pkg.init_func(), pkg.a.a_func(),"
                                  " pkg.sub.c.c_func())\n")
    for target in ("pkg.__init__", "pkg/__init__.py"):
        result = kernprof("-l", "-p", target, "run_all.py")
        assert result.returncode == 0, result.stderr
        assert "result 1 3 3" in result.stdout
        assert functions(tmp_path, "run_all.py.lprof") == {"init_func": 1}, target
        # Preimported without its submodules.
        result = kernprof("-l", "-p", target, "run.py")
        assert result.returncode == 0 and "importing pkg.a" not in result.stdout, result.stdout
        assert warnings_of(result) == []


# ---- 4. -c and stdin ---------------------------------------------------------

CODE = "def g(n):\n    return n * 2\nprint('result', g(3))\n"


def test_c_code_is_profiled_without_decorators_under_l(tmp_path, kernprof):
    result = kernprof("-l", "-o", "c.lprof", "-c", CODE)
    assert result.returncode == 0, result.stderr
    assert "result 6" in result.stdout
    assert functions(tmp_path, "c.lprof") == {"g": 1}


def test_stdin_code_is_profiled_without_decorators_under_l(tmp_path, kernprof):
    for args in (["-"], ["-p", "-", "-"]):
        result = kernprof("-l", "-o", "s.lprof", *args, input=CODE)
        assert result.returncode == 0, result.stderr
        assert "result 6" in result.stdout and warnings_of(result) == []
        assert functions(tmp_path, "s.lprof") == {"g": 1}


def test_c_code_with_prof_imports_profiles_what_it_imports(tmp_path, kernprof):
    make_package(tmp_path)
    code = "import pkg.b\nprint('result', pkg.b.b_func())\n"
    result = kernprof("-l", "--prof-imports", "-o", "c.lprof", "-c", code)
    assert result.returncode == 0, result.stderr
    assert functions(tmp_path, "c.lprof") == {"b_func": 1}


def test_c_code_without_l_is_not_line_profiled(tmp_path, kernprof):
    result = kernprof("-b", "-o", "c.prof", "-c", CODE)
    assert result.returncode == 0, result.stderr
    assert "result 6" in result.stdout


# ---- 5. what a module or class target takes in -------------------------------

def test_a_module_target_takes_in_functions_imported_from_sibling_modules(tmp_path, kernprof):
    make_package(tmp_path)
    for flag in ("--preimports", "--no-preimports"):
        result = kernprof("-l", flag, "-p", "pkg.a", "run_k.py")
        assert result.returncode == 0, result.stderr
        found = functions(tmp_path, "run_k.py.lprof")
        assert found["b_func"] == 1, flag      # pkg.b's, imported into pkg.a
        assert found["a_func"] == 1 and found["meth"] == 1


def test_a_class_target_takes_in_what_its_partial_attributes_wrap(tmp_path, kernprof):
    make_package(tmp_path)
    for flag in ("--preimports", "--no-preimports"):
        result = kernprof("-l", flag, "-p", "pkg.a.K", "run_k.py")
        assert result.returncode == 0, result.stderr
        assert "result 2 3" in result.stdout
        found = functions(tmp_path, "run_k.py.lprof")
        assert found == {"meth": 1, "a_func": 1}, flag


# ---- side by side with line_profiler 5.1's kernprof (where the test has it) ----

@pytest.mark.parametrize("target, script", [
    ("pkg.a", "run_k.py"), ("pkg.a.K", "run_k.py"), ("pkg", "run.py"),
    ("pkg.__init__", "run.py"), ("pkg.sub.c", "run.py"), ("no_such_module", "run.py"),
])
def test_the_same_functions_and_hits_as_line_profilers_kernprof(tmp_path, kernprof, reference,
                                                                 target, script):
    make_package(tmp_path)
    ours = kernprof("-l", "-p", target, "-o", "ours.lprof", script)
    theirs = reference("-l", "-p", target, "-o", "theirs.lprof", script)
    assert ours.returncode == theirs.returncode == 0, (ours.stderr, theirs.stderr)
    # The program's output (the preimports' prints, in their order), up to
    # kernprof's own lines, which name the files.
    def program_output(result):
        lines = result.stdout.splitlines()
        return lines[:next(i for i, line in enumerate(lines) if line.startswith("Wrote "))]
    assert program_output(ours) == program_output(theirs)
    assert functions(tmp_path, "ours.lprof") == functions(tmp_path, "theirs.lprof")
