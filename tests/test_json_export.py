"""The JSON export, validated against its shipped JSON Schema."""
import datetime
import io
import json
import os

import pytest

import lineprof
from lineprof import json_export
from lineprof.json_export import schema, to_document, write_json

PROGRAM = '''\
@profile
def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


@profile
def unused():
    pass


work(20)
'''


@pytest.fixture
def validate():
    jsonschema = pytest.importorskip("jsonschema")
    with open(os.path.join(os.path.dirname(lineprof.__file__), "json_schema.json")) as stream:
        shipped = json.load(stream)
    assert schema() == shipped
    validator_class = jsonschema.validators.validator_for(shipped)
    assert validator_class is jsonschema.Draft202012Validator
    validator_class.check_schema(shipped)
    return validator_class(shipped).validate


def profile_program(tmp_path, kernprof):
    (tmp_path / "prog.py").write_text(PROGRAM)
    result = kernprof("-l", "prog.py", "--flag")
    assert result.returncode == 0, result.stderr
    return lineprof.load_stats(str(tmp_path / "prog.py.lprof"))


def test_document_validates_and_holds_the_profile_in_seconds(tmp_path, kernprof, validate):
    stats = profile_program(tmp_path, kernprof)
    stream = io.StringIO()
    write_json(stats, stream)
    document = json.loads(stream.getvalue())
    validate(document)
    assert document == to_document(stats)     # round-trips through json

    assert (document["schema"], document["version"], document["unit"]) == \
        ("lineprof-json", 1, 1e-9)
    metadata = document["metadata"]
    assert metadata["argv"] == ["prog.py", "--flag"]
    assert metadata["python"] == stats.metadata["python"]
    assert metadata["timer"] == stats.metadata["timer"]
    assert metadata["backend"] == stats.metadata["backend"]
    assert metadata["compensation_ns_per_event"] == stats.metadata["compensation_ns_per_event"]
    epoch = stats.metadata["start_time"]
    assert metadata["start_time_epoch"] == epoch
    started = datetime.datetime.fromisoformat(metadata["start_time"])
    assert started.utcoffset() == datetime.timedelta(0)
    assert started.timestamp() == pytest.approx(epoch, abs=1e-6)
    assert metadata["extra"] == {}

    filename = str(tmp_path / "prog.py")
    work, unused = document["functions"]
    assert (work["file"], work["line"], work["name"]) == (filename, 1, "work")
    assert work["code_hash"] == stats.code_hashes[(filename, 1, "work")]
    rows = stats.timings[(filename, 1, "work")]
    assert [(line["line"], line["hits"]) for line in work["lines"]] == \
        [(3, 1), (4, 21), (5, 20), (6, 1)]
    total = sum(time for _, _, time in rows)
    assert work["total_time"] == total * 1e-9
    assert work["total_hits"] == 43
    assert work["calls"] == stats.calls[(filename, 1, "work")] == 1
    for line, (lineno, hits, time) in zip(work["lines"], rows):
        assert line["line"] == lineno and line["hits"] == hits
        assert line["time"] == time * 1e-9
        assert round(line["time"] / document["unit"]) == time
        assert line["per_hit"] == time * 1e-9 / hits
        assert line["percent"] == pytest.approx(100.0 * time / total)
    assert sum(line["percent"] for line in work["lines"]) == pytest.approx(100.0)

    assert (unused["name"], unused["line"], unused["lines"]) == ("unused", 9, [])
    assert (unused["total_time"], unused["total_hits"]) == (0, 0)


def test_zero_hits_other_units_and_odd_metadata_stay_valid(validate):
    stats = lineprof.LineStats(
        {("b.py", 1, "f"): [(2, 0, 0), (3, 0, 0)],
         ("a.py", 10, "Cls.method"): [(12, 4, 30), (11, 2, 10)]},
        1e-6,
        metadata={"source": "line_profiler", "python": 3, "start_time": "yesterday"})
    document = to_document(stats)
    validate(document)
    validate(json.loads(json.dumps(document)))

    assert document["unit"] == 1e-6
    assert document["metadata"] == {
        "python": None, "argv": None, "timer": None, "backend": None,
        "compensation_ns_per_event": None, "compensation_ns_per_frame_event": None,
        "start_time": None, "start_time_epoch": None,
        "extra": {"source": "line_profiler", "python": 3, "start_time": "yesterday"}}
    method, f = document["functions"]          # ordered by file
    assert method["name"] == "Cls.method" and method["code_hash"] is None
    assert method["total_time"] == 40 * 1e-6 and method["total_hits"] == 6
    assert method["calls"] is None             # line_profiler's data has no call counts
    assert method["lines"] == [
        {"line": 11, "hits": 2, "time": 10 * 1e-6, "per_hit": 5 * 1e-6, "percent": 25.0},
        {"line": 12, "hits": 4, "time": 30 * 1e-6, "per_hit": 30 * 1e-6 / 4, "percent": 75.0}]
    assert f["lines"] == [
        {"line": 2, "hits": 0, "time": 0.0, "per_hit": None, "percent": None},
        {"line": 3, "hits": 0, "time": 0.0, "per_hit": None, "percent": None}]


def test_schema_rejects_what_the_exporter_never_writes(validate):
    jsonschema = pytest.importorskip("jsonschema")
    stats = lineprof.LineStats({("a.py", 1, "f"): [(2, 1, 5)]}, 1e-9)
    document = to_document(stats)
    validate(document)
    document["version"] = 2
    with pytest.raises(jsonschema.ValidationError):
        validate(document)
    document = to_document(stats)
    document["functions"][0]["lines"][0]["time"] = "5"
    with pytest.raises(jsonschema.ValidationError):
        validate(document)
    assert json_export.SCHEMA_VERSION == 1


CALLS = '''\
@profile
def leaf(n):
    return n * 2


@profile
def caller(n):
    total = 0
    for i in range(n):
        total += leaf(i)
    return total + leaf(1)


caller(30)
'''


def test_the_call_graph_is_in_the_document(tmp_path, kernprof, validate):
    # Without compensation: the times below are compared exactly with the
    # file's, whatever a loaded machine does to the calibration.
    (tmp_path / "calls.py").write_text(CALLS)
    result = kernprof("-l", "--no-compensation", "calls.py")
    assert result.returncode == 0, result.stderr
    stats = lineprof.load_stats(str(tmp_path / "calls.py.lprof"))
    document = to_document(stats)
    validate(document)
    functions = {function["name"]: function for function in document["functions"]}
    leaf, caller = functions["leaf"], functions["caller"]
    where = {"file": caller["file"], "line": caller["line"], "name": "caller"}
    assert [(entry["at_line"], entry["calls"]) for entry in leaf["callers"]] == [(10, 30), (11, 1)]
    assert all({key: entry[key] for key in where} == where for entry in leaf["callers"])
    assert caller["callers"] == [] and leaf["callees"] == []
    assert [(entry["name"], entry["at_line"], entry["calls"]) for entry in caller["callees"]] \
        == [("leaf", 10, 30), ("leaf", 11, 1)]
    # Times: the edges' and own times of the file, in seconds.
    key = {k[2]: k for k in stats.timings}
    calls_time = sum(time for (_, _, callee), (_, time) in stats.edges.items()
                     if callee == key["leaf"]) * stats.unit
    assert sum(entry["time"] for entry in leaf["callers"]) == pytest.approx(calls_time)
    assert caller["own_time"] == pytest.approx(stats.own_time(key["caller"]))
    assert caller["own_time"] == pytest.approx(caller["total_time"] - calls_time)
    assert leaf["own_time"] == leaf["total_time"]
    assert document["profiled_time"] == pytest.approx(caller["own_time"] + leaf["own_time"])
