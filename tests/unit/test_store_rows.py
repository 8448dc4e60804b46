"""The C reader of query rows (vcrdt/store/_rows.c) returns what `_sqlite3`'s fetchall returns, or None.

On random commit tables, damaged ones among them (values of every SQLite type in every column,
text that is not UTF-8, NULLs, blobs of every length), for the windows `log` reads: the same
rows, in the same order, of the same types; and None (the caller then asks `_sqlite3`) wherever
`_sqlite3` would not return rows, or the reader cannot be sure it reads what `_sqlite3` would.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.store import commits
from vcrdt.store.db import Database
from vcrdt.store.sqlite import SqliteStore

fetch = pytest.importorskip("vcrdt.store._rows").fetch

_SCHEMA = (
    "CREATE TABLE commits (id BLOB PRIMARY KEY, lamport INTEGER NOT NULL, time INTEGER NOT NULL,"
    " tz INTEGER NOT NULL, parents BLOB NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL, message TEXT NOT NULL)"
)
# A value as SQL (a literal, so that text that is not UTF-8 and every type can be stored).
literal = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.binary(max_size=70).map(lambda b: f"x'{b.hex()}'"),
    st.text(max_size=12).map(lambda t: f"CAST(x'{t.encode().hex()}' AS TEXT)"),
    st.binary(max_size=8).map(lambda b: f"CAST(x'{b.hex()}' AS TEXT)"),  # text that may not be UTF-8
    st.just("NULL"),
)
table_row = st.lists(literal, min_size=8, max_size=8)


def _table(rows: list[list[str]]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(_SCHEMA.replace(" NOT NULL", ""))
    for i, row in enumerate(rows):
        # The id first: a blob made unique by its position, or the drawn (damaged) value.
        values = [f"x'{i:064x}'" if row[0] == "id" else row[0], *row[1:]]
        conn.execute(f"INSERT OR IGNORE INTO commits VALUES ({', '.join(values)})")
    return conn


def _fetchall(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]] | None:
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.DatabaseError:
        return None


@settings(max_examples=300, deadline=None)
@given(
    # Rows with a good id, so that windows have rows to read, and rows with any value as their id.
    rows=st.lists(table_row.map(lambda r: ["id", *r[1:]]) | table_row, max_size=12),
    at=st.integers(0, 13),
    window=st.integers(-2, 16),
)
def test_fetch_reads_the_rows_fetchall_reads(rows: list[list[str]], at: int, window: int) -> None:
    conn = _table(rows)
    oid = bytes.fromhex(f"{at:064x}")
    for sql in (commits.SELECT_BEFORE, commits.SELECT_LINKS_BEFORE, f"SELECT {commits._COLUMNS} FROM commits"):
        params = (oid, window) if "?1" in sql else ()
        expected = _fetchall(conn, sql, params)
        got = fetch(conn, sql, params)
        if got is not None:
            assert expected is not None
            assert [tuple(map(type, r)) for r in got] == [tuple(map(type, r)) for r in expected]
            assert repr(got) == repr(expected)  # floats too, -0.0 and all
        else:
            # Only where `_sqlite3` fails too: text that is not UTF-8.
            assert expected is None
    conn.close()


def test_fetch_leaves_to_sqlite3_what_it_cannot_be_sure_of(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.db", check_same_thread=False)  # as `vcrdt.store.db` opens them
    conn.execute(_SCHEMA)
    row = (b"\1" * 32, 1, 2, 3, b"", "n", "e", "m")
    conn.execute("INSERT INTO commits VALUES (?,?,?,?,?,?,?,?)", row)
    conn.commit()
    sql = "SELECT * FROM commits WHERE id = ?"
    assert fetch(conn, sql, (row[0],)) == [row]
    assert fetch(conn, "SELECT * FROM commits WHERE lamport = ?", (1,)) == [row]
    assert fetch(conn, "SELECT * FROM commits WHERE name = ?", ("n",)) == [row]
    assert fetch(conn, sql, (1.5,)) is None  # a parameter it does not bind
    assert fetch(conn, sql, (2**70,)) is None
    assert fetch(conn, sql, ()) is None  # too few parameters
    assert fetch(conn, sql, (row[0], 1)) is None  # too many
    assert fetch(conn, "SELECT * FROM nowhere", ()) is None  # SQLite refuses the query
    assert fetch(conn, "SELECT 1; SELECT 2", ()) is None  # two statements (`_sqlite3` refuses them)
    assert fetch(conn, "SELECT 1; \n", ()) == [(1,)]
    assert fetch(conn, "DELETE FROM commits", ()) is None  # not a read
    assert conn.execute("SELECT count(*) FROM commits").fetchone() == (1,)
    assert fetch(object(), sql, (row[0],)) is None  # not a connection
    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(fetch(conn, sql, (row[0],))))
    thread.start()
    thread.join()
    assert other == [[row]]  # from another thread too, as `_sqlite3` reads it there
    conn.close()
    assert fetch(conn, sql, (row[0],)) is None  # closed


def test_a_stores_commit_rows_come_through_fetch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store reads its commit table through the C reader, and through `_sqlite3` without it: the same rows."""
    from tests.helpers.builders import build_dag
    from vcrdt.store import sqlite as store_sqlite
    from vcrdt.store.memory import MemoryStore

    mem = MemoryStore()
    ids = build_dag(mem, [[], [0], [0], [1, 2]])
    store = SqliteStore(Database(tmp_path / "s.db", create=True))
    for oid in mem.iter_ids():
        store.put(*mem.get(oid))
    calls: list[str] = []

    def counting(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]] | None:
        calls.append(sql)
        return fetch(conn, sql, params)

    monkeypatch.setattr(store_sqlite, "_fetch", counting)
    with_c = store.commit_table_rows(ids[3], 8)
    assert calls == [commits.SELECT_BEFORE]
    monkeypatch.setattr(store_sqlite, "_fetch", None)
    assert store.commit_table_rows(ids[3], 8) == with_c
    assert ids[3] in {r[0] for r in with_c}
    store.db.close()
