"""The pstats export of real kernprof runs, read by its consumers: pstats,
gprof2dot, snakeviz's json_stats and snakeviz's page in a headless Chromium.

The nox test sessions and CI install snakeviz and gprof2dot and Chromium
(Debian's chromium): there a missing one fails the test; elsewhere it is
skipped, as the HTML report's browser tests are."""
import asyncio
import importlib
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

import lineprof

from conftest import REPO, run_python

# The example's functions, run as its main() runs them, with the time of the
# call measured around it.
DRIVER = '''\
import time

import primes

start = time.perf_counter()
primes.primes_below(60000)
print("elapsed %r" % (time.perf_counter() - start))
'''

RECURSIVE = '''\
@profile
def fact(n):
    if n <= 1:
        return 1
    return n * fact(n - 1)


@profile
def ping(n):
    if n <= 0:
        return 0
    return pong(n - 1) + 1


@profile
def pong(n):
    total = 0
    for i in range(200):
        total += i
    return ping(n)


@profile
def run():
    return fact(50) + ping(40)


run()
ping(5)
'''


def missing(what):
    message = "%s is not installed; the nox sessions and CI install it" % what
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def need(module):
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(module)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    missing("Chromium")


def kernprof_run(folder, script):
    """Runs `kernprof -l script` in folder and exports its profile with
    `python -m lineprof pstats`; returns (the .prof path, the LineStats, the
    program's output). Without compensation: these tests check what the
    consumers draw of the graph, and in sanitizer builds the calibrated event
    cost is so far above the real one that summed times (edges) clamp to 0."""
    result = run_python(["-m", "kernprof", "-l", "--no-compensation", script], folder)
    assert result.returncode == 0, result.stderr
    lprof, prof = folder / (script + ".lprof"), folder / (script + ".prof")
    exported = run_python(["-m", "lineprof", "pstats", str(lprof), "-o", str(prof)], folder)
    assert exported.returncode == 0, exported.stderr
    return prof, lineprof.LineStats.from_files(str(lprof)), result.stdout


class Run:
    def __init__(self, folder, script):
        self.prof, self.stats, self.output = kernprof_run(folder, script)
        self.keys = {key[2]: key for key in self.stats.timings}
        self.loaded = pstats.Stats(str(self.prof))

    def name(self, function):
        """The name snakeviz gives a function."""
        return "%s:%d(%s)" % self.keys[function]


@pytest.fixture(scope="module")
def primes_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("primes")
    shutil.copy(os.path.join(REPO, "examples", "primes.py"), str(folder / "primes.py"))
    (folder / "driver.py").write_text(DRIVER)
    return Run(folder, "driver.py")


@pytest.fixture(scope="module")
def recursive_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recursive")
    (folder / "recursive.py").write_text(RECURSIVE)
    return Run(folder, "recursive.py")


def test_pstats_of_the_primes_example(primes_run):
    loaded, keys, stats = primes_run.loaded, primes_run.keys, primes_run.stats
    assert set(loaded.stats) == {keys["is_prime"], keys["primes_below"]}
    below = loaded.stats[keys["primes_below"]]
    is_prime = loaded.stats[keys["is_prime"]]
    assert below[:2] == (1, 1) and below[4] == {}          # a root, as cProfile's top level
    assert is_prime[:2] == (60000, 60000)
    (edge_calls, edge_time), = [value for (caller, _, callee), value in stats.edges.items()
                                if (caller, callee) == (keys["primes_below"], keys["is_prime"])]
    assert is_prime[4] == {keys["primes_below"]: (
        60000, 60000, pytest.approx(is_prime[2]), pytest.approx(edge_time * stats.unit))}
    assert edge_calls == 60000
    for key, (_, _, tottime, cumtime, _) in loaded.stats.items():
        assert cumtime == pytest.approx(stats.total_time(key))
        assert tottime == pytest.approx(stats.own_time(key), abs=1e-12)
    assert below[2] < below[3]          # primes_below's own time leaves out is_prime's

    # The header's total is the time in the profiled functions, each moment
    # once: within the time measured around the call, and less than the
    # cumtimes added up (which count is_prime's time twice).
    elapsed = float(re.search(r"elapsed (\S+)", primes_run.output).group(1))
    assert loaded.total_tt == pytest.approx(sum(value[2] for value in loaded.stats.values()))
    assert loaded.total_tt == pytest.approx(stats.profiled_time())
    assert 0 < loaded.total_tt <= elapsed
    assert loaded.total_tt < below[3] + is_prime[3]
    assert loaded.total_calls == 60001


def gprof2dot(*args):
    need("gprof2dot")
    result = subprocess.run([sys.executable, "-m", "gprof2dot", "-f", "pstats"] + list(args),
                            capture_output=True, encoding="utf-8", timeout=120,
                            env=dict(os.environ, PYTHONIOENCODING="utf-8"))
    assert result.returncode == 0, result.stderr
    return result


def test_gprof2dot_draws_the_call_with_its_share(primes_run):
    result = gprof2dot(str(primes_run.prof))
    assert result.returncode == 0, result.stderr
    nodes = dict(re.findall(r'^\s*(\d+) \[.*label="[^"]*?:\d+:(\w+)\\n', result.stdout, re.M))
    ids = {name: node for node, name in nodes.items()}
    assert set(ids) == {"is_prime", "primes_below"}, result.stdout
    edge = re.search(r'^\s*%s -> %s \[.*label="([\d.]+)%%\\n(\d+)\u00d7"' % (
        ids["primes_below"], ids["is_prime"]), result.stdout, re.M)
    assert edge, result.stdout
    # gprof2dot's 100% is the profile's total: the larger of the header total
    # and the largest cumtime, here primes_below's (with the old export,
    # whose total added up the functions' totals, is_prime had about half).
    loaded, keys = primes_run.loaded, primes_run.keys
    total = max(loaded.total_tt, loaded.stats[keys["primes_below"]][3])
    call_time = loaded.stats[keys["is_prime"]][4][keys["primes_below"]][3]
    assert float(edge.group(1)) == pytest.approx(100 * call_time / total, abs=0.006)
    assert edge.group(2) == "60000"
    below_label = re.search(r'^\s*%s \[.*label="[^"]*\\n([\d.]+)%%\\n' % ids["primes_below"],
                            result.stdout, re.M)
    assert float(below_label.group(1)) == pytest.approx(
        100 * loaded.stats[keys["primes_below"]][3] / total, abs=0.006)


def test_gprof2dot_draws_recursion(recursive_run):
    result = gprof2dot("--node-thres=0", "--edge-thres=0", str(recursive_run.prof))
    nodes = dict(re.findall(r'^\s*(\d+) \[.*label="[^"]*?:\d+:(\w+)\\n', result.stdout, re.M))
    names = {node: name for node, name in nodes.items()}
    edges = {(names[a], names[b]): (float(share), int(calls)) for a, b, share, calls in
             re.findall(r'^\s*(\d+) -> (\d+) \[.*label="([\d.]+)%\\n(\d+)\u00d7"',
                        result.stdout, re.M)}
    assert set(edges) == {("run", "fact"), ("run", "ping"), ("ping", "pong"), ("pong", "ping"),
                          ("fact", "fact")}, result.stdout
    assert set(names.values()) == {"run", "fact", "ping", "pong"}
    # fact(50)'s 49 calls of itself take no time of their calling line: the
    # outer frame is paused while the inner one runs.
    assert edges[("fact", "fact")] == (0.0, 49)
    # ping(40) from run: ping -> pong -> ping ... 40 calls of pong; 5 more
    # from the call of ping(5) at the top level.
    assert edges[("ping", "pong")][1] == 45 and edges[("pong", "ping")][1] == 45
    assert edges[("run", "fact")][1] == edges[("run", "ping")][1] == 1


def test_snakeviz_json_stats_has_the_call_tree(primes_run, recursive_run):
    need("snakeviz")
    from snakeviz.stats import json_stats
    document = json_stats(pstats.Stats(str(primes_run.prof)))
    below, is_prime = primes_run.name("primes_below"), primes_run.name("is_prime")
    assert set(document) == {below, is_prime}
    assert list(document[below]["children"]) == [is_prime]
    assert document[below]["callers"] == {}
    assert list(document[is_prime]["callers"]) == [below]
    assert document[is_prime]["children"] == {}
    assert document[is_prime]["callers"][below][:2] == [60000, 60000]

    document = json_stats(pstats.Stats(str(recursive_run.prof)))
    name = recursive_run.name
    assert set(document) == {name(function) for function in ("run", "fact", "ping", "pong")}
    assert set(document[name("run")]["children"]) == {name("fact"), name("ping")}
    assert set(document[name("fact")]["children"]) == {name("fact")}
    assert set(document[name("fact")]["callers"]) == {name("fact"), name("run")}
    assert set(document[name("ping")]["children"]) == {name("pong")}
    assert set(document[name("pong")]["children"]) == {name("ping")}
    assert document[name("fact")]["stats"][:2] == [1, 50]


@pytest.fixture
def snakeviz_page(tmp_path):
    """snakeviz_page(prof) -> a Page of snakeviz's view of prof, served by
    `snakeviz -s` on loopback and loaded in a headless Chromium."""
    need("snakeviz")
    need("tornado")         # snakeviz's server; its websocket client drives Chromium
    chromium = find_chromium()
    processes = []

    def open_page(prof):
        # snakeviz takes another port if this one was taken meanwhile: the
        # address is read from what it prints.
        log = tmp_path / ("snakeviz-%d.log" % len(processes))
        server = start(processes, [sys.executable, "-m", "snakeviz", "-s", "-H", "127.0.0.1",
                                   "-p", str(free_port()), str(prof)], log,
                       env=dict(os.environ, PYTHONUNBUFFERED="1"))
        deadline = time.monotonic() + 60
        while True:
            url = re.search(r"^http://127\.0\.0\.1:\d+/\S+", log.read_text(), re.M)
            if url:
                break
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        folder = tmp_path / ("chromium-%d" % len(processes))
        log = tmp_path / ("chromium-%d.log" % len(processes))
        # The page's worker first tries to load its scripts from a CDN: every
        # name but the loopback address fails at once, so it loads snakeviz's.
        browser = start(processes, [
            chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--user-data-dir=%s" % folder, "--remote-debugging-port=0",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "about:blank"], log,
            env=browser_environment(tmp_path))
        return Page(browser, folder, url.group(0), log)

    yield open_page
    for process in reversed(processes):
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def browser_environment(tmp_path):
    """Chromium's environment: without the sanitizer session's preloaded ASan
    runtime (Chromium does not start with it), and with its temporary files
    in the test's folder."""
    env = {name: value for name, value in os.environ.items() if name != "LD_PRELOAD"}
    env["TMPDIR"] = str(tmp_path)
    return env


def start(processes, command, log, env=None):
    """Starts command with its output going to the file log."""
    with open(str(log), "wb") as output:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                   stdout=output, stderr=subprocess.STDOUT)
    processes.append(process)
    return process


# What the page drew: whether its error box shows, and the chart's shapes
# (rect: icicle, path: sunburst) with the call tree node each one draws.
CHART = """JSON.stringify({
    error: $('#sv-error-div').is(':visible'),
    shapes: d3.selectAll('#chart rect, #chart path').data().map(function (d) {
        return {name: d.name, depth: d.depth, time: d.time};
    }),
    tags: $('#chart rect, #chart path').map(function () { return this.tagName; }).get()
})"""


class Page:
    """A page in Chromium, driven through the DevTools protocol."""

    def __init__(self, browser, folder, url, log):
        port_file = folder / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and "\n" in port_file.read_text()):
            assert browser.poll() is None, "Chromium ended (its output: %s)" % log
            assert time.monotonic() < deadline, "Chromium opened no DevTools port"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port) as answer:
            targets = json.load(answer)
        self.socket_url = [target for target in targets
                           if target["type"] == "page"][0]["webSocketDebuggerUrl"]
        self.loop = asyncio.new_event_loop()
        self.socket = None
        self.ids = 0
        self.call("Page.navigate", url=url)

    def call(self, method, **params):
        return self.loop.run_until_complete(self._call(method, params))

    async def _call(self, method, params):
        from tornado.websocket import websocket_connect
        if self.socket is None:
            self.socket = await websocket_connect(self.socket_url, max_message_size=1 << 26)
        self.ids += 1
        self.socket.write_message(json.dumps({"id": self.ids, "method": method,
                                              "params": params}))
        while True:
            message = await asyncio.wait_for(self.socket.read_message(), 60)
            assert message is not None, "Chromium closed the DevTools connection"
            message = json.loads(message)
            if message.get("id") == self.ids:
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page; None while it
        throws (the page's scripts have not loaded yet)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            return None
        return result["result"].get("value")

    def chart(self, ready, seconds=60):
        """The drawn chart (see CHART) once ready(chart) is true."""
        deadline = time.monotonic() + seconds
        while True:
            text = self.evaluate(CHART)
            chart = json.loads(text) if text else None
            if chart and (chart["error"] or ready(chart)):
                return chart
            assert time.monotonic() < deadline, "snakeviz drew nothing: %s" % (chart,)
            time.sleep(0.2)

    def close(self):
        if self.socket is not None:
            self.loop.run_until_complete(self._close())
        self.loop.close()

    async def _close(self):
        self.socket.close()


def drawn(chart, tag):
    """{(name, depth): time} of the shapes of one kind."""
    return {(shape["name"], shape["depth"]): shape["time"]
            for shape, shape_tag in zip(chart["shapes"], chart["tags"]) if shape_tag == tag}


def test_snakeviz_draws_the_icicle_and_the_sunburst(primes_run, snakeviz_page):
    page = snakeviz_page(primes_run.prof)
    try:
        below, is_prime = primes_run.name("primes_below"), primes_run.name("is_prime")
        loaded, keys = primes_run.loaded, primes_run.keys
        call_time = loaded.stats[keys["is_prime"]][4][keys["primes_below"]][3]

        chart = page.chart(lambda chart: drawn(chart, "rect"))
        assert not chart["error"]
        icicle = drawn(chart, "rect")
        # The root is the function nothing called, the whole width; is_prime
        # below it as wide as the time of its calls from primes_below.
        assert icicle[(below, 0)] == pytest.approx(loaded.stats[keys["primes_below"]][3])
        assert icicle[(is_prime, 1)] == pytest.approx(call_time)

        page.evaluate("(function () { var select = document.getElementById('sv-style-select');"
                      " select.value = 'sunburst';"
                      " select.dispatchEvent(new Event('change')); return 1; })()")
        chart = page.chart(lambda chart: drawn(chart, "path"))
        assert not chart["error"]
        sunburst = drawn(chart, "path")
        assert sunburst[(below, 0)] == pytest.approx(loaded.stats[keys["primes_below"]][3])
        assert sunburst[(is_prime, 1)] == pytest.approx(call_time)
    finally:
        page.close()


def test_snakeviz_draws_recursion_from_every_function(recursive_run, snakeviz_page):
    page = snakeviz_page(recursive_run.prof)
    name = recursive_run.name
    try:
        chart = page.chart(lambda chart: drawn(chart, "rect"))
        assert not chart["error"]
        icicle = drawn(chart, "rect")
        # run is the root; the cycle ping -> pong -> ping stops where a
        # function comes back, as snakeviz cuts cProfile's recursion: below
        # pong is only its own time (a node of the same name), no ping again.
        assert {(name("run"), 0), (name("fact"), 1), (name("ping"), 1),
                (name("pong"), 2)} <= set(icicle)
        assert {shape for shape in icicle if shape[1] >= 3} == {(name("pong"), 3)}
        # Each function as the root, as a click on its row in the table draws it.
        for function in ("fact", "ping", "pong"):
            page.evaluate("sv_draw_vis(%s), 1" % json.dumps(name(function)))
            chart = page.chart(lambda chart: (name(function), 0) in drawn(chart, "rect"))
            assert not chart["error"], function
        assert set(drawn(chart, "rect")) >= {(name("pong"), 0), (name("ping"), 1)}
    finally:
        page.close()
