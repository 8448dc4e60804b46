"""Loading a module only when it is needed.

`lazy_exports` gives a package the module-level ``__getattr__`` and ``__dir__`` that import
each exported name's module on first use, so ``import vcrdt.diff`` costs nothing.

`load_alone` loads one C extension of a package without running the package's ``__init__``.

`contextmanager` is contextlib's, with contextlib imported when a block first runs: importing
contextlib costs about 5 M instructions (its 18 classes), 5% of a plain `log -n 1000`, and most
commands (`log` among them) enter none of the blocks that the modules they import define.

Some packages vcrdt uses spend far more on their Python ``__init__`` (typing,
platform, ssl, enums) than on the compiled module a command needs. `load_alone`
loads that compiled module from the package's directory and registers it under
its full name, so a later ``import package`` (whose ``__init__`` imports it)
finds and shares the same module. Callers fall back to importing the package
when it returns None (another layout, another interpreter).
"""

from __future__ import annotations

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


if not TYPE_CHECKING:

    def cache(function: Callable[..., Any]) -> Callable[..., Any]:
        """`functools.cache` of `function`, without importing functools.

        The same C object as functools makes (an unbounded ``_lru_cache_wrapper``), with the
        function's name, docstring and ``__wrapped__``; its ``cache_info()`` is a plain tuple.
        """
        if _lru_cache_wrapper is None:
            from functools import cache as make

            return make(function)
        wrapper = _lru_cache_wrapper(function, None, False, _info)
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(wrapper, name, getattr(function, name, None))
        wrapper.__wrapped__ = function
        return wrapper

    class cached_property:
        """`functools.cached_property` without importing functools: the value is computed once per instance.

        Stored in the instance's ``__dict__`` under the attribute's name, which then hides this
        descriptor (a non-data one), as functools' does since Python 3.12 (no lock).
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

        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(call, name, getattr(func, name))
        call.__wrapped__ = func
        return call


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
    if "functools" in sys.modules or _lru_cache_wrapper is None:
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
