"""The receiving side's bulk work: the checkout after a receive reads what was just verified, not the rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from vcrdt import hashing
from vcrdt.errors import ObjectNotFoundError
from vcrdt.hashing import object_id
from vcrdt.repo import Repository, Settings
from vcrdt.store import sqlite
from vcrdt.store.sqlite import SqliteStore
from vcrdt.sync.limits import SyncLimits
from vcrdt.worktree import Worktree

CONF = Settings(author_name="t", author_email="t@x")


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    r = Repository.init(tmp_path / "r", CONF)
    yield r
    r.close()


def _store(repo: Repository) -> SqliteStore:
    assert isinstance(repo.store, SqliteStore)
    return repo.store


def _text(n: int, k: int) -> str:
    return "".join(f"file {n} line {i} of version {k if i % 7 == 0 else 0}\n" for i in range(300))


def _history(root: Path, cli: CliRunner, files: int, versions: int) -> None:
    (root / "d").mkdir(parents=True, exist_ok=True)
    for k in range(versions):
        for n in range(files):
            (root / "d" / f"f{n}.txt").write_text(_text(n, k))
        cli.ok("commit", "-A", "-m", f"version {k}", cwd=root)


def test_a_clone_checks_out_what_it_received_without_decoding_or_hashing_it_again(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    cli.ok("init", str(src))
    _history(src, cli, files=12, versions=6)  # each file's last version arrives as a delta on the one before
    hashed: list[str] = []
    decoded: list[bytes] = []
    real_id, real_plain, real_decode = hashing.object_id, SqliteStore._plain, SqliteStore._decode
    checkout = Worktree.finish_checkout

    def counting_checkout(self: Worktree, *args: object, **kwargs: object) -> int:
        def count_id(kind: str, body: bytes) -> bytes:
            hashed.append(kind)
            return real_id(kind, body)

        def count_plain(store: SqliteStore, oid: bytes, *a: object) -> tuple[str, bytes] | None:
            decoded.append(oid)
            return real_plain(store, oid, *a)  # type: ignore[arg-type]

        def count_decode(store: SqliteStore, oid: bytes) -> tuple[str, bytes]:
            decoded.append(oid)
            return real_decode(store, oid)  # type: ignore[arg-type]

        with monkeypatch.context() as m:
            m.setattr(sqlite, "object_id", count_id)
            m.setattr(hashing, "object_id", count_id)
            m.setattr(SqliteStore, "_plain", count_plain)
            m.setattr(SqliteStore, "_decode", count_decode)
            return checkout(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Worktree, "finish_checkout", counting_checkout)
    cli.ok("clone", str(src), str(tmp_path / "dst"), cwd=tmp_path)
    for n in range(12):
        assert (tmp_path / "dst" / "d" / f"f{n}.txt").read_text() == _text(n, 5)
    assert decoded == []
    assert hashed == []
    cli.ok("fsck", cwd=tmp_path / "dst")


def test_held_bodies_are_returned_only_while_their_rows_exist(repo: Repository) -> None:
    store = _store(repo)
    kept, gone = b"kept body\n" * 50, b"rolled back\n" * 50
    k, g = object_id("blob", kept), object_id("blob", gone)
    store.put("blob", kept)
    store.hold_verified([(k, "blob", kept), (g, "blob", gone)])  # `g` was never stored (a rolled-back write)
    assert store.get_many([k, g]) == {k: ("blob", kept)}
    assert store.get(k) == ("blob", kept)
    with pytest.raises(ObjectNotFoundError):
        store.get(g)
    store.release_held()
    assert store.get_many([k]) == {k: ("blob", kept)}  # read from its row again


def test_a_fetch_prepares_to_receive_while_its_first_request_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`receive.prepare` runs after the first request is sent, before its answer is read, when the peer
    answers in a process of its own; a push alone skips it, and so does a peer in this process."""
    from tests.unit.test_sync_deltas import _fetch
    from vcrdt.sync import frames, session
    from vcrdt.sync.transport import LocalTransport

    a = Repository.init(tmp_path / "a", CONF)
    b = Repository.init(tmp_path / "b", CONF)
    with a.transaction():
        tree = a.store.put("tree", b"")
        head = a.new_commit(tree, [], "c\n", a.signature())
        a.refs.update("refs/heads/main", head, expected=None)
    events: list[str] = []
    request, expect = LocalTransport.request, frames.FrameReader.expect
    monkeypatch.setattr(session, "prepare", lambda: events.append("prepare"))
    monkeypatch.setattr(LocalTransport, "request", lambda t, *a, **k: events.append("sent") or request(t, *a, **k))
    monkeypatch.setattr(frames.FrameReader, "expect", lambda self, *k: events.append("read") or expect(self, *k))
    _fetch(b, a)  # a path's responder runs in this process, as its answer is read
    assert events[:2] == ["sent", "read"] and "prepare" not in events
    with a.transaction():
        second = a.new_commit(tree, [head], "d\n", a.signature())
        a.refs.update("refs/heads/main", second, expected=head)
    events.clear()
    monkeypatch.setattr(LocalTransport, "answers_apart", True)  # as a child process or an HTTP server
    _fetch(b, a)
    assert events[:3] == ["sent", "prepare", "read"]
    assert events.count("prepare") == 1
    events.clear()
    t = LocalTransport(a.root, CONF, SyncLimits(), own_root=b.root)
    try:
        session.run(b, t, receive=False, send=True)
    finally:
        t.close()
    assert "sent" in events and "prepare" not in events
    a.close()
    b.close()
