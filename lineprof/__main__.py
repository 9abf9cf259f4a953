import sys

from lineprof.cmdline import main

# As line_profiler's viewer: success returns (runpy.run_module and
# `python -m lineprof` alike), a failure exits with its status.
status = main()
if status:
    sys.exit(status)
