"""kernprof on notebooks and on scripts exported from them."""
import json

import pytest

import lineprof
from conftest import run_python
from test_kernprof import assert_one_line_error, write


def notebook_json(cells):
    """A notebook (nbformat 4) of ("code" | "markdown", source) cells."""
    return json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [dict({"cell_type": kind, "id": "c%d" % index, "metadata": {},
                        "source": source},
                       **({"outputs": [], "execution_count": None} if kind == "code" else {}))
                  for index, (kind, source) in enumerate(cells)],
    })


CELLS = [
    ("markdown", "# An analysis"),
    ("code", "import os\n\n@profile\ndef work(n):\n    total = 0\n    for i in range(n):\n"
             "        total += i\n    return total\n"),
    ("code", "result = work(10)\nprint('result', result)"),
]
MAGIC_CELLS = CELLS + [("code", "%env LINEPROF_NB_TEST=from-magic\n"
                                "print('env', os.environ['LINEPROF_NB_TEST'])\n"
                                "!echo shell-escape-ran")]


def work_rows(tmp_path, name):
    stats = lineprof.load_stats(str(tmp_path / (name + ".lprof")))
    ((key, rows),) = stats.timings.items()
    return key, {lineno: hits for lineno, hits, _ in rows}


def test_cells_run_in_order_and_lines_are_reported_by_cell(tmp_path, kernprof):
    write(tmp_path, "analysis.ipynb", notebook_json(CELLS))
    result = kernprof("-l", "-v", "analysis.ipynb")
    assert result.returncode == 0, result.stderr
    assert "result 45" in result.stdout
    cell = "%s, cell 2" % (tmp_path / "analysis.ipynb")
    assert "File: %s\nFunction: work at line 3" % cell in result.stdout
    key, hits = work_rows(tmp_path, "analysis.ipynb")
    assert key == (cell, 3, "work")
    assert hits == {5: 1, 6: 11, 7: 10, 8: 1}
    # The viewer finds the cell's lines in the notebook later.
    shown = run_python(["-m", "lineprof", "analysis.ipynb.lprof"], tmp_path)
    assert "        total += i" in shown.stdout


def test_the_json_reader_is_used_without_nbformat(tmp_path, kernprof, without):
    write(tmp_path, "analysis.ipynb", notebook_json(CELLS))
    result = kernprof("-l", "analysis.ipynb", env=without("nbformat"))
    assert result.returncode == 0, result.stderr
    assert work_rows(tmp_path, "analysis.ipynb")[1] == {5: 1, 6: 11, 7: 10, 8: 1}


def test_cells_with_magics_run_through_ipython(tmp_path, kernprof):
    pytest.importorskip("IPython")
    write(tmp_path, "magic.ipynb", notebook_json(MAGIC_CELLS))
    result = kernprof("-l", "magic.ipynb")
    assert result.returncode == 0, result.stderr
    assert "env from-magic" in result.stdout and "shell-escape-ran" in result.stdout
    assert work_rows(tmp_path, "magic.ipynb")[1] == {5: 1, 6: 11, 7: 10, 8: 1}


def test_magics_without_ipython_are_an_error_naming_the_cell(tmp_path, kernprof, without):
    write(tmp_path, "magic.ipynb", notebook_json(MAGIC_CELLS))
    result = kernprof("-l", "magic.ipynb", env=without("IPython"))
    assert_one_line_error(result)
    assert "magic.ipynb, cell 4 uses IPython syntax (%env LINEPROF_NB_TEST=from-magic)" \
        in result.stderr
    assert "result 45" not in result.stdout      # nothing ran


def test_a_script_exported_by_nbconvert_runs_as_under_ipython(tmp_path, kernprof):
    pytest.importorskip("IPython")
    # What `jupyter nbconvert --to script` writes for a notebook with a magic.
    write(tmp_path, "exported.py", "#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\n"
                                   "get_ipython().run_line_magic('env', 'LINEPROF_NB_X=7')\n"
                                   "import os\n\n\n# In[2]:\n\n\n@profile\ndef read():\n"
                                   "    return os.environ['LINEPROF_NB_X']\n\nprint(read())\n")
    result = kernprof("-l", "exported.py")
    assert result.returncode == 0, result.stderr
    assert "7" in result.stdout.splitlines()
    key, hits = work_rows(tmp_path, "exported.py")
    assert key[2] == "read" and hits == {16: 1}


def test_broken_notebooks_are_one_line_errors(tmp_path, kernprof):
    write(tmp_path, "text.ipynb", "not json")
    assert_one_line_error(kernprof("-l", "text.ipynb"))
    write(tmp_path, "old.ipynb", json.dumps({"worksheets": []}))
    assert_one_line_error(kernprof("-l", "old.ipynb"))
    write(tmp_path, "syntax.ipynb", notebook_json([("code", "def broken(:\n    pass")]))
    result = kernprof("-l", "syntax.ipynb")
    assert_one_line_error(result)
    assert "syntax.ipynb, cell 1" in result.stderr
