"""Packages that export their submodules' names lazily: each name comes from the module that owns it."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from types import ModuleType

import pytest

import vcrdt.diff
import vcrdt.porcelain

PACKAGES = [vcrdt.porcelain, vcrdt.diff]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_export_resolves_to_its_owner(package: ModuleType) -> None:
    table = package._SUBMODULE
    assert set(table) == set(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is getattr(importlib.import_module(table[name]), name), name


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_no_submodule_shadows_an_export(package: ModuleType) -> None:
    # Importing `package.X` binds the module as attribute X of the package, which would hide an
    # exported name X from `package.X`.
    submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    assert submodules
    assert not submodules & set(package.__all__)
    for module in submodules:
        importlib.import_module(f"{package.__name__}.{module}")
    for name in package.__all__:
        assert not isinstance(getattr(package, name), ModuleType), name


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_importing_the_package_loads_no_submodule(package: ModuleType) -> None:
    name = package.__name__
    code = f"import sys, {name}; print(sorted(m for m in sys.modules if m.startswith('{name}.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
