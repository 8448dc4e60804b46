"""Tree diffs and line diffs, as values the CLI renders and `--json` prints.

Tree diffs. `iter_tree_changes` walks two trees side by side and yields one
`Change` per file-level difference, in path order. A pair of subtrees with the
same id is skipped without being read, so two large trees that differ in one
file cost only the reads of the trees along that file's path. `diff_changes`
gives the same answer for two flat ``path -> (kind, id)`` maps (the work tree
provides one; `flatten_tree` turns a tree into one).

Path order is the byte order of the full UTF-8 paths, which is git's order. A
tree's canonical entry order sorts a directory ``d`` by its bare name, so
before ``d-x`` and ``d.txt``; in full-path order ``d/...`` comes after both.
The walk therefore sorts each tree's entries by name with ``/`` appended to
directories, and merges the two sides on that key. A file ``f`` and a
directory ``f`` get different keys (``f`` and ``f/``), which makes a file
replaced by a directory a deletion of the file plus additions under the
directory, with no special case.

Line diffs. `diff_blobs` runs libgit2's C xdiff through pygit2 (Myers, with
git's defaults, so hunks and counts agree with `git diff`) and turns the patch
into `FileDiff` / `Hunk` / `DiffLine` values; `format_unified` renders one
as git-style unified text. pygit2 is the one import allowed here beyond the
stdlib and the layers below (the design's one exception to "only gitinterop
imports pygit2", written into the import-linter contract in pyproject.toml).
It is imported inside the functions that need it, so ``import vcrdt.diff``
stays cheap. Binary content (a NUL byte in the first 8000 bytes, as git decides) and
content over `MAX_DIFF_BYTES` is not line-diffed.

Pure: no terminal I/O. Objects are read through the `ObjectReader` protocol.
Imports `objects`, `ids`, `paths`, `errors` and, for a type only, `store`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Literal

from vcrdt.dag import read_tree
from vcrdt.errors import GitInteropError
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.paths import encode

if TYPE_CHECKING:
    from vcrdt.store import ObjectReader

# Content larger than this is reported as binary instead of line-diffed: the
# differ holds both sides and every line in memory.
MAX_DIFF_BYTES = 50 * 1024 * 1024
# How far git looks for a NUL byte when it decides whether content is binary.
BINARY_SNIFF = 8000

ChangeStatus = Literal["added", "deleted", "modified", "kind"]
Entry = tuple[EntryKind, ObjectId]
FlatEntries = Mapping[str, Entry]
Origin = Literal[" ", "+", "-"]

# --- tree diffs --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One path whose entry differs between two trees.

    `status` is ``added`` or ``deleted`` when one side has no entry,
    ``modified`` when both sides have the same kind and different ids, and
    ``kind`` when the kind changed (file to executable, file to symlink, ...).
    Directories never appear: their contents do.
    """

    path: str
    status: ChangeStatus
    old_kind: EntryKind | None
    old_oid: ObjectId | None
    new_kind: EntryKind | None
    new_oid: ObjectId | None


def _change(path: str, old: Entry | None, new: Entry | None) -> Change:
    if old is None:
        assert new is not None  # invariant: a change has at least one side
        return Change(path, "added", None, None, new[0], new[1])
    if new is None:
        return Change(path, "deleted", old[0], old[1], None, None)
    status: ChangeStatus = "modified" if old[0] is new[0] else "kind"
    return Change(path, status, old[0], old[1], new[0], new[1])


def _keyed_entries(reader: ObjectReader, oid: ObjectId | None) -> list[tuple[bytes, str, Entry]]:
    """Return a tree's entries as ``(key, name, entry)`` in full-path order.

    The key is the encoded name, with ``/`` appended for a directory.
    """
    if oid is None:
        return []
    keyed = [
        (encode(e.name) + b"/" if e.kind is EntryKind.TREE else encode(e.name), e.name, (e.kind, e.oid))
        for e in read_tree(reader, oid).entries
    ]
    # Keys are unique: names are, and "/" never occurs inside a name.
    keyed.sort(key=itemgetter(0))
    return keyed


# A unit of pending work in the tree walks: a result ready to be yielded, or
# a pair of subtrees (either may be absent) still to be compared under a prefix.
_Pending = tuple[str, ObjectId | None, ObjectId | None]


def _compare(
    prefix: str, old: list[tuple[bytes, str, Entry]], new: list[tuple[bytes, str, Entry]]
) -> list[Change | _Pending]:
    """Merge two keyed entry lists into changes and subtree pairs, in key order."""
    out: list[Change | _Pending] = []
    i = j = 0
    while i < len(old) or j < len(new):
        if j == len(new) or (i < len(old) and old[i][0] < new[j][0]):
            _, name, entry = old[i]
            i += 1
            if entry[0] is EntryKind.TREE:
                out.append((prefix + name + "/", entry[1], None))
            else:
                out.append(_change(prefix + name, entry, None))
        elif i == len(old) or new[j][0] < old[i][0]:
            _, name, entry = new[j]
            j += 1
            if entry[0] is EntryKind.TREE:
                out.append((prefix + name + "/", None, entry[1]))
            else:
                out.append(_change(prefix + name, None, entry))
        else:
            _, name, a = old[i]
            b = new[j][2]
            i += 1
            j += 1
            if a == b:
                continue  # same kind and id: for a directory, the whole subtree is skipped unread
            # invariant: equal keys mean both are directories or neither is
            if a[0] is EntryKind.TREE:
                out.append((prefix + name + "/", a[1], b[1]))
            else:
                out.append(_change(prefix + name, a, b))
    return out


def iter_tree_changes(reader: ObjectReader, old_tree: ObjectId | None, new_tree: ObjectId | None) -> Iterator[Change]:
    """Yield the file-level changes from `old_tree` to `new_tree`, in path order.

    Subtrees with the same id on both sides are skipped without being read. A
    file replaced by a directory is a deletion of the file plus additions under
    the directory (and the reverse). The walk uses an explicit stack, so tree
    depth is not bounded by Python's recursion limit.

    Args:
        reader: Where the trees are read from.
        old_tree: The old root tree; None for an empty tree.
        new_tree: The new root tree; None for an empty tree.

    Yields:
        One `Change` per path whose non-tree entry differs.

    Raises:
        ObjectNotFoundError: If a tree that must be read is absent.
        CorruptObjectError: If such a tree is malformed or not a tree.
    """
    if old_tree == new_tree:
        return
    # Processed last-in first-out; each tree's results are pushed in reverse,
    # so the output comes out depth-first in key order, which is path order.
    stack: list[Change | _Pending] = [("", old_tree, new_tree)]
    while stack:
        item = stack.pop()
        if isinstance(item, Change):
            yield item
            continue
        prefix, old, new = item
        found = _compare(prefix, _keyed_entries(reader, old), _keyed_entries(reader, new))
        found.reverse()
        stack.extend(found)


def iter_tree_entries(reader: ObjectReader, tree: ObjectId | None) -> Iterator[tuple[str, EntryKind, ObjectId]]:
    """Yield ``(path, kind, id)`` for every non-tree entry under `tree`, in path order.

    Args:
        reader: Where the trees are read from.
        tree: The root tree; None for an empty tree.

    Yields:
        The entries, directories flattened away.

    Raises:
        ObjectNotFoundError: If a tree is absent.
        CorruptObjectError: If a tree is malformed or not a tree.
    """
    if tree is None:
        return
    stack: list[tuple[str, EntryKind, ObjectId]] = [("", EntryKind.TREE, tree)]
    while stack:
        path, kind, oid = stack.pop()
        if kind is not EntryKind.TREE:
            yield path, kind, oid
            continue
        for _, name, (k, o) in reversed(_keyed_entries(reader, oid)):
            stack.append((path + name + "/" if k is EntryKind.TREE else path + name, k, o))


def flatten_tree(reader: ObjectReader, tree: ObjectId | None) -> dict[str, Entry]:
    """Return every non-tree entry under `tree`, keyed by its path, in path order.

    Args:
        reader: Where the trees are read from.
        tree: The root tree; None for an empty tree.

    Returns:
        ``path -> (kind, id)`` for each file, executable and symlink.

    Raises:
        ObjectNotFoundError: If a tree is absent.
        CorruptObjectError: If a tree is malformed or not a tree.
    """
    return {path: (kind, oid) for path, kind, oid in iter_tree_entries(reader, tree)}


def diff_changes(old: FlatEntries, new: FlatEntries) -> list[Change]:
    """Return the changes between two flat path maps, in path order.

    The result equals ``list(iter_tree_changes(...))`` for the trees the maps
    were flattened from. Only differing paths are sorted, so the cost is
    linear in the map sizes plus n log n in the number of changes.

    Args:
        old: ``path -> (kind, id)`` before, without directory entries.
        new: The same after.

    Returns:
        One `Change` per path whose entry differs.

    >>> f = EntryKind.FILE
    >>> [(c.path, c.status) for c in diff_changes({"a": (f, b"1")}, {"a/b": (f, b"1")})]
    [('a', 'deleted'), ('a/b', 'added')]
    """
    paths = [p for p, e in old.items() if new.get(p) != e]
    paths.extend(p for p in new if p not in old)
    paths.sort(key=encode)
    return [_change(p, old.get(p), new.get(p)) for p in paths]


# --- line diffs --------------------------------------------------------------------------------


def is_binary(data: bytes) -> bool:
    """Tell whether content is binary: a NUL byte in its first 8000 bytes, as git decides.

    >>> is_binary(b"text\\n"), is_binary(b"\\x00\\x01"), is_binary(b"")
    (False, True, False)
    """
    return b"\0" in data[:BINARY_SNIFF]


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a hunk: context (``" "``), addition (``"+"``) or deletion (``"-"``).

    `text` is the line without its ``\\n`` (a ``\\r`` before it is kept);
    `no_newline` is set on the last line of a side that does not end in a
    newline, shown as ``\\ No newline at end of file``.
    """

    origin: Origin
    text: bytes
    no_newline: bool = False


@dataclass(frozen=True, slots=True)
class Hunk:
    """A run of changed lines with context.

    Starts are 1-based. An empty range (0 lines) names the line before it, so
    an insertion at the top of a file has ``old_start == 0``, as in git.
    `header` is the ``@@ -l,n +l,n @@`` line, with git's function context
    after it when there is one, and no newline.
    """

    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    header: str
    lines: tuple[DiffLine, ...]


@dataclass(frozen=True, slots=True)
class FileDiff:
    """The line diff of one path.

    `old_path` equals `path` unless the caller paired a rename. For a binary
    file (`binary`), `added` and `deleted` are 0 and there are no hunks. The
    kinds, when known, give the mode lines of `format_unified`.
    """

    path: str
    old_path: str
    status: ChangeStatus
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
    """Return the stat of a file diff.

    Args:
        diff: The file diff.

    Returns:
        Its path, counts and binary flag.
    """
    return DiffStat(diff.path, diff.added, diff.deleted, diff.binary)


_ORIGINS: dict[str, Origin] = {" ": " ", "+": "+", "-": "-"}
# libgit2's "\ No newline at end of file" markers (context, addition, deletion
# side). They follow the line they belong to, whose raw content already lacks
# its "\n", so they carry no information of their own.
_EOFNL_ORIGINS = frozenset("=><")


def diff_blobs(
    path: str,
    old: bytes | None,
    new: bytes | None,
    *,
    context: int = 3,
    status: ChangeStatus | None = None,
    old_path: str | None = None,
    old_kind: EntryKind | None = None,
    new_kind: EntryKind | None = None,
) -> FileDiff:
    """Line-diff two versions of a file.

    The diff is libgit2's xdiff (Myers, git's defaults), so hunks, function
    context in hunk headers and the added/deleted counts match
    ``git diff``'s. Line endings are not normalised: a CRLF line differs from
    an LF line.

    Args:
        path: The file's path (its new path, if renamed).
        old: The old content; None if the file is absent on that side.
        new: The new content; None if the file is absent on that side.
        context: Lines of context around each change.
        status: The change status; by default ``added`` when `old` is None,
            ``deleted`` when `new` is None, else ``modified``.
        old_path: The old path, if different from `path`.
        old_kind: The old entry kind, for mode lines.
        new_kind: The new entry kind, for mode lines.

    Returns:
        The file diff: no hunks when the contents are equal; binary, with no
        hunks, when either side is binary or larger than `MAX_DIFF_BYTES`.

    Raises:
        GitInteropError: If libgit2 fails to diff the buffers.
    """
    if status is None:
        status = (
            "added" if old is None and new is not None else "deleted" if new is None and old is not None else "modified"
        )
    a = b"" if old is None else old
    b = b"" if new is None else new
    old_path = path if old_path is None else old_path

    def result(binary: bool, added: int = 0, deleted: int = 0, hunks: tuple[Hunk, ...] = ()) -> FileDiff:
        return FileDiff(path, old_path, status, binary, added, deleted, hunks, old_kind, new_kind)

    if a == b:
        return result(False)
    if is_binary(a) or is_binary(b) or len(a) > MAX_DIFF_BYTES or len(b) > MAX_DIFF_BYTES:
        return result(True)
    import pygit2  # lazy: an import of ~150 ms that only commands showing diffs pay for

    try:
        # The indent heuristic is git diff's default (diff.indentHeuristic) and not libgit2's. No
        # paths go to libgit2: without a repository it reads no attributes for them, the result
        # never shows them, and a path that is not UTF-8 (surrogateescape) cannot cross into C.
        patch = pygit2.Patch.create_from(
            a,
            b,
            flag=pygit2.enums.DiffOption.INDENT_HEURISTIC,
            context_lines=context,
        )
    except pygit2.GitError as exc:
        raise GitInteropError(f"cannot diff {path!r}: {exc}") from exc
    if patch.delta.is_binary:
        return result(True)
    hunks: list[Hunk] = []
    for h in patch.hunks:
        lines: list[DiffLine] = []
        for ln in h.lines:
            if ln.origin in _EOFNL_ORIGINS:
                continue
            raw = ln.raw_content
            if raw.endswith(b"\n"):
                lines.append(DiffLine(_ORIGINS[ln.origin], raw[:-1]))
            else:
                lines.append(DiffLine(_ORIGINS[ln.origin], raw, True))
        hunks.append(Hunk(h.old_start, h.old_lines, h.new_start, h.new_lines, h.header.rstrip("\n"), tuple(lines)))
    _, added, deleted = patch.line_stats
    return result(False, added, deleted, tuple(hunks))


_MODES = {
    EntryKind.FILE: b"100644",
    EntryKind.EXECUTABLE: b"100755",
    EntryKind.SYMLINK: b"120000",
    EntryKind.TREE: b"040000",
}
_C_ESCAPES = {7: b"\\a", 8: b"\\b", 9: b"\\t", 10: b"\\n", 11: b"\\v", 12: b"\\f", 13: b"\\r", 34: b'\\"', 92: b"\\\\"}


def _quote(name: bytes) -> bytes:
    """Quote a name in a diff header as git does (core.quotePath on).

    Names with control bytes, ``"``, ``\\`` or non-ASCII bytes are put in
    double quotes, with C escapes and octal for the rest.

    >>> _quote(b"a/x y"), _quote("a/café".encode()), _quote(b'a/q"t')
    (b'a/x y', b'"a/caf\\\\303\\\\251"', b'"a/q\\\\"t"')
    """
    if all(0x20 <= c < 0x7F and c not in (34, 92) for c in name):
        return name
    out = bytearray(b'"')
    for c in name:
        if 0x20 <= c < 0x7F and c not in (34, 92):
            out.append(c)
        else:
            out += _C_ESCAPES.get(c) or b"\\%03o" % c
    out += b'"'
    return bytes(out)


def _mode(kind: EntryKind | None) -> bytes:
    return _MODES[EntryKind.FILE if kind is None else kind]


def format_unified(diff: FileDiff) -> bytes:
    """Return the git-style unified diff of one file.

    The form is ``git diff``'s without its ``index`` line: ``diff --git``,
    mode lines for added, deleted and kind-changed files, ``rename from/to``
    when the paths differ, then ``--- a/…`` / ``+++ b/…`` (``/dev/null`` for
    an absent side) and the hunks, or ``Binary files … differ``. Names are
    quoted as git quotes them.

    Args:
        diff: The file diff.

    Returns:
        The text, ending in a newline.
    """
    new_raw, old_raw = encode(diff.path), encode(diff.old_path)
    a_name, b_name = _quote(b"a/" + old_raw), _quote(b"b/" + new_raw)
    out = [b"diff --git " + a_name + b" " + b_name]
    if diff.status == "added":
        out.append(b"new file mode " + _mode(diff.new_kind))
    elif diff.status == "deleted":
        out.append(b"deleted file mode " + _mode(diff.old_kind))
    else:
        if old_raw != new_raw:
            out.append(b"rename from " + _quote(old_raw))
            out.append(b"rename to " + _quote(new_raw))
        if diff.status == "kind":
            out.append(b"old mode " + _mode(diff.old_kind))
            out.append(b"new mode " + _mode(diff.new_kind))
    a_label = b"/dev/null" if diff.status == "added" else a_name
    b_label = b"/dev/null" if diff.status == "deleted" else b_name
    if diff.binary:
        out.append(b"Binary files " + a_label + b" and " + b_label + b" differ")
    elif diff.hunks:
        # git ends a name containing a space with a tab, so patch tools can tell where it stops.
        out.append(b"--- " + a_label + (b"\t" if a_label is a_name and b" " in old_raw else b""))
        out.append(b"+++ " + b_label + (b"\t" if b_label is b_name and b" " in new_raw else b""))
        for h in diff.hunks:
            out.append(h.header.encode("utf-8", "surrogateescape"))
            for ln in h.lines:
                out.append(ln.origin.encode("ascii") + ln.text)
                if ln.no_newline:
                    out.append(b"\\ No newline at end of file")
    out.append(b"")
    return b"\n".join(out)


# Token lines stand in for the caller's lines in the texts handed to libgit2: the i-th is i in
# hex plus "\n". libgit2 hashes both buffers (SHA-1) and xdiff hashes every line, so short
# tokens make each diff several times cheaper than the raw text. Up to `_TOKENS_KEPT` of them
# are formatted once and kept (about 3 MB); longer inputs format the rest as they go.
_TOKENS_KEPT = 1 << 16
_token_cache: tuple[bytes, ...] = ()


def _token_lines(n: int) -> Iterator[bytes]:
    """Return an endless iterator of distinct token lines, the first `n` from the cache where it reaches."""
    global _token_cache
    cache = _token_cache
    if len(cache) < min(n, _TOKENS_KEPT):
        # Rebuilt whole and swapped in, never extended in place: a thread that races here
        # swaps in a prefix of the same sequence, and every caller iterates a consistent snapshot.
        cache = tuple(map(b"%x\n".__mod__, range(min(max(n, 2 * len(cache), 4096), _TOKENS_KEPT))))
        _token_cache = cache
    return itertools.chain(cache, map(b"%x\n".__mod__, itertools.count(len(cache))))


def fill_token_cache() -> None:
    """Format all `_TOKENS_KEPT` token lines now (the command server does, once for every child)."""
    _token_lines(_TOKENS_KEPT)


def _token_texts(*texts: Sequence[bytes]) -> list[bytes]:
    """Return each text with every line replaced by its token line.

    Equal lines, in one text or in different ones, get equal tokens and
    distinct lines distinct ones (a line takes the token of the position
    where it first occurs); which token a line gets does not matter (see
    `xdiff_matcher`).

    >>> _token_texts([b"x\\n", b"y\\n"], [b"y\\n", b"z\\n", b"x\\n"])
    [b'0\\n1\\n', b'1\\n3\\n0\\n']
    """
    seen: dict[bytes, bytes] = {}
    # One dict operation per line, driven from C: map stops at the end of each text, and the
    # token iterator is shared and endless, so every position draws a fresh token.
    fresh = _token_lines(sum(map(len, texts)))
    return [b"".join(map(seen.setdefault, text, fresh)) for text in texts]


def xdiff_matcher(a: Sequence[bytes], b: Sequence[bytes]) -> list[tuple[int, int, int]]:
    """Return the matching blocks of two line lists, from libgit2's xdiff (Myers, as git).

    The matcher `vcrdt.merge.diff3` uses when results must agree with git's.
    Each distinct line is replaced by a short numbered token line before the
    diff. xdiff compares lines only for equality (its classes, heuristics and
    sliding of hunks look at nothing else with the options used here), so the
    result is the one it would give for the lines themselves, but the line
    numbers it reports are indices into `a` and `b` however the caller split
    them (a lone ``\r`` ends a line for `bytes.splitlines`, not for xdiff),
    NUL bytes cannot make libgit2 call the input binary, and libgit2 has far
    fewer bytes to hash.

    Args:
        a: Lines of one side, each with its line ending.
        b: Lines of the other side.

    Returns:
        ``(i, j, n)`` triples with ``a[i:i+n] == b[j:j+n]``, increasing on
        both sides, ending with the sentinel ``(len(a), len(b), 0)``.

    Raises:
        GitInteropError: If libgit2 fails to diff the buffers.

    >>> xdiff_matcher([b"x\\n", b"y\\n", b"z\\n"], [b"x\\n", b"z\\n"])
    [(0, 0, 1), (2, 1, 1), (3, 2, 0)]
    """
    na, nb = len(a), len(b)
    if not na or not nb:
        return [(na, nb, 0)]
    if a == b:
        return [(0, 0, na), (na, nb, 0)]
    ta, tb = _token_texts(a, b)
    return _xdiff_blocks(ta, tb, na, nb)


def xdiff_pair(
    base: Sequence[bytes], a: Sequence[bytes], b: Sequence[bytes]
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """Match `base` against both sides at once: what `xdiff_matcher` gives for each, tokenising `base` once.

    >>> xdiff_pair([b"x\\n"], [b"x\\n"], [])
    ([(0, 0, 1), (1, 1, 0)], [(1, 0, 0)])
    """
    tz, ta, tb = _token_texts(base, a, b)
    return _xdiff_side(tz, ta, len(base), len(a)), _xdiff_side(tz, tb, len(base), len(b))


def _xdiff_side(old: bytes, new: bytes, na: int, nb: int, flags: int = 0) -> list[tuple[int, int, int]]:
    """`_xdiff_blocks`, skipping libgit2 when a side is empty or equal to the other."""
    if not na or not nb:
        return [(na, nb, 0)]
    if old == new:
        # An unchanged side (common in tree merges) needs no diff: one block, as xdiff gives.
        return [(0, 0, na), (na, nb, 0)]
    return _xdiff_blocks(old, new, na, nb, flags)


def _xdiff_blocks(old: bytes, new: bytes, na: int, nb: int, flags: int = 0) -> list[tuple[int, int, int]]:
    """Matching blocks of two token texts of `na` and `nb` lines, from libgit2's xdiff (`flags`: its diff options)."""
    import pygit2  # lazy, see diff_blobs

    try:
        patch = pygit2.Patch.create_from(old, new, context_lines=0, flag=pygit2.enums.DiffOption(flags))
    except pygit2.GitError as exc:
        raise GitInteropError(f"cannot diff lines: {exc}") from exc
    blocks: list[tuple[int, int, int]] = []
    ia = ib = 0
    for h in patch.hunks:
        # An empty range names the line before it; convert to 0-based starts.
        old_start = h.old_start - 1 if h.old_lines else h.old_start
        new_start = h.new_start - 1 if h.new_lines else h.new_start
        if old_start > ia:
            # invariant: the unchanged stretch between hunks has the same length on both sides
            assert old_start - ia == new_start - ib
            blocks.append((ia, ib, old_start - ia))
        ia, ib = old_start + h.old_lines, new_start + h.new_lines
    if ia < na:
        blocks.append((ia, ib, na - ia))
    blocks.append((na, nb, 0))
    return blocks


# diff3 asks a matcher for this attribute to match the base against both sides in one go.
xdiff_matcher.pair = xdiff_pair  # type: ignore[attr-defined]


# --- the histogram algorithm ------------------------------------------------------------------
# libgit2 offers no histogram diff, so it is written here after git's description of it (JGit's
# HistogramDiff, as in git's xdiff): pick, in the current pair of ranges, the longest common run
# whose lines occur least often in the first range (at most 64 times), split there and recurse
# on both sides; then slide the changed groups as xdiff's change compaction does (without the
# indent heuristic, as merges use it). Where every common line occurs more than 64 times, the
# stretch is diffed with xdiff's Myers through libgit2.

_HISTOGRAM_MAX_CHAIN = 64


def _histogram_blocks(a: Sequence[bytes], b: Sequence[bytes]) -> list[tuple[int, int, int]]:
    """Matching blocks of a histogram diff of `a` and `b`, compacted as git compacts them."""
    changed_a = [False] * (len(a) + 2)  # position i + 1 is line i; a False sentinel at each end
    changed_b = [False] * (len(b) + 2)
    _histogram_range(a, b, 0, len(a), 0, len(b), changed_a, changed_b)
    _compact(a, changed_a, changed_b)
    _compact(b, changed_b, changed_a)
    blocks: list[tuple[int, int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        if changed_a[i + 1]:
            i += 1
        elif changed_b[j + 1]:
            j += 1
        else:
            if blocks and blocks[-1][0] + blocks[-1][2] == i and blocks[-1][1] + blocks[-1][2] == j:
                blocks[-1] = (blocks[-1][0], blocks[-1][1], blocks[-1][2] + 1)
            else:
                blocks.append((i, j, 1))
            i += 1
            j += 1
    blocks.append((len(a), len(b), 0))
    return blocks


def _histogram_range(
    a: Sequence[bytes],
    b: Sequence[bytes],
    a0: int,
    a1: int,
    b0: int,
    b1: int,
    changed_a: list[bool],
    changed_b: list[bool],
) -> None:
    """Mark the changed lines of ``a[a0:a1]`` against ``b[b0:b1]``."""
    while True:
        if a0 == a1 or b0 == b1:
            for i in range(a0, a1):
                changed_a[i + 1] = True
            for j in range(b0, b1):
                changed_b[j + 1] = True
            return
        found = _histogram_lcs(a, b, a0, a1, b0, b1)
        if found is None:  # every common line is too frequent: Myers on this stretch
            _mark_unmatched(xdiff_matcher(a[a0:a1], b[b0:b1]), a0, b0, changed_a, changed_b)
            return
        if not found:  # nothing in common: all changed
            _mark_unmatched([], a0, b0, changed_a, changed_b, a1, b1)
            return
        sa, sb, ea, eb = found
        _histogram_range(a, b, a0, sa, b0, sb, changed_a, changed_b)
        a0, b0 = ea, eb


def _mark_unmatched(
    blocks: list[tuple[int, int, int]],
    a0: int,
    b0: int,
    changed_a: list[bool],
    changed_b: list[bool],
    a1: int | None = None,
    b1: int | None = None,
) -> None:
    """Mark as changed the lines from (a0, b0) that `blocks` (relative, with a sentinel, or up to a1/b1) leave out."""
    if a1 is not None and b1 is not None:
        blocks = [(a1 - a0, b1 - b0, 0)]
    ia, ib = a0, b0
    for i, j, n in blocks:
        for k in range(ia, a0 + i):
            changed_a[k + 1] = True
        for k in range(ib, b0 + j):
            changed_b[k + 1] = True
        ia, ib = a0 + i + n, b0 + j + n


def _histogram_lcs(
    a: Sequence[bytes], b: Sequence[bytes], a0: int, a1: int, b0: int, b1: int
) -> tuple[int, int, int, int] | tuple[()] | None:
    """The common run to split at: ``(a start, b start, a end, b end)``, ``()`` if none, None to fall back."""
    first: dict[bytes, int] = {}  # each line's first position in the range
    count: dict[bytes, int] = {}
    following: dict[int, int] = {}  # position -> the same line's next position
    for pos in range(a1 - 1, a0 - 1, -1):
        line = a[pos]
        nxt = first.get(line)
        if nxt is not None:
            following[pos] = nxt
        first[line] = pos
        count[line] = count.get(line, 0) + 1
    best: tuple[int, int, int, int] | tuple[()] = ()
    best_len = 0
    limit = _HISTOGRAM_MAX_CHAIN + 1
    common = False
    j = b0
    while j < b1:
        line = b[j]
        j_next = j + 1
        at = first.get(line)
        if at is not None:
            common = True
            if count[line] > limit:
                at = None  # too frequent for the run found so far
        while at is not None:
            sa, sb, ea, eb = at, j, at, j
            rarity = count[line]
            while sa > a0 and sb > b0 and a[sa - 1] == b[sb - 1]:
                sa -= 1
                sb -= 1
                if rarity > 1:
                    rarity = min(rarity, count[a[sa]])
            while ea < a1 - 1 and eb < b1 - 1 and a[ea + 1] == b[eb + 1]:
                ea += 1
                eb += 1
                if rarity > 1:
                    rarity = min(rarity, count[a[ea]])
            j_next = max(j_next, eb + 1)
            if best_len < ea - sa or rarity < limit:
                best, best_len, limit = (sa, sb, ea + 1, eb + 1), ea - sa, rarity
            # The next occurrence of the line past this run.
            at = following.get(at)
            while at is not None and at <= ea:
                at = following.get(at)
        j = j_next
    if common and limit > _HISTOGRAM_MAX_CHAIN:
        return None
    return best


def _compact(lines: Sequence[bytes], changed: list[bool], other: list[bool]) -> None:
    """Slide each group of changed lines as xdiff's change compaction does (no indent heuristic).

    A group slides up while the line before it equals its last line, and down
    while the line after it equals its first, merging with groups it meets;
    it then rests at its lowest position, or, when some position lines it up
    with a group of changes in the other file, at the lowest such position.
    `other` walks along group by group (its groups correspond one to one).
    """
    n = len(lines)
    g = _Group(changed, n)
    go = _Group(other, len(other) - 2)
    while True:
        if g.end != g.start:
            while True:
                size = g.end - g.start
                matching_end = -1
                while g.slide_up(lines):
                    go.previous()
                earliest_end = g.end
                if go.end > go.start:
                    matching_end = g.end
                while g.slide_down(lines):
                    go.next()
                    if go.end > go.start:
                        matching_end = g.end
                if size == g.end - g.start:
                    break
            if g.end != earliest_end and matching_end != -1:
                while go.end == go.start:
                    g.slide_up(lines)
                    go.previous()
        if not g.next():
            break
        go.next()


class _Group:
    """A (possibly empty) run of changed lines ``[start, end)`` in a changed-flags list with sentinels."""

    def __init__(self, changed: list[bool], n: int) -> None:
        self.changed, self.n = changed, n
        self.start = self.end = 0
        while changed[self.end + 1]:
            self.end += 1

    def next(self) -> bool:
        if self.end == self.n:
            return False
        self.start = self.end = self.end + 1
        while self.changed[self.end + 1]:
            self.end += 1
        return True

    def previous(self) -> bool:
        if self.start == 0:
            return False
        self.end = self.start = self.start - 1
        while self.changed[self.start]:
            self.start -= 1
        return True

    def slide_down(self, lines: Sequence[bytes]) -> bool:
        if self.end < self.n and lines[self.start] == lines[self.end]:
            self.changed[self.start + 1] = False
            self.changed[self.end + 1] = True
            self.start += 1
            self.end += 1
            while self.changed[self.end + 1]:
                self.end += 1
            return True
        return False

    def slide_up(self, lines: Sequence[bytes]) -> bool:
        if self.start > 0 and lines[self.start - 1] == lines[self.end - 1]:
            self.start -= 1
            self.end -= 1
            self.changed[self.start + 1] = True
            self.changed[self.end + 1] = False
            while self.changed[self.start]:
                self.start -= 1
            return True
        return False


DiffAlgorithm = Literal["myers", "minimal", "patience", "histogram"]
# git's names (`--diff-algorithm`); "default" is git's other name for myers.
DIFF_ALGORITHMS: tuple[str, ...] = ("myers", "default", "minimal", "patience", "histogram")
# The algorithms libgit2 offers (pygit2's DiffOption flags); histogram is `_histogram_blocks`.
_XDIFF_FLAGS = {"myers": 0, "default": 0, "minimal": 1 << 29, "patience": 1 << 28}


class _FlaggedMatcher:
    """`xdiff_matcher` with libgit2 diff flags (the minimal or patience algorithm)."""

    def __init__(self, flags: int) -> None:
        self.flags = flags

    def __call__(self, a: Sequence[bytes], b: Sequence[bytes]) -> list[tuple[int, int, int]]:
        na, nb = len(a), len(b)
        if not na or not nb:
            return [(na, nb, 0)]
        if a == b:
            return [(0, 0, na), (na, nb, 0)]
        ta, tb = _token_texts(a, b)
        return _xdiff_blocks(ta, tb, na, nb, self.flags)

    def pair(
        self, base: Sequence[bytes], a: Sequence[bytes], b: Sequence[bytes]
    ) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """Match `base` against both sides, tokenising it once (see `xdiff_pair`)."""
        tz, ta, tb = _token_texts(base, a, b)
        return (
            _xdiff_side(tz, ta, len(base), len(a), self.flags),
            _xdiff_side(tz, tb, len(base), len(b), self.flags),
        )


def line_matcher(algorithm: str = "myers") -> Callable[[Sequence[bytes], Sequence[bytes]], list[tuple[int, int, int]]]:
    """Return the line matcher for one of git's diff algorithms.

    Args:
        algorithm: ``myers`` (or ``default``), ``minimal``, ``patience`` or ``histogram``.

    Returns:
        A matcher for `vcrdt.merge.diff3`: `xdiff_matcher` for myers, libgit2's xdiff with
        flags for minimal and patience, `_histogram_blocks` (pure Python) for histogram.

    Raises:
        GitInteropError: For an unknown name.
    """
    if algorithm == "histogram":
        return _histogram_blocks
    flags = _XDIFF_FLAGS.get(algorithm)
    if flags is None:
        raise GitInteropError(f"unknown diff algorithm {algorithm!r}: use one of {', '.join(DIFF_ALGORITHMS)}")
    return xdiff_matcher if not flags else _FlaggedMatcher(flags)
