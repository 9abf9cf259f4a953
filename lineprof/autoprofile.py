"""Profiling without decorators: `kernprof -l -p TARGETS`.

A target is a module name (`pkg.mod`), a dotted name inside a module
(`pkg.mod.func`, `pkg.mod.Class`), a file path or a package folder. Every
function defined there is profiled, methods and nested functions included.

How: functions are registered by their code objects, found by walking the
compiled module's constants (a function's code holds the code of the
functions and classes defined in it), before the module runs. The code of a
module that is imported later is taken from an import hook that wraps the
module's loader; a module that was imported already is profiled through its
live functions and classes (LineProfiler.add_module). No source is rewritten,
so line numbers and tracebacks stay the program's own.

`--prof-imports` adds, once, the modules that the targets (or the profiled
script) import themselves: not what those modules import in turn.

As line_profiler 5 does, a target module is also profiled through its live
namespace once it has run (LineProfiler.add_module with the default scoping
policy: the functions its package's modules define, imported from a sibling
module too, and what functools.partial attributes of a class target wrap),
and with preimports (kernprof's default) the targets, and the submodules of
a package target, are imported before the program runs.
"""
import ast
import importlib.abc
import importlib.util
import inspect
import linecache
import os
import pkgutil
import sys
import types

# Set on the code of functions (not of modules or class bodies).
_FUNCTION_FLAGS = inspect.CO_OPTIMIZED | inspect.CO_NEWLOCALS


class TargetError(Exception):
    """A target that names nothing: reported as one line."""


def function_codes(code, prefix=""):
    """(qualname, code) of every function defined in code, nested ones too.
    Comprehensions and lambdas are left out: their lines belong to the
    function they are written in."""
    for const in code.co_consts:
        if not isinstance(const, types.CodeType) or const.co_name.startswith("<"):
            continue
        qualname = prefix + const.co_name
        child_is_function = const.co_flags & _FUNCTION_FLAGS == _FUNCTION_FLAGS
        if child_is_function:
            yield qualname, const
        inner = qualname + (".<locals>." if child_is_function else ".")
        yield from function_codes(const, inner)


class Target:
    """One entry of -p: a module (and, optionally, a name inside it) or a path;
    with whole_module, the module named text as it is (--prof-imports).
    `pkg.__init__` is the package's own module, without its submodules."""

    def __init__(self, text, whole_module=False):
        self.text = text
        self.path = None
        self.folder = None          # the path with a trailing separator, for a folder
        self.module = None
        self.qualname = None        # only this name (and what it holds) in the module
        self.exact = False          # pkg.__init__: the package, not its submodules
        if whole_module:
            self.module = text
        elif text.endswith(".__init__") and "/" not in text and os.sep not in text:
            self.module = text[:-len(".__init__")]
            self.exact = True
            try:
                spec = importlib.util.find_spec(self.module)
            except (ImportError, ValueError):
                spec = None
            if spec is None:
                raise TargetError("-p %s: no module of that name" % text)
        elif text.endswith(".py") or os.sep in text or os.path.exists(text):
            self.path = os.path.abspath(text)
            if not os.path.exists(self.path):
                raise TargetError("-p %s: no such file or folder" % text)
            if os.path.isdir(self.path):
                self.folder = self.path.rstrip(os.sep) + os.sep
        else:
            self.module, self.qualname = _split_dotted(text)

    @classmethod
    def code(cls, filename):
        """The program's code that has no file (-c CODE, '-'), by the name it
        was compiled with ('<string>', '<stdin>'): kernprof -l profiles it
        as line_profiler 5 does."""
        target = cls(filename, whole_module=True)
        target.module = None
        target.path = filename
        return target

    def matches_file(self, filename):
        if self.path is None or not filename:
            return False
        if filename == self.path:
            return True
        filename = os.path.abspath(filename)
        return filename == self.path or (self.folder is not None and
                                         filename.startswith(self.folder))

    def matches_module(self, name):
        """A package's name takes in its submodules, as coverage's --source does."""
        if self.module is None:
            return False
        return name == self.module or (self.qualname is None and not self.exact and
                                       name.startswith(self.module + "."))

    def module_name(self):
        """The module to import for this target (preimports), or None: the
        module of a dotted target, or the module a file or package folder is
        on sys.path (None for a path that is not importable)."""
        if self.module is not None:
            return self.module
        if self.path is None or self.path.startswith("<"):
            return None
        return _module_of_path(self.path)

    def is_package_tree(self):
        """Whether preimporting imports the submodules too: a package named
        whole (not pkg.__init__, not a name inside it) or a package folder."""
        return self.qualname is None and not self.exact and (
            self.folder is not None or self.path is None)

    def wants(self, qualname):
        return self.qualname is None or qualname == self.qualname or \
            qualname.startswith(self.qualname + ".")


def _split_dotted(text):
    """'pkg.mod.Class.method' -> ('pkg.mod', 'Class.method'). Walks down from
    the first part and stops at a module that is not a package, so that the
    target module itself is not imported (a parent package's __init__ is)."""
    parts = text.split(".")
    module = None
    for end in range(1, len(parts) + 1):
        name = ".".join(parts[:end])
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            break
        module = name
        if spec.submodule_search_locations is None:
            break
    if module is None:
        raise TargetError("-p %s: no module of that name" % text)
    return module, text[len(module) + 1:] or None


def _module_of_path(path):
    """The dotted name under which path (a .py file or a package folder) is
    imported from sys.path, or None."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        path = path.rstrip(os.sep)
        is_init = True
    else:
        stem, extension = os.path.splitext(path)
        if extension != ".py":
            return None
        is_init = os.path.basename(stem) == "__init__"
        path = os.path.dirname(path) if is_init else stem
    for entry in sys.path:
        entry = os.path.abspath(entry or os.curdir)
        relative = os.path.relpath(path, entry)
        if relative == os.curdir or relative.startswith(os.pardir):
            continue
        parts = relative.split(os.sep)
        if not all(part.isidentifier() for part in parts):
            continue
        name = ".".join(parts)
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        if is_init:
            locations = spec.submodule_search_locations or ()
            if any(os.path.abspath(location) == path for location in locations):
                return name
        elif spec.origin and os.path.abspath(spec.origin) == path + ".py":
            return name
    return None


class PreimportError(Exception):
    """A -p target whose import failed: its exception is __cause__."""

    def __init__(self, target, name):
        super().__init__("-p %s: importing %s failed" % (target.text, name))
        self.target = target


class AutoProfiler:
    """Registers the functions of the targets with a LineProfiler as their
    modules are compiled or imported."""

    def __init__(self, profiler, targets, prof_imports=False):
        self.profiler = profiler
        self.targets = list(targets)
        self.prof_imports = prof_imports
        self._import_targets = []   # added by --prof-imports: whole modules, once
        self._finder = _ProfilingFinder(self)

    # ---- the program's own code ---------------------------------------------

    def add_script(self, code, filename):
        """Called with the script's compiled code before it runs."""
        targeted = [t for t in self.targets if t.matches_file(filename)]
        if targeted:
            self._register(code, targeted)
            self._add_imports_of(code, filename, package=None)

    def preimport(self, program_file=None, program_module=None):
        """Imports the targets before the program runs (kernprof's
        --preimports, on by default as in line_profiler 5), so that they
        are profiled whether or not the program imports them itself, and a
        target that cannot be imported shows its traceback. The submodules
        of a package target are imported too. Raises PreimportError (the
        import's exception as __cause__) for a target itself; returns the
        warnings: targets named inside a module that has no such name, and
        submodules whose import failed. program_file and program_module
        (what kernprof runs) are not imported a second time."""
        warnings, broken = [], []
        program_file = program_file and os.path.abspath(program_file)
        for target in list(self.targets):
            if program_file is not None and target.path == program_file:
                continue
            name = target.module_name()
            if name is None or name == program_module or _is_file_of(name, program_file):
                continue
            try:
                __import__(name)
            except BaseException as error:
                raise PreimportError(target, name) from error
            module = sys.modules.get(name)
            if module is None:
                continue
            if target.qualname is not None:
                obj = module
                for part in target.qualname.split("."):
                    obj = getattr(obj, part, _MISSING)
                    if obj is _MISSING:
                        warnings.append("-p %s: module %s has no %s" % (
                            target.text, name, target.qualname))
                        break
            elif target.is_package_tree() and hasattr(module, "__path__"):
                def failed(submodule, broken=broken):
                    broken.append(submodule)
                # Listed first, then imported: listing imports the subpackages
                # (to look inside them), so they come before the modules, as in
                # line_profiler 5, whose order of imports a program may see.
                found = list(pkgutil.walk_packages(module.__path__, name + ".", onerror=failed))
                for info in found:
                    if info.name in sys.modules:
                        continue
                    try:
                        __import__(info.name)
                    except Exception:
                        broken.append(info.name)
        if broken:
            warnings.append("%d submodule%s of the -p targets could not be imported: %s" % (
                len(broken), "" if len(broken) == 1 else "s", ", ".join(sorted(set(broken)))))
        return warnings

    # ---- modules -------------------------------------------------------------

    def start(self):
        """Profiles targets that are imported already and hooks later imports."""
        self._add_imported(self.targets)
        sys.meta_path.insert(0, self._finder)

    def add_targets(self, targets):
        """More targets, once started (a job's child resolves its targets when
        the program's folder is on sys.path)."""
        self.targets.extend(targets)
        self._add_imported(targets)

    def _add_imported(self, targets):
        for name, module in list(sys.modules.items()):
            filename = getattr(module, "__file__", None)
            for target in targets:
                if target.matches_module(name) or target.matches_file(filename):
                    self._add_live(module, target)

    def stop(self):
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)

    def targets_of(self, name, filename):
        return [t for t in self.targets + self._import_targets
                if t.matches_module(name) or t.matches_file(filename)]

    def module_compiled(self, name, code, filename, package, targets):
        self._register(code, targets)
        if any(t in self.targets for t in targets):
            self._add_imports_of(code, filename, package)

    def module_executed(self, module, targets):
        """Once a target module has run: what its namespace holds, as
        line_profiler 5 adds it (see _add_live)."""
        for target in targets:
            self._add_live(module, target)

    def _register(self, code, targets):
        for qualname, function_code in function_codes(code):
            if any(t.wants(qualname) for t in targets):
                self.profiler.add_function(function_code)

    def _add_live(self, module, target):
        """The functions found in module's namespace (or in the class or
        function the target names inside it), as line_profiler 5's
        add_module/add_class decide with their default scoping policy:
        functions and classes of the module's package's modules, imported
        ones included; partial and partialmethod attributes."""
        try:
            if target.qualname is None:
                self.profiler.add_module(module)
                return
            obj = module
            for part in target.qualname.split("."):
                obj = getattr(obj, part, None)
            if isinstance(obj, type):
                self.profiler.add_class(obj)
            elif obj is not None:
                self.profiler.add_callable(obj)
        except Exception:
            pass    # an odd namespace: its code objects are registered already

    def _add_imports_of(self, code, filename, package):
        if not self.prof_imports:
            return
        for name in _imported_modules(filename, package):
            target = Target(name, whole_module=True)    # not followed further
            if name in sys.modules:
                self._add_live(sys.modules[name], target)
            else:
                self._import_targets.append(target)


_MISSING = object()


def _is_file_of(name, path):
    """Whether the module name is the file at path (the program's script)."""
    if path is None:
        return False
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None)
    return bool(origin) and os.path.abspath(origin) == path


def _imported_modules(filename, package):
    """The absolute names of the modules that the source in filename imports
    (code without a file, -c or stdin, is read from linecache)."""
    try:
        if filename.startswith("<"):
            source = "".join(linecache.getlines(filename))
        else:
            with open(filename, "rb") as stream:
                source = stream.read()
        tree = ast.parse(source, filename)
    except (OSError, SyntaxError, ValueError):
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                try:
                    base = importlib.util.resolve_name("." * node.level + base, package or "")
                except (ImportError, ValueError):
                    continue
            names.append(base)
            # `from pkg import mod` may name a submodule.
            names.extend(base + "." + alias.name for alias in node.names if alias.name != "*")
    wanted = []
    for name in names:
        try:
            if name and name not in wanted and (name in sys.modules or
                                                importlib.util.find_spec(name) is not None):
                wanted.append(name)
        except (ImportError, ValueError):
            pass
    return wanted


class _ProfilingFinder(importlib.abc.MetaPathFinder):
    """Finds modules with the finders after it and, for targets, wraps the
    loader so that the module's code is registered before it runs."""

    def __init__(self, autoprofiler):
        self.autoprofiler = autoprofiler

    def find_spec(self, name, path=None, target=None):
        finders = sys.meta_path[sys.meta_path.index(self) + 1:] if self in sys.meta_path else []
        for finder in finders:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        targets = self.autoprofiler.targets_of(name, spec.origin)
        if targets and hasattr(spec.loader, "get_code"):
            spec.loader = _ProfilingLoader(spec.loader, self.autoprofiler, targets)
        return spec


class _ProfilingLoader(importlib.abc.Loader):
    def __init__(self, loader, autoprofiler, targets):
        self.loader = loader
        self.autoprofiler = autoprofiler
        self.targets = targets

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def get_code(self, name):
        code = self.loader.get_code(name)
        if code is not None:
            filename = self.loader.get_filename(name) if hasattr(self.loader, "get_filename") \
                else code.co_filename
            is_package = getattr(self.loader, "is_package", lambda _: False)(name)
            package = name if is_package else name.rpartition(".")[0]
            self.autoprofiler.module_compiled(name, code, filename, package, self.targets)
        return code

    def exec_module(self, module):
        code = self.get_code(module.__name__)
        if code is None:
            raise ImportError("cannot load the code of %r" % module.__name__)
        exec(code, module.__dict__)
        self.autoprofiler.module_executed(module, self.targets)

    def __getattr__(self, attribute):
        # get_source, get_filename, is_package, get_resource_reader... as the
        # real loader has them.
        return getattr(self.loader, attribute)
