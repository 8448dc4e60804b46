"""Incremental tree building gives the same root as building from scratch."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.repo import Repository, Settings

names = st.sampled_from(["a", "b", "c", "d.txt"])
paths = st.lists(names, min_size=1, max_size=3).map("/".join)


def _flat(repo: Repository, spec: dict[str, int]) -> dict[str, tuple[EntryKind, ObjectId]]:
    return {p: (EntryKind.FILE, repo.store.put("blob", f"{v}".encode())) for p, v in spec.items()}


def _consistent(spec: dict[str, int]) -> dict[str, int]:
    """Drop paths that would need a name to be both a file and a directory."""
    out: dict[str, int] = {}
    for p in sorted(spec, key=len):
        prefixes = ["/".join(p.split("/")[:i]) for i in range(1, p.count("/") + 1)]
        if any(q in out for q in prefixes) or any(q.startswith(p + "/") for q in out):
            continue
        out[p] = spec[p]
    return out


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repository:
    root = tmp_path_factory.mktemp("r")
    return Repository.init(Path(root), Settings())


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(paths, st.integers(0, 3), max_size=8), st.dictionaries(paths, st.integers(0, 3), max_size=8))
def test_incremental_equals_full(repo: Repository, old_spec: dict[str, int], new_spec: dict[str, int]) -> None:
    old = _flat(repo, _consistent(old_spec))
    new = _flat(repo, _consistent(new_spec))
    base = repo.write_tree(old)
    changed = [p for p in set(old) | set(new) if old.get(p) != new.get(p)]
    assert repo.write_tree(new, base=base, changed=changed) == repo.write_tree(new)
