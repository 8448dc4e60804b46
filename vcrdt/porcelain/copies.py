"""A copied replica: telling a copy of a repository from the original, and giving it an identity of its own.

A copy (``cp -a``, a backup restored beside the original, a directory synced
to another machine) holds the same replica id and the same clock actors as
the original. If both then commit, two commits get the same (actor, count)
dot, and the vector clocks answer ``before`` for commits that are concurrent.

So the replica id is *bound* to the directory that holds it: meta key
``replica_home`` records the device and inode of ``.vcrdt`` (and its path,
for the message). Every command that opens the repository compares them with
what it finds (`bind_replica`): the same device and inode is the same
directory, moved or not (``mv`` within a file system keeps the inode); any
other is a copy, or a move to another file system, which looks the same. Then
the repository takes a new random replica id and forgets its clock actors, so
its next commits start new ones. That is always safe: a moved repository only
pays a new clock key; a copy stops sharing dots with its original. The
original keeps its inode and its id. Renewing without asking (with a one-line
warning) rather than refusing until the user runs a command: there is no
choice to make, and a refusal would break scripts after every backup restore.

What no binding can catch: a copy made before the binding was recorded (a
repository of an earlier build), or an identical clone of a whole disk or
machine (same path, device and inode): `renew_replica` (``vcrdt replica
renew``) is the same renewal by hand. `fsck` reports the result, two commits
with one dot (`vcrdt.porcelain.history`).
"""

from __future__ import annotations

import os

from vcrdt.errors import RepoError
from vcrdt.ids import ReplicaId
from vcrdt.repo import Repository
from vcrdt.values import Value, value_class

HOME_KEY = "replica_home"


@value_class(frozen=True, init=False, repr=False, eq=False)
class ReplicaRenewal(Value):
    """A copy was found and given a new replica id."""

    __slots__ = ("old", "new", "origin", "here")  # noqa: RUF023 (field order)

    old: ReplicaId
    new: ReplicaId
    # Where the original was (the path recorded with the binding).
    origin: str
    here: str

    def __init__(self, old: ReplicaId, new: ReplicaId, origin: str, here: str) -> None:
        object.__setattr__(self, "old", old)
        object.__setattr__(self, "new", new)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "here", here)


def _parse(recorded: str) -> tuple[int, int, str] | None:
    """``"<dev> <ino> <path>"`` as numbers and a path; None if malformed."""
    dev, _, rest = recorded.partition(" ")
    ino, _, path = rest.partition(" ")
    if not dev.isdigit() or not ino.isdigit():
        return None
    return int(dev), int(ino), path


def bind_replica(repo: Repository) -> ReplicaRenewal | None:
    """Check that the replica id belongs to this `.vcrdt` directory; renew it if this is a copy.

    The first open by this build records the binding. A directory on another device or inode
    than the recorded one gets a new replica id, and its clock actors are forgotten, in one
    transaction. A move on the same file system only updates the recorded path. A database
    that cannot be written (a read-only medium) is left as it is.

    Args:
        repo: The repository, opened for writing.

    Returns:
        What was renewed, or None.

    Raises:
        RepoBusyError: If another writer holds the lock past the busy timeout.
    """
    meta = os.path.abspath(repo.meta_dir)
    try:
        st = os.stat(meta)
    except OSError:
        return None
    here = f"{st.st_dev} {st.st_ino} {meta}"
    if repo.db.get_meta(HOME_KEY) == here:
        return None
    renewal: ReplicaRenewal | None = None
    try:
        with repo.transaction():
            recorded = repo.db.get_meta(HOME_KEY)  # again, under the write lock
            if recorded == here:
                return None
            home = _parse(recorded) if recorded is not None else None
            if recorded is not None and (home is None or home[:2] != (st.st_dev, st.st_ino)):
                renewal = _renew(repo, home[2] if home else "?", meta)
            repo.db.set_meta(HOME_KEY, here)
    except RepoError as exc:
        if "readonly" in str(exc.__cause__):
            return None
        raise
    return renewal


def renew_replica(repo: Repository) -> ReplicaRenewal:
    """Give the repository a new replica id and forget its clock actors, as a detected copy gets.

    For the copies no binding can tell (a clone of a whole disk or machine, or a copy made
    before the binding existed): run it in every copy but one.

    Args:
        repo: The repository.

    Returns:
        The old and the new id.

    Raises:
        RepoBusyError: If another writer holds the lock past the busy timeout.
    """
    meta = os.path.abspath(repo.meta_dir)
    with repo.transaction():
        renewal = _renew(repo, meta, meta)
        try:
            st = os.stat(meta)
        except OSError:
            return renewal
        repo.db.set_meta(HOME_KEY, f"{st.st_dev} {st.st_ino} {meta}")
    return renewal


def _renew(repo: Repository, origin: str, here: str) -> ReplicaRenewal:
    """Store a new random replica id and empty the actors table (inside the caller's transaction)."""
    new = ReplicaId(os.urandom(16).hex())
    renewal = ReplicaRenewal(repo.replica, new, origin, here)
    repo.db.set_meta("replica", new)
    # The copy's actors continue the original's chains: its next commits must start new ones.
    repo.db.conn.execute("DELETE FROM actors")
    repo.replica = new
    return renewal
