"""`vcrdt sync`, `push`, `pull` and `clone`: replicas exchanging what is missing over the sync protocol.

Importing this module imports neither typer nor the sync machinery (`vcrdt fetch` and
`vcrdt serve --stdio` start in a fraction of a second): the option aliases below are
strings that `Registry.build` evaluates, as `JsonOption` is (`vcrdt.cli.base`).
"""

from __future__ import annotations

import os

from vcrdt.cli.base import STATE, app, complete_remotes, open_repo, settings
from vcrdt.errors import VcrdtError

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from pathlib import Path  # imported by `clone` alone: fetch, sync, pull and push pass strings
    from typing import Annotated, Any

    import typer

    from vcrdt.repo import Repository
    from vcrdt.sync.receive import BranchChange
    from vcrdt.sync.session import SyncResult

    _Remote = Annotated[
        str | None,
        typer.Argument(
            help="A remote's name, a path, http(s)://host:port/NAME, ssh://[user@]host[:port]/path or user@host:path "
            "(default: the branch's upstream, then origin).",
            show_default=False,
            autocompletion=complete_remotes,
        ),
    ]
    _Exec = Annotated[
        str | None,
        typer.Option(
            "--exec", help="Run CMD (a shell command) and speak the protocol on its stdin/stdout.", metavar="CMD"
        ),
    ]
    _Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
    _Stats = Annotated[
        bool, typer.Option("--stats", help="Print round trips, bytes each way (objects and overhead), objects, time.")
    ]
    _DryRun = Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show what would move; change nothing on either side.")
    ]
    _Verify = Annotated[
        bool, typer.Option("--verify", help="End by comparing both sides' Merkle roots; exit 1 if they differ.")
    ]
    _AutoMerge = Annotated[
        bool, typer.Option("--auto-merge", help="Join siblings left by receiving with the convergent `merge --auto`.")
    ]
    _Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
    _Source = Annotated[str, typer.Argument(help="The replica to copy: a path, ssh URL, or a remote as for sync.")]
    _Directory = Annotated[
        Path | None, typer.Argument(help="Where to make the new replica (default: the source's name).")
    ]
    _FromGit = Annotated[
        bool, typer.Option("--from-git", help="SOURCE is a git repository: import it (as `vcrdt git import`).")
    ]
else:
    # Evaluated by `Registry.build` (with typer and Annotated in scope) only when the typer app is built.
    _Remote = (
        "Annotated[str | None, typer.Argument(help=\"A remote's name, a path, http(s)://host:port/NAME, "
        "ssh://[user@]host[:port]/path or user@host:path (default: the branch's upstream, then origin).\", "
        "show_default=False, autocompletion=complete_remotes)]"
    )
    _Exec = (
        'Annotated[str | None, typer.Option("--exec", help="Run CMD (a shell command) and speak the protocol on its '
        'stdin/stdout.", metavar="CMD")]'
    )
    _Json = 'Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]'
    _Stats = (
        'Annotated[bool, typer.Option("--stats", help="Print round trips, bytes each way (objects and overhead), '
        'objects, time.")]'
    )
    _DryRun = (
        'Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would move; change nothing on either side.")]'
    )
    _Verify = (
        'Annotated[bool, typer.Option("--verify", help="End by comparing both sides\' Merkle roots; exit 1 if they '
        'differ.")]'
    )
    _AutoMerge = (
        'Annotated[bool, typer.Option("--auto-merge", help="Join siblings left by receiving with the convergent '
        '`merge --auto`.")]'
    )
    _Quiet = 'Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]'
    _Source = 'Annotated[str, typer.Argument(help="The replica to copy: a path, ssh URL, or a remote as for sync.")]'
    _Directory = (
        'Annotated[Path | None, typer.Argument(help="Where to make the new replica (default: the source\'s name).")]'
    )
    _FromGit = (
        'Annotated[bool, typer.Option("--from-git", help="SOURCE is a git repository: import it (as `vcrdt git '
        'import`).")]'
    )


def ssh_command() -> str | None:
    """The command that replaces ``ssh`` (``VCRDT_SSH``, as ``GIT_SSH_COMMAND``)."""
    return os.environ.get("VCRDT_SSH") or None


def start_peer_early(remote: str | None, exec_cmd: str | None) -> bool:
    """Start the peer's command now (``--exec CMD``, or an ssh URL given as is), before this side's start-up.

    Its start-up (an interpreter, an ssh connection) then runs beside this side's imports and
    opening of the repository; the session's transport takes the running process. Names of
    remotes and paths are left to the session (they need the repository's config). `vcrdt.cli.run`
    calls this before loading the typer app's modules, and `exchange` again (a no-op then). Call
    `vcrdt.sync.spawn.discard_early` when the command ends.

    Returns:
        Whether a command was started (or tried).
    """
    if exec_cmd is None and (remote is None or ":" not in remote or remote.startswith(("http://", "https://"))):
        return False
    from vcrdt.sync.spawn import start_early
    from vcrdt.sync.transport import parse_remote

    try:
        where = parse_remote(remote or "", STATE.cwd, ssh=ssh_command(), exec_cmd=exec_cmd)
    except VcrdtError:
        return False  # the session names the error
    if where.kind != "command":
        return False
    start_early(where.argv)
    return True


def branch_json(changes: list[BranchChange]) -> list[dict[str, Any]]:
    """Branch changes as JSON."""
    return [
        {"name": b.name, "before": sorted(h.hex() for h in b.before), "after": sorted(h.hex() for h in b.after)}
        for b in changes
    ]


def result_json(result: SyncResult, *, stats: bool) -> dict[str, Any]:
    """A session's result as JSON (schema 1)."""
    got = result.received
    doc: dict[str, Any] = {
        "schema": 1,
        "remote": result.peer,
        "noop": result.noop,
        "dry_run": result.dry_run,
        "received": {
            "objects": result.stats.objects_received,
            "branches": branch_json(got.branches),
            "tags": got.tags,
            "checkout": got.checkout.hex() if got.checkout else None,
        },
        "sent": {"objects": result.stats.objects_sent, "branches": branch_json(result.pushed)},
        "warnings": got.warnings + result.push_warnings,
    }
    if stats:
        doc["stats"] = result.stats.as_dict()
    if result.verified:
        doc["verify"] = {"equal": result.differs is None, "differs": result.differs}
    return doc


def print_result(result: SyncResult, verb: str, *, stats: bool) -> None:
    """Say what a session did, one line per branch that moved."""
    from vcrdt.cli import render
    from vcrdt.ids import short

    out = render.data()
    would = "would " if result.dry_run else ""
    if result.noop:
        out.print(f"up to date with {render.quote(result.peer)}")
    else:
        s = result.stats
        parts = []
        if verb != "push":
            parts.append(f"{would}receive {s.objects_received} object{'s' if s.objects_received != 1 else ''}")
        if verb in ("sync", "push"):
            parts.append(f"{would}send {s.objects_sent} object{'s' if s.objects_sent != 1 else ''}")
        out.print(f"{verb} with {render.quote(result.peer)}: {', '.join(parts)}")
    for where, changes in (("here", result.received.branches), ("there", result.pushed)):
        for b in changes:
            heads = ", ".join(short(h) for h in sorted(b.after))
            if not b.after:
                out.print(f"  {render.quote(b.name)} ({where}): deleted")
            elif len(b.after) > 1:
                out.print(f"  {render.quote(b.name)} ({where}): {len(b.after)} concurrent heads ({heads})")
            else:
                out.print(f"  {render.quote(b.name)} ({where}): {'new' if not b.before else 'now'} at {heads}")
    for t in result.received.tags:
        out.print(f"  tag {render.quote(t)}: new")
    for w in result.received.warnings + result.push_warnings:
        render.err().print(f"warning: {render.escape_text(w)}", markup=False)
    if stats:
        d = result.stats.as_dict()
        render.err().print(
            f"stats: {d['round_trips']} round trips, sent {d['bytes_sent']} bytes ({d['payload_sent']} object, "
            f"{d['overhead_sent']} protocol), received {d['bytes_received']} bytes ({d['payload_received']} object, "
            f"{d['overhead_received']} protocol), {d['objects_sent']} objects sent, {d['objects_received']} "
            f"received, {d['seconds']} s",
            markup=False,
        )
    if result.verified and result.differs is None:
        render.err().print("verify: both sides have the same Merkle roots over refs and objects", markup=False)


def exchange(
    verb: str,
    remote: str | None,
    exec_cmd: str | None,
    *,
    dry_run: bool,
    verify: bool,
    auto_merge: bool,
    progress: bool,
) -> tuple[Repository, SyncResult]:
    """Open this repository and run one session of `verb` with `remote`, a progress bar if `progress`.

    The peer's command starts before anything else (`start_peer_early`); one the session did not
    take is ended whatever happens.

    Returns:
        The repository (open) and the session's result.
    """
    start_peer_early(remote, exec_cmd)
    try:
        from vcrdt import porcelain
        from vcrdt.cli import render

        repo = open_repo()
        with render.progress(verb.capitalize() + "ing", enabled=progress) as bar:
            result = porcelain.sync(
                repo,
                remote,
                cwd=STATE.cwd,
                mode=verb,  # type: ignore[arg-type]
                exec_cmd=exec_cmd,
                ssh=ssh_command(),
                token=os.environ.get("VCRDT_TOKEN") or None,
                dry_run=dry_run,
                verify=verify,
                auto_merge=auto_merge,
                progress=lambda done, total, _what: bar(done, total),
            )
    finally:
        from vcrdt.sync.spawn import discard_early

        discard_early()
    return repo, result


def run_session(
    verb: str,
    remote: str | None,
    exec_cmd: str | None,
    *,
    json: bool,
    stats: bool,
    dry_run: bool,
    verify: bool,
    auto_merge: bool,
    quiet: bool,
) -> int:
    """Run `sync`, `fetch`, `push` or `pull` and report; return the exit code."""
    repo, result = exchange(
        verb, remote, exec_cmd, dry_run=dry_run, verify=verify, auto_merge=auto_merge, progress=not quiet and not json
    )
    from vcrdt.cli import render

    code = 0
    if verb == "pull" and not dry_run:
        code = _join_siblings(repo, auto=auto_merge, quiet=json)
    if json:
        render.emit_json(result_json(result, stats=stats))
    else:
        print_result(result, verb, stats=stats)
    if result.verified and result.differs is not None:
        render.err().print(
            f"error: verify: the Merkle roots differ, first at bucket {result.differs}; run `vcrdt sync` again",
            markup=False,
        )
        return 1
    return code


def _join_siblings(repo: Any, *, auto: bool, quiet: bool) -> int:
    """After a pull: join the checked-out branch's siblings as `merge` does; 1 if conflicts remain."""
    from vcrdt import porcelain
    from vcrdt.cli import render

    branch = repo.refs.head().branch
    if branch is None or len(repo.refs.heads(branch)) < 2:
        return 0
    outcome = porcelain.merge(repo, None, auto=auto)
    if outcome.conflicts:
        if not quiet:
            render.err().print(
                f"pull: {len(outcome.conflicts)} conflicts left in the work tree; "
                "see `vcrdt conflicts`, then `vcrdt commit`",
                markup=False,
            )
        return 1
    return 0


@app.command()
def sync(
    remote: _Remote = None,
    exec_cmd: _Exec = None,
    json: _Json = False,
    stats: _Stats = False,
    dry_run: _DryRun = False,
    verify: _Verify = False,
    auto_merge: _AutoMerge = False,
    quiet: _Quiet = False,
) -> int:
    """Exchange what is missing with another replica, both ways, in one session.

    Refs first: equal ref-state digests end a no-op sync in one round trip. Otherwise the other
    replica sends its ref state and every object reachable from its heads and not from this
    side's (the DAG shortcut), this side joins its branches as the ref-state CRDT, sends back
    what the other lacks, and the other joins this side's branches the same way: heads are
    unioned, never overwritten, so no concurrent head is lost. When the object sets still
    differ (objects lost on one side, unrelated histories), a Merkle comparison over id-prefix
    buckets finds exactly the missing ids. Every object received is hash-checked and stored
    before any ref moves; a sync broken off half-way resumes by running it again.

    REMOTE is a name (`vcrdt remote add`), a path, ssh://[user@]host[:port]/path or
    user@host:path (runs `ssh HOST vcrdt serve --stdio PATH`; VCRDT_SSH replaces `ssh`), or use
    --exec CMD for any command that speaks the protocol (docs/protocol.md) on stdin/stdout.
    """
    return run_session(
        "sync",
        remote,
        exec_cmd,
        json=json,
        stats=stats,
        dry_run=dry_run,
        verify=verify,
        auto_merge=auto_merge,
        quiet=quiet,
    )


@app.command()
def push(
    remote: _Remote = None,
    exec_cmd: _Exec = None,
    json: _Json = False,
    stats: _Stats = False,
    dry_run: _DryRun = False,
    verify: _Verify = False,
    quiet: _Quiet = False,
) -> int:
    """Send the other replica what it lacks, and have it join this replica's branches.

    The other side joins the ref states as a CRDT (never an overwrite, so a push cannot lose a
    concurrent head: a branch both sides moved ends with two heads there, siblings). It stores
    every object only after checking it, and moves a ref only when the ref's whole history is
    present. When its checked-out branch moves forward its work tree follows, so it must be clean.
    """
    return run_session(
        "push",
        remote,
        exec_cmd,
        json=json,
        stats=stats,
        dry_run=dry_run,
        verify=verify,
        auto_merge=False,
        quiet=quiet,
    )


@app.command()
def pull(
    remote: _Remote = None,
    exec_cmd: _Exec = None,
    json: _Json = False,
    stats: _Stats = False,
    dry_run: _DryRun = False,
    verify: _Verify = False,
    auto_merge: _AutoMerge = False,
    quiet: _Quiet = False,
) -> int:
    """Fetch, then join the checked-out branch's siblings as `vcrdt merge` does.

    With --auto-merge the siblings are joined by the convergent `merge --auto`. Exit status 1
    when conflicts are left in the work tree (see `vcrdt conflicts`).
    """
    return run_session(
        "pull",
        remote,
        exec_cmd,
        json=json,
        stats=stats,
        dry_run=dry_run,
        verify=verify,
        auto_merge=auto_merge,
        quiet=quiet,
    )


@app.command()
def clone(
    source: _Source,
    directory: _Directory = None,
    exec_cmd: _Exec = None,
    json: _Json = False,
    stats: _Stats = False,
    quiet: _Quiet = False,
    from_git: _FromGit = False,
) -> None:
    """Make a new replica of SOURCE: every branch and tag, a fresh replica id, `origin` recorded.

    Checks out the branch checked out in the source (or main). Everything received is checked
    as `vcrdt sync` checks it; a clone that fails leaves nothing behind. With --exec CMD the
    command is the source: `vcrdt clone --exec 'ssh h vcrdt serve --stdio p' DIR`. With
    --from-git, SOURCE is a git repository whose history is imported into a new repository.
    """
    from pathlib import Path

    from vcrdt import porcelain
    from vcrdt.cli import render

    if from_git:
        from vcrdt.cli.commands.git import new_repo_from_git

        if directory is None:
            name = source.rstrip("/").rsplit("/", 1)[-1]
            directory = Path(name.removesuffix(".git") if name not in (".git", "") else "repository")
        new_repo_from_git(
            Path(STATE.cwd, directory), Path(STATE.cwd, source), initial_branch=None, refs=None, quiet=quiet, json=json
        )
        return
    if exec_cmd is not None and directory is None:
        directory = Path(source)  # `clone --exec CMD DIR`: the command is the source
    if directory is None:
        name = source.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or "replica"
        directory = Path(name)
    target = Path(STATE.cwd, directory)
    with render.progress("Cloning", enabled=not quiet and not json) as bar:
        repo, result = porcelain.clone(
            source,
            target,
            settings(),
            cwd=Path(STATE.cwd),
            exec_cmd=exec_cmd,
            ssh=ssh_command(),
            token=os.environ.get("VCRDT_TOKEN") or None,
            progress=lambda done, total, _what: bar(done, total),
        )
    STATE.open_repos.append(repo)
    if json:
        from vcrdt import porcelain

        doc = result_json(result, stats=stats)
        doc["directory"] = str(repo.root)
        doc["branch"] = porcelain.branch_of(repo)
        render.emit_json(doc)
        return
    n = result.stats.objects_received
    render.data().print(
        f"cloned {render.quote(result.peer)} into {render.quote(str(repo.root))}: "
        f"{n} object{'s' if n != 1 else ''}, {len(result.received.branches)} branches, "
        f"{len(result.received.tags)} tags"
    )
    if stats:
        print_result(result, "fetch", stats=True)
