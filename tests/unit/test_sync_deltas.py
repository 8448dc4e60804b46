"""Packed objects and deltas (protocol version 2): round trips, the bytes they save, and old peers."""

from __future__ import annotations

import random
import shlex
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers.cli import CliRunner
from vcrdt.dag import read_commit
from vcrdt.errors import ProtocolError
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind, Tree, decode_object
from vcrdt.repo import Repository, Settings
from vcrdt.sync import frames as F
from vcrdt.sync import session
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.transport import LocalTransport

PEER = Path(__file__).parents[1] / "helpers" / "sync_peer.py"
CONF = Settings(author_name="t", author_email="t@x")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.binary(max_size=3000), st.data())
def test_delta_round_trips(base: bytes, target: bytes, data: st.DataObject) -> None:
    # Targets that share much with their base, and unrelated ones.
    if data.draw(st.booleans()) and base:
        at = data.draw(st.integers(0, len(base)))
        target = base[:at] + target[:40] + base[at:]
    d = F.delta(base, target)
    assert F.undelta(base, d, len(target)) == target
    frame = F.encode_packed("blob", len(target), 3, d)
    p = F.decode_packed(frame[F.HEAD_SIZE :], "peer")
    assert (p.kind, p.size, p.base) == ("blob", len(target), 3)
    assert F.undelta(base, p.data, p.size) == target


def test_a_delta_on_another_base_or_declaring_another_size_is_refused() -> None:
    base = bytes(random.Random(1).randbytes(4000))
    target = base[:2000] + b"an edit" + base[2000:]
    d = F.delta(base, target)
    with pytest.raises(ProtocolError, match="declares 4007 bytes, not the 10"):
        F.undelta(base, d, 10)
    with pytest.raises(ProtocolError, match=r"does not decompress|decompresses to"):
        F.undelta(b"", d[: len(d) // 2], len(target))


def test_packed_frames_refuse_more_than_a_piece_and_unknown_kinds() -> None:
    big = F.encode_packed("blob", F.PIECE + 1, None, F.compressor().compress(b"x"))
    with pytest.raises(ProtocolError, match="at most 1048576 travel packed"):
        F.decode_packed(big[F.HEAD_SIZE :], "peer")
    with pytest.raises(ProtocolError, match="unknown kind or base"):
        F.decode_packed(bytes([0x0F, 1, 1]), "peer")


def _commit(repo: Repository, files: dict[str, bytes], branch: str = "main") -> ObjectId:
    """A commit of exactly `files` on `branch` (made through the API; the work tree is not touched)."""
    full = f"refs/heads/{branch}"
    parent = repo.refs.get(full)
    start = parent or repo.refs.get("refs/heads/main")  # a new branch starts at main
    with repo.transaction():
        flat = {p: (EntryKind.FILE, repo.store.put("blob", body)) for p, body in files.items()}
        tree = repo.write_tree(flat)
        oid = repo.new_commit(tree, [start] if start else [], "c\n", repo.signature())
        repo.refs.update(full, oid, expected=parent)
    return oid


def _text(rng: random.Random, n: int) -> bytes:
    words = [b"alpha", b"beta", b"gamma", b"delta", b"eps", b"zeta", b"eta", b"theta"]
    return b"\n".join(b" ".join(rng.choice(words) for _ in range(8)) + str(rng.random()).encode() for _ in range(n))


def _fetch(dst: Repository, src: Repository) -> session.SyncResult:
    t = LocalTransport(src.root, CONF, SyncLimits(), own_root=dst.root)
    try:
        return session.run(dst, t, receive=True, send=False)
    finally:
        t.close()


def test_a_one_line_edit_of_a_large_file_travels_as_a_small_delta(tmp_path: Path) -> None:
    a = Repository.init(tmp_path / "a", CONF)
    b = Repository.init(tmp_path / "b", CONF)
    rng = random.Random(7)
    files = {f"d{i}/f{j}.txt": _text(rng, 400) for i in range(3) for j in range(20)}
    _commit(a, files)
    first = _fetch(b, a)
    files["d1/f3.txt"] = files["d1/f3.txt"].replace(b"alpha", b"ALPHA", 1)
    _commit(a, files)
    second = _fetch(b, a)
    # A blob, its tree, the root tree and the commit: each a delta on the version b holds.
    assert second.stats.objects_received == 4
    assert second.stats.payload_received < 600, second.stats.as_dict()
    assert first.stats.payload_received > 100 * second.stats.payload_received
    assert set(a.store.iter_ids()) == set(b.store.iter_ids())
    a.close()
    b.close()


def _history(rng: random.Random, repo: Repository, files: dict[str, bytes], commits: int, branch: str) -> None:
    for _ in range(commits):
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(sorted(files))
            body = files[path]
            at = rng.randint(0, len(body))
            files[path] = body[:at] + _text(rng, 1) + body[at + rng.randint(0, 30) :]
        if rng.random() < 0.2:
            files[f"d{rng.randint(0, 3)}/new{rng.randint(0, 999)}.txt"] = _text(rng, rng.randint(1, 50))
        if rng.random() < 0.1 and len(files) > 2:
            del files[rng.choice(sorted(files))]
        _commit(repo, files, branch)


def _closure(repo: Repository, tree: ObjectId) -> set[ObjectId]:
    """A tree and every tree and blob under it."""
    out: set[ObjectId] = set()
    todo = [tree]
    while todo:
        t = todo.pop()
        if t in out:
            continue
        out.add(t)
        node = decode_object("tree", repo.store.get(t)[1])
        assert isinstance(node, Tree)
        for e in node.entries:
            if e.kind is EntryKind.TREE:
                todo.append(e.oid)
            else:
                out.add(e.oid)
    return out


def _may_travel_though_held(
    repo: Repository, shared: set[ObjectId], base: ObjectId, other: set[ObjectId]
) -> set[ObjectId]:
    """What `repo`'s commits since `base` may send to a side that holds `other`, though it holds them.

    A side knows what the other holds by its commits: the closure of those they share, and
    (what the walk compares with) the tree of the last one, `base`. So objects both sides
    made on their own since they diverged can travel (each side's commits are unknown to the
    other), and so can versions older than `base` that a new commit brings back. Nothing else
    the other side holds: not what `base`'s tree holds at a path (an edit undone there, a file
    added and removed again: these histories never move an object to another path), nothing
    of the common history in a commit that did not bring it back.
    """
    at_base = _closure(repo, read_commit(repo.store, base).tree)
    brought_back: set[ObjectId] = set()
    for oid in set(repo.store.iter_ids()) - shared:
        if repo.store.info(oid)[0] == "commit":
            brought_back |= _closure(repo, read_commit(repo.store, oid).tree) & shared
    own = set(repo.store.iter_ids()) - shared
    return (own & other) | (brought_back - at_base)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.integers(1, 6), st.integers(0, 6), st.integers(0, 6))
# A directory of the last common commit comes back (a file added, then removed) on this side (so
# fetched), and on the peer's (so pushed): the peer holds it with that commit, so it does not travel.
@example(seed=99307, shared=4, ahead=5, theirs=0)
@example(seed=99307, shared=1, ahead=3, theirs=5)
# Both sides remove the same file of d2 and nothing else there: each made the same tree on its own,
# and neither can know the other holds it (it is in no commit they share): it travels both ways.
@example(seed=10602, shared=1, ahead=5, theirs=4)
def test_a_sync_with_deltas_ends_with_identical_object_sets(seed: int, shared: int, ahead: int, theirs: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        a = Repository.init(Path(tmp) / "a", CONF)
        b = Repository.init(Path(tmp) / "b", CONF)
        try:
            files = {f"d{i}/f{j}.txt": _text(rng, rng.randint(1, 60)) for i in range(3) for j in range(6)}
            _history(rng, a, files, shared, "main")
            _fetch(b, a)
            common, base = set(b.store.iter_ids()), b.refs.get("refs/heads/main")
            assert base is not None
            side = dict(files)
            _history(rng, a, files, ahead, "main")
            _history(rng, b, side, theirs, "side")
            ids_a, ids_b = set(a.store.iter_ids()), set(b.store.iter_ids())
            to_b = _may_travel_though_held(a, common, base, ids_b)
            to_a = _may_travel_though_held(b, common, base, ids_a)
            t = LocalTransport(a.root, CONF, SyncLimits(), own_root=b.root)
            try:
                result = session.run(b, t, receive=True, send=True)
            finally:
                t.close()
            assert set(a.store.iter_ids()) == set(b.store.iter_ids())
            # No object travels twice, or to a side that has it (but those it cannot know it has).
            assert len(ids_a - ids_b) <= result.stats.objects_received <= len(ids_a - ids_b) + len(to_b)
            assert len(ids_b - ids_a) <= result.stats.objects_sent <= len(ids_b - ids_a) + len(to_a)
        finally:
            a.close()
            b.close()


def _peer(mode: str, root: Path) -> str:
    return shlex.join([sys.executable, str(PEER), mode, str(root)])


@pytest.fixture
def source(repo: CliRunner) -> Path:
    root = repo.cwd.parent / "src"
    repo.ok("init", str(root))
    for n in range(3):
        (root / "a.txt").write_text("line\n" * 200 + f"edit {n}\n")
        repo.ok("commit", "-A", "-m", f"c{n}", cwd=root)
    return root


@pytest.mark.parametrize("server", ["v1", "honest"])
@pytest.mark.parametrize("client_speaks", [(1,), (1, 2)])
def test_peers_of_either_version_sync(
    server: str, client_speaks: tuple[int, ...], source: Path, repo: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version-1 peer (no packed objects) still syncs both ways with a version-2 one."""
    monkeypatch.setattr(F, "SUPPORTED", client_speaks)
    repo.write("mine.txt", "mine\n")
    repo.ok("commit", "-A", "-m", "mine")
    repo.ok("sync", "--exec", _peer(server, source))
    repo.ok("fsck")
    repo.ok("fsck", cwd=source)
    src = Repository.discover(source, CONF)
    here = Repository.discover(repo.cwd, CONF)
    try:
        assert set(src.store.iter_ids()) == set(here.store.iter_ids())
    finally:
        src.close()
        here.close()
