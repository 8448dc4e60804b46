"""The stat-cache pack (`statpack`): written by status, dropped by any change to the rows, checked by fsck."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.hashing import object_id
from vcrdt.objects import EntryKind
from vcrdt.store.db import Database
from vcrdt.store.memory import MemoryStore
from vcrdt.worktree import Worktree, _scan, rows
from vcrdt.worktree.rows import Row, pack_keys
from vcrdt.worktree.status import REHASH_BYTES, worth_saving


@pytest.fixture
def wt(tmp_path: Path) -> Worktree:
    root = tmp_path / "root"
    (root / ".vcrdt").mkdir(parents=True)
    db = Database(root / ".vcrdt" / "db", create=True)
    return Worktree(root, db, MemoryStore(), time.time_ns)


def write(wt: Worktree, rel: str, data: bytes) -> None:
    path = Path(wt.root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    old = time.time() - 10  # out of the racy window: status caches it
    os.utime(path, (old, old))


def committed(wt: Worktree, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        write(wt, rel, data)
    wt.add(list(files))
    rows = wt.rows()
    cur, dirty = wt.current(rows, list(files), None, store=True)
    wt.record_head({p: e for p, e in cur.items() if e is not None}, list(files), {r.path: r for r in dirty})


def packs(wt: Worktree) -> int:
    return int(wt.table.db.conn.execute("SELECT count(*) FROM statpack").fetchone()[0])


def test_status_writes_the_pack_and_reads_it_back(wt: Worktree) -> None:
    committed(wt, {"a": b"1\n", "d/b": b"2\n", "d/c": b"3\n"})
    assert packs(wt) == 0
    assert wt.status().is_clean
    assert packs(wt) == 1 and wt.cache_problems() == []
    keys, _ = wt.table.settle_keys()
    assert wt.table.pack_serial is not None
    assert set(keys) == {"a", "d/b", "d/c"} and all(k is not None for k in keys.values())
    write(wt, "d/b", b"changed\n")
    assert wt.status().modified == ["d/b"]
    # The refreshed cache went into the pack in the same transaction: it still equals the rows.
    assert packs(wt) == 1 and wt.cache_problems() == []
    assert wt.status().modified == ["d/b"]
    assert wt.suspects()[0] == ["d/b"]


def test_any_change_to_the_rows_drops_the_pack(wt: Worktree) -> None:
    committed(wt, {"a": b"1\n", "b": b"2\n"})
    wt.status()
    assert packs(wt) == 1
    # A writer that knows nothing of the pack (an older build, a hand edit): the triggers drop it.
    with wt.table.db.write() as conn:
        conn.execute("UPDATE worktree SET size = size + 1 WHERE path = ?", (b"a",))
    assert packs(wt) == 0
    wt.status()
    assert packs(wt) == 1 and wt.cache_problems() == []
    wt.table.delete(["b"])
    assert packs(wt) == 0


def test_a_pack_read_before_another_write_is_not_written_back(wt: Worktree) -> None:
    committed(wt, {"a": b"1\n", "b": b"2\n"})
    wt.status()
    keys, _ = wt.table.settle_keys()
    read = (wt.table.pack_serial, wt.table.read_mark)
    assert read[0] is not None
    # Between status's read and its write, the rows change (here: b is no longer tracked).
    wt.table.delete(["b"])
    wt.table.refresh_with_pack(keys, read, [])
    # The stale keys (still naming b) were not packed: the rows were read again.
    assert wt.cache_problems() == []
    assert set(wt.table.settle_keys()[0]) == {"a"}


@pytest.mark.parametrize("other_connection", [True, False])
def test_rows_read_before_another_write_are_not_packed(wt: Worktree, tmp_path: Path, other_connection: bool) -> None:
    committed(wt, {"a": b"1\n", "b": b"2\n"})
    assert packs(wt) == 0
    keys, _ = wt.table.settle_keys()  # from the rows: there is no pack
    read = (wt.table.pack_serial, wt.table.read_mark)
    assert read[0] is None
    if other_connection:  # another process
        other = Database(wt.table.db.path)
        with other.write() as conn:
            conn.execute("DELETE FROM worktree WHERE path = ?", (b"b",))
        other.close()
    else:
        wt.table.delete(["b"])
    wt.table.refresh_with_pack(keys, read, [])
    assert wt.cache_problems() == []
    assert set(wt.table.settle_keys()[0]) == {"a"}


def test_rows_read_with_no_write_since_are_packed_as_read(wt: Worktree) -> None:
    committed(wt, {"a": b"1\n"})
    keys, _ = wt.table.settle_keys()
    read = (wt.table.pack_serial, wt.table.read_mark)
    wt.table.refresh_with_pack(keys, read, [])
    assert packs(wt) == 1 and wt.cache_problems() == []


def test_fsck_names_a_pack_that_differs_from_the_rows(wt: Worktree) -> None:
    committed(wt, {"a": b"1\n"})
    wt.status()
    keys, _ = wt.table.settle_keys()
    wrong = {"a": None, "ghost": None}
    with wt.table.db.write() as conn:
        conn.execute("UPDATE statpack SET data = ?", (pack_keys(wrong),))
    assert wt.cache_problems() == ["stat-cache pack differs from the work-tree rows"]
    with wt.table.db.write() as conn:
        conn.execute("UPDATE statpack SET data = ?", (b"vsp1\xff",))
    assert wt.cache_problems() == ["stat-cache pack is damaged: damaged stat-cache pack"]
    # A damaged pack is never trusted: status reads the rows and writes a good one.
    assert wt.status().is_clean and wt.cache_problems() == []
    assert keys == wt.table.settle_keys()[0]


def test_a_commit_leaves_a_pack_equal_to_its_rows(tmp_path: Path) -> None:
    from vcrdt import porcelain
    from vcrdt.repo import Repository, Settings

    repo = Repository.init(tmp_path, Settings(author_name="Ada", author_email="ada@example.com"))
    try:
        table = repo.worktree.table

        def count() -> int:
            return int(table.db.conn.execute("SELECT count(*) FROM statpack").fetchone()[0])

        for name in ("a", "b", "d/c"):
            (tmp_path / name).parent.mkdir(exist_ok=True)
            (tmp_path / name).write_bytes(name.encode())
        porcelain.commit(repo, "first", addremove=True)
        assert repo.worktree.cache_problems() == []
        for step in range(3):
            (tmp_path / "a").write_bytes(b"edit %d" % step)
            if step == 1:
                os.unlink(tmp_path / "d/c")
            porcelain.commit(repo, f"edit {step}", addremove=step == 1)
            # The commit wrote the pack of its own result: the next command reads one value.
            assert count() == 1 and repo.worktree.cache_problems() == []
            assert repo.worktree.status().is_clean
            assert count() == 1 and repo.worktree.cache_problems() == []
        assert set(table.settle_keys()[0]) == {"a", "b"}
    finally:
        repo.close()


def test_a_switch_leaves_a_pack_equal_to_its_rows(tmp_path: Path) -> None:
    from vcrdt import porcelain
    from vcrdt.repo import Repository, Settings

    repo = Repository.init(tmp_path, Settings(author_name="Ada", author_email="ada@example.com"))
    try:
        table = repo.worktree.table

        def count() -> int:
            return int(table.db.conn.execute("SELECT count(*) FROM statpack").fetchone()[0])

        def age(names: list[str]) -> None:  # out of the racy window: the next snapshot caches them
            old = time.time() - 10
            for name in names:
                os.utime(tmp_path / name, (old, old))

        names = [f"d{i % 3}/f{i}" for i in range(12)]
        for name in names:
            (tmp_path / name).parent.mkdir(exist_ok=True)
            (tmp_path / name).write_bytes(name.encode())
        age(names)
        porcelain.commit(repo, "first", addremove=True)
        repo.worktree.status()
        assert count() == 1
        porcelain.switch(repo, "other", create=True)
        for name in names[:5]:
            (tmp_path / name).write_bytes(b"other " + name.encode())
        os.unlink(tmp_path / names[5])
        (tmp_path / "d9").mkdir()
        (tmp_path / "d9/new").write_bytes(b"new")
        porcelain.commit(repo, "other", addremove=True)
        for target in ("main", "other", "main", "other"):
            porcelain.switch(repo, target)
            # The switch kept the pack (with its rows' new keys): the next command reads one value.
            assert count() == 1 and repo.worktree.cache_problems() == []
            # The files it wrote in its last moments are hashed again by the next command, whose
            # snapshot of the work tree saves their caches into the pack too.
            age([*names[:5], "d9/new"] if target == "other" else names[:6])
            assert count() == 1 and repo.worktree.cache_problems() == []
            assert repo.worktree.status().is_clean
            assert count() == 1 and repo.worktree.cache_problems() == []
        assert "d9/new" in table.settle_keys()[0] and names[5] not in table.settle_keys()[0]
    finally:
        repo.close()


_names = st.sampled_from(["a", "b", "d/c", "d/e/f", "caf\u00e9", "\udcff odd", "z" * 40, ""])
_keys = st.one_of(
    st.none(),
    st.tuples(
        st.integers(0, 2**40), st.integers(-(2**63), 2**63 - 1), st.integers(0, 2**63 - 1), st.integers(0, 2**62)
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    before=st.dictionaries(_names, _keys, max_size=8),
    drop=st.lists(_names, max_size=4),
    changes=st.dictionaries(_names, _keys, max_size=4),
)
def test_patching_a_pack_equals_packing_the_changed_keys(
    before: dict[str, tuple[int, int, int, int] | None],
    drop: list[str],
    changes: dict[str, tuple[int, int, int, int] | None],
) -> None:
    def key(path: str, k: tuple[int, int, int, int] | None) -> tuple[bytes, int, int, int, int, int] | None:
        return None if k is None else (path.encode("utf-8", "surrogateescape"), *k, 1)

    old = {p: key(p, k) for p, k in before.items()}
    new = {p: key(p, k) for p, k in changes.items()}
    expected = dict(old)
    for p in drop:
        expected.pop(p, None)
    expected.update(new)
    data = rows.pack_keys_py(old)
    assert rows.patch_keys_py(data, drop, new) == rows.pack_keys_py(expected)
    assert _scan.patch_keys(data, drop, new) == rows.pack_keys_py(expected)


def test_patching_refuses_a_damaged_pack() -> None:
    good = rows.pack_keys_py({"a": (b"a", 1, 2, 3, 4, 1)})
    for bad in (b"", b"vsp0", good[:-1], good + b"\x01", good[:8] + b"\x07" + good[9:]):
        for patch in (_scan.patch_keys, rows.patch_keys_py):
            with pytest.raises(ValueError):
                patch(bad, [], {"b": None})


def test_a_status_after_an_edit_patches_the_pack_it_read(wt: Worktree, monkeypatch: pytest.MonkeyPatch) -> None:
    committed(wt, {f"f{i}": b"x\n" for i in range(5)})
    assert wt.status().is_clean  # writes the pack
    write(wt, "f2", b"changed\n" * (REHASH_BYTES // 8))  # large enough for status to save its cache
    patched: list[int] = []
    real = rows.patch_keys

    def counting(*args: object) -> bytes:
        patched.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(rows, "patch_keys", counting)
    assert wt.status().modified == ["f2"]
    assert patched == [1]
    assert packs(wt) == 1 and wt.cache_problems() == []
    got = wt.table.db.conn.execute("SELECT data FROM statpack").fetchone()
    assert rows.unpack_keys_py(bytes(got[0])) == wt.table._keys_from_rows()


def test_a_status_after_a_small_edit_writes_nothing(wt: Worktree) -> None:
    """Saving the cache of a small modified file would rewrite the pack to spare hashing a few bytes."""
    committed(wt, {f"f{i}": b"x\n" for i in range(5)})
    assert wt.status().is_clean  # writes the pack
    serial = wt.table.db.conn.execute("SELECT serial FROM statpack").fetchone()[0]
    changes = wt.table.db.conn.total_changes
    write(wt, "f2", b"changed\n")
    for _ in range(2):  # the second status hashes the file again, and gives the same answer
        assert wt.status().modified == ["f2"]
        assert wt.table.db.conn.total_changes == changes
    assert wt.table.db.conn.execute("SELECT serial FROM statpack").fetchone()[0] == serial
    assert wt.cache_problems() == []
    assert wt.rows()["f2"].size == 2  # the row keeps HEAD's cache, whose stat the file no longer has


def test_a_status_saves_the_cache_of_a_file_equal_to_head_again(wt: Worktree) -> None:
    """A touched file (new stat, HEAD's content) is settled by its stat from the next status on."""
    committed(wt, {f"f{i}": b"x\n" for i in range(5)})
    assert wt.status().is_clean
    write(wt, "f2", b"y\n")
    assert wt.status().modified == ["f2"]
    write(wt, "f2", b"x\n")  # edited back
    assert wt.status().is_clean
    assert wt.suspects()[0] == []  # settled by its stat: neither its row read nor the file hashed
    assert packs(wt) == 1 and wt.cache_problems() == []


def test_a_status_saves_the_cache_of_a_large_modified_file(wt: Worktree) -> None:
    committed(wt, {"big": b"x\n", "small": b"s\n"})
    assert wt.status().is_clean
    data = b"y" * REHASH_BYTES
    write(wt, "big", data)
    assert wt.status().modified == ["big"]
    row = wt.rows()["big"]
    assert (row.oid, row.size) == (object_id("blob", data), REHASH_BYTES)
    assert packs(wt) == 1 and wt.cache_problems() == []


@pytest.mark.parametrize(
    ("size", "settled", "pack", "expected"),
    [
        (10, False, 100, False),  # a few bytes to hash again
        (REHASH_BYTES, False, 100, True),
        (REHASH_BYTES, False, REHASH_BYTES + 1, False),  # the pack is larger than the files
        (10, True, REHASH_BYTES * 4, True),  # settled again: always
    ],
)
def test_worth_saving(size: int, settled: bool, pack: int, expected: bool) -> None:
    head = object_id("blob", b"head")
    row = Row("p", EntryKind.FILE, head, EntryKind.FILE, head if settled else object_id("blob", b"new"), size, 1, 1, 1)
    assert worth_saving([row], (1, b"\0" * pack)) is expected
    racy = Row("q", EntryKind.FILE, head)  # too recent to cache: nothing to save
    assert worth_saving([racy], None) is False
    assert worth_saving([racy, row], (1, b"\0" * pack)) is expected
