"""A profile as a documented, versioned JSON document, for scripts and CI
dashboards.

Unlike the .lprof file (raw integer counts, meant for lineprof), this
document gives times in seconds, with the sums, per-hit times and
percentages of the text report already computed. The JSON Schema of the
document ships as lineprof/json_schema.json; ``schema()`` returns it.

Versioning: ``version`` changes when a field is removed, renamed or changes
meaning. New fields may be added within a version, together with the shipped
schema, so readers should ignore keys they do not know.

The document, field by field:

    schema      "lineprof-json", always: what this document is
    version     1: the version of this layout
    unit        seconds per time unit of the profile the document was made
                from (1e-9 for lineprof, 1e-6 for line_profiler); a time
                divided by unit and rounded gives the raw count back
    metadata    where the profile came from; every key below is present, null
                when the profile does not say:
      python                     the Python version, "3.12.1"
      argv                       the profiled command line, a list of strings
      start_time                 when profiling started, ISO 8601 in UTC,
                                 "2024-05-01T09:30:00.123456+00:00"
      start_time_epoch           the same in seconds since the epoch
      timer                      the clock the tracer read
      backend                    the tracing mechanism (sys.monitoring,
                                 settrace...)
      compensation_ns_per_event  the tracing overhead subtracted per line
                                 event, ns
      compensation_ns_per_frame_event
                                 and per call, return, yield or resume
                                 event of a profiled function, ns
      extra                      any other metadata of the profile, as is
    functions   one object per profiled function, ordered by file, then line:
      file        the file name (co_filename)
      line        the function's first line (co_firstlineno)
      name        its name (co_qualname on 3.11+, co_name before)
      code_hash   a hash of the function's source, or null; profiles of
                  changed code have different hashes
      total_time  the sum of the line times, seconds
      total_hits  the sum of the line hits
      calls       how many times the function was called (a generator's
                  resumes are not calls), null when the profile does not say
                  (line_profiler's files)
      own_time    total_time less the time of the profiled functions it
                  called, seconds (equal to total_time when the profile has no
                  call graph: line_profiler's files)
      callers     the profiled functions that called it (for each call, the
                  nearest profiled function below it on its thread), one
                  object per calling line, ordered by file, line, at_line:
        file, line, name   the caller
        at_line   the caller's line that made the calls
        calls     how many calls it made (resumes of a generator are not)
        time      seconds of that line's time spent in these calls
      callees     the profiled functions it called, in the same form (file,
                  line and name are the callee's; at_line is this function's)
      lines       one object per profiled line, ordered by line number:
        line      the line number
        hits      how many times it ran
        time      seconds spent in it, including the functions it called
        per_hit   time / hits in seconds, null when hits is 0
        percent   time as a percentage of the function's total_time, null
                  when total_time is 0
        memory    only in profiles taken with memory on, for the lines that
                  allocated or freed: {"allocated", "freed", "net", "peak"}
                  in bytes, callees included (lineprof.memory)
    profiled_time  seconds spent in the profiled functions, a nested profiled
                call counted once: the sum of every function's own_time

Times are floats in seconds: time = raw count * unit.
"""
import datetime
import json
import os

SCHEMA_NAME = "lineprof-json"
SCHEMA_VERSION = 1
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "json_schema.json")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_list_of_strings(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# Metadata keys with a field of their own, and the values that field takes;
# anything else (another key, or a value of another type) goes to "extra".
_KNOWN_METADATA = {
    "python": lambda value: isinstance(value, str),
    "argv": _is_list_of_strings,
    "timer": lambda value: isinstance(value, str),
    "backend": lambda value: isinstance(value, str),
    "compensation_ns_per_event": _is_number,
    "compensation_ns_per_frame_event": _is_number,
}


def schema():
    """The JSON Schema (draft 2020-12) of the document, as a dict."""
    with open(SCHEMA_PATH, encoding="utf-8") as stream:
        return json.load(stream)


def write_json(stats, stream):
    """Writes the document of stats (a LineStats) to a text stream."""
    json.dump(to_document(stats), stream, indent=2, allow_nan=False, default=str)
    stream.write("\n")


def to_document(stats):
    """The document of stats (a LineStats) as a dict of JSON types."""
    own_times = stats.own_times()
    callers = stats.callers_by_function()
    callees = stats.callees_by_function()
    functions = []
    for key, lines in sorted(stats.timings.items()):
        document = _function_document(key, lines, stats.unit,
                                      stats.code_hashes.get(key), stats.calls.get(key),
                                      stats.memory.get(key, {}))
        document["own_time"] = own_times[key]
        document["callers"] = [_call_document(caller, lineno, counts, stats.unit)
                               for (caller, lineno), counts in sorted(callers.get(key, {}).items())]
        document["callees"] = [_call_document(callee, lineno, counts, stats.unit)
                               for (lineno, callee), counts in sorted(
                                   callees.get(key, {}).items(), key=lambda item: (item[0][1], item[0][0]))]
        functions.append(document)
    return {
        "schema": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "unit": stats.unit,
        "metadata": _metadata_document(stats.metadata),
        "functions": functions,
        "profiled_time": sum(own_times.values()),
    }


def _call_document(other, at_line, counts, unit):
    filename, first_lineno, name = other
    calls, time = counts
    return {"file": filename, "line": first_lineno, "name": name, "at_line": at_line,
            "calls": calls, "time": time * unit}


def _function_document(key, lines, unit, code_hash, calls, memory):
    filename, first_lineno, name = key
    total = sum(time for _, _, time in lines)
    line_documents = []
    for lineno, hits, time in sorted(lines):
        seconds = time * unit
        line_documents.append({
            "line": lineno,
            "hits": hits,
            "time": seconds,
            "per_hit": seconds / hits if hits else None,
            "percent": 100.0 * time / total if total else None,
        })
        if lineno in memory:
            allocated, freed, peak = memory[lineno]
            line_documents[-1]["memory"] = {"allocated": allocated, "freed": freed,
                                            "net": allocated - freed, "peak": peak}
    return {
        "file": filename,
        "line": first_lineno,
        "name": name,
        "code_hash": code_hash,
        "total_time": total * unit,
        "total_hits": sum(hits for _, hits, _ in lines),
        "calls": calls,
        "lines": line_documents,
    }


def _metadata_document(metadata):
    document = dict.fromkeys(_KNOWN_METADATA)
    extra = {}
    for name, value in metadata.items():
        if name in _KNOWN_METADATA and _KNOWN_METADATA[name](value):
            document[name] = value
        elif name != "start_time":
            extra[name] = value
    start_time = metadata.get("start_time")
    document["start_time"] = _iso_time(start_time)
    document["start_time_epoch"] = start_time if document["start_time"] else None
    if start_time is not None and not document["start_time"]:
        extra["start_time"] = start_time    # kept, though not a time we can read
    document["extra"] = extra
    return document


def _iso_time(epoch_seconds):
    """ISO 8601 in UTC, or None if epoch_seconds is not a readable time."""
    if not _is_number(epoch_seconds):
        return None
    try:
        moment = datetime.datetime.fromtimestamp(epoch_seconds, tz=datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat()
