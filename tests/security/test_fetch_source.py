"""Fetch reads the source replica read-only, only vcrdt's own tables, and within a time limit."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.security.hostile_source import HostileSource, assert_refused, run_limited, victim_state
from vcrdt.errors import RepoError
from vcrdt.objects import EntryKind
from vcrdt.store.db import Database


@pytest.fixture
def source(repo: CliRunner) -> HostileSource:
    """A replica beside the victim with a commit on main, made through the CLI."""
    root = repo.cwd.parent / "src"
    repo.ok("init", str(root))
    (root / "a.txt").write_text("from the source\n")
    repo.ok("commit", "-A", "-m", "source", cwd=root)
    return HostileSource(root)


_ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)"
HOSTILE_SCHEMAS: dict[str, tuple[str, list[str]]] = {
    # name: (the table the error names, the statements that make the source hostile)
    # A view that never ends: fetch hung on it for more than 300 s.
    "refs-endless-view": (
        "refs",
        [
            "DROP TABLE refs",
            f"CREATE VIEW refs AS {_ENDLESS} SELECT 'refs/heads/x' || n AS name, randomblob(32) AS head FROM r",
        ],
    ),
    "objects-view": (
        "objects",
        [
            "ALTER TABLE objects RENAME TO real_objects",
            "CREATE VIEW objects AS SELECT * FROM real_objects",
        ],
    ),
    "chunks-endless-view": (
        "chunks",
        [
            "DROP TABLE chunks",
            f"CREATE VIEW chunks AS {_ENDLESS} SELECT randomblob(32) AS id, n AS seq, x'00' AS data FROM r",
        ],
    ),
    "meta-view": (
        "meta",
        [
            "ALTER TABLE meta RENAME TO real_meta",
            "CREATE VIEW meta AS SELECT * FROM real_meta",
        ],
    ),
    "ref-tombstones-view": (
        "ref_tombstones",
        [
            "DROP TABLE ref_tombstones",
            f"CREATE VIEW ref_tombstones AS {_ENDLESS} SELECT 'refs/heads/main' AS name, randomblob(32) AS head FROM r",
        ],
    ),
    "ref-entries-view": (
        "ref_entries",
        [
            "DROP TABLE ref_entries",
            f"CREATE VIEW ref_entries AS {_ENDLESS} SELECT 'ee' AS replica, n AS counter,"
            " 'refs/heads/main' AS name, randomblob(32) AS head FROM r",
        ],
    ),
    "ref-context-nocase-key": (
        "ref_context",
        [
            "DROP TABLE ref_context",
            "CREATE TABLE ref_context (replica TEXT PRIMARY KEY COLLATE NOCASE, counter INTEGER)",
        ],
    ),
    "refs-extra-generated-column": (
        "refs",
        [
            "DROP TABLE refs",
            "CREATE TABLE refs (name TEXT NOT NULL, head BLOB NOT NULL, x AS (length(name)), PRIMARY KEY (name, head))",
        ],
    ),
    "objects-column-missing": (
        "objects",
        [
            "DROP TABLE objects",
            "CREATE TABLE objects (id BLOB PRIMARY KEY, kind INTEGER NOT NULL, size INTEGER NOT NULL,"
            " storage INTEGER NOT NULL, base BLOB, data BLOB)",
        ],
    ),
    "refs-table-missing": ("refs", ["DROP TABLE refs"]),
    # Lookups by name would ignore case.
    "refs-nocase-key": (
        "refs",
        [
            "DROP TABLE refs",
            "CREATE TABLE refs (name TEXT NOT NULL COLLATE NOCASE, head BLOB NOT NULL, PRIMARY KEY (name, head))",
        ],
    ),
    "objects-without-key": (
        "objects",
        [
            "ALTER TABLE objects RENAME TO old_objects",
            "CREATE TABLE objects (id BLOB, kind INTEGER NOT NULL, size INTEGER NOT NULL,"
            " storage INTEGER NOT NULL, base BLOB, depth INTEGER NOT NULL DEFAULT 0, data BLOB)",
            "INSERT INTO objects SELECT * FROM old_objects",
        ],
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize("name", sorted(HOSTILE_SCHEMAS))
def test_hostile_schema_is_refused(name: str, source: HostileSource, repo: CliRunner) -> None:
    table, statements = HOSTILE_SCHEMAS[name]
    source.sql(*statements)
    before = victim_state(repo.cwd)
    r = run_limited("fetch", str(source.root), cwd=repo.cwd, timeout=60)
    assert_refused(r.returncode, r.stderr, str(source.root), f"table {table!r}")
    assert victim_state(repo.cwd) == before
    repo.ok("fsck")


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _zero_link(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.symlink_to("/dev/zero")


SPECIAL_FILES: dict[str, tuple[str, Callable[[Path], None], str]] = {
    # name: (the file under .vcrdt, what it becomes, what the error says)
    "format-not-utf8": ("format", lambda p: p.write_bytes(b"\xff\xfe vcrdt\n"), "unsupported format"),
    "format-fifo": ("format", _fifo, "not a regular file"),
    "format-dev-zero": ("format", _zero_link, "not a regular file"),
    "db-fifo": ("store.db", _fifo, "not a regular file"),
    "db-dev-zero": ("store.db", _zero_link, "not a regular file"),
    "wal-fifo": ("store.db-wal", _fifo, "not a regular file"),
}


@pytest.mark.hostile
@pytest.mark.parametrize("name", sorted(SPECIAL_FILES))
def test_special_file_in_the_source_is_refused(name: str, source: HostileSource, repo: CliRunner) -> None:
    """A FIFO would block the fetch for ever, /dev/zero never end, bytes that are not UTF-8 raise."""
    rel, make, rule = SPECIAL_FILES[name]
    make(source.root / ".vcrdt" / rel)
    before = victim_state(repo.cwd)
    r = run_limited("fetch", str(source.root), cwd=repo.cwd, timeout=60)
    assert_refused(r.returncode, r.stderr, str(source.root / ".vcrdt" / rel), rule)
    assert victim_state(repo.cwd) == before


def test_query_over_the_time_limit_is_interrupted(tmp_path: Path) -> None:
    """The source's connection aborts a statement that runs past its limit, with one clear error."""
    Database(tmp_path / "s.db", create=True).close()
    db = Database(tmp_path / "s.db", read_only=True, time_limit=0.05)
    try:
        with pytest.raises(RepoError, match=r"took more than 0\.05 s.*limits\.source_timeout"):
            db.conn.execute(f"{_ENDLESS} SELECT max(n) FROM r").fetchone()
        # The next statement has its own time.
        assert db.get_meta("schema") == "1"
    finally:
        db.close()


def _tree_state(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file and directory under `root`: mode, mtime and content (empty for directories)."""
    out: dict[str, tuple[int, int, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        st = os.lstat(dirpath)
        out[os.path.relpath(dirpath, root)] = (st.st_mode, st.st_mtime_ns, b"")
        for name in filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            with open(full, "rb") as f:
                out[os.path.relpath(full, root)] = (st.st_mode, st.st_mtime_ns, f.read())
        dirnames.sort()
    return out


def _chmod_tree(root: Path, *, writable: bool) -> None:
    for dirpath, _, filenames in os.walk(root):
        for path in [dirpath, *(os.path.join(dirpath, n) for n in filenames)]:
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            os.chmod(path, mode | stat.S_IWUSR if writable else mode & ~0o222)


@pytest.fixture
def read_only_source(source: HostileSource) -> Iterator[HostileSource]:
    """The source made read-only on disk (chmod -R a-w), writable again after the test."""
    _chmod_tree(source.root, writable=False)
    try:
        yield source
    finally:
        _chmod_tree(source.root, writable=True)


def test_fetch_from_a_read_only_source_leaves_it_untouched(read_only_source: HostileSource, repo: CliRunner) -> None:
    before = _tree_state(read_only_source.root)
    assert not any(k.endswith(("-wal", "-shm")) for k in before)
    r = repo.ok("fetch", str(read_only_source.root))
    assert "main: new" in r.out
    assert _tree_state(read_only_source.root) == before
    assert (repo.cwd / "a.txt").read_text() == "from the source\n"
    repo.ok("fsck")


def test_fetch_never_changes_the_source_journal_or_schema(source: HostileSource, repo: CliRunner) -> None:
    """A source in rollback-journal mode, without a table vcrdt does not read, is left as it is."""
    conn = sqlite3.connect(source.db)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("DROP TABLE actors")
    conn.close()
    db_bytes = source.db.read_bytes()
    repo.ok("fetch", str(source.root))
    assert source.db.read_bytes() == db_bytes
    conn = sqlite3.connect(f"file:{source.db}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'actors'").fetchone() is None
    finally:
        conn.close()


def test_fetch_from_a_source_in_use_sees_its_log(source: HostileSource, repo: CliRunner) -> None:
    """With a writer holding the source open, commits still in its write-ahead log are fetched."""
    writer = sqlite3.connect(source.db)
    try:
        writer.execute("SELECT COUNT(*) FROM meta").fetchone()  # holds the log open: no checkpoint at close
        src = HostileSource(source.root)
        head = src.commit(src.tree(("late.txt", EntryKind.FILE, src.put("blob", b"late\n"))))
        src.branch("late", head)
        assert os.path.getsize(str(source.db) + "-wal") > 0
        repo.ok("fetch", str(source.root))
    finally:
        writer.close()
    assert ("refs/heads/late", head.hex()) in victim_state(repo.cwd)[2]


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf"])
def test_bad_source_timeout_is_a_config_error(value: str, source: HostileSource, repo: CliRunner) -> None:
    repo.ok("config", "--", "limits.source_timeout", value)
    before = victim_state(repo.cwd)
    r = repo("fetch", str(source.root))
    assert_refused(r.code, r.err, "limits.source_timeout", "not a positive number of seconds")
    assert victim_state(repo.cwd) == before


_CRASHED_WRITE = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=DELETE")
conn.execute("PRAGMA cache_size=1")  # spill: the file is written before the commit
conn.execute("BEGIN IMMEDIATE")
conn.execute("DELETE FROM refs")
for i in range(2000):
    conn.execute("INSERT INTO refs(name, head) VALUES (?, randomblob(32))", (f"refs/heads/junk{i}",))
os._exit(1)  # no commit, no rollback: a hot journal is left
"""


def test_source_with_a_crashed_write_is_refused_not_rolled_back(source: HostileSource, repo: CliRunner) -> None:
    """A rollback journal left by a crash: reading past it would see half a write; undoing it writes."""
    subprocess.run([sys.executable, "-c", _CRASHED_WRITE, str(source.db)], check=False)
    journal = source.db.with_name("store.db-journal")
    assert journal.stat().st_size > 0
    before = _tree_state(source.root)
    r = repo("fetch", str(source.root))
    assert_refused(r.code, r.err, str(source.db), "store.db-journal holds writes not yet in it")
    assert _tree_state(source.root) == before
