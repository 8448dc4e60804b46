"""The histogram diff algorithm, in Python: libgit2 offers no histogram diff.

Written after git's description of it (JGit's HistogramDiff, as in git's xdiff):
pick, in the current pair of ranges, the longest common run whose lines occur
least often in the first range (at most 64 times), split there and recurse on
both sides; then slide the changed groups as xdiff's change compaction does
(without the indent heuristic, as merges use it). Where every common line occurs
more than 64 times, the stretch is diffed with xdiff's Myers through libgit2
(`vcrdt.diff.xdiff`).
"""

from __future__ import annotations

from collections.abc import Sequence

from vcrdt.diff.xdiff import xdiff_matcher

_HISTOGRAM_MAX_CHAIN = 64


def histogram_blocks(a: Sequence[bytes], b: Sequence[bytes]) -> list[tuple[int, int, int]]:
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
