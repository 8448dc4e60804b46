"""Bucket fingerprints over object ids (`vcrdt.store.fingerprints`), kept by the store as it writes."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.cli import CliRunner
from vcrdt.ids import ObjectId
from vcrdt.store import LARGE_OBJECT, fingerprints
from vcrdt.store.db import Database
from vcrdt.store.fingerprints import EMPTY, Fingerprint, id_range, of
from vcrdt.store.memory import MemoryStore
from vcrdt.store.sqlite import SqliteStore

ids = st.binary(min_size=32, max_size=32).map(ObjectId)


@given(st.lists(ids, unique=True, max_size=60), st.text("0123456789abcdef", max_size=2))
def test_a_bucket_is_the_sum_of_its_sixteen_children(oids: list[ObjectId], prefix: str) -> None:
    inside = [o for o in oids if o.hex().startswith(prefix)]
    children = [of(o for o in inside if o.hex().startswith(prefix + d)) for d in "0123456789abcdef"]
    total = EMPTY
    for child in children:
        total = total + child
    assert total == of(inside)


@given(st.lists(ids, unique=True, min_size=1, max_size=30))
def test_the_fingerprint_does_not_depend_on_order_and_tells_sets_apart(oids: list[ObjectId]) -> None:
    assert of(oids) == of(reversed(oids))
    assert of(oids[1:]) != of(oids)
    assert of(oids).digest(b"s1") != of(oids[1:]).digest(b"s1")
    assert of(oids).digest(b"s1") != of(oids).digest(b"s2")


@given(st.text("0123456789abcdef", max_size=5), ids)
def test_id_range_holds_exactly_the_ids_with_the_prefix(prefix: str, oid: ObjectId) -> None:
    low, high = id_range(prefix)
    inside = oid >= low and (high is None or oid < high)
    assert inside == oid.hex().startswith(prefix)


def _stores(tmp: Path) -> tuple[SqliteStore, MemoryStore]:
    return SqliteStore(Database(tmp / "store.db", create=True)), MemoryStore()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=40), st.lists(st.text("0123456789abcdef", max_size=5), max_size=8))
def test_sqlite_keeps_what_a_full_recount_finds(bodies: list[bytes], prefixes: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sql, mem = _stores(Path(tmp))
        half = len(bodies) // 2
        for body in bodies[:half]:
            sql.put("blob", body)
            sql.put("blob", body)  # a second put stores nothing and counts nothing
            mem.put("blob", body)
        batch = [("blob", b, None) for b in bodies[half:] + bodies[:2]]  # repeats within and across
        sql.put_many(batch)
        mem.put_many(batch)
        assert sql.fingerprint_problems() == []
        for prefix in ["", *prefixes]:
            assert sql.bucket(prefix) == mem.bucket(prefix) == of(mem.bucket_ids(prefix))
            assert sql.bucket_ids(prefix) == mem.bucket_ids(prefix)
        sql.db.close()


def test_a_chunked_object_is_counted_once(tmp_path: Path) -> None:
    sql, _ = _stores(tmp_path)
    body = os.urandom(LARGE_OBJECT + 10)
    oid = sql.put_stream("blob", len(body), [body[:1000], body[1000:]])
    sql.put("blob", body)
    assert sql.bucket("") == of([oid])
    assert sql.fingerprint_problems() == []


def test_an_older_repository_gets_its_fingerprints_on_open(repo: CliRunner) -> None:
    repo.write("a", "a\n")
    repo.ok("commit", "-A", "-m", "a")
    db = repo.cwd / ".vcrdt" / "store.db"
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE fingerprints")
    assert "0 problems" in repo.ok("fsck").err  # opening it builds the table again, and fsck finds it right
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count FROM fingerprints WHERE prefix = ''").fetchone()
        (objects,) = conn.execute("SELECT COUNT(*) FROM objects").fetchone()
    assert count == objects == 3


def test_fsck_reports_a_fingerprint_that_disagrees_with_the_objects(repo: CliRunner) -> None:
    repo.write("a", "a\n")
    repo.ok("commit", "-A", "-m", "a")
    with sqlite3.connect(repo.cwd / ".vcrdt" / "store.db") as conn:
        conn.execute("UPDATE fingerprints SET w3 = w3 + 1 WHERE prefix = ''")
    r = repo("fsck")
    assert r.code == 1
    assert (
        "fingerprints: bucket (root): stored fingerprint counts 3 objects, the objects table holds 3 with other ids"
        in (r.out + r.err)
    )


def test_fingerprint_addition_is_a_monoid() -> None:
    a, b = Fingerprint(1, (1,) * 8), Fingerprint(2, (5,) * 8)
    assert a + EMPTY == a and (a + b) + a == a + (b + a) and a + b == b + a
    assert fingerprints.prefixes(ObjectId(bytes(32)), 2) == ["", "0", "00"]


def test_the_documented_vector() -> None:
    oid = ObjectId(b"\x00\x00\x00\x01" + bytes(28))
    assert fingerprints.prefixes(oid) == ["", "0", "00", "000"]
    assert of([oid]) == Fingerprint(1, (1, 0, 0, 0, 0, 0, 0, 0))
