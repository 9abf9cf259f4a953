"""Notebooks and IPython code under kernprof.

`kernprof -l -v analysis.ipynb` runs the code cells of a notebook in order,
as one program in one namespace (as "Run All" does), with `@profile`
available. Each cell is compiled under the name "analysis.ipynb, cell N"
(N counts every cell of the notebook from 1, markdown included, as the file
orders them), so the report says "File: /path/analysis.ipynb, cell 3" and
numbers lines within the cell. The viewer finds the cell's source again in
the notebook.

Cells with IPython syntax (`%magic`, `%%cell magic`, `!shell`) run through
IPython when it is installed: the program then runs in an IPython shell whose
namespace is the program's `__main__`. Without IPython such a cell is an error
naming the cell. Scripts exported with `jupyter nbconvert --to script`, which
call `get_ipython()`, run the same way.

The notebook is read with nbformat when it is installed, otherwise as the
JSON document it is.
"""
import json
import linecache
import os
import re

CELL_SUFFIX = re.compile(r"^(?P<path>.+\.ipynb), cell (?P<number>\d+)$")
# A line that only IPython understands: a magic, a shell escape, help.
_IPYTHON_LINE = re.compile(r"^\s*(%|!|\?)|^\s*[\w.]+\?\??\s*$")


class NotebookError(Exception):
    """A notebook that cannot be run: reported as one line."""


def cell_filename(path, number):
    return "%s, cell %d" % (os.path.abspath(path), number)


def read_code_cells(path):
    """[(number, source)] of the notebook's code cells, in order."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as error:
        raise NotebookError("can't open notebook %r: %s" % (path, error.strerror or error))
    except UnicodeDecodeError:
        raise NotebookError("%s is not a notebook: it is not UTF-8 text" % path)
    try:
        import nbformat
        notebook = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        cells = notebook.get("cells")
    except ImportError:
        cells = _cells_from_json(text, path)
    except Exception as error:      # nbformat's reader raises many kinds
        raise NotebookError("%s is not a notebook nbformat can read: %s"
                            % (path, str(error).splitlines()[0] if str(error) else error))
    if not isinstance(cells, list):
        raise NotebookError("%s has no cells (nbformat 4 is needed)" % path)
    code_cells = []
    for number, cell in enumerate(cells, 1):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            code_cells.append((number, "".join(source) if isinstance(source, list) else source))
    return code_cells


def _cells_from_json(text, path):
    try:
        document = json.loads(text)
    except ValueError as error:
        raise NotebookError("%s is not a notebook: %s" % (path, error))
    if not isinstance(document, dict):
        raise NotebookError("%s is not a notebook: no cells" % path)
    return document.get("cells")


def uses_ipython_syntax(source):
    """Whether the cell has lines that plain Python cannot run."""
    return any(_IPYTHON_LINE.match(line) for line in source.splitlines())


def ipython_available():
    try:
        import IPython  # noqa: F401
    except ImportError:
        return False
    return True


def make_shell(main_module):
    """An IPython shell whose user namespace is main_module's, so that magics
    and the program see the same names."""
    from IPython.core.interactiveshell import InteractiveShell
    if InteractiveShell.initialized():
        shell = InteractiveShell.instance()
        shell.init_create_namespaces(user_module=main_module)
    else:
        shell = InteractiveShell.instance(user_module=main_module)
    shell.init_user_ns()
    return shell


def cache_source(filename, source):
    """Lets linecache (and so the report) show source that has no file of its own."""
    lines = source.splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    linecache.cache[filename] = (len(source), None, lines, filename)


def cache_cell_of(filename):
    """For the viewer: puts the source of "X.ipynb, cell N" in linecache from
    the notebook, if the notebook is still there. Returns whether it did."""
    match = CELL_SUFFIX.match(filename)
    if match is None or not os.path.isfile(match.group("path")):
        return False
    try:
        cells = dict(read_code_cells(match.group("path")))
    except NotebookError:
        return False
    source = cells.get(int(match.group("number")))
    if source is None:
        return False
    cache_source(filename, source)
    return True


def code_cells(path):
    """[(filename, source, needs_ipython)] for each code cell, its source put
    in linecache. Raises NotebookError for a cell with IPython syntax when
    IPython is missing."""
    cells = []
    have_ipython = ipython_available()
    for number, source in read_code_cells(path):
        filename = cell_filename(path, number)
        cache_source(filename, source)
        needs_ipython = uses_ipython_syntax(source)
        if needs_ipython and not have_ipython:
            raise NotebookError("%s, cell %d uses IPython syntax (%s); install IPython to run it"
                                % (path, number, _first_ipython_line(source)))
        cells.append((filename, source, needs_ipython))
    return cells


def _first_ipython_line(source):
    for line in source.splitlines():
        if _IPYTHON_LINE.match(line):
            return line.strip()
    return ""


def to_python(shell, source):
    """The Python source IPython runs for a cell (magics become calls to
    get_ipython()); line magics keep their line, so line numbers hold."""
    return shell.transform_cell(source)
