"""The operation log: every operation that moves a ref or rewrites the work tree, and `undo`.

Like jj's operation log and git's reflog. An operation (`operation`) notes
HEAD and every ref when it starts and, when it rewrites work-tree files, the
content of the tracked files (stored as a tree: uncommitted edits a
``reset --hard`` discards are kept this way); when it ends, in the same
transaction, it appends a row (`vcrdt.store.oplog`) with HEAD before and after,
the heads of each ref it changed before and after, and the work tree after
(what it had, with what it wrote). An operation that changed nothing leaves no
row.

`undo` reverts the last operation: the refs it changed get their earlier heads
back (a local rewrite: the heads it replaces are tombstoned, as `branch -d`
does, so a sync does not bring them back), HEAD goes back, and the files it
wrote get their earlier content (refused when they were edited since). An undo
is itself an operation, so undoing twice redoes. The commits a row names stay
reachable (`fsck` counts them) until a future `gc` expires old rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from vcrdt.dag import read_commit
from vcrdt.errors import DirtyWorktreeError, MergeError, VcrdtError, WorktreeError
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.porcelain._shared import Progress
from vcrdt.repo import Repository
from vcrdt.store.oplog import OpLogTable, OpRecord, RefChanges
from vcrdt.values import Record, Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    # Imported where a work tree is read: a fetch or sync that moves no checked-out branch notes
    # its refs here and never loads the work-tree modules.
    from vcrdt.worktree import FlatTree, Row

Entry = tuple[EntryKind, ObjectId]
Writes = Mapping[str, Entry | None]

# The databases with an operation being recorded: an operation inside another (`switch -c`
# creating the branch) is part of the outer one.
_ACTIVE: set[int] = set()


def head_text(repo: Repository) -> str:
    """HEAD as stored (``ref: NAME`` or a hex id), a newline, and ``HEAD_AT`` (empty when unset)."""
    return (repo.db.get_meta("HEAD") or "") + "\n" + (repo.db.get_meta("HEAD_AT") or "")


def set_head_text(repo: Repository, text: str) -> None:
    """Store HEAD and ``HEAD_AT`` as `head_text` gave them (inside the caller's transaction)."""
    head, _, at = text.partition("\n")
    repo.db.set_meta("HEAD", head)
    if at:
        repo.db.set_meta("HEAD_AT", at)
    else:
        repo.db.delete_meta("HEAD_AT")


def ref_heads(repo: Repository) -> dict[str, frozenset[ObjectId]]:
    """Every ref and its heads."""
    return dict(repo.refs.iter_refs())


def ref_changes(before: dict[str, frozenset[ObjectId]], after: dict[str, frozenset[ObjectId]]) -> RefChanges:
    """The refs whose heads differ, with their heads before and after (empty: absent)."""
    empty: frozenset[ObjectId] = frozenset()
    return {
        name: (before.get(name, empty), after.get(name, empty))
        for name in sorted(set(before) | set(after))
        if before.get(name, empty) != after.get(name, empty)
    }


def snapshot_tree(repo: Repository) -> ObjectId:
    """Store the tracked files' current content (blobs and trees); return its tree.

    A tracked file that is missing (or removed with `rm`) is left out. When the rows record
    which tree their HEAD entries are (`Worktree.head_tree`), the snapshot is that tree with
    the files that may differ from it (the stat cache's suspects) put in: only the directories
    along those paths are built again, and neither HEAD's tree nor the rows are read whole.

    Raises:
        WorktreeError: If a file cannot be read.
    """
    wt = repo.worktree
    selected, rows = wt.suspects()  # the rows of the suspects only
    live = [p for p in selected if rows[p].state != "removed"]
    current, refreshed = wt.current(rows, live, None, store=True)
    if refreshed:
        # Saved (in the operation's transaction), so the checkout that follows finds them cached
        # instead of hashing the same files again.
        wt.table.refresh_caches(refreshed, keep_pack=True)  # and the stat-cache pack, when it can
    known, base = wt.head_tree()
    if known and base is not None:
        flat: FlatTree = {}
        changed = []
        for p in selected:
            row = rows[p]
            entry = current.get(p) if row.state != "removed" else None
            was = (row.head_kind, row.head_oid) if row.head_kind is not None and row.head_oid is not None else None
            if entry != was:
                changed.append(p)
                if entry is not None:
                    flat[p] = entry
        return repo.write_tree(flat, base=base, changed=changed) if changed else base
    head_flat = wt.head_flat()
    full = dict(head_flat)
    edited = []
    for p in selected:
        entry = current.get(p) if rows[p].state != "removed" else None
        if full.get(p) != entry:
            edited.append(p)
        if entry is None:
            full.pop(p, None)
        else:
            full[p] = entry
    head = repo.head_commit()
    tree = read_commit(repo.store, head).tree if head is not None and head_flat == repo.commit_flat(head) else None
    return repo.write_tree(full, base=tree, changed=edited) if tree is not None else repo.write_tree(full)


def worktree_snapshot(repo: Repository) -> tuple[ObjectId, FlatTree]:
    """Store the tracked files' current content (`snapshot_tree`); return the tree and the flat map.

    Raises:
        WorktreeError: If a file cannot be read.
    """
    tree = snapshot_tree(repo)
    return tree, repo.flat_tree(tree)


class Operation(Record):
    """One operation being recorded: what it started from, and what the caller tells it it wrote."""

    __slots__ = (  # noqa: RUF023 (field order)
        "repo",
        "kind",
        "summary",
        "files",
        "nested",
        "undoes",
        "head",
        "refs",
        "wt_tree",
        "_wt_flat",
        "writes",
        "after",
        "seq",
    )

    repo: Repository
    kind: str
    summary: str
    files: bool
    nested: bool
    undoes: int | None
    head: str
    refs: dict[str, frozenset[ObjectId]]
    wt_tree: ObjectId | None
    _wt_flat: FlatTree | None  # `wt_tree` flattened, when asked for (`wt_flat`)
    # The work-tree files the operation writes (None: deletes), relative to `wt_tree`.
    writes: dict[str, Entry | None]
    # The work tree's tree after the operation, when the caller knows it: ``(tree,)`` (None: worked out from `writes`).
    after: tuple[ObjectId | None] | None
    seq: int | None

    def __init__(
        self,
        repo: Repository,
        kind: str,
        summary: str,
        files: bool,
        nested: bool = False,
        undoes: int | None = None,
        head: str = "",
        refs: dict[str, frozenset[ObjectId]] | None = None,
        wt_tree: ObjectId | None = None,
        wt_flat: FlatTree | None = None,
        writes: dict[str, Entry | None] | None = None,
        seq: int | None = None,
    ) -> None:
        self.repo = repo
        self.kind = kind
        self.summary = summary
        self.files = files
        self.nested = nested
        self.undoes = undoes
        self.head = head
        self.refs = {} if refs is None else refs
        self.wt_tree = wt_tree
        self._wt_flat = wt_flat
        self.writes = {} if writes is None else writes
        self.after = None
        self.seq = seq

    @property
    def wt_flat(self) -> FlatTree:
        """The work tree's tracked files when the operation started (`wt_tree`, flattened once, when asked)."""
        if self._wt_flat is None:
            self._wt_flat = self.repo.flat_tree(self.wt_tree)
        return self._wt_flat

    @wt_flat.setter
    def wt_flat(self, flat: FlatTree) -> None:
        self._wt_flat = flat

    def start(self) -> None:
        """Note HEAD, the refs and (for an operation that rewrites files) the work tree."""
        if self.nested:
            return
        self.head = head_text(self.repo)
        self.refs = ref_heads(self.repo)
        if self.files:
            self.wt_tree = snapshot_tree(self.repo)

    def record(self) -> int | None:
        """Append the operation's row if it changed anything; return its ``seq`` (None: nothing to record)."""
        if self.nested:
            return None
        repo = self.repo
        head = head_text(repo)
        changes = ref_changes(self.refs, ref_heads(repo))
        wt_after: ObjectId | None = None
        if self.files:
            if self.after is not None:
                wt_after = self.after[0]
            elif not self.writes:
                wt_after = self.wt_tree
            elif self.wt_tree is None:
                after = dict(self.wt_flat)
                for p, entry in self.writes.items():
                    if entry is None:
                        after.pop(p, None)
                    else:
                        after[p] = entry
                wt_after = repo.write_tree(after)
            else:
                # Only the directories along the paths written are built again; the rest is the tree before.
                written = {p: e for p, e in self.writes.items() if e is not None}
                wt_after = repo.write_tree(written, base=self.wt_tree, changed=self.writes)
        if not changes and head == self.head and wt_after == self.wt_tree:
            return None
        self.seq = OpLogTable(repo.db).append(
            time=repo.settings.now().timestamp(),
            kind=self.kind,
            summary=self.summary,
            head_before=self.head,
            head_after=head,
            refs=changes,
            wt_before=self.wt_tree,
            wt_after=wt_after,
            undoes=self.undoes,
        )
        return self.seq


@contextmanager
def operation(repo: Repository, kind: str, summary: str, *, files: bool = False) -> Iterator[Operation]:
    """Run a block as one recorded operation, in one write transaction.

    Args:
        repo: The repository.
        kind: A word for the operation (``commit``, ``reset``...).
        summary: One line saying what it did (the block may change it).
        files: The block rewrites work-tree files: it sets `Operation.writes` to what it writes.

    Yields:
        The operation (an operation inside another one records nothing of its own).
    """
    key = id(repo.db)
    with repo.transaction():
        op = Operation(repo, kind, summary, files, nested=key in _ACTIVE)
        if op.nested:
            yield op
            return
        _ACTIVE.add(key)
        try:
            op.start()
            yield op
            op.record()
        finally:
            _ACTIVE.discard(key)


def record_after(
    repo: Repository,
    kind: str,
    summary: str,
    before: dict[str, frozenset[ObjectId]],
    head: str,
    commit: ObjectId | None,
) -> None:
    """Record an operation whose ref changes were made by a transaction this module could not join (a fetch).

    A fetch moves the work tree only when it is clean, so when HEAD's commit moved the work
    tree went from the old commit's tree to the new one's.

    Args:
        repo: The repository.
        kind: A word for the operation.
        summary: What it did.
        before: The refs before it (`ref_heads`).
        head: HEAD before it (`head_text`).
        commit: HEAD's commit before it.
    """
    with repo.transaction():
        changes = ref_changes(before, ref_heads(repo))
        now = head_text(repo)
        if not changes and now == head:
            return
        after = repo.head_commit()
        wt_before = wt_after = None
        if commit is not None and after is not None and commit != after:
            wt_before, wt_after = read_commit(repo.store, commit).tree, read_commit(repo.store, after).tree
        OpLogTable(repo.db).append(
            time=repo.settings.now().timestamp(),
            kind=kind,
            summary=summary,
            head_before=head,
            head_after=now,
            refs=changes,
            wt_before=wt_before,
            wt_after=wt_after,
        )


# --- listing ------------------------------------------------------------------------------------


def operations(repo: Repository, *, limit: int | None = None) -> list[OpRecord]:
    """The recorded operations, newest first (at most `limit`)."""
    return OpLogTable(repo.db).newest_first(limit)


def oplog_commits(repo: Repository) -> set[ObjectId]:
    """Every commit the operation log names (kept reachable by it), and the trees of its work-tree snapshots."""
    out: set[ObjectId] = set()
    for rec in OpLogTable(repo.db).newest_first():
        out |= rec.commits()
    return out


def oplog_trees(repo: Repository) -> set[ObjectId]:
    """The work-tree snapshot trees the operation log names."""
    out: set[ObjectId] = set()
    for rec in OpLogTable(repo.db).newest_first():
        out |= {t for t in (rec.wt_before, rec.wt_after) if t is not None}
    return out


# --- the rows under a moved HEAD -------------------------------------------------------------------


def retarget_rows(
    repo: Repository,
    head_flat: FlatTree,
    *,
    untrack: bool = False,
    writes: Writes | None = None,
    tree: ObjectId | None = None,
    record_tree: bool = False,
) -> None:
    """Make `head_flat` the HEAD entries of the work-tree rows, leaving files as they are (inside a transaction).

    A path tracked now stays tracked (as added when `head_flat` lacks it) unless `untrack`,
    which stops tracking it (git's mixed reset); a path `head_flat` has gets a row. A path in
    `writes` (files about to be written) is tracked if it gets content and untracked if it is
    deleted and `head_flat` lacks it; its stat cache is dropped.
    """
    from vcrdt.worktree import Row

    wt = repo.worktree
    rows = wt.rows()
    writes = writes or {}
    save: list[Row] = []
    drop: list[str] = []
    for p in sorted(set(rows) | set(head_flat) | set(writes)):
        row = rows.get(p)
        want = head_flat.get(p)
        written = p in writes
        if row is None:
            if want is None and not (written and writes[p] is not None):
                continue
            row = Row(p, want[0] if want else None, want[1] if want else None)
            save.append(row)
            continue
        if want is None and (untrack or (written and writes[p] is None)):
            drop.append(p)
            continue
        kind, oid = want if want is not None else (None, None)
        if (row.head_kind, row.head_oid) == (kind, oid) and not written:
            continue
        row.head_kind, row.head_oid = kind, oid
        if written:
            row.kind, row.oid, row.size, row.mtime_ns, row.ino, row.ctime_ns = None, None, -1, -1, -1, -1
            row.state = "tracked"
        save.append(row)
    wt.forget(drop)
    wt.table.save(save)
    if record_tree:
        wt.table.set_head_tree(tree)


def check_untracked(repo: Repository, writes: Writes, tracked: set[str]) -> None:
    """Refuse to write over an untracked file (nothing is written).

    Raises:
        WorktreeError: Naming the first untracked file in the way.
    """
    for p in sorted(writes):
        if writes[p] is None or p in tracked:
            continue
        st = repo.worktree.lstat(p)
        if st is not None:
            import stat as _stat

            if not _stat.S_ISDIR(st.st_mode):
                raise WorktreeError(p, "is an untracked file in the way", hint="move it away first")


def write_files(repo: Repository, target: FlatTree, writes: Writes) -> None:
    """Check and journal work-tree writes (None: delete), to be done by `finish_checkout`; `target` is the result."""
    wt = repo.worktree
    rows = wt.rows()
    with wt.writing(target):
        wt.check_writes(writes, rows)
    wt.journal_writes(writes)


# --- undo -----------------------------------------------------------------------------------------


@value_class(frozen=True, init=False, repr=False, eq=False)
class UndoResult(Value):
    """What `undo` reverted, its own operation's number, and the files it wrote."""

    __slots__ = ("undone", "seq", "written")  # noqa: RUF023 (field order)

    undone: OpRecord
    seq: int | None
    written: list[str]

    def __init__(self, undone: OpRecord, seq: int | None, written: list[str]) -> None:
        object.__setattr__(self, "undone", undone)
        object.__setattr__(self, "seq", seq)
        object.__setattr__(self, "written", written)


def undo(repo: Repository, *, on_progress: Progress | None = None) -> UndoResult:
    """Revert the last recorded operation: its refs, HEAD and the work-tree files it wrote.

    Raises:
        VcrdtError: If the log is empty.
        MergeError: If a merge is in progress.
        DirtyWorktreeError: If a file the operation wrote was changed since (nothing is changed).
    """
    if repo.merge_state.in_progress():
        raise MergeError("cannot undo while a merge is in progress", hint="commit it, or run `vcrdt merge --abort`")
    table = OpLogTable(repo.db)
    with repo.transaction():
        last = table.latest()
        if last is None:
            raise VcrdtError("nothing to undo: the operation log is empty")
        files = last.wt_before is not None and last.wt_after is not None
        what = f"undo operation {last.seq} ({last.kind})"
        with operation(repo, "undo", what, files=files) as op:
            op.undoes = last.seq
            for name, (heads, _after) in sorted(last.refs.items()):
                if repo.refs.heads(name) != heads:
                    repo.refs.rewrite(name, heads)
            set_head_text(repo, last.head_before)
            head_commit = repo.refs.head().commit
            head_tree = read_commit(repo.store, head_commit).tree if head_commit is not None else None
            head_flat = repo.flat_tree(head_tree)
            writes: dict[str, Entry | None] = {}
            if files:
                assert last.wt_before is not None and last.wt_after is not None
                before, after = repo.flat_tree(last.wt_before), repo.flat_tree(last.wt_after)
                current = op.wt_flat
                rewrite = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
                edited = [p for p in rewrite if current.get(p) != after.get(p)]
                if edited:
                    raise DirtyWorktreeError(
                        f"cannot undo operation {last.seq}: files it wrote were changed since: "
                        + ", ".join(edited[:5])
                        + (f" and {len(edited) - 5} more" if len(edited) > 5 else ""),
                        hint="commit or restore those changes first",
                    )
                writes = {p: before.get(p) for p in rewrite}
                check_untracked(repo, writes, set(current))
                result = dict(current)
                for p, e in writes.items():
                    if e is None:
                        result.pop(p, None)
                    else:
                        result[p] = e
                write_files(repo, result, writes)
                op.writes = writes
            retarget_rows(repo, head_flat, writes=writes, tree=head_tree, record_tree=True)
    repo.worktree.finish_checkout(on_progress)
    return UndoResult(last, op.seq, sorted(writes))
