"""Loading a module only when it is needed.

`lazy_exports` gives a package the module-level ``__getattr__`` and ``__dir__`` that import
each exported name's module on first use, so ``import vcrdt.diff`` costs nothing.

`load_alone` loads one C extension of a package without running the package's ``__init__``.

`contextmanager` is contextlib's, with contextlib imported when a block first runs: importing
contextlib costs about 5 M instructions (its 18 classes), 5% of a plain `log -n 1000`, and most
commands (`log` among them) enter none of the blocks that the modules they import define.
`cache` and `cached_property` are functools', and `load_sqlite3` imports `_sqlite3`, without
importing functools (with collections: about 13 M instructions).

`CompiledFinder` loads vcrdt's own modules from their current compiled files in fewer steps
than the import system's path finder (``vcrdt/__init__.py`` installs it).

Some packages vcrdt uses spend far more on their Python ``__init__`` (typing,
platform, ssl, enums) than on the compiled module a command needs. `load_alone`
loads that compiled module from the package's directory and registers it under
its full name, so a later ``import package`` (whose ``__init__`` imports it)
finds and shares the same module. Callers fall back to importing the package
when it returns None (another layout, another interpreter).
"""

from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from contextlib import contextmanager as contextmanager
    from functools import cache as cache
    from functools import cached_property as cached_property
    from types import ModuleType
    from typing import Any

try:  # the C object under functools' caches (CPython)
    _lru_cache_wrapper: Any = __import__("_functools")._lru_cache_wrapper
except (ImportError, AttributeError):  # another interpreter: functools' own
    _lru_cache_wrapper = None


def _info(*counts: int) -> tuple[int, ...]:
    """A cache's ``cache_info()``: (hits, misses, maxsize, currsize) as a plain tuple."""
    return counts


def _named_as(wrapper: Any, function: Callable[..., Any]) -> Any:
    """Give `wrapper` the module, names and docstring of the `function` it wraps, and ``__wrapped__``."""
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, name, getattr(function, name, None))
    wrapper.__wrapped__ = function
    return wrapper


if not TYPE_CHECKING:

    def cache(function: Callable[..., Any]) -> Callable[..., Any]:
        """`functools.cache` of `function`, without importing functools.

        The same C object as functools makes (an unbounded ``_lru_cache_wrapper``), with the
        function's name, docstring and ``__wrapped__``; its ``cache_info()`` is a plain tuple.
        """
        if _lru_cache_wrapper is None:
            from functools import cache as make

            return make(function)
        return _named_as(_lru_cache_wrapper(function, None, False, _info), function)

    class cached_property:
        """`functools.cached_property` without importing functools: the value is computed once per instance.

        Stored in the instance's ``__dict__`` under the attribute's name, which then hides this
        descriptor (a non-data one), as functools' does since Python 3.12: without 3.11's lock, so
        two threads reading it first at once may both compute it (each value kept is whole).
        """

        def __init__(self, func: Callable[[Any], Any]) -> None:
            self.func = func
            self.attrname: str | None = None
            self.__doc__ = func.__doc__
            self.__module__ = func.__module__

        def __set_name__(self, owner: type, name: str) -> None:
            self.attrname = name

        def __get__(self, instance: object, owner: type | None = None) -> Any:
            if instance is None:
                return self
            value = self.func(instance)
            instance.__dict__[self.attrname] = value
            return value

    def contextmanager(func: Callable[..., Iterator[Any]]) -> Callable[..., Any]:
        """Return contextlib's `contextmanager` of `func`, made (and contextlib imported) on its first call."""
        made = None

        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal made
            if made is None:
                from contextlib import contextmanager as make

                made = make(func)
            return made(*args, **kwargs)

        return _named_as(call, func)


def lazy_exports(
    namespace: dict[str, object], where: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Return a package's ``__getattr__`` and ``__dir__`` for names imported on first use.

    Args:
        namespace: The package's ``globals()``; each name is stored there once imported, so
            later reads do not come back here.
        where: Each exported name's module (``{"flatten_tree": "vcrdt.diff.tree"}``).

    Returns:
        ``(__getattr__, __dir__)`` to assign at the package's top level.
    """
    package = namespace.get("__name__")

    def getattr_(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        __import__(module)  # not importlib.import_module: the importlib package (with warnings) stays unloaded
        value = getattr(sys.modules[module], name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *where})

    return getattr_, dir_


def load_alone(package: str, name: str, needs: tuple[str, ...] = ()) -> ModuleType | None:
    """Return the extension module ``package.name``, loaded without the package if need be.

    Args:
        package: The package's import name (``zstandard``).
        name: The extension module's name inside it (``backend_c``).
        needs: Attributes the module must have to be used.

    Returns:
        The module (already loaded, or loaded now and registered in `sys.modules`), or None
        when it cannot be loaded alone or lacks one of `needs`.
    """
    full = f"{package}.{name}"
    loaded = sys.modules.get(full)
    if loaded is not None:
        return loaded
    try:
        EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec, PathFinder = _machinery()
        spec = PathFinder.find_spec(package)
        for directory in (spec.submodule_search_locations or ()) if spec is not None else ():
            for suffix in EXTENSION_SUFFIXES:
                path = f"{directory}/{name}{suffix}"
                try:
                    loader = ExtensionFileLoader(full, path)
                    module = loader.create_module(ModuleSpec(full, loader, origin=path))
                    loader.exec_module(module)
                except (ImportError, OSError):
                    continue
                if not all(hasattr(module, attr) for attr in needs):
                    sys.modules.pop(full, None)  # a single-phase module registers itself as it loads
                    return None
                return sys.modules.setdefault(full, module)
    except ImportError:  # an interpreter without importlib.machinery's loaders
        pass
    return None


def _machinery() -> tuple[list[str], Any, Any, Any]:
    """importlib.machinery's `EXTENSION_SUFFIXES`, `ExtensionFileLoader`, `ModuleSpec` and `PathFinder`.

    Taken from the import system's own modules, loaded at start-up (``importlib.machinery``
    re-exports them), when they are there: importing ``importlib.machinery`` loads the
    ``importlib`` package and ``warnings`` too, about 2 million instructions of a command that
    reads a compressed object. Else (another interpreter) from ``importlib.machinery``.

    Raises:
        ImportError: If neither has them.
    """
    external = sys.modules.get("_frozen_importlib_external")
    bootstrap = sys.modules.get("_frozen_importlib")
    try:
        return (
            external.EXTENSION_SUFFIXES,  # type: ignore[union-attr]
            external.ExtensionFileLoader,  # type: ignore[union-attr]
            bootstrap.ModuleSpec,  # type: ignore[union-attr]
            external.PathFinder,  # type: ignore[union-attr]
        )
    except AttributeError:
        from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec, PathFinder

        return EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec, PathFinder


def load_sqlite3() -> ModuleType:
    """Return the `_sqlite3` C module, imported without functools when functools is not loaded yet.

    `_sqlite3` takes ``functools.lru_cache`` when it is imported (for each connection's cache of
    compiled statements), and importing functools imports collections with operator, keyword,
    reprlib and types: about 13 M instructions, a sixth of a plain `log -n 1000`, where nothing
    else needs them. While `_sqlite3` is imported, ``sys.modules["functools"]`` is a module
    whose ``lru_cache`` makes the same C object functools' would (``_lru_cache_wrapper``, of the
    size asked); it is removed right after, so a later ``import functools`` loads the real one.
    On any doubt (functools loaded already, no ``_functools``, an import that fails with the
    stand-in) the import is the plain one.
    """
    loaded = sys.modules.get("_sqlite3")
    if loaded is not None:
        return loaded
    if "functools" in sys.modules or "threading" in sys.modules or _lru_cache_wrapper is None:
        # With threads, another one could import functools while the stand-in is in place and
        # keep it: the plain import then.
        import _sqlite3

        return _sqlite3
    stand_in = type(sys)("functools")
    stand_in.__dict__["lru_cache"] = _lru_cache
    sys.modules["functools"] = stand_in
    try:
        import _sqlite3 as module
    except ImportError:
        module = None  # type: ignore[assignment]
    finally:
        if sys.modules.get("functools") is stand_in:
            del sys.modules["functools"]
    if module is None:
        import _sqlite3 as module
    return module


def _lru_cache(maxsize: int | None = 128, typed: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """functools.lru_cache's decorator factory for an integer or None size, as `_sqlite3` calls it."""
    if isinstance(maxsize, int) and maxsize < 0:
        maxsize = 0

    def decorating(function: Callable[..., Any]) -> Callable[..., Any]:
        return _lru_cache_wrapper(function, maxsize, typed, _info)  # type: ignore[no-any-return]

    return decorating


class CompiledFinder:
    """Finds the modules of one package whose compiled file is current, and loads them from it.

    The import system's path finder takes about 0.3 M instructions a module (its finders in
    turn, the directory cache, path joins, the source's stat, the compiled file's open, read and
    checks, in Python), a tenth of a plain `log` over the 30-odd modules it loads. This finder,
    first on `sys.meta_path`, goes straight to ``DIR/__pycache__/NAME.TAG.pyc`` for a module of
    the package and checks it as the path finder does (magic number, a timestamp pyc whose
    recorded mtime and size are the source's), then runs it, its code naming the source file
    found (as after a copy of the tree): about 0.1 M instructions less a module.

    Anything else it leaves to the path finder, which compiles the module and writes its pyc as
    usual: a module with no current compiled file (edited since, never compiled, a hash-based
    pyc), one that is not Python source (an extension module: the package has no Python module
    of the same name beside one, which a test holds), and every module outside the package.
    `install` puts it in place only where the path finder would read the same file (no ``-O``,
    no ``PYTHONPYCACHEPREFIX``) and where a name's case matters to the file system's lookups.
    """

    def __init__(self, package: str, directory: str) -> None:
        """A finder for `package` (an import name) whose ``__init__.py`` is in `directory`."""
        self.package = package
        self.prefix = package + "."
        self.directory = directory
        external = sys.modules["_frozen_importlib_external"]
        self._magic: bytes = external.MAGIC_NUMBER
        self._tag: str = sys.implementation.cache_tag
        self._spec = sys.modules["_frozen_importlib"].ModuleSpec
        self._source_loader = external.SourceFileLoader
        self._code_type = type(_info.__code__)  # the code type, without importing `types`
        self._fix_filename = sys.modules["_imp"]._fix_co_filename

    def find_spec(self, name: str, path: object = None, target: object = None) -> Any:
        """The spec of `name` with its compiled bytes, or None for the path finder to look."""
        found = self._source(name)
        if found is None:
            return None
        source, package, st = found
        folder, _, file = source.rpartition("/")
        cached = f"{folder}/__pycache__/{file[:-3]}.{self._tag}.pyc"
        try:
            with open(cached, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        if (
            data[:4] != self._magic
            or data[4:8] != b"\0\0\0\0"  # flags: a timestamp pyc (a hash-based one is the path finder's)
            or int.from_bytes(data[8:12], "little") != int(st.st_mtime) & 0xFFFFFFFF
            or int.from_bytes(data[12:16], "little") != st.st_size & 0xFFFFFFFF
        ):
            return None
        spec = self._spec(name, self, origin=source, loader_state=data, is_package=package)
        spec.has_location = True
        spec.cached = cached
        if package:
            spec.submodule_search_locations = [folder]
        return spec

    def _source(self, name: str) -> tuple[str, bool, os.stat_result] | None:
        """The source file of module `name` of the package, whether it is a package, and its stat."""
        if name == self.package:
            rel = self.directory
        elif name.startswith(self.prefix):
            rel = self.directory + "/" + name[len(self.prefix) :].replace(".", "/")
        else:
            return None
        for source, package in ((rel + "/__init__.py", True), (rel + ".py", False)):
            try:
                return source, package, os.stat(source)
            except OSError:
                continue
        return None

    def create_module(self, spec: Any) -> None:
        """The default module object."""
        return None

    def exec_module(self, module: ModuleType) -> None:
        """Run the module's compiled code in it."""
        spec = module.__spec__
        data = None if spec is None else spec.loader_state
        if spec is None or data is None:  # reloaded, or made elsewhere: look again
            code = self.get_code(module.__name__)
        else:
            spec.loader_state = None  # the bytes are not kept
            code = self._code(data, spec.name, str(spec.origin), str(spec.cached))
        exec(code, module.__dict__)

    def get_code(self, name: str) -> Any:
        """The module's code object (what `runpy`, for ``python -m``, asks a loader for): compiled, or its source's."""
        spec = self.find_spec(name)
        if spec is not None:
            return self._code(spec.loader_state, name, spec.origin, spec.cached)
        return self._loader(name).get_code(name)

    def _code(self, data: bytes, name: str, source: str, cached: str) -> Any:
        """The code object of a pyc's bytes, its file names set to `source` (as the path finder's loader does).

        A pyc keeps the path it was compiled at; a tree copied with its times (``cp -a``) must
        still name its own files in tracebacks and to `inspect`.
        """
        code = marshal.loads(memoryview(data)[16:])
        if type(code) is not self._code_type:
            raise ImportError(f"not a code object in {cached}", name=name, path=cached)
        self._fix_filename(code, source)
        return code

    def get_source(self, name: str) -> str | None:
        """The module's source text, read as the path finder's loader reads it."""
        return self._loader(name).get_source(name)  # type: ignore[no-any-return]

    def get_filename(self, name: str) -> str:
        """The module's source file."""
        return self._loader(name).path  # type: ignore[no-any-return]

    def get_data(self, path: str) -> bytes:
        """The bytes of the file at `path` (what `pkgutil.get_data` and resource readers ask for)."""
        with open(path, "rb") as fh:
            return fh.read()

    def is_package(self, name: str) -> bool:
        """Whether `name` is a package (has an ``__init__.py``)."""
        found = self._source(name)
        return found is not None and found[1]

    def _loader(self, name: str) -> Any:
        found = self._source(name)
        if found is None:
            raise ImportError(f"no module named {name!r} in {self.directory}", name=name)
        return self._source_loader(name, found[0])

    @classmethod
    def install(cls, package: str, init_file: str) -> CompiledFinder | None:
        """Put a finder for `package` (whose ``__init__.py`` is `init_file`) first on `sys.meta_path`, once.

        Returns:
            The finder in place, or None where it would not read the files the path finder
            reads (``-O``, a pycache prefix), where file names may match without regard to
            case (the path finder checks a name's case; this one does not), or where the
            import system's modules are not CPython's.
        """
        directory = init_file[: -len("/__init__.py")]
        for finder in sys.meta_path:
            if isinstance(finder, cls) and finder.package == package and finder.directory == directory:
                return finder
        if (
            sys.flags.optimize
            or sys.pycache_prefix is not None
            or not init_file.endswith("/__init__.py")
            or sys.platform in ("darwin", "win32", "cygwin")  # names matched without regard to case
        ):
            return None
        try:
            finder = cls(package, directory)
        except (KeyError, AttributeError):
            return None
        sys.meta_path.insert(0, finder)
        return finder
