"""Every reference names an object of the kind its place requires (issue: a file entry naming a tree).

A tree entry of kind file, exec or link names a blob and one of kind tree names a tree; a commit's
tree is a tree, its parents commits and its resolutions record a blob. Fetch refuses a replica
that breaks this, and fsck reports it in a repository that holds it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers.cli import CliRunner
from tests.security.hostile_source import HostileSource, assert_refused, victim_state
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind

Build = Callable[[HostileSource], tuple[ObjectId, tuple[str, ...]]]


def _entry(kind: EntryKind, target: str) -> Build:
    """A tree whose entry ``e`` of `kind` names an object of kind `target`."""
    expected = "tree" if kind is EntryKind.TREE else "blob"

    def build(src: HostileSource) -> tuple[ObjectId, tuple[str, ...]]:
        blob = src.put("blob", b"some content\n")
        named = {
            "blob": blob,
            "tree": src.tree(("inner.txt", EntryKind.FILE, blob)),
            "commit": src.commit(src.tree(("c.txt", EntryKind.FILE, blob))),
        }[target]
        top = src.tree(("e", kind, named))
        return src.commit(top), (top.hex(), f"entry 'e' of kind {kind.value} names a {target}, not a {expected}")

    return build


def _commit_tree_is_blob(src: HostileSource) -> tuple[ObjectId, tuple[str, ...]]:
    blob = src.put("blob", b"not a tree\n")
    head = src.commit(blob)
    return head, (head.hex(), f"its tree {blob.hex()} is a blob, not a tree")


def _parent_is_tree(src: HostileSource) -> tuple[ObjectId, tuple[str, ...]]:
    tree = src.tree(("p.txt", EntryKind.FILE, src.put("blob", b"p\n")))
    head = src.commit(tree, parents=(tree,))
    return head, (head.hex(), f"its parent {tree.hex()} is a tree, not a commit")


def _resolutions_is_tree(src: HostileSource) -> tuple[ObjectId, tuple[str, ...]]:
    """A merge (only merges carry a resolutions record) whose record is a tree."""
    tree = src.tree(("r.txt", EntryKind.FILE, src.put("blob", b"r\n")))
    sides = tuple(src.commit(src.tree((f"{n}.txt", EntryKind.FILE, src.put("blob", n.encode())))) for n in "ab")
    head = src.commit(tree, parents=sides, resolutions=tree)
    return head, (head.hex(), f"its resolutions record {tree.hex()} is a tree, not a blob")


CASES: dict[str, Build] = {
    "file-names-tree": _entry(EntryKind.FILE, "tree"),
    "file-names-commit": _entry(EntryKind.FILE, "commit"),
    "exec-names-tree": _entry(EntryKind.EXECUTABLE, "tree"),
    "link-names-tree": _entry(EntryKind.SYMLINK, "tree"),
    "tree-names-blob": _entry(EntryKind.TREE, "blob"),
    "tree-names-commit": _entry(EntryKind.TREE, "commit"),
    "commit-tree-is-blob": _commit_tree_is_blob,
    "parent-is-tree": _parent_is_tree,
    "resolutions-is-tree": _resolutions_is_tree,
}


@pytest.fixture
def source(repo: CliRunner) -> HostileSource:
    root = repo.cwd.parent / "src"
    repo.ok("init", str(root))
    return HostileSource(root)


@pytest.mark.hostile
@pytest.mark.parametrize("name", sorted(CASES))
def test_fetch_refuses_a_reference_to_the_wrong_kind(name: str, source: HostileSource, repo: CliRunner) -> None:
    repo.write("mine.txt", "mine\n")
    repo.ok("commit", "-A", "-m", "mine")
    head, needles = CASES[name](source)
    source.branch("evil", head)
    before = victim_state(repo.cwd)
    r = repo("fetch", str(source.root))
    assert_refused(r.code, r.err, *needles)
    assert victim_state(repo.cwd) == before
    repo.ok("fsck")


@pytest.mark.hostile
@pytest.mark.parametrize("name", sorted(CASES))
def test_fsck_reports_a_reference_to_the_wrong_kind(name: str, repo: CliRunner) -> None:
    own = HostileSource(repo.cwd)
    head, needles = CASES[name](own)
    own.branch("evil", head)
    r = repo("fsck")
    assert r.code == 1, r.out + r.err
    assert "Traceback" not in r.err
    lines = [line for line in r.out.splitlines() if all(n in line for n in needles)]
    assert len(lines) == 1, r.out
    assert lines[0].startswith(f"error: {needles[0]}: ")


def test_checkout_of_a_sound_tree_is_untouched_by_the_checks(repo: CliRunner) -> None:
    """Every kind of entry, each naming its proper kind: fsck is clean."""
    repo.write("d/f.txt", "f\n")
    repo.write("run.sh", "#!/bin/sh\n")
    (repo.cwd / "run.sh").chmod(0o755)
    (repo.cwd / "link").symlink_to("d/f.txt")
    repo.ok("commit", "-A", "-m", "all kinds")
    r = repo.ok("fsck")
    assert "0 problems" in r.err
