"""Version vectors with gaps answer ancestry exactly, and stay as small as the set of replicas.

Several real replicas run a random program through the porcelain: commits on several
branches (so a replica's counters are spread over branches), merges of one local branch into
another, branch deletions (so some counters are never merged), fetches in random pairs and
`merge --auto` (convergent merges, which have no dot). Then one replica fetches from all the
others and, over every commit it holds:

- the clock relation (`concurrent`) equals the relation of the DAG, for every pair;
- each clock covers exactly the dots of the commit's history: every gap is a counter not in it;
- the clock has one key per replica that made a commit in the history, never more;
- every commit satisfies the history rules.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from vcrdt import porcelain
from vcrdt.dag import causal_relation, iter_history
from vcrdt.errors import VcrdtError
from vcrdt.ids import ObjectId
from vcrdt.objects import Commit, commit_dot, covers, history_problem
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Rep", author_email="rep@example.com")
N = 3
BRANCHES = ["main", "b1", "b2"]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("commit"), st.integers(0, N - 1), st.integers(0, len(BRANCHES) - 1)),
        st.tuples(st.just("commit"), st.integers(0, N - 1), st.just(0)),
        st.tuples(st.just("merge"), st.integers(0, N - 1), st.integers(0, len(BRANCHES) - 1)),
        st.tuples(st.just("delete"), st.integers(0, N - 1), st.integers(1, len(BRANCHES) - 1)),
        st.tuples(st.just("fetch"), st.integers(0, N - 1), st.integers(0, N - 1)),
        st.tuples(st.just("auto"), st.integers(0, N - 1), st.just(0)),
    ),
    min_size=15,
    max_size=40,
)


def _auto(repo: Repository) -> None:
    if repo.refs.head().siblings:
        event("convergent merge")
        porcelain.merge(repo, None, auto=True)


def _step(repos: list[Repository], who: int, kind: str, arg: int, roots: list[Path], serial: int) -> None:
    repo = repos[who]
    branch = BRANCHES[arg] if kind in ("commit", "merge", "delete") else ""
    current = repo.refs.head().branch
    if kind == "commit":
        if current != "refs/heads/" + branch:
            if repo.refs.exists("refs/heads/" + branch):
                porcelain.switch(repo, branch, force=True)
            else:
                porcelain.switch(repo, branch, create=True, force=True)
        _auto(repo)
        (repo.root / f"f{serial}.txt").write_text(f"{serial}\n")
        porcelain.commit(repo, f"c{serial}", addremove=True)
    elif kind == "merge" and current != "refs/heads/" + branch and repo.refs.exists("refs/heads/" + branch):
        _auto(repo)
        try:
            outcome = porcelain.merge(repo, branch, message=f"merge {branch}")
        except VcrdtError:
            event("local merge refused")  # that branch has siblings to join first
            return
        if outcome.status == "conflicts":
            porcelain.merge_abort(repo)
        event(f"local merge: {outcome.status}")
    elif kind == "delete" and current != "refs/heads/" + branch and repo.refs.exists("refs/heads/" + branch):
        # Only heads every replica holds: a fetch that meets the tombstone of a head it lacks
        # fails ("object ... not found"), a defect of the ref tombstones, not of the clocks.
        if all(r.store.has(h) for r in repos for h in repo.refs.heads("refs/heads/" + branch)):
            porcelain.branch_delete(repo, branch, force=True)
    elif kind == "fetch" and roots[arg] != repo.root:
        porcelain.fetch(repo, roots[arg])
    elif kind == "auto":
        _auto(repo)


def _check_all(repo: Repository) -> int:
    heads = repo.refs.all_heads()
    commits: dict[ObjectId, Commit] = dict(iter_history(repo.store, heads))
    ancestors: dict[ObjectId, frozenset[ObjectId]] = {}
    for oid, c in sorted(commits.items(), key=lambda kv: kv[1].lamport):
        ancestors[oid] = frozenset({oid}.union(*(ancestors[p] for p in c.parents)))
    replicas = {c.replica for c in commits.values() if commit_dot(c) is not None}
    for oid, c in commits.items():
        assert history_problem(c, [commits[p] for p in c.parents]) is None
        dots = {d for a in ancestors[oid] if (d := commit_dot(commits[a])) is not None}
        assert {key for key, _ in c.clock} == {key for key, _ in dots} <= replicas
        covered = {(key, n) for key, count in c.clock for n in range(1, count + 1) if covers(c, (key, n))}
        assert covered == dots, oid.hex()
    for a in commits:
        for b in commits:
            if a == b:
                want = "equal"
            elif a in ancestors[b]:
                want = "before"
            elif b in ancestors[a]:
                want = "after"
            else:
                want = "concurrent"
            assert causal_relation(repo.store, a, b) == want, (a.hex()[:8], b.hex()[:8])
    return len(commits)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_clock_relation_is_dag_ancestry(program: list[tuple[str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        roots = [Path(tmp) / f"r{i}" for i in range(N)]
        for root in roots:
            porcelain.init(root, SETTINGS)
        repos = [Repository.discover(root, SETTINGS) for root in roots]
        try:
            (roots[0] / "base.txt").write_text("base\n")
            porcelain.commit(repos[0], "base", addremove=True)
            for i in range(1, N):
                porcelain.fetch(repos[i], roots[0])
            for serial, (kind, who, arg) in enumerate(program):
                _step(repos, who, kind, arg, roots, serial)
            for i in range(1, N):
                porcelain.fetch(repos[0], roots[i])
            event(f"commits: {_check_all(repos[0]) // 10 * 10}+")
        finally:
            for r in repos:
                r.close()
