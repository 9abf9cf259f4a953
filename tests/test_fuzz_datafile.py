"""Fuzzing the .lprof reader: any bytes give a LineStats or a clear
LprofFormatError, never another exception, a hang or a huge allocation.

Bounded for CI: a fixed number of examples per strategy, derandomized so a
failure reproduces."""
import json
import pickle
import time
import tracemalloc

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from lineprof import LineStats  # noqa: E402
from lineprof.datafile import MAGIC, LprofFormatError, loads  # noqa: E402

FUZZ = settings(max_examples=400, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MAX_SECONDS = 2.0
MAX_ALLOCATED = 64 * 2 ** 20


def read_safely(data):
    """Reads data as a .lprof; checks the outcome, time and memory taken."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = loads(data, "fuzz.lprof")
    except LprofFormatError as error:
        message = str(error)
        assert message.startswith("fuzz.lprof: ") and "\n" not in message
        result = None
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < MAX_SECONDS, "reading took %.1f s" % elapsed
    assert peak < MAX_ALLOCATED, "reading allocated %d bytes" % peak
    if result is not None:
        assert isinstance(result, LineStats)
        for (filename, lineno, name), rows in result.timings.items():
            assert isinstance(filename, str) and isinstance(name, str)
            assert all(len(row) == 3 and min(row) >= 0 for row in rows)
    return result


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
    | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.text(max_size=10), children, max_size=6),
    max_leaves=40)

ROWS = st.lists(st.lists(st.integers(min_value=-5, max_value=2 ** 64), min_size=0, max_size=4)
                | JSON_VALUES, max_size=5)
FUNCTIONS = st.lists(st.fixed_dictionaries(
    {"file": st.text(max_size=10) | JSON_VALUES, "line": st.integers() | JSON_VALUES,
     "name": st.text(max_size=10) | JSON_VALUES, "lines": ROWS},
    optional={"code_hash": st.text(max_size=8) | JSON_VALUES,
              "calls": st.integers() | JSON_VALUES}) | JSON_VALUES, max_size=4)
DOCUMENTS = st.fixed_dictionaries(
    {"unit": st.floats() | st.integers() | JSON_VALUES, "functions": FUNCTIONS},
    optional={"metadata": JSON_VALUES}) | JSON_VALUES


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes(data):
    read_safely(data)


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_after_the_header(body):
    read_safely(MAGIC + b"1\n" + body)


@FUZZ
@given(DOCUMENTS)
def test_documents_of_every_shape(document):
    read_safely(MAGIC + b"1\n" + json.dumps(document).encode("utf-8"))


@FUZZ
@given(st.binary(max_size=600))
def test_bytes_that_look_like_a_pickle(body):
    read_safely(b"\x80\x04" + body)


@FUZZ
@given(JSON_VALUES, st.sampled_from([0, 2, 4, 5]))
def test_pickles_of_plain_data(value, protocol):
    read_safely(pickle.dumps(value, protocol=protocol))


@pytest.mark.parametrize("data", [
    MAGIC + b"1\n" + b"[" * 100000 + b"]" * 100000,            # deep nesting
    MAGIC + b"1\n" + b'{"unit": 1e-9, "functions": [{"file": "a", "line": 1, "name": "f", '
                     b'"lines": [[1, ' + b"9" * 100000 + b', 1]]}]}',   # a huge number
    b"\x80\x04\x95" + b"\xff" * 8 + b"B" + b"\xff\xff\xff\x7f",    # claims a 2 GB bytes object
    b"\x80\x04" + b"]" * 1000 + b"(" * 50000,                    # a pickle building deep
    b"\x80\x04B\x00\x00\x00\x04",                                # claims 64 MB (found by fuzzing)
])
def test_hostile_shapes(data):
    read_safely(data)
