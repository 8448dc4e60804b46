"""The sender's DAG walk (vcrdt/sync/walk.py): what it sends, and how much of the store it reads to know."""

from __future__ import annotations

from pathlib import Path

from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.repo import Repository, Settings
from vcrdt.store.sqlite import SqliteStore
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.walk import Walker, new_commits, objects_to_send, sample_haves

CONF = Settings(author_name="t", author_email="t@x")


class CountingStore(SqliteStore):
    """A store that counts the objects read whole (`get`) by kind."""

    def __init__(self, store: SqliteStore) -> None:
        super().__init__(store.db)
        self.reads: dict[str, int] = {}

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        kind, body = super().get(oid)
        self.reads[kind] = self.reads.get(kind, 0) + 1
        return kind, body


def _commit(repo: Repository, flat: dict[str, bytes], parents: list[ObjectId], message: str = "c\n") -> ObjectId:
    with repo.transaction():
        tree = repo.write_tree({p: (EntryKind.FILE, repo.store.put("blob", body)) for p, body in flat.items()})
        return repo.new_commit(tree, parents, message, repo.signature())


def test_a_fast_forward_reads_only_the_changed_paths_of_the_peers_tree(tmp_path: Path) -> None:
    # 30 directories of 5 files; the new commit edits one file. What the peer holds of the tree is
    # known from the parent's tree path by path: the walk reads the two versions of the root and of
    # the one directory, not the 31 trees of the peer's commit.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        flat = {f"d{i:02d}/f{j}.txt": f"file {i} {j}\n".encode() for i in range(30) for j in range(5)}
        old = _commit(repo, flat, [])
        flat["d07/f3.txt"] = b"edited\n"
        new = _commit(repo, flat, [old])
        assert isinstance(repo.store, SqliteStore)
        store = CountingStore(repo.store)
        bases: dict[ObjectId, ObjectId] = {}
        with repo.db.read():
            sent = list(objects_to_send(Walker(store, SyncLimits()), [new], [old], bases=bases))
        assert [kind for _, kind, _ in sent] == ["blob", "tree", "tree", "commit"]
        assert sent[-1][0] == new
        assert store.reads.get("tree", 0) <= 4
        # Each object sent has the same path's object in the parent as its delta base.
        assert set(bases) == {oid for oid, _, _ in sent}
    finally:
        repo.close()


def test_many_heads_one_new_commit_meets_only_its_parent(tmp_path: Path) -> None:
    # Hundreds of heads the peer holds (branches at every commit of a chain) and one new commit
    # on one of them: the new commit alone, and its parent as the only edge.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        chain: list[ObjectId] = []
        for i in range(100):
            chain.append(_commit(repo, {"f.txt": f"{i}\n".encode()}, chain[-1:]))
        new = _commit(repo, {"f.txt": b"new\n", "g.txt": b"g\n"}, [chain[42]])
        with repo.db.read():
            commits, edges = new_commits(Walker(repo.store, SyncLimits()), [*chain, new], chain)
        assert commits == [new]
        assert edges == {chain[42]}
    finally:
        repo.close()


def test_haves_sample_the_first_parent_line_densely_then_at_doubling_distances(tmp_path: Path) -> None:
    # Merges on the way: their second parents (side commits) are never sampled up to the walked
    # depth; past it, the samples are commits this side holds, found by stored order.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        repo.db.conn.execute("PRAGMA synchronous=OFF")
        chain: list[ObjectId] = []
        for i in range(100):
            parents = chain[-1:]
            if i % 10 == 5:
                side = _commit(repo, {"side.txt": f"{i}\n".encode()}, chain[-1:])
                parents = [chain[-1], side]
            chain.append(_commit(repo, {"f.txt": f"{i}\n".encode()}, parents))
        newest_first = chain[::-1]
        got = sample_haves(repo.store, [chain[-1]])
        assert got[:12] == [newest_first[d] for d in (0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64)]
        assert all(repo.store.info(h)[0] == "commit" for h in got) and len(set(got)) == len(got)
    finally:
        repo.close()


class AheadCounting(SqliteStore):
    """A store that counts the commits `read_ahead` decodes."""

    def __init__(self, store: SqliteStore) -> None:
        super().__init__(store.db)
        self.decoded = 0

    def read_ahead(self, oid: ObjectId, window: int) -> dict[ObjectId, tuple[str, bytes]]:
        got = super().read_ahead(oid, window)
        self.decoded += len(got)
        return got


def test_haves_past_the_walked_depth_cost_a_query_each_not_a_walk_of_history(tmp_path: Path) -> None:
    # A linear history of 1,000 commits: the samples are the same commits as a walk to the root
    # would give (stored order is history here), but only the first commits are read.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        repo.db.conn.execute("PRAGMA synchronous=OFF")
        chain: list[ObjectId] = []
        for i in range(1000):
            chain.append(_commit(repo, {"f.txt": f"{i}\n".encode()}, chain[-1:]))
        assert isinstance(repo.store, SqliteStore)
        store = AheadCounting(repo.store)
        newest_first = chain[::-1]
        want = [newest_first[d] for d in (0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128, 256, 512)]
        assert sample_haves(store, [chain[-1]]) == want
        assert store.decoded < 400  # a window or two of stored rows, not the 1,000 commits
    finally:
        repo.close()
