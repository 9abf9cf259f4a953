import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# The test programs are imported as the package `programs`.
sys.path.insert(0, HERE)


def run_python(args, cwd, input=None, env=None, timeout=120):
    """Runs `python ARGS` in cwd; returns the CompletedProcess (text)."""
    full_env = dict(os.environ)
    full_env.pop("LINEPROF", None)
    full_env.pop("LINE_PROFILE", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable] + list(args), cwd=str(cwd), input=input,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def kernprof(tmp_path):
    """Runs kernprof (python -m kernprof) in a temporary folder."""
    def run(*args, input=None, env=None):
        return run_python(["-m", "kernprof"] + list(args), tmp_path, input=input, env=env)
    return run
