#!/usr/bin/env python
"""kernprof: run a Python program under a profiler, as line_profiler's kernprof.

The code is lineprof.kernprof: this top-level module is that module under the
name line_profiler's users import and run (`import kernprof`,
`python -m kernprof`). With line_profiler installed after lineprof, the name
`kernprof` is line_profiler's; `python -m lineprof.kernprof` and the
`kernprof.py` command still reach lineprof's.

This file is also installed as the `kernprof.py` command (setup.py): run, it
is kernprof; imported from the scripts folder, it is lineprof.kernprof.
"""
import sys

from lineprof import kernprof as _kernprof

if __name__ == "__main__":
    _kernprof.console_main()
else:
    # `import kernprof` gives lineprof.kernprof itself, so that its functions
    # and settings are one object whichever name is used.
    sys.modules[__name__] = _kernprof
