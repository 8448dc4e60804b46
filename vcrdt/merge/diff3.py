"""Three-way merge of line sequences (diff3), shaped like the classic algorithm.

Method. Match the base O against each side (A and B) with a line matcher,
giving increasing blocks of equal lines. Lines of O matched in *both* sides
form *sync regions*: stable ground where nothing changed. Between two sync
regions lies an unstable chunk, classified by comparing its three texts:

- unchanged: A and B both equal O;
- ``a`` / ``b``: only one side changed it, that side's text is taken;
- ``same``: both sides made the identical change (a false conflict), taken once;
- ``conflict``: all three differ.

Two changes are independent only when at least one base line matched on
both sides separates them, so edits to adjacent lines, and insertions at the
same point or next to the other side's edit, conflict: the semantics of
``git merge-file`` (xdiff's strict adjacency rule), which the tests pin
against the real tool.

The layers are generators a caller can stop at: `iter_sync_regions` ->
`iter_regions` -> `refine` (git's "zealous" splitting of a conflict where the
two sides agree, and merging conflicts separated only by lines without
letters or digits) -> `render`. The matcher is a `Matcher` passed in; the
default is a pure-Python Myers diff (`myers_matcher`), and `vcrdt.diff`
offers libgit2's C xdiff for speed. Pure: imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

Line = bytes
# A matching block: (start in the first sequence, start in the second, length).
Block = tuple[int, int, int]
# Lines matched in all three: (base_start, base_end, a_start, a_end, b_start, b_end).
SyncRegion = tuple[int, int, int, int, int, int]
Matcher = Callable[[Sequence[Line], Sequence[Line]], list[Block]]
RegionKind = Literal["unchanged", "a", "b", "same", "conflict"]
Style = Literal["merge", "diff3", "zdiff3"]
STYLES: tuple[Style, ...] = ("merge", "diff3", "zdiff3")
MARKER_LEN = 7


@dataclass(frozen=True, slots=True)
class Region:
    """A run of the merge: `kind` says which side's lines it takes.

    For a conflict, `base`, `a` and `b` hold the three texts; otherwise all
    three hold the lines the result takes.
    """

    kind: RegionKind
    base: tuple[Line, ...]
    a: tuple[Line, ...]
    b: tuple[Line, ...]
    base_start: int = 0
    a_start: int = 0
    b_start: int = 0

    @property
    def lines(self) -> tuple[Line, ...]:
        """The resolved lines (for a conflict: A's, by convention)."""
        return self.b if self.kind == "b" else self.a


# --- matching -----------------------------------------------------------------------------


def myers_matcher(a: Sequence[Line], b: Sequence[Line]) -> list[Block]:
    """Return the matching blocks of a shortest edit script (Myers, O((N+M)D)), ending with a sentinel.

    Common prefix and suffix are stripped first, as xdiff does.

    >>> myers_matcher([b"a", b"b", b"c"], [b"a", b"c"])
    [(0, 0, 1), (2, 1, 1), (3, 2, 0)]
    """
    n, m = len(a), len(b)
    pre = 0
    while pre < n and pre < m and a[pre] == b[pre]:
        pre += 1
    suf = 0
    while suf < n - pre and suf < m - pre and a[n - 1 - suf] == b[m - 1 - suf]:
        suf += 1
    ids: dict[Line, int] = {}
    xa = [ids.setdefault(x, len(ids)) for x in a[pre : n - suf]]
    xb = [ids.setdefault(x, len(ids)) for x in b[pre : m - suf]]
    pairs = _myers_pairs(xa, xb)
    blocks: list[Block] = []
    if pre:
        blocks.append((0, 0, pre))
    for i, j in pairs:
        i, j = i + pre, j + pre
        if blocks and blocks[-1][0] + blocks[-1][2] == i and blocks[-1][1] + blocks[-1][2] == j:
            s0, s1, ln = blocks[-1]
            blocks[-1] = (s0, s1, ln + 1)
        else:
            blocks.append((i, j, 1))
    if suf:
        i, j = n - suf, m - suf
        if blocks and blocks[-1][0] + blocks[-1][2] == i and blocks[-1][1] + blocks[-1][2] == j:
            s0, s1, ln = blocks[-1]
            blocks[-1] = (s0, s1, ln + suf)
        else:
            blocks.append((i, j, suf))
    blocks.append((n, m, 0))
    return blocks


def _myers_pairs(a: list[int], b: list[int]) -> list[tuple[int, int]]:
    """Return the matched index pairs of a shortest edit script between `a` and `b`."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return []
    maxd = n + m
    offset = maxd + 1
    v = [0] * (2 * maxd + 3)
    trace: list[list[int]] = []
    for d in range(maxd + 1):
        trace.append(v[:])
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]
            else:
                x = v[offset + k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            v[offset + k] = x
            if x >= n and y >= m:
                return _backtrack(trace, a, b, d, k, offset)
    return []  # pragma: no cover - the loop always reaches the end


def _backtrack(
    trace: list[list[int]], a: list[int], b: list[int], d: int, k: int, offset: int
) -> list[tuple[int, int]]:
    x, y = len(a), len(b)
    pairs: list[tuple[int, int]] = []
    for dd in range(d, 0, -1):
        v = trace[dd]
        kk = x - y
        if kk == -dd or (kk != dd and v[offset + kk - 1] < v[offset + kk + 1]):
            prev_k = kk + 1
        else:
            prev_k = kk - 1
        prev_x = v[offset + prev_k]
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            x -= 1
            y -= 1
            pairs.append((x, y))
        x, y = prev_x, prev_y
    while x > 0 and y > 0:
        x -= 1
        y -= 1
        pairs.append((x, y))
    pairs.reverse()
    return pairs


# --- regions --------------------------------------------------------------------------------


def iter_sync_regions(
    base: Sequence[Line], a: Sequence[Line], b: Sequence[Line], matcher: Matcher = myers_matcher
) -> Iterator[SyncRegion]:
    """Yield ``(base_start, base_end, a_start, a_end, b_start, b_end)`` of lines matched in all three.

    The last region is an empty sentinel at the ends of the three sequences.
    """
    pair = getattr(matcher, "pair", None)
    # A matcher may offer `pair(base, a, b)` to share work on the base between the two diffs.
    ma, mb = pair(base, a, b) if pair is not None else (matcher(base, a), matcher(base, b))
    ia = ib = 0
    while ia < len(ma) - 1 and ib < len(mb) - 1:
        abase, amatch, alen = ma[ia]
        bbase, bmatch, blen = mb[ib]
        lo = max(abase, bbase)
        hi = min(abase + alen, bbase + blen)
        if lo < hi:
            asub = amatch + (lo - abase)
            bsub = bmatch + (lo - bbase)
            # invariant: the three slices are equal lines
            yield lo, hi, asub, asub + (hi - lo), bsub, bsub + (hi - lo)
        if abase + alen < bbase + blen:
            ia += 1
        else:
            ib += 1
    yield len(base), len(base), len(a), len(a), len(b), len(b)


def iter_regions(
    base: Sequence[Line], a: Sequence[Line], b: Sequence[Line], matcher: Matcher = myers_matcher
) -> Iterator[Region]:
    """Yield the merge as stable and unstable regions, in order."""
    return _iter_regions(base, a, b, iter_sync_regions(base, a, b, matcher))


def _iter_regions(
    base: Sequence[Line], a: Sequence[Line], b: Sequence[Line], syncs: Iterable[SyncRegion]
) -> Iterator[Region]:
    """`iter_regions` over sync regions already found."""
    iz = ia = ib = 0
    for zmatch, zend, amatch, aend, bmatch, bend in syncs:
        zs, as_, bs = tuple(base[iz:zmatch]), tuple(a[ia:amatch]), tuple(b[ib:bmatch])
        if zs or as_ or bs:
            if as_ == bs:
                kind: RegionKind = "unchanged" if as_ == zs else "same"
            elif as_ == zs:
                kind = "b"
            elif bs == zs:
                kind = "a"
            else:
                kind = "conflict"
            yield Region(kind, zs, as_, bs, iz, ia, ib)
        if zend > zmatch:
            same = tuple(base[zmatch:zend])
            yield Region("unchanged", same, same, same, zmatch, amatch, bmatch)
        iz, ia, ib = zend, aend, bend


def _clean_lines(base: list[Line], a: list[Line], b: list[Line], syncs: list[SyncRegion]) -> list[Line] | None:
    """Return the merged lines if nothing conflicts, else None: `iter_regions` without the regions.

    The same decisions as `_iter_regions`, made on list slices with no Region
    or tuple built, since most merges are clean and a clean result needs only
    its lines.
    """
    out: list[Line] = []
    iz = ia = ib = 0
    for zmatch, zend, amatch, aend, bmatch, bend in syncs:
        if ia < amatch or ib < bmatch or iz < zmatch:
            as_, bs = a[ia:amatch], b[ib:bmatch]
            if as_ == bs:
                out += as_  # unchanged, or the same change on both sides
            else:
                zs = base[iz:zmatch]
                if as_ == zs:
                    out += bs
                elif bs == zs:
                    out += as_
                else:
                    return None
        out += base[zmatch:zend]
        iz, ia, ib = zend, aend, bend
    return out


def _has_alnum(line: Line) -> bool:
    return any(c < 128 and chr(c).isalnum() for c in line)


def refine(regions: Iterator[Region] | list[Region], matcher: Matcher = myers_matcher) -> list[Region]:
    """Present conflicts as git's default (xdiff level ZEALOUS_ALNUM) does.

    Each conflict is split where its two sides agree (the agreeing lines
    become plain text); then neighbouring conflicts separated by at most
    three unchanged lines, or by lines without a letter or digit, are joined
    into one. The verdict clean/conflicting never changes, only how much text
    sits inside the markers and how many conflicts are counted.
    """
    split: list[Region] = []
    for r in regions:
        if r.kind != "conflict" or not r.a or not r.b:
            split.append(r)
            continue
        ia = ib = 0
        for sa, sb, ln in matcher(r.a, r.b):
            if sa > ia or sb > ib:
                split.append(Region("conflict", r.base if ia == 0 and ib == 0 else (), r.a[ia:sa], r.b[ib:sb]))
            if ln:
                common = r.a[sa : sa + ln]
                # Lines both sides agree on inside a conflict: plain text, not a barrier.
                split.append(Region("unchanged", common, common, common))
            ia, ib = sa + ln, sb + ln
    return _simplify(split)


def _simplify(regions: list[Region]) -> list[Region]:
    out: list[Region] = []
    i = 0
    while i < len(regions):
        r = regions[i]
        if r.kind != "conflict":
            out.append(r)
            i += 1
            continue
        cur = r
        j = i + 1
        while True:
            k = j
            gap: list[Line] = []
            while k < len(regions) and regions[k].kind == "unchanged":
                gap.extend(regions[k].a)
                k += 1
            if k >= len(regions) or regions[k].kind != "conflict":
                break
            if len(gap) > 3 and any(_has_alnum(x) for x in gap):
                break
            nxt = regions[k]
            g = tuple(gap)
            cur = Region("conflict", cur.base + g + nxt.base, cur.a + g + nxt.a, cur.b + g + nxt.b)
            j = k + 1
        out.append(cur)
        i = j
    return out


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The merged regions and the count of conflicts among them."""

    regions: tuple[Region, ...]

    @property
    def conflicts(self) -> int:
        """Number of conflicting regions."""
        return sum(1 for r in self.regions if r.kind == "conflict")

    @property
    def is_clean(self) -> bool:
        """True when nothing conflicts."""
        return self.conflicts == 0

    def clean_lines(self) -> list[Line]:
        """The merged lines; only meaningful when `is_clean`."""
        out: list[Line] = []
        for r in self.regions:
            out.extend(r.lines)
        return out


def merge_lines(
    base: Sequence[Line],
    a: Sequence[Line],
    b: Sequence[Line],
    *,
    matcher: Matcher = myers_matcher,
    style: Style = "merge",
) -> MergeResult:
    """Merge two descendants of `base`.

    Args:
        base: The common ancestor's lines (each with its line ending).
        a: One side's lines ("ours").
        b: The other side's lines ("theirs").
        matcher: The line matcher.
        style: ``merge`` refines conflicts as git's default does; ``diff3`` and
            ``zdiff3`` keep whole conflicts with their base text.

    Returns:
        The regions.
    """
    return _styled(list(iter_regions(base, a, b, matcher)), matcher, style)


def _styled(regions: list[Region], matcher: Matcher, style: Style) -> MergeResult:
    if style == "merge":
        return MergeResult(tuple(refine(regions, matcher)))
    if style == "zdiff3":
        return MergeResult(tuple(_zealous_trim(regions)))
    return MergeResult(tuple(regions))


def _zealous_trim(regions: list[Region]) -> list[Region]:
    """Move the sides' common leading and trailing lines out of each conflict (zdiff3)."""
    out: list[Region] = []
    for r in regions:
        if r.kind != "conflict":
            out.append(r)
            continue
        pre = 0
        while pre < len(r.a) and pre < len(r.b) and r.a[pre] == r.b[pre]:
            pre += 1
        suf = 0
        while suf < len(r.a) - pre and suf < len(r.b) - pre and r.a[-1 - suf] == r.b[-1 - suf]:
            suf += 1
        if pre:
            out.append(Region("same", r.a[:pre], r.a[:pre], r.a[:pre], r.base_start))
        out.append(Region("conflict", r.base, r.a[pre : len(r.a) - suf], r.b[pre : len(r.b) - suf], r.base_start))
        if suf:
            tail = r.a[len(r.a) - suf :]
            out.append(Region("same", tail, tail, tail, r.base_start))
    return out


def split_lines(data: bytes) -> list[Line]:
    r"""Split bytes into lines that keep their endings (the last may lack one).

    >>> split_lines(b"a\nb\r\nc")
    [b'a\n', b'b\r\n', b'c']
    """
    return data.splitlines(keepends=True) if data else []


def marker_length(*texts: Sequence[Line]) -> int:
    """Return a conflict-marker length longer than any marker-like line already in the texts (as jj does)."""
    longest = MARKER_LEN - 1
    for text in texts:
        for line in text:
            for ch in (b"<", b">", b"=", b"|"):
                if line.startswith(ch * MARKER_LEN):
                    run = len(line) - len(line.lstrip(ch))
                    longest = max(longest, run)
    return max(MARKER_LEN, longest + 1)


def render(
    result: MergeResult,
    *,
    style: Style = "merge",
    labels: tuple[str, str, str] = ("ours", "base", "theirs"),
    marker_len: int = MARKER_LEN,
) -> bytes:
    """Render a merge as bytes, with conflict markers in the given style.

    A side whose last line lacks a newline gets one inside a conflict block,
    so every marker sits on its own line (as git does).
    """
    out: list[bytes] = []
    eol = _dominant_eol(result)
    lt, eq, gt, bar = (c * marker_len for c in (b"<", b"=", b">", b"|"))
    ours, base_label, theirs = (x.encode("utf-8", "surrogateescape") for x in labels)

    def block(lines: tuple[Line, ...]) -> None:
        for ln in lines:
            out.append(ln if ln.endswith(b"\n") else ln + eol)

    for r in result.regions:
        if r.kind != "conflict":
            out.extend(r.lines)
            continue
        if out and not out[-1].endswith(b"\n"):
            out[-1] += eol
        out.append(lt + (b" " + ours if ours else b"") + eol)
        block(r.a)
        if style in ("diff3", "zdiff3"):
            out.append(bar + (b" " + base_label if base_label else b"") + eol)
            block(r.base)
        out.append(eq + eol)
        block(r.b)
        out.append(gt + (b" " + theirs if theirs else b"") + eol)
    return b"".join(out)


def _dominant_eol(result: MergeResult) -> bytes:
    crlf = lf = 0
    for r in result.regions:
        for ln in (*r.a, *r.b, *r.base):
            if ln.endswith(b"\r\n"):
                crlf += 1
            elif ln.endswith(b"\n"):
                lf += 1
    return b"\r\n" if crlf > lf else b"\n"


def union_bytes(base: bytes, a: bytes, b: bytes, *, matcher: Matcher = myers_matcher) -> bytes:
    """Merge three texts keeping both sides of every conflict (ours first), like ``git merge-file --union``.

    Conflicts are first refined as in the `merge` style, as git does.
    """
    result = merge_lines(split_lines(base), split_lines(a), split_lines(b), matcher=matcher, style="merge")
    eol = _dominant_eol(result)
    out: list[Line] = []
    for r in result.regions:
        if r.kind == "conflict":
            # As git does: our lines are always terminated, theirs are kept as they are.
            out.extend(ln if ln.endswith(b"\n") else ln + eol for ln in r.a)
            out.extend(r.b)
        else:
            out.extend(r.lines)
    return b"".join(ln if ln.endswith(b"\n") or i == len(out) - 1 else ln + eol for i, ln in enumerate(out))


def merge_bytes(
    base: bytes,
    a: bytes,
    b: bytes,
    *,
    matcher: Matcher = myers_matcher,
    style: Style = "merge",
    labels: tuple[str, str, str] = ("ours", "base", "theirs"),
) -> tuple[bytes, int]:
    """Merge three texts; return the merged bytes (with markers) and the number of conflicts.

    A clean merge, the common case, is assembled straight from the sync
    regions; only a conflicting one builds `Region`s and refines them.
    """
    if a == b or b == base:
        return a, 0  # what the merge gives, without matching anything
    if a == base:
        return b, 0
    bl, al, ol = split_lines(base), split_lines(a), split_lines(b)
    syncs = list(iter_sync_regions(bl, al, ol, matcher))
    clean = _clean_lines(bl, al, ol, syncs)
    if clean is not None:
        return b"".join(clean), 0
    result = _styled(list(_iter_regions(bl, al, ol, syncs)), matcher, style)
    # invariant: the fast path above returns every clean merge
    assert not result.is_clean
    return render(result, style=style, labels=labels, marker_len=marker_length(bl, al, ol)), result.conflicts
