"""Between replicas: causality of two commits, ref states, and fetch from a local path."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vcrdt.crdt.refstate import BranchState, RefState
from vcrdt.crdt.vclock import Relation
from vcrdt.dag import causal_relation, is_ancestor, read_commit, read_tree
from vcrdt.errors import (
    BadRefNameError,
    ConfigError,
    CorruptObjectError,
    DirtyWorktreeError,
    LimitError,
    MergeError,
    NotARepositoryError,
    ObjectNotFoundError,
)
from vcrdt.ids import ObjectId, to_hex
from vcrdt.objects import Reference, history_problem, references
from vcrdt.paths import META_DIR
from vcrdt.porcelain._shared import (
    Progress,
    tie_key,
)
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX
from vcrdt.repo import Repository
from vcrdt.store import LARGE_OBJECT


@dataclass(frozen=True, slots=True)
class Causality:
    """How commit `a` relates to commit `b`, from their vector clocks."""

    a: ObjectId
    b: ObjectId
    relation: Relation


def concurrent(repo: Repository, a: str, b: str) -> Causality:
    """Compare two commits causally: `before`, `after`, `equal` or `concurrent` (a relative to b).

    Answered from the commits' vector clocks (`vcrdt.dag.causal_relation`): a commit is
    before another when the other's clock covers its dot.

    Raises:
        BadRevisionError: If a revision does not resolve.
    """
    oid_a, oid_b = repo.resolve(a), repo.resolve(b)
    return Causality(oid_a, oid_b, causal_relation(repo.store, oid_a, oid_b))


@dataclass(frozen=True, slots=True)
class FetchedBranch:
    """How one branch changed in a fetch."""

    name: str
    before: frozenset[ObjectId]
    after: frozenset[ObjectId]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What `fetch` brought in."""

    source: Path
    objects: int
    branches: list[FetchedBranch]
    tags: list[str]
    # Problems that did not stop the fetch (a tag that differs, a deletion of the checked-out branch).
    warnings: list[str]
    checkout: ObjectId | None


def ref_state(repo: Repository) -> RefState:
    """This replica's branches as the ref-state CRDT (short names, live heads and tombstones)."""
    names = {n[len(BRANCH_PREFIX) :] for n, _ in repo.refs.iter_refs(BRANCH_PREFIX)}
    names |= {n[len(BRANCH_PREFIX) :] for n in repo.refs.tombstoned_names() if n.startswith(BRANCH_PREFIX)}
    return RefState(
        {
            n: BranchState(repo.refs.heads(BRANCH_PREFIX + n), repo.refs.tombstones(BRANCH_PREFIX + n))
            for n in sorted(names)
        }
    )


def fetch(repo: Repository, source: Path, *, on_progress: Progress | None = None) -> FetchResult:
    """Bring in another replica's commits and join its branches into ours (a local path).

    Objects come first: every commit reachable from the other replica's
    branches and tags that this one lacks, with its trees and blobs (commits
    already here are known to be complete, so the walk stops at them). Then
    each branch's state is joined as the ref-state CRDT: heads unioned, heads
    that are ancestors of others dropped, tombstones honoured (add-wins). A
    branch both replicas moved ends with two heads, siblings, for `merge` to
    join. All of it is one transaction. The checked-out branch is never
    deleted by a fetch, and when it moves forward the work tree follows (it
    must be clean then).

    Raises:
        NotARepositoryError: If `source` holds no repository.
        BadRefNameError: If a ref name of the other replica breaks a ref-name rule (nothing is fetched).
        DirtyWorktreeError: If the checked-out branch would move while local changes exist.
    """
    if repo.merge_state.in_progress():
        raise MergeError("a merge is in progress", hint="commit it or run `vcrdt merge --abort`, then fetch")
    if not (source / META_DIR).is_dir():
        what = "does not exist" if not source.exists() else "is not a vcrdt repository"
        raise NotARepositoryError(
            str(source),
            message=f"cannot fetch from {source}: it {what}",
            hint="name the other replica's work-tree directory (the one holding .vcrdt)",
        )
    limits = FetchLimits.from_config(repo)
    # Read-only, one snapshot, only vcrdt's own tables, each query within the time limit.
    other = Repository.discover(source, repo.settings, read_only=True, time_limit=limits.source_timeout)
    try:
        if other.root == repo.root:
            raise MergeError("cannot fetch from the repository itself")
        _check_ref_names(other)
        theirs = ref_state(other)
        tags = {n: h for n, hs in other.refs.iter_refs(TAG_PREFIX) for h in hs}
        wanted = [h for b in theirs.branches.values() for h in b.heads] + list(tags.values())
        missing = _missing_objects(other, repo, wanted, limits)
        head = repo.refs.head()
        with repo.transaction():
            for i, (oid, kind, size) in enumerate(missing):
                if on_progress is not None and i % 256 == 0:
                    on_progress(i, len(missing))
                if size > LARGE_OBJECT:
                    # Chunk by chunk: the body is never held whole, and must hash to `oid`.
                    repo.store.put_stream(kind, size, other.store.iter_content(oid))
                else:
                    got, body = other.store.get(oid)  # verified against oid, kind included
                    repo.store.put(got, body)
            ours = ref_state(repo)

            def ancestry(a: ObjectId, b: ObjectId) -> bool:
                return is_ancestor(repo.store, a, b)

            joined = ours.join(theirs, ancestry)
            changed: list[FetchedBranch] = []
            warnings: list[str] = []
            checkout: ObjectId | None = None
            current = head.branch[len(BRANCH_PREFIX) :] if head.branch else None
            for name, state in joined.branches.items():
                before = ours.branches.get(name, BranchState())
                if name == current and head.commit is not None:
                    state, moved, note = _keep_checked_out(repo, state, before, head.commit, ancestry)
                    checkout = moved
                    if note:
                        warnings.append(note)
                elif name == current and state.heads:
                    # The checked-out branch was unborn here: check out what arrived.
                    checkout = max(state.heads, key=lambda h: tie_key(repo, h))
                if state != before:
                    repo.refs.set_state(BRANCH_PREFIX + name, state.heads, state.tombstones)
                    if state.heads != before.heads:
                        changed.append(FetchedBranch(name, before.heads, state.heads))
            if checkout is not None:
                if not repo.worktree.status().is_clean:
                    raise DirtyWorktreeError(
                        f"the fetch moves the checked-out branch {current!r}, and the work tree has local changes",
                        hint="commit or restore them, then fetch again",
                    )
                flat = repo.commit_flat(checkout)
                try:
                    repo.worktree.begin_checkout(flat, force=False)
                except DirtyWorktreeError as exc:
                    exc.hint = "move those files away, then fetch again"  # fetch has no --force
                    raise
            if head.branch is not None:
                at = checkout or head.commit
                if at is not None and len(repo.refs.heads(head.branch)) > 1:
                    repo.refs.set_head_at(at)
            new_tags: list[str] = []
            for full, oid in sorted(tags.items()):
                mine = repo.refs.heads(full)
                if not mine:
                    repo.refs.update(full, oid, expected=None)
                    new_tags.append(full[len(TAG_PREFIX) :])
                elif oid not in mine:
                    warnings.append(f"tag {full[len(TAG_PREFIX) :]!r} differs here; kept this replica's")
        # The refs, rows and checkout journal are committed: now the work-tree files.
        repo.worktree.finish_checkout()
        if on_progress is not None:
            on_progress(len(missing), len(missing))
        return FetchResult(other.root, len(missing), changed, new_tags, warnings, checkout)
    finally:
        other.close()


def _check_ref_names(other: Repository) -> None:
    """Refuse the whole fetch when a ref name of the other replica breaks the local ref-name rules.

    As git does: one bad name (a control character, a leading ``-``, ``..``,
    a name outside ``refs/heads/`` and ``refs/tags/``, ...) stops the fetch
    before anything is stored, rather than being skipped.

    Raises:
        BadRefNameError: Naming the first bad ref and the rule it breaks.
    """
    try:
        other.refs.check_names()
    except BadRefNameError as exc:
        exc.hint = "the other replica has a ref this one does not accept; nothing was fetched"
        raise


def _keep_checked_out(
    repo: Repository,
    state: BranchState,
    before: BranchState,
    at: ObjectId,
    ancestry: Callable[[ObjectId, ObjectId], bool],
) -> tuple[BranchState, ObjectId | None, str]:
    """Adjust the joined state of the checked-out branch; return it, the commit to move to, and a warning."""
    if at in state.heads:
        return state, None, ""
    if not state.heads:
        # Deleted on the other replica: the branch under the work tree stays as it was here.
        keep = {t for t in state.tombstones if not any(ancestry(h, t) for h in before.heads)}
        return (
            BranchState(before.heads, frozenset(keep)),
            None,
            "the other replica deleted the checked-out branch; kept it here",
        )
    ahead = sorted(h for h in state.heads if ancestry(at, h))
    if ahead:
        return state, min(ahead, key=lambda h: tie_key(repo, h)), ""
    # A deletion the other replica saw covers the commit under the work tree, and the branch's
    # other heads do not contain it: keep it as a sibling rather than lose it or the work tree.
    keep = {t for t in state.tombstones if not ancestry(at, t)}
    return (
        BranchState(state.heads | {at}, frozenset(keep)),
        None,
        "the other replica deleted and re-created the checked-out branch; kept this replica's head as a sibling",
    )


def _missing_objects(
    src: Repository, dst: Repository, heads: list[ObjectId], limits: FetchLimits
) -> list[tuple[ObjectId, str, int]]:
    """Objects reachable from `heads` in `src` that `dst` lacks, with kind and size; trees and blobs before commits.

    Every reference is checked to name an object of the kind its place requires (looked up in
    `dst` when it holds it, else in `src`), and every object to copy
    against `limits` when it is first met, before it is read whole (trees and commits) or
    stored. Commits and trees that `dst` holds are complete, so the walk stops at them.

    Raises:
        CorruptObjectError: If a commit's clocks break the history rules against its parents, or
            a head, tree or commit names an object of the wrong kind.
        LimitError: If an object, or all of them together, are larger than `limits` allow.
    """
    out: list[tuple[ObjectId, str, int]] = []
    commits: list[tuple[ObjectId, str, int]] = []
    # Every object met: its kind, and whether `dst` holds it (else it is to be copied).
    known: dict[ObjectId, tuple[str, bool]] = {}
    total = 0

    def meet(oid: ObjectId, ref: Reference, holder: ObjectId) -> int | None:
        """Check the kind of `oid`, named by `holder` through `ref`; return its size if it is new, to copy."""
        nonlocal total
        fresh: int | None = None
        if oid in known:
            kind = known[oid][0]
        else:
            try:
                kind = dst.store.info(oid)[0]
                known[oid] = (kind, True)
            except ObjectNotFoundError:
                kind, fresh = src.store.info(oid)
                known[oid] = (kind, False)
        problem = ref.problem(kind)
        if problem is not None:
            raise CorruptObjectError(to_hex(holder), problem)
        if fresh is None:
            return None
        limits.check_object(oid, kind, fresh)
        total += fresh
        if total > limits.max_fetch_size:
            raise LimitError(
                f"the objects to fetch from {src.root} hold more than limits.max_fetch_size ({limits.max_fetch_size})",
                hint="raise it with `vcrdt config limits.max_fetch_size SIZE` if the replica is trusted",
            )
        return fresh

    stack: list[tuple[ObjectId, int]] = []
    for h in heads:
        fresh = meet(h, Reference(h, "commit", "a ref names it, but it is"), h)
        if fresh is not None:
            stack.append((h, fresh))
    while stack:
        oid, size = stack.pop()
        commits.append((oid, "commit", size))
        commit = read_commit(src.store, oid)  # its size was checked when it was met
        trees: list[tuple[ObjectId, int]] = []
        for ref in references(commit):
            fresh = meet(ref.oid, ref, oid)
            if fresh is None:
                continue
            if ref.kind == "commit":
                stack.append((ref.oid, fresh))
            elif ref.kind == "tree":
                trees.append((ref.oid, fresh))
            else:
                out.append((ref.oid, ref.kind, fresh))
        parents = [read_commit(dst.store if known[p][1] else src.store, p) for p in commit.parents]
        problem = history_problem(commit, parents)
        if problem is not None:
            raise CorruptObjectError(to_hex(oid), f"refusing a commit whose {problem}")
        while trees:
            tid, tsize = trees.pop()
            for ref in references(read_tree(src.store, tid)):
                fresh = meet(ref.oid, ref, tid)
                if fresh is None:
                    continue
                if ref.kind == "tree":
                    trees.append((ref.oid, fresh))
                else:
                    out.append((ref.oid, ref.kind, fresh))
            out.append((tid, "tree", tsize))
    # Blobs and trees before commits; the order among commits does not matter, since one transaction
    # stores them all before any ref moves.
    return out + commits[::-1]


_SIZE = re.compile(r"\s*([0-9]+)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """What a fetch accepts from the other replica: config keys ``limits.*`` (docs/format.md).

    Sizes are of decoded objects, whatever their compressed form; each is checked against the
    size its row declares before anything is read or stored, and a body must then have exactly
    that size, so a few kilobytes declaring gigabytes (a decompression bomb) are refused at once.
    """

    # Any one object (blobs are copied chunk by chunk; this bounds the disk, not the memory).
    max_object_size: int = 1 << 30
    # Trees and commits, which are read whole into memory.
    max_tree_size: int = 64 << 20
    # Everything one fetch copies, all objects together.
    max_fetch_size: int = 16 << 30
    # Seconds any one query of the other replica's database may run.
    source_timeout: float = 30.0

    @classmethod
    def from_config(cls, repo: Repository) -> FetchLimits:
        """Read the limits from the repository and global config, defaults for unset keys.

        Sizes are a number of bytes with an optional ``K``, ``M``, ``G`` or ``T`` (powers of 1024).

        Raises:
            ConfigError: If a value is not a positive size or number of seconds.
        """
        default = cls()
        timeout = default.source_timeout
        text = repo.config_get("limits.source_timeout")
        if text is not None:
            try:
                timeout = float(text)
            except ValueError:
                timeout = -1.0
            if not 0 < timeout < float("inf"):
                raise ConfigError(f"config limits.source_timeout = {text!r}: not a positive number of seconds")
        return cls(
            max_object_size=_config_size(repo, "limits.max_object_size", default.max_object_size),
            max_tree_size=_config_size(repo, "limits.max_tree_size", default.max_tree_size),
            max_fetch_size=_config_size(repo, "limits.max_fetch_size", default.max_fetch_size),
            source_timeout=timeout,
        )

    def check_object(self, oid: ObjectId, kind: str, size: int) -> None:
        """Refuse an object larger than the limits allow for its kind.

        Raises:
            LimitError: Naming the object, its size and the limit.
        """
        if size > self.max_object_size:
            raise LimitError(
                f"{kind} {to_hex(oid)}: {size} bytes, more than limits.max_object_size ({self.max_object_size})",
                hint="raise it with `vcrdt config limits.max_object_size SIZE` if the replica is trusted",
            )
        if kind != "blob" and size > self.max_tree_size:
            raise LimitError(
                f"{kind} {to_hex(oid)}: {size} bytes, more than limits.max_tree_size ({self.max_tree_size})",
                hint="trees and commits are read whole; raise it with `vcrdt config limits.max_tree_size SIZE`",
            )


def _config_size(repo: Repository, key: str, default: int) -> int:
    """A size from the config (bytes, or with a K/M/G/T suffix), or `default` when unset.

    Raises:
        ConfigError: If the value is not a size of at least one byte.
    """
    text = repo.config_get(key)
    if text is None:
        return default
    m = _SIZE.fullmatch(text)
    if m is None:
        raise ConfigError(f"config {key} = {text!r}: not a size (bytes, or a number with K, M, G or T)")
    size = int(m.group(1)) * _UNITS[m.group(2).lower()]
    if size < 1:
        raise ConfigError(f"config {key} = {text!r}: must be at least 1 byte")
    return size
