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
two sides agree, then joining conflicts at most three lines apart or apart
only by lines without letters or digits) -> `render` (markers 7 long unless
asked otherwise, with git's rule for their line endings, or one side or both
taken for every conflict: ``--ours``, ``--theirs``, ``--union``). The
matcher is a `Matcher` passed in; the default is a pure-Python Myers diff
(`myers_matcher`), and `vcrdt.diff` offers libgit2's C xdiff for speed.
Pure: imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Literal

    RegionKind = Literal["unchanged", "a", "b", "same", "conflict"]
    Style = Literal["merge", "diff3", "zdiff3"]
    # How a rendering settles every conflict: markers, our lines, their lines, or ours then theirs.
    Favor = Literal["markers", "ours", "theirs", "union"]
else:
    RegionKind = Style = Favor = str  # Literals of these strings to the type checker

Line = bytes
# A matching block: (start in the first sequence, start in the second, length).
Block = tuple[int, int, int]
# Lines matched in all three: (base_start, base_end, a_start, a_end, b_start, b_end).
SyncRegion = tuple[int, int, int, int, int, int]
Matcher = Callable[[Sequence[Line], Sequence[Line]], list[Block]]
STYLES: tuple[Style, ...] = ("merge", "diff3", "zdiff3")
MARKER_LEN = 7  # git's DEFAULT_CONFLICT_MARKER_SIZE


@value_class(frozen=True, init=False, repr=False, eq=False)
class Region(Value):
    """A run of the merge: `kind` says which side's lines it takes.

    For a conflict, `base`, `a` and `b` hold the three texts; otherwise all
    three hold the lines the result takes. `overlapping` marks a ``same``
    region that both sides reached through different edits (their diffs
    against the base differ there): git's xdiff counts it as a conflict that
    turned out identical, so conflicts are not joined across it, and the
    diff3 styles show it as a conflict.
    """

    __slots__ = ("kind", "base", "a", "b", "base_start", "a_start", "b_start", "overlapping")  # noqa: RUF023 (field order)

    kind: RegionKind
    base: tuple[Line, ...]
    a: tuple[Line, ...]
    b: tuple[Line, ...]
    base_start: int
    a_start: int
    b_start: int
    overlapping: bool

    def __init__(
        self,
        kind: RegionKind,
        base: tuple[Line, ...],
        a: tuple[Line, ...],
        b: tuple[Line, ...],
        base_start: int = 0,
        a_start: int = 0,
        b_start: int = 0,
        overlapping: bool = False,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "kind", kind)
        set_(self, "base", base)
        set_(self, "a", a)
        set_(self, "b", b)
        set_(self, "base_start", base_start)
        set_(self, "a_start", a_start)
        set_(self, "b_start", b_start)
        set_(self, "overlapping", overlapping)

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
    ma, mb = _match(base, a, b, matcher)
    return _syncs(base, a, b, ma, mb)


def _match(
    base: Sequence[Line], a: Sequence[Line], b: Sequence[Line], matcher: Matcher
) -> tuple[list[Block], list[Block]]:
    """Match the base against each side."""
    pair = getattr(matcher, "pair", None)
    # A matcher may offer `pair(base, a, b)` to share work on the base between the two diffs.
    return pair(base, a, b) if pair is not None else (matcher(base, a), matcher(base, b))


def _syncs(
    base: Sequence[Line], a: Sequence[Line], b: Sequence[Line], ma: list[Block], mb: list[Block]
) -> Iterator[SyncRegion]:
    """The sync regions of two matches of the base (see `iter_sync_regions`)."""
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
    ma, mb = _match(base, a, b, matcher)
    return _iter_regions(base, a, b, _syncs(base, a, b, ma, mb), _Overlap(ma, mb))


class _Overlap:
    """Tells whether a stretch of the base holds a line matched on one side only.

    Between two sync regions each side changed the base; when no base line
    there is matched on either side, each side's diff has exactly one hunk
    over the stretch, as git's xdiff sees it. When both sides changed it to
    the same text that way, xdiff skips the pair as one identical change;
    otherwise it forms a conflict from overlapping hunks, which only later
    proves identical (see `Region.overlapping`).
    """

    def __init__(self, ma: list[Block], mb: list[Block]) -> None:
        self.sides = [([blk[0] for blk in m], m) for m in (ma, mb)]

    def __call__(self, lo: int, hi: int) -> bool:
        """True when a base line in ``[lo, hi)`` is matched on either side."""
        from bisect import bisect_left

        for starts, blocks in self.sides:
            k = bisect_left(starts, hi) - 1
            # invariant: blocks are disjoint and increasing, so only the last one starting below `hi` can reach `lo`
            if k >= 0 and blocks[k][2] and blocks[k][0] + blocks[k][2] > lo:
                return True
        return False


def _iter_regions(
    base: Sequence[Line],
    a: Sequence[Line],
    b: Sequence[Line],
    syncs: Iterable[SyncRegion],
    overlap: Callable[[int, int], bool] | None = None,
) -> Iterator[Region]:
    """`iter_regions` over sync regions already found; `overlap` marks `Region.overlapping` when given."""
    iz = ia = ib = 0
    for zmatch, zend, amatch, aend, bmatch, bend in syncs:
        zs, as_, bs = tuple(base[iz:zmatch]), tuple(a[ia:amatch]), tuple(b[ib:bmatch])
        if zs or as_ or bs:
            joint = False
            if as_ == bs:
                kind: RegionKind = "unchanged" if as_ == zs else "same"
                joint = overlap is not None and overlap(iz, zmatch)
            elif as_ == zs:
                kind = "b"
            elif bs == zs:
                kind = "a"
            else:
                kind = "conflict"
            yield Region(kind, zs, as_, bs, iz, ia, ib, joint)
        if zend > zmatch:
            same = tuple(base[zmatch:zend])
            yield Region("unchanged", same, same, same, zmatch, amatch, bmatch)
        iz, ia, ib = zend, aend, bend


def _clean_lines(
    base: list[Line],
    a: list[Line],
    b: list[Line],
    syncs: list[SyncRegion],
    overlap: Callable[[int, int], bool] | None = None,
) -> list[Line] | None:
    """Return the merged lines if nothing conflicts, else None: `iter_regions` without the regions.

    The same decisions as `_iter_regions`, made on list slices with no Region
    or tuple built, since most merges are clean and a clean result needs only
    its lines. With `overlap` (the diff3 styles), a same change that both
    sides reached through different edits counts as a conflict, as in git.
    """
    out: list[Line] = []
    iz = ia = ib = 0
    for zmatch, zend, amatch, aend, bmatch, bend in syncs:
        if ia < amatch or ib < bmatch or iz < zmatch:
            as_, bs = a[ia:amatch], b[ib:bmatch]
            if as_ == bs:
                if overlap is not None and overlap(iz, zmatch):
                    return None
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
    three lines, or by lines without an ASCII letter or digit, are joined
    into one. The lines between may be unchanged or changed identically on
    both sides (counted in our text), as git counts them; a change taken from
    one side, or a same change reached through different edits
    (`Region.overlapping`), keeps the conflicts apart. The verdict
    clean/conflicting never changes, only how much text sits inside the
    markers and how many conflicts are counted.
    """
    split: list[Region] = []
    for r in regions:
        if r.kind != "conflict" or not r.a or not r.b:
            split.append(r)
            continue
        ia = ib = 0
        for sa, sb, ln in matcher(r.a, r.b):
            if sa > ia or sb > ib:
                piece_base = r.base if ia == 0 and ib == 0 else ()
                split.append(
                    Region("conflict", piece_base, r.a[ia:sa], r.b[ib:sb], r.base_start, r.a_start + ia, r.b_start + ib)
                )
            if ln:
                common = r.a[sa : sa + ln]
                # Lines both sides agree on inside a conflict: plain text, not a barrier.
                split.append(Region("unchanged", common, common, common, r.base_start, r.a_start + sa, r.b_start + sb))
            ia, ib = sa + ln, sb + ln
    return _simplify(split)


def _is_gap(r: Region) -> bool:
    """True for text that may end up inside a joined conflict: unchanged, or changed alike by both sides."""
    return r.kind in ("unchanged", "same") and not r.overlapping


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
            while k < len(regions) and _is_gap(regions[k]):
                gap.extend(regions[k].a)
                k += 1
            if k >= len(regions) or regions[k].kind != "conflict":
                break
            if len(gap) > 3 and any(_has_alnum(x) for x in gap):
                break
            nxt = regions[k]
            g = tuple(gap)
            cur = Region(
                "conflict",
                cur.base + g + nxt.base,
                cur.a + g + nxt.a,
                cur.b + g + nxt.b,
                cur.base_start,
                cur.a_start,
                cur.b_start,
            )
            j = k + 1
        out.append(cur)
        i = j
    return out


# --- results ------------------------------------------------------------------------------------


@value_class(frozen=True, init=False, repr=False, eq=False)
class MergeResult(Value):
    """The merged regions and the count of conflicts among them.

    `base_head` holds the base's first two lines at most: git decides the line
    ending of conflict markers partly from the base's first line (see `render`).
    """

    __slots__ = ("regions", "base_head")  # noqa: RUF023 (field order)

    regions: tuple[Region, ...]
    base_head: tuple[Line, ...] | None

    def __init__(self, regions: tuple[Region, ...], base_head: tuple[Line, ...] | None = None) -> None:
        object.__setattr__(self, "regions", regions)
        object.__setattr__(self, "base_head", base_head)

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
    ma, mb = _match(base, a, b, matcher)
    regions = list(_iter_regions(base, a, b, _syncs(base, a, b, ma, mb), _Overlap(ma, mb)))
    return _styled(regions, matcher, style, tuple(base[:2]))


def _styled(regions: list[Region], matcher: Matcher, style: Style, base_head: tuple[Line, ...]) -> MergeResult:
    if style == "merge":
        return MergeResult(tuple(refine(regions, matcher)), base_head)
    # The diff3 styles show a same change reached through different edits as a conflict, as git does.
    regions = [Region("conflict", *_texts(r), r.base_start) if r.overlapping else r for r in regions]
    if style == "zdiff3":
        return MergeResult(tuple(_zealous_trim(regions)), base_head)
    return MergeResult(tuple(regions), base_head)


def _texts(r: Region) -> tuple[tuple[Line, ...], tuple[Line, ...], tuple[Line, ...]]:
    return r.base, r.a, r.b


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
            out.append(Region("same", r.a[:pre], r.a[:pre], r.a[:pre], r.base_start, r.a_start, r.b_start))
        out.append(
            Region(
                "conflict",
                r.base,
                r.a[pre : len(r.a) - suf],
                r.b[pre : len(r.b) - suf],
                r.base_start,
                r.a_start + pre,
                r.b_start + pre,
            )
        )
        if suf:
            tail = r.a[len(r.a) - suf :]
            out.append(Region("same", tail, tail, tail, r.base_start))
    return out


def split_lines(data: bytes) -> list[Line]:
    r"""Split bytes into lines that keep their endings (the last may lack one).

    Only ``\n`` ends a line, as in git's xdiff: a lone ``\r`` is part of its line.

    >>> split_lines(b"a\nb\r\nc\rd")
    [b'a\n', b'b\r\n', b'c\rd']
    """
    if not data:
        return []
    lines = data.splitlines(keepends=True)  # also splits at a lone CR: then it gives more lines than xdiff
    if b"\r" not in data or len(lines) == data.count(b"\n") + (not data.endswith(b"\n")):
        return lines
    lines = data.split(b"\n")
    last = lines.pop()
    out = [ln + b"\n" for ln in lines]
    if last:
        out.append(last)
    return out


def _eol_crlf(lines: Sequence[Line], i: int) -> int:
    """Whether line `i` ends in CRLF: 1, 0, or -1 when it cannot tell (git's ``is_eol_crlf``).

    A last line without an ending answers for the line before it, if any.
    """
    n = len(lines)
    if i < n - 1:
        return 1 if lines[i].endswith(b"\r\n") else 0
    if n == 0:
        return -1
    if lines[i].endswith(b"\n"):
        return 1 if lines[i].endswith(b"\r\n") else 0
    if i == 0:
        return -1
    return 1 if lines[i - 1].endswith(b"\r\n") else 0


def _needs_cr(ours: Sequence[Line], ia: int, theirs: Sequence[Line], ib: int, base_head: Sequence[Line]) -> bool:
    """Whether a conflict at ours[ia] / theirs[ib] gets CRLF markers (git's ``is_cr_needed``).

    Only when the line before it on both sides (or their first line) and the
    base's first line end in CRLF; when a side cannot tell, the others decide,
    and LF wins when none can.
    """
    crlf = _eol_crlf(ours, ia - 1 if ia else 0)
    if crlf:
        crlf = _eol_crlf(theirs, ib - 1 if ib else 0)
    if crlf:
        crlf = _eol_crlf(base_head, 0)
    return crlf > 0


def render(
    result: MergeResult,
    *,
    style: Style = "merge",
    labels: tuple[str, str, str] = ("ours", "base", "theirs"),
    marker_len: int = MARKER_LEN,
    favor: Favor = "markers",
) -> bytes:
    """Render a merge as bytes, with conflict markers in the given style, as git's xdiff writes them.

    Markers are `marker_len` characters long (7 when it is not positive),
    whatever the text holds, each followed by a space and its label. They end
    in CRLF only when the lines around the conflict use CRLF on both sides and
    in the base's first line (`_needs_cr`). A side whose last line lacks a
    newline gets one inside a conflict block, so every marker sits on its own
    line. With `favor` other than ``markers``, each conflict takes our lines,
    their lines, or ours then theirs (``union``: only our last line gets a
    newline added) and no marker is written.
    """
    out: list[bytes] = []
    size = marker_len if marker_len > 0 else MARKER_LEN
    lt, eq, gt, bar = (c * size for c in (b"<", b"=", b">", b"|"))
    ours_l, base_l, theirs_l = (b" " + x.encode("utf-8", "surrogateescape") for x in labels)
    regions = result.regions
    ours = [ln for r in regions for ln in r.a]
    theirs = [ln for r in regions for ln in r.b]
    base_head = result.base_head
    if base_head is None:
        base_head = tuple(ln for r in regions for ln in r.base)[:2]
    ia = ib = 0

    def block(lines: tuple[Line, ...], eol: bytes) -> None:
        out.extend(lines)
        if lines and not lines[-1].endswith(b"\n"):
            out.append(eol)

    for r in regions:
        if r.kind != "conflict":
            out.extend(r.lines)
        elif favor == "ours":
            out.extend(r.a)
        elif favor == "theirs":
            out.extend(r.b)
        else:
            eol = b"\r\n" if _needs_cr(ours, ia, theirs, ib, base_head) else b"\n"
            if favor == "union":
                block(r.a, eol)
                out.extend(r.b)
            else:
                out.append(lt + ours_l + eol)
                block(r.a, eol)
                if style in ("diff3", "zdiff3"):
                    out.append(bar + base_l + eol)
                    block(r.base, eol)
                out.append(eq + eol)
                block(r.b, eol)
                out.append(gt + theirs_l + eol)
        ia += len(r.a)
        ib += len(r.b)
    return b"".join(out)


def union_bytes(base: bytes, a: bytes, b: bytes, *, matcher: Matcher = myers_matcher) -> bytes:
    """Merge three texts keeping both sides of every conflict (ours first), like ``git merge-file --union``."""
    return merge_bytes(base, a, b, matcher=matcher, favor="union")[0]


def merge_bytes(
    base: bytes,
    a: bytes,
    b: bytes,
    *,
    matcher: Matcher = myers_matcher,
    style: Style = "merge",
    labels: tuple[str, str, str] = ("ours", "base", "theirs"),
    marker_len: int = MARKER_LEN,
    favor: Favor = "markers",
) -> tuple[bytes, int]:
    """Merge three texts; return the merged bytes (with markers) and the number of conflicts.

    What ``git merge-file`` gives for the same files and options: `marker_len`
    is ``--marker-size``, `favor` one of ``--ours``, ``--theirs`` and
    ``--union`` (the count is then 0, every conflict being settled). A clean
    merge, the common case, is assembled straight from the sync regions; only
    a conflicting one builds `Region`s and refines them.
    """
    if a == b or b == base:
        return a, 0  # what the merge gives, without matching anything
    if a == base:
        return b, 0
    bl, al, ol = split_lines(base), split_lines(a), split_lines(b)
    ma, mb = _match(bl, al, ol, matcher)
    syncs = list(_syncs(bl, al, ol, ma, mb))
    clean = _clean_lines(bl, al, ol, syncs, None if style == "merge" else _Overlap(ma, mb))
    if clean is not None:
        return b"".join(clean), 0
    result = _styled(list(_iter_regions(bl, al, ol, syncs, _Overlap(ma, mb))), matcher, style, tuple(bl[:2]))
    # invariant: the fast path above returns every clean merge
    assert not result.is_clean
    data = render(result, style=style, labels=labels, marker_len=marker_len, favor=favor)
    return data, 0 if favor != "markers" else result.conflicts
