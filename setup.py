"""Builds the C extension lineprof._tracer; the metadata is in pyproject.toml.

LINEPROF_STRICT=1 (the test command sets it) compiles with -Wall -Wextra
-Werror, so that a warning on any supported Python fails the build."""
import glob
import os

from setuptools import Extension, setup

# Hidden visibility: only PyInit__tracer is exported, so the calls between
# the extension's files on the per-event path go straight to their target
# instead of through the PLT.
compile_args = ["-std=gnu11", "-O2", "-fvisibility=hidden"]
if os.environ.get("LINEPROF_STRICT") == "1":
    compile_args += ["-Wall", "-Wextra", "-Werror"]

setup(
    # The `kernprof.py` command that older guides type (`kernprof.py -l -v
    # script.py`): the top-level kernprof module itself, installed as a script,
    # so that `import kernprof` from a program whose folder is the scripts
    # folder (pytest, ipython) still gets lineprof's kernprof module.
    scripts=["kernprof.py"],
    ext_modules=[
        Extension(
            "lineprof._tracer",
            sources=sorted(glob.glob("lineprof/_tracer/*.c")),
            depends=sorted(glob.glob("lineprof/_tracer/*.h")),
            extra_compile_args=compile_args,
        )
    ],
)
