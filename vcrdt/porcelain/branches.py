"""Branches and tags, and switching the work tree between them."""

from __future__ import annotations

from vcrdt.dag import is_ancestor, read_commit
from vcrdt.errors import (
    BadRevisionError,
    MergeError,
    RefError,
    RefExistsError,
    RefNotFoundError,
)
from vcrdt.ids import ObjectId
from vcrdt.porcelain._shared import Progress, normalise_message, tie_key
from vcrdt.porcelain.oplog import operation
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX, check_short_name
from vcrdt.repo import Repository
from vcrdt.values import Value, value_class


@value_class(frozen=True, init=False, repr=False, eq=False)
class BranchInfo(Value):
    """One branch: its heads (several when concurrent siblings exist)."""

    __slots__ = ("name", "heads", "current", "summary")  # noqa: RUF023 (field order)

    name: str
    heads: list[ObjectId]
    current: bool
    summary: str

    def __init__(self, name: str, heads: list[ObjectId], current: bool, summary: str) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "heads", heads)
        object.__setattr__(self, "current", current)
        object.__setattr__(self, "summary", summary)


def branch_list(repo: Repository) -> list[BranchInfo]:
    """List branches, the current one marked."""
    current = repo.refs.head().branch
    out = []
    for name, heads in repo.refs.iter_refs(BRANCH_PREFIX):
        ordered = sorted(heads)
        summary = read_commit(repo.store, ordered[0]).summary if ordered else ""
        out.append(BranchInfo(name[len(BRANCH_PREFIX) :], ordered, name == current, summary))
    return out


def branch_create(repo: Repository, name: str, start: str | None = None) -> ObjectId:
    """Create a branch at `start` (default HEAD).

    Raises:
        BadRefNameError: If the name is invalid.
        RefExistsError: If the branch exists.
        BadRevisionError: If `start` does not resolve.
    """
    check_short_name(name)
    oid = repo.resolve(start or "HEAD")
    with operation(repo, "branch", f"branch {name} {start or 'HEAD'}"):
        if repo.refs.exists(BRANCH_PREFIX + name):
            raise RefExistsError(name, "branch")
        repo.refs.update(BRANCH_PREFIX + name, oid, expected=None)
    return oid


def branch_delete(repo: Repository, name: str, *, force: bool = False) -> ObjectId:
    """Delete a branch; without `force`, only if HEAD contains its commits.

    Raises:
        RefNotFoundError: If the branch does not exist.
        RefError: If it is the current branch or not merged.
    """
    full = BRANCH_PREFIX + name
    with operation(repo, "branch", f"branch -{'D' if force else 'd'} {name}"):
        heads = repo.refs.heads(full)
        if not heads:
            raise RefNotFoundError(name, "branch")
        if repo.refs.head().branch == full:
            raise RefError(f"cannot delete the current branch {name!r}", hint="switch to another branch first")
        head = repo.head_commit()
        if not force:
            for h in heads:
                if head is None or not is_ancestor(repo.store, h, head):
                    raise RefError(
                        f"branch {name!r} is not merged into HEAD", hint=f"use `vcrdt branch -D {name}` to delete it"
                    )
        repo.refs.delete(full, tombstone=True)
    return sorted(heads)[0]


def branch_rename(repo: Repository, old: str, new: str) -> None:
    """Rename a branch (HEAD follows if it pointed at it).

    Raises:
        RefNotFoundError: If `old` does not exist.
        RefExistsError: If `new` exists.
    """
    check_short_name(new)
    with operation(repo, "branch", f"branch -m {old} {new}"):
        if not repo.refs.exists(BRANCH_PREFIX + old):
            raise RefNotFoundError(old, "branch")
        if repo.refs.exists(BRANCH_PREFIX + new):
            raise RefExistsError(new, "branch")
        repo.refs.rename(BRANCH_PREFIX + old, BRANCH_PREFIX + new)
        if repo.refs.head().branch == BRANCH_PREFIX + old:
            repo.refs.set_head_branch(BRANCH_PREFIX + new)


@value_class(frozen=True, init=False, repr=False, eq=False)
class TagInfo(Value):
    """A tag and its commit."""

    __slots__ = ("name", "oid", "summary")

    name: str
    oid: ObjectId
    summary: str

    def __init__(self, name: str, oid: ObjectId, summary: str) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "oid", oid)
        object.__setattr__(self, "summary", summary)


def tag_list(repo: Repository) -> list[TagInfo]:
    """List tags."""
    out = []
    for name, heads in repo.refs.iter_refs(TAG_PREFIX):
        oid = sorted(heads)[0]
        out.append(TagInfo(name[len(TAG_PREFIX) :], oid, read_commit(repo.store, oid).summary))
    return out


def tag_create(
    repo: Repository, name: str, rev: str | None = None, *, force: bool = False, message: str | None = None
) -> ObjectId:
    """Create a tag at `rev` (default HEAD); with `message`, an annotated tag.

    An annotated tag is stored as `git import` stores one (docs/format.md, "Git interop"): a
    commit with the tagged commit as its one parent and its tree, the tagger (the configured
    author) as author, the message, and a git record of type ``tag``; the tag names that
    commit, and `git export` writes it as a git tag object.

    Returns:
        The commit tagged.

    Raises:
        RefExistsError: If the tag exists and `force` is False.
        IdentityError: If `message` is given and no author is configured.
    """
    check_short_name(name, "tag")
    oid = repo.resolve(rev or "HEAD")
    text = normalise_message(message) if message is not None else None
    with operation(repo, "tag", f"tag {name} {rev or 'HEAD'}"):
        if repo.refs.exists(TAG_PREFIX + name) and not force:
            raise RefExistsError(name, "tag")
        target = oid
        if text is not None:
            from vcrdt.gitio.record import GitRecord, git_ident

            tagger = repo.signature()
            kind = b"tag" if annotated_target(repo, oid) is not None else b"commit"
            header = b"type %s\ntag %s\ntagger %s\n" % (
                kind,
                name.encode("utf-8", "surrogateescape"),
                git_ident(tagger),
            )
            record = repo.store.put("blob", GitRecord(b"tag", header).to_bytes())
            target = repo.new_commit(read_commit(repo.store, oid).tree, [oid], text, tagger, git=record)
        repo.refs.update(TAG_PREFIX + name, target)
    return oid


def annotated_target(repo: Repository, oid: ObjectId) -> ObjectId | None:
    """The commit an annotated tag's commit tags (its one parent); None if `oid` is not one.

    A commit is an annotated tag when its git record (`git import`, `tag -a`) has type ``tag``;
    a record that cannot be read counts as none.
    """
    from vcrdt.errors import VcrdtError
    from vcrdt.gitio.record import GitRecord

    try:
        c = read_commit(repo.store, oid)
        if c.git is None or len(c.parents) != 1:
            return None
        record = GitRecord.from_bytes(repo.store.get(c.git)[1])
    except VcrdtError:
        return None
    return c.parents[0] if record.type == b"tag" else None


def tag_delete(repo: Repository, name: str) -> None:
    """Delete a tag.

    Raises:
        RefNotFoundError: If it does not exist.
    """
    with operation(repo, "tag", f"tag -d {name}"):
        if not repo.refs.exists(TAG_PREFIX + name):
            raise RefNotFoundError(name, "tag")
        repo.refs.delete(TAG_PREFIX + name)


@value_class(frozen=True, init=False, repr=False, eq=False)
class SwitchResult(Value):
    """Where HEAD went and which files changed."""

    __slots__ = ("branch", "oid", "written", "created")  # noqa: RUF023 (field order)

    branch: str | None
    oid: ObjectId | None
    written: list[str]
    created: bool

    def __init__(self, branch: str | None, oid: ObjectId | None, written: list[str], created: bool = False) -> None:
        object.__setattr__(self, "branch", branch)
        object.__setattr__(self, "oid", oid)
        object.__setattr__(self, "written", written)
        object.__setattr__(self, "created", created)


def switch(
    repo: Repository,
    target: str,
    *,
    create: bool = False,
    start: str | None = None,
    detach: bool = False,
    force: bool = False,
    on_progress: Progress | None = None,
) -> SwitchResult:
    """Check out a branch (or with `detach`, any commit), carrying local changes that don't collide.

    With `create`, the branch is made first, at `start` (default HEAD).

    Raises:
        DirtyWorktreeError: If uncommitted changes would be overwritten (without `force`).
        RefNotFoundError: If the branch does not exist (and `create` is False).
    """
    if repo.merge_state.in_progress():
        raise MergeError(
            "cannot switch branches while a merge is in progress",
            hint="commit the merge, or run `vcrdt merge --abort`",
        )
    with operation(
        repo,
        "switch",
        f"switch {'-c ' if create else ''}{'--detach ' if detach else ''}{target}{' ' + start if start else ''}",
        files=True,
    ) as op:
        if create:
            branch_create(repo, target, start)
        full = BRANCH_PREFIX + target
        if detach:
            oid: ObjectId | None = repo.resolve(target)
        elif repo.refs.exists(full):
            heads = repo.refs.heads(full)
            # With siblings, the work tree goes to the latest in the tie-break order.
            oid = max(heads, key=lambda h: tie_key(repo, h))
        else:
            hint = None
            try:
                repo.resolve(target)
                hint = f"use `vcrdt switch --detach {target}` to check out a commit"
            except BadRevisionError:
                pass
            err = RefNotFoundError(target, "branch")
            err.hint = hint or f"use `vcrdt switch -c {target}` to create it"
            raise err
        # Through a diff of HEAD's tree and the target's: only the paths that differ are visited.
        head = repo.head_commit()
        head_tree = read_commit(repo.store, head).tree if head is not None else None
        tree = read_commit(repo.store, oid).tree if oid is not None else None
        writes = repo.worktree.begin_checkout_tree(tree, force=force, expect=head_tree)
        written = list(writes)
        op.writes = writes
        if op.wt_tree == head_tree:
            # A clean work tree (its snapshot is HEAD's tree) is now the target's tree exactly: the
            # operation log need not build it again from the writes.
            op.after = (tree,)
        if detach:
            assert oid is not None  # invariant: detach resolved a commit above
            repo.refs.set_head_detached(oid)
        else:
            repo.refs.set_head_branch(full)
            if oid is not None and len(repo.refs.heads(full)) > 1:
                repo.refs.set_head_at(oid)
    # HEAD, the rows and the journal are committed: now the files (a kill here is finished by the next command).
    repo.worktree.finish_checkout(on_progress)
    return SwitchResult(None if detach else target, oid, written, create)
