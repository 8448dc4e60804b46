"""Three-way merge of trees, path by path, with diff3 for file contents.

Per path, comparing base, ours and theirs entries: a side equal to the base
yields to the other side; equal sides agree; otherwise both changed it and
the kinds decide: two text files are merged line by line with diff3 (an
addition on both sides merges against an empty base, as git does); a
deletion against a modification, a symlink, a binary file or an
incompatible kind change is a conflict. Renames are followed first
(`vcrdt.merge.renames`): a file one side renamed is merged under its new name
with the other side's edits of the old one. A file on one side where the other
side has a directory is a file/directory conflict: the directory wins the
path and the file is left beside it as ``<path>~<label>``.

Conflicts are values (`vcrdt.merge.conflicts`); the store receives merged
blobs and the marker-laden blobs to leave in the work tree.

With a `Decide` callback, a path whose conflict has a rule (`vcrdt.merge.rules`)
is settled instead: text by the rule (``set`` and ``json`` own the whole
file; the others settle only what diff3 leaves in conflict); a modification
against a deletion keeps the modification (nothing is lost); binary files,
symlinks and kind changes go to the side later in the tie-break order
(``ours``/``theirs`` take their side). Every decision is recorded as an
`AutoResolution`. A file/directory collision is never settled by a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal

from vcrdt.crdt.order import TieKey
from vcrdt.diff.lines import is_binary
from vcrdt.diff.xdiff import xdiff_matcher
from vcrdt.ids import ObjectId, to_hex
from vcrdt.merge.conflicts import ABSENT, AutoResolution, ConflictKind, PathConflict, Side, TreeMerge
from vcrdt.merge.diff3 import MARKER_LEN, Style, merge_bytes
from vcrdt.merge.policy import Decide
from vcrdt.merge.renames import follow_renames
from vcrdt.merge.rules import AutoHunk, Fallback, Outcome, RuleName
from vcrdt.objects import EntryKind
from vcrdt.paths import ancestor_dirs
from vcrdt.store import LARGE_OBJECT

if TYPE_CHECKING:
    from vcrdt.merge.pending import MergeStore
    from vcrdt.merge.rules.json_doc import KeyLater

Flat = Mapping[str, tuple[EntryKind, ObjectId]]
# Which side's version of a path causally follows the other's (path, base, ours, theirs), or None.
Later = Callable[[str, Side, Side, Side], Literal["ours", "theirs"] | None]
# The same question asked about each value of a path's JSON document (None: not asked for that path).
KeysLater = Callable[[str], "KeyLater | None"]
_REGULAR = (EntryKind.FILE, EntryKind.EXECUTABLE)


def resolve_content(
    rule: RuleName,
    base: bytes,
    ours: bytes,
    theirs: bytes,
    *,
    ours_key: TieKey,
    theirs_key: TieKey,
    later: KeyLater | None = None,
) -> Outcome:
    """Apply a rule to three texts (the `merge-file --rule` and tree-merge entry point).

    `later` is causal precedence per JSON key, for the ``json`` rule (see `resolve_json`).
    """
    if rule == "json":
        from vcrdt.merge.rules.json_doc import resolve_json

        return resolve_json(base, ours, theirs, ours_key=ours_key, theirs_key=theirs_key, later=later)
    from vcrdt.merge.rules.text import resolve_lines

    return resolve_lines(rule, base, ours, theirs, ours_key=ours_key, theirs_key=theirs_key, matcher=xdiff_matcher)


def _side(flat: Flat, path: str) -> Side:
    e = flat.get(path)
    return Side(e[0], e[1]) if e is not None else ABSENT


def _text(store: MergeStore, side: Side) -> bytes | None:
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
    store: MergeStore,
    base: Flat,
    ours: Flat,
    theirs: Flat,
    *,
    style: Style = "merge",
    labels: tuple[str, str, str] = ("ours", "base", "theirs"),
    decide: Decide | None = None,
    keys: tuple[TieKey, TieKey] | None = None,
    marker_size: Callable[[str], int | None] | None = None,
    later: Later | None = None,
    keys_later: KeysLater | None = None,
) -> TreeMerge:
    """Merge three flat trees (path -> entry).

    Args:
        store: Where blobs are read and merged blobs written.
        base: The merge base's tree.
        ours: Our tree.
        theirs: Their tree.
        style: The conflict-marker style.
        labels: Marker labels for ours, base and theirs.
        decide: Which rule settles a path's conflicts (None: none does).
        keys: Ours' and theirs' tie-break keys (needed with `decide`).
        marker_size: The conflict-marker length for a path (None or no function: 7), from
            the ``conflict-marker-size`` attribute.
        later: Which side's version of a path causally follows the other's (given the
            path and the base, ours and theirs sides), or None when neither does; that
            side's version is taken whole, before diff3 or any rule
            (`vcrdt.merge.causality`).
        keys_later: For a path the ``json`` rule merges, the same question asked key by
            key (`vcrdt.merge.rules.json_doc.resolve_json`'s `later`), or None.

    Returns:
        The merged entries, the work-tree content of conflicted paths, and the conflicts.
    """
    result = TreeMerge()
    base, ours, theirs = follow_renames(store, base, ours, theirs)
    for path in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = _side(base, path), _side(ours, path), _side(theirs, path)
        # A JSON document whose keys causality orders one by one is merged by its rule, key by key,
        # even when one side's document equals the base: neither whole document is the answer when
        # one side holds a key's later value and the other another's.
        by_keys = (
            keys_later is not None
            and decide is not None
            and o != t
            and o.present
            and t.present
            and decide(path, False) == "json"
            and keys_later(path) is not None
        )
        won = later(path, b, o, t) if later is not None and o != t and not by_keys else None
        if won is not None:
            entry = (o if won == "ours" else t).entry()
            if entry is not None:
                result.entries[path] = entry
            continue
        if by_keys:
            taken: Side | None = None
        elif o == t or t == b:
            taken = o
        elif o == b:
            taken = t
        else:
            taken = None
        if taken is not None:
            entry = taken.entry()
            if entry is not None:
                result.entries[path] = entry
            continue
        rules = _Rules(decide, keys, keys_later) if decide is not None and keys is not None else None
        size = marker_size(path) if marker_size is not None else None
        _merge_changed(store, path, b, o, t, style, labels, result, rules, marker_len=size or MARKER_LEN)
    rules = _Rules(decide, keys) if decide is not None and keys is not None else None
    _file_directory(result, base, ours, theirs, labels, rules)
    return result


class _Rules:
    def __init__(self, decide: Decide, keys: tuple[TieKey, TieKey], keys_later: KeysLater | None = None) -> None:
        self.decide = decide
        self.ours_key, self.theirs_key = keys
        self.keys_later = keys_later

    def later_is_theirs(self, rule: RuleName) -> bool:
        if rule in ("ours", "theirs"):
            return rule == "theirs"
        return self.theirs_key > self.ours_key


def _merge_changed(
    store: MergeStore,
    path: str,
    b: Side,
    o: Side,
    t: Side,
    style: Style,
    labels: tuple[str, str, str],
    result: TreeMerge,
    rules: _Rules | None,
    *,
    marker_len: int = MARKER_LEN,
) -> None:
    """Both sides changed `path`, differently."""
    if not o.present or not t.present:
        # The rule of the version that stays: a binary file's is not a text rule.
        modified = o if o.present else t
        binary = modified.kind not in _REGULAR or _text(store, modified) is None
        rule = rules.decide(path, binary) if rules is not None else None
        if rules is not None and rule is not None:
            # A rule never loses an edit to a deletion: the modified side stays.
            kept: Literal["ours", "theirs"] = "ours" if o.present else "theirs"
            gone = "theirs" if o.present else "ours"
            _settle(
                result, path, rule, b, o, t, o if o.present else t, (AutoHunk("*", rule, kept, b"", ((gone, b""),)),)
            )
            return
        result.conflicts.append(PathConflict(path, "modify/delete" if o.present else "delete/modify", b, o, t))
        _keep(result, path, o if o.present else t)
        return
    regular = o.kind in _REGULAR and t.kind in _REGULAR and (not b.present or b.kind in _REGULAR)
    texts = [_text(store, s) if s.present else b"" for s in (b, o, t)] if regular else [None]
    binary = any(x is None for x in texts)
    rule = rules.decide(path, binary) if rules is not None else None
    if rules is not None and rule is not None and binary:
        theirs_wins = rules.later_is_theirs(rule)
        hunk = AutoHunk(
            "*", rule, "theirs" if theirs_wins else "ours", b"", (("ours" if theirs_wins else "theirs", b""),)
        )
        _settle(result, path, rule, b, o, t, t if theirs_wins else o, (hunk,))
        return
    if not regular:
        result.conflicts.append(PathConflict(path, "kind" if o.kind != t.kind else "content", b, o, t, 1))
        _keep(result, path, o)
        return
    if binary:
        result.conflicts.append(PathConflict(path, "binary", b, o, t, 1))
        _keep(result, path, o)
        return
    texts3 = base_text, ours_text, theirs_text = (texts[0] or b"", texts[1] or b"", texts[2] or b"")
    kind = _merged_kind(b, o, t)
    whole_file = rule in ("set", "json")  # these rules own the file; the others settle diff3's conflicts
    fallback: str | None = None
    if rules is not None and rule is not None and whole_file:
        fallback = _apply_rule(store, result, path, rule, rules, b, o, t, kind, texts3)
        if fallback is None:
            return
    merged, hunks = merge_bytes(
        base_text, ours_text, theirs_text, matcher=xdiff_matcher, style=style, labels=labels, marker_len=marker_len
    )
    if hunks == 0 and kind is not None:
        result.entries[path] = (kind, store.put("blob", merged))
        result.merged_paths.append(path)
        return
    if rules is not None and rule is not None and not whole_file:
        fallback = _apply_rule(store, result, path, rule, rules, b, o, t, kind, texts3)
        if fallback is None:
            return
    if fallback is not None:
        result.notes.append((path, fallback))
    oid = store.put("blob", merged)
    conflict_kind: ConflictKind = "kind" if kind is None and hunks == 0 else ("content" if b.present else "add/add")
    result.conflicts.append(PathConflict(path, conflict_kind, b, o, t, hunks))
    result.worktree[path] = (kind or o.kind or EntryKind.FILE, oid)


def _apply_rule(
    store: MergeStore,
    result: TreeMerge,
    path: str,
    rule: RuleName,
    rules: _Rules,
    b: Side,
    o: Side,
    t: Side,
    kind: EntryKind | None,
    texts: tuple[bytes, bytes, bytes],
) -> str | None:
    """Settle a text path by `rule`; return why the rule does not apply instead (nothing settled then)."""
    key_later = rules.keys_later(path) if rules.keys_later is not None and rule == "json" else None
    outcome = resolve_content(rule, *texts, ours_key=rules.ours_key, theirs_key=rules.theirs_key, later=key_later)
    if isinstance(outcome, Fallback):
        return outcome.reason
    hunks = list(outcome.hunks)
    if kind is None:
        # The sides disagree on the executable bit: the later side's mode wins.
        theirs_wins = rules.later_is_theirs(rule)
        kind = t.kind if theirs_wins else o.kind
        hunks.append(AutoHunk("mode", rule, "theirs" if theirs_wins else "ours", b""))
    assert kind is not None
    oid = store.put("blob", outcome.data)
    _settle(result, path, rule, b, o, t, Side(kind, oid), tuple(hunks))
    return None


def _settle(
    result: TreeMerge, path: str, rule: RuleName, b: Side, o: Side, t: Side, taken: Side, hunks: tuple[AutoHunk, ...]
) -> None:
    entry = taken.entry()
    if entry is not None:
        result.entries[path] = entry
    result.merged_paths.append(path)
    if hunks:
        result.auto.append(AutoResolution(path, rule, b, o, t, hunks))


def _keep(result: TreeMerge, path: str, side: Side) -> None:
    entry = side.entry()
    if entry is not None:
        result.worktree[path] = entry


def _file_directory(
    result: TreeMerge, base: Flat, ours: Flat, theirs: Flat, labels: tuple[str, str, str], rules: _Rules | None
) -> None:
    """Resolve a file that collides with a directory: the directory keeps the path.

    The file comes from one side only (a tree cannot hold both ``p`` and
    ``p/x``). Without rules it is left beside the directory as
    ``<path>~<that side's label>``, and the path has one conflict, of kind
    file/directory, whose sides are the file's versions (the side with the
    directory is absent at `path`); a conflict already recorded for the path
    (a modification against the deletion that made room for the directory) is
    replaced by it. With rules, a merged file is settled the same way on every
    replica: it is kept, merged, as ``<path>~<the first 12 hex digits of its
    id>`` (a name that does not depend on which side is ours), and the
    decision is recorded (``reopen`` puts the conflict back).
    """
    every = set(result.entries) | set(result.worktree)
    for path in sorted(every & ancestor_dirs(every)):
        settled = rules is not None and path in result.entries
        entry = result.entries.pop(path, None) or result.worktree.pop(path)
        b, o, t = _side(base, path), _side(ours, path), _side(theirs, path)
        result.conflicts = [c for c in result.conflicts if c.path != path]
        if rules is not None and settled:
            hexid = to_hex(entry[1])
            digits = 12
            while f"{path}~{hexid[:digits]}" in every and digits < len(hexid):
                digits += 1
            aside = f"{path}~{hexid[:digits]}"
            every.add(aside)
            result.entries[aside] = entry
            result.merged_paths[:] = [p for p in result.merged_paths if p != path] + [aside]
            rule = rules.decide(path, False) or "lww"
            result.auto = [a for a in result.auto if a.path != path]
            result.auto.append(AutoResolution(path, rule, b, o, t, (AutoHunk("*", rule, "both", aside.encode()),)))
            continue
        file_side = 2 if path in theirs and path not in ours else 0
        result.worktree[f"{path}~{labels[file_side]}"] = entry
        result.conflicts.append(PathConflict(path, "file/directory", b, o, t))
