"""Line rules: ``union``, ``lww``, ``set``, ``ours`` and ``theirs``.

Each works on the regions of a diff3 merge (`vcrdt.merge.diff3.iter_regions`,
unrefined, so the regions do not depend on which side is "ours") and decides
only the conflicting ones; everything diff3 merges cleanly stays as diff3
merged it, except under ``set``, which owns the whole file.

``union``, the sequence rule. Inside a conflict, each side's edit of the
base text is read as deletions of base lines and insertions between them
(its diff against the base). The result keeps a base line only when *both*
sides kept it, and keeps every inserted line. Between two base lines
both sides kept (the dropped lines between them count as one place), the
two sides' insertions are merged as sequences: lines both
inserted (their longest common subsequence) appear once, and between those
anchors the *earlier* side's lines come first, earlier in the tie-break
order (`vcrdt.crdt.order`). So swapping the sides gives the same bytes, and
merging a result again with either input (the result carrying a later key)
changes nothing.

``lww``: the later side in the tie-break order takes each conflict; the
other side's text is recorded as the alternative that lost.

``set``: the file is a set of lines (line endings ignored), a two-phase set
against the base: a line either side added is in, a base line either side
removed is out, each line once. Lines keep their places from a ``union`` of
the two sides (first occurrence), so the order is deterministic and the file
stays readable. For .gitignore files and requirement lists.

``ours`` / ``theirs``: that side takes each conflict (as ``git merge -X``).

Pure: imports only the standard library, `vcrdt.crdt.order` and `vcrdt.merge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from vcrdt.crdt.order import TieKey
from vcrdt.merge.diff3 import Line, Matcher, Region, iter_regions, myers_matcher, split_lines
from vcrdt.merge.rules import AutoHunk, Resolution, RuleName

LineRule = Literal["union", "lww", "set", "ours", "theirs"]


def _eol(*texts: bytes) -> bytes:
    r"""The dominant line ending of all texts together (symmetric in its arguments).

    Counted on the bytes: every ``\n`` ends one line (`split_lines`), with a ``\r`` before it a CRLF.

    >>> _eol(b"a\r\nb\n", b"c\r\n")
    b'\r\n'
    """
    crlf = sum(t.count(b"\r\n") for t in texts)
    lf = sum(t.count(b"\n") for t in texts) - crlf
    return b"\r\n" if crlf > lf else b"\n"


def _join(lines: Sequence[Line], eol: bytes) -> bytes:
    r"""Join lines, ending every line but the last that lacks an ending (so no two lines fuse).

    >>> _join([b"a", b"b\n", b"c"], b"\n")
    b'a\nb\nc'
    """
    data = b"".join(lines)
    # A line holds at most one b"\n", at its end (`split_lines`): count them to see whether any line
    # but the last lacks one, the usual case being none.
    ended = data.count(b"\n")
    if ended == len(lines) or (ended == len(lines) - 1 and not lines[-1].endswith(b"\n")):
        return data
    last = len(lines) - 1
    return b"".join(ln if ln.endswith(b"\n") or i == last else ln + eol for i, ln in enumerate(lines))


def _edits(base: Sequence[Line], side: Sequence[Line], matcher: Matcher) -> tuple[list[bool], list[list[Line]]]:
    """A side's edit of `base`: which base lines it kept, and what it inserted at each gap (and at the end)."""
    kept = [False] * len(base)
    inserted: list[list[Line]] = [[] for _ in range(len(base) + 1)]
    if set(base).isdisjoint(side):
        # No line in common, so no match: what any matcher says, without asking it (the usual conflict).
        inserted[len(base)].extend(side)
        return kept, inserted
    zi = si = 0
    for zs, ss, n in matcher(base, side):
        # Lines of the side between the previous match and this one are insertions at base position `zs`.
        inserted[zs].extend(side[si:ss])
        for k in range(zs, zs + n):
            kept[k] = True
        zi, si = zs + n, ss + n
    if si < len(side):
        inserted[zi].extend(side[si:])
    return kept, inserted


def merge_insertions(first: Sequence[Line], second: Sequence[Line], matcher: Matcher = myers_matcher) -> list[Line]:
    """Merge two runs inserted at one point: common lines once, otherwise `first`'s lines before `second`'s.

    >>> merge_insertions([b"a", b"x"], [b"a", b"y"])
    [b'a', b'x', b'y']
    """
    if not first:
        return list(second)
    if not second or first == second:
        return list(first)
    if set(first).isdisjoint(second):
        return [*first, *second]  # no match: what any matcher says, without asking it
    out: list[Line] = []
    i = j = 0
    for fs, ss, n in matcher(first, second):
        out.extend(first[i:fs])
        out.extend(second[j:ss])
        out.extend(first[fs : fs + n])
        i, j = fs + n, ss + n
    out.extend(first[i:])
    out.extend(second[j:])
    return out


def union_region(
    base: Sequence[Line], first: Sequence[Line], second: Sequence[Line], matcher: Matcher = myers_matcher
) -> list[Line]:
    """The ``union`` of one conflict: `first` is the side earlier in the tie-break order.

    >>> union_region([b"x"], [b"a"], [b"b"])
    [b'a', b'b']
    """
    kept_f, ins_f = _edits(base, first, matcher)
    kept_s, ins_s = _edits(base, second, matcher)
    out: list[Line] = []
    # A slot is the span between two base lines both sides kept: the gaps around dropped base lines are one
    # place, so where a side put its insertion relative to lines that are gone anyway does not matter.
    slot_f: list[Line] = []
    slot_s: list[Line] = []
    for g in range(len(base) + 1):
        slot_f += ins_f[g]
        slot_s += ins_s[g]
        if g == len(base) or (kept_f[g] and kept_s[g]):
            out.extend(merge_insertions(slot_f, slot_s, matcher))
            slot_f, slot_s = [], []
            if g < len(base):
                out.append(base[g])
    return out


def _order(ours: Sequence[Line], theirs: Sequence[Line], ours_key: TieKey, theirs_key: TieKey) -> bool:
    """True when ours comes first (is earlier) in the tie-break order; content breaks a tie of keys."""
    if ours_key != theirs_key:
        return ours_key < theirs_key
    return tuple(ours) <= tuple(theirs)


def _where(r: Region) -> str:
    return f"L{r.base_start + 1}+{len(r.base)}"


def resolve_lines(
    rule: LineRule,
    base: bytes,
    ours: bytes,
    theirs: bytes,
    *,
    ours_key: TieKey,
    theirs_key: TieKey,
    matcher: Matcher = myers_matcher,
) -> Resolution:
    """Merge three texts with diff3 and settle every conflict by `rule`.

    Args:
        rule: The line rule.
        base: The common ancestor's text.
        ours: One side's text.
        theirs: The other side's text.
        ours_key: Where `ours` stands in the tie-break order.
        theirs_key: Where `theirs` stands in the tie-break order.
        matcher: The line matcher.

    Returns:
        The merged bytes and one `AutoHunk` per settled conflict.
    """
    bl, ol, tl = split_lines(base), split_lines(ours), split_lines(theirs)
    eol = _eol(base, ours, theirs)
    ours_first = _order(ol, tl, ours_key, theirs_key)
    out: list[Line] = []
    hunks: list[AutoHunk] = []
    for r in iter_regions(bl, ol, tl, matcher):
        if r.kind != "conflict":
            out.extend(r.lines)
            continue
        chosen, outcome, lost = _settle(rule, r, ours_first, matcher)
        out.extend(chosen)
        name: RuleName = "union" if rule == "set" else rule
        hunks.append(AutoHunk(_where(r), name, outcome, _join(chosen, eol), lost))
    if rule == "set":
        return _as_set(base, ours, theirs, out, eol, hunks)
    return Resolution(_join(out, eol), tuple(hunks))


Settled = tuple[list[Line], Literal["ours", "theirs", "both"], tuple[tuple[str, bytes], ...]]


def _settle(rule: LineRule, r: Region, ours_first: bool, matcher: Matcher) -> Settled:
    if rule in ("union", "set"):
        first, second = (r.a, r.b) if ours_first else (r.b, r.a)
        return union_region(r.base, first, second, matcher), "both", ()
    if rule == "lww":
        take_theirs = ours_first
    else:
        take_theirs = rule == "theirs"
    if take_theirs:
        return list(r.b), "theirs", (("ours", b"".join(r.a)),)
    return list(r.a), "ours", (("theirs", b"".join(r.b)),)


def _as_set(
    base: bytes, ours: bytes, theirs: bytes, merged: Sequence[Line], eol: bytes, hunks: list[AutoHunk]
) -> Resolution:
    """Apply the two-phase set to a ``union`` merge: each line once, base lines either side removed stay out."""
    # Lines compare without their endings: `splitlines()` gives the lines of `split_lines` without them.
    in_base = set(base.splitlines())
    in_ours = set(ours.splitlines())
    in_theirs = set(theirs.splitlines())
    removed = {x for x in in_base if x not in in_ours or x not in in_theirs}
    members = (in_ours | in_theirs) - removed
    seen: set[Line] = set()
    out: list[Line] = []
    for bare in [ln.rstrip(b"\r\n") for ln in merged]:
        if bare in members and bare not in seen:
            seen.add(bare)
            out.append(bare)
    # A member the line merge dropped (each side kept a different copy of a repeated line) goes last.
    out.extend(sorted(members - seen))
    data = eol.join(out) + eol if out else b""
    if out and all(t and not t.endswith(b"\n") for t in (ours, theirs)):
        data = data[: -len(eol)]  # neither side ends with a newline: neither does the result
    return Resolution(data, tuple(AutoHunk(h.where, "set", "merged", h.chosen, h.alternatives) for h in hunks))
