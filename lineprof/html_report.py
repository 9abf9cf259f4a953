"""A static HTML report of a profile: a folder to open in any browser.

`write_html(stats, directory)` writes:

- ``index.html``: one row per profiled function (name, file, first line,
  total time, total hits, own time when known, share of all profiled time),
  most expensive first; clicking a header sorts by that column, and
  ``index.html?sort=hits`` (``name``, ``file``, ``time``, ``hits``,
  ``own``; ``&order=asc`` or ``desc``) opens the page sorted so.
- ``f-<n>-<name>.html`` per function: its source from its first line to its
  last, with the hits, time, time per hit and share of each line as the
  text report shows them, and a heat bar per line whose length and colour
  (blue to red) follow the line's share of the function's time. A box at the
  top names the hottest line and links to it; the page scrolls to that row
  when it opens. Lines that never ran are dimmed.

When the profile has its call graph (LineStats.edges: which profiled
function called which, from which line, how often and for how long), the
index also shows each function's own time (its time less that of the
profiled functions it called), the share column becomes the share of own
time in all profiled time counted once (the shares add up to 100%), and
each function page lists, above its lines, the profiled functions that
called it (linked to their calling line) and those it called from which of
its lines (linked to their pages). Profiles without edges (older files,
line_profiler's) give the report as before, where a profiled function
called by another counts in the time and share of both.

Everything is inline (CSS, a few lines of JavaScript, the Pygments colours
when Pygments is installed): the folder works offline, and with JavaScript
off the tables read the same, only unsorted by click and unscrolled.
Rows carry data attributes for scripts: ``data-line``, ``data-hits``,
``data-time-ns`` on a function page, ``data-function`` and ``data-total-ns``
on the index, with ``data-own-ns`` when the profile has edges; on a function
page, the rows of the tables ``#callers`` and ``#callees`` carry
``data-calls`` and ``data-time-ns``.
"""
import datetime
import html
import os
import re
import shlex

from lineprof.datafile import write_atomically
from lineprof.text_report import _cells, _source_lines

# The unit of the per-line Time and Per Hit columns unless the caller picks
# one: microseconds, as `kernprof -l -v` shows them.
DEFAULT_OUTPUT_UNIT = 1e-6

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 1.5em 2em; color: #1d232a; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 0.4em; }
a { color: #0b5cad; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.15em 1em;
          margin: 0 0 1.2em; font-size: 0.92em; }
dl.meta dt { color: #5a6470; }
dl.meta dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace;
             overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: 0.9em; }
th { text-align: right; padding: 0.35em 0.6em; border-bottom: 2px solid #c9d1d9;
     background: #f3f5f7; white-space: nowrap; position: sticky; top: 0; z-index: 1; }
th.text, td.text { text-align: left; }
td { padding: 0.1em 0.6em; text-align: right; white-space: nowrap;
     font-variant-numeric: tabular-nums; }
table.functions td { padding: 0.3em 0.6em; border-bottom: 1px solid #eceff2; }
table.functions td.file { white-space: normal; overflow-wrap: anywhere; max-width: 40em;
                          font-family: ui-monospace, Menlo, Consolas, monospace;
                          font-size: 0.92em; color: #4a5561; }
th[data-sort] { cursor: pointer; user-select: none; }
th[data-sort]:hover { background: #e4e9ee; }
th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 0.75em; }
th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 0.75em; }
.track { display: inline-block; width: 8em; height: 0.8em; background: #eef1f4;
         border-radius: 2px; vertical-align: middle; }
.bar { height: 100%; border-radius: 2px; }
table.lines { font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace;
              font-size: 0.85em; }
table.lines td { line-height: 1.45; }
table.lines td.heat { text-align: left; }
table.lines td.code { text-align: left; white-space: pre; padding-left: 1em; }
table.lines td.lineno a { color: #8a949e; text-decoration: none; }
tr.unrun td { color: #a7aeb5; }
tr.unrun td.code, tr.unrun td.code span { color: #a7aeb5 !important; }
tr.hottest td { background: #fff1e6; }
tr.hottest td:first-child { box-shadow: inset 4px 0 0 #d1361b; }
tr:target td { background: #fff7c2; }
.label { display: inline-block; margin-left: 0.5em; padding: 0 0.4em; border-radius: 3px;
         background: #d1361b; color: #fff; font-family: system-ui, sans-serif;
         font-size: 0.8em; font-weight: 600; vertical-align: middle; }
.summary { border: 1px solid #f0b59c; background: #fff6f1; border-radius: 6px;
           padding: 0.7em 1em; margin: 0 0 1.2em; max-width: 60em; }
.summary code { background: #fde3d6; padding: 0 0.3em; border-radius: 3px; }
.note { color: #5a6470; font-size: 0.9em; }
h2 { font-size: 1.1em; margin: 1.2em 0 0.4em; }
table.calls { margin: 0 0 1em; }
table.calls td { padding: 0.2em 0.6em; border-bottom: 1px solid #eceff2; }
"""

# Sorts the index: by a header click (a second click reverses), or by
# ?sort=KEY&order=asc|desc in the address. Cells hold their sort key in
# data-value; times and hits start largest first, names and files A to Z.
_SORT_SCRIPT = """
(function () {
  var table = document.getElementById("functions");
  if (!table) return;
  var headers = table.querySelectorAll("th[data-sort]");
  function sortBy(key, order) {
    var header = table.querySelector('th[data-sort="' + key + '"]');
    if (!header) return;
    var column = header.cellIndex, numeric = header.dataset.type === "number";
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var sign = order === "asc" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
      var difference = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return sign * difference || a.dataset.order - b.dataset.order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", order === "asc" ? "ascending" : "descending");
  }
  headers.forEach(function (header) {
    header.addEventListener("click", function () {
      var current = header.getAttribute("aria-sort");
      var order = current ? (current === "ascending" ? "desc" : "asc")
                          : header.dataset.first;
      sortBy(header.dataset.sort, order);
    });
  });
  var query = new URLSearchParams(window.location.search);
  var key = query.get("sort");
  if (key) {
    var header = table.querySelector('th[data-sort="' + key + '"]');
    if (header) sortBy(key, query.get("order") || header.dataset.first);
  }
})();
"""

# Brings the hottest row into view, unless the address names another line.
_SCROLL_SCRIPT = """
window.addEventListener("load", function () {
  if (window.location.hash) return;
  var row = document.querySelector("tr.hottest");
  if (row) row.scrollIntoView({block: "center"});
});
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="lineprof">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{body}
<script>{script}</script>
</body>
</html>
"""


def write_html(stats, directory, title=None, output_unit=None):
    """Writes the report of stats (a LineStats) into directory, creating it;
    returns the path of its index.html. output_unit is the unit of the
    per-line times in seconds (default: microseconds)."""
    os.makedirs(directory, exist_ok=True)
    output_unit = output_unit or DEFAULT_OUTPUT_UNIT
    title = title or _default_title(stats.metadata)
    highlighter = _highlighter()
    page_names = {}
    for number, key in enumerate(sorted(stats.timings), 1):
        page_names[key] = "f-%d-%s.html" % (number, _slug(key[2]))
    graph = _CallGraph(stats)
    for key, page_name in page_names.items():
        page = _function_page(stats, key, title, output_unit, highlighter, page_names, graph)
        write_atomically(os.path.join(directory, page_name), page.encode("utf-8"))
    index = os.path.join(directory, "index.html")
    write_atomically(index, _index_page(stats, page_names, title, output_unit,
                                        graph).encode("utf-8"))
    return index


class _CallGraph:
    """The edges of a LineStats by function, and each function's own time
    (in the stats' unit: its total less its calls to profiled functions, as
    LineStats.own_time). Empty for a profile without edges."""

    def __init__(self, stats):
        self.edges = dict(getattr(stats, "edges", None) or {})
        self.callers = {}
        self.callees = {}
        for (caller, lineno, callee), (calls, time) in self.edges.items():
            self.callers.setdefault(callee, []).append((caller, lineno, calls, time))
            self.callees.setdefault(caller, []).append((lineno, callee, calls, time))
        self.totals = {key: sum(time for _, _, time in timings)
                       for key, timings in stats.timings.items()}
        self.own = {key: max(0, total - sum(time for _, _, _, time in self.callees.get(key, ())))
                    for key, total in self.totals.items()}


def _default_title(metadata):
    argv = metadata.get("argv")
    if isinstance(argv, (list, tuple)) and argv:
        return "Line profile of %s" % os.path.basename(str(argv[0]))
    return "Line profile"


def _slug(name):
    return re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")[:40] or "function"


def _seconds(value):
    """A duration for people: 1.23 s, 45.6 ms, 789 µs, 12 ns."""
    if value == 0:
        return "0 s"
    if value >= 1:
        return "%.3f s" % value
    if value >= 1e-3:
        return "%.2f ms" % (value * 1e3)
    if value >= 1e-6:
        return "%.2f µs" % (value * 1e6)
    return "%.0f ns" % (value * 1e9)


def _nanoseconds(time, unit):
    return int(round(time * unit * 1e9))


def _heat_colour(share):
    """Blue for a small share of the function's time, through violet, to red
    for all of it (the way round the colour wheel that avoids green, which
    reads as "good")."""
    return "hsl(%d, 75%%, 50%%)" % (round(220 + 140 * share) % 360)


def _page(title, body, script, extra_style=""):
    return _PAGE.format(title=html.escape(title), style=_STYLE + extra_style, body=body,
                        script=script)


def _metadata_rows(metadata, output_unit):
    """(label, text) of what the header says about the run."""
    rows = []
    start_time = metadata.get("start_time")
    if isinstance(start_time, (int, float)):
        try:
            moment = datetime.datetime.fromtimestamp(start_time).astimezone()
            rows.append(("Profiled", moment.strftime("%Y-%m-%d %H:%M:%S %Z")))
        except (OverflowError, OSError, ValueError):
            pass
    if metadata.get("python"):
        rows.append(("Python", str(metadata["python"])))
    argv = metadata.get("argv")
    if isinstance(argv, (list, tuple)) and argv:
        rows.append(("Command line", " ".join(shlex.quote(str(arg)) for arg in argv)))
    elif argv:
        rows.append(("Command line", str(argv)))
    timer = ", ".join(str(metadata[name]) for name in ("timer", "backend") if metadata.get(name))
    if timer:
        rows.append(("Timer", timer))
    rows.append(("Timer unit", "%g s" % output_unit))
    return rows


def _metadata_list(rows):
    items = "".join("<dt>%s</dt><dd>%s</dd>" % (html.escape(label), html.escape(text))
                    for label, text in rows)
    return '<dl class="meta">%s</dl>' % items


def _index_page(stats, page_names, title, output_unit, graph):
    totals = graph.totals
    # Without edges a function's own time is its total: the same shares as
    # before, where nested calls count twice.
    with_edges = bool(graph.edges)
    own = graph.own if with_edges else totals
    profiled_time = sum(own.values())
    by_time = sorted(stats.timings, key=lambda key: (-totals[key], key))
    rows = []
    for order, key in enumerate(by_time):
        filename, first_lineno, name = key
        hits = sum(hits for _, hits, _ in stats.timings[key])
        share = own[key] / profiled_time if profiled_time else 0.0
        total_ns = _nanoseconds(totals[key], stats.unit)
        own_ns = _nanoseconds(own[key], stats.unit)
        rows.append(
            '<tr data-order="%d" data-function="%s" data-total-ns="%d"%s>'
            '<td class="text" data-value="%s"><a href="%s">%s</a></td>'
            '<td class="text file" data-value="%s">%s</td>'
            '<td>%d</td>'
            '<td data-value="%d">%s</td>'
            '<td data-value="%d">%d</td>%s'
            '<td><span class="track"><span class="bar" style="display:block;width:%.1f%%;'
            'background:%s"></span></span> %.1f%%</td></tr>'
            % (order, html.escape(name), total_ns,
               ' data-own-ns="%d"' % own_ns if with_edges else "",
               html.escape(name.lower()), html.escape(page_names[key]), html.escape(name),
               html.escape(filename.lower()), html.escape(filename),
               first_lineno,
               total_ns, _seconds(totals[key] * stats.unit),
               hits, hits,
               '<td data-value="%d">%s</td>' % (own_ns, _seconds(own[key] * stats.unit))
               if with_edges else "",
               100 * share, _heat_colour(share), 100 * share))
    header = (
        '<thead><tr>'
        '<th class="text" data-sort="name" data-first="asc">Function</th>'
        '<th class="text" data-sort="file" data-first="asc">File</th>'
        '<th>Line</th>'
        '<th data-sort="time" data-type="number" data-first="desc" aria-sort="descending">'
        'Total time</th>'
        '<th data-sort="hits" data-type="number" data-first="desc">Hits</th>%s'
        '<th class="text">%s</th>'
        '</tr></thead>'
        % ('<th data-sort="own" data-type="number" data-first="desc">Own time</th>'
           if with_edges else "",
           "Own share of profiled time" if with_edges else "Share of profiled time"))
    if with_edges:
        note = ("Click a header to sort. A function's total time includes the profiled "
                "functions it called; its own time leaves them out, so each moment counts "
                "once: the own shares add up to 100%% of the profiled time, %s."
                % html.escape(_seconds(profiled_time * stats.unit)))
    else:
        note = "Click a header to sort. A profiled function called by another counts in the " \
               "time of both."
    if rows:
        table = ('<table class="functions" id="functions">%s<tbody>\n%s\n</tbody></table>\n'
                 '<p class="note">%s</p>' % (header, "\n".join(rows), note))
    else:
        table = "<p>No functions were profiled.</p>"
    meta = _metadata_rows(stats.metadata, output_unit)
    if with_edges:
        meta.append(("Profiled time", "%s (each nested call counted once)"
                     % _seconds(profiled_time * stats.unit)))
    body = "<h1>%s</h1>\n%s\n%s" % (html.escape(title), _metadata_list(meta), table)
    return _page(title, body, _SORT_SCRIPT)


def _function_link(key, page_names, lineno=None):
    """A link to a function's page, or to one of its lines (the text is
    then "line N"); the text alone if the function has no page. Its
    tooltip tells functions of the same name apart: file and line."""
    text = html.escape(key[2]) if lineno is None else "line %d" % lineno
    if key not in page_names:
        return text
    anchor = "" if lineno is None else "#L%d" % lineno
    return '<a href="%s%s" title="%s">%s</a>' % (
        html.escape(page_names[key]), anchor,
        html.escape("%s:%d" % (key[0], key[1] if lineno is None else lineno)), text)


def _calls_tables(stats, key, page_names, graph):
    """The "Called from" and "Calls to profiled functions" tables of a
    function's page (nothing when it has neither)."""
    parts = []
    callers = sorted(graph.callers.get(key, ()), key=lambda edge: (-edge[3], edge[0], edge[1]))
    if callers:
        rows = "\n".join(
            '<tr data-calls="%d" data-time-ns="%d">'
            '<td class="text">%s</td><td class="text">%s</td><td>%d</td><td>%s</td></tr>'
            % (calls, _nanoseconds(time, stats.unit),
               _function_link(caller, page_names),
               _function_link(caller, page_names, lineno),
               calls, _seconds(time * stats.unit))
            for caller, lineno, calls, time in callers)
        parts.append(
            '<h2>Called from</h2>\n<table class="calls" id="callers"><thead><tr>'
            '<th class="text">Profiled caller</th><th class="text">Calling line</th>'
            '<th>Calls</th><th>Time</th></tr></thead><tbody>\n%s\n</tbody></table>' % rows)
    callees = sorted(graph.callees.get(key, ()), key=lambda edge: (edge[0], -edge[3], edge[1]))
    if callees:
        total = graph.totals.get(key, 0)
        rows = "\n".join(
            '<tr data-calls="%d" data-time-ns="%d">'
            '<td class="text"><a href="#L%d">line %d</a></td><td class="text">%s</td>'
            '<td>%d</td><td>%s</td><td>%s</td></tr>'
            % (calls, _nanoseconds(time, stats.unit), lineno, lineno,
               _function_link(callee, page_names), calls, _seconds(time * stats.unit),
               "%.1f%%" % (100.0 * time / total) if total else "")
            for lineno, callee, calls, time in callees)
        parts.append(
            '<h2>Calls to profiled functions</h2>\n<table class="calls" id="callees"><thead><tr>'
            '<th class="text">From line</th><th class="text">Profiled callee</th>'
            '<th>Calls</th><th>Time</th><th>%% of this function\'s time</th></tr></thead>'
            '<tbody>\n%s\n</tbody></table>' % rows)
    return "\n".join(parts) + "\n" if parts else ""


def _function_page(stats, key, title, output_unit, highlighter, page_names, graph):
    filename, first_lineno, name = key
    timings = stats.timings[key]
    total_time = sum(time for _, _, time in timings)
    total_hits = sum(hits for _, hits, _ in timings)
    source = _source_lines(filename, first_lineno, timings)
    if source is None:
        numbered = [(lineno, "") for lineno, _, _ in timings]
    else:
        numbered = list(enumerate((line.rstrip("\r\n") for line in source), first_lineno))
    cells = _cells(timings, stats.unit / output_unit, total_time)
    counts = {lineno: (hits, time) for lineno, hits, time in timings}
    memory = None
    if stats.memory:
        from lineprof.memory import line_cells
        memory = stats.memory.get(key, {})
        memory_cells = line_cells(memory)
    hottest = None
    if total_time:
        hottest = max(timings, key=lambda row: (row[2], -row[0]))[0]

    rows = []
    for lineno, text in numbered:
        hits, time = counts.get(lineno, (0, 0))
        share = time / total_time if total_time else 0.0
        classes = []
        if not hits:
            classes.append("unrun")
        if lineno == hottest:
            classes.append("hottest")
        heat = ""
        if time:
            heat = ('<span class="track"><span class="bar" style="display:block;'
                    'width:%.1f%%;background:%s"></span></span>'
                    % (100 * share, _heat_colour(share)))
        if lineno == hottest:
            heat += '<span class="label">hottest</span>'
        numbers = "".join("<td>%s</td>" % html.escape(cell.strip())
                          for cell in cells.get(lineno, ("", "", "", "")))
        memory_attributes = ""
        if memory is not None:
            numbers += "".join("<td>%s</td>" % html.escape(cell)
                               for cell in memory_cells.get(lineno, ("", "")))
            if lineno in memory:
                allocated, freed, peak = memory[lineno]
                memory_attributes = (' data-allocated="%d" data-freed="%d" data-peak="%d"'
                                     % (allocated, freed, peak))
        rows.append(
            '<tr id="L%d" data-line="%d" data-hits="%d" data-time-ns="%d"%s%s>'
            '<td class="lineno"><a href="#L%d">%d</a></td>%s<td class="heat">%s</td>'
            '<td class="code">%s</td></tr>'
            % (lineno, lineno, hits, _nanoseconds(time, stats.unit), memory_attributes,
               ' class="%s"' % " ".join(classes) if classes else "",
               lineno, lineno, numbers, heat, highlighter(text)))

    lines_by_number = dict(numbered)
    if hottest is not None:
        summary = ('<p class="summary" id="summary">Hottest line: <a href="#L%d">%d</a> '
                   '&mdash; <code>%s</code> &mdash; %.1f%% of the function\'s time</p>'
                   % (hottest, hottest, html.escape(lines_by_number.get(hottest, "").strip()),
                      100.0 * counts[hottest][1] / total_time))
    else:
        summary = ('<p class="summary" id="summary">No time was recorded in this '
                   'function%s.</p>' % ("" if total_hits else ": it never ran"))
    details = [("File", filename), ("First line", str(first_lineno)),
               ("Total time", _seconds(total_time * stats.unit))]
    if graph.own.get(key, total_time) != total_time:
        details.append(("Own time", "%s (without the profiled functions it called)"
                        % _seconds(graph.own[key] * stats.unit)))
    details += [("Total hits", str(total_hits)),
               ("Time and Per Hit in", "%g s" % output_unit)]
    missing = ""
    if source is None:
        missing = ('<p class="note">The source file was not found; only the profiled '
                   'lines are listed.</p>')
    header = ('<thead><tr><th>Line #</th><th>Hits</th><th>Time</th><th>Per Hit</th>'
              '<th>%% Time</th>%s<th class="text">Heat</th><th class="text">Line Contents</th>'
              '</tr></thead>' % ("<th>Net</th><th>Peak</th>" if memory is not None else ""))
    body = ('<p><a href="index.html">&larr; %s</a></p>\n<h1>%s</h1>\n%s\n%s\n%s%s'
            '<table class="lines">%s<tbody>\n%s\n</tbody></table>'
            % (html.escape(title), html.escape(name), _metadata_list(details), summary,
               _calls_tables(stats, key, page_names, graph), missing, header,
               "\n".join(rows)))
    return _page("%s — %s" % (name, title), body, _SCROLL_SCRIPT, highlighter.style)


def _highlighter():
    """A function from a line of Python to its HTML: coloured by Pygments
    when it is installed, else only escaped. Its .style is the CSS it needs."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        def plain(line):
            return html.escape(line)
        plain.style = ""
        return plain
    # stripnl=False keeps a line's indentation; nowrap leaves only the spans.
    lexer = PythonLexer(stripnl=False)
    formatter = HtmlFormatter(nowrap=True)

    def coloured(line):
        return highlight(line, lexer, formatter).rstrip("\n")
    coloured.style = formatter.get_style_defs("td.code")
    return coloured
