"""The HTML report, read back from the DOM a headless Chromium builds after
the pages' scripts ran."""
import html
import html.parser
import importlib
import json
import os
import shutil
import subprocess
import sys

import pytest

import lineprof
from lineprof.html_report import write_html

from conftest import run_python

MODULE = '''\
def divides(n, divisor):
    return n % divisor == 0


def count_primes(limit):
    """Counts primes below limit; "<tags> & ampersands" stay text."""
    found = 0
    for n in range(2, limit):
        prime = True
        for divisor in range(2, n):
            if divides(n, divisor):
                prime = False
                break
        if prime:
            found += 1
    if limit < 0:
        print("<never> & never")
    return found


def never_called():
    return 1
'''


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("Chromium is needed for the HTML report's browser tests in CI")
    pytest.skip("Chromium is not installed (apt-get install chromium); CI runs these tests")


@pytest.fixture
def dump_dom(tmp_path):
    """dump_dom(path, query="", flags=()) -> the DOM of the page after its
    scripts ran."""
    chromium = find_chromium()

    def dump(path, query="", flags=()):
        result = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--user-data-dir=%s" % (tmp_path / "chromium-profile")] + list(flags)
            + ["--dump-dom", "file://%s%s" % (path, query)],
            capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "<html" in result.stdout, result.stderr
        return result.stdout
    return dump


class Page(html.parser.HTMLParser):
    """The rows of a report page: their attributes and cell texts, and the
    text of the element with id="summary"."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.rows = []
        self.summary = ""
        self._cell = None
        self._summary_depth = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._summary_depth:
            self._summary_depth += 1
        elif attrs.get("id") == "summary":
            self._summary_depth = 1
        if tag == "tr" and ("data-line" in attrs or "data-function" in attrs):
            self.rows.append({"attrs": attrs, "cells": []})
        elif tag == "td" and self.rows:
            self._cell = []

    def handle_endtag(self, tag):
        if self._summary_depth:
            self._summary_depth -= 1
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._summary_depth:
            self.summary += data


@pytest.fixture
def profile(tmp_path, monkeypatch):
    """The stats of count_primes(60) and a never-called function."""
    (tmp_path / "sample_module.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("sample_module")
    profiler = lineprof.LineProfiler(module.count_primes, module.never_called)
    profiler.runcall(module.count_primes, 60)
    yield profiler.get_stats()
    sys.modules.pop("sample_module", None)


def key_of(stats, name):
    (key,) = [key for key in stats.timings if key[2] == name]
    return key


def page_of(index_dom, name):
    (row,) = [row for row in Page(index_dom).rows if row["attrs"]["data-function"] == name]
    return row


def link_of(index_path, name):
    with open(index_path, encoding="utf-8") as stream:
        text = stream.read()
    marker = 'data-function="%s"' % name
    start = text.index('href="', text.index(marker)) + len('href="')
    return os.path.join(os.path.dirname(index_path), text[start:text.index('"', start)])


def test_index_lists_every_function_with_its_total_largest_first(tmp_path, profile, dump_dom):
    index = write_html(profile, str(tmp_path / "report" / "nested"), title="Primes & <co>")
    assert index == str(tmp_path / "report" / "nested" / "index.html")
    dom = dump_dom(index)
    rows = Page(dom).rows
    totals = {key[2]: sum(time for _, _, time in timings)
              for key, timings in profile.timings.items()}
    assert {row["attrs"]["data-function"]: int(row["attrs"]["data-total-ns"]) for row in rows} \
        == {name: int(round(total * profile.unit * 1e9)) for name, total in totals.items()}
    order = [row["attrs"]["data-function"] for row in rows]
    assert order == sorted(totals, key=lambda name: -totals[name])
    assert order[-1] == "never_called"
    first = rows[0]["cells"]
    assert first[0] == "count_primes" and first[1].endswith("sample_module.py")
    assert first[2] == "5"
    count_primes = profile.timings[key_of(profile, "count_primes")]
    assert first[4] == str(sum(hits for _, hits, _ in count_primes))
    assert "Primes &amp; &lt;co&gt;" in dom           # the title, escaped
    assert sys.version.split()[0] in dom
    # Nothing but the report: no leftover temporary files.
    assert sorted(os.listdir(os.path.dirname(index))) == [
        "f-1-count_primes.html", "f-2-never_called.html", "index.html"]


def test_index_sorts_as_the_address_asks(tmp_path, profile, dump_dom):
    index = write_html(profile, str(tmp_path / "report"))
    hits = {key[2]: sum(hits for _, hits, _ in timings) for key, timings in profile.timings.items()}

    def order(query):
        return [row["attrs"]["data-function"] for row in Page(dump_dom(index, query)).rows]
    assert order("?sort=hits&order=asc") == sorted(hits, key=lambda name: hits[name])
    assert order("?sort=name") == sorted(hits)
    assert order("?sort=name&order=desc") == sorted(hits, reverse=True)


def test_function_page_shows_every_line_and_the_hottest(tmp_path, profile, dump_dom):
    index = write_html(profile, str(tmp_path / "report"))
    page = link_of(index, "count_primes")
    assert os.path.basename(page).startswith("f-") and page.endswith("-count_primes.html")
    parsed = Page(dump_dom(page))
    timings = profile.timings[key_of(profile, "count_primes")]
    recorded = {lineno: (hits, time) for lineno, hits, time in timings}
    source = MODULE.splitlines()
    # Every line of the function, from `def` to `return found`.
    assert [int(row["attrs"]["data-line"]) for row in parsed.rows] == list(range(5, 19))
    for row in parsed.rows:
        lineno = int(row["attrs"]["data-line"])
        hits, time = recorded.get(lineno, (0, 0))
        assert int(row["attrs"]["data-hits"]) == hits
        assert int(row["attrs"]["data-time-ns"]) == int(round(time * profile.unit * 1e9))
        assert row["cells"][0] == str(lineno)
        assert row["cells"][1] == (str(hits) if lineno in recorded else "")
        assert row["cells"][-1] == source[lineno - 1]   # escaped, and read back as text
        assert ("unrun" in row["attrs"].get("class", "")) == (not hits)
    hottest_line = max(timings, key=lambda row: row[2])[0]
    hottest = [row for row in parsed.rows if "hottest" in row["attrs"].get("class", "").split()]
    assert [int(row["attrs"]["data-line"]) for row in hottest] == [hottest_line]
    assert "hottest" in hottest[0]["cells"][-2]       # the visible label
    share = 100.0 * recorded[hottest_line][1] / sum(time for _, _, time in timings)
    assert parsed.summary == "Hottest line: %d — %s — %.1f%% of the function's time" % (
        hottest_line, source[hottest_line - 1].strip(), share)


WRITE_REPORT = """\
import sys
import lineprof
from lineprof.html_report import write_html
print(write_html(lineprof.load_stats(sys.argv[1]), sys.argv[2]))
"""


@pytest.mark.parametrize("pygments", ["installed", "hidden"])
def test_source_reads_the_same_with_and_without_pygments(tmp_path, profile, dump_dom, without,
                                                         pygments):
    if pygments == "installed":
        pytest.importorskip("pygments")
        env = {}
    else:
        env = without("pygments")
    profile.to_file(str(tmp_path / "sample.lprof"))
    result = run_python(["-c", WRITE_REPORT, "sample.lprof", "report"], tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    page = link_of(str(tmp_path / result.stdout.strip()), "count_primes")
    with open(page, encoding="utf-8") as stream:
        text = stream.read()
    coloured = '<span class="k">for</span>' in text
    assert coloured == (pygments == "installed")
    assert ("td.code .k" in text) == coloured          # Pygments' CSS, inline
    assert "&lt;tags&gt;" in text and "<tags>" not in text
    rows = Page(dump_dom(page)).rows
    source = MODULE.splitlines()
    assert [row["cells"][-1] for row in rows] == source[4:18]


def test_report_of_a_kernprof_run_names_its_command_line(tmp_path, kernprof, dump_dom):
    (tmp_path / "script.py").write_text(
        "@profile\ndef work(n):\n    total = 0\n    for i in range(n):\n"
        "        total += i\n    return total\n\nwork(1000)\n")
    result = kernprof("-l", "-q", "script.py", "an argument")
    assert result.returncode == 0, result.stderr
    stats = lineprof.load_stats(str(tmp_path / "script.py.lprof"))
    index = write_html(stats, str(tmp_path / "html"))
    dom = dump_dom(index)
    assert "script.py 'an argument'" in dom
    assert "Line profile of script.py" in dom
    assert "Timer unit" in dom and "1e-06 s" in dom
    (row,) = Page(dom).rows
    assert row["attrs"]["data-function"] == "work"
    parsed = Page(dump_dom(link_of(index, "work")))
    hits = {int(row["attrs"]["data-line"]): int(row["attrs"]["data-hits"]) for row in parsed.rows}
    assert hits == {1: 0, 2: 0, 3: 1, 4: 1001, 5: 1000, 6: 1}


def test_hottest_row_is_scrolled_into_view(tmp_path, monkeypatch, dump_dom):
    # A long function whose hottest line is far below the first screen.
    body = "".join("    x = %d\n" % number for number in range(200))
    body += "    for _ in range(20000):\n        x += 1\n    return x\n"
    (tmp_path / "long_module.py").write_text("def long_function():\n" + body)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("long_module")
    del sys.modules["long_module"]
    profiler = lineprof.LineProfiler(module.long_function)
    profiler.runcall(module.long_function)
    index = write_html(profiler.get_stats(), str(tmp_path / "report"))
    page = link_of(index, "long_function")
    with open(page, encoding="utf-8") as stream:
        text = stream.read()
    assert 'scrollIntoView({block: "center"})' in text
    # A page that frames the report's page and writes down where its
    # hottest row ended up (reading a file:// frame needs
    # --allow-file-access-from-files).
    harness = tmp_path / "harness.html"
    harness.write_text(HARNESS % os.path.relpath(page, str(tmp_path)))
    dom = dump_dom(harness, flags=["--allow-file-access-from-files"])
    start = dom.index('<pre id="result">') + len('<pre id="result">')
    place = json.loads(html.unescape(dom[start:dom.index("</pre>", start)]))
    assert place["scrollY"] > 0
    assert 0 <= place["top"] and place["bottom"] <= place["height"], place


HARNESS = """<!DOCTYPE html>
<html><body>
<iframe id="page" src="%s" style="width:800px;height:600px"></iframe>
<pre id="result"></pre>
<script>
document.getElementById("page").addEventListener("load", function () {
  var frame = this.contentWindow;
  var box = frame.document.querySelector("tr.hottest").getBoundingClientRect();
  document.getElementById("result").textContent = JSON.stringify(
      {top: box.top, bottom: box.bottom, height: frame.innerHeight, scrollY: frame.scrollY});
});
</script>
</body></html>
"""


# ---- own time and the call graph ------------------------------------------------

@pytest.fixture
def primes(tmp_path, primes_stats):
    """primes_stats (primes_below calls is_prime from its line 18, both
    profiled) and its HTML report."""
    stats, _ = primes_stats
    assert len(stats.edges) == 1
    return stats, write_html(stats, str(tmp_path / "report"))


class Tables(html.parser.HTMLParser):
    """The body rows of the tables with an id: tables[id] is a list of rows,
    each {"attrs": ..., "cells": [(text, href or None), ...]}; ids holds the
    id of every element."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tables, self.ids = {}, set()
        self._table = self._cell = None
        self._in_body = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "table" and "id" in attrs:
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table is not None and self._in_body:
            self._table.append({"attrs": attrs, "cells": []})
        elif tag == "td" and self._table:
            self._cell = [[], None]
        elif tag == "a" and self._cell is not None:
            self._cell[1] = attrs.get("href")

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self._table[-1]["cells"].append(("".join(self._cell[0]).strip(), self._cell[1]))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0].append(data)


def percent(text):
    assert text.endswith("%"), text
    return float(text[:-1])


def test_index_shows_own_time_and_shares_that_add_up(primes, dump_dom):
    stats, index = primes
    dom = dump_dom(index)
    rows = Page(dom).rows
    assert len(rows) == 2
    header = dom[dom.index("<thead>"):dom.index("</thead>")]
    assert "Own time</th>" in header and "Own share of profiled time</th>" in header
    own_ns = {row["attrs"]["data-function"]: int(row["attrs"]["data-own-ns"]) for row in rows}
    total_ns = {row["attrs"]["data-function"]: int(row["attrs"]["data-total-ns"])
                for row in rows}
    keys = {key[2]: key for key in stats.timings}
    for name, key in keys.items():
        assert abs(own_ns[name] - stats.own_time(key) * 1e9) <= 1
    # The caller's own time leaves out its callee's; the leaf's is its total.
    assert 0 < own_ns["primes_below"] < total_ns["primes_below"]
    assert own_ns["is_prime"] == total_ns["is_prime"]
    # The shares shown: own / profiled time, adding up to 100% (the totals
    # would count is_prime twice).
    shares = {row["attrs"]["data-function"]: percent(row["cells"][-1]) for row in rows}
    profiled_ns = sum(own_ns.values())
    for name, share in shares.items():
        assert abs(share - 100.0 * own_ns[name] / profiled_ns) <= 0.051
    assert abs(sum(shares.values()) - 100.0) <= 0.1
    assert sum(total_ns.values()) > profiled_ns
    assert abs(profiled_ns - stats.profiled_time() * 1e9) <= 2
    # The own time column reads as the index's other times, and sorts.
    for row in rows:
        assert row["cells"][5] in dom and row["cells"][5].endswith("s")
    order = [row["attrs"]["data-function"] for row in Page(dump_dom(index, "?sort=own")).rows]
    assert order == sorted(own_ns, key=lambda name: -own_ns[name])
    assert "Profiled time" in dom


def follow(page, href):
    """The file an href of page leads to, and its fragment (or "")."""
    assert href and "://" not in href and not href.startswith("/"), href
    path, _, fragment = href.partition("#")
    target = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
    assert os.path.isfile(target), href
    return target, fragment


def test_function_pages_link_callers_and_callees(primes, dump_dom):
    stats, index = primes
    ((caller, lineno, callee), (calls, time)), = stats.edges.items()
    assert (caller[2], lineno, callee[2]) == ("primes_below", 18, "is_prime")
    time_ns = str(int(round(time * stats.unit * 1e9)))
    caller_page, callee_page = link_of(index, "primes_below"), link_of(index, "is_prime")

    # The caller's page: the calling line, in this page, and the callee's page.
    dom = dump_dom(caller_page)
    tables = Tables(dom)
    assert "callers" not in tables.tables
    (row,) = tables.tables["callees"]
    assert row["attrs"]["data-calls"] == str(calls) == "60000"
    assert row["attrs"]["data-time-ns"] == time_ns
    (line_text, line_href), (name_text, name_href) = row["cells"][:2]
    assert (line_text, name_text, row["cells"][2][0]) == ("line 18", "is_prime", "60000")
    assert follow(caller_page, line_href) == (caller_page, "L18")
    lines = {row["attrs"]["id"]: row for row in Page(dom).rows}
    assert "if is_prime(n):" in lines["L18"]["cells"][-1]
    target, fragment = follow(caller_page, name_href)
    assert target == callee_page and fragment in ("", "L%d" % callee[1])
    assert "<h1>is_prime</h1>" in dump_dom(target)
    share = 100.0 * time / sum(t for _, _, t in stats.timings[caller])
    assert abs(percent(row["cells"][4][0]) - share) <= 0.051
    assert "Own time" in dom

    # The callee's page: its caller's page, and the calling line there.
    dom = dump_dom(callee_page)
    tables = Tables(dom)
    assert "callees" not in tables.tables
    (row,) = tables.tables["callers"]
    assert row["attrs"]["data-calls"] == "60000" and row["attrs"]["data-time-ns"] == time_ns
    (name_text, name_href), (line_text, line_href) = row["cells"][:2]
    assert (name_text, line_text) == ("primes_below", "line 18")
    assert follow(callee_page, name_href)[0] == caller_page
    target, fragment = follow(callee_page, line_href)
    assert (target, fragment) == (caller_page, "L18")
    assert fragment in Tables(dump_dom(target)).ids


def test_a_calling_line_link_lands_on_its_row_in_the_browser(primes, dump_dom, tmp_path):
    # Chromium follows the "line 18" link of is_prime's page: the caller's
    # page opens with its row 18 as the :target.
    _, index = primes
    harness = tmp_path / "follow.html"
    harness.write_text(FOLLOW_HARNESS % os.path.relpath(link_of(index, "is_prime"),
                                                        str(tmp_path)))
    dom = dump_dom(harness, flags=["--allow-file-access-from-files"])
    start = dom.index('<pre id="result">') + len('<pre id="result">')
    landed = json.loads(html.unescape(dom[start:dom.index("</pre>", start)]))
    assert landed["path"] == link_of(index, "primes_below")
    assert landed["hash"] == "#L18" and landed["target"] == "L18"
    assert "if is_prime(n):" in landed["text"]


FOLLOW_HARNESS = """<!DOCTYPE html>
<html><body>
<iframe id="page" src="%s" style="width:800px;height:600px"></iframe>
<pre id="result"></pre>
<script>
var clicked = false;
document.getElementById("page").addEventListener("load", function () {
  var frame = this.contentWindow;
  if (!clicked) {
    clicked = true;
    frame.document.querySelector("#callers a[href*='#L']").click();
    return;
  }
  var target = frame.document.querySelector(":target");
  document.getElementById("result").textContent = JSON.stringify(
      {path: decodeURIComponent(frame.location.pathname), hash: frame.location.hash,
       target: target && target.id, text: target && target.textContent});
});
</script>
</body></html>
"""


def test_a_profile_without_edges_reads_as_before(tmp_path, profile, dump_dom):
    # count_primes calls divides, which is not profiled: no edges, so no own
    # time, no call tables, and the shares of the totals as before.
    assert not profile.edges
    index = write_html(profile, str(tmp_path / "report"))
    dom = dump_dom(index)
    assert "Own" not in dom and "data-own-ns" not in dom
    assert "Share of profiled time</th>" in dom
    rows = Page(dom).rows
    total_ns = {row["attrs"]["data-function"]: int(row["attrs"]["data-total-ns"])
                for row in rows}
    for row in rows:
        share = 100.0 * total_ns[row["attrs"]["data-function"]] / sum(total_ns.values())
        assert abs(percent(row["cells"][-1]) - share) <= 0.051
    page = dump_dom(link_of(index, "count_primes"))
    assert Tables(page).tables.keys() == set() and "Own time" not in page


def test_memory_columns_as_the_browser_shows_them(tmp_path, dump_dom, monkeypatch):
    (tmp_path / "grow_module.py").write_text(
        "def grow(n):\n    data = [str(i) for i in range(n)]\n    del data\n    return n\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("grow_module")
    try:
        profiler = lineprof.LineProfiler(module.grow, memory=True)
        profiler.runcall(module.grow, 20000)
        profiler.memory = False
        stats = profiler.get_stats()
    finally:
        sys.modules.pop("grow_module", None)
    index = write_html(stats, str(tmp_path / "report"))
    page = link_of(index, "grow")
    dom = dump_dom(page)
    assert "<th>Net</th><th>Peak</th>" in dom
    rows = {int(row["attrs"]["data-line"]): row for row in Page(dom).rows}
    (memory,) = stats.memory.values()
    built, dropped = rows[2], rows[3]
    assert int(built["attrs"]["data-allocated"]) == memory[2][0] > 20000 * 40
    assert int(dropped["attrs"]["data-freed"]) == memory[3][1]
    # The cells after % Time: Net and Peak, in scaled units.
    assert built["cells"][5].endswith("KiB") or built["cells"][5].endswith("MiB")
    assert dropped["cells"][5].startswith("-")
    # The peak while `del` ran is the list's size, still live when it began.
    assert int(dropped["attrs"]["data-peak"]) >= memory[2][0] - memory[2][1]
    assert dropped["cells"][6] != ""
