"""Walks that read the tracked paths from the stat-cache pack (`rows.PackedKeys`) answer as walks over the rows.

Random steps (writes, deletions, renames, symlinks, ignore rules, adds, `rm --cached`, commits) on a
repository without a file-system monitor. After each, a status (which writes the pack) is compared
with a status over the rows (`statpack` emptied, so `settle_keys` reads every row), and what `add`
tracks from the packed walk (`StatusCheck.walked_untracked`) with what it tracks after `expand`.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.property.test_fsmonitor_status import DIRS, NAMES, SETTINGS, addable_full, apply, op
from vcrdt import porcelain
from vcrdt.repo import Repository
from vcrdt.worktree import WorktreeStatus
from vcrdt.worktree.rows import PackedKeys


def from_rows(repo: Repository) -> WorktreeStatus:
    """A status with no stat-cache pack to read: every row is read (and the pack written again)."""
    with repo.db.write() as conn:
        conn.execute("DELETE FROM statpack")
    return repo.worktree.status()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, min_size=1, max_size=20), specs=st.lists(st.sampled_from([".", *NAMES, *DIRS]), min_size=1))
def test_packed_walks_equal_walks_over_the_rows(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[object, ...]], specs: list[str]
) -> None:
    root = tmp_path_factory.mktemp("packed")
    repo = Repository.init(root, SETTINGS)
    for name in NAMES[:5]:
        apply(repo, root, ("write", name, name.encode()))
    porcelain.commit(repo, "base", addremove=True)
    packed = 0
    try:
        for i, step in enumerate(steps):
            apply(repo, root, step)
            want = from_rows(repo)  # leaves a pack for the next status to read
            keys, _ = repo.worktree.table.settle_keys()
            packed += isinstance(keys, PackedKeys)
            assert repo.worktree.status() == want, step
            # What commit looks at: at least every path that differs.
            assert set(repo.worktree.suspects()[0]) >= {*want.modified, *want.added, *want.deleted, *want.removed}
            spec = specs[i % len(specs)]
            untracked = repo.worktree.checker.walked_untracked()
            if untracked is not None:
                assert repo.worktree.tracking.addable([spec], untracked) in (None, addable_full(repo, spec)), (
                    step,
                    spec,
                )
                if addable_full(repo, spec) is None:
                    assert repo.worktree.tracking.addable([spec], untracked) is None
    finally:
        repo.close()
    assert packed > 0
