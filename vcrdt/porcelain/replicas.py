"""Between replicas: causality of two commits, ref states, and fetch from a local path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vcrdt.crdt.vclock import Relation, compare
from vcrdt.dag import read_commit
from vcrdt.errors import MergeError
from vcrdt.ids import ObjectId
from vcrdt.porcelain._shared import Progress
from vcrdt.repo import Repository
from vcrdt.sync import session, walk
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.receive import BranchChange
from vcrdt.sync.session import Stats
from vcrdt.sync.transport import LocalTransport


@dataclass(frozen=True, slots=True)
class Causality:
    """How commit `a` relates to commit `b`, from their vector clocks."""

    a: ObjectId
    b: ObjectId
    relation: Relation


def concurrent(repo: Repository, a: str, b: str) -> Causality:
    """Compare two commits causally: `before`, `after`, `equal` or `concurrent` (a relative to b).

    Answered from the commits' vector clocks alone. Two different commits with
    equal clocks (one replica rewrote history) are concurrent: neither is in
    the other's history.

    Raises:
        BadRevisionError: If a revision does not resolve.
    """
    oid_a, oid_b = repo.resolve(a), repo.resolve(b)
    if oid_a == oid_b:
        return Causality(oid_a, oid_b, "equal")
    relation = compare(dict(read_commit(repo.store, oid_a).clock), dict(read_commit(repo.store, oid_b).clock))
    return Causality(oid_a, oid_b, "concurrent" if relation == "equal" else relation)


FetchedBranch = BranchChange
FetchLimits = SyncLimits
ref_state = walk.ref_state


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
    stats: Stats | None = None


def fetch(repo: Repository, source: Path, *, on_progress: Progress | None = None) -> FetchResult:
    """Bring in another replica's commits and join its branches into ours (a local path).

    Runs the sync protocol against the other replica, its responder in this
    process on the replica opened read-only (`vcrdt.sync`): every commit
    reachable from its branches and tags that this one lacks comes with its
    trees and blobs, each checked before it is stored; then each branch's
    state is joined as the ref-state CRDT (heads unioned, ancestors dropped,
    tombstones honoured). The checked-out branch is never deleted by a
    fetch, and when it moves forward the work tree follows (it must be clean).

    Raises:
        NotARepositoryError: If `source` holds no repository.
        BadRefNameError: If a ref name of the other replica breaks a ref-name rule (nothing is fetched).
        DirtyWorktreeError: If the checked-out branch would move while local changes exist.
    """
    if repo.merge_state.in_progress():
        raise MergeError("a merge is in progress", hint="commit it or run `vcrdt merge --abort`, then fetch")
    limits = SyncLimits.from_config(repo)
    transport = LocalTransport(source, repo.settings, limits, own_root=repo.root, verb="fetch")
    try:
        progress = None if on_progress is None else (lambda n, t, _w: on_progress(n, t))
        result = session.run(repo, transport, receive=True, send=False, limits=limits, progress=progress, verb="fetch")
    finally:
        transport.close()
    got = result.received
    return FetchResult(
        Path(transport.peer),
        result.stats.objects_received,
        got.branches,
        got.tags,
        got.warnings,
        got.checkout,
        result.stats,
    )
