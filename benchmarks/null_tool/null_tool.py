"""Runs a script as `kernprof -l -p SCRIPT SCRIPT` would, with the events
lineprof asks for on the same code objects (the functions `-p` profiles:
nested ones and methods included) but handlers that do nothing: what a line
profiler costs before it does any work of its own (sys.monitoring on 3.12+,
a C trace function before).

    python null_tool.py SCRIPT [ARGS...]     (_nulltool built beside it)

whole_program.py builds _nulltool for each Python and reports this as the
"floor" of each program.
"""
import inspect
import os
import sys
import types

import _nulltool


FUNCTION_FLAGS = inspect.CO_OPTIMIZED | inspect.CO_NEWLOCALS


def function_codes(code):
    """The functions that `-p` profiles in code (lineprof.autoprofile's
    rule): nested ones and methods, not class bodies, comprehensions or
    lambdas, whose lines belong to the code they are written in."""
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType) and not constant.co_name.startswith("<"):
            if constant.co_flags & FUNCTION_FLAGS == FUNCTION_FLAGS:
                yield constant
            yield from function_codes(constant)


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
    codes = list(function_codes(module_code))
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
