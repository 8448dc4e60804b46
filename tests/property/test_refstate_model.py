"""Model check of add-wins for branches: a plain OR-set with tombstones against the implementation.

The reference model is the rule as the issue states it, written the plainest
way: each replica holds a set of ``(branch, head, dot)`` entries and a set of
tombstoned dots. Creating, advancing or re-creating a branch adds an entry
with the replica's next dot and tombstones the entries it replaces; deleting
tombstones exactly the branch's entries; a sync unions both and drops every
entry whose dot is tombstoned on either side. A branch shows its live heads,
ancestors of another one dropped.

Random histories over 2 to 4 real replicas (SQLite repositories, HEAD on
``main``) create, advance, delete and re-create branches and fetch between
random pairs through the porcelain; after every step each replica's stored
state (live entries, the tombstones its causal context implies, and the heads
each branch shows) must equal the model's. The same histories run on the pure
`RefState` as well.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers.builders import make_commit
from vcrdt import porcelain
from vcrdt.crdt.refstate import Ancestry, RefState, maximal
from vcrdt.dag import is_ancestor, read_commit
from vcrdt.ids import ObjectId
from vcrdt.refs import BRANCH_PREFIX
from vcrdt.repo import Repository, Settings
from vcrdt.store.memory import MemoryStore

SETTINGS = Settings(author_name="Rep", author_email="rep@example.com")
NAMES = ("f", "g")

Dot = tuple[str, int]
ModelEntry = tuple[str, ObjectId, Dot]


@dataclass
class Model:
    """One replica in the reference model: live entries and tombstoned dots."""

    me: str
    entries: set[ModelEntry] = field(default_factory=set)
    tombs: set[Dot] = field(default_factory=set)

    def _next_dot(self) -> Dot:
        mine = [d[1] for d in self.tombs | {e[2] for e in self.entries} if d[0] == self.me]
        return (self.me, max(mine, default=0) + 1)

    def put(self, name: str, head: ObjectId, keep: frozenset[ObjectId] = frozenset()) -> None:
        replaced = {e for e in self.entries if e[0] == name and e[1] not in keep}
        dot = self._next_dot()
        self.entries -= replaced
        self.tombs |= {e[2] for e in replaced}
        self.entries.add((name, head, dot))

    def delete(self, name: str) -> None:
        gone = {e for e in self.entries if e[0] == name}
        self.entries -= gone
        self.tombs |= {e[2] for e in gone}

    def sync_from(self, other: Model) -> None:
        self.tombs |= other.tombs
        self.entries = {e for e in self.entries | other.entries if e[2] not in self.tombs}

    def visible(self, anc: Ancestry) -> dict[str, frozenset[ObjectId]]:
        out: dict[str, set[ObjectId]] = {}
        for name, head, _ in self.entries:
            out.setdefault(name, set()).add(head)
        return {n: maximal(hs, anc) for n, hs in sorted(out.items())}


def _as_model(state: RefState, me: str) -> tuple[set[ModelEntry], set[Dot]]:
    """The implementation's state in the model's terms: live entries, and tombstones = seen dots not live."""
    live = {(n, e.head, (e.dot.replica, e.dot.counter)) for n, es in state.branches.items() for e in es}
    seen = {(r, c) for r, n in state.context.items() for c in range(1, n + 1)}
    return live, seen - {d for _, _, d in live}


ops = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 3), st.sampled_from(NAMES), st.integers(0, 50)),
        st.tuples(st.just("advance"), st.integers(0, 3), st.sampled_from(NAMES), st.integers(0, 50)),
        st.tuples(st.just("delete"), st.integers(0, 3), st.sampled_from(NAMES), st.just(0)),
        st.tuples(st.just("sync"), st.integers(0, 3), st.integers(0, 3), st.just(0)),
        st.tuples(st.just("sync"), st.integers(0, 3), st.integers(0, 3), st.just(0)),
    ),
    min_size=4,
    max_size=30,
)
# The two reproductions, and a deletion that a fetch from a replica still holding the entry must not undo.
RECREATED = [("create", 0, "f", 0), ("sync", 1, 0, 0), ("delete", 1, "f", 0), ("sync", 0, 1, 0)]
RECREATED += [("create", 0, "f", 0), ("sync", 0, 1, 0), ("sync", 1, 0, 0)]
SAW_X = [("create", 0, "f", 0), ("advance", 0, "f", 0), ("sync", 1, 0, 0), ("delete", 0, "f", 0)]
SAW_X += [("create", 0, "f", 0), ("sync", 0, 1, 0), ("sync", 1, 0, 0)]
DELETED_HERE = [("create", 0, "f", 0), ("sync", 1, 0, 0), ("delete", 1, "f", 0), ("sync", 1, 0, 0)]


@settings(max_examples=600, deadline=None)
@example(2, RECREATED)
@example(2, SAW_X)
@example(2, DELETED_HERE)
@given(st.integers(2, 4), ops)
def test_ref_state_follows_the_add_wins_model(n: int, program: list[tuple[object, ...]]) -> None:
    """The pure `RefState` operations against the model, on commits in memory (many histories, fast)."""
    store = MemoryStore()
    commits = [make_commit(store, [], 0)]
    replicas = [f"{i + 1:02x}" * 16 for i in range(n)]

    def anc(a: ObjectId, b: ObjectId) -> bool:
        return is_ancestor(store, a, b)

    pures = [RefState().put("main", commits[0], replicas[0])]
    models = [Model(replicas[0])]
    models[0].put("main", commits[0])
    for i in range(1, n):
        pures.append(RefState().join(pures[0]))
        models.append(Model(replicas[i]))
        models[i].sync_from(models[0])
    for step in program:
        kind, who = str(step[0]), int(str(step[1])) % n
        state, model = pures[who], models[who]
        shown = state.visible(anc)
        if kind == "create":
            name, at = str(step[2]), commits[int(str(step[3])) % len(commits)]
            if name in shown:
                continue
            model.put(name, at)
            pures[who] = state.put(name, at, replicas[who])
        elif kind == "advance":
            name = str(step[2])
            if name not in shown:
                continue
            heads = sorted(shown[name])
            old = heads[int(str(step[3])) % len(heads)]
            new = make_commit(store, [old], len(commits))
            commits.append(new)
            keep = shown[name] - {old}
            model.put(name, new, keep)
            pures[who] = state.put(name, new, replicas[who], keep)
        elif kind == "delete":
            name = str(step[2])
            if name not in shown or name == "main":
                continue
            model.delete(name)
            pures[who] = state.remove(name)
        else:
            src = int(str(step[2])) % n
            model.sync_from(models[src])
            pures[who] = state.join(pures[src])
        for i in range(n):
            assert _as_model(pures[i], replicas[i]) == (models[i].entries, models[i].tombs), (i, step)
            assert pures[i].visible(anc) == models[i].visible(anc), (i, step)
            assert pures[i].problem() is None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(2, RECREATED)
@example(2, SAW_X)
@example(2, DELETED_HERE)
@given(st.integers(2, 4), ops)
def test_branches_follow_the_add_wins_model(n: int, program: list[tuple[object, ...]]) -> None:
    """Real replicas, through the porcelain and the database, against the model after every step."""
    with tempfile.TemporaryDirectory() as tmp:
        roots = [Path(tmp) / f"r{i}" for i in range(n)]
        for root in roots:
            porcelain.init(root, SETTINGS)
        repos = [Repository.discover(root, SETTINGS) for root in roots]
        try:
            (roots[0] / "a.txt").write_text("a\n")
            porcelain.add(repos[0], ["a.txt"], cwd=roots[0])
            porcelain.commit(repos[0], "base")
            for i in range(1, n):
                porcelain.fetch(repos[i], roots[0])
            models: list[Model] = []
            pures: list[RefState] = []
            for repo in repos:
                state = porcelain.ref_state(repo)
                live, tombs = _as_model(state, repo.replica)
                models.append(Model(repo.replica, live, tombs))
                pures.append(state)
            commits: list[ObjectId] = [repos[0].resolve("main")]
            for step in program:
                kind, who = str(step[0]), int(str(step[1])) % n
                repo, model = repos[who], models[who]
                shown = {name[len(BRANCH_PREFIX) :]: heads for name, heads in repo.refs.iter_refs(BRANCH_PREFIX)}
                if kind == "create":
                    name, at = str(step[2]), commits[int(str(step[3])) % len(commits)]
                    if name in shown or not repo.store.has(at):
                        continue
                    porcelain.branch_create(repo, name, at.hex())
                    model.put(name, at)
                    pures[who] = pures[who].put(name, at, repo.replica)
                elif kind == "advance":
                    name = str(step[2])
                    if name not in shown:
                        continue
                    heads = sorted(shown[name])
                    old = heads[int(str(step[3])) % len(heads)]
                    with repo.transaction():
                        c = read_commit(repo.store, old)
                        new = repo.new_commit(c.tree, [old], f"on {name} {len(commits)}\n", repo.signature())
                        repo.refs.update(BRANCH_PREFIX + name, new, expected=old)
                    commits.append(new)
                    keep = shown[name] - {old}
                    model.put(name, new, keep)
                    pures[who] = pures[who].put(name, new, repo.replica, keep)
                elif kind == "delete":
                    name = str(step[2])
                    if name not in shown:
                        continue
                    porcelain.branch_delete(repo, name, force=True)
                    model.delete(name)
                    pures[who] = pures[who].remove(name)
                else:
                    src = int(str(step[2])) % n
                    if src == who:
                        continue
                    porcelain.fetch(repo, roots[src])
                    model.sync_from(models[src])
                    pures[who] = pures[who].join(pures[src])
                for i, r in enumerate(repos):

                    def anc(a: ObjectId, b: ObjectId, r: Repository = r) -> bool:
                        return is_ancestor(r.store, a, b)

                    stored = porcelain.ref_state(r)
                    assert _as_model(stored, r.replica) == (models[i].entries, models[i].tombs), (i, step)
                    assert stored.to_bytes() == pures[i].to_bytes(), (i, step)
                    shown_i = {nm[len(BRANCH_PREFIX) :]: hs for nm, hs in r.refs.iter_refs(BRANCH_PREFIX)}
                    assert shown_i == models[i].visible(anc), (i, step)
        finally:
            for r in repos:
                r.close()
