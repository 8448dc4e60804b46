from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import vcrdt.store.sqlite as sqlite_mod
from vcrdt.errors import BadPathError, DirtyWorktreeError, WorktreeError
from vcrdt.hashing import object_id
from vcrdt.objects import EntryKind
from vcrdt.paths import resolve_link
from vcrdt.store.db import Database
from vcrdt.store.memory import MemoryStore
from vcrdt.store.sqlite import SqliteStore
from vcrdt.worktree import RACY_NS, FlatTree, IgnoreRules, Worktree, reading


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.puts = 0

    def put(self, kind, body, *, delta_base=None):  # type: ignore[no-untyped-def]
        self.puts += 1
        return super().put(kind, body, delta_base=delta_base)


@pytest.fixture
def wt(tmp_path: Path) -> Worktree:
    root = tmp_path / "root"
    (root / ".vcrdt").mkdir(parents=True)
    db = Database(root / ".vcrdt" / "db", create=True)
    return Worktree(root, db, CountingStore(), time.time_ns)


def write(wt: Worktree, rel: str, data: bytes, *, age_s: float = 10) -> None:
    path = Path(wt.root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    old = time.time() - age_s
    os.utime(path, (old, old))


def test_add_status_and_cache(wt: Worktree) -> None:
    write(wt, "a.txt", b"a\n")
    write(wt, "d/b.txt", b"b\n")
    assert wt.status().untracked == ["a.txt", "d/b.txt"]
    wt.add(["a.txt", "d/b.txt"])
    st = wt.status()
    assert st.added == ["a.txt", "d/b.txt"] and st.untracked == []
    rows = wt.rows()
    assert rows["a.txt"].oid == object_id("blob", b"a\n")  # cached by status (old mtime)


def test_racy_files_are_not_cached(wt: Worktree) -> None:
    write(wt, "new.txt", b"x", age_s=0)
    wt.add(["new.txt"])
    wt.status()
    assert wt.rows()["new.txt"].oid is None
    assert RACY_NS > 0


def test_commit_flow_and_modification(wt: Worktree) -> None:
    write(wt, "a.txt", b"1\n")
    wt.add(["a.txt"])
    rows = wt.rows()
    cur, dirty = wt.current(rows, ["a.txt"], None, store=True)
    kind, oid = cur["a.txt"]  # type: ignore[misc]
    assert kind is EntryKind.FILE and wt.store.has(oid)
    wt.record_head({"a.txt": (kind, oid)}, ["a.txt"], {r.path: r for r in dirty})
    assert wt.status().is_clean
    write(wt, "a.txt", b"2\n")
    assert wt.status().modified == ["a.txt"]
    os.unlink(Path(wt.root) / "a.txt")
    assert wt.status().deleted == ["a.txt"]


def test_files_read_in_many_batches_are_all_stored_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A batch is compressed while the next is read (`Reader._current`): every file of every batch
    # gets its id and its stat cached, a body repeated in another batch is stored once, and a
    # file that cannot be read fails the read while a batch is in flight.
    monkeypatch.setattr(reading, "BATCH_FILES", 3)
    monkeypatch.setattr(sqlite_mod, "_PARALLEL_BYTES", 0)  # workers for every batch
    root = tmp_path / "root"
    (root / ".vcrdt").mkdir(parents=True)
    db = Database(root / ".vcrdt" / "db", create=True)
    wt = Worktree(root, db, SqliteStore(db), time.time_ns)
    names = [f"d{i % 3}/f{i:02}.txt" for i in range(20)]
    for i, name in enumerate(names):
        write(wt, name, f"body {i % 8}\n".encode() * 200)
    wt.add(names)
    cur, dirty = wt.current(wt.rows(), names, None, store=True)
    assert {p: e for p, e in cur.items()} == {
        name: (EntryKind.FILE, object_id("blob", f"body {i % 8}\n".encode() * 200)) for i, name in enumerate(names)
    }
    assert sorted(r.path for r in dirty) == sorted(names)
    assert len(list(wt.store.iter_ids())) == 8  # type: ignore[attr-defined]
    os.unlink(root / names[-1])
    os.mkfifo(root / names[-1])
    with pytest.raises(WorktreeError, match="f19"):
        wt.current(wt.rows(), [*names[:-1], "new.txt", names[-1]], None, store=True)


def test_executable_and_symlink_kinds(wt: Worktree) -> None:
    write(wt, "run.sh", b"#!/bin/sh\n")
    os.chmod(Path(wt.root) / "run.sh", 0o755)
    os.symlink("run.sh", Path(wt.root) / "link")
    wt.add(["run.sh", "link"])
    cur, _ = wt.current(wt.rows(), ["run.sh", "link"], None, store=True)
    assert cur["run.sh"][0] is EntryKind.EXECUTABLE  # type: ignore[index]
    assert cur["link"] == (EntryKind.SYMLINK, object_id("blob", b"run.sh"))


def test_checkout_refuses_dirty_then_forces(wt: Worktree) -> None:
    store = wt.store
    one = store.put("blob", b"one\n")
    two = store.put("blob", b"two\n")
    wt.checkout({"f.txt": (EntryKind.FILE, one)}, force=False)
    assert (Path(wt.root) / "f.txt").read_bytes() == b"one\n"
    write(wt, "f.txt", b"local edit\n")
    with pytest.raises(DirtyWorktreeError, match=r"f\.txt"):
        wt.checkout({"f.txt": (EntryKind.FILE, two)}, force=False)
    assert (Path(wt.root) / "f.txt").read_bytes() == b"local edit\n"
    wt.checkout({"f.txt": (EntryKind.FILE, two)}, force=True)
    assert (Path(wt.root) / "f.txt").read_bytes() == b"two\n"


def test_checkout_untracked_file_in_the_way(wt: Worktree) -> None:
    blob = wt.store.put("blob", b"tracked\n")
    write(wt, "f.txt", b"untracked\n")
    with pytest.raises(DirtyWorktreeError):
        wt.checkout({"f.txt": (EntryKind.FILE, blob)}, force=False)


def test_checkout_never_writes_through_symlinked_directory(wt: Worktree, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, Path(wt.root) / "sub")
    blob = wt.store.put("blob", b"evil\n")
    with pytest.raises(BadPathError, match="symlink"):
        wt.write_file("sub/x.txt", EntryKind.FILE, blob)
    assert list(outside.iterdir()) == []


def test_writing_a_file_replaces_a_symlink_at_its_path_not_its_target(wt: Worktree, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep\n")
    os.symlink(victim, Path(wt.root) / "f.txt")
    blob = wt.store.put("blob", b"new\n")
    st = wt.write_file("f.txt", EntryKind.FILE, blob)
    assert not (Path(wt.root) / "f.txt").is_symlink() and (Path(wt.root) / "f.txt").read_bytes() == b"new\n"
    assert victim.read_bytes() == b"keep\n"
    assert (st.st_ino, st.st_size) == (os.lstat(Path(wt.root) / "f.txt").st_ino, 4)


def test_writing_a_file_where_a_directory_is_refuses_it(wt: Worktree) -> None:
    write(wt, "d/inner.txt", b"inner\n")
    blob = wt.store.put("blob", b"new\n")
    with pytest.raises(WorktreeError, match="is a directory in the work tree"):
        wt.write_file("d", EntryKind.FILE, blob)
    assert (Path(wt.root) / "d/inner.txt").read_bytes() == b"inner\n"


@pytest.mark.parametrize(
    ("path", "target", "ok"),
    [
        ("a", "b", True),
        ("d/a", "../b", True),
        ("a", "../x", False),
        ("d/a", "../../x", False),
        ("a", "/etc/passwd", False),
        ("a", ".vcrdt/store.db", False),
        ("d/a", "../.VCRDT", False),
        ("a", "d/../../x", False),
    ],
)
def test_symlink_targets(wt: Worktree, path: str, target: str, ok: bool) -> None:
    if ok:
        wt.check_link_target(path, target.encode())
    else:
        with pytest.raises(BadPathError):
            wt.check_link_target(path, target.encode())


# --- symlink chains (issue 9, item 1) ---------------------------------------------------------

X_DOT = {"x": "."}
N = 12


@pytest.mark.parametrize(
    ("links", "path", "target", "resolved"),
    [
        ({}, "d/a", "../b", "b"),
        (X_DOT, "up", "x", ""),
        (X_DOT, "r", "x/" * N, ""),
        ({"lib": "vendor/lib"}, "a", "lib/../y", "vendor/y"),  # ".." after a link pops the link's target
        ({"d/l": ".."}, "d/a", "l/e", "e"),
    ],
)
def test_resolve_link_inside(links: dict[str, str], path: str, target: str, resolved: str) -> None:
    assert resolve_link(path, target, links.get) == resolved


@pytest.mark.parametrize(
    ("links", "path", "target", "rule"),
    [
        (X_DOT, "up", "x/..", "points outside the work tree (through x -> '.')"),
        (X_DOT, "m", "x/.vcrdt", "points into .vcrdt"),
        (X_DOT, "m", "x/x/.VCRDT./store.db", "points into .vcrdt"),
        (X_DOT, "m", "x/VCRDT~1", "points into .vcrdt"),
        ({}, "m", "d/.vcrdt", "points into .vcrdt"),  # a nested repository's metadata too
        (X_DOT, "r", "x/" * N + "../" * N, "points outside the work tree (through x -> '.', x -> '.', x -> '.' and"),
        ({}, "r", "d/" * N + "../" * (N + 1), "points outside the work tree"),
        (X_DOT, "r", "x\\x\\..", "points outside the work tree"),  # a backslash separates too
        ({"d/l": "..", "q": "d/l/.."}, "p", "q", "points outside the work tree (through q -> 'd/l/..', d/l -> '..')"),
        ({"lib": "vendor/lib"}, "a", "lib/../../..", "points outside the work tree"),
        ({"abs": "/etc"}, "a", "abs/passwd", "points outside the work tree (through abs -> '/etc')"),
        ({"l1": "l2", "l2": "l1"}, "a", "l1", "has too many levels of symbolic links"),
        ({}, "a", "", "empty symlink target"),
        ({}, "a", "/etc", "is absolute"),
    ],
)
def test_resolve_link_refuses(links: dict[str, str], path: str, target: str, rule: str) -> None:
    with pytest.raises(BadPathError) as err:
        resolve_link(path, target, links.get)
    assert str(err.value).startswith(f"invalid path {path!r}: ")
    assert rule in str(err.value)
    assert "\n" not in str(err.value)


def test_resolve_link_limits_the_links_followed() -> None:
    chain = {f"l{i}": f"l{i + 1}" for i in range(45)}
    assert resolve_link("a", "l0", chain.get, max_hops=50) == "l45"
    with pytest.raises(BadPathError, match="too many levels"):
        resolve_link("a", "l0", chain.get)


def _links(wt: Worktree, links: dict[str, str]) -> FlatTree:
    return {p: (EntryKind.SYMLINK, wt.store.put("blob", t.encode())) for p, t in links.items()}


def _commit_on_disk(wt: Worktree, links: dict[str, str]) -> None:
    """Put links on disk and make them HEAD (as a commit of them would)."""
    for p, t in links.items():
        (Path(wt.root) / p).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(t, Path(wt.root) / p)
    wt.add(list(links))
    cur, dirty = wt.current(wt.rows(), list(links), None, store=True)
    wt.record_head({p: e for p, e in cur.items() if e is not None}, list(links), {r.path: r for r in dirty})


def test_a_tree_with_a_chain_writes_nothing(wt: Worktree) -> None:
    target = {"a.txt": (EntryKind.FILE, wt.store.put("blob", b"a\n")), **_links(wt, {"x": ".", "up": "x/.."})}
    with pytest.raises(BadPathError, match=r"'up'.*outside the work tree \(through x"):
        with wt.writing(target):
            wt.checkout(target, force=False)
    assert sorted(os.listdir(wt.root)) == [".vcrdt"]
    assert wt.rows() == {}


def test_a_checkout_completing_a_chain_of_head_is_refused(wt: Worktree) -> None:
    _commit_on_disk(wt, {"up": "x/.."})  # harmless alone: x is no link
    target = {**_links(wt, {"up": "x/..", "x": "."})}
    with pytest.raises(BadPathError, match=r"'up'.*outside"):
        wt.check_links(target)


def test_a_checkout_through_an_untracked_link_on_disk_is_refused(wt: Worktree) -> None:
    os.symlink(".", Path(wt.root) / "x")  # the user's, untracked
    with pytest.raises(BadPathError, match=r"'up'.*outside"):
        wt.check_links(_links(wt, {"up": "x/.."}))
    # ...unless the path is tracked and the checkout drops it: then it will be gone.
    wt.add(["x"])
    assert wt.check_links(_links(wt, {"up": "x/.."})).keys() == {"up"}


def test_a_bad_link_already_in_head_stays_the_users(wt: Worktree) -> None:
    _commit_on_disk(wt, {"evil": "../../etc"})
    blob = wt.store.put("blob", b"new\n")
    target = {**_links(wt, {"evil": "../../etc", "ok": "new.txt"}), "new.txt": (EntryKind.FILE, blob)}
    wt.check_links(target)  # not written by this checkout: not refused
    with pytest.raises(BadPathError, match="'evil'"):
        wt.check_links({**target, **_links(wt, {"evil": "../../../etc"})})


def test_one_link_that_completes_a_chain_of_head_is_refused(wt: Worktree) -> None:
    _commit_on_disk(wt, {"up": "x/.."})
    (dot,) = _links(wt, {"x": "."}).values()
    with pytest.raises(BadPathError, match=r"'up'.*outside the work tree"):
        wt.write_file("x", *dot)
    assert not os.path.lexists(Path(wt.root) / "x")
    (sub,) = _links(wt, {"x": "sub"}).values()
    wt.write_file("x", *sub)  # up -> x/.. is then sub/..: the root
    assert os.readlink(Path(wt.root) / "x") == "sub"


def test_one_link_through_links_on_disk_is_refused(wt: Worktree) -> None:
    os.symlink(".", Path(wt.root) / "x")
    (meta,) = _links(wt, {"m": "x/.vcrdt"}).values()
    with pytest.raises(BadPathError, match=r"points into \.vcrdt"):
        wt.write_file("m", *meta)
    assert not os.path.lexists(Path(wt.root) / "m")


def test_nothing_is_read_or_deleted_beyond_a_symlink(wt: Worktree, tmp_path: Path) -> None:
    write(wt, "sub/f.txt", b"in the tree\n")
    wt.add(["sub/f.txt"])
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "f.txt").write_bytes(b"secret\n")
    (Path(wt.root) / "sub" / "f.txt").unlink()
    (Path(wt.root) / "sub").rmdir()
    os.symlink(victim, Path(wt.root) / "sub")
    assert wt.lstat("sub/f.txt") is None
    assert wt.lstat_in_tree("sub/f.txt") is None
    assert wt.status().deleted == ["sub/f.txt"]
    cur, _ = wt.current(wt.rows(), ["sub/f.txt"], None, store=True)
    assert cur == {"sub/f.txt": None}
    for attempt in (
        lambda: wt.delete_file("sub/f.txt"),
        lambda: wt.remove(["sub/f.txt"], keep_files=False),
        lambda: wt.rename("sub/f.txt", "moved.txt"),
        lambda: wt.open_file("sub/f.txt"),
        lambda: wt.read_link("sub/f.txt"),
        lambda: wt.write_file("sub/f.txt", EntryKind.FILE, wt.store.put("blob", b"evil\n")),
    ):
        with pytest.raises(BadPathError, match=r"'sub/f\.txt': is beyond a symbolic link \('sub' is a symlink"):
            attempt()
    assert wt.rows()["sub/f.txt"].state == "tracked"  # the refused remove changed nothing
    assert (victim / "f.txt").read_bytes() == b"secret\n"
    assert sorted(os.listdir(victim)) == ["f.txt"]


@pytest.mark.parametrize("path", ["../x", "a/../../x", "a//b", "./x", "a/."])
def test_no_dot_dot_or_empty_name_is_walked(wt: Worktree, path: str) -> None:
    with pytest.raises(BadPathError, match="component not allowed"):
        wt.lstat(path)
    with pytest.raises(BadPathError, match="component not allowed"):
        wt.delete_file(path)


def test_writing_keeps_directories_open_and_drops_removed_ones(wt: Worktree) -> None:
    blob = wt.store.put("blob", b"x\n")
    with wt.writing():
        wt.write_file("d/e/one.txt", EntryKind.FILE, blob)
        wt.write_file("d/e/two.txt", EntryKind.FILE, blob)
        wt.delete_file("d/e/one.txt")
        wt.delete_file("d/e/two.txt")  # d/e and d are left empty: removed
        assert not (Path(wt.root) / "d").exists()
        wt.write_file("d/e/three.txt", EntryKind.FILE, blob)  # made again, not the removed ones
    assert (Path(wt.root) / "d" / "e" / "three.txt").read_bytes() == b"x\n"


def test_ignore_rules_nested(tmp_path: Path) -> None:
    (tmp_path / ".vcrdtignore").write_text("*.o\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".vcrdtignore").write_text("!keep.o\nlocal/\n")
    rules = IgnoreRules(tmp_path)
    assert rules.is_ignored("x.o")
    assert rules.is_ignored("sub/x.o")
    assert not rules.is_ignored("sub/keep.o")
    assert rules.is_ignored("sub/local", is_dir=True)
    assert not rules.is_ignored("local", is_dir=True)


def test_meta_dir_never_scanned(wt: Worktree) -> None:
    write(wt, "a.txt", b"a")
    scan = wt.scan({})
    assert scan.untracked == ["a.txt"]


def test_orphaned_temp_files_are_hidden_and_removed(wt: Worktree) -> None:
    write(wt, "a.txt", b"a")
    dead = Path(wt.root) / ".a.txt.vcrdt-999999999.tmp"  # no such process
    dead.write_bytes(b"half written")
    mine = Path(wt.root) / f".b.txt.vcrdt-{os.getpid()}.tmp"
    mine.write_bytes(b"in progress")
    assert wt.scan({}).untracked == ["a.txt"]
    assert not dead.exists()
    assert mine.exists()


def _status_from_rows(wt: Worktree) -> tuple[list[str], ...]:
    """Status computed the slow way (every row whole), to check the fast path against."""
    rows = wt.rows()
    scan = wt.scan(rows)
    cur, _ = wt.current(rows, [p for p, r in rows.items() if r.state != "removed"], scan.files, store=False)
    out: tuple[list[str], ...] = ([], [], [], [])
    for p in sorted(rows):
        r = rows[p]
        if r.state == "removed":
            out[3].append(p)
        elif cur[p] is None:
            out[2].append(p)
        elif r.head_oid is None:
            out[1].append(p)
        elif cur[p] != (r.head_kind, r.head_oid):
            out[0].append(p)
    return out


def test_status_fast_path_agrees_with_full_rows(wt: Worktree) -> None:
    names = [f"d{i % 3}/f{i}.txt" for i in range(12)]
    for n in names:
        write(wt, n, n.encode())
    wt.add(names)
    rows = wt.rows()
    cur, dirty = wt.current(rows, names, None, store=True)
    wt.record_head({p: e for p, e in cur.items() if e is not None}, names, {r.path: r for r in dirty})
    assert wt.status().is_clean
    write(wt, names[0], b"changed")  # modified: hashed by each status (too small for its cache to be saved)
    assert wt.status().modified == [names[0]]
    assert wt.rows()[names[0]].oid == object_id("blob", names[0].encode())
    write(wt, names[1], names[1].encode(), age_s=20)  # new stat, same content: clean
    os.unlink(Path(wt.root) / names[2])  # deleted
    wt.remove([names[3]], keep_files=False)  # removed
    write(wt, "new.txt", b"n")
    wt.add(["new.txt"])  # added
    write(wt, "untracked.txt", b"u")
    st = wt.status()
    assert (st.modified, st.added, st.deleted, st.removed) == _status_from_rows(wt)
    assert st.modified == [names[0]] and st.added == ["new.txt"]
    assert st.deleted == [names[2]] and st.removed == [names[3]] and st.untracked == ["untracked.txt"]
    assert wt.status() == st  # the cache the first call wrote changes nothing
