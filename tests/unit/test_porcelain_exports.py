"""The porcelain package's lazy exports: each name comes from the submodule that owns it."""

from __future__ import annotations

import importlib
import pkgutil

import vcrdt.porcelain as porcelain


def test_every_export_resolves_to_its_owner() -> None:
    for name in porcelain.__all__:
        owner = porcelain._SUBMODULE[name]
        value = getattr(porcelain, name)
        assert value is getattr(importlib.import_module(owner), name), name


def test_no_submodule_shadows_an_export() -> None:
    # Importing `vcrdt.porcelain.X` binds the module as attribute X of the package, which would
    # hide an exported verb of the same name from `porcelain.X(...)`.
    submodules = {m.name for m in pkgutil.iter_modules(porcelain.__path__)}
    assert submodules, "no porcelain submodules found"
    assert not submodules & set(porcelain.__all__)
    for module in submodules:
        importlib.import_module(f"vcrdt.porcelain.{module}")
    for name in porcelain.__all__:
        assert not isinstance(getattr(porcelain, name), type(porcelain)), name
