"""`vcrdt.extensions`: names imported on first use, and a package's C module alone."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from vcrdt.extensions import lazy_exports, load_alone

SCRIPT = """
import sys
from vcrdt.extensions import load_alone
m = load_alone("zstandard", "backend_c", needs=("ZstdCompressor",))
assert m is sys.modules["zstandard.backend_c"], m
assert "zstandard" not in sys.modules
assert "importlib.machinery" not in sys.modules  # the loaders come from the import system's own modules
import zstandard
assert zstandard.ZstdCompressor is m.ZstdCompressor
print("ok")
"""


def test_loads_the_module_alone_and_the_package_shares_it() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok"), proc.stderr


def test_a_missing_module_or_attribute_gives_none() -> None:
    assert load_alone("zstandard", "no_such_module") is None
    assert load_alone("no_such_package_here", "x") is None
    script = (
        "import sys\nfrom vcrdt.extensions import load_alone\n"
        "assert load_alone('zstandard', 'backend_c', needs=('NoSuchAttribute',)) is None\n"
        "assert 'zstandard.backend_c' not in sys.modules\nprint('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok"), proc.stderr


def test_the_loaders_come_from_importlib_machinery_when_the_import_systems_modules_lack_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.machinery

    from vcrdt import extensions

    monkeypatch.setitem(sys.modules, "_frozen_importlib_external", types.ModuleType("_frozen_importlib_external"))
    assert extensions._machinery() == (
        importlib.machinery.EXTENSION_SUFFIXES,
        importlib.machinery.ExtensionFileLoader,
        importlib.machinery.ModuleSpec,
        importlib.machinery.PathFinder,
    )


LAZY = """
import sys
import vcrdt.diff
assert "vcrdt.diff.tree" not in sys.modules
flatten = vcrdt.diff.flatten_tree
assert "vcrdt.diff.tree" in sys.modules and "vcrdt.diff.xdiff" not in sys.modules
assert vars(vcrdt.diff)["flatten_tree"] is flatten
print("ok")
"""


def test_a_package_imports_each_module_on_first_use_only() -> None:
    proc = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok"), proc.stderr


def test_lazy_exports_caches_in_the_namespace_and_refuses_unknown_names() -> None:
    namespace: dict[str, object] = {"__name__": "pkg"}
    getattr_, dir_ = lazy_exports(namespace, {"dumps": "json"})
    import json

    assert getattr_("dumps") is json.dumps
    assert namespace["dumps"] is json.dumps
    assert "dumps" in dir_()
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'loads'"):
        getattr_("loads")


def test_contextmanager_is_contextlibs_made_on_first_call() -> None:
    from collections.abc import Iterator

    from vcrdt.extensions import contextmanager

    seen: list[str] = []

    @contextmanager
    def block(name: str) -> Iterator[str]:
        """A block."""
        seen.append("enter " + name)
        try:
            yield name.upper()
        except KeyError:
            seen.append("handled")
        finally:
            seen.append("exit")

    assert (block.__name__, block.__doc__) == ("block", "A block.")
    with block("a") as value:
        assert value == "A"
    with block("b"):
        raise KeyError("swallowed, as the generator handles it")
    with pytest.raises(ValueError, match="goes up"), block("c"):
        raise ValueError("goes up")
    assert seen == ["enter a", "exit", "enter b", "handled", "exit", "enter c", "exit"]


def test_the_modules_log_imports_leave_contextlib_unimported() -> None:
    """contextlib (about 5 M instructions) is imported only when a block of one of them runs."""
    script = (
        "import sys\n"
        "import vcrdt.cli.pager, vcrdt.cli.render, vcrdt.repo, vcrdt.store.db, vcrdt.store.sqlite\n"
        "print('contextlib' in sys.modules)\n"
    )
    # Without site (as the native client runs Python): no .pth file's code imports it first.
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, check=False, cwd=root)
    assert (proc.returncode, proc.stdout.strip()) == (0, "False"), proc.stderr


def test_cache_memoizes_as_functools_does() -> None:
    from vcrdt.extensions import cache

    calls: list[int] = []

    def square(n: int) -> int:
        """Square it."""
        calls.append(n)
        return n * n

    cached = cache(square)
    assert [cached(3), cached(3), cached(4), cached(n=3)] == [9, 9, 16, 9]
    assert calls == [3, 4, 3]  # keyword and positional calls are separate keys, as in functools
    assert (cached.__name__, cached.__doc__, cached.__wrapped__) == ("square", "Square it.", square)
    assert cached.cache_info()[:2] == (1, 3)  # (hits, misses, ...)
    cached.cache_clear()
    cached(3)
    assert calls == [3, 4, 3, 3]


def test_cached_property_computes_once_per_instance() -> None:
    from vcrdt.extensions import cached_property

    class Thing:
        def __init__(self, base: int) -> None:
            self.base = base
            self.computed = 0

        @cached_property
        def double(self) -> int:
            """Twice the base."""
            self.computed += 1
            return self.base * 2

    a, b = Thing(1), Thing(5)
    assert (a.double, a.double, b.double) == (2, 2, 10)
    assert (a.computed, b.computed) == (1, 1)
    assert a.__dict__["double"] == 2  # stored under its own name, hiding the descriptor
    a.__dict__.pop("double")
    assert (a.double, a.computed) == (2, 2)  # computed again once forgotten
    descriptor = Thing.__dict__["double"]
    assert Thing.double is descriptor and descriptor.__doc__ == "Twice the base."


# Imports _sqlite3 through load_sqlite3 in a fresh interpreter without site, then uses its statement cache.
_SQLITE_SCRIPT = r"""
import sys
from vcrdt.extensions import load_sqlite3
sqlite3 = load_sqlite3()
assert sqlite3 is sys.modules["_sqlite3"]
loaded = [m for m in ("functools", "collections") if m in sys.modules]
conn = sqlite3.connect(":memory:")
conn.execute("CREATE TABLE t (n INTEGER)")
for n in range(300):  # more distinct statements than the cache holds (128), each run twice
    for _ in range(2):
        conn.execute(f"INSERT INTO t VALUES ({n})")
total = conn.execute("SELECT count(*), sum(n) FROM t").fetchone()
uncached = sqlite3.connect(":memory:", cached_statements=0).execute("SELECT 7").fetchone()
import functools
print(loaded, total, uncached, hasattr(functools, "reduce"), sys.modules["functools"] is functools)
"""


def test_load_sqlite3_leaves_functools_unloaded_and_its_statement_cache_working() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _SQLITE_SCRIPT], capture_output=True, text=True, check=False, cwd=root
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[] (600, 89700) (7,) True True"


@pytest.mark.parametrize("first", ["functools", "threading"])
def test_load_sqlite3_after_functools_or_threads_is_the_plain_import(first: str) -> None:
    root = Path(__file__).resolve().parents[2]
    script = (
        f"import sys, {first}\n"
        "from vcrdt.extensions import load_sqlite3\n"
        "sqlite3 = load_sqlite3()\n"
        "import functools\n"
        "print(sqlite3 is sys.modules['_sqlite3'], hasattr(functools, 'reduce'))\n"
        "print(sqlite3.connect(':memory:').execute('SELECT 7').fetchone())\n"
    )
    proc = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, check=False, cwd=root)
    assert proc.stdout.splitlines() == ["True True", "(7,)"], proc.stderr


def test_a_copied_tree_names_its_own_files_in_code_and_tracebacks(tmp_path: Path) -> None:
    """A pyc keeps the path it was compiled at; the finder sets the source it found, as the path finder does."""
    import os
    import shutil

    leaf = _finder_package(tmp_path / "one", "one")
    leaf.write_text("def where():\n    return where.__code__.co_filename\n")
    script = "import pkgx.sub.leaf as m; print(type(m.__spec__.loader).__name__, m.where())"
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def run(base: Path) -> str:
        env["PYTHONPATH"] = f"{base}:{root}"
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=base)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    run(tmp_path / "one")  # writes the pycs
    shutil.copytree(tmp_path / "one", tmp_path / "two", copy_function=shutil.copy2)  # times kept: pycs current
    assert run(tmp_path / "two") == f"CompiledFinder {tmp_path / 'two' / 'pkgx' / 'sub' / 'leaf.py'}"


# Imports a package that installs its own CompiledFinder, and says which loader ran each module.
_FINDER_SCRIPT = r"""
import importlib, sys
import pkgx, pkgx.sub, pkgx.sub.leaf
mods = [pkgx, pkgx.sub, pkgx.sub.leaf]
print([type(m.__spec__.loader).__name__ for m in mods], pkgx.sub.leaf.VALUE)
print(pkgx.sub.leaf.__file__.endswith("pkgx/sub/leaf.py"), pkgx.sub.leaf.__cached__.endswith(".pyc"))
finder = sys.meta_path[0]
if type(finder).__name__ == "CompiledFinder":
    print(type(finder).__name__, finder.find_spec("json") is None, finder.find_spec("pkgx.missing") is None)
    source = finder.get_source("pkgx.sub.leaf")
    print(finder.is_package("pkgx.sub"), finder.is_package("pkgx.sub.leaf"), "VALUE" in source)
else:
    print("no compiled finder first"); print()
print(importlib.reload(pkgx.sub.leaf).VALUE)
"""


def _finder_run(tmp_path: Path, *flags: str) -> list[str]:
    import os

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env["PYTHONPATH"] = f"{tmp_path}:{root}"
    proc = subprocess.run(
        [sys.executable, *flags, "-c", _FINDER_SCRIPT],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def _finder_package(tmp_path: Path, value: str) -> Path:
    pkg = tmp_path / "pkgx"
    (pkg / "sub").mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(
        "from vcrdt.extensions import CompiledFinder\nCompiledFinder.install(__name__, __file__)\n"
    )
    (pkg / "sub" / "__init__.py").write_text("")
    leaf = pkg / "sub" / "leaf.py"
    leaf.write_text(f"VALUE = {value!r}\n")
    return leaf


def test_the_compiled_finder_loads_current_pycs_and_leaves_the_rest_to_the_path_finder(tmp_path: Path) -> None:
    import os

    leaf = _finder_package(tmp_path, "one")
    # First run: no pyc yet; the path finder compiles the submodules and writes their pycs.
    first = _finder_run(tmp_path)
    assert first[0] == "['SourceFileLoader', 'SourceFileLoader', 'SourceFileLoader'] one"
    # Second run: the package itself was found before its finder existed; its submodules by the finder.
    second = _finder_run(tmp_path)
    assert second == [
        "['SourceFileLoader', 'CompiledFinder', 'CompiledFinder'] one",
        "True True",
        "CompiledFinder True True",
        "True False True",
        "one",
    ]
    # An edited source (another size) makes its pyc stale: the path finder reads the new text.
    leaf.write_text("VALUE = 'two, longer'\n")
    assert _finder_run(tmp_path)[0] == "['SourceFileLoader', 'CompiledFinder', 'SourceFileLoader'] two, longer"
    assert _finder_run(tmp_path)[0] == "['SourceFileLoader', 'CompiledFinder', 'CompiledFinder'] two, longer"
    # The same size, another mtime: stale too.
    leaf.write_text("VALUE = 'two, LONGER'\n")
    st = leaf.stat()
    os.utime(leaf, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
    assert _finder_run(tmp_path)[0] == "['SourceFileLoader', 'CompiledFinder', 'SourceFileLoader'] two, LONGER"


def test_the_compiled_finder_refuses_other_magic_and_hash_based_pycs(tmp_path: Path) -> None:
    import py_compile

    leaf = _finder_package(tmp_path, "one")
    _finder_run(tmp_path)
    cached = leaf.parent / "__pycache__" / f"leaf.{sys.implementation.cache_tag}.pyc"
    data = cached.read_bytes()
    cached.write_bytes(b"\0\0\r\n" + data[4:])  # another Python's magic number
    assert _finder_run(tmp_path)[0].split("] ")[0].endswith("'SourceFileLoader'")
    py_compile.compile(str(leaf), cfile=str(cached), invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    assert _finder_run(tmp_path)[0] == "['SourceFileLoader', 'CompiledFinder', 'SourceFileLoader'] one"


def test_the_compiled_finder_is_not_installed_under_optimization(tmp_path: Path) -> None:
    _finder_package(tmp_path, "one")
    _finder_run(tmp_path, "-O")
    out = _finder_run(tmp_path, "-O")
    assert out[0] == "['SourceFileLoader', 'SourceFileLoader', 'SourceFileLoader'] one"
    assert out[2] == "no compiled finder first"


def test_vcrdt_is_loaded_by_its_compiled_finder_and_python_m_runs_through_it(tmp_path: Path) -> None:
    """The package's modules come from the finder where their pycs are current; ``python -m vcrdt`` works."""
    import os

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    script = "import vcrdt.repo, sys; print(type(vcrdt.repo.__spec__.loader).__name__)"
    for _ in range(2):  # the first run may write the pycs
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=root)
    assert proc.stdout.strip() == "CompiledFinder", proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "vcrdt", "--version"], capture_output=True, text=True, env=env, cwd=root
    )
    assert proc.returncode == 0 and proc.stdout.startswith("vcrdt "), proc.stderr


def test_no_module_of_vcrdt_has_an_extension_module_of_the_same_name() -> None:
    """The path finder would load the extension; the compiled finder the Python module: they must not differ."""
    import importlib.machinery

    package = Path(__file__).resolve().parents[2] / "vcrdt"
    clashes = []
    for source in package.rglob("*.py"):
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            extension = source.with_name(source.stem + suffix)
            if extension.exists() or (source.parent / source.stem / "__init__.py").exists():
                clashes.append(str(source))
    assert clashes == []
