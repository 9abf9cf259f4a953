"""Shared by the workloads: `profile` (kernprof's, or a no-op when the workload
runs plain) and the line every workload prints for the benchmark runner."""
import builtins
import time

profile = builtins.__dict__.get("profile", lambda func: func)
clock = time.perf_counter


def report(elapsed, **extra):
    fields = " ".join("%s=%r" % item for item in sorted(extra.items()))
    print("BENCH elapsed=%r %s" % (elapsed, fields), flush=True)
