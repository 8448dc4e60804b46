"""The commit table (`vcrdt.store.commits`): written with every commit object, read by log, checked by fsck."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.helpers.builders import build_dag
from tests.helpers.cli import CliRunner
from vcrdt.dag import iter_history, iter_log, read_commit
from vcrdt.errors import CorruptObjectError
from vcrdt.ids import ObjectId
from vcrdt.objects import Commit
from vcrdt.store import commits
from vcrdt.store.commits import CommitInfo
from vcrdt.store.db import Database
from vcrdt.store.memory import MemoryStore
from vcrdt.store.sqlite import RAW, SqliteStore


def _copied(tmp_path: Path, spec: list[list[int]]) -> tuple[MemoryStore, SqliteStore, list[ObjectId]]:
    mem = MemoryStore()
    ids = build_dag(mem, spec)
    sql = SqliteStore(Database(tmp_path / "s.db", create=True))
    for oid in mem.iter_ids():
        sql.put(*mem.get(oid))
    return mem, sql, ids


def _rows(store: SqliteStore) -> dict[ObjectId, CommitInfo]:
    return dict(commits.parse(r) for r in commits.iter_rows(store.db.conn))


def test_each_put_writes_the_commits_row(tmp_path: Path) -> None:
    mem, sql, ids = _copied(tmp_path, [[], [0], [0], [1, 2]])
    rows = _rows(sql)
    assert set(rows) == set(ids)  # commits only: no tree or blob rows
    for oid in ids:
        assert rows[oid] == CommitInfo.of(read_commit(mem, oid))
    assert sql.commit_table_problems() == []
    sql.db.close()


def test_put_many_and_put_encoded_write_rows(tmp_path: Path) -> None:
    mem = MemoryStore()
    ids = build_dag(mem, [[], [0], [1]])
    many = SqliteStore(Database(tmp_path / "many.db", create=True))
    many.put_many([(*mem.get(oid), None) for oid in mem.iter_ids()])
    assert set(_rows(many)) == set(ids)
    encoded = SqliteStore(Database(tmp_path / "enc.db", create=True))
    encoded.put_encoded([(oid, *mem.get(oid), RAW, None, b"") for oid in mem.iter_ids()])
    assert set(_rows(encoded)) == set(ids)
    assert many.commit_table_problems() == encoded.commit_table_problems() == []
    many.db.close()
    encoded.db.close()


def test_put_encoded_makes_rows_from_the_commits_the_caller_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A receiver decodes each commit to check it, then stores it: the row comes from that decode.
    mem = MemoryStore()
    ids = build_dag(mem, [[], [0], [1]])
    decoded = {oid: read_commit(mem, oid) for oid in ids}
    items = [(oid, *mem.get(oid), RAW, None, b"") for oid in mem.iter_ids()]
    store = SqliteStore(Database(tmp_path / "enc.db", create=True))

    def refuse(body: bytes) -> Commit:
        raise AssertionError("decoded again")

    monkeypatch.setattr(Commit, "from_bytes", staticmethod(refuse))
    store.put_encoded(items, decoded)
    monkeypatch.undo()
    assert _rows(store) == {oid: CommitInfo.of(c) for oid, c in decoded.items()}
    assert store.commit_table_problems() == []
    store.db.close()


def test_delete_drops_the_row(tmp_path: Path) -> None:
    _, sql, ids = _copied(tmp_path, [[], [0]])
    sql.delete([ids[1]])
    assert set(_rows(sql)) == {ids[0]}
    assert sql.commit_table_problems() == []
    sql.db.close()


def test_a_rolled_back_put_leaves_no_row(tmp_path: Path) -> None:
    mem = MemoryStore()
    ids = build_dag(mem, [[]])
    sql = SqliteStore(Database(tmp_path / "s.db", create=True))
    with pytest.raises(RuntimeError), sql.db.write():
        for oid in mem.iter_ids():
            sql.put(*mem.get(oid))
        raise RuntimeError("abort")
    assert _rows(sql) == {}
    assert not sql.has(ids[0])
    sql.db.close()


def test_the_walk_through_the_table_reads_no_commit_object(tmp_path: Path) -> None:
    _, sql, ids = _copied(tmp_path, [[], [0], [0], [1, 2], [3]])

    class NoObjects(SqliteStore):
        def get(self, oid: ObjectId) -> tuple[str, bytes]:
            raise AssertionError("read an object")

        def read_ahead(self, oid: ObjectId, window: int) -> dict[ObjectId, tuple[str, bytes]]:
            raise AssertionError("read an object")

    walked = list(iter_log(NoObjects(sql.db), [ids[4]]))
    assert [o for o, _ in walked] == [o for o, _ in iter_history(sql, [ids[4]])]
    sql.db.close()


def test_a_missing_row_is_read_from_the_object(tmp_path: Path) -> None:
    _, sql, ids = _copied(tmp_path, [[], [0], [1]])
    sql.db.conn.execute("DELETE FROM commits WHERE id = ?", (ids[1],))
    sql.db.conn.execute("UPDATE commits SET parents = x'00' WHERE id = ?", (ids[0],))  # malformed: skipped too
    assert [o for o, _ in iter_log(sql, [ids[2]])] == [ids[2], ids[1], ids[0]]
    problems = sql.commit_table_problems()
    assert f"commit {ids[1].hex()}: no row in the commit table" in problems
    assert any("malformed commit table row" in p for p in problems)
    sql.db.close()


def test_a_read_only_replica_table_is_not_read(tmp_path: Path) -> None:
    _, sql, ids = _copied(tmp_path, [[], [0]])
    sql.db.conn.execute("UPDATE commits SET parents = x'' WHERE id = ?", (ids[1],))  # a lie: no parent
    sql.db.close()
    other = SqliteStore(Database(tmp_path / "s.db", read_only=True))
    assert [o for o, _ in iter_log(other, [ids[1]])] == [ids[1], ids[0]]
    other.db.close()


def test_an_older_repository_gets_its_table_on_open(repo: CliRunner) -> None:
    repo.write("a", "a\n")
    repo.ok("commit", "-A", "-m", "a")
    repo.write("a", "b\n")
    repo.ok("commit", "-A", "-m", "b")
    db = repo.cwd / ".vcrdt" / "store.db"
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE commits")
    assert "0 problems" in repo.ok("fsck").err  # opening it fills the table again, and fsck finds it right
    with sqlite3.connect(db) as conn:
        (rows,) = conn.execute("SELECT COUNT(*) FROM commits").fetchone()
        (pending,) = conn.execute("SELECT COUNT(*) FROM meta WHERE key = ?", (commits.PENDING,)).fetchone()
    assert (rows, pending) == (2, 0)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("DELETE FROM commits WHERE message = 'b\n'", "no row in the commit table"),
        (
            "UPDATE commits SET lamport = lamport + 5 WHERE message = 'b\n'",
            "its commit table row differs from the commit",
        ),
        ("UPDATE commits SET message = 'x' WHERE message = 'b\n'", "its commit table row differs from the commit"),
        ("UPDATE commits SET id = zeroblob(32) WHERE message = 'b\n'", "a commit table row without its commit object"),
    ],
)
def test_fsck_names_the_commit_of_a_damaged_row(repo: CliRunner, damage: str, message: str) -> None:
    repo.write("a", "a\n")
    repo.ok("commit", "-A", "-m", "a")
    repo.write("a", "b\n")
    repo.ok("commit", "-A", "-m", "b")
    head = repo.ok("rev-parse", "HEAD").out.strip()
    with sqlite3.connect(repo.cwd / ".vcrdt" / "store.db") as conn:
        conn.execute(damage)
    r = repo("fsck")
    assert r.code == 1
    named = "0" * 64 if "without" in message else head
    assert f"commit {named}: {message}" in (r.out + r.err)


def test_log_after_a_damaged_row_still_shows_the_commit(repo: CliRunner) -> None:
    repo.write("a", "a\n")
    repo.ok("commit", "-A", "-m", "a")
    with sqlite3.connect(repo.cwd / ".vcrdt" / "store.db") as conn:
        conn.execute("DELETE FROM commits")
    assert "    a\n" in repo.ok("log").out


def test_commit_info_matches_the_commit() -> None:
    mem = MemoryStore()
    (oid,) = build_dag(mem, [[]])
    c = Commit.from_bytes(mem.get(oid)[1])
    info = commits.parse(commits.row(oid, c))[1]
    assert info == CommitInfo.of(c)
    assert (info.parents, info.lamport, info.author, info.message, info.summary) == (
        c.parents,
        c.lamport,
        c.author,
        c.message,
        c.summary,
    )


def test_a_fill_cut_short_is_done_again_on_the_next_open(tmp_path: Path) -> None:
    _, sql, ids = _copied(tmp_path, [[], [0], [1]])
    path = sql.db.path
    sql.db.conn.execute("DROP TABLE commits")
    sql.db.close()
    db = Database(path)  # adds the empty table and marks it to fill; the store, not yet opened, has not filled it
    assert db.get_meta(commits.PENDING) == "1"
    assert db.conn.execute("SELECT COUNT(*) FROM commits").fetchone() == (0,)
    db.close()
    store = SqliteStore(Database(path))
    assert set(_rows(store)) == set(ids)
    assert store.db.get_meta(commits.PENDING) is None
    assert store.commit_table_problems() == []
    store.db.close()


@pytest.mark.parametrize(
    "spec",
    [
        [[], [0], [1], [2], [3]],  # a line
        [[], [0], [0], [1, 2], [3], [4], [4], [5, 6], [7]],  # forks and merges between lines
        [[], [0], [1], [2], [0], [4], [3, 5], [6]],  # a long side line merged back
        [[], [], [0, 1], [2], [1], [3, 4]],  # two roots
    ],
)
@pytest.mark.parametrize("first_parent", [False, True])
def test_the_table_walk_keeps_the_order_of_the_object_walk(
    tmp_path: Path, spec: list[list[int]], first_parent: bool
) -> None:
    """`iter_log` (lines of single parents go past the heap) yields `iter_history`'s commits in its order."""
    mem, sql, ids = _copied(tmp_path, spec)
    for heads in ([ids[-1]], [ids[-1], ids[len(ids) // 2]], [ids[1], ids[0]]):
        want = [(oid, CommitInfo.of(c)) for oid, c in iter_history(mem, heads, first_parent=first_parent)]
        assert list(iter_log(sql, heads, first_parent=first_parent)) == want
        assert list(iter_log(mem, heads, first_parent=first_parent)) == want
    sql.db.close()


def test_parse_rows_reads_what_parse_reads_and_leaves_out_what_it_refuses(tmp_path: Path) -> None:
    _, sql, ids = _copied(tmp_path, [[], [0], [0], [1, 2]])
    good = list(commits.iter_rows(sql.db.conn))
    assert commits.parse_rows(good) == dict(commits.parse(r) for r in good)
    assert len(commits.parse_rows(good)[ids[3]].parents) == 2
    oid, lamport, time, tz, parents, name, email, message = good[0]
    bad = [
        (oid[:31], lamport, time, tz, parents, name, email, message),  # a short id
        ("x" * 32, lamport, time, tz, parents, name, email, message),  # an id that is no blob
        (oid, True, time, tz, parents, name, email, message),  # a bool is no clock
        (oid, lamport, str(time), tz, parents, name, email, message),
        (oid, lamport, time, tz, parents + b"\0", name, email, message),  # parents not whole ids
        (oid, lamport, time, tz, "p" * 32, name, email, message),
        (oid, lamport, time, tz, parents, name.encode(), email, message),
    ]
    for raw in bad:
        with pytest.raises(CorruptObjectError):
            commits.parse(raw)
    assert commits.parse_rows([*bad, good[1]]) == dict([commits.parse(good[1])])
    sql.db.close()


def test_parse_links_reads_the_clocks_and_parents_parse_reads_and_leaves_out_malformed_rows(tmp_path: Path) -> None:
    _, sql, ids = _copied(tmp_path, [[], [0], [0], [1, 2]])
    good = list(commits.iter_rows(sql.db.conn))
    links = [(r[0], r[1], r[4]) for r in good]  # id, lamport, parents: what SELECT_LINKS_BEFORE reads
    assert commits.parse_links(links) == {
        oid: (info.lamport, info.parents) for oid, info in (commits.parse(r) for r in good)
    }
    got = sql.commit_links(ids[3], 10)  # its row and those stored before it
    assert ids[3] in got and got.items() <= commits.parse_links(links).items()
    oid, lamport, parents = links[0]
    bad = [(oid[:31], lamport, parents), (oid, True, parents), (oid, lamport, parents + b"\0"), (oid, lamport, "p")]
    assert commits.parse_links([*bad, links[1]]) == commits.parse_links([links[1]])
    sql.db.close()
