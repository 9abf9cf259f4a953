"""The test matrix: `python3 -m nox` builds lineprof with -Wall -Wextra -Werror
and runs the test suite on every CPython from 3.8 to 3.13 found on this
machine (a missing one is skipped, and nox prints a line saying so), then
builds and runs the C tests with CMake/ctest. `sanitize` and `memcheck` check
the C extension's memory safety (AddressSanitizer and UndefinedBehaviorSanitizer;
valgrind memcheck)."""
import glob
import os
import shutil
import subprocess

import nox

PYTHONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]

nox.options.sessions = ["tests", "ctest", "sanitize", "memcheck"]
nox.options.error_on_missing_interpreters = False    # CI=true would make it True
nox.options.reuse_existing_virtualenvs = True
# The venv module ships pip for every Python; recent virtualenv no longer
# seeds 3.8.
nox.options.default_venv_backend = "venv"


def _put_pyenv_pythons_on_path():
    """pyenv's shims answer 'command not found' for versions that are not
    selected; its real interpreters are found by putting their folders first."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    folders = []
    for version in PYTHONS:
        found = sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin")),
                       key=lambda path: [int(part) for part in
                                         path.split(os.sep)[-2].split(".") if part.isdigit()])
        if found:
            folders.append(found[-1])
    os.environ["PATH"] = os.pathsep.join(folders + [os.environ.get("PATH", "")])


_put_pyenv_pythons_on_path()


@nox.session(python=PYTHONS)
def tests(session):
    session.env["LINEPROF_STRICT"] = "1"
    # The optional extras are installed so that the features they enable are
    # tested; the tests of running without them hide them from the program.
    session.install("pytest", "ipython", "nbformat", "rich", "tomli", "pygments", "jsonschema",
                    "hypothesis", "coverage")
    # The cross-check against line_profiler runs where it installs.
    session.run("python", "-m", "pip", "install", "-q", "line_profiler", success_codes=[0, 1])
    session.install("--force-reinstall", "--no-deps", ".")
    session.run("pytest", "tests", "-q", "-p", "no:cacheprovider")


@nox.session
def ctest(session):
    session.install("cmake")
    build = os.path.join(session.create_tmp(), "cmake-build")
    session.run("cmake", "-S", ".", "-B", build, "-DPython_EXECUTABLE=" + session.virtualenv.location + "/bin/python")
    session.run("cmake", "--build", build, "-j", "2")
    session.run("ctest", "--test-dir", build, "--output-on-failure")


def _version_key(version):
    return [int(part) for part in version.split(".")]


def _newest_found(versions):
    """The newest of these Pythons that is on PATH (the newest asked if none
    is: nox then skips the session as missing)."""
    ordered = sorted(versions, key=_version_key, reverse=True)
    return next((version for version in ordered if shutil.which("python" + version)), ordered[0])


def _install_cmake_built(session, build_name, *cmake_options):
    """Installs lineprof into the session's venv, then replaces its extension
    with one built by CMake with these options (RelWithDebInfo: -O2 -g, for
    stacks with files and lines). pip is not asked to build with other flags
    because setuptools reuses the extension in build/ when the sources are
    older. Returns the CMake build folder."""
    session.install("cmake")
    session.install("--force-reinstall", "--no-deps", ".")
    # Not in session.create_tmp(), which would also move the tests' TMPDIR
    # into the venv, where coverage.py does not measure programs.
    build = os.path.join(session.virtualenv.location, build_name)
    session.run("cmake", "-S", ".", "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                "-DPython_EXECUTABLE=" + session.virtualenv.location + "/bin/python",
                *cmake_options)
    session.run("cmake", "--build", build, "-j", "2")
    built = glob.glob(os.path.join(build, "lineprof", "_tracer*.so"))
    installed = glob.glob(os.path.join(session.virtualenv.location, "lib", "python*",
                                       "site-packages", "lineprof", "_tracer*.so"))
    if len(built) != 1 or len(installed) != 1:
        session.error("expected one built and one installed extension: %s, %s" % (built, installed))
    shutil.copyfile(built[0], installed[0])
    return build


def _asan_runtime():
    return subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                          text=True, check=True).stdout.strip()


# 3.12+ has the sys.monitoring backend, 3.8-3.11 the settrace one.
# One Python per backend: settrace (3.8-3.11) and sys.monitoring (3.12+).
@nox.session(python=[_newest_found(["3.8", "3.9", "3.10", "3.11"]), _newest_found(["3.12", "3.13"])])
def sanitize(session):
    """C tests and test suite with the extension built with ASan, then UBSan.

    One sanitizer per build, because GCC's UBSan ignores log_path when ASan
    is loaded. Any report fails the session, also one from a child process
    whose failure a test expected: reports are written to files, which must
    not exist at the end."""
    session.install("pytest", "ipython", "nbformat", "rich", "tomli", "pygments", "jsonschema",
                    "hypothesis", "coverage")
    session.run("python", "-m", "pip", "install", "-q", "line_profiler", success_codes=[0, 1])
    logs = os.path.join(session.virtualenv.location, "sanitizer-logs")
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    runs = [
        ("address", {
            # CPython frees little at exit, so leak checking would only report
            # it; lineprof's leaks are the memcheck session's job.
            "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:log_path=" + os.path.join(logs, "asan"),
            # The interpreter is not built with ASan, so its runtime must be
            # loaded first, in this process and in every Python the tests start.
            "LD_PRELOAD": _asan_runtime(),
        }, [
            # Chromium, which the HTML report's tests run, does not start with
            # ASan preloaded; the report is written by Python code, and the
            # UBSan run has these tests.
            "--ignore=tests/test_html_report.py",
        ]),
        ("undefined", {
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:log_path=" + os.path.join(logs, "ubsan"),
        }, []),
    ]
    try:
        for sanitizer, sanitizer_env, pytest_options in runs:
            build = _install_cmake_built(session, "cmake-build-" + sanitizer,
                                         "-DLINEPROF_SANITIZE=ON", "-DLINEPROF_SANITIZERS=" + sanitizer)
            ctest_env = {name: value for name, value in sanitizer_env.items() if name != "LD_PRELOAD"}
            session.run("ctest", "--test-dir", build, "--output-on-failure", env=ctest_env)
            session.run("pytest", "tests", "-q", "-p", "no:cacheprovider", *pytest_options,
                        env=sanitizer_env)
    finally:
        reports = sorted(glob.glob(os.path.join(logs, "*")))
        for report in reports:
            with open(report) as file:
                session.log("%s:\n%s" % (report, file.read()))
        if reports:
            session.error("the sanitizers reported %d error(s), above" % len(reports))


# One Python per backend: settrace (3.8-3.11) and sys.monitoring (3.12+).
@nox.session(python=[_newest_found(["3.8", "3.9", "3.10", "3.11"]), _newest_found(["3.12", "3.13"])])
def memcheck(session):
    """Small programs under kernprof -l in valgrind memcheck.

    Fails on an invalid access, a use of uninitialised memory or a definite
    leak in lineprof's extension (tests/run_memcheck.py)."""
    if shutil.which("valgrind") is None:
        session.error("valgrind is not installed (apt-get install valgrind)")
    _install_cmake_built(session, "cmake-build")
    session.run("python", "tests/run_memcheck.py")
