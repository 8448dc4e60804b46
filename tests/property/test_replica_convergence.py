"""Replicas converge: after random commits, fetches and automatic merges, syncing everyone agrees.

Three real repositories (SQLite stores in temporary directories) run a random
program of steps: commit an edit to one of a few lines, fetch from another
replica, auto-merge the current branch's siblings, delete or re-create a side
branch. Then every replica fetches from every other and auto-merges until
nothing changes. All must end with the same branch heads, the same tombstones
and the same files, and fsck must be clean.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from vcrdt import porcelain
from vcrdt.errors import VcrdtError
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Rep", author_email="rep@example.com")
N = 3
LINES = 4

steps = st.lists(
    st.one_of(
        st.tuples(st.just("edit"), st.integers(0, N - 1), st.integers(0, LINES - 1), st.integers(0, 9)),
        st.tuples(st.just("fetch"), st.integers(0, N - 1), st.integers(0, N - 1)),
        st.tuples(st.just("auto"), st.integers(0, N - 1)),
        st.tuples(st.just("side"), st.integers(0, N - 1), st.booleans()),
    ),
    max_size=14,
)


def _edit(repo: Repository, line: int, value: int, who: int) -> None:
    path = repo.root / "f.txt"
    lines = path.read_text().splitlines()
    lines[line] = f"line {line}: {value} from replica {who}"
    path.write_text("\n".join(lines) + "\n")
    try:
        porcelain.commit(repo, f"edit by {who}")
    except VcrdtError:
        pass  # nothing changed: the same value was already there


def _auto(repo: Repository) -> None:
    if repo.refs.head().siblings:
        event("joined siblings")
        porcelain.merge(repo, None, auto=True)


def _state(repo: Repository) -> tuple[object, ...]:
    refs = porcelain.ref_state(repo)
    return (refs.to_bytes(), (repo.root / "f.txt").read_bytes())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_replicas_converge_after_random_syncs(program: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        roots = [Path(tmp) / f"r{i}" for i in range(N)]
        for root in roots:
            porcelain.init(root, SETTINGS)
        repos = [Repository.discover(root, SETTINGS) for root in roots]
        try:
            (roots[0] / "f.txt").write_text("".join(f"line {i}\n" for i in range(LINES)))
            porcelain.add(repos[0], ["f.txt"], cwd=roots[0])
            porcelain.commit(repos[0], "base")
            for i in range(1, N):
                porcelain.fetch(repos[i], roots[0])
            for step in program:
                kind, who = step[0], int(str(step[1]))
                repo = repos[who]
                if kind == "edit":
                    _auto(repo)
                    _edit(repo, int(str(step[2])), int(str(step[3])), who)
                elif kind == "fetch" and step[2] != who:
                    porcelain.fetch(repo, roots[int(str(step[2]))])
                elif kind == "auto":
                    _auto(repo)
                elif kind == "side":
                    exists = repo.refs.exists("refs/heads/side")
                    if step[2] and not exists:
                        porcelain.branch_create(repo, "side")
                    elif not step[2] and exists:
                        porcelain.branch_delete(repo, "side", force=True)
            for _ in range(4):
                for i in range(N):
                    for j in range(N):
                        if i != j:
                            porcelain.fetch(repos[i], roots[j])
                    _auto(repos[i])
            states = {_state(r) for r in repos}
            assert len(states) == 1, states
            for r in repos:
                assert not r.refs.head().siblings
                assert not porcelain.fsck(r).problems
        finally:
            for r in repos:
                r.close()
