"""Between replicas: causality of two commits, ref states, and fetch from a local path."""

from __future__ import annotations

from vcrdt.dag import causal_relation, is_ancestor
from vcrdt.errors import ConfigError, MergeError, RepoError
from vcrdt.ids import ObjectId
from vcrdt.paths import META_DIR
from vcrdt.porcelain._shared import Progress
from vcrdt.repo import Repository, Settings
from vcrdt.sync import session, walk
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.receive import BranchChange, tie_key
from vcrdt.sync.session import Stats, SyncResult
from vcrdt.sync.transport import HttpTransport, LocalTransport, ProcessTransport, Transport, parse_remote
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from os import PathLike
    from pathlib import Path  # imported where a path is made: a session over a command never loads pathlib
    from typing import Literal

    from vcrdt.crdt.vclock import Relation


@value_class(frozen=True, init=False, repr=False, eq=False)
class Causality(Value):
    """How commit `a` relates to commit `b`, from their vector clocks."""

    __slots__ = ("a", "b", "relation")

    a: ObjectId
    b: ObjectId
    relation: Relation

    def __init__(self, a: ObjectId, b: ObjectId, relation: Relation) -> None:
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "relation", relation)


def concurrent(repo: Repository, a: str, b: str) -> Causality:
    """Compare two commits causally: `before`, `after`, `equal` or `concurrent` (a relative to b).

    Answered from the commits' vector clocks (`vcrdt.dag.causal_relation`): a commit is
    before another when the other's clock covers its dot.

    Raises:
        BadRevisionError: If a revision does not resolve.
    """
    oid_a, oid_b = repo.resolve(a), repo.resolve(b)
    return Causality(oid_a, oid_b, causal_relation(repo.store, oid_a, oid_b))


FetchedBranch = BranchChange
FetchLimits = SyncLimits
ref_state = walk.ref_state


@value_class(frozen=True, init=False, repr=False, eq=False)
class FetchResult(Value):
    """What `fetch` brought in."""

    __slots__ = (  # noqa: RUF023 (field order)
        "source",
        "objects",
        "branches",
        "tags",
        "warnings",
        "checkout",
        "stats",
    )

    source: Path
    objects: int
    branches: list[FetchedBranch]
    tags: list[str]
    # Problems that did not stop the fetch (a tag that differs, a deletion of the checked-out branch).
    warnings: list[str]
    checkout: ObjectId | None
    stats: Stats | None

    def __init__(
        self,
        source: Path,
        objects: int,
        branches: list[FetchedBranch],
        tags: list[str],
        warnings: list[str],
        checkout: ObjectId | None,
        stats: Stats | None = None,
    ) -> None:
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "objects", objects)
        object.__setattr__(self, "branches", branches)
        object.__setattr__(self, "tags", tags)
        object.__setattr__(self, "warnings", warnings)
        object.__setattr__(self, "checkout", checkout)
        object.__setattr__(self, "stats", stats)


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
    from vcrdt.porcelain import oplog

    limits = SyncLimits.from_config(repo)
    transport = LocalTransport(source, repo.settings, limits, own_root=repo.root, verb="fetch")
    refs, head, commit = oplog.ref_heads(repo), oplog.head_text(repo), repo.head_commit()
    try:
        progress = None if on_progress is None else (lambda n, t, _w: on_progress(n, t))
        result = session.run(repo, transport, receive=True, send=False, limits=limits, progress=progress, verb="fetch")
    finally:
        transport.close()
    oplog.record_after(repo, "fetch", f"fetch {transport.peer}", refs, head, commit)
    got = result.received
    from pathlib import Path

    return FetchResult(
        Path(transport.peer),
        result.stats.objects_received,
        got.branches,
        got.tags,
        got.warnings,
        got.checkout,
        result.stats,
    )


# --- remotes and sync sessions ----------------------------------------------------------------

# A remote name: ``[A-Za-z0-9][A-Za-z0-9_-]*`` (checked with character sets: every sync loads
# this module, and `re` with the `enum` module it imports costs more than a small fetch's work).
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_NAME_CHARS = _NAME_START | frozenset("_-")
if TYPE_CHECKING:
    SyncMode = Literal["sync", "fetch", "push", "pull"]
else:
    SyncMode = str  # the type checker's Literal above


def remotes(repo: Repository) -> dict[str, str]:
    """The remotes configured here: name to URL (config ``remote.NAME``)."""
    return dict(sorted(repo.config().get("remote", {}).items()))


def remote_add(repo: Repository, name: str, url: str) -> None:
    """Record a remote.

    Raises:
        ConfigError: If the name is malformed or taken, or the URL empty.
    """
    if not name or name[0] not in _NAME_START or not _NAME_CHARS.issuperset(name):
        raise ConfigError(f"invalid remote name {name!r}: letters, digits, '-' and '_' only")
    if name in remotes(repo):
        raise ConfigError(f"remote {name!r} already exists", hint=f"`vcrdt remote remove {name}` first")
    if not url or any(ord(ch) < 32 for ch in url):
        raise ConfigError(f"invalid URL for remote {name!r}")
    repo.config_set(f"remote.{name}", url)


def remote_remove(repo: Repository, name: str) -> None:
    """Forget a remote.

    Raises:
        ConfigError: If there is no such remote.
    """
    if name not in remotes(repo):
        raise ConfigError(f"no remote named {name!r}")
    repo.config_set(f"remote.{name}", None)


def default_remote(repo: Repository) -> str:
    """The remote a command without one uses: the checked-out branch's upstream, then ``origin``.

    The upstream of branch ``B`` is config ``upstream.B`` (a remote's name or a URL).

    Raises:
        ConfigError: If neither is configured.
    """
    branch = repo.refs.head().branch
    if branch is not None:
        upstream = repo.config().get("upstream", {}).get(branch[len("refs/heads/") :])
        if upstream:
            return upstream
    if "origin" in remotes(repo):
        return "origin"
    raise ConfigError("no remote given, and no upstream or `origin` configured", hint="name one, or `vcrdt remote add`")


def connect(
    repo: Repository | None,
    remote: str | None,
    *,
    cwd: str | PathLike[str],
    settings: Settings,
    limits: SyncLimits,
    exec_cmd: str | None = None,
    ssh: str | None = None,
    verb: str = "sync",
    token: str | None = None,
) -> Transport:
    """The transport to a remote: a configured name, a path, an ssh or http(s) URL, or a command (`exec_cmd`).

    An http(s) remote is sent `token` (the caller's ``VCRDT_TOKEN``) or else, for a remote
    given by name, config ``token.NAME``; never anything from the URL.

    Raises:
        ConfigError: If no remote is given and none is configured.
        ProtocolError: If the URL is of a kind this build cannot reach.
        NotARepositoryError: If a local path holds no repository.
    """
    if exec_cmd is None:
        if remote is None:
            if repo is None:
                raise ConfigError("no remote given")
            remote = default_remote(repo)
        if repo is not None and remote in remotes(repo):
            if token is None:
                token = repo.config().get("token", {}).get(remote) or None
            remote = remotes(repo)[remote]
            cwd = repo.root
    where = parse_remote(remote or "", cwd, ssh=ssh, exec_cmd=exec_cmd)
    if where.kind == "path":
        assert where.path is not None
        from pathlib import Path

        own = repo.root if repo is not None else Path("/nonexistent")
        return LocalTransport(where.path, settings, limits, own_root=own, verb=verb)
    if where.kind == "command":
        return ProcessTransport(list(where.argv), where.display, limits)
    return HttpTransport(where.display, limits, token=token)


def sync(
    repo: Repository,
    remote: str | None,
    *,
    cwd: str | PathLike[str],
    mode: SyncMode = "sync",
    exec_cmd: str | None = None,
    ssh: str | None = None,
    dry_run: bool = False,
    verify: bool = False,
    auto_merge: bool = False,
    progress: session.Progress | None = None,
    token: str | None = None,
) -> SyncResult:
    """Run one sync session with a remote: ``sync`` both ways, ``fetch``/``pull`` receive, ``push`` send.

    With `auto_merge`, siblings of the checked-out branch left by receiving are joined by the
    convergent ``merge --auto`` before anything is sent, so replicas syncing in any order make
    the same merge commits.

    Raises:
        VcrdtError: A refusal; nothing is stored and no ref moves (see `vcrdt.sync.session.run`).
    """
    limits = SyncLimits.from_config(repo)
    verb = "fetch" if mode == "pull" else mode
    transport = connect(
        repo, remote, cwd=cwd, settings=repo.settings, limits=limits, exec_cmd=exec_cmd, ssh=ssh, verb=verb, token=token
    )

    def join_siblings() -> None:
        branch = repo.refs.head().branch
        if branch is not None and len(repo.refs.heads(branch)) > 1:
            from vcrdt.porcelain.merging import merge

            merge(repo, None, auto=True)

    from vcrdt.porcelain import oplog

    refs, head, commit = oplog.ref_heads(repo), oplog.head_text(repo), repo.head_commit()
    try:
        return session.run(
            repo,
            transport,
            receive=mode != "push",
            send=mode in ("sync", "push"),
            dry_run=dry_run,
            verify=verify,
            limits=limits,
            progress=progress,
            verb=verb,
            after_receive=join_siblings if auto_merge and not dry_run else None,
        )
    finally:
        transport.close()
        if not dry_run:
            oplog.record_after(repo, mode, f"{mode} {remote or 'default remote'}", refs, head, commit)


def clone(
    source: str,
    directory: Path,
    settings: Settings,
    *,
    cwd: Path,
    exec_cmd: str | None = None,
    ssh: str | None = None,
    progress: session.Progress | None = None,
    token: str | None = None,
) -> tuple[Repository, SyncResult]:
    """Make a new replica (a fresh replica id) of `source` in `directory`: every branch and tag.

    Records `source` as the remote ``origin`` and checks out the source's checked-out branch
    (or ``main``, or the first branch). A clone that fails removes the directory it made.

    Raises:
        RepoExistsError: If `directory` already holds a repository.
        VcrdtError: If the source cannot be read; nothing is left behind.
    """
    import shutil

    made = not directory.exists()
    if directory.exists() and any(directory.iterdir()):
        raise RepoError(f"cannot clone into {directory}: it exists and is not empty")
    repo = Repository.init(directory, settings)
    try:
        url = source
        if exec_cmd is None and parse_remote(source, cwd).kind == "path":
            url = str((cwd / source).resolve())
        if exec_cmd is None:
            repo.config_set("remote.origin", url)
        limits = SyncLimits.from_config(repo)
        transport = connect(
            repo, url, cwd=cwd, settings=settings, limits=limits, exec_cmd=exec_cmd, ssh=ssh, verb="fetch", token=token
        )
        try:
            result = session.run(repo, transport, receive=True, limits=limits, progress=progress, verb="clone")
        finally:
            transport.close()
        visible = walk.ref_state(repo).visible(lambda a, b: is_ancestor(repo.store, a, b))
        want = result.peer_head if result.peer_head in visible else None
        want = want or ("main" if "main" in visible else min(visible, default=None))
        if want is not None and repo.refs.head().branch != f"refs/heads/{want}":
            heads = visible[want]
            at = max(heads, key=lambda h: tie_key(repo, h))
            with repo.transaction():
                repo.refs.set_head_branch(f"refs/heads/{want}")
                if len(heads) > 1:
                    repo.refs.set_head_at(at)
                repo.worktree.begin_checkout(repo.commit_flat(at), force=False)
            repo.worktree.finish_checkout()
        return repo, result
    except BaseException:
        repo.close()
        if made:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            shutil.rmtree(directory / META_DIR, ignore_errors=True)
        raise
