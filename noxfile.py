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
                    "hypothesis", "coverage", "snakeviz", "gprof2dot",
                    "uvicorn")
    # The cross-check against line_profiler runs where it installs.
    session.run("python", "-m", "pip", "install", "-q", "line_profiler", success_codes=[0, 1])
    session.install("--force-reinstall", "--no-deps", ".")
    _reference_kernprof(session)
    session.run("pytest", "tests", "-q", "-p", "no:cacheprovider")


def _reference_kernprof(session):
    """line_profiler 5.1.0's kernprof in a venv of its own, for the
    side-by-side tests (tests/test_kernprof_compat.py): lineprof's kernprof
    owns the name in the session's venv. Where 5.1.0 has no wheel (before
    3.10), those comparisons are skipped and this says so."""
    # Beside the session's venv (session.create_tmp() would set TMPDIR for
    # the tests, to a relative path).
    folder = os.path.abspath(session.virtualenv.location + "-line_profiler-5.1.0")
    python = os.path.join(folder, "bin", "python")
    session.run("python", "-m", "venv", "--clear", folder, silent=True)
    session.run(python, "-m", "pip", "install", "-q", "--only-binary", ":all:",
                "line_profiler==5.1.0", external=True, success_codes=[0, 1], silent=True)
    kernprof = os.path.join(folder, "bin", "kernprof")
    if os.path.exists(kernprof):
        session.env["LINEPROF_REFERENCE_KERNPROF"] = kernprof
    else:
        session.log("line_profiler 5.1.0 does not install here: its side-by-side tests skip")


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


def _fail_on_reports(session, logs, sanitizer):
    """Shows the sanitizer reports written into logs, and fails if there are any."""
    reports = sorted(glob.glob(os.path.join(logs, "*")))
    for report in reports:
        with open(report) as file:
            session.log("%s:\n%s" % (report, file.read()))
    if reports:
        session.error("%s reported %d error(s), above" % (sanitizer, len(reports)))


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
                    "hypothesis", "coverage", "snakeviz", "gprof2dot",
                    "uvicorn")
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
        _fail_on_reports(session, logs, "the sanitizers")


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


# ---- CPython 3.14 and 3.15, in a Debian sid chroot ---------------------------
# This Debian 12 machine has no 3.14/3.15; Debian sid has them (and 3.15's
# debug build), but they cannot be installed here. .ci/sid-chroot makes a sid
# chroot once (cached in /var/cache/lineprof-ci, reused by every clone) and
# runs this noxfile in it, on a copy of the working tree, with
# LINEPROF_SID_CHROOT=1. In there each session below is an ordinary session
# of its Python; out here it runs its namesake in the chroot, and is skipped,
# with the reason, where the chroot cannot be made (not root, no network).
IN_SID_CHROOT = os.environ.get("LINEPROF_SID_CHROOT") == "1"
SID_CHROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".ci", "sid-chroot")
SID_CHROOT_UNAVAILABLE = 77


def _lineprof_deprecations_are_errors(session):
    """Makes a DeprecationWarning raised from lineprof's own modules an error,
    in pytest and in the programs the tests start."""
    # A warning filter names modules exactly (pytest -W and PYTHONWARNINGS
    # alike), so each one of lineprof's is named.
    modules = ["kernprof", "lineprof"] + sorted(
        path[:-3].replace(os.sep, ".") for path in glob.glob("lineprof/**/*.py", recursive=True)
        if not os.path.basename(path).startswith("__"))
    filters = ["error::DeprecationWarning:" + module for module in modules]
    session.env["PYTEST_ADDOPTS"] = " ".join("-W " + rule for rule in filters)
    session.env["PYTHONWARNINGS"] = ",".join(filters)


def tests_deprecations_are_errors(session):
    """The test suite, with DeprecationWarnings from lineprof's code errors.

    The `tests` session, with a DeprecationWarning raised from lineprof's own
    modules an error, also in the programs the tests start."""
    _lineprof_deprecations_are_errors(session)
    tests(session)


def leaks(session):
    """tests/test_leaks.py on a debug build of CPython (sys.gettotalrefcount).

    The test of the total reference count needs sys.gettotalrefcount, which
    only debug builds have; the session fails on another build."""
    session.env["LINEPROF_STRICT"] = "1"
    session.run("python", "-c", "import sys; assert hasattr(sys, 'gettotalrefcount'), "
                "'not a debug build: ' + sys.executable")
    session.install("pytest")
    session.install("--force-reinstall", "--no-deps", ".")
    _lineprof_deprecations_are_errors(session)
    session.run("pytest", "tests/test_leaks.py", "-v", "-p", "no:cacheprovider")


def _sid_chroot_session(name, python, function, description):
    """Registers the session `name`: in the chroot, function on that Python;
    here, one that runs `name` in the chroot."""
    if IN_SID_CHROOT:
        nox.session(name=name, python=python)(function)
        return

    def in_sid_chroot(session):
        if not os.path.exists(SID_CHROOT):
            session.skip("%s is missing" % SID_CHROOT)
        # Makes the chroot if needed (progress on stderr; why not, on stdout).
        ensure = subprocess.run([SID_CHROOT, "ensure"], stdout=subprocess.PIPE, text=True)
        if ensure.returncode == SID_CHROOT_UNAVAILABLE:
            session.skip(ensure.stdout.strip())
        if ensure.returncode != 0:
            session.error("%s ensure failed (exit %d)" % (SID_CHROOT, ensure.returncode))
        session.run(SID_CHROOT, "nox", "--", "-s", name, external=True)

    in_sid_chroot.__doc__ = description + " (in the Debian sid chroot)"
    nox.session(name=name, venv_backend="none")(in_sid_chroot)


_sid_chroot_session("tests-3.14", "3.14", tests_deprecations_are_errors,
                    "Test suite, DeprecationWarnings from lineprof errors")
_sid_chroot_session("tests-3.15", "3.15", tests_deprecations_are_errors,
                    "Test suite, DeprecationWarnings from lineprof errors")
_sid_chroot_session("sanitize-3.15", "3.15", sanitize, "sanitize, on 3.15")
_sid_chroot_session("memcheck-3.15", "3.15", memcheck, "memcheck, on 3.15")
_sid_chroot_session("leaks-3.15d", "python3.15d", leaks,
                    "tests/test_leaks.py on 3.15's debug build, with sys.gettotalrefcount")
if not IN_SID_CHROOT:
    nox.options.sessions += ["tests-3.14", "tests-3.15", "sanitize-3.15", "memcheck-3.15",
                             "leaks-3.15d"]


# ---- Free-threaded CPython 3.13 ("3.13t") and ThreadSanitizer ----------------
# .ci/build-python-ft builds CPython 3.13 with --disable-gil from Debian's
# source, once, into a fixed folder outside the clone ($LINEPROF_CI_CACHE,
# /var/cache/lineprof-ci): python3.13t/, and python3.13t-tsan/, built also
# --with-thread-sanitizer. The sessions build-python3.13t[-tsan] run it (the
# tests-3.13t and tsan sessions require them), and are skipped, with the
# reason, where it cannot build (not root, no network); the sessions that
# need the interpreter are then skipped as missing.
FT_CACHE = os.environ.get("LINEPROF_CI_CACHE", "/var/cache/lineprof-ci")
FT_BUILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".ci", "build-python-ft")
FT_UNAVAILABLE = 77
TSAN_PREFIX = os.path.join(FT_CACHE, "python3.13t-tsan")
# The script links python3.13t alone into bin/ (the prefix's own bin/ also has
# python3 and python3.13, which must not stand for the GIL builds).
os.environ["PATH"] = os.pathsep.join([os.path.join(FT_CACHE, "bin"), os.environ["PATH"]])


def _build_python_ft(session, *options):
    build = subprocess.run([FT_BUILD, *options], stdout=subprocess.PIPE, text=True)
    if build.returncode == FT_UNAVAILABLE:
        session.skip(build.stdout.strip())
    if build.returncode != 0:
        session.error("%s %s failed (exit %d)" % (FT_BUILD, " ".join(options), build.returncode))
    session.log("interpreter: %s" % build.stdout.strip())


@nox.session(name="build-python3.13t", venv_backend="none")
def build_python_ft(session):
    """Builds the free-threaded CPython 3.13 of tests-3.13t, if absent."""
    _build_python_ft(session)


@nox.session(name="build-python3.13t-tsan", venv_backend="none")
def build_python_ft_tsan(session):
    """Builds the free-threaded CPython 3.13 with ThreadSanitizer of tsan, if absent."""
    _build_python_ft(session, "--tsan")


@nox.session(name="tests-3.13t", python="3.13t", requires=["build-python3.13t"],
             download_python="never")
def tests_free_threaded(session):
    """The test suite on the free-threaded CPython 3.13, with PYTHON_GIL unset.

    As a user runs it: lineprof._tracer declares that it runs without the GIL
    (Py_mod_gil), so importing it must neither enable the GIL nor warn that it
    did. That warning is an error in the tests and the programs they start,
    so that no test runs with the GIL because an extension enabled it.
    `-- ARGS` replaces the suite's arguments."""
    session.env["LINEPROF_STRICT"] = "1"
    session.env["PYTHON_GIL"] = None
    # Binary wheels of older releases rather than sdists that need Rust to
    # build (no cp313t wheel of the newest hypothesis).
    session.install("--prefer-binary", "pytest", "ipython", "nbformat", "rich", "tomli",
                    "pygments", "jsonschema", "hypothesis", "coverage", "snakeviz", "gprof2dot",
                    "uvicorn")
    # Not line_profiler: it has no cp313t wheel, and the extension its sdist
    # builds does not declare that it runs without the GIL, so importing it
    # would enable the GIL for the tests after the cross-check (which skips).
    session.install("--force-reinstall", "--no-deps", ".")
    session.run("pytest", *(session.posargs or ["tests", "-q", "-p", "no:cacheprovider"]),
                env={"PYTHONWARNINGS": "error:The global interpreter lock (GIL) has been "
                                       "enabled:RuntimeWarning"})
    session.run("python", "-W", "error::RuntimeWarning", "-c",
                "import sys, lineprof._tracer; "
                "assert not sys._is_gil_enabled(), 'importing lineprof._tracer enabled the GIL'")


@nox.session(python=os.path.join(TSAN_PREFIX, "bin", "python3.13t"), venv_params=["--without-pip"],
             requires=["build-python3.13t", "build-python3.13t-tsan"], download_python="never")
def tsan(session):
    """The tests of threads with ThreadSanitizer, without the GIL.

    The interpreter and lineprof's extension are both built with
    -fsanitize=thread (GCC's libtsan, one runtime for both): an uninstrumented
    interpreter would get reports on data its own locks protect. CPython's
    suppressions of its known races are kept next to it. Any report fails
    the session: they are written to files, which must not exist at the end.
    `-- ARGS` runs pytest with these arguments instead."""
    venv = session.virtualenv.location
    plain = os.path.join(FT_CACHE, "bin", "python3.13t")
    for python in (os.path.join(TSAN_PREFIX, "bin", "python3.13t"), plain):
        if not os.path.exists(python):      # and the venv is an old one
            session.skip("%s is missing" % python)
    # CPython's suppressions of its known races, and those of races inside
    # CPython that lineprof's use of sys.monitoring meets (tests/tsan/).
    suppressions = os.path.join(venv, "tsan-suppressions.txt")
    with open(suppressions, "w") as combined:
        for part in [os.path.join(TSAN_PREFIX, "share", "tsan", "suppressions_free_threading.txt"),
                     os.path.join("tests", "tsan", "cpython-3.13-suppressions.txt")]:
            with open(part) as stream:
                combined.write(stream.read() + "\n")
    # Whatever runs on this interpreter needs them.
    session.env["TSAN_OPTIONS"] = "suppressions=" + suppressions
    # pip runs about ten times slower with TSan (a minute for each install):
    # the packages are installed into this venv by pip on the plain 3.13t, the
    # same CPython. Their scripts start that interpreter, which does not see
    # this venv: pytest is run as `python bin/pytest` (`python -m pytest`
    # would import lineprof from here), CMake's own programs are run.
    session.run(plain, "-m", "pip", "install", "-q", "--prefix", venv, "--ignore-installed",
                "--no-warn-script-location", "--prefer-binary", "pytest", "cmake", external=True)
    session.run(plain, "-m", "pip", "install", "-q", "--prefix", venv, "--no-deps",
                "--no-warn-script-location", ".", external=True)
    # Then its extension is replaced by one built with -fsanitize=thread.
    cmake, = glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "cmake", "data",
                                    "bin", "cmake"))
    ctest = os.path.join(os.path.dirname(cmake), "ctest")
    build = os.path.join(venv, "cmake-build-thread")
    session.run(cmake, "-S", ".", "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                "-DPython_EXECUTABLE=" + os.path.join(venv, "bin", "python"),
                "-DLINEPROF_SANITIZE=ON", "-DLINEPROF_SANITIZERS=thread", external=True)
    session.run(cmake, "--build", build, "-j", "2", external=True)
    built = glob.glob(os.path.join(build, "lineprof", "_tracer*.so"))
    installed = glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "lineprof",
                                       "_tracer*.so"))
    if len(built) != 1 or len(installed) != 1:
        session.error("expected one built and one installed extension: %s, %s" % (built, installed))
    with open(built[0], "rb") as extension:
        if b"__tsan_func_entry" not in extension.read():
            session.error("%s is not built with -fsanitize=thread" % built[0])
    shutil.copyfile(built[0], installed[0])

    logs = os.path.join(venv, "tsan-logs")
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    env = {
        "PYTHON_GIL": "0",
        "TSAN_OPTIONS": "halt_on_error=1:suppressions=%s:log_path=%s"
                        % (suppressions, os.path.join(logs, "tsan")),
    }
    tests = ["tests/test_threads.py", "tests/test_free_threading.py", "tests/test_stress.py"]
    try:
        session.run(ctest, "--test-dir", build, "--output-on-failure", env=env, external=True)
        session.run("python", os.path.join(venv, "bin", "pytest"),
                    *(session.posargs or tests + ["-v", "-p", "no:cacheprovider"]), env=env)
    finally:
        _fail_on_reports(session, logs, "ThreadSanitizer")


nox.options.sessions += ["tests-3.13t", "tsan"]
