"""Settling a conflicted merge: resolve (sides, rules, hunk by hunk), conflict details, reopen."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from vcrdt.dag import read_commit
from vcrdt.diff.lines import is_binary
from vcrdt.diff.xdiff import xdiff_matcher
from vcrdt.errors import (
    DirtyWorktreeError,
    MergeError,
)
from vcrdt.ids import ObjectId, short
from vcrdt.merge.conflicts import AutoResolution, PathConflict, Side
from vcrdt.merge.diff3 import (
    MARKER_LEN,
    MergeResult,
    Region,
    Style,
    merge_bytes,
    merge_lines,
    render,
    split_lines,
    union_bytes,
)
from vcrdt.merge.record import dump_record, record_entries
from vcrdt.merge.rules import RuleName
from vcrdt.merge.trees import merge_flat
from vcrdt.objects import EntryKind
from vcrdt.porcelain._shared import (
    blob_bytes,
    has_markers,
    repo_path,
    tie_key,
)
from vcrdt.porcelain.merging import (
    head_label,
)
from vcrdt.porcelain.resolutions import (
    auto_resolutions,
    side_of_json,
)
from vcrdt.repo import Repository
from vcrdt.store import LARGE_OBJECT
from vcrdt.worktree import FlatTree

ResolveSide = Literal["ours", "theirs", "base", "union"]


def resolve(
    repo: Repository, paths: list[str], *, cwd: str | os.PathLike[str], side: ResolveSide | None = None
) -> list[str]:
    """Mark conflicted paths resolved, after taking one side's version when `side` is given.

    Without a side, the file must no longer hold conflict markers.

    Raises:
        MergeError: If no merge is in progress, a path is not conflicted, or markers remain.
    """
    if not repo.merge_state.in_progress():
        raise MergeError("no merge in progress")
    recorded = {c.path: c for c, _ in repo.merge_state.conflicts()}
    rel = [repo_path(repo, cwd, p) for p in paths]
    # Check every path before writing any file: a refusal changes nothing.
    for path in rel:
        conflict = recorded.get(path)
        if conflict is None:
            raise MergeError(f"{path}: not a conflicted path")
        if side == "union" and conflict.kind not in ("content", "add/add"):
            raise MergeError(f"{path}: --union needs a text conflict, not {conflict.kind}")
        if side == "union" and any(
            _lines_of(repo, x.oid) is None for x in (conflict.base, conflict.ours, conflict.theirs)
        ):
            raise MergeError(f"{path}: --union needs text files")
        if side is None and has_markers(repo, path):
            raise MergeError(
                f"{path}: still contains conflict markers",
                hint="edit the file, or pick a side with --ours/--theirs",
            )
    with repo.transaction():
        for path in rel:
            conflict = recorded[path]
            if side == "union":
                if conflict.kind not in ("content", "add/add"):
                    raise MergeError(f"{path}: --union needs a text conflict, not {conflict.kind}")
                texts = [_lines_of(repo, s.oid) for s in (conflict.base, conflict.ours, conflict.theirs)]
                if any(t is None for t in texts):
                    raise MergeError(f"{path}: --union needs text files")
                base_t, ours_t, theirs_t = (b"".join(t or []) for t in texts)
                oid = repo.store.put("blob", union_bytes(base_t, ours_t, theirs_t, matcher=xdiff_matcher))
                kind = conflict.ours.kind or conflict.theirs.kind or EntryKind.FILE
                repo.worktree.write_file(path, kind, oid)
            elif side is not None:
                chosen = {"ours": conflict.ours, "theirs": conflict.theirs, "base": conflict.base}[side]
                if conflict.kind == "file/directory":
                    _take_file_or_directory(repo, conflict, chosen.entry())
                else:
                    _take(repo, path, chosen.entry())
            repo.merge_state.mark_resolved(path)
        repo.merge_state.finish_stash()
    return rel


def resolve_by_rule(repo: Repository, paths: list[str], *, cwd: str | os.PathLike[str], rule: RuleName) -> list[str]:
    """Settle conflicted paths by a CRDT rule, as the merge policy would have, and record it with the merge.

    Raises:
        MergeError: If no merge is in progress, a path is not conflicted, or the rule does not
            apply (e.g. JSON that does not parse; the path stays in conflict).
    """
    import json

    if not repo.merge_state.in_progress():
        raise MergeError("no merge in progress")
    recorded = {c.path: c for c, _ in repo.merge_state.conflicts()}
    orig, theirs = repo.merge_state.get("orig"), repo.merge_state.theirs()
    assert orig is not None and theirs is not None
    sides = (ObjectId(orig), theirs)
    keys = (tie_key(repo, sides[0]), tie_key(repo, sides[1]))
    rel = [repo_path(repo, cwd, p) for p in paths]
    settled: list[AutoResolution] = []
    results: dict[str, tuple[EntryKind, ObjectId] | None] = {}
    with repo.transaction():
        # Every path is decided before any file is written: one that cannot be settled changes nothing.
        for path in rel:
            c = recorded.get(path)
            if c is None:
                raise MergeError(f"{path}: not a conflicted path")
            if c.kind == "file/directory":
                raise MergeError(f"{path}: a file/directory conflict is not settled by a rule")
            tm = merge_flat(
                repo.store,
                _one(path, c.base),
                _one(path, c.ours),
                _one(path, c.theirs),
                decide=lambda _p, _b: rule,
                keys=keys,
            )
            if tm.conflicts:
                reason = dict(tm.notes).get(path, "the rule does not apply")
                raise MergeError(f"{path}: {reason}; nothing was changed")
            results[path] = tm.entries.get(path)
            settled += tm.auto
        for path, entry in results.items():
            _take(repo, path, entry)
            repo.merge_state.mark_resolved(path)
        if settled:
            old = repo.merge_state.get("resolutions")
            entries = json.loads(repo.store.get(ObjectId(old))[1])["resolutions"] if old else []
            done = {p: e for p, e in results.items() if e is not None}
            fresh = record_entries(settled, sides, done)
            names = {e["path"] for e in fresh}
            record = dump_record([e for e in entries if e["path"] not in names] + fresh)
            repo.merge_state.put("resolutions", repo.store.put("blob", record))
        repo.merge_state.finish_stash()
    return rel


def _take(repo: Repository, path: str, entry: tuple[EntryKind, ObjectId] | None) -> None:
    """Put one version of a conflicted path in the work tree (None: the path goes away)."""
    if entry is None:
        repo.worktree.delete_file(path)
        if path in repo.worktree.rows():
            repo.worktree.remove([path], keep_files=False)
    else:
        repo.worktree.write_file(path, *entry)
        repo.worktree.add([path])


def _take_file_or_directory(repo: Repository, conflict: PathConflict, entry: tuple[EntryKind, ObjectId] | None) -> None:
    """Settle a file/directory conflict: the directory stays (`entry` None) or the file replaces it.

    Either way the file left beside the directory (``<path>~<label>``) goes.
    Taking the file removes the tracked files under the directory first; an
    untracked file there still stops it (`Worktree.write_file` refuses).
    """
    path = conflict.path
    rows = repo.worktree.rows()
    versions = {s.entry() for s in (conflict.base, conflict.ours, conflict.theirs)} - {None}
    # The file beside the directory: added by the merge, or (a rule's settlement, reopened) in HEAD.
    beside = [p for p in rows if p.startswith(path + "~") and "/" not in p[len(path) :]]
    current, _ = repo.worktree.current(rows, beside, None, store=False)
    aside = [p for p in beside if current.get(p) in versions]  # the side file, unless edited meanwhile
    drop = aside + ([p for p in rows if p.startswith(path + "/")] if entry is not None else [])
    if drop:
        repo.worktree.remove(drop, keep_files=False)  # an added side file is forgotten, a tracked one removed
    if entry is not None:
        _take(repo, path, entry)


def _one(path: str, side: Side) -> FlatTree:
    entry = side.entry()
    return {path: entry} if entry is not None else {}


@dataclass(frozen=True, slots=True)
class HunkText:
    """One side of a conflicting hunk: its first line number (1-based) and its lines."""

    start: int
    lines: list[str]


@dataclass(frozen=True, slots=True)
class ConflictHunk:
    """A conflicting hunk of a content conflict, on all three sides."""

    base: HunkText
    ours: HunkText
    theirs: HunkText


@dataclass(frozen=True, slots=True)
class ConflictDetail:
    """A conflicted path, whether it is resolved, and its conflicting hunks (for text conflicts)."""

    conflict: PathConflict
    resolved: bool
    hunks: list[ConflictHunk]


def _lines_of(repo: Repository, oid: ObjectId | None) -> list[bytes] | None:
    if oid is None:
        return []
    if repo.store.info(oid)[1] > LARGE_OBJECT:
        return None
    data = repo.store.get(oid)[1]
    return None if is_binary(data) else split_lines(data)


def _merge_style(repo: Repository) -> Style:
    """The conflict style the merge in progress wrote its files in."""
    raw = repo.merge_state.get("style")
    return "diff3" if raw == b"diff3" else "zdiff3" if raw == b"zdiff3" else "merge"


def _hunks(
    base: list[bytes], ours: list[bytes], theirs: list[bytes], style: Style
) -> tuple[list[Region], list[tuple[int, int]]]:
    """The merge's regions as its file shows them in `style`, and the base lines each conflict stands for.

    The default style joins conflicts a few lines apart and splits them where
    the sides agree, as git does, so its conflicts are the file's marker
    blocks, not diff3's regions; the base lines of such a conflict are those
    of every diff3 conflict it covers, and the lines between them.
    """
    regions = list(merge_lines(base, ours, theirs, matcher=xdiff_matcher, style=style).regions)
    if style != "merge":
        return regions, [(r.base_start, r.base_start + len(r.base)) for r in regions if r.kind == "conflict"]
    whole = [
        w for w in merge_lines(base, ours, theirs, matcher=xdiff_matcher, style="diff3").regions if w.kind == "conflict"
    ]
    spans: list[tuple[int, int]] = []
    for r in regions:
        if r.kind != "conflict":
            continue
        lo, hi = r.a_start, r.a_start + len(r.a)

        def covers(w: Region, lo: int = lo, hi: int = hi) -> bool:
            w_lo, w_hi = w.a_start, w.a_start + len(w.a)
            if lo == hi or w_lo == w_hi:  # an empty side: touching counts
                return w_lo <= hi and lo <= w_hi
            return w_lo < hi and lo < w_hi

        hits = [w for w in whole if covers(w)]
        # invariant: every conflict of the default style lies within diff3's conflicts and the text between
        assert hits, (lo, hi)
        spans.append((min(w.base_start for w in hits), max(w.base_start + len(w.base) for w in hits)))
    return regions, spans


def conflict_details(repo: Repository) -> list[ConflictDetail]:
    """Return each conflict of the merge in progress with its hunks on the three sides (as its file shows them)."""
    out: list[ConflictDetail] = []
    style = _merge_style(repo)
    for c, resolved in repo.merge_state.conflicts():
        hunks: list[ConflictHunk] = []
        texts = [_lines_of(repo, s.oid) for s in (c.base, c.ours, c.theirs)]
        if c.kind in ("content", "add/add") and all(t is not None for t in texts):
            base, ours, theirs = (t or [] for t in texts)
            regions, spans = _hunks(base, ours, theirs, style)
            for r, (lo, hi) in zip((r for r in regions if r.kind == "conflict"), spans, strict=True):
                hunks.append(
                    ConflictHunk(
                        HunkText(lo + 1, [x.decode("utf-8", "replace") for x in base[lo:hi]]),
                        HunkText(r.a_start + 1, [x.decode("utf-8", "replace") for x in r.a]),
                        HunkText(r.b_start + 1, [x.decode("utf-8", "replace") for x in r.b]),
                    )
                )
        out.append(ConflictDetail(c, resolved, hunks))
    return out


HunkAction = Literal["ours", "theirs", "both", "base", "skip", "text"]


@dataclass(frozen=True, slots=True)
class HunkChoice:
    """What to put in place of one conflicting hunk; `text` carries edited lines."""

    action: HunkAction
    text: list[bytes] | None = None


def resolve_hunks(repo: Repository, path: str, choices: list[HunkChoice]) -> bool:
    """Rewrite a text conflict hunk by hunk; mark the path resolved when no hunk was skipped.

    `choices` follow the order of `conflict_details` hunks; skipped hunks keep
    their markers.

    Returns:
        True when the path is now resolved.

    Raises:
        MergeError: If the path is not a text conflict of the merge in progress.
    """
    found = {c.path: c for c, _ in repo.merge_state.conflicts()}
    conflict = found.get(path)
    if conflict is None or conflict.kind not in ("content", "add/add"):
        raise MergeError(f"{path}: not a text conflict of the merge in progress")
    texts = [_lines_of(repo, s.oid) for s in (conflict.base, conflict.ours, conflict.theirs)]
    if any(t is None for t in texts):
        raise MergeError(f"{path}: not a text file")
    base, ours, theirs = (t or [] for t in texts)
    style = _merge_style(repo)
    merged, spans = _hunks(base, ours, theirs, style)
    regions: list[Region] = []
    pending = iter(choices)
    base_spans = iter(spans)
    skipped = False
    for r in merged:
        if r.kind != "conflict":
            regions.append(r)
            continue
        choice = next(pending, HunkChoice("skip"))
        lo, hi = next(base_spans)
        picked = {
            "ours": list(r.a),
            "theirs": list(r.b),
            "both": [*r.a, *r.b],
            "base": base[lo:hi],
            "text": choice.text or [],
        }.get(choice.action)
        if picked is None:
            skipped = True
            regions.append(r)
        else:
            lines = tuple(picked)
            regions.append(Region("unchanged", lines, lines, lines))
    result = MergeResult(tuple(regions))
    labels = (head_label(repo), "base", "theirs")
    data = (
        b"".join(result.clean_lines())
        if result.is_clean
        else render(result, style=style, labels=labels, marker_len=MARKER_LEN)
    )
    with repo.transaction():
        oid = repo.store.put("blob", data)
        repo.worktree.write_file(path, conflict.ours.kind or conflict.theirs.kind or EntryKind.FILE, oid)
        if not skipped:
            repo.merge_state.mark_resolved(path)
            repo.merge_state.finish_stash()
    return not skipped


def reopen(
    repo: Repository, paths: list[str], *, cwd: str | os.PathLike[str], style: Style = "merge"
) -> list[PathConflict]:
    """Put paths that a rule settled in the HEAD merge back into three-way conflict, for a human.

    The work tree gets the diff3 merge of the recorded base/ours/theirs
    versions, with markers; `resolve` and `commit` then work as after a
    conflicted merge, and the commit is an ordinary one on top of the merge.

    Raises:
        MergeError: If a merge is in progress, HEAD has no automatic resolution of a
            path, or the path has local changes.
    """
    if repo.merge_state.in_progress():
        raise MergeError("a merge is already in progress", hint="commit or `vcrdt merge --abort` first")
    record = auto_resolutions(repo, "HEAD")
    by_path = {str(r.get("path")): r for r in record.resolutions}
    rel = [repo_path(repo, cwd, p) for p in paths]
    changes = repo.worktree.status()
    dirty = set(changes.modified + changes.added + changes.deleted + changes.removed)
    head_flat = repo.commit_flat(record.commit)
    conflicts: list[PathConflict] = []
    # Every path is checked before any file is written.
    for path in rel:
        entry = by_path.get(path)
        if entry is None:
            raise MergeError(
                f"{path}: no automatic resolution in {short(record.commit)}",
                hint="`vcrdt conflicts --auto` lists them",
            )
        if path in dirty:
            raise DirtyWorktreeError(f"{path}: has local changes", hint="commit or restore it first")
        if "result" in entry and side_of_json(entry["result"]).entry() != head_flat.get(path):
            # A later step of the merge changed the path after the rule settled it: reopening the
            # recorded versions would drop that change.
            raise MergeError(
                f"{path}: changed after the rule settled it, so reopening would lose that change",
                hint="edit the file by hand and commit",
            )
    with repo.transaction():
        for path in rel:
            b, o, t = (side_of_json(by_path[path].get(k)) for k in ("base", "ours", "theirs"))
            if _theirs_is_local(repo, by_path[path]):
                o, t = t, o
            if any(p.startswith(path + "/") for p in head_flat):
                # A file that met a directory: the directory kept the path and the file sits beside
                # it, so the conflict comes back as it was, with nothing to write.
                conflicts.append(PathConflict(path, "file/directory", b, o, t))
                continue
            conflicts.append(_reopened(repo, path, b, o, t, style))
        head = repo.refs.head().commit
        assert head is not None
        repo.merge_state.start(head, head, f"Reopen {', '.join(rel)}", conflicts, style, reopen=True)
    return conflicts


def _theirs_is_local(repo: Repository, entry: dict[str, object]) -> bool:
    """Tell whether a record's second side is this replica's version and its first side is not.

    A rule's record names its sides in tie-break order (the same on every replica); a reopened
    conflict names them from where it is reopened: ``ours`` is the version this replica
    committed, when the record says which side that is.
    """
    mine = []
    for key in ("ours", "theirs"):
        side = entry.get(key)
        commit = side.get("commit") if isinstance(side, dict) else None
        if not isinstance(commit, str):
            return False  # a side that is not one commit (a fold of several heads): keep the order
        mine.append(read_commit(repo.store, ObjectId(bytes.fromhex(commit))).replica == repo.replica)
    return mine == [False, True]


def _reopened(repo: Repository, path: str, b: Side, o: Side, t: Side, style: Style) -> PathConflict:
    """Write one reopened path's conflict to the work tree and return it."""
    if not o.present or not t.present:
        kept = o if o.present else t
        entry = kept.entry()
        assert entry is not None
        repo.worktree.write_file(path, *entry)
        return PathConflict(path, "modify/delete" if o.present else "delete/modify", b, o, t)
    texts = [blob_bytes(repo, s.oid) if s.present else b"" for s in (b, o, t)]
    if any(x is None or is_binary(x) for x in texts) or o.kind not in (EntryKind.FILE, EntryKind.EXECUTABLE):
        entry = o.entry()
        assert entry is not None
        repo.worktree.write_file(path, *entry)
        return PathConflict(path, "binary", b, o, t, 1)
    base_t, ours_t, theirs_t = (x or b"" for x in texts)
    merged, hunks = merge_bytes(
        base_t, ours_t, theirs_t, matcher=xdiff_matcher, style=style, labels=("ours", "base", "theirs")
    )
    oid = repo.store.put("blob", merged)
    repo.worktree.write_file(path, o.kind or EntryKind.FILE, oid)
    return PathConflict(path, "content" if b.present else "add/add", b, o, t, hunks)
