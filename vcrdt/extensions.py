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
    from types import ModuleType
    from typing import Any
else:

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
