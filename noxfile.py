"""The test matrix: `python3 -m nox` builds lineprof with -Wall -Wextra -Werror
and runs the test suite on every CPython from 3.8 to 3.13 found on this
machine (a missing one is skipped, and nox prints a line saying so), then
builds and runs the C tests with CMake/ctest."""
import glob
import os

import nox

PYTHONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]

nox.options.sessions = ["tests", "ctest"]
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
