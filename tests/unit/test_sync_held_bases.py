"""Delta bases held here read together (`SqliteStore.get_chains`, `FrameReader.ahead`, the receiver)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_sync_deltas import _fetch
from vcrdt.errors import ProtocolError, VcrdtError
from vcrdt.hashing import object_id
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.repo import Repository, Settings
from vcrdt.store import MAX_DELTA_DEPTH
from vcrdt.store.db import Database
from vcrdt.store.sqlite import DELTA, SqliteStore
from vcrdt.sync import frames as F
from vcrdt.sync.limits import SyncLimits

CONF = Settings(author_name="t", author_email="t@x")


def _text(n: int, tag: str) -> bytes:
    return b"".join(f"{tag} line {i}: the quick brown fox jumps over the lazy dog\n".encode() for i in range(n))


def _chains(store: SqliteStore, files: int, versions: int) -> list[tuple[ObjectId, bytes]]:
    """`files` histories of `versions` bodies each, every version a delta on the one before."""
    out = []
    for f in range(files):
        lines = _text(300, f"file {f}").splitlines(keepends=True)
        prev = None
        for v in range(versions):
            lines[(v * 37) % len(lines)] = f"file {f} version {v}\n".encode()
            body = b"".join(lines)
            prev = store.put("blob", body, delta_base=prev)
            out.append((prev, body))
    return out


def _selects(store: SqliteStore) -> list[str]:
    seen: list[str] = []
    store.db.conn.set_trace_callback(lambda sql: seen.append(sql) if sql.lstrip().startswith("SELECT") else None)
    return seen


def test_get_chains_reads_many_delta_chains_with_one_query_per_level(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db", create=True)
    made = _chains(SqliteStore(db), files=40, versions=6)
    fresh = SqliteStore(db)  # nothing cached, nothing known as written here: every body is hashed
    assert all(fresh._row(oid).storage == DELTA for oid, _ in made[1::6])  # type: ignore[union-attr]
    tips = [oid for oid, _ in made[5::6]]
    seen = _selects(fresh)
    got = fresh.get_chains(tips)
    assert got == {oid: ("blob", body) for oid, body in made[5::6]}
    assert len(seen) <= 6 + 1  # a level of the chains per query, not a row
    assert all(fresh.get(oid) == ("blob", body) for oid, body in made)


def test_get_chains_leaves_out_what_get_refuses(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db", create=True)
    made = _chains(SqliteStore(db), files=3, versions=4)
    (a1, _), (a2, _), (a3, _) = made[1], made[2], made[3]
    good = made[4:]
    with db.write() as conn:
        # A delta in the middle of the first chain decodes to other bytes; the second chain loses a row.
        other = SqliteStore(db)._row(made[8][0])
        assert other is not None
        conn.execute("UPDATE objects SET data = ? WHERE id = ?", (other.data, a2))
        conn.execute("DELETE FROM objects WHERE id = ?", (made[5][0],))
    fresh = SqliteStore(db)
    asked = [oid for oid, _ in made] + [ObjectId(b"\x07" * 32)]
    got = fresh.get_chains(asked)
    assert a1 in got and a2 not in got and a3 not in got
    assert set(got) == {made[0][0], a1, made[4][0], *(oid for oid, _ in made[8:])}
    for oid, body in [*made[:2], *good]:
        if oid in got:
            assert got[oid] == ("blob", body)
    for oid in [a2, a3, made[5][0], made[6][0]]:
        with pytest.raises(VcrdtError):
            SqliteStore(db).get(oid)


def test_get_chains_keeps_to_its_bounds(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db", create=True)
    made = _chains(SqliteStore(db), files=4, versions=1)
    size = len(made[0][1])
    ids = [oid for oid, _ in made]
    assert SqliteStore(db).get_chains(ids, max_size=size - 1) == {}
    got = SqliteStore(db).get_chains(ids, most_bytes=2 * size + 10)
    assert list(got) == ids[:2]


def test_a_chain_past_the_depth_cap_is_left_out(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db", create=True)
    made = _chains(SqliteStore(db), files=2, versions=3)
    with db.write() as conn:  # a cycle: the first body made a delta on the last
        conn.execute("UPDATE objects SET storage = ?, base = ? WHERE id = ?", (DELTA, made[2][0], made[0][0]))
    got = SqliteStore(db).get_chains([oid for oid, _ in made])
    assert set(got) == {oid for oid, _ in made[3:]}
    assert MAX_DELTA_DEPTH > 2


def test_get_chains_hashes_and_keeps_only_the_bodies_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A base below them serves as a dictionary only: not hashed, not cached (the body asked for is checked)."""
    db = Database(tmp_path / "s.db", create=True)
    made = _chains(SqliteStore(db), files=3, versions=3)
    fresh = SqliteStore(db)
    hashed: list[bytes] = []
    from vcrdt.store import sqlite

    monkeypatch.setattr(sqlite, "object_id", lambda kind, body: hashed.append(body) or object_id(kind, body))
    tips = [oid for oid, _ in made[2::3]]
    assert fresh.get_chains(tips) == {oid: ("blob", body) for oid, body in made[2::3]}
    assert sorted(hashed) == sorted(body for _, body in made[2::3])
    assert all(fresh._cache.get(oid) is None for oid, _ in made[0::3] + made[1::3])
    # A damaged base below a body asked for: that body is left out, and `get` names the base.
    damaged = made[0][0]
    with db.write() as conn:
        conn.execute("UPDATE objects SET data = ? WHERE id = ?", (SqliteStore(db)._row(made[3][0]).data, damaged))  # type: ignore[union-attr]
    fresh = SqliteStore(db)
    assert made[2][0] not in fresh.get_chains([made[2][0]])
    with pytest.raises(VcrdtError, match=damaged.hex()):
        fresh.get(made[2][0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_get_chains_agrees_with_get(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    db = Database(tmp_path_factory.mktemp("s") / "s.db", create=True)
    made = _chains(SqliteStore(db), files=data.draw(st.integers(1, 3)), versions=data.draw(st.integers(1, 5)))
    ids = [oid for oid, _ in made]
    damage = data.draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(["data", "base", "drop"])), max_size=3))
    with db.write() as conn:
        for oid, how in damage:
            if how == "data":
                conn.execute("UPDATE objects SET data = ? WHERE id = ?", (data.draw(st.binary(max_size=40)), oid))
            elif how == "base":
                conn.execute(
                    "UPDATE objects SET storage = ?, base = ? WHERE id = ?",
                    (DELTA, data.draw(st.sampled_from(ids)), oid),
                )
            else:
                conn.execute("DELETE FROM objects WHERE id = ?", (oid,))
    asked = data.draw(st.lists(st.sampled_from(ids), unique=True))
    got = SqliteStore(db).get_chains(asked)
    for oid in asked:
        try:
            want = SqliteStore(db).get(oid)
        except VcrdtError:
            # Left out; or, when only a base below it is damaged and its delta does not depend
            # on what changed there, its own body, verified (a base not asked for serves only
            # as a dictionary, as in `get_many`).
            assert oid not in got or object_id(*got[oid]) == oid
        else:
            assert got.get(oid, want) == want  # what it returns is what `get` returns
            # It leaves out only what `get` reads by more than one path (a chain with a cycle it cut).
            assert oid in got or SqliteStore(db)._row(oid) is not None


# --- reading frames ahead ------------------------------------------------------------------------


def _reader(data: bytes, **limits: int) -> F.FrameReader:
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        out = data[pos : pos + min(n, 7)]  # short reads
        pos += len(out)
        return out

    return F.FrameReader(read, SyncLimits(**limits), "peer")


def _sequence(reader: F.FrameReader, aheads: list[int]) -> list[object]:
    out: list[object] = []
    for i in range(40):
        if i < len(aheads) and aheads[i]:
            reader.ahead(aheads[i], 1 << 20)
        try:
            frame = reader.next(allow_eof=True)
        except ProtocolError as exc:
            out.append(str(exc))
            break
        if frame is None:
            out.append(None)
            break
        out.append((frame.kind, frame.payload))
    return out


_KINDS = [F.PACKED, F.TREE_DELTA, F.CHUNK, F.OBJECT, F.END, F.IDS, F.ERROR, 0xEE]


@settings(max_examples=200, deadline=None)
@given(
    frames=st.lists(st.tuples(st.sampled_from(_KINDS), st.binary(max_size=30)), max_size=12),
    cut=st.integers(0, 8),
    aheads=st.lists(st.integers(0, 5), max_size=14),
)
def test_reading_ahead_gives_the_same_frames_and_errors_in_the_same_place(
    frames: list[tuple[int, bytes]], cut: int, aheads: list[int]
) -> None:
    data = b"".join(F._HEAD.pack(len(p), k) + p for k, p in frames)
    data = data[: max(0, len(data) - cut)]
    plain = _sequence(_reader(data, max_frame_size=25, max_frames=10), [])
    assert _sequence(_reader(data, max_frame_size=25, max_frames=10), aheads) == plain


def test_reading_ahead_stops_after_the_frame_that_ends_the_objects() -> None:
    frames = [(F.PACKED, b"a"), (F.CHUNK, b"b"), (F.END, b""), (F.PACKED, b"c")]
    reader = _reader(b"".join(F.encode(k, p) for k, p in frames))
    assert [(f.kind, f.payload) for f in reader.ahead(100, 1 << 20)] == frames[:3]
    assert [(f.kind, f.payload) for f in reader.ahead(100, 1 << 20)] == frames[:3]  # nothing more read
    assert reader.frames == 3
    assert [reader.expect(k).payload for k, _ in frames] == [b"a", b"b", b"", b"c"]


def test_delta_base_of_frames() -> None:
    oid = ObjectId(bytes(range(32)))
    zframe = F.compressor().compress(b"hello")
    assert F.delta_base(F.Frame(F.PACKED, F.encode_packed("blob", 5, None, zframe)[F.HEAD_SIZE :])) is None
    assert F.delta_base(F.Frame(F.PACKED, F.encode_packed("blob", 5, 300, zframe)[F.HEAD_SIZE :])) == 300
    assert F.delta_base(F.Frame(F.PACKED, F.encode_packed("blob", 500, oid, zframe)[F.HEAD_SIZE :])) == oid
    assert F.delta_base(F.Frame(F.PACKED, b"\x06\x05abc")) is None  # truncated in its id
    assert F.delta_base(F.Frame(F.END, b"")) is None


# --- the receiver -----------------------------------------------------------------------------------


def _commit(repo: Repository, files: dict[str, bytes]) -> ObjectId:
    parent = repo.refs.get("refs/heads/main")
    with repo.transaction():
        flat = {p: (EntryKind.FILE, repo.store.put("blob", body)) for p, body in files.items()}
        oid = repo.new_commit(repo.write_tree(flat), [parent] if parent else [], "c\n", repo.signature())
        repo.refs.update("refs/heads/main", oid, expected=parent)
    return oid


def test_a_fetch_reads_the_delta_bases_held_here_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = Repository.init(tmp_path / "a", CONF)
    b = Repository.init(tmp_path / "b", CONF)
    rng = random.Random(3)
    files = {f"d{i % 4}/f{i}.txt": _text(200, str(rng.random())) for i in range(120)}
    _commit(a, files)
    _fetch(b, a)
    for step in range(3):
        files = {
            p: body.replace(f"line {7 + step}:".encode(), f"line {7 + step} (new):".encode(), 1)
            for p, body in files.items()
        }
        _commit(a, files)
    b.close()
    b = Repository.discover(tmp_path / "b", CONF)
    assert isinstance(b.store, SqliteStore)
    reads: list[ObjectId] = []  # the objects read one at a time
    one = SqliteStore.get

    def get(store: SqliteStore, oid: ObjectId) -> tuple[str, bytes]:
        if store is b.store:
            reads.append(oid)
        return one(store, oid)

    monkeypatch.setattr(SqliteStore, "get", get)
    result = _fetch(b, a)
    assert result.stats.objects_received == 3 * (120 + 4 + 1 + 1)
    assert set(a.store.iter_ids()) == set(b.store.iter_ids())
    # 120 blobs and 5 trees are deltas on bases held here: read together, not one at a time.
    assert len(reads) < 40, len(reads)  # 146 when each base was read alone
    a.close()
    b.close()


def test_a_damaged_delta_base_held_here_fails_the_fetch_naming_it(tmp_path: Path) -> None:
    """A base below the one a received delta is on, damaged here: the fetch stops with an error naming it."""
    a = Repository.init(tmp_path / "a", CONF)
    b = Repository.init(tmp_path / "b", CONF)
    files = {f"f{i}.txt": _text(200, f"file {i}") for i in range(3)}
    versions = []
    for step in range(3):
        files = {p: body.replace(f"line {7 + step}:".encode(), b"(new)", 1) for p, body in files.items()}
        versions.append({p: a.store.put("blob", body) for p, body in files.items()})
        _commit(a, files)
        if step < 2:
            _fetch(b, a)
    assert isinstance(b.store, SqliteStore)
    first, second = versions[0]["f1.txt"], versions[1]["f1.txt"]
    assert b.store._row(second).base == first  # type: ignore[union-attr]
    with b.db.write() as conn:  # the oldest version of f1.txt decodes to other bytes
        conn.execute("UPDATE objects SET data = ? WHERE id = ?", (b.store._row(versions[0]["f2.txt"]).data, first))  # type: ignore[union-attr]
    b.close()
    b = Repository.discover(tmp_path / "b", CONF)
    with pytest.raises(VcrdtError, match=first.hex()):
        _fetch(b, a)
    assert b.refs.get("refs/heads/main") != a.refs.get("refs/heads/main")
    a.close()
    b.close()
