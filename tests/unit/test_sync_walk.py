"""The sender's DAG walk (vcrdt/sync/walk.py): what it sends, and how much of the store it reads to know."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from vcrdt.errors import CorruptObjectError
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.porcelain.copies import renew_replica
from vcrdt.repo import Repository, Settings
from vcrdt.store.sqlite import SqliteStore
from vcrdt.sync import walk
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
        assert isinstance(repo.store, SqliteStore)
        store = AheadCounting(repo.store)
        with repo.db.read():
            commits, edges = new_commits(Walker(store, SyncLimits()), [*chain, new], chain)
        assert commits == [new]
        assert edges == {chain[42]}
        # The peer's commits are painted from the commit table: only the new one's window is decoded.
        assert store.decoded <= 17
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


def test_haves_name_where_the_heads_replica_began_its_run_of_commits(tmp_path: Path) -> None:
    # 150 commits made by one replica, then 100 by another on top (a copy that took its own id):
    # the doubling samples skip from 64 to 128 commits down, past the fork at 100; the first
    # commit of the other replica is sampled too, so a peer holding only the first 150 stops its
    # walk there. A history made by one replica only samples as before.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        repo.db.conn.execute("PRAGMA synchronous=OFF")
        chain: list[ObjectId] = []
        for i in range(150):
            chain.append(_commit(repo, {"f.txt": f"{i}\n".encode()}, chain[-1:]))
        fork = chain[-1]
        before = sample_haves(repo.store, [fork])
        renew_replica(repo)
        for i in range(100):
            chain.append(_commit(repo, {"f.txt": f"mine {i}\n".encode()}, chain[-1:]))
        newest_first = chain[::-1]
        got = sample_haves(repo.store, [chain[-1]])
        assert fork in got and newest_first.index(fork) == 100
        assert [h for h in got if h != fork] == [newest_first[d] for d in (0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128)]
        assert before == [chain[149 - d] for d in (0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128)]
    finally:
        repo.close()


def test_haves_of_a_history_one_replica_made_read_no_further_than_before(tmp_path: Path) -> None:
    # The head's clock names one replica: no commit of another to look for, so the walk stops at
    # `WALKED` commits (one window of stored rows here) instead of following the run to `RUN_WALK`.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        repo.db.conn.execute("PRAGMA synchronous=OFF")
        chain: list[ObjectId] = []
        for i in range(400):
            chain.append(_commit(repo, {"f.txt": f"{i}\n".encode()}, chain[-1:]))
        assert isinstance(repo.store, SqliteStore)
        store = AheadCounting(repo.store)
        newest_first = chain[::-1]
        assert sample_haves(store, [chain[-1]]) == [
            newest_first[d] for d in (0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128, 256)
        ]
        assert store.decoded < 250  # following the run to 256 commits reads two windows (about 340)
    finally:
        repo.close()


def test_a_deep_sample_does_not_read_a_large_first_commit_to_its_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 3,000 files in the first commit, then 300 commits of one file each: the sample that falls
    # among the first commit's rows finds no commit there. It is looked for within a span of
    # rows, not by reading back to the first row; the samples found are the same.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        repo.db.conn.execute("PRAGMA synchronous=OFF")
        chain = [_commit(repo, {f"d{i % 30}/f{i}.txt": f"{i}\n".encode() * 50 for i in range(3000)}, [])]
        for i in range(300):
            chain.append(_commit(repo, {"g.txt": f"{i}\n".encode()}, chain[-1:]))
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        repo.db.conn.set_progress_handler(count, 100)
        by_table = sample_haves(repo.store, [chain[-1]])  # the commit table's order: no object row read
        table_steps, steps[0] = steps[0], 0
        # Without a commit table (another replica's database), by the objects' order.
        repo.db.read_only = True
        try:
            bounded = sample_haves(repo.store, [chain[-1]])
            bounded_steps, steps[0] = steps[0], 0
            monkeypatch.setattr(walk, "_SAMPLE_SPAN", 1 << 30)
            unbounded = sample_haves(repo.store, [chain[-1]])
        finally:
            repo.db.read_only = False
        assert bounded == unbounded
        assert bounded_steps * 2 < steps[0]  # both walk the first 64 commits from their objects
        assert set(by_table) <= set(chain) and by_table[:9] == bounded[:9]
        assert table_steps <= bounded_steps
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


def test_haves_of_many_heads_on_one_line_name_every_head_and_decode_no_commit(tmp_path: Path) -> None:
    # A branch at every commit of a chain (thousands of branches on a few lines of history): each
    # head is a have, each line is walked once, and the walk reads the commit table, not the commits.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        repo.db.conn.execute("PRAGMA synchronous=OFF")
        chain: list[ObjectId] = []
        for i in range(300):
            chain.append(_commit(repo, {"f.txt": f"{i}\n".encode()}, chain[-1:]))
        assert isinstance(repo.store, SqliteStore)
        store = AheadCounting(repo.store)
        got = sample_haves(store, chain)
        assert set(chain) <= set(got) and len(set(got)) == len(got)
        assert store.decoded == 0
        # Without a commit table (another replica's database is read only): the same heads, from the objects.
        repo.db.read_only = True
        try:
            fallback = AheadCounting(repo.store)
            assert set(chain) <= set(sample_haves(fallback, chain))
            assert fallback.decoded > 0
        finally:
            repo.db.read_only = False
    finally:
        repo.close()


def _random_history(repo: Repository, seed: int) -> list[ObjectId]:
    """Commits over a few nested directories: edits, adds, deletes, a file turned into a directory, merges."""
    rng = random.Random(seed)
    names = [f"d{i}/e{j}/f{k}.txt" for i in range(3) for j in range(3) for k in range(3)] + ["top.txt", "x"]
    flat = {p: f"{p} 0\n".encode() for p in rng.sample(names, 12)}
    commits = [_commit(repo, flat, [])]
    heads = {0: dict(flat)}
    for n in range(1, 24):
        at = rng.choice(list(heads))
        flat = dict(heads[at])
        for _ in range(rng.randint(1, 4)):
            p = rng.choice(names)
            if p in flat and rng.random() < 0.3:
                del flat[p]
            else:
                flat[p] = f"{p} {n} {rng.random()}\n".encode()
        if rng.random() < 0.1:  # a file where a directory was (and the other way round)
            flat = {p: b for p, b in flat.items() if not p.startswith("d0/")}
            flat["d0"] = b"now a file\n"
        elif "d0" in flat and rng.random() < 0.5:
            del flat["d0"]
        parents = [commits[at]]
        if len(heads) > 1 and rng.random() < 0.3:
            other = rng.choice([h for h in heads if h != at])
            parents.append(commits[other])
            flat.update({p: b for p, b in heads[other].items() if p not in flat})
        if "d0" in flat:
            flat = {p: b for p, b in flat.items() if not p.startswith("d0/")}
        commits.append(_commit(repo, flat, parents, f"c{n}\n"))
        heads[n] = dict(flat)
        if rng.random() < 0.6:
            heads.pop(at, None)
    return commits


def _sent(repo: Repository, heads: list[ObjectId], exclude: list[ObjectId], decoded: bool) -> tuple[object, ...]:
    walker = Walker(repo.store, SyncLimits())
    if decoded:  # every tree compared decoded, by name (the walk's way for trees that are not well formed)
        walker.raw_tree = lambda oid: None  # type: ignore[method-assign]
    bases: dict[ObjectId, ObjectId] = {}
    with repo.db.read():
        items = list(objects_to_send(walker, heads, exclude, bases=bases))
    return items, bases


@pytest.mark.parametrize("seed", range(8))
def test_comparing_raw_tree_entries_sends_what_comparing_decoded_trees_sends(tmp_path: Path, seed: int) -> None:
    # The walk compares trees by their raw entries and looks only the changed ones up by name;
    # the decoded comparison looks at every entry. Both send the same objects, in the same
    # order, with the same delta bases, whatever the peer holds.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        commits = _random_history(repo, seed)
        rng = random.Random(seed)
        for _ in range(4):
            heads = rng.sample(commits, rng.randint(1, 3))
            exclude = rng.sample(commits, rng.randint(0, 3))
            assert _sent(repo, heads, exclude, decoded=False) == _sent(repo, heads, exclude, decoded=True)
    finally:
        repo.close()


def test_an_entry_changed_to_name_an_object_of_another_kind_is_refused_by_name(tmp_path: Path) -> None:
    # The changed entry is found by comparing raw entries with the parent's; its kind is still
    # checked against the object it names, and the refusal names the tree and the entry.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        old = _commit(repo, {"d/f.txt": b"f\n", "d/g.txt": b"g\n"}, [])
        with repo.transaction():
            sub = repo.write_tree({"inner.txt": (EntryKind.FILE, repo.store.put("blob", b"i\n"))})
            g = repo.store.put("blob", b"g\n")
            d = repo.store.put("tree", b"file f.txt\0" + sub + b"file g.txt\0" + g)
            top = repo.store.put("tree", b"tree d\0" + d)
            new = repo.new_commit(top, [old], "bad\n", repo.signature())
        with repo.db.read(), pytest.raises(CorruptObjectError) as err:
            list(objects_to_send(Walker(repo.store, SyncLimits()), [new], [old]))
        assert f"{d.hex()}" in str(err.value)
        assert "entry 'f.txt' of kind file names a tree, not a blob" in str(err.value)
    finally:
        repo.close()


@pytest.mark.parametrize("decoded", [False, True])
@pytest.mark.parametrize("gap", [1, 3])
def test_a_directory_back_to_the_peers_version_is_not_sent_again(tmp_path: Path, gap: int, decoded: bool) -> None:
    # The peer holds `old`; the new commits add a file to d1, edit d2 `gap - 1` times, then drop
    # the file again: d1 is back to the tree the peer holds at d1 (its commit is the walk's
    # edge), though not the tree the last commit's parent holds there. The peer has it: it is
    # not sent (nor is the file of the peer's tree at d2 brought back by the last commit).
    # Compared by raw entries, and decoded (the walk's way for trees that are not well formed).
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        flat = {"d1/f.txt": b"f\n", "d2/g.txt": b"g 0\n", "top.txt": b"top\n"}
        old = _commit(repo, flat, [])
        held = set(repo.store.iter_ids())
        chain = [_commit(repo, {**flat, "d1/new.txt": b"new\n"}, [old])]
        for n in range(1, gap):
            chain.append(_commit(repo, {**flat, "d1/new.txt": b"new\n", "d2/g.txt": f"g {n}\n".encode()}, chain[-1:]))
        chain.append(_commit(repo, {**flat, "d2/h.txt": b"h\n"}, chain[-1:]))
        walker = Walker(repo.store, SyncLimits())
        if decoded:
            walker.raw_tree = lambda oid: None  # type: ignore[method-assign]
        with repo.db.read():
            sent = [oid for oid, _, _ in objects_to_send(walker, [chain[-1]], [old])]
        assert len(sent) == len(set(sent))
        assert [oid.hex() for oid in sent if oid in held] == []
        assert set(sent) == set(repo.store.iter_ids()) - held
    finally:
        repo.close()


@pytest.mark.parametrize("decoded", [False, True])
def test_what_an_edge_holds_at_a_name_is_found_among_many_entries_and_nothing_elsewhere(
    tmp_path: Path, decoded: bool
) -> None:
    # `held_at` looks a name up in a tree's raw entries by bisection and keeps the answer (or, for
    # a tree they do not tile, reads its decoded entries): every entry is found, a name before,
    # between or after them is not, asked once or again.
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        flat = {f"f{i:03}.txt": f"{i}\n".encode() for i in range(0, 60, 2)} | {"sub/x.txt": b"x\n"}
        with repo.transaction():
            tree = repo.write_tree({p: (EntryKind.FILE, repo.store.put("blob", body)) for p, body in flat.items()})
        walker = Walker(repo.store, SyncLimits())
        if decoded:
            walker.raw_tree = lambda oid: None  # type: ignore[method-assign]
        with repo.db.read():
            entries = dict(walker.tree_named(tree))
            for _ in range(2):  # asked again: the answers kept
                for name, ref in entries.items():
                    word = b"tree" if ref.kind == "tree" else b"file"
                    assert walker.held_at(tree, name.encode()) == (word, ref.oid)
                for name in ("a", "f001.txt", "f031.txt", "f059.txt", "sub/x.txt", "zzz"):
                    assert walker.held_at(tree, name.encode()) is None
        assert len(entries) == 31
    finally:
        repo.close()
