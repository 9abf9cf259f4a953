"""Test programs. Each module has PROFILED (the functions whose lines are
counted) and run() (what exercises them). Their hit counts under lineprof
must equal sys.settrace's line events on the same Python."""
