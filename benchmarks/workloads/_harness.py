"""Shared by the workloads: `profile` (kernprof's, or a pass-through when the
workload runs plain), the size scale the runner passes as the first argument,
and the one machine-readable line each workload prints."""
import builtins
import json
import sys
import time

profile = builtins.__dict__.get("profile", lambda func: func)
clock = time.perf_counter
def scaled(count):
    """count times the scale given as the first argument (read when asked, so
    that importing a workload for its functions reads nothing)."""
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    return max(1, int(count * scale))


def report(elapsed, **extra):
    """elapsed: seconds of the timed part. extra, in seconds: `profiled`, the
    profiled functions' share of it where that is not all of it; `helper`."""
    print("BENCH " + json.dumps(dict(extra, elapsed=elapsed)), flush=True)
