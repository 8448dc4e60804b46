"""Three-way merge of trees, path by path, with diff3 for file contents.

Per path, comparing base, ours and theirs entries: a side equal to the base
yields to the other side; equal sides agree; otherwise both changed it and
the kinds decide: two text files are merged line by line with diff3 (an
addition on both sides merges against an empty base, as git does); a
deletion against a modification, a symlink, a binary file or an
incompatible kind change is a conflict. A file on one side where the other
side has a directory is a file/directory conflict: the directory wins the
path and the file is left beside it as ``<path>~<label>``.

Conflicts are values (`vcrdt.merge.conflicts`); the store receives merged
blobs and the marker-laden blobs to leave in the work tree.
"""

from __future__ import annotations

from collections.abc import Mapping

from vcrdt.diff import is_binary, xdiff_matcher
from vcrdt.ids import ObjectId
from vcrdt.merge.conflicts import ABSENT, ConflictKind, PathConflict, Side, TreeMerge
from vcrdt.merge.diff3 import Style, merge_bytes
from vcrdt.objects import EntryKind
from vcrdt.paths import ancestor_dirs
from vcrdt.store import LARGE_OBJECT, ObjectStore

Flat = Mapping[str, tuple[EntryKind, ObjectId]]
_REGULAR = (EntryKind.FILE, EntryKind.EXECUTABLE)


def _side(flat: Flat, path: str) -> Side:
    e = flat.get(path)
    return Side(e[0], e[1]) if e is not None else ABSENT


def _text(store: ObjectStore, side: Side) -> bytes | None:
    """The content of a regular file, or None when it is binary or too large to line-merge."""
    if side.oid is None:
        return b""
    if store.info(side.oid)[1] > LARGE_OBJECT:
        return None
    data = store.get(side.oid)[1]
    return None if is_binary(data) else data


def _merged_kind(base: Side, ours: Side, theirs: Side) -> EntryKind | None:
    """The kind of a content merge of two regular files, or None if the modes conflict."""
    if ours.kind == theirs.kind:
        return ours.kind
    if ours.kind == base.kind:
        return theirs.kind
    if theirs.kind == base.kind:
        return ours.kind
    return None


def merge_flat(
    store: ObjectStore,
    base: Flat,
    ours: Flat,
    theirs: Flat,
    *,
    style: Style = "merge",
    labels: tuple[str, str, str] = ("ours", "base", "theirs"),
) -> TreeMerge:
    """Merge three flat trees (path -> entry).

    Returns:
        The merged entries, the work-tree content of conflicted paths, and the conflicts.
    """
    result = TreeMerge()
    for path in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = _side(base, path), _side(ours, path), _side(theirs, path)
        if o == t or t == b:
            taken: Side | None = o
        elif o == b:
            taken = t
        else:
            taken = None
        if taken is not None:
            entry = taken.entry()
            if entry is not None:
                result.entries[path] = entry
            continue
        _merge_changed(store, path, b, o, t, style, labels, result)
    _file_directory(result, labels)
    return result


def _merge_changed(
    store: ObjectStore,
    path: str,
    b: Side,
    o: Side,
    t: Side,
    style: Style,
    labels: tuple[str, str, str],
    result: TreeMerge,
) -> None:
    """Both sides changed `path`, differently."""
    if not o.present or not t.present:
        result.conflicts.append(PathConflict(path, "modify/delete" if o.present else "delete/modify", b, o, t))
        _keep(result, path, o if o.present else t)
        return
    if o.kind not in _REGULAR or t.kind not in _REGULAR or (b.present and b.kind not in _REGULAR):
        result.conflicts.append(PathConflict(path, "kind" if o.kind != t.kind else "content", b, o, t, 1))
        _keep(result, path, o)
        return
    texts = [_text(store, s) if s.present else b"" for s in (b, o, t)]
    if any(x is None for x in texts):
        result.conflicts.append(PathConflict(path, "binary", b, o, t, 1))
        _keep(result, path, o)
        return
    base_text, ours_text, theirs_text = (x or b"" for x in texts)
    kind = _merged_kind(b, o, t)
    merged, hunks = merge_bytes(base_text, ours_text, theirs_text, matcher=xdiff_matcher, style=style, labels=labels)
    oid = store.put("blob", merged)
    if hunks == 0 and kind is not None:
        result.entries[path] = (kind, oid)
        result.merged_paths.append(path)
        return
    conflict_kind: ConflictKind = "kind" if kind is None and hunks == 0 else ("content" if b.present else "add/add")
    result.conflicts.append(PathConflict(path, conflict_kind, b, o, t, hunks))
    result.worktree[path] = (kind or o.kind or EntryKind.FILE, oid)


def _keep(result: TreeMerge, path: str, side: Side) -> None:
    entry = side.entry()
    if entry is not None:
        result.worktree[path] = entry


def _file_directory(result: TreeMerge, labels: tuple[str, str, str]) -> None:
    """Resolve a file that collides with a directory: the directory keeps the path."""
    every = set(result.entries) | set(result.worktree)
    for path in sorted(every & ancestor_dirs(every)):
        entry = result.entries.pop(path, None) or result.worktree.pop(path)
        aside = f"{path}~{labels[0]}"
        result.worktree[aside] = entry
        result.conflicts.append(PathConflict(path, "file/directory", ABSENT, Side(*entry), ABSENT))
