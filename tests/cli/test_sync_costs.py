"""What a sync costs, from `--stats --json`: round trips and protocol bytes for random loss and many branches."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner, copy_repository
from vcrdt.ids import ObjectId
from vcrdt.repo import Repository, Settings
from vcrdt.store import fingerprints
from vcrdt.sync import frames as F
from vcrdt.sync.walk import ref_state, tag_state


def _lose(root: Path, count: int, seed: int) -> None:
    """Delete `count` random blobs from a replica's database, fingerprints recomputed (a damaged replica)."""
    db = sqlite3.connect(root / ".vcrdt" / "store.db")
    try:
        ids = sorted(r[0] for r in db.execute("SELECT id FROM objects WHERE CAST(kind AS INTEGER) = 1 AND size > 20"))
        db.executemany("DELETE FROM objects WHERE id = ?", [(i,) for i in random.Random(seed).sample(ids, count)])
        fingerprints.rebuild(db)
        db.commit()
    finally:
        db.close()


@pytest.fixture(scope="module")
def lossy_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A replica of 20,000 objects (blobs no commit names, and one commit)."""
    root = tmp_path_factory.mktemp("loss") / "a"
    rng = random.Random(7)
    with Repository.init(root, Settings(author_name="t", author_email="t@x")) as r, r.transaction():
        r.store.put_many([("blob", rng.randbytes(rng.randint(30, 90)), None) for _ in range(20_000)])
    return root


@pytest.mark.parametrize("lost", [1, 10, 60])
def test_random_loss_is_repaired_in_three_round_trips(lost: int, lossy_source: Path, cli: CliRunner) -> None:
    """d objects lost from one side of 20,000: the descent finds them and brings each once, in 3 round
    trips (refs carrying the root's children, then two descend rounds, the second bringing the objects)
    and at most 2.5 KB + 1.7 KB per lost object of protocol."""
    b = cli.cwd / f"b{lost}"
    copy_repository(lossy_source, b)
    _lose(b, lost, seed=lost)
    doc = json.loads(CliRunner(b).ok("sync", str(lossy_source), "--json", "--stats").out)
    stats = doc["stats"]
    assert stats["round_trips"] == 3
    assert stats["objects_received"] == lost and stats["objects_sent"] == 0
    assert stats["overhead_sent"] + stats["overhead_received"] <= 2500 + 1700 * lost
    again = json.loads(CliRunner(b).ok("sync", str(lossy_source), "--json", "--stats").out)
    assert again["noop"] and again["stats"]["round_trips"] == 1


def test_many_branches_one_changed_sends_a_compressed_state(cli: CliRunner) -> None:
    """3,000 branches, one moved by a commit: one round trip, and the ref state costs a fraction of its
    plain encoding (it travels zstd-compressed)."""
    a = CliRunner(cli.cwd / "a")
    cli.ok("init", "a")
    commits = []
    for i in range(12):
        a.write("f.txt", f"{i}\n")
        a.ok("commit", "-A", "-m", f"c{i}")
        commits.append(json.loads(a.ok("log", "--json", "-n", "1").out)[0]["id"])
    with Repository(a.cwd, Settings()) as r, r.transaction():
        for j in range(3000):
            r.refs.update(f"refs/heads/b{j:05d}", ObjectId(bytes.fromhex(commits[j % 12])), expected=None)
    copy_repository(a.cwd, cli.cwd / "b")
    b = CliRunner(cli.cwd / "b")
    a.ok("switch", "b00042")
    a.write("g.txt", "moved\n")
    a.ok("commit", "-A", "-m", "on b00042")
    with Repository(a.cwd, Settings(), read_only=True) as r:
        plain = len(F.encode_state(ref_state(r), tag_state(r)))
    doc = json.loads(b.ok("fetch", str(a.cwd), "--json", "--stats").out)
    stats = doc["stats"]
    assert stats["round_trips"] == 1
    assert plain > 200_000
    assert stats["overhead_received"] + stats["overhead_sent"] < plain // 4
