"""Tree diffs and line diffs, as values the CLI renders and `--json` prints.

Tree diffs walk two trees in name order and skip any pair of subtrees with
the same id, so diffing two large trees that differ in one file reads only
the trees along that file's path. Line diffs come from libgit2's C xdiff
through pygit2 (the one use of pygit2 outside `gitinterop`, allowed by the
design); pygit2 is imported lazily so that commands without a diff never pay
for it. Binary files (a NUL in the first 8000 bytes, as git decides) and
files over `MAX_DIFF_BYTES` are not line-diffed.

Pure: no terminal I/O; reads objects through the `ObjectReader` protocol.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from vcrdt.dag import read_tree
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.store import ObjectReader

MAX_DIFF_BYTES = 50 * 1024 * 1024
BINARY_SNIFF = 8000

ChangeStatus = Literal["added", "deleted", "modified", "kind"]
FlatEntries = Mapping[str, tuple[EntryKind, ObjectId]]


@dataclass(frozen=True, slots=True)
class Change:
    """One path that differs between two trees."""

    path: str
    status: ChangeStatus
    old_kind: EntryKind | None
    old_oid: ObjectId | None
    new_kind: EntryKind | None
    new_oid: ObjectId | None


def _change(path: str, old: tuple[EntryKind, ObjectId] | None, new: tuple[EntryKind, ObjectId] | None) -> Change:
    if old is None:
        assert new is not None  # invariant: a change has at least one side
        return Change(path, "added", None, None, new[0], new[1])
    if new is None:
        return Change(path, "deleted", old[0], old[1], None, None)
    status: ChangeStatus = "modified" if old[0] == new[0] else "kind"
    return Change(path, status, old[0], old[1], new[0], new[1])


def iter_tree_changes(reader: ObjectReader, old_tree: ObjectId | None, new_tree: ObjectId | None) -> Iterator[Change]:
    """Yield the file-level changes from `old_tree` to `new_tree`, in path order.

    A file replaced by a directory is a deletion of the file plus additions
    under the directory (and the reverse).
    """
    yield from _walk(reader, "", old_tree, new_tree)


def _entries(reader: ObjectReader, tree: ObjectId | None) -> dict[str, tuple[EntryKind, ObjectId]]:
    if tree is None:
        return {}
    return {e.name: (e.kind, e.oid) for e in read_tree(reader, tree).entries}


def _walk(reader: ObjectReader, prefix: str, old: ObjectId | None, new: ObjectId | None) -> Iterator[Change]:
    if old == new:
        return
    a, b = _entries(reader, old), _entries(reader, new)
    for name in sorted(set(a) | set(b), key=lambda n: n.encode("utf-8", "surrogateescape")):
        ea, eb = a.get(name), b.get(name)
        if ea == eb:
            continue
        path = prefix + name
        a_dir = ea is not None and ea[0] is EntryKind.TREE
        b_dir = eb is not None and eb[0] is EntryKind.TREE
        if a_dir or b_dir:
            if ea is not None and not a_dir:
                yield _change(path, ea, None)
            yield from _walk(reader, path + "/", ea[1] if a_dir and ea else None, eb[1] if b_dir and eb else None)
            if eb is not None and not b_dir:
                yield _change(path, None, eb)
        else:
            yield _change(path, ea, eb)


def flatten_tree(reader: ObjectReader, tree: ObjectId | None) -> dict[str, tuple[EntryKind, ObjectId]]:
    """Return every non-tree entry under `tree`, keyed by its path."""
    out: dict[str, tuple[EntryKind, ObjectId]] = {}
    if tree is None:
        return out
    stack: list[tuple[str, ObjectId]] = [("", tree)]
    while stack:
        prefix, oid = stack.pop()
        for e in read_tree(reader, oid).entries:
            if e.kind is EntryKind.TREE:
                stack.append((prefix + e.name + "/", e.oid))
            else:
                out[prefix + e.name] = (e.kind, e.oid)
    return out


def diff_changes(old: FlatEntries, new: FlatEntries) -> list[Change]:
    """Return the changes between two flat path maps, sorted by path."""
    paths = sorted(set(old) | set(new), key=lambda p: p.encode("utf-8", "surrogateescape"))
    return [_change(p, old.get(p), new.get(p)) for p in paths if old.get(p) != new.get(p)]


def is_binary(data: bytes) -> bool:
    """Tell whether content is binary: a NUL byte in its first 8000 bytes.

    >>> is_binary(b"text\\n"), is_binary(b"\\x00\\x01")
    (False, True)
    """
    return b"\0" in data[:BINARY_SNIFF]


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a hunk: context, addition or deletion."""

    origin: Literal[" ", "+", "-"]
    text: bytes
    no_newline: bool = False


@dataclass(frozen=True, slots=True)
class Hunk:
    """A run of changed lines with context."""

    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    header: str
    lines: tuple[DiffLine, ...]


@dataclass(frozen=True, slots=True)
class FileDiff:
    """The line diff of one path."""

    path: str
    status: str
    binary: bool
    added: int
    deleted: int
    hunks: tuple[Hunk, ...]
    old_kind: EntryKind | None = None
    new_kind: EntryKind | None = None


@dataclass(frozen=True, slots=True)
class DiffStat:
    """Lines added and deleted in one path."""

    path: str
    added: int
    deleted: int
    binary: bool


def stat_from(diff: FileDiff) -> DiffStat:
    """Return the stat of a file diff."""
    return DiffStat(diff.path, diff.added, diff.deleted, diff.binary)


def diff_blobs(
    path: str,
    old: bytes | None,
    new: bytes | None,
    *,
    context: int = 3,
    status: str = "modified",
    old_kind: EntryKind | None = None,
    new_kind: EntryKind | None = None,
) -> FileDiff:
    """Line-diff two versions of a file (None: absent on that side)."""
    a, b = old or b"", new or b""
    if is_binary(a) or is_binary(b) or len(a) > MAX_DIFF_BYTES or len(b) > MAX_DIFF_BYTES:
        return FileDiff(path, status, True, 0, 0, (), old_kind, new_kind)
    import pygit2  # lazy: 150 ms of import only commands that show diffs pay for

    patch = pygit2.Patch.create_from(a, b, old_as_path=path, new_as_path=path, context_lines=context)
    hunks: list[Hunk] = []
    for h in patch.hunks:
        lines: list[DiffLine] = []
        for ln in h.lines:
            origin = ln.origin
            if origin in ("<", ">", "="):
                # libgit2's "\ No newline at end of file" marker belongs to the line before it.
                if lines:
                    last = lines[-1]
                    lines[-1] = DiffLine(last.origin, last.text, True)
                continue
            kind: Literal[" ", "+", "-"]
            if origin == "+":
                kind = "+"
            elif origin == "-":
                kind = "-"
            elif origin == " ":
                kind = " "
            else:
                continue
            raw = ln.raw_content
            lines.append(DiffLine(kind, raw[:-1] if raw.endswith(b"\n") else raw, not raw.endswith(b"\n")))
        hunks.append(Hunk(h.old_start, h.old_lines, h.new_start, h.new_lines, h.header.rstrip("\n"), tuple(lines)))
    _, added, deleted = patch.line_stats
    return FileDiff(path, status, False, added, deleted, tuple(hunks), old_kind, new_kind)


def format_unified(diff: FileDiff) -> bytes:
    """Return the git-style unified diff text of one file."""
    p = diff.path.encode("utf-8", "surrogateescape")
    out = [b"diff --git a/" + p + b" b/" + p]
    if diff.status == "added":
        out.append(b"new file mode " + _mode(diff.new_kind))
    elif diff.status == "deleted":
        out.append(b"deleted file mode " + _mode(diff.old_kind))
    elif diff.status == "kind":
        out.append(b"old mode " + _mode(diff.old_kind))
        out.append(b"new mode " + _mode(diff.new_kind))
    a = b"/dev/null" if diff.status == "added" else b"a/" + p
    b = b"/dev/null" if diff.status == "deleted" else b"b/" + p
    if diff.binary:
        out.append(b"Binary files " + a + b" and " + b + b" differ")
        return b"\n".join(out) + b"\n"
    if not diff.hunks:
        return b"\n".join(out) + b"\n"
    out.append(b"--- " + a)
    out.append(b"+++ " + b)
    for h in diff.hunks:
        out.append(h.header.encode("utf-8", "surrogateescape"))
        for ln in h.lines:
            out.append(ln.origin.encode("ascii") + ln.text)
            if ln.no_newline:
                out.append(b"\\ No newline at end of file")
    return b"\n".join(out) + b"\n"


def _mode(kind: EntryKind | None) -> bytes:
    return (
        {
            EntryKind.EXECUTABLE: b"100755",
            EntryKind.SYMLINK: b"120000",
            EntryKind.TREE: b"040000",
        }.get(kind, b"100644")
        if kind is not None
        else b"100644"
    )


def xdiff_matcher(a: Sequence[bytes], b: Sequence[bytes]) -> list[tuple[int, int, int]]:
    """Return matching blocks between two line lists, from libgit2's xdiff (Myers, as git).

    Lines keep their endings. The result ends with the sentinel ``(len(a), len(b), 0)``,
    the shape `vcrdt.merge.diff3` expects of a matcher.
    """
    import pygit2  # lazy, see diff_blobs

    na, nb = len(a), len(b)
    if not na or not nb:
        return [(na, nb, 0)]
    patch = pygit2.Patch.create_from(b"".join(a), b"".join(b), context_lines=0)
    blocks: list[tuple[int, int, int]] = []
    ia = ib = 0
    for h in patch.hunks:
        # libgit2 numbers a pure insertion's old range from the line before it.
        old_start = h.old_start - 1 if h.old_lines else h.old_start
        new_start = h.new_start - 1 if h.new_lines else h.new_start
        if old_start > ia:
            # invariant: unchanged stretches have the same length on both sides
            blocks.append((ia, ib, old_start - ia))
        ia, ib = old_start + h.old_lines, new_start + h.new_lines
    if ia < na:
        blocks.append((ia, ib, na - ia))
    blocks.append((na, nb, 0))
    return blocks
