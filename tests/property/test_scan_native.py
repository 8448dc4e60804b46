"""The C walk of a directory (`vcrdt.worktree._scan`) and its pure-Python twin give the same answers.

Random trees: nested directories, files tracked or not, rows whose cached
stat matches, differs or is absent, symlinks (to files and to directories),
hard links, ignore files, names that break a path rule or are not UTF-8,
vcrdt's temporary-file names, unreadable directories (when not running as
root) and tracked paths that are directories now. Every directory's
`settle_dir` answer and the whole walk (`sweep`, `scan_tree`) must agree.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcrdt.errors import WorktreeError
from vcrdt.worktree import _scan, rows, scan
from vcrdt.worktree import rows as rows_mod
from vcrdt.worktree.dirs import Disk

NAMES = [b"a", b"b.txt", b".c.tmp", b".x.vcrdt-1.tmp", b"\xffodd", b"caf\xc3\xa9", b"sp ace", b".vcrdtignore", b"n"]
DIRS = [b"d", b"d/e", b"f", b"d/e/g", b"\xfedir"]
IGNORE_LINES = ["*.txt", "f/", "e", "!b.txt", "n", "sp*"]

entry = st.one_of(
    st.tuples(st.just("file"), st.sampled_from([*DIRS, b""]), st.sampled_from(NAMES), st.binary(max_size=5)),
    st.tuples(st.just("dir"), st.sampled_from(DIRS)),
    st.tuples(st.just("symlink"), st.sampled_from([*DIRS, b""]), st.sampled_from(NAMES), st.sampled_from([b"a", b"d"])),
    st.tuples(st.just("hardlink"), st.sampled_from([*DIRS, b""]), st.sampled_from(NAMES)),
    st.tuples(st.just("unreadable"), st.sampled_from(DIRS)),
    st.tuples(st.just("ignore"), st.sampled_from([*DIRS, b""]), st.lists(st.sampled_from(IGNORE_LINES), max_size=3)),
)
# What the rows say of a path: not tracked, tracked with no usable cache, with the file's stat, with another.
row_kind = st.sampled_from(["untracked", "none", "match", "stale"])


def build(root: bytes, entries: list[tuple[object, ...]]) -> list[bytes]:
    """Make the tree; return the directories made unreadable (to restore afterwards)."""
    locked: list[bytes] = []
    for e in entries:
        kind = e[0]
        try:
            if kind == "dir":
                os.makedirs(os.path.join(root, bytes(e[1])), exist_ok=True)  # type: ignore[call-overload]
                continue
            if kind == "unreadable":
                d = os.path.join(root, bytes(e[1]))  # type: ignore[call-overload]
                os.makedirs(d, exist_ok=True)
                os.chmod(d, 0)
                locked.append(d)
                continue
            parent = os.path.join(root, bytes(e[1])) if e[1] else root  # type: ignore[call-overload]
            os.makedirs(parent, exist_ok=True)
            if kind == "ignore":
                with open(os.path.join(parent, b".vcrdtignore"), "w") as fh:
                    fh.write("\n".join(e[2]) + "\n")  # type: ignore[arg-type]
                continue
            path = os.path.join(parent, bytes(e[2]))  # type: ignore[call-overload]
            if kind == "file":
                with open(path, "wb") as fh:
                    fh.write(bytes(e[3]))  # type: ignore[call-overload]
            elif kind == "symlink":
                os.symlink(bytes(e[3]), path)  # type: ignore[call-overload]
            elif kind == "hardlink":
                os.link(os.path.join(root, b"a"), path)
        except OSError:
            pass  # a step that does not fit the tree made so far (a file where a directory is asked)
    return locked


def every_path(root: str) -> list[str]:
    """Every path under `root` (files, links, directories; not below unreadable ones), relative."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            out.append(name if rel_dir == "." else f"{rel_dir}/{name}")
    return sorted(out)


def rows_for(root: str, kinds: list[str]) -> dict[str, tuple[bytes, int, int, int, int, int] | None]:
    """Rows for the paths found (and two that are not there), each as `kinds` (cycled) says."""
    rows: dict[str, tuple[bytes, int, int, int, int, int] | None] = {}
    paths = [*every_path(root), "gone", "d/gone"]
    for i, path in enumerate(paths):
        kind = kinds[i % len(kinds)] if kinds else "untracked"
        if kind == "untracked":
            continue
        if kind == "none":
            rows[path] = None
            continue
        try:
            s = os.lstat(os.path.join(root, path))
            key = (os.fsencode(path), s.st_size, s.st_mtime_ns, s.st_ino, s.st_ctime_ns, 1)
        except OSError:
            key = (os.fsencode(path), -1, -1, -1, -1, 1)
        if kind == "stale":
            key = (key[0], key[1] + 1, key[2], key[3], key[4], 1)
        rows[path] = key
    return rows


def both_walks(
    monkeypatch: pytest.MonkeyPatch, disk: Disk, rows: dict[str, tuple[bytes, int, int, int, int, int] | None]
) -> list[object]:
    """The walks' results and warnings: C `settle_dir` and Python, each without and with its `preload`.

    Then the walk of the same rows still packed (`rows.PackedKeys`, as a status reads them from the
    stat-cache pack), settled through the C `PackIndex`, on one thread and on two.
    """
    results = []
    monkeypatch.setattr(scan, "PRELOAD_PER_THREAD", 1)  # a preload whatever the number of rows
    packed = rows_mod.PackedKeys(_scan.pack_keys(rows))
    for settle, preload, keys, threads in [
        (_scan.settle_dir, None, rows, 2),
        (scan.settle_dir_py, None, rows, 2),
        (_scan.settle_dir, _scan.preload, rows, 2),
        (scan.settle_dir_py, scan.preload_py, rows, 2),
        (_scan.settle_dir, scan.preload_py, rows, 2),
        (_scan.settle_dir, _scan.preload, packed, 1),
        (_scan.settle_dir, _scan.preload, packed, 2),
    ]:
        monkeypatch.setattr(scan, "preload_threads", lambda threads=threads: threads)
        monkeypatch.setattr(scan, "settle_dir", settle)
        monkeypatch.setattr(scan, "preload", preload or (lambda root, missing, threads: 0))
        warnings: list[str] = []
        walks: list[Callable[[], scan.Sweep | scan.Scan]] = [
            partial(scan.sweep, disk, keys, warnings),
            partial(scan.sweep, disk, keys, warnings, want_ignored=True),
            partial(scan.scan_tree, disk, keys, warnings, want_ignored=True),
            partial(scan.scan_tree, disk, keys, warnings, tracked_stats=False),
            partial(scan.walk, disk, keys, warnings, want_ignored=False, compare=False),  # as `add` walks
        ]
        found: list[object] = []
        for walk in walks:
            try:
                found.append(norm(walk()))
            except WorktreeError as exc:  # an ignore file that cannot be read (a directory, a link loop)
                found.append(("refused", str(exc)))
        results.append((found, warnings))
    return results


def norm(found: scan.Sweep | scan.Scan) -> tuple[object, ...]:
    """A walk's result with each stat as the fields a walk looks at (an access time may move in between)."""
    files = {
        p: (s.st_mode, s.st_size, s.st_mtime_ns, s.st_ino, s.st_ctime_ns, s.st_nlink) for p, s in found.files.items()
    }
    if isinstance(found, scan.Scan):
        return ("scan", files, found.untracked, found.ignored, found.invalid)
    return ("sweep", files, found.unsettled, found.linked, found.untracked, found.ignored, found.invalid)


def settle_each_dir(root: str, rows: dict[str, tuple[bytes, int, int, int, int, int] | None]) -> list[object]:
    """Every directory's `settle_dir` answer (and what it left in the rows), C then Python, both modes."""
    out = []
    dirs = ["", *(p for p in every_path(root) if os.path.isdir(os.path.join(root, p)))]
    for settle in (_scan.settle_dir, scan.settle_dir_py):
        answers: list[object] = []
        for compare in (True, False):
            for d in dirs:
                missing = dict(rows)
                try:
                    others, linked = settle(
                        os.path.join(root, d) if d else root, d + "/" if d else "", missing, compare
                    )
                    answers.append((sorted(others), sorted(linked), sorted(missing)))
                except OSError as exc:
                    answers.append(("error", exc.errno))
        out.append(answers)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(entry, max_size=25), kinds=st.lists(row_kind, min_size=1, max_size=6))
def test_the_c_walk_equals_the_python_walk(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    entries: list[tuple[object, ...]],
    kinds: list[str],
) -> None:
    root = tmp_path_factory.mktemp("walk")
    (root / ".vcrdt").mkdir()
    (root / "a").write_bytes(b"a\n")
    locked = build(os.fsencode(root), entries)
    try:
        rows = rows_for(str(root), kinds)
        disk = Disk(root)
        c_dirs, py_dirs = settle_each_dir(str(root), rows)
        assert c_dirs == py_dirs
        walks = both_walks(monkeypatch, disk, rows)
        c_found, c_warn = walks[0]
        for found, warned in walks[1:]:
            assert found == c_found
            assert warned == c_warn
    finally:
        for d in locked:
            os.chmod(d, 0o700)


def test_the_walk_uses_the_c_settle_dir() -> None:
    # The default path, the one every other test runs: the extension is built by `make` (pip install).
    assert scan.settle_dir is _scan.settle_dir
    assert scan.preload is _scan.preload
    assert scan.SETTLED is _scan.SETTLED


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(st.tuples(st.integers(0, 299), st.sampled_from(["touch", "gone", "dir", "link", "stale"]))),
    threads=st.integers(1, 6),
)
def test_the_c_preload_on_threads_equals_the_python_one(
    tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[int, str]], threads: int
) -> None:
    # Enough rows (300) for several threads; each path's row matches, is stale, or its file changed.
    root = tmp_path_factory.mktemp("preload")
    names = [f"d{i % 7}/f{i}" if i % 3 else f"f{i}" for i in range(300)]
    for name in names:
        os.makedirs(root / os.path.dirname(name), exist_ok=True)
        (root / name).write_bytes(b"x")
    rows: dict[str, tuple[bytes, int, int, int, int, int] | None] = {}
    for name in names:
        s = (root / name).lstat()
        rows[name] = (name.encode(), s.st_size, s.st_mtime_ns, s.st_ino, s.st_ctime_ns, 1)
    rows["none"] = None
    rows["d0/.x.vcrdt-1.tmp"] = (b"d0/.x.vcrdt-1.tmp", 0, 0, 0, 0, 1)
    (root / "d0/.x.vcrdt-1.tmp").write_bytes(b"")
    for i, what in edits:
        path = root / names[i]
        if what == "touch":
            path.write_bytes(b"yy")
        elif what == "gone" and path.exists() and not path.is_dir():
            path.unlink()
        elif what == "dir" and not path.exists():
            path.mkdir()
        elif what == "link" and path.is_file() and not (root / f"{names[i]}.link").exists():
            os.link(path, root / f"{names[i]}.link")
        elif what == "stale":
            row = rows[names[i]]
            assert row is not None
            rows[names[i]] = (row[0], row[1] + 1, *row[2:])
    row = rows["d0/.x.vcrdt-1.tmp"]
    assert row is not None
    s = (root / "d0/.x.vcrdt-1.tmp").lstat()
    rows["d0/.x.vcrdt-1.tmp"] = (row[0], s.st_size, s.st_mtime_ns, s.st_ino, s.st_ctime_ns, 1)  # never marked
    by_c, by_py = dict(rows), dict(rows)
    assert _scan.preload(str(root), by_c, threads) == scan.preload_py(str(root), by_py, threads)
    assert by_c == by_py
    assert all(by_c[p] is by_py[p] for p in by_c)  # the same markers, by identity
    assert by_c["d0/.x.vcrdt-1.tmp"] == rows["d0/.x.vcrdt-1.tmp"]


@pytest.mark.parametrize("settle", [_scan.settle_dir, scan.settle_dir_py])
def test_settle_dir_reports_a_directory_it_cannot_read(tmp_path: Path, settle: scan.SettleDir) -> None:
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(OSError) as missing:
        settle(str(tmp_path / "nothing"), "nothing/", {}, True)
    assert missing.value.errno == errno.ENOENT
    with pytest.raises(OSError) as not_dir:
        settle(str(tmp_path / "file"), "file/", {}, True)
    assert not_dir.value.errno == errno.ENOTDIR


@pytest.mark.parametrize("settle", [_scan.settle_dir, scan.settle_dir_py])
def test_settle_dir_settles_only_a_matching_row(tmp_path: Path, settle: scan.SettleDir) -> None:
    (tmp_path / "f").write_bytes(b"x")
    s = (tmp_path / "f").lstat()
    for row in [None, (b"f", s.st_size + 1, s.st_mtime_ns, s.st_ino, s.st_ctime_ns, 1)]:
        missing = {"f": row}
        assert settle(str(tmp_path), "", missing, True) == (["f"], [])
        assert missing == {"f": row}
    good: dict[str, tuple[bytes, int, int, int, int, int] | None] = {
        "f": (b"f", s.st_size, s.st_mtime_ns, s.st_ino, s.st_ctime_ns, 1)
    }
    assert settle(str(tmp_path), "", good, True) == ([], [])
    assert good == {}


def test_the_c_settle_dir_refuses_nothing_it_cannot_read(tmp_path: Path) -> None:
    # Rows come from `RowTable.settle_keys`; the C code still must not crash or settle on anything else.
    (tmp_path / "f").write_bytes(b"x")
    s = (tmp_path / "f").lstat()
    for row in [
        ("f",),
        (b"f", "size", s.st_mtime_ns, s.st_ino, s.st_ctime_ns, 1),
        (b"f", s.st_size, s.st_mtime_ns, -1, s.st_ctime_ns, 1),
        (b"f", s.st_size, s.st_mtime_ns, 2**70, s.st_ctime_ns, 1),
        (b"f", s.st_size, 2**70, s.st_ino, s.st_ctime_ns, 1),
        (b"f", s.st_size, s.st_mtime_ns, float(s.st_ino), s.st_ctime_ns, 1),
        [b"f", s.st_size, s.st_mtime_ns, s.st_ino, s.st_ctime_ns, 1],
    ]:
        missing = {"f": row}
        assert _scan.settle_dir(str(tmp_path), "", missing, True) == (["f"], [])  # type: ignore[arg-type]
        assert missing == {"f": row}
    with pytest.raises(TypeError):
        _scan.settle_dir(str(tmp_path), b"", {}, True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _scan.settle_dir(str(tmp_path), "", [], True)  # type: ignore[arg-type]


# --- the stat-cache pack --------------------------------------------------------------------------

path_text = st.binary(min_size=1, max_size=12).map(lambda b: b.decode("utf-8", "surrogateescape"))
stat_int = st.integers(min_value=-(2**63), max_value=2**63 - 1)
pack_keys_st = st.dictionaries(
    path_text,
    st.one_of(st.none(), st.tuples(stat_int, stat_int, stat_int, stat_int)),
    max_size=30,
)


def as_keys(d: dict[str, tuple[int, int, int, int] | None]) -> dict[str, tuple[bytes, int, int, int, int, int] | None]:
    out: dict[str, tuple[bytes, int, int, int, int, int] | None] = {}
    for p, v in d.items():
        out[p] = None if v is None else (p.encode("utf-8", "surrogateescape"), *v, 1)
    return out


@settings(max_examples=300, deadline=None)
@given(keys=pack_keys_st, cut=st.integers(min_value=0, max_value=2000), flip=st.integers(min_value=0, max_value=2000))
def test_the_c_pack_reader_equals_the_python_one(
    keys: dict[str, tuple[int, int, int, int] | None], cut: int, flip: int
) -> None:
    want = as_keys(keys)
    data = _scan.pack_keys(want)
    assert data == rows.pack_keys_py(want)
    assert _scan.unpack_keys(data) == rows.unpack_keys_py(data) == want
    # Damaged packs: cut short, or one byte changed. Both readers refuse alike, or read alike.
    damaged = [data[: cut % (len(data) + 1)]]
    if len(data) > 4:
        i = 4 + flip % (len(data) - 4)
        damaged.append(data[:i] + bytes([data[i] ^ 0x81]) + data[i + 1 :])
    for bad in damaged:
        answers = []
        for read in (_scan.unpack_keys, rows.unpack_keys_py, packed_as_read):
            try:
                answers.append(read(bad))
            except ValueError:
                answers.append("refused")
        assert answers[0] == answers[1] == answers[2]


def packed_as_read(data: bytes) -> dict[str, tuple[bytes, int, int, int, int, int] | None]:
    """What the C `PackIndex` holds of a pack before any walk: every path, as `unpack_keys` reads it."""
    index = _scan.PackIndex(data)
    keys = index.rest()
    assert len(index) == len(keys)
    assert index.pending() == [p for p, k in keys.items() if k is None]
    assert index.unmet() == []
    return keys


def test_the_c_pack_writer_refuses_what_it_cannot_write() -> None:
    for bad in [{1: None}, {"a": (b"a", 1, 2)}, {"a": (b"a", "1", 2, 3, 4, 1)}, {"a": (b"a", 2**64, 2, 3, 4, 1)}]:
        with pytest.raises((TypeError, OverflowError)):
            _scan.pack_keys(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _scan.pack_keys([])  # type: ignore[arg-type]
