"""lineprof.middleware: per-request profiles behind real servers on loopback:
wsgiref's (single-threaded and ThreadingMixIn) and uvicorn (ASGI)."""
import os
import re
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import wsgiref.simple_server

import pytest

from lineprof import _tracer
from lineprof.datafile import load_stats
from lineprof.middleware import ASGIMiddleware, WSGIMiddleware
from lineprof.profiler import LineProfiler

NAME = re.compile(r"^(GET|POST)\.([^/]+)\.(\d+)ms\.(\d+)(\.overlap)?(\.\d+)?\.lprof$")
PER_THREAD = _tracer.BACKEND == "settrace"


def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def unused(n):
    return n + 1


def reference_hits(func, n):
    """The hits of func(n) as a plain LineProfiler counts them."""
    profiler = LineProfiler(func)
    with profiler:
        func(n)
    (lines,) = [lines for key, lines in profiler.get_stats().timings.items()
                if key[2] == func.__name__]
    return [(lineno, hits) for lineno, hits, _ in lines]


def hits_in(path, name):
    stats = load_stats(str(path))
    found = [lines for key, lines in stats.timings.items() if key[2] == name]
    assert len(found) == 1, stats.timings
    return [(lineno, hits) for lineno, hits, _ in found[0] if hits]


def make_app(gate=None):
    def app(environ, start_response):
        query = dict(part.split("=") for part in environ["QUERY_STRING"].split("&") if part)
        if gate is not None and "gate" in query:
            gate.wait(timeout=20)
        body = str(work(int(query.get("n", "3")))).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return app


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = False
    block_on_close = True


class Server:
    """A wsgiref server on 127.0.0.1 (a free port) in a thread; stop() waits
    for every request handled (so their profiles are written)."""

    def __init__(self, app, threading_server=False):
        server_class = _ThreadingWSGIServer if threading_server else wsgiref.simple_server.WSGIServer
        self.server = wsgiref.simple_server.make_server(
            "127.0.0.1", 0, app, server_class=server_class, handler_class=_QuietHandler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=30) as r:
            return r.read()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()      # joins the request threads (ThreadingMixIn)
        self.thread.join(30)


def files(folder):
    return sorted(os.listdir(str(folder)))


def test_wsgi_one_file_per_request_named_and_exact(tmp_path):
    app = WSGIMiddleware(make_app(), tmp_path, functions=[work, unused])
    server = Server(app)
    try:
        assert server.get("/questionnaire/page?n=5") == str(work(5)).encode()
        server.get("/?n=2")
        server.get("/questionnaire/page?n=7")
    finally:
        server.stop()
    names = files(tmp_path)
    assert len(names) == 3 and app.profiled == 3, names
    parsed = [NAME.match(name) for name in names]
    assert all(parsed), names
    assert sorted(match.group(2) for match in parsed) == [
        "questionnaire.page", "questionnaire.page", "root"]
    assert all(match.group(1) == "GET" and match.group(5) is None for match in parsed)
    assert all(abs(int(match.group(4)) - time.time()) < 300 for match in parsed)
    by_n = sorted(hits_in(tmp_path / name, "work") for name in names)
    assert by_n == sorted(reference_hits(work, n) for n in (5, 2, 7))
    for name in names:      # registered and never called: in the file, no hits
        assert hits_in(tmp_path / name, "unused") == []
    # mergeable: lineprof merge FOLDER sums the requests exactly
    out = tmp_path / "merged.out"
    subprocess.run([sys.executable, "-m", "lineprof", "merge", str(tmp_path), "-o", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    merged = hits_in(out, "work")
    expected = {}
    for n in (5, 2, 7):
        for lineno, hits in reference_hits(work, n):
            expected[lineno] = expected.get(lineno, 0) + hits
    assert merged == sorted(expected.items())


def test_wsgi_sample_limit_filter(tmp_path):
    never = WSGIMiddleware(make_app(), tmp_path / "never", functions=[work], sample=0.0)
    limited = WSGIMiddleware(make_app(), tmp_path / "limited", functions=[work], limit=2)
    filtered = WSGIMiddleware(make_app(), tmp_path / "filtered", functions=[work],
                              filter=lambda environ: environ["PATH_INFO"].startswith("/api/"))

    def route(environ, start_response):
        name = environ["PATH_INFO"].split("/")[1]
        environ["PATH_INFO"] = environ["PATH_INFO"][len(name) + 1:] or "/"
        return {"never": never, "limited": limited, "filtered": filtered}[name](
            environ, start_response)

    server = Server(route)
    try:
        for n in range(1, 5):
            server.get("/never/x?n=%d" % n)
            server.get("/limited/x?n=%d" % n)
        server.get("/filtered/api/a?n=4")
        server.get("/filtered/other?n=4")
        server.get("/filtered/api/b?n=6")
    finally:
        server.stop()
    assert files(tmp_path / "never") == [] and never.profiled == 0
    assert limited.profiled == 2
    limited_files = files(tmp_path / "limited")
    assert len(limited_files) == 2
    assert sorted(hits_in(tmp_path / "limited" / name, "work") for name in limited_files) == \
        sorted(reference_hits(work, n) for n in (1, 2))
    names = files(tmp_path / "filtered")
    assert [NAME.match(name).group(2) for name in names] in (["api.a", "api.b"], ["api.b", "api.a"])
    with pytest.raises(ValueError):
        WSGIMiddleware(make_app(), tmp_path, sample=1.5)
    with pytest.raises(ValueError):
        WSGIMiddleware(make_app(), tmp_path, overlap="mix")


def test_wsgi_targets_and_modules(tmp_path, monkeypatch):
    package = tmp_path / "src"
    package.mkdir()
    (package / "mw_views.py").write_text(textwrap.dedent("""\
        def view(n):
            out = []
            for i in range(n):
                out.append(i)
            return len(out)
        """))
    monkeypatch.syspath_prepend(str(package))
    import importlib
    module = importlib.import_module("mw_views")
    try:
        for kwargs in ({"targets": ["mw_views"]}, {"modules": ["mw_views"]}, {"modules": [module]}):
            folder = tmp_path / ("out%d" % len(os.listdir(str(tmp_path))))

            def app(environ, start_response):
                module.view(4)
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ok"]
            server = Server(WSGIMiddleware(app, folder, **kwargs))
            try:
                server.get("/v")
            finally:
                server.stop()
            (name,) = files(folder)
            assert hits_in(folder / name, "view") == reference_hits(module.view, 4), kwargs
    finally:
        sys.modules.pop("mw_views", None)


@pytest.mark.parametrize("overlap", ["mark", "skip"])
def test_wsgi_concurrent_requests_do_not_mix(tmp_path, overlap):
    """Two requests at once on a threading server: one is profiled, the other
    runs unprofiled; every file without .overlap holds exactly its request's
    lines, and with overlap='skip' every file written does."""
    gate = threading.Barrier(2)
    app = WSGIMiddleware(make_app(gate), tmp_path, functions=[work], overlap=overlap)
    server = Server(app, threading_server=True)
    try:
        results = []
        threads = [threading.Thread(target=lambda n=n: results.append(
            server.get("/pair?gate=1&n=%d" % n))) for n in (3, 8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(40)
        assert sorted(results) == sorted([str(work(3)).encode(), str(work(8)).encode()])
    finally:
        server.stop()       # both requests closed: the pair's profile is written
    server = Server(app)
    try:
        server.get("/after?n=5")        # alone: profiled, exact
    finally:
        server.stop()
    names = files(tmp_path)
    pair = [name for name in names if name.startswith("GET.pair.")]
    (after,) = [name for name in names if name.startswith("GET.after.")]
    assert NAME.match(after).group(5) is None
    assert hits_in(tmp_path / after, "work") == reference_hits(work, 5)
    exact = [reference_hits(work, 3), reference_hits(work, 8)]
    if PER_THREAD:
        # settrace traces the request's own thread only: no overlap to mark
        assert len(pair) == 1 and NAME.match(pair[0]).group(5) is None, names
        assert hits_in(tmp_path / pair[0], "work") in exact
        assert app.profiled == 2
    elif overlap == "mark":
        assert len(pair) == 1 and NAME.match(pair[0]).group(5) == ".overlap", names
        assert app.profiled == 2
    else:
        assert pair == [] and app.profiled == 1, names


ASGI_APP = '''\
import asyncio, sys
from lineprof.middleware import ASGIMiddleware

arrived = 0


def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


async def app(scope, receive, send):
    global arrived
    assert scope["type"] == "http"
    query = dict(part.split("=") for part in scope["query_string"].decode().split("&") if part)
    arrived += 1
    if "pair" in query:
        for _ in range(2000):           # until the other request of the pair has come
            if arrived >= int(query["pair"]):
                break
            await asyncio.sleep(0.01)
    body = str(work(int(query.get("n", "3")))).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    import uvicorn
    profiled = ASGIMiddleware(app, sys.argv[1], functions=[work], limit=int(sys.argv[3]))
    uvicorn.run(profiled, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                lifespan="off")
'''


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_asgi_under_uvicorn(tmp_path):
    pytest.importorskip("uvicorn", reason="uvicorn is not installed (nox installs it)")
    script = tmp_path / "asgi_app.py"
    script.write_text(ASGI_APP)
    folder = tmp_path / "profiles"
    port = free_port()
    process = subprocess.Popen([sys.executable, str(script), str(folder), str(port), "4"],
                               cwd=str(tmp_path))
    base = "http://127.0.0.1:%d" % port
    try:
        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None and time.time() < deadline, "uvicorn did not start"
                time.sleep(0.1)

        def get(path, into=None):
            with urllib.request.urlopen(base + path, timeout=30) as response:
                body = response.read()
            if into is not None:
                into.append(body)
            return body

        assert get("/?n=4") == b"14"
        get("/items/list/?n=6")
        # two requests at once: one profiled, marked .overlap; the other unprofiled
        results = []
        threads = [threading.Thread(target=get, args=("/pair?pair=4&n=%d" % n, results))
                   for n in (2, 9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(40)
        assert len(results) == 2
        get("/last?n=5")        # the 4th profiled request: the limit
        get("/beyond?n=5")      # not profiled
    finally:
        process.terminate()     # uvicorn finishes its requests and exits
        process.wait(30)
    names = files(folder)
    assert len(names) == 4, names
    by_path = {NAME.match(name).group(2): NAME.match(name) for name in names}
    assert sorted(by_path) == ["items.list", "last", "pair", "root"], names
    assert by_path["pair"].group(5) == ".overlap"
    sys.path.insert(0, str(tmp_path))
    try:
        import asgi_app
        for path, n in (("root", 4), ("items.list", 6), ("last", 5)):
            assert by_path[path].group(5) is None
            assert hits_in(folder / by_path[path].group(0), "work") == \
                reference_hits(asgi_app.work, n), path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("asgi_app", None)


def test_asgi_passes_lifespan_and_counts_in_process(tmp_path):
    """Without a server: lifespan passes through unprofiled, http is profiled."""
    import asyncio
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])
        if scope["type"] == "http":
            work(3)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    middleware = ASGIMiddleware(app, tmp_path, functions=[work])

    async def main():
        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            pass
        await middleware({"type": "lifespan"}, receive, send)
        await middleware({"type": "http", "method": "POST", "path": "/a/b"}, receive, send)

    asyncio.run(main()) if hasattr(asyncio, "run") else \
        asyncio.get_event_loop().run_until_complete(main())
    assert seen == ["lifespan", "http"]
    (name,) = files(tmp_path)
    assert NAME.match(name).group(1, 2) == ("POST", "a.b")
    assert hits_in(tmp_path / name, "work") == reference_hits(work, 3)
