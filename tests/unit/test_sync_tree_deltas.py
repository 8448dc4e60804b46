"""Tree deltas (protocol version 4): the wire form's test vector, what travels, and version-3 peers."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from vcrdt.errors import ProtocolError
from vcrdt.ids import ObjectId
from vcrdt.repo import Repository, Settings
from vcrdt.sync import frames as F
from vcrdt.sync import receive

PEER = Path(__file__).parents[1] / "helpers" / "sync_peer.py"
CONF = Settings(author_name="t", author_email="t@x")

# The test vector of docs/protocol.md ("Tree deltas"): README's id changes, run.sh goes, lib comes.
OLD = [b"file README\0" + b"\x01" * 32, b"file a.txt\0" + b"\x02" * 32, b"exec run.sh\0" + b"\x03" * 32]
NEW = [b"file README\0" + b"\x11" * 32, b"file a.txt\0" + b"\x02" * 32, b"tree lib\0" + b"\x22" * 32]
VECTOR = bytes.fromhex("000000505501018001010001" + "11" * 32 + "0102010204036c6962" + "22" * 32)


def test_the_documented_vector() -> None:
    frame = F.encode_tree_delta(1, sum(map(len, NEW)), *F.diff_trees(OLD, NEW))
    assert frame == VECTOR
    d = F.decode_tree_delta(VECTOR[F.HEAD_SIZE :], "peer")
    assert d.base == 1 and d.size == 128 and d.removed == (2,)
    assert F.apply_tree_delta(OLD, d, "peer", "it")[0] == NEW


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        (b"", "names its base in an unknown way"),
        (b"\x00\x01", "names its base in an unknown way"),
        (b"\x01\x00\x05\x00\x00\x00", "base 0 objects back"),
        (b"\x02" + bytes(5), "truncated in its base id"),
        (b"\x01\x01\x80\x80\x80\x01\x00\x00\x00", "declares a tree of 2097152 bytes"),
        (b"\x01\x01\x05\x00\x02\x03\x03\x00", "removed positions out of order or twice"),
        (b"\x01\x01\x05\x01\x00\x09" + bytes(32) + b"\x00\x00", "unknown entry kind (9)"),
        (b"\x01\x01\x05\x00\x00\x01\x00\x01\x00" + bytes(34), "empty name"),
        (b"\x01\x01\x05\x00\x00\x01\x00\x01\x03a/b" + bytes(32), "a NUL or '/'"),
        (b"\x01\x01\x05\x00\x00\x00\xff", "stray bytes"),
        (b"\x01\x01\x05\x00\x00\xff\xff\xff\xff\x0f", "announces 4294967295 inserted entries"),
    ],
)
def test_malformed_tree_deltas_are_refused(payload: bytes, rule: str) -> None:
    with pytest.raises(ProtocolError, match=rule.replace("(", r"\(").replace(")", r"\)")):
        F.decode_tree_delta(payload, "peer")


def test_a_delta_that_replaces_and_removes_one_entry_is_refused() -> None:
    d = F.TreeDelta(1, 0, ((0, b"file", b"\x05" * 32),), (0,), ())
    with pytest.raises(ProtocolError, match="replaces and removes the same entry"):
        F.apply_tree_delta(OLD, d, "peer", "it")


def _history(root: Path, cli: CliRunner, n: int, tag: str) -> None:
    for k in range(n):
        for d in ("src", "src/deep", "docs"):
            (root / d).mkdir(parents=True, exist_ok=True)
            (root / d / f"{tag}{k % 3}.txt").write_text(f"{tag} {d} {k}\n")
        if k % 2:
            (root / "docs" / f"{tag}-new{k}.md").write_text("new\n")
        cli.ok("commit", "-A", "-m", f"{tag} {k}", cwd=root)


def _ids(root: Path) -> set[bytes]:
    with Repository(root, CONF, read_only=True) as r:
        return set(r.store.iter_ids())


def test_a_fetch_sends_trees_as_deltas_and_ends_with_the_same_objects(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    cli.ok("init", str(src))
    _history(src, cli, 12, "s")
    counted = {"deltas": 0}
    take = receive.Receiver._take_tree_delta

    def counting(self: receive.Receiver, frame: F.Frame) -> object:
        counted["deltas"] += 1
        return take(self, frame)

    monkeypatch.setattr(receive.Receiver, "_take_tree_delta", counting)
    cli.ok("clone", str(src), str(tmp_path / "v4"))
    assert counted["deltas"] > 12
    assert _ids(tmp_path / "v4") == _ids(src)
    cli.ok("fsck", cwd=tmp_path / "v4")
    # A version-3 pair sends none, and ends with the same objects.
    counted["deltas"] = 0
    monkeypatch.setattr(F, "SUPPORTED", (1, 2, 3))
    cli.ok("clone", str(src), str(tmp_path / "v3"))
    assert counted["deltas"] == 0
    assert _ids(tmp_path / "v3") == _ids(src)


@pytest.mark.parametrize(
    ("server", "client_speaks"), [("v3", (1, 2, 3, 4)), ("honest", (1, 2, 3)), ("honest", (1, 2, 3, 4))]
)
def test_version_3_and_4_peers_sync_both_ways(
    server: str, client_speaks: tuple[int, ...], repo: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetch and a push between a version-3 and a version-4 peer, either side older: same objects, fsck clean."""
    src = repo.cwd.parent / "src"
    repo.ok("init", str(src))
    _history(src, repo, 6, "s")
    peer = shlex.join([sys.executable, str(PEER), server, str(src)])
    monkeypatch.setattr(F, "SUPPORTED", client_speaks)
    repo.ok("pull", "--exec", peer)
    _history(repo.cwd, repo, 6, "m")
    repo.ok("sync", "--exec", peer)
    assert _ids(repo.cwd) == _ids(src)
    _history(src, repo, 3, "t")
    repo.ok("pull", "--exec", peer)
    assert _ids(repo.cwd) == _ids(src)
    repo.ok("fsck")
    repo.ok("fsck", cwd=src)


@pytest.mark.parametrize("held", [0, 7])
def test_reading_trees_ahead_changes_nothing_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: int) -> None:
    """The walk sends the same objects in the same order with the same bases whether it reads trees ahead or not."""
    import random

    from tests.unit.test_sync_deltas import _commit, _text
    from vcrdt.sync import walk
    from vcrdt.sync.limits import SyncLimits

    a = Repository.init(tmp_path / "a", CONF)
    rng = random.Random(11)
    files = {f"d{i}/e{k}/f{j}.txt": _text(rng, 2) for i in range(3) for k in range(3) for j in range(4)}
    commits = []
    for n in range(40):
        for _ in range(3):
            path = rng.choice(sorted(files))
            files[path] += b"x"
        if n % 6 == 0:
            files[f"d{n % 3}/n{n}/g.txt"] = b"new"
        if n % 9 == 0:
            del files[rng.choice(sorted(files))]
        commits.append(_commit(a, files))

    def sent() -> tuple[list[tuple[ObjectId, str, int]], dict[ObjectId, ObjectId]]:
        w = walk.Walker(a.store, SyncLimits())
        bases: dict[ObjectId, ObjectId] = {}
        items = list(walk.objects_to_send(w, [commits[-1]], [commits[held]] if held else [], bases=bases))
        return items, dict(bases)

    ahead = sent()
    monkeypatch.setattr(walk.Walker, "read_ahead", lambda self, pairs, most=0: None)
    assert sent() == ahead
    a.close()
