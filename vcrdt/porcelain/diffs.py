"""Diffs as the user asks for them: two commits, a commit and the work tree, a commit and its parent."""

from __future__ import annotations

import os
from collections.abc import Callable

from vcrdt.dag import merge_bases, read_commit
from vcrdt.diff.lines import FileDiff
from vcrdt.diff.tree import Change, ChangeStatus, diff_changes, iter_tree_changes
from vcrdt.diff.xdiff import diff_blobs
from vcrdt.errors import BadRevisionError, WorktreeError
from vcrdt.objects import Commit, EntryKind
from vcrdt.porcelain._shared import blob_side, repo_path
from vcrdt.repo import Repository
from vcrdt.store import LARGE_OBJECT
from vcrdt.worktree.status import worth_saving

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from vcrdt.worktree import FlatTree, Row


def _work_side(repo: Repository, path: str, kind: EntryKind | None) -> tuple[bytes | None, int]:
    """A work-tree file's content for a diff (binary text stands in for a large one), and its size."""
    if kind is None:
        return None, 0
    wt = repo.worktree
    if kind is EntryKind.SYMLINK:
        target = wt.read_link(path)
        return target, len(target)
    st = wt.lstat(path)
    if st is None:
        raise WorktreeError(path, "cannot read: No such file or directory")
    if st.st_size > LARGE_OBJECT:
        return b"\0<large file>", st.st_size
    try:
        with wt.open_file(path) as fh:
            data = fh.read()
    except OSError as exc:
        raise WorktreeError(path, f"cannot read: {exc.strerror}") from exc
    return data, len(data)


def file_diffs(
    repo: Repository, changes: list[Change], *, worktree_new: bool = False, context: int = 3
) -> list[FileDiff]:
    """Return the line diff of each change, reading the new side from the work tree if `worktree_new`.

    Raises:
        WorktreeError: If a work-tree file cannot be read.
    """
    out: list[FileDiff] = []
    for ch in changes:
        old, old_size = blob_side(repo, ch.old_oid)
        new, new_size = _work_side(repo, ch.path, ch.new_kind) if worktree_new else blob_side(repo, ch.new_oid)
        out.append(
            diff_blobs(
                ch.path,
                old,
                new,
                context=context,
                status=ch.status,
                old_kind=ch.old_kind,
                new_kind=ch.new_kind,
                sizes=(old_size, new_size),
            )
        )
    return out


def commit_changes(repo: Repository, commit_: Commit) -> list[Change]:
    """Return a commit's changes against its first parent (all additions for a root commit)."""
    parent_tree = read_commit(repo.store, commit_.parents[0]).tree if commit_.parents else None
    return list(iter_tree_changes(repo.store, parent_tree, commit_.tree))


def renamed_diff(repo: Repository, commit_: Commit, path: str, old_path: str, *, context: int = 3) -> FileDiff:
    """Return the diff of one file in a commit against its first parent, where it was at `old_path`.

    A rename (`old_path` differs) shows as git shows one: ``rename from/to`` and the changes.
    """
    parent_tree = read_commit(repo.store, commit_.parents[0]).tree if commit_.parents else None
    old = repo.tree_lookup(parent_tree, old_path) if parent_tree is not None else None
    new = repo.tree_lookup(commit_.tree, path)
    status: ChangeStatus = "added" if old is None else "deleted" if new is None else "modified"
    if old is not None and new is not None and old[0] is not new[0]:
        status = "kind"
    old_data, old_size = blob_side(repo, old[1] if old else None)
    new_data, new_size = blob_side(repo, new[1] if new else None)
    return diff_blobs(
        path,
        old_data,
        new_data,
        context=context,
        status=status,
        old_path=old_path,
        old_kind=old[0] if old else None,
        new_kind=new[0] if new else None,
        sizes=(old_size, new_size),
    )


def range_ends(repo: Repository, spec: str) -> tuple[str, str]:
    """Read a diff range as git does: ``A..B`` is A against B, ``A...B`` what B did since it forked from A.

    An empty side is HEAD.

    Returns:
        The two revisions to diff (for ``A...B``, their merge base's id and B).

    Raises:
        BadRevisionError: If a side does not resolve, or ``A...B`` have no common ancestor.
    """
    if "..." in spec:
        left, _, right = spec.partition("...")
        a, b = repo.resolve(left or "HEAD"), repo.resolve(right or "HEAD")
        bases = merge_bases(repo.store, a, b)
        if not bases:
            raise BadRevisionError(spec, "no merge base")
        return bases[0].hex(), right or "HEAD"
    left, _, right = spec.partition("..")
    return left or "HEAD", right or "HEAD"


def _wanted(paths: list[str] | None) -> Callable[[str], bool] | None:
    """The test of whether a path lies at or under one of `paths` (None: every path is wanted)."""
    if not paths:
        return None
    return lambda p: any(p == s or p.startswith(s + "/") for s in paths)


def _select(flat: FlatTree, wanted: Callable[[str], bool] | None) -> FlatTree:
    if wanted is None:
        return flat
    return {p: v for p, v in flat.items() if wanted(p)}


def _work_changes(repo: Repository, wanted: Callable[[str], bool] | None) -> tuple[FlatTree, FlatTree]:
    """HEAD's entries and the work tree's at the paths that may differ (the rest are equal on both sides).

    The paths are the suspects of status and commit (`Worktree.suspects`: the
    walk settles every tracked file whose stat matches its cached entry, which
    is HEAD's), so only those rows are read and only those files hashed. A
    removed path has no work-tree entry; a missing file or a directory none.

    Raises:
        WorktreeError: If a file cannot be stat'ed or read.
    """
    wt = repo.worktree
    suspects, rows = wt.suspects()
    if wanted is not None:
        suspects = [p for p in suspects if wanted(p)]
    live = [p for p in suspects if rows[p].state != "removed"]
    current, refreshed = wt.current(rows, live, None, store=False)
    if refreshed:
        _keep_caches(repo, refreshed)
    head: FlatTree = {}
    for p in suspects:
        row = rows[p]
        if row.head_kind is not None and row.head_oid is not None:
            head[p] = (row.head_kind, row.head_oid)
    work: FlatTree = {p: e for p, e in current.items() if e is not None}
    return head, work


def _keep_caches(repo: Repository, refreshed: list[Row]) -> None:
    """Save the stat caches a diff refreshed, as status does, when the write lock is free now.

    Files a checkout just wrote are too recent to be cached then (the racy
    rule); without this every diff after it would hash them again. As for
    status, only caches that pay for the write are saved (`worth_saving`:
    files settled again, or a lot of bytes to hash), unless the stat-cache
    pack is missing and is written anyway.
    """
    table = repo.worktree.table
    keys, read = table.pack_keys_read, (table.pack_serial, table.read_mark)
    if read[0] is not None and not worth_saving(refreshed, table.pack_data):
        return
    with table.db.try_write() as conn:
        if conn is not None:
            if keys is not None:
                table.refresh_with_pack(keys, read, refreshed)  # the stat-cache pack written again
            else:
                table.refresh_caches(refreshed)


def diff(
    repo: Repository,
    old: str | None = None,
    new: str | None = None,
    *,
    paths: list[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    context: int = 3,
) -> list[FileDiff]:
    """Diff two commits, a commit and the work tree, or (default) HEAD and the work tree.

    Raises:
        BadRevisionError: If a revision does not resolve.
    """
    rel = [p for p in (repo_path(repo, cwd or repo.root_dir, x) for x in paths or []) if p != "."] or None
    wanted = _wanted(rel)
    if new is not None:
        old_flat = _select(repo.commit_flat(repo.resolve(old)) if old else repo.worktree.head_flat(), wanted)
        new_flat = _select(repo.commit_flat(repo.resolve(new)), wanted)
        return file_diffs(repo, diff_changes(old_flat, new_flat), context=context)
    base = repo.resolve(old) if old else None
    head, work = _work_changes(repo, wanted)
    if old:
        # The work tree is HEAD's entries where no file may differ, and what was read where one may.
        tree = repo.worktree.head_flat()
        for p in head:
            del tree[p]
        tree.update(work)
        old_flat, work = _select(repo.commit_flat(base), wanted), _select(tree, wanted)
    else:
        old_flat = head
    return file_diffs(repo, diff_changes(old_flat, work), worktree_new=True, context=context)
