"""Runs a script as `kernprof -l -p SCRIPT SCRIPT` would, with the events
lineprof asks for on the same code objects (every function of the script,
nested ones and methods included) but handlers that do nothing: what a line
profiler costs before it does any work of its own (sys.monitoring on 3.12+,
a C trace function before).

    python null_tool.py SCRIPT [ARGS...]     (_nulltool built beside it)

whole_program.py builds _nulltool for each Python and reports this as the
"floor" of each program.
"""
import os
import sys
import types

import _nulltool


def code_objects(code):
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from code_objects(constant)


def monitor(codes):
    """3.12+: lineprof's local events (backend_monitoring.c) on codes: calls,
    returns, lines, and the jumps, which it disables where they are not a
    backward jump to the same line."""
    monitoring = sys.monitoring
    events = monitoring.events
    calls = ("PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD", "LINE")
    jumps = ("JUMP", "BRANCH_LEFT", "BRANCH_RIGHT") if hasattr(events, "BRANCH_LEFT") \
        else ("JUMP", "BRANCH")
    tool = next(i for i in (2, 3, 4, 5, 0, 1) if monitoring.get_tool(i) is None)
    monitoring.use_tool_id(tool, "null tool")
    nothing, disable = _nulltool.Callback(None), _nulltool.Callback(monitoring.DISABLE)
    wanted = 0
    for name in calls + jumps:
        monitoring.register_callback(tool, getattr(events, name),
                                     disable if name in jumps else nothing)
        wanted |= getattr(events, name)
    for code in codes:
        monitoring.set_local_events(tool, code, wanted)


def main():
    path = sys.argv[1]
    with open(path, "rb") as stream:
        module_code = compile(stream.read(), path, "exec")
    # -p profiles the functions, not the module body.
    codes = [code for code in code_objects(module_code) if code is not module_code]
    if hasattr(sys, "monitoring"):
        monitor(codes)
    else:
        _nulltool.settrace(codes)   # every frame from here on, as lineprof's enable()
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    namespace = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
    exec(module_code, namespace)


if __name__ == "__main__":
    main()
