"""kernprof: run a Python program under a profiler, as line_profiler's kernprof.

    kernprof -l -v script.py [args...]     line by line, for @profile functions
    kernprof script.py                     the whole program, with cProfile
    kernprof -l -v -p mypkg script.py      every function of mypkg, no decorators
    kernprof -l -v notebook.ipynb          the code cells of a notebook, in order

With -l the functions decorated with @profile (put in the builtins; `-l`
implies `-b`) or with lineprof.profile are timed line by line and the profile
is written to <script>.lprof; without it, cProfile profiles the whole program
(or, with -b, the decorated functions) into <script>.prof, which pstats,
snakeviz and gprof2dot read. The profile is written however the program ends:
normally, with an exception, sys.exit or Ctrl-C; kernprof then exits with the
program's status.

Defaults for the options can be kept in [tool.lineprof] of pyproject.toml
(see lineprof.config); the command line wins.

This module is kernprof itself; the top-level module `kernprof` (what
`python -m kernprof` and `import kernprof` reach) is this module under a
second name. `python -m lineprof.kernprof` reaches it even when
line_profiler, installed after lineprof, owns the name `kernprof`.
"""
import argparse
import builtins
import contextlib
import cProfile
import marshal
import os
import runpy
import shlex
import shutil
import sys
import tempfile
import traceback
import types

import lineprof
from lineprof import notebook
from lineprof import autoprofile as autoprofiler_module
from lineprof.autoprofile import AutoProfiler, PreimportError, Target, TargetError
from lineprof.cmdline import (DEFAULT_UNIT, OneLineErrorParser, add_report_options,
                              positive_float, read_config, show_report, silence_stdout)
from lineprof.datafile import LprofFormatError, write_atomically
from lineprof.flags import FlagMaker, add_flag, join_flag_values
from lineprof import live_dump
from lineprof.periodic import PeriodicWriter
# lineprof.calibration and lineprof.job need the C extension: they are
# imported where used, so that a source folder where it is not built gets
# kernprof's one-line error (lineprof.ExtensionNotBuilt), not a traceback.

__version__ = lineprof.__version__
# What `kernprof --version` prints: it names lineprof, so that one line tells
# this kernprof from line_profiler's (which prints its bare version, "5.1.0").
VERSION_LINE = "kernprof (lineprof) %s" % __version__

EXIT_INTERRUPTED = 130
DEFAULT_VIEW_UNIT = DEFAULT_UNIT


class KernprofError(Exception):
    """Bad input: reported as one line, 'kernprof: <message>'."""


USAGE = "kernprof [options] {script | - | -m module | -c code} [args...]"


class _Parser(OneLineErrorParser):
    error_prefix = "kernprof"

    def error(self, message):
        if message.startswith("the following arguments are required"):
            # argparse would name 'args' too, which are optional.
            self.exit(2, "kernprof: no program to run: give a script, '-', -m MODULE or "
                         "-c CODE (usage: %s)\n" % USAGE)
        super().error(message)


def build_parser():
    parser = _Parser(
        prog="kernprof",
        description="Run and profile a Python program. With -l, the functions decorated "
                    "with @profile are timed line by line.")
    parser.flag_options = set()     # the long on/off options, which take a value
    parser.add_argument("-V", "--version", action="version", version=VERSION_LINE)
    add_flag(parser, "-l", "--line-by-line",
                        help="time lines of the @profile functions (lineprof) instead of "
                             "profiling calls with cProfile; implies --builtin")
    add_flag(parser, "-b", "--builtin",
                        help="put 'profile' in the builtins: use '@profile' to decorate "
                             "functions, 'with profile:' or profile.enable()/disable()")
    parser.add_argument("-o", "--outfile",
                        help="save the profile to OUTFILE (default: '<script>.lprof' with -l, "
                             "'<script>.prof' without)")
    parser.add_argument("-s", "--setup",
                        help="a Python file to run before the program, not profiled")
    parser.add_argument("-v", "--view", "--verbose", action="count",
                        help="show the report after saving it; twice (-vv): also say "
                             "what kernprof does, on stderr")
    parser.add_argument("-q", "--quiet", action="count",
                        help="say nothing but the report (with -v) and errors; twice: "
                             "also silence the program's standard output; three times: "
                             "its standard error too")
    add_report_options(FlagMaker(parser), DEFAULT_VIEW_UNIT, "unit of the times shown, in seconds "
                                                  "(default: 1e-6)")
    add_flag(parser, "--no-compensation",
                        help="do not subtract the calibrated per-event cost of tracing "
                             "from line times")
    add_flag(parser, "--memory",
                        help="with -l, also count the bytes each line allocates and frees "
                             "(Net and Peak columns)")
    parser.add_argument("-p", "--prof-mod", action="append", metavar="TARGETS",
                        help="profile every function of these, without decorators: a "
                             "comma-separated list of modules, dotted function or class "
                             "names, files or package folders (repeatable; implies -l)")
    add_flag(parser, "--preimports",
                        help="with -p, import the targets (and the submodules of a package "
                             "target) before the program runs, so that they are profiled "
                             "whether the program imports them or not (default: yes; "
                             "--no-preimports: profile them when the program imports them)")
    parser.set_defaults(preimports=True)
    add_flag(parser, "--prof-imports",
                        help="with -p, also profile the modules that the targets import "
                             "(one level, not what those import)")
    parser.add_argument("-i", "--output-interval", type=positive_float, nargs="?", const=1.0,
                        metavar="SECONDS",
                        help="with -l, also write the profile every SECONDS seconds while "
                             "the program runs (default 1 when given without a number)")
    add_flag(parser, "--no-subprocesses",
                        help="with -l, profile this process only, not the Python processes "
                             "that the program starts (multiprocessing, concurrent.futures, "
                             "subprocess, os.fork...)")
    add_flag(parser, "--keep-parts",
                        help="also keep each process's own profile, in the folder "
                             "'<outfile without .lprof>.parts'")
    parser.add_argument("-m", dest="module", action="store_true",
                        help="the program is a module, run as 'python -m' runs it")
    parser.add_argument("-c", dest="command", action="store_true",
                        help="the program is the source given as the argument")
    parser.add_argument("program", metavar="{script | - | -m module | -c code}",
                        help="the Python script to run ('-' reads it from stdin)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the program's arguments")
    return parser


def _split_program(argv):
    """Lets '-m MODULE' and '-c CODE' end kernprof's options as they end
    python's, and '-' name the script on stdin."""
    for index, arg in enumerate(argv):
        if arg == "--":
            return argv[:index], argv[index + 1:]
        if arg in ("-m", "-c", "-"):
            return argv[:index + (arg != "-")], argv[index + (arg != "-"):]
        if not arg.startswith("-"):
            return argv[:index], argv[index:]
    return argv, []


def _interval_default(own, program_args):
    """A bare -i just before the script means every second: without this,
    argparse would take the script's name for the number."""
    last = own[-1] if own else ""
    bare = last == "--output-interval" or (last.startswith("-") and not last.startswith("--")
                                           and last.endswith("i"))
    if bare and program_args:
        try:
            float(program_args[0])
        except ValueError:
            own = own + ["1"]
    return own, program_args


class Program:
    """What to run, and how it names itself (sys.argv[0], the output file)."""

    def __init__(self, options):
        self.options = options
        self.kind = "module" if options.module else "command" if options.command else (
            "stdin" if options.program == "-" else
            "notebook" if options.program.endswith(".ipynb") else "script")
        self.name = options.program
        self.autoprofiler = None        # set by kernprof -p
        self.notebook_cells = None
        self.compiled_cells = {}        # notebook cells of plain Python, by file name
        self.uses_ipython = False
        self.created_outfile = None     # the -c/stdin profile's file, made empty at start
        self.error = None               # the program's exception, for main() to re-raise
        self.reraise = False            # main(): keep the exception, print no traceback

    def stem(self):
        """What the profile is named after: the script's file name, the
        module's name, kernprof-command (-c) or kernprof-stdin (-)."""
        return {"command": "kernprof-command", "stdin": "kernprof-stdin"}.get(
            self.kind, os.path.basename(self.name))

    def default_outfile(self, line_by_line):
        """<script>.lprof (.prof without -l) in the current folder; for -c and
        '-', a new file kernprof-command-XXXXXXXX.lprof (kernprof-stdin-...),
        created now so that runs in one folder do not overwrite each other's
        profile (as line_profiler names them)."""
        extension = "lprof" if line_by_line else "prof"
        if self.kind not in ("command", "stdin"):
            return "%s.%s" % (self.stem(), extension)
        try:
            handle, path = tempfile.mkstemp(prefix=self.stem() + "-", suffix="." + extension,
                                            dir=os.curdir)
        except OSError as error:
            raise KernprofError("cannot write the profile in the current folder: %s"
                                % (error.strerror or error))
        os.close(handle)
        self.created_outfile = path
        return os.path.basename(path)

    def prepare(self):
        """Sets sys.argv and sys.path[0] as python would, and returns the code
        to run (None for a module, which runpy runs, and for a notebook, whose
        cells are compiled as they run)."""
        args = self.options.args
        if self.kind == "module":
            sys.argv = [self.name] + args
            sys.path.insert(0, os.getcwd())
            return None
        if self.kind == "command":
            sys.argv = ["-c"] + args
            sys.path.insert(0, "")
            return self._compile(self.name, "<string>")
        if self.kind == "stdin":
            sys.argv = ["-"] + args
            sys.path.insert(0, "")
            return self._compile(sys.stdin.read(), "<stdin>")
        path = self.name
        if not os.path.isfile(path):
            raise KernprofError("can't open file %r: %s" % (
                path, "is a directory" if os.path.isdir(path) else "no such file"))
        sys.argv = [path] + args
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        if self.kind == "notebook":
            return self._prepare_notebook(path)
        try:
            with open(path, "rb") as stream:
                source = stream.read()
        except OSError as error:
            raise KernprofError("can't open file %r: %s" % (path, error.strerror))
        # A script exported from a notebook calls get_ipython() for its magics:
        # it runs as `ipython script.py` would, when IPython is there.
        self.uses_ipython = b"get_ipython()" in source and notebook.ipython_available()
        # Absolute, as python 3.9+ makes it: the report then finds the file
        # from any folder.
        return self._compile(source, os.path.abspath(path))

    def _prepare_notebook(self, path):
        try:
            self.notebook_cells = notebook.code_cells(path)
        except notebook.NotebookError as error:
            raise KernprofError(str(error))
        self.uses_ipython = any(needs for _, _, needs in self.notebook_cells)
        # Plain Python compiles now, so that a syntax error stops the run before
        # any cell runs; cells with IPython syntax compile as they run, once
        # IPython has turned them into Python.
        self.compiled_cells = {filename: self._compile(source, filename)
                               for filename, source, needs_ipython in self.notebook_cells
                               if not needs_ipython}
        return None

    @staticmethod
    def _compile(source, filename):
        if isinstance(source, str) and filename.startswith("<"):
            # So that the report can show lines of code that has no file.
            notebook.cache_source(filename, source)
        try:
            return compile(source, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as error:
            where = ""
            if isinstance(error, SyntaxError) and error.lineno:
                where = " (%s, line %d)" % (error.filename or filename, error.lineno)
            raise KernprofError("%s cannot be compiled: %s%s" % (
                filename, getattr(error, "msg", None) or error, where))

    def _execute(self, code, main_module):
        namespace = main_module.__dict__
        shell = notebook.make_shell(main_module) if self.uses_ipython else None
        if self.kind == "notebook":
            for filename, source, _ in self.notebook_cells:
                cell_code = self.compiled_cells.get(filename) or \
                    self._compile(notebook.to_python(shell, source), filename)
                if self.autoprofiler is not None:
                    self.autoprofiler.add_script(cell_code, os.path.abspath(self.name))
                exec(cell_code, namespace)
        elif code is None:
            runpy.run_module(self.name, run_name="__main__", alter_sys=True)
        else:
            if self.autoprofiler is not None:
                self.autoprofiler.add_script(code, code.co_filename)
            exec(code, namespace)

    def run(self, code, profiler, profile_everything):
        """Runs the program; returns its exit status. profile_everything: the
        profiler is on for the whole run (cProfile without -b, kernprof -p),
        not only inside decorated calls."""
        main_module = types.ModuleType("__main__")
        main_module.__dict__["__builtins__"] = builtins
        # A notebook's __main__ has no file, as in Jupyter: multiprocessing's
        # spawn and forkserver children would run the .ipynb as Python.
        if self.kind == "script":
            main_module.__file__ = os.path.abspath(self.name)
        saved_main = sys.modules.get("__main__")
        sys.modules["__main__"] = main_module
        # cProfile's @profile calls switch it on by count: the whole run takes
        # one count, so that a decorated call (lineprof.profile under kernprof
        # without -l) does not enable it twice, which 3.12+ refuses ("Another
        # profiling tool is already active"), nor end the run's profiling.
        by_count = isinstance(profiler, ContextualProfile)
        try:
            if profile_everything:
                profiler.enable_by_count() if by_count else profiler.enable()
            try:
                self._execute(code, main_module)
            finally:
                if profile_everything:
                    profiler.disable_by_count() if by_count else profiler.disable()
        except SystemExit as exit:
            if self.reraise:
                self.error = exit
            return _exit_status(exit.code, not self.reraise)
        except KeyboardInterrupt as error:
            self._report(error)
            return EXIT_INTERRUPTED
        except ImportError as error:
            if code is None and self.kind == "module" and not _program_frames(error.__traceback__):
                # runpy's own refusal (a package without __main__, ...), not
                # an import inside the program: one line, as python gives.
                raise KernprofError(str(error))
            self._report(error)
            return 1
        except KernprofError:
            raise
        except BaseException as error:
            self._report(error)
            if _is_missing_profile(error):
                sys.stderr.write("kernprof: 'profile' is defined only under kernprof -l "
                                 "(line by line) or -b: add -l to kernprof's options\n")
            return 1
        finally:
            if saved_main is not None:
                sys.modules["__main__"] = saved_main
        return 0

    def _report(self, error):
        """The program's exception: its traceback now (the command), or kept
        for main() to raise once the profile is written (a caller of main())."""
        if self.reraise:
            self.error = error
        else:
            _print_program_traceback()


def _is_missing_profile(error):
    """Whether error is the NameError of a decorated program run without -l
    or -b: name 'profile' is not defined."""
    if not isinstance(error, NameError) or "profile" in builtins.__dict__:
        return False
    name = getattr(error, "name", None)     # 3.10+
    return name == "profile" or (name is None and str(error) == "name 'profile' is not defined")


def _exit_status(code, say=True):
    """The process status python gives to sys.exit(code) (say: print a code
    that is not a number, as python does)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    if say:
        sys.stderr.write("%s\n" % (code,))
    return 1


def _program_frames(tb):
    """The traceback from the program's first frame on: kernprof's and runpy's
    frames are skipped (None if there is no frame of the program)."""
    own_files = {os.path.abspath(__file__), os.path.abspath(runpy.__file__), "<frozen runpy>"}
    while tb is not None and (tb.tb_frame.f_code.co_filename in own_files
                              or os.path.abspath(tb.tb_frame.f_code.co_filename) in own_files):
        tb = tb.tb_next
    return tb


def _print_program_traceback():
    """Prints the program's traceback as python would, without kernprof's frames."""
    kind, value, tb = sys.exc_info()
    traceback.print_exception(kind, value, _program_frames(tb))


def _line_profiler_method(name):
    """LineProfiler's method `name`, for ContextualProfile, looked up when it
    is called: importing kernprof does not import the C extension."""
    def method(self, *args, **kwargs):
        return getattr(lineprof.LineProfiler, name)(self, *args, **kwargs)
    method.__name__ = name
    return method


class ContextualProfile(cProfile.Profile):
    """cProfile's profiler with the decorator and the by-count switches that
    @profile and `with profile:` need under -b."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.enable_count = 0

    def enable_by_count(self):
        if self.enable_count == 0:
            self.enable()
        self.enable_count += 1

    def disable_by_count(self):
        if self.enable_count > 0:
            self.enable_count -= 1
            if self.enable_count == 0:
                self.disable()

    def _switches(self):
        return self.enable_by_count, self.disable_by_count

    __call__ = _line_profiler_method("wrap_callable")
    _wrap_function = _line_profiler_method("_wrap_function")
    _wrap_coroutine = _line_profiler_method("_wrap_coroutine")
    _wrap_generator = _line_profiler_method("_wrap_generator")
    _wrap_async_generator = _line_profiler_method("_wrap_async_generator")
    runcall = _line_profiler_method("runcall")

    def __enter__(self):
        self.enable_by_count()
        return self

    def __exit__(self, *exc_info):
        self.disable_by_count()


def _run_setup(path):
    if not os.path.isfile(path):
        raise KernprofError("can't open setup file %r: no such file" % path)
    code = Program._compile(open(path, "rb").read(), path)
    namespace = {"__name__": "__main__", "__file__": path, "__builtins__": builtins}
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    exec(code, namespace)


def _check_runnable_module(name):
    """Refuses, before anything runs, a module python -m could not run."""
    import importlib.util
    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            if importlib.util.find_spec(name + ".__main__") is None:
                raise KernprofError("%r is a package without __main__; it cannot be run" % name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise KernprofError("no module named %r" % name)


def _check_writable(outfile):
    folder = os.path.dirname(os.path.abspath(outfile))
    if os.path.isdir(outfile):
        raise KernprofError("cannot write the profile to %r: it is a directory" % outfile)
    if not os.path.isdir(folder):
        raise KernprofError("cannot write the profile to %r: no such folder" % outfile)
    if not os.access(folder, os.W_OK):
        raise KernprofError("cannot write the profile to %r: permission denied" % outfile)


def _save(profiler, stats, options, line_by_line):
    """Writes the profile (stats, with -l); returns whether it was written."""
    try:
        if line_by_line:
            stats.to_file(options.outfile)
        else:
            profiler.create_stats()
            write_atomically(options.outfile, marshal.dumps(profiler.stats))
    except OSError as error:
        sys.stderr.write("kernprof: could not write the profile to %r: %s\n"
                         % (options.outfile, error.strerror or error))
        return False
    if not options.quiet:
        print("Wrote profile results to %r" % _short_path(options.outfile))
    return True


def _show(profiler, stats, options, line_by_line, saved):
    if line_by_line:
        if options.view:
            show_report(stats, options)
        elif saved and not options.quiet:
            print("Inspect results with:\n%s -m lineprof %s"
                  % (_python_command(), shlex.quote(_short_path(options.outfile))))
    else:
        if options.view:
            profiler.print_stats()
        elif saved and not options.quiet:
            print("Inspect results with:\n%s -m pstats %s"
                  % (_python_command(), shlex.quote(_short_path(options.outfile))))


def _short_path(path):
    """The shortest of path as given, absolute, and relative to the current
    folder (when it is inside it)."""
    forms = [path, os.path.abspath(path)]
    relative = os.path.relpath(forms[1])
    if relative != os.pardir and not relative.startswith(os.pardir + os.sep):
        forms.append(relative)
    return min(forms, key=len)


def _python_command():
    """The python to type: 'python' or 'python3' when that is this
    interpreter on PATH, its path otherwise."""
    for name in ("python", "python3"):
        found = shutil.which(name)
        try:
            if found and os.path.samefile(found, sys.executable):
                return name
        except OSError:
            pass
    return shlex.quote(_short_path(sys.executable)) if sys.executable else "python"


def main(argv=None):
    """Runs kernprof with the arguments argv (default sys.argv[1:]) and
    returns its exit status. An exception that ends the program (SystemExit
    included) is raised again once the profile is written, as line_profiler's
    kernprof.main() does."""
    return _run(argv, reraise=True)


def _run(argv, reraise):
    try:
        return _main(argv, reraise)
    except BrokenPipeError:
        silence_stdout()    # the reader went away: `kernprof -lv x.py | head`
        return 1


def _main(argv, reraise):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    argv = join_flag_values(argv, parser, program_ends_options=True)
    own, program_args = _interval_default(*_split_program(argv))
    config = read_config(parser, own + program_args, "kernprof")
    if config is None:
        return 2
    # A list from the file is replaced, not extended, by -p on the command line.
    parser.set_defaults(prof_mod=None, view=None, quiet=None)
    options = parser.parse_args(own + program_args)
    if options.prof_mod is None:
        options.prof_mod = config.get("prof_mod")
    # -v and -q count; a file's view/quiet = true counts as one unless the
    # command line gives the option.
    verbosity = (options.view if options.view is not None else int(bool(config.get("view")))) \
        - (options.quiet if options.quiet is not None else int(bool(config.get("quiet"))))
    options.view, options.quiet = verbosity > 0, verbosity < 0
    line_by_line = bool(options.line_by_line or _target_texts(options.prof_mod))
    builtin = options.builtin or line_by_line
    if options.output_interval and not line_by_line:
        sys.stderr.write("kernprof: -i/--output-interval needs -l (line-by-line profiling)\n")
        return 2
    program = Program(options)
    program.reraise = reraise
    with contextlib.ExitStack() as silenced:
        if verbosity <= -2:
            devnull = silenced.enter_context(open(os.devnull, "w"))
            silenced.enter_context(contextlib.redirect_stdout(devnull))
            if verbosity <= -3:
                silenced.enter_context(contextlib.redirect_stderr(devnull))
        status = _profile(program, options, line_by_line, builtin, verbosity >= 2)
    if program.error is not None:
        raise program.error
    return status


def _say(text):
    sys.stderr.write("kernprof: %s\n" % text)


def _profile(program, options, line_by_line, builtin, verbose):
    try:
        if options.outfile is None:
            options.outfile = program.default_outfile(line_by_line)
    except KernprofError as error:
        _say(error)
        return 1
    if verbose:
        _say("running %s %r %s; the profile goes to %r" % (
            program.kind, program.name,
            "line by line" if line_by_line else "with cProfile" + (" (-b)" if builtin else ""),
            _short_path(options.outfile)))

    saved_argv, saved_path, saved_meta_path = sys.argv[:], sys.path[:], sys.meta_path[:]
    kernprof_pid = os.getpid()
    job = None
    try:
        try:
            _check_writable(options.outfile)
            if options.setup:
                _run_setup(options.setup)
            code = program.prepare()
            if code is None and program.kind == "module":
                _check_runnable_module(program.name)
            targets = _targets(options.prof_mod, program)
        except KernprofError as error:
            sys.stderr.write("kernprof: %s\n" % error)
            if program.created_outfile is not None:
                os.unlink(program.created_outfile)
            return 1

        if builtin:
            lineprof.LineProfiler   # the C extension, or one line saying it is not built
        if line_by_line:
            profiler = lineprof.LineProfiler(compensation=not options.no_compensation,
                                             memory=bool(options.memory))
        else:
            profiler = ContextualProfile()
        if line_by_line and not options.no_subprocesses:
            from lineprof.job import Job
            job = Job(profiler, _job_name(program), _target_texts(options.prof_mod),
                      options.prof_imports, builtin=builtin)
            job.start()
        # As line_profiler 5 does, kernprof -l profiles every function of
        # the code given with -c or on stdin, as if it were named with -p.
        code_target = Target.code(code.co_filename) if (
            line_by_line and code is not None and program.kind in ("command", "stdin")) \
            else None
        if targets or code_target is not None:
            program.autoprofiler = AutoProfiler(
                profiler, targets + [code_target] * (code_target is not None),
                options.prof_imports)
            program.autoprofiler.start()
        if targets and options.preimports:
            failed = _preimport(program)
            if failed is not None:
                return failed
        # A live dump (LINEPROF_DUMP_SIGNAL) writes the output file so far.
        live_dump.set_writer(lambda: profiler.dump_stats(options.outfile), "kernprof")
        lineprof.profile.attach(profiler)
        if builtin:
            builtins.__dict__["profile"] = profiler
        writer = None
        if options.output_interval:
            if not options.no_compensation:
                from lineprof import calibration
                calibration.event_cost()    # measured here, not from the writer's thread
            writer = PeriodicWriter(lambda: profiler.dump_stats(options.outfile),
                                    options.output_interval)
            writer.start()
        # cProfile without -b, and -p, profile the whole run; otherwise
        # profiling is switched on by the decorated calls themselves.
        profile_everything = bool(targets) or code_target is not None or \
            not (line_by_line or builtin)
        try:
            status = program.run(code, profiler, profile_everything)
        except KernprofError as error:
            sys.stderr.write("kernprof: %s\n" % error)
            status = 1
        finally:
            lineprof.profile.attach(None)
            live_dump.set_writer(None, "kernprof")
            if writer is not None:
                writer.stop()
            if program.autoprofiler is not None:
                program.autoprofiler.stop()
        if os.getpid() != kernprof_pid:
            # A child forked by the program came back here: it writes its own
            # part (at exit, through the job's hooks), never the profile.
            return status
        stats = profiler.get_stats() if line_by_line else None
        if job is not None:
            stats = _merge_job(job, stats, options)
            job = None
        saved = _save(profiler, stats, options, line_by_line)
        _show(profiler, stats, options, line_by_line, saved)
        nothing = _nothing_profiled(profiler, stats, line_by_line, builtin, targets, program,
                                    status)
        if nothing:
            sys.stderr.write("kernprof: %s\n" % nothing)
        return status if saved else (status or 1)
    except (LprofFormatError, lineprof.ExtensionNotBuilt) as error:
        sys.stderr.write("kernprof: %s\n" % error)
        return 1
    finally:
        if job is not None and os.getpid() == kernprof_pid:
            job.discard()
        sys.argv[:], sys.path[:], sys.meta_path[:] = saved_argv, saved_path, saved_meta_path


def _nothing_profiled(profiler, stats, line_by_line, builtin, targets, program, status):
    """What to tell a user whose run profiled nothing (the report would be
    a bare 'Timer unit:' line), and what to do; None if something ran."""
    if line_by_line:
        if any(hits for lines in stats.timings.values() for _, hits, _ in lines):
            return None
    elif not builtin or profiler.getstats():
        return None     # cProfile of the whole program, or -b with something profiled
    if status:
        return "no profiled function ran before the program ended (exit status %d)" % status
    if not line_by_line:
        return ("no @profile function ran (with -b and without -l, cProfile profiles only "
                "the decorated functions' calls)")
    for target in targets:
        if program.kind == "script" and _is_module_of(target, program.name):
            return ("-p %s names the module of the script, which runs as __main__, not as %r: "
                    "name the script by its path (-p %s)"
                    % (target.text, target.module, program.name))
    names = sorted(name for _, _, name in stats.timings)
    if names:
        shown = ", ".join(names[:3]) + (" and %d more" % (len(names) - 3) if len(names) > 3
                                        else "")
        return "no profiled function ran: %s %s never called" % (
            shown, "was" if len(names) == 1 else "were")
    if targets:
        return ("no profiled function ran: the program imported none of the -p targets (%s), "
                "or they define no function" % ", ".join(t.text for t in targets))
    return ("no profiled function ran: decorate the functions to profile with @profile, "
            "or name them with -p")


def _is_module_of(target, path):
    """Whether the -p target is the module whose file is the script at path."""
    if target.module is None:
        return False
    import importlib.util
    try:
        spec = importlib.util.find_spec(target.module)
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None)
    return bool(origin) and os.path.abspath(origin) == os.path.abspath(path)


def _job_name(program):
    """What the profiles of the job's processes are named after."""
    stem = program.stem()
    return stem[:-3] if stem.endswith(".py") else stem


def _merge_job(job, stats, options):
    """Adds the profiles of the program's child processes to stats; says how
    many processes there were and which wrote nothing."""
    keep = None
    if options.keep_parts:
        stem = options.outfile[:-len(".lprof")] if options.outfile.endswith(".lprof") \
            else options.outfile
        keep = stem + ".parts"
    stats, processes, warnings = job.finish(stats, keep)
    for warning in warnings:
        sys.stderr.write("kernprof: %s\n" % warning)
    if not options.quiet and processes > 1:
        print("Merged the profiles of %d processes (this one and %d child%s)" % (
            processes, processes - 1, "" if processes == 2 else "ren"))
    if not options.quiet and keep is not None:
        print("Kept each process's profile in %s" % keep)
    return stats


def _target_texts(prof_mod):
    """The texts of the -p targets: each -p takes a comma-separated list; an
    empty -p '' drops the targets before it (those of [tool.lineprof] too)."""
    entries = list(prof_mod or ())
    while "" in entries:
        entries = entries[entries.index("") + 1:]
    return [text.strip() for entry in entries for text in entry.split(",") if text.strip()]


def _targets(prof_mod, program=None):
    """The -p targets that can be found; each one that cannot is a warning
    (the program still runs, as with line_profiler 5). '-' names the script
    read from stdin, which kernprof -l profiles anyway."""
    targets = []
    for text in _target_texts(prof_mod):
        if text == "-" and program is not None and program.kind == "stdin":
            continue
        try:
            targets.append(Target(text))
        except TargetError as error:
            _say("warning: %s; the program runs without it" % error)
    return targets


def _preimport(program):
    """Imports the -p targets before the program runs (--preimports). A
    target whose import fails stops kernprof: its traceback, one line, and
    status 1 (main() raises the exception, as line_profiler's does); None
    when the program can run."""
    autoprofiler = program.autoprofiler
    try:
        warnings = autoprofiler.preimport(
            os.path.abspath(program.name) if program.kind in ("script", "notebook") else None,
            program.name if program.kind == "module" else None)
    except PreimportError as error:
        cause = error.__cause__
        if program.created_outfile is not None:
            os.unlink(program.created_outfile)
        if program.reraise:
            program.error = cause
            return 1
        own = {os.path.abspath(__file__), os.path.abspath(autoprofiler_module.__file__)}
        stack = [frame for frame in traceback.extract_tb(cause.__traceback__)
                 if os.path.abspath(frame.filename) not in own
                 and not frame.filename.startswith("<frozen importlib")]
        if stack:
            sys.stderr.write("Traceback (most recent call last):\n")
            sys.stderr.write("".join(traceback.format_list(stack)))
        sys.stderr.write("".join(traceback.format_exception_only(type(cause), cause)))
        _say("%s: the program did not run (--no-preimports leaves importing the "
             "-p targets to the program)" % error)
        return 1
    for warning in warnings:
        _say("warning: %s" % warning)
    return None


def run_command(argv=None):
    """kernprof as a command runs (its status returned): the program's
    traceback is printed (without kernprof's frames), its status is
    kernprof's. `lineprof kernprof ...` runs this."""
    return _run(argv, reraise=False)


def console_main():
    """The `kernprof` and `kernprof.py` commands."""
    sys.exit(run_command())


if __name__ == "__main__":
    # `python -m lineprof.kernprof`: run the module that `import kernprof`
    # gives, not this second copy of it.
    from lineprof.kernprof import console_main as _console_main
    _console_main()
