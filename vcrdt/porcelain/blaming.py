"""Blame: which commit last changed each line of a file.

Blame starts with every line of the file as it is in the asked-for commit,
held by that commit. A commit holding lines passes each of them to a parent
that has the line too, by the line diff of the parent's version against its
own (`vcrdt.diff.xdiff.diff_blobs`, git's xdiff with git blame's options: no
context, the indent heuristic); the lines no parent takes are the commit's.
That is git's algorithm, so on a history without merges every line goes to
the commit ``git blame`` names.

Merges: by default only the first parent is asked (what the branch itself
did), so a line a merge brought in from another branch is the merge's. With
`all_parents` every parent is asked in order, and each takes the lines it
matches among those the earlier parents left, as git does; a parent holding
the file unchanged takes every line first.

Commits are visited newest first (by Lamport clock, which orders a child
before its parents), so a commit that several children pass lines to is
visited once, with all of them. A path missing from a parent is looked for
under the name it had there (the renames of `vcrdt.merge.renames`), as git
blame follows a whole-file rename.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field

from vcrdt.dag import read_commit
from vcrdt.diff.lines import is_binary
from vcrdt.diff.xdiff import diff_blobs, xdiff_matcher
from vcrdt.errors import VcrdtError
from vcrdt.ids import ObjectId
from vcrdt.merge.renames import find_renames
from vcrdt.objects import Commit, EntryKind
from vcrdt.repo import Repository
from vcrdt.store import LARGE_OBJECT

# Kinds whose content blame reads as lines (a symlink's is its target, as git blames it).
_BLAMABLE = (EntryKind.FILE, EntryKind.EXECUTABLE, EntryKind.SYMLINK)


@dataclass(frozen=True, slots=True)
class BlameLine:
    """One line of the blamed file and the commit it comes from.

    `line` is its number in the blamed file, `orig_line` its number in
    `commit`'s version of the file, which was at `path` there (another name
    than the blamed one when the file was renamed since). Both 1-based.
    `text` is the line without its ``\\n``.
    """

    line: int
    commit: ObjectId
    orig_line: int
    path: str
    text: bytes


@dataclass(frozen=True, slots=True)
class BlameResult:
    """Every asked-for line of a file with its commit, and those commits.

    `boundary` holds the commits that had no parent to ask (root commits),
    which git marks with ``^``.
    """

    path: str
    revision: ObjectId
    lines: list[BlameLine]
    commits: dict[ObjectId, Commit]
    boundary: frozenset[ObjectId] = field(default_factory=frozenset)


def split_lines(data: bytes) -> list[bytes]:
    """Split content into lines as xdiff does: at ``\\n`` only, each keeping it (the last may lack one).

    >>> split_lines(b"a\\r\\nb\\nc"), split_lines(b""), split_lines(b"x\\n")
    ([b'a\\r\\n', b'b\\n', b'c'], [], [b'x\\n'])
    """
    parts = data.split(b"\n")
    out = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def parse_line_range(spec: str, total: int, path: str) -> tuple[int, int]:
    """Read git's ``-L`` forms: ``START,END``, ``START,+COUNT``, ``START,-COUNT``, ``START,``, ``,END``, ``START``.

    A range given backwards is turned round, as git does.

    Args:
        spec: The range text.
        total: The number of lines in the file.
        path: The file, for the messages.

    Returns:
        The first and last line, 1-based and inclusive.

    Raises:
        VcrdtError: If the text is not a range, or it starts or ends past the end of the file.

    >>> parse_line_range("2,3", 5, "f"), parse_line_range("4,", 5, "f"), parse_line_range("3,-2", 5, "f")
    ((2, 3), (4, 5), (2, 3))
    """
    left, comma, right = spec.partition(",")
    try:
        start = int(left) if left else 1
        if not comma or not right:
            end = total
        elif right.startswith("+"):
            end = start + int(right[1:]) - 1
        elif right.startswith("-"):
            start, end = max(start - int(right[1:]) + 1, 1), start
        else:
            end = int(right)
    except ValueError:
        raise VcrdtError(f"invalid line range {spec!r}: expected START,END") from None
    if start < 1 or end < 1:
        raise VcrdtError(f"invalid line range {spec!r}: lines are numbered from 1")
    if start > end:
        start, end = end, start
    if end > total:
        raise VcrdtError(f"file {path} has only {total} line{'s' if total != 1 else ''}")
    return start, end


def _matching_blocks(old: bytes, new: bytes) -> list[tuple[int, int, int]]:
    """Return ``(i, j, n)``: lines ``old[i:i+n]`` are lines ``new[j:j+n]``, by git blame's line diff.

    The diff is `diff_blobs` with no context (its hunks are exactly the changed
    runs). Content libgit2 calls binary though it has no NUL byte (many control
    bytes) is matched by `xdiff_matcher` instead, on the same lines.
    """
    diff = diff_blobs("", old, new, context=0)
    if diff.binary:
        return xdiff_matcher(split_lines(old), split_lines(new))
    blocks: list[tuple[int, int, int]] = []
    ia = ib = 0
    for h in diff.hunks:
        # An empty range names the line before it: convert to 0-based starts.
        old_start = h.old_start - 1 if h.old_lines else h.old_start
        new_start = h.new_start - 1 if h.new_lines else h.new_start
        if old_start > ia:
            blocks.append((ia, ib, old_start - ia))
        ia, ib = old_start + h.old_lines, new_start + h.new_lines
    n_old = len(split_lines(old))
    if ia < n_old:
        blocks.append((ia, ib, n_old - ia))
    return blocks


# A suspect: a commit and the path the blamed file had there.
_Suspect = tuple[ObjectId, str]
# A run of lines a suspect holds: the index of the first in the blamed file and in the suspect's
# version of it, and how many follow on in both.
_Held = tuple[int, int, int]


class _Blamer:
    """The walk: suspects newest first, each passing the lines it holds to its parents."""

    def __init__(self, repo: Repository, all_parents: bool) -> None:
        self.repo = repo
        self.all_parents = all_parents
        self.commits: dict[ObjectId, Commit] = {}
        self.blobs: dict[_Suspect, ObjectId] = {}
        self.held: dict[_Suspect, list[_Held]] = {}
        self.queue: list[tuple[int, int, int, str, ObjectId]] = []
        self.owner: dict[int, tuple[ObjectId, int, str]] = {}
        self.boundary: set[ObjectId] = set()

    def commit(self, oid: ObjectId) -> Commit:
        c = self.commits.get(oid)
        if c is None:
            c = self.commits[oid] = read_commit(self.repo.store, oid)
        return c

    def give(self, suspect: _Suspect, blob: ObjectId, lines: list[_Held]) -> None:
        """Hand lines to a suspect, queueing it the first time."""
        if suspect not in self.held:
            c = self.commit(suspect[0])
            self.held[suspect] = []
            self.blobs[suspect] = blob
            key = (-c.lamport, -c.author.timestamp, -int.from_bytes(suspect[0], "big"), suspect[1], suspect[0])
            heapq.heappush(self.queue, key)
        self.held[suspect].extend(lines)

    def run(self) -> None:
        while self.queue:
            *_, path, oid = heapq.heappop(self.queue)
            suspect = (oid, path)
            lines = self.held.pop(suspect)
            blob = self.blobs.pop(suspect)
            for final, idx, count in self.pass_to_parents(oid, path, blob, lines):
                for k in range(count):
                    self.owner[final + k] = (oid, idx + k, path)

    def origin(self, parent: ObjectId, child: ObjectId, path: str) -> tuple[str, ObjectId] | None:
        """The path and blob of the blamed file in `parent`: at `path`, else where `child` renamed it from."""
        entry = self.repo.tree_lookup(self.commit(parent).tree, path)
        if entry is None:
            old_flat = self.repo.commit_flat(parent)
            renames = find_renames(self.repo.store, old_flat, self.repo.commit_flat(child))
            source = next((p for p, q in renames.items() if q == path), None)
            if source is None:
                return None
            path, entry = source, old_flat[source]
        kind, oid = entry
        return (path, oid) if kind in _BLAMABLE else None

    def pass_to_parents(self, oid: ObjectId, path: str, blob: ObjectId, lines: list[_Held]) -> list[_Held]:
        """Give each parent the held lines it has; return the lines no parent took."""
        c = self.commit(oid)
        parents = c.parents if self.all_parents else c.parents[:1]
        if not c.parents:
            self.boundary.add(oid)
        origins = [(p, o) for p in parents if (o := self.origin(p, oid, path)) is not None]
        for p, (ppath, pblob) in origins:
            if pblob == blob:
                self.give((p, ppath), pblob, lines)  # the parent has the file as it is: every line is its
                return []
        data: bytes | None = None
        for p, (ppath, pblob) in origins:
            if not lines:
                break
            old = _text(self.repo, pblob)
            if old is None:
                continue
            if data is None:
                data = self.repo.store.get(blob)[1]
            taken, left = _split(lines, _matching_blocks(old, data))
            if taken:
                self.give((p, ppath), pblob, taken)
            lines = left
        return lines


def _split(lines: list[_Held], blocks: list[tuple[int, int, int]]) -> tuple[list[_Held], list[_Held]]:
    """Split runs of held lines by the blocks a parent matches: the parts it takes (at its indexes), the rest.

    `blocks` are ``(i, j, n)``, the parent's lines ``i..i+n`` being this version's ``j..j+n``,
    in order of `j` and apart (`_matching_blocks`).

    >>> _split([(0, 0, 5), (10, 8, 2)], [(0, 1, 2), (3, 4, 5)])
    ([(1, 0, 2), (4, 3, 1), (10, 7, 1)], [(0, 0, 1), (3, 3, 1), (11, 9, 1)])
    """
    starts = [j for _, j, _ in blocks]
    taken: list[_Held] = []
    left: list[_Held] = []
    for final, idx, count in lines:
        end = idx + count
        k = max(bisect.bisect_right(starts, idx) - 1, 0)
        at = idx
        while k < len(blocks) and at < end:
            i, j, n = blocks[k]
            lo, hi = max(at, j), min(end, j + n)
            if lo < hi:
                if at < lo:
                    left.append((final + at - idx, at, lo - at))
                taken.append((final + lo - idx, i + lo - j, hi - lo))
                at = hi
            if j + n <= at or j + n <= lo:
                k += 1
            elif lo >= hi:
                break
        if at < end:
            left.append((final + at - idx, at, end - at))
    return taken, left


def _text(repo: Repository, oid: ObjectId) -> bytes | None:
    """A blob's content, or None when it is binary or too large to diff."""
    if repo.store.info(oid)[1] > LARGE_OBJECT:
        return None
    data = repo.store.get(oid)[1]
    return None if is_binary(data) else data


def blame(
    repo: Repository,
    path: str,
    rev: str = "HEAD",
    *,
    all_parents: bool = False,
    line_range: str | None = None,
) -> BlameResult:
    """Return each line of `path` as it is in `rev` with the commit that last changed it (see the module doc).

    Args:
        repo: The repository.
        path: A repository path.
        rev: The revision whose version of the file is blamed.
        all_parents: Ask every parent of a merge, not only the first.
        line_range: Only these lines, in git's ``-L`` forms (`parse_line_range`).

    Returns:
        The lines, in file order, and the commits they name.

    Raises:
        BadRevisionError: If `rev` does not resolve.
        VcrdtError: If `path` is no file in `rev`, the file is binary, or the range is not in the file.
    """
    oid = repo.resolve(rev)
    blamer = _Blamer(repo, all_parents)
    entry = repo.tree_lookup(blamer.commit(oid).tree, path)
    if entry is None or entry[0] not in _BLAMABLE:
        raise VcrdtError(f"no such file {path!r} in {rev}")
    if repo.store.info(entry[1])[1] > LARGE_OBJECT:
        raise VcrdtError(f"cannot blame binary file: {path}", hint="it is larger than blame reads")
    data = repo.store.get(entry[1])[1]
    if is_binary(data):
        raise VcrdtError(f"cannot blame binary file: {path}")
    texts = split_lines(data)
    first, last = parse_line_range(line_range, len(texts), path) if line_range else (1, len(texts))
    wanted = list(range(first - 1, last))
    if wanted:
        blamer.give((oid, path), entry[1], [(first - 1, first - 1, len(wanted))])
        blamer.run()
    lines = []
    for i in wanted:
        commit, idx, where = blamer.owner[i]
        lines.append(BlameLine(i + 1, commit, idx + 1, where, texts[i].removesuffix(b"\n")))
    used = {ln.commit for ln in lines}
    return BlameResult(
        path,
        oid,
        lines,
        {o: c for o, c in blamer.commits.items() if o in used},
        frozenset(blamer.boundary & used),
    )
