"""Every Python process of a job, profiled and merged: kernprof -l on programs
that start processes by every means there is, end to end, in a subprocess,
as a user runs them."""
import glob
import importlib.util
import os
import signal
import subprocess
import sys
import sysconfig

import pytest

import lineprof
from conftest import run_python
from settrace_reference import SettraceCounter

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX processes")

WORK = '''\
@profile
def work(n):
    total = 0
    for i in range(n):
        if i % 3:
            total += i
    return total
'''


def write(folder, name, source):
    path = folder / name
    path.write_text(source)
    return path


def expected_hits(arguments, source=WORK):
    """{line: hits} of work() called with each of arguments, counted by
    sys.settrace in this process; lines counted from the function's first
    (its decorator's, if it has one)."""
    namespace = {"profile": lambda func: func}
    exec(compile(source, "work.py", "exec"), namespace)
    code = namespace["work"].__code__
    with SettraceCounter([code]) as counter:
        for n in arguments:
            namespace["work"](n)
    return {line - code.co_firstlineno: hits for line, hits in counter.hits_of(code).items()}


def profile_of(path, function="work"):
    """({line: hits}, calls, stats) of the function named so in the profile,
    lines counted from the function's first."""
    stats = lineprof.load_stats(str(path))
    keys = [key for key in stats.timings if key[2] == function]
    assert len(keys) == 1, (function, list(stats.timings))
    first = keys[0][1]
    lines = {line - first: hits for line, hits, _ in stats.timings[keys[0]] if hits}
    return lines, stats.calls.get(keys[0]), stats


@pytest.fixture
def private_tmp(tmp_path_factory):
    """A TMPDIR of the test's own, where the job's folder goes: checked to be
    empty at the end, whatever else runs on the machine."""
    folder = tmp_path_factory.mktemp("tmpdir")
    yield {"TMPDIR": str(folder)}
    assert os.listdir(str(folder)) == [], "the job's folder was left behind"


@pytest.fixture
def run(tmp_path, private_tmp):
    """Runs kernprof in tmp_path; the job must leave nothing in its
    temporary folder (private_tmp)."""
    def run_kernprof(*args, env=None, timeout=180, python_options=()):
        return run_python(list(python_options) + ["-m", "kernprof"] + list(args), tmp_path,
                          env=dict(private_tmp, **(env or {})), timeout=timeout)
    return run_kernprof


POOLS = WORK + '''
import multiprocessing
import sys

if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[2:]]
    for method in sys.argv[1].split(","):
        with multiprocessing.get_context(method).Pool(3) as pool:
            pool.map(work, arguments, chunksize=1)
'''


def test_spawn_forkserver_and_fork_pools_are_exact(run, tmp_path):
    # 250 calls: 100 in a spawn pool, 100 in a forkserver pool, 50 in a fork
    # pool; every call and every line hit counted once.
    write(tmp_path, "pools.py", POOLS)
    arguments = [7, 12, 30, 1, 0]
    for methods, rounds in (("spawn,forkserver", 20), ("fork", 10)):
        # With -W, multiprocessing starts its helpers with options before
        # their -c: they must still be known as helpers (no part, no mark).
        result = run("-l", "-o", "%s.lprof" % methods[:4], "pools.py", methods,
                     *[str(n) for n in arguments * rounds],
                     python_options=["-W", "default::ResourceWarning"])
        assert result.returncode == 0, result.stderr
        assert "wrote no profile" not in result.stderr
    lines, calls, _ = profile_of(tmp_path / "spaw.lprof")
    lines_fork, calls_fork, _ = profile_of(tmp_path / "fork.lprof")
    assert calls + calls_fork == 250
    total = {line: lines.get(line, 0) + lines_fork.get(line, 0)
             for line in set(lines) | set(lines_fork)}
    reference = expected_hits(arguments * 50)
    assert total == reference
    assert "Merged the profiles of" in result.stdout
    assert sorted(os.listdir(tmp_path)) == ["fork.lprof", "pools.py", "spaw.lprof"]


@pytest.mark.skipif(sys.version_info < (3, 11) and importlib.util.find_spec("tomli") is None,
                    reason="reading pyproject.toml before 3.11 needs tomli")
def test_no_subprocesses_in_the_configuration(run, tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.lineprof]\nno-subprocesses = true\n")
    write(tmp_path, "forked.py", WORK + '''
import os
work(3)
pid = os.fork()
if pid == 0:
    work(4)
    os._exit(0)
os.waitpid(pid, 0)
''')
    result = run("-l", "forked.py")
    assert result.returncode == 0, result.stderr
    lines, calls, _ = profile_of(tmp_path / "forked.py.lprof")
    assert (lines, calls) == (expected_hits([3]), 1)


def test_pool_with_maxtasksperchild_and_process_pool_executor(run, tmp_path):
    write(tmp_path, "executors.py", WORK + '''
import concurrent.futures
import multiprocessing

if __name__ == "__main__":
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(2, maxtasksperchild=1) as pool:
        pool.map(work, [10] * 6, chunksize=1)
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=spawn) as executor:
        list(executor.map(work, [10] * 5))
''')
    result = run("-l", "executors.py")
    assert result.returncode == 0, result.stderr
    lines, calls, stats = profile_of(tmp_path / "executors.py.lprof")
    assert calls == 11
    assert lines == expected_hits([10] * 11)
    # maxtasksperchild=1: at least one process per task, each merged.
    assert stats.metadata["processes"] >= 1 + 6 + 1


def test_process_subclass_and_os_fork(run, tmp_path):
    write(tmp_path, "forks.py", WORK + '''
import multiprocessing
import os

class SpawnWorker(multiprocessing.get_context("spawn").Process):
    def run(self):
        work(5)

class ForkWorker(multiprocessing.get_context("fork").Process):
    def run(self):
        work(5)

if __name__ == "__main__":
    work(4)                         # before the forks: counted once, here
    for method, subclass in (("spawn", SpawnWorker), ("fork", ForkWorker)):
        for process in (multiprocessing.get_context(method).Process(target=work, args=(6,)),
                        subclass()):
            process.start()
            process.join()
            assert process.exitcode == 0
    pid = os.fork()
    if pid == 0:
        work(3)
        os._exit(0)                 # no atexit: the profile is written all the same
    os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        work(2)                     # this child ends through the program's end
    else:
        os.waitpid(pid, 0)
''')
    result = run("-l", "forks.py")
    assert result.returncode == 0, result.stderr
    lines, calls, stats = profile_of(tmp_path / "forks.py.lprof")
    assert calls == 7
    assert lines == expected_hits([4, 6, 5, 6, 5, 3, 2])
    # Only the parent wrote the profile: the child that came back through
    # kernprof wrote its part and nothing else.
    assert result.stdout.count("Wrote profile results") == 1


def test_subprocess_children_and_grandchildren(run, tmp_path):
    # -p: a module the children import is profiled there too, with no
    # decorator; python started by subprocess, os.posix_spawn and os.exec*.
    package = tmp_path / "pkg"
    package.mkdir()
    write(package, "__init__.py", "")
    write(package, "lib.py", WORK.replace("@profile\n", ""))
    write(tmp_path, "tree.py", '''
import os
import subprocess
import sys

from pkg.lib import work

if __name__ == "__main__":
    depth = int(sys.argv[1])
    work(depth)
    if depth == 3:
        subprocess.run([sys.executable, __file__, "2"], check=True)
        pid = os.posix_spawn(sys.executable, [sys.executable, __file__, "1"], os.environ)
        os.waitpid(pid, 0)
        pid = os.fork()
        if pid == 0:
            work(4)                 # written before the exec
            os.execv(sys.executable, [sys.executable, __file__, "1"])
        os.waitpid(pid, 0)
    elif depth == 2:
        subprocess.run([sys.executable, "-c", "from pkg.lib import work; work(5)"],
                       check=True)
''')
    result = run("-l", "-p", "pkg.lib", "tree.py", "3")
    assert result.returncode == 0, result.stderr
    lines, calls, stats = profile_of(tmp_path / "tree.py.lprof")
    assert calls == 6
    assert lines == expected_hits([3, 2, 5, 1, 4, 1], WORK.replace("@profile\n", ""))
    # The forked child wrote once before its exec, and once as the new program.
    assert stats.metadata["processes"] == 6
    assert "Merged the profiles of 6 processes (this one and 5 children)" in result.stdout
    assert "wrote no profile" not in result.stderr


SIGNALLED = WORK + '''
import multiprocessing
import os
import signal
import sys
import time

def stay(ready, n):
    work(n)
    ready.set()
    while True:
        time.sleep(0.05)    # not one long sleep: see lineprof.process_exit on SIGTERM

def leave(n):
    work(n)
    os._exit(3)

if __name__ == "__main__":
    spawn = multiprocessing.get_context("spawn")
    ended = {}
    for name, n in (("term", 4), ("kill", 100)):
        ready = spawn.Event()
        process = spawn.Process(target=stay, args=(ready, n))
        process.start()
        ready.wait()
        os.kill(process.pid, signal.SIGTERM if name == "term" else signal.SIGKILL)
        process.join()
        ended[name] = process.exitcode
    process = spawn.Process(target=leave, args=(6,))
    process.start()
    process.join()
    ended["_exit"] = process.exitcode
    with spawn.Pool(2) as pool:
        pool.map(work, [2, 2])
    # Pool.__exit__ terminates the workers with SIGTERM.
    print(sorted(ended.items()), flush=True)
'''


def test_children_ended_by_sigterm_os_exit_and_sigkill(run, tmp_path):
    write(tmp_path, "signalled.py", SIGNALLED)
    result = run("-l", "signalled.py")
    assert result.returncode == 0, result.stderr
    # The children died as they would have without the profiler.
    assert "[('_exit', 3), ('kill', -9), ('term', -15)]" in result.stdout
    lines, calls, _ = profile_of(tmp_path / "signalled.py.lprof")
    # All but the SIGKILLed child's work(100).
    assert calls == 4
    assert lines == expected_hits([4, 6, 2, 2])
    # The killed one is named, once.
    killed = [line for line in result.stderr.splitlines() if "wrote no profile" in line]
    assert len(killed) == 1, result.stderr
    assert "killed before it could" in killed[0] and "spawn_main" in killed[0]


def test_no_subprocesses(run, tmp_path):
    write(tmp_path, "alone.py", '''
import multiprocessing
from lineprof import profile
''' + WORK + '''
if __name__ == "__main__":
    work(3)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(work, [10, 10])
    process = multiprocessing.get_context("fork").Process(target=work, args=(10,))
    process.start()
    process.join()
''')
    result = run("-l", "--no-subprocesses", "alone.py")
    assert result.returncode == 0, result.stderr
    lines, calls, stats = profile_of(tmp_path / "alone.py.lprof")
    assert calls == 1
    assert lines == expected_hits([3])
    assert "processes" not in stats.metadata
    assert "Merged" not in result.stdout
    # The children were not touched: nothing of lineprof ran in them.
    assert "lineprof" not in result.stderr


def test_keep_parts_and_the_users_sitecustomize(run, tmp_path):
    # A user's sitecustomize still runs in the children: the job's one
    # imports it.
    custom = tmp_path / "custom"
    custom.mkdir()
    write(custom, "sitecustomize.py", "import os\nos.environ['USER_SITECUSTOMIZE'] = 'ran'\n")
    write(tmp_path, "parts.py", WORK + '''
import multiprocessing
import os

def check(n):
    assert os.environ.get("USER_SITECUSTOMIZE") == "ran"
    return work(n)

if __name__ == "__main__":
    processes = [multiprocessing.get_context("spawn").Process(target=check, args=(5,))
                 for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    check(5)
''')
    result = run("-l", "--keep-parts", "parts.py", env={"PYTHONPATH": str(custom)})
    assert result.returncode == 0, result.stderr
    assert "Kept each process's profile in parts.py.parts" in result.stdout
    parts = sorted(glob.glob(str(tmp_path / "parts.py.parts" / "parts.*.lprof")))
    assert len(parts) == 2
    whole = lineprof.load_stats(str(tmp_path / "parts.py.lprof"))
    children = lineprof.LineStats.from_files(*parts)
    assert profile_of(tmp_path / "parts.py.lprof")[1] == 3
    key = next(iter(children.timings))
    assert children.calls[key] == 2
    # The whole is the children's parts and the parent's own call.
    assert {line: hits for line, hits, _ in whole.timings[key]} == {
        line: hits * 3 // 2 for line, hits, _ in children.timings[key]}


EXPLICIT = '''
import concurrent.futures
import multiprocessing
import sys

from lineprof import profile
''' + WORK + '''
if __name__ == "__main__":
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=spawn) as executor:
        print(sum(executor.map(work, [10] * 8)))
    work(10)
'''


def test_explicit_mode_merges_its_children(tmp_path, private_tmp):
    write(tmp_path, "explicit.py", EXPLICIT)
    result = run_python(["explicit.py"], tmp_path, env=dict(private_tmp, LINE_PROFILE="1"))
    assert result.returncode == 0, result.stderr
    lines, calls, _ = profile_of(tmp_path / "profile_output.lprof")
    assert calls == 9
    assert lines == expected_hits([10] * 9)


def test_lineprof_dir_and_the_folder_merge(tmp_path):
    # As on a cluster: each process writes its own profile into a shared
    # folder; `lineprof merge FOLDER` sums them.
    write(tmp_path, "explicit.py", EXPLICIT)
    shared = tmp_path / "shared"
    shared.mkdir()
    result = run_python(["explicit.py"], tmp_path,
                        env={"LINEPROF": "1", "LINEPROF_DIR": str(shared)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "216"
    names = sorted(os.listdir(shared))
    host = os.uname().nodename.split(".")[0]
    assert names and all(name.startswith("explicit.%s." % host) and name.endswith(".lprof")
                         for name in names), names
    assert not (tmp_path / "profile_output.lprof").exists()
    merged = run_python(["-m", "lineprof", "merge", str(shared), "-o", "job.lprof"], tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "Merged %d files into job.lprof" % len(names) in merged.stdout
    lines, calls, _ = profile_of(tmp_path / "job.lprof")
    assert calls == 9
    assert lines == expected_hits([10] * 9)
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = run_python(["-m", "lineprof", "merge", str(empty), "-o", "x.lprof"], tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "lineprof: %s: a folder without .lprof files" % empty


def test_lineprof_targets_profile_without_decorators(tmp_path):
    write(tmp_path, "targets.py", '''
import lineprof
''' + WORK.replace("@profile\n", "") + '''
work(5)
work(6)
''')
    shared = tmp_path / "shared"
    shared.mkdir()
    result = run_python(["targets.py"], tmp_path, env={
        "LINEPROF": "1", "LINEPROF_DIR": str(shared),
        "LINEPROF_TARGETS": str(tmp_path / "targets.py")})
    assert result.returncode == 0, result.stderr
    (part,) = os.listdir(shared)
    lines, calls, _ = profile_of(shared / part)
    assert calls == 2
    assert lines == expected_hits([5, 6], WORK.replace("@profile\n", ""))


def test_nothing_left_in_site_packages(run, tmp_path):
    write(tmp_path, "pools.py", POOLS)
    folders = {sysconfig.get_paths()[name] for name in ("purelib", "platlib")}
    before = {folder: sorted(os.listdir(folder)) for folder in folders}
    result = run("-l", "pools.py", "spawn", "3", "3")
    assert result.returncode == 0, result.stderr
    assert {folder: sorted(os.listdir(folder)) for folder in folders} == before
    assert sorted(os.listdir(tmp_path)) == ["pools.py", "pools.py.lprof"]
    # The program's children were told of the job through the environment;
    # kernprof's own environment is as it was.
    assert "LINEPROF_JOB" not in os.environ


def test_killed_kernprof_leaves_only_its_temporary_folder(tmp_path):
    # SIGKILL gives kernprof no chance to clean up: what is left is its job
    # folder in the system's temporary folder, nothing in the user's.
    write(tmp_path, "slow.py", WORK + '''
import time
work(3)
print("started", flush=True)
time.sleep(60)
''')
    environment = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    process = subprocess.Popen([sys.executable, "-m", "kernprof", "-l", "slow.py"],
                               cwd=str(tmp_path), stdout=subprocess.PIPE, text=True,
                               env=environment)
    assert process.stdout.readline() == "started\n"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    assert sorted(os.listdir(tmp_path)) == ["slow.py", "tmp"]
    (job,) = os.listdir(tmp_path / "tmp")
    assert job.startswith("lineprof-job-")



def test_the_many_processes_example(tmp_path):
    # As its docstring says to run it: LINEPROF_DIR (made if missing), then
    # merge the folder.
    example = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "examples", "many_processes.py")
    result = run_python([example], tmp_path, env={"LINEPROF": "1", "LINEPROF_DIR": "profiles"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "320000 words, 10 distinct\n"
    # One file per worker that got work: how many did is up to the scheduler
    # (one worker may take all 16 tasks while the others start), and each
    # file holds that worker's calls only.
    parts = os.listdir(tmp_path / "profiles")
    assert parts and len({part.rsplit(".", 3)[1] for part in parts}) == len(parts)    # pids
    for part in parts:
        part_stats = lineprof.load_stats(str(tmp_path / "profiles" / part))
        assert [calls for key, calls in part_stats.calls.items() if key[2] == "count_words"] \
            and all(calls > 0 for key, calls in part_stats.calls.items()
                    if key[2] == "count_words")
    merged = run_python(["-m", "lineprof", "merge", "profiles", "-o", "job.lprof"], tmp_path)
    assert merged.returncode == 0, merged.stderr
    stats = lineprof.load_stats(str(tmp_path / "job.lprof"))
    (key,) = [key for key in stats.timings if key[2] == "count_words"]
    assert stats.calls[key] == 16
    hits = dict((line, hits) for line, hits, _ in stats.timings[key])
    # The loop's body ran once per word of the 16 texts.
    assert hits[key[1] + 3] == 16 * 20000 + 16
    shown = run_python(["-m", "lineprof", "show", "job.lprof"], tmp_path)
    assert "Function: count_words" in shown.stdout


def test_a_notebooks_pools(run, tmp_path):
    # A cell's @profile function in a fork pool; a -p module's function in a
    # spawn pool (a spawn child cannot run the notebook, as in Jupyter: its
    # __main__ has no file).
    from test_notebook import notebook_json
    package = tmp_path / "pkg"
    package.mkdir()
    write(package, "__init__.py", "")
    write(package, "lib.py", WORK.replace("@profile\n", ""))
    write(tmp_path, "job.ipynb", notebook_json([
        ("code", "import multiprocessing\nimport pkg.lib\n\n" + WORK.replace("def work", "def cell_work")),
        ("code", "with multiprocessing.get_context('fork').Pool(2) as pool:\n"
                 "    pool.map(cell_work, [5, 6, 7])\n"
                 "with multiprocessing.get_context('spawn').Pool(2) as pool:\n"
                 "    pool.map(pkg.lib.work, [8, 9])\n"),
    ]))
    result = run("-l", "-p", "pkg.lib", "job.ipynb")
    assert result.returncode == 0, result.stderr
    cell_lines, cell_calls, _ = profile_of(tmp_path / "job.ipynb.lprof", "cell_work")
    assert cell_calls == 3
    assert cell_lines == expected_hits([5, 6, 7])
    lines, calls, _ = profile_of(tmp_path / "job.ipynb.lprof")
    assert calls == 2
    assert lines == expected_hits([8, 9], WORK.replace("@profile\n", ""))


def test_the_users_pth_files_still_work_in_children(run, tmp_path):
    # A .pth file in site-packages (a path line) is read by the children as
    # before: the job's start-up code comes after site has read them.
    extra = tmp_path / "extra"
    extra.mkdir()
    write(extra, "from_pth.py", "VALUE = 'from a .pth path'\n")
    site_packages = sysconfig.get_paths()["purelib"]
    pth = os.path.join(site_packages, "lineprof_test_%d.pth" % os.getpid())
    with open(pth, "w") as stream:
        stream.write(str(extra) + "\n")
    try:
        write(tmp_path, "uses_pth.py", WORK + '''
import multiprocessing

def check(n):
    import from_pth
    assert from_pth.VALUE == "from a .pth path"
    return work(n)

if __name__ == "__main__":
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.map(check, [3, 4])
''')
        result = run("-l", "uses_pth.py")
    finally:
        os.unlink(pth)
    assert result.returncode == 0, result.stderr
    lines, calls, _ = profile_of(tmp_path / "uses_pth.py.lprof")
    assert (lines, calls) == (expected_hits([3, 4]), 2)


def test_kernprof_main_called_by_a_program_leaves_pools_usable(tmp_path, private_tmp):
    # kernprof ends the program's pools before merging, as the interpreter
    # would at exit; a program that calls kernprof.main() goes on, and its
    # own pools and executors must still work afterwards.
    write(tmp_path, "job.py", WORK + '''
import concurrent.futures
import multiprocessing
import sys

if __name__ == "__main__":
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as executor:
        list(executor.map(work, [int(n) for n in sys.argv[2:]]))
''')
    write(tmp_path, "caller.py", '''
import concurrent.futures
import multiprocessing
import kernprof

if __name__ == "__main__":
    assert kernprof.main(["-l", "-q", "job.py", "spawn", "3", "4"]) == 0
    with concurrent.futures.ProcessPoolExecutor(1) as executor:
        print(list(executor.map(abs, [-1, -2])))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        print(pool.map(abs, [-3]))
''')
    result = run_python(["caller.py"], tmp_path, env=private_tmp)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["[1, 2]", "[3]"]
    lines, calls, _ = profile_of(tmp_path / "job.py.lprof")
    assert (lines, calls) == (expected_hits([3, 4]), 2)
