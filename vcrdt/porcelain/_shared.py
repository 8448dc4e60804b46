"""Small pieces the verbs share: paths from the command line, messages, blobs, HEAD moves, tie keys."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

from vcrdt.crdt.order import TieKey
from vcrdt.dag import read_commit
from vcrdt.errors import (
    VcrdtError,
    WorktreeError,
)
from vcrdt.ids import ObjectId
from vcrdt.paths import check_path
from vcrdt.refs import BRANCH_PREFIX
from vcrdt.repo import Repository
from vcrdt.store import LARGE_OBJECT

Progress = Callable[[int, int], None]


def branch_of(repo: Repository) -> str | None:
    name = repo.refs.head().branch
    return name[len(BRANCH_PREFIX) :] if name and name.startswith(BRANCH_PREFIX) else name


def repo_path(repo: Repository, cwd: str | os.PathLike[str], arg: str) -> str:
    """Turn a command-line path (relative to `cwd`) into a repository path (``.`` for the root).

    Raises:
        WorktreeError: If it lies outside the repository.
        BadPathError: If it breaks a path rule.
    """
    full = os.path.normpath(os.path.join(cwd, arg))
    root = repo.root_dir
    if full == root:
        return "."
    if not full.startswith(root + os.sep):
        raise WorktreeError(arg, "is outside the repository")
    return check_path(full[len(root) + 1 :].replace(os.sep, "/"))


def normalise_message(message: str) -> str:
    lines = [line.rstrip() for line in message.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip("\n")
    if not text:
        raise VcrdtError("empty commit message", hint="pass a message with -m")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise VcrdtError("commit message is not valid UTF-8") from None
    return text + "\n"


def blob_bytes(repo: Repository, oid: ObjectId | None) -> bytes | None:
    """A blob's content for a diff or a merge; a large object is not read, and binary text naming it stands in.

    The stand-in names the object, so two large objects never compare equal.
    """
    return blob_side(repo, oid)[0]


def blob_side(repo: Repository, oid: ObjectId | None) -> tuple[bytes | None, int]:
    """A blob's content as `blob_bytes` gives it, and the blob's size (0 for none)."""
    if oid is None:
        return None, 0
    _, size = repo.store.info(oid)
    if size > LARGE_OBJECT:
        return b"\0<large object " + oid.hex().encode() + b">", size
    return repo.store.get(oid)[1], size


MARKER_PREFIXES = (b"<<<<<<< ", b">>>>>>> ", b"||||||| ")


def tie_key(repo: Repository, oid: ObjectId) -> TieKey:
    """A commit's place in the tie-break order (Lamport clock, replica id, commit id)."""
    c = read_commit(repo.store, oid)
    return TieKey(c.lamport, c.replica, bytes(oid))


def move_head(
    repo: Repository,
    branch: str | None,
    new: ObjectId,
    expected: ObjectId | None,
    drop: frozenset[ObjectId] = frozenset(),
) -> None:
    if branch is not None:
        repo.refs.update(branch, new, expected=expected, drop=drop)
    else:
        repo.refs.set_head_detached(new)


def has_markers(repo: Repository, path: str) -> bool:
    st = repo.worktree.lstat(path)  # None beyond a symlink: never read through one
    if st is None or not stat.S_ISREG(st.st_mode):
        return False
    try:
        with repo.worktree.open_file(path) as fh:
            return any(line.startswith(MARKER_PREFIXES) or line.rstrip(b"\r\n") == b"=" * 7 for line in fh)
    except OSError as exc:
        raise WorktreeError(path, f"cannot read: {exc.strerror}") from exc
