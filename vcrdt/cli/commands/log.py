"""`vcrdt log` and `vcrdt show`."""

from __future__ import annotations

from vcrdt.cli import render, views
from vcrdt.cli.base import JsonOption, app, open_repo, typer
from vcrdt.cli.pager import paged
from vcrdt.cli.render import Text

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Annotated

    from vcrdt.diff.lines import FileDiff
    from vcrdt.ids import ObjectId
    from vcrdt.porcelain import LogEntry, ShowResult
    from vcrdt.repo import Repository


def graph_prefixes(entries: list[LogEntry]) -> Iterator[tuple[list[str], str, str, list[str]]]:
    """Yield, per entry: edge lines before it, the prefix of its first line, of its other lines, edge lines after.

    Each lane is a column waiting for a commit. A commit several lanes wait
    for (a fork point) first joins them into the leftmost (``|/``); its first
    parent then continues that lane and further parents open lanes to its
    right (``|\\``).
    """
    lanes: list[ObjectId | None] = []
    for entry in entries:
        oid = entry.oid
        before: list[str] = []
        waiting = [i for i, lane in enumerate(lanes) if lane == oid]
        if waiting:
            col = waiting[0]
            for j in reversed(waiting[1:]):
                del lanes[j]
                before.append("| " * (j - 1) + "|/")
        else:
            lanes.append(oid)
            col = len(lanes) - 1
        first = "".join("* " if i == col else "| " for i in range(len(lanes))).rstrip()
        parents = list(entry.info.parents)
        lanes[col] = parents[0] if parents else None
        after: list[str] = []
        for p in parents[1:]:
            if p not in lanes:
                lanes.insert(col + 1, p)
                after.append("| " * col + "|\\" + " \\" * (len(lanes) - col - 2))
        rest_lanes = [lane for lane in lanes]
        lanes = [lane for lane in lanes if lane is not None]
        rest = "".join("| " for _ in range(max(len(rest_lanes), 1))).rstrip()
        yield before, first, rest, after


@app.command()
def log(
    revisions: Annotated[
        list[str] | None,
        typer.Argument(
            help="Start from these commits (default HEAD); A..B and ^A leave out A's history; after --, paths."
        ),
    ] = None,
    max_count: Annotated[
        int | None, typer.Option("-n", "--max-count", help="Show at most N commits (git's `log -3` works too).")
    ] = None,
    oneline: Annotated[bool, typer.Option("--oneline", help="One line per commit.")] = False,
    graph: Annotated[bool, typer.Option("--graph", help="Draw the commit graph on the left.")] = False,
    stat: Annotated[bool, typer.Option("--stat", help="Show the files each commit changed.")] = False,
    first_parent: Annotated[bool, typer.Option("--first-parent", help="Follow only first parents.")] = False,
    clock: Annotated[bool, typer.Option("--clock", help="Show each commit's Lamport clock and vector clock.")] = False,
    all_refs: Annotated[
        bool, typer.Option("--all", help="Start from every branch head (siblings too), every tag and HEAD.")
    ] = False,
    patch: Annotated[
        bool,
        typer.Option(
            "-p", "--patch", help="Show each commit's diff against its first parent (a merge's: with --first-parent)."
        ),
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="With one file path: follow it back through renames.")
    ] = False,
    full_history: Annotated[
        bool,
        typer.Option(
            "--full-history", help="With paths: walk every parent of a merge, and show every commit that changed them."
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Show commits, newest first (ordered by Lamport clock, which respects ancestry).

    Revisions as git reads them: `log A..B` shows what B has and A lacks, `log B ^A` the same,
    and `log REV -- PATH...` only the commits that change something under one of the paths
    (`--stat` and `-p` then show only those paths). An argument that is no revision but an
    existing path is taken as a path, as git does without `--`. History is simplified for
    paths as git simplifies it: a merge that kept one parent's version of the paths is left
    out, and so is the history only its other parents reach; `--full-history` walks every
    parent and shows each commit that differs from at least one of its parents there.

    `--all` starts from every ref: each head of a branch that has concurrent heads (siblings,
    after a fetch) is its own line of history, drawn in its own column by `--graph`.
    `--follow -- FILE` lists the commits that changed the file under its current name and,
    past a commit that renamed it (the same content, or at least half of it, under a new
    name), under the names it had before. `-p` shows each commit's patch, as `show` does.

    On a terminal the output goes through the pager ($VCRDT_PAGER, core.pager, $PAGER, then
    `less -FRX`; `vcrdt --no-pager log` writes it straight out).
    """
    from vcrdt import porcelain

    repo = open_repo()
    revs, paths = _revs_and_paths(repo, revisions or [])
    with paged(repo):
        if not (paths or follow or stat or patch or clock or graph or json) and render.data().is_plain:
            # The default and --oneline, uncoloured: made from the commit table's rows a window at a
            # time (no LogEntry per commit), as _write_plain writes the entries of `porcelain.log`.
            porcelain.log_text(
                repo,
                revs,
                render.data().write_text,
                limit=max_count,
                first_parent=first_parent,
                all_refs=all_refs,
                oneline=oneline,
                label=_label,
                format_date=render.format_date,
            )
            return
        entries = porcelain.log(
            repo,
            revs,
            limit=max_count,
            with_stats=stat,
            first_parent=first_parent,
            paths=paths or None,
            all_refs=all_refs,
            follow=follow,
            with_patch=patch,
            decoded=json or clock,  # what the other formats show is in the commit table
            full_history=full_history,
        )
        _print_log(entries, json=json, graph=graph, oneline=oneline, stat=stat, clock=clock, patch=patch)


def _print_log(
    entries: Iterator[LogEntry], *, json: bool, graph: bool, oneline: bool, stat: bool, clock: bool, patch: bool = False
) -> None:
    if json:
        render.emit_json(
            [
                views.commit_json(e.oid, e.commit, e.refs)
                | ({"stats": [views.stat_json(s) for s in e.stats]} if e.stats is not None else {})
                | ({"diff": [views.diff_json(d) for d in e.diffs]} if e.diffs is not None else {})
                for e in entries
            ]
        )
        return
    con = render.data()
    if con.is_plain and not (stat or patch):
        if graph:
            _write_plain_graph(con, entries, clock, oneline=oneline)
        else:
            _write_plain(con, entries, clock, oneline=oneline)
        return
    listed = list(entries) if graph else entries
    prefixes = graph_prefixes(listed) if graph else None  # type: ignore[arg-type]
    for n, e in enumerate(listed):
        before, first, rest, extra = next(prefixes) if prefixes is not None else ([], "", "", [])
        for b in before:
            con.print(Text(b))
        lead = f"{first} " if graph else ""
        if oneline:
            line = Text(lead)
            line.append_text(views.oneline(e))
            if clock:
                line.append(f"  [{views.clock_text(e.commit)}]", style="meta")
            con.print(line)
            if e.stats:
                views.print_stats(e.stats)
        else:
            if n and not graph:
                con.print()
            if graph:
                con.print(Text(lead) + Text(f"commit {e.oid.hex()}", style="oid") + _refs(e.refs))
                for text in _body_lines(e, clock):
                    con.print(Text(f"{rest} {text}".rstrip()))
            else:
                views.print_commit_header(e.oid, e.commit if clock else e.info, e.refs, clock=clock, con=con)
            if e.stats:
                con.print()
                views.print_stats(e.stats)
        if e.diffs:
            _print_patch(con, e.diffs, f"{rest} " if graph else "", blank=not oneline or bool(e.stats))
        for x in extra:
            con.print(Text(x))


def _print_patch(con: render.DataOut, diffs: list[FileDiff], lead: str, *, blank: bool) -> None:
    """Print a commit's patch under its header, as `git log -p` does (each line after `lead`, the graph's edges)."""
    if blank:
        con.print(Text(lead.rstrip()))
    if not lead:
        views.print_diffs(diffs)
        return
    from vcrdt.diff.lines import format_unified

    for d in diffs:
        for raw in format_unified(d).split(b"\n")[:-1]:
            con.print(Text(lead + raw.decode("utf-8", "replace")))


def _revs_and_paths(repo: Repository, given: list[str]) -> tuple[list[str], list[str]]:
    """Split the positional arguments into revisions and (repository) paths: those after ``--``, or paths that exist.

    Raises:
        BadRevisionError: If an argument before ``--`` is neither a revision nor an existing path.
    """
    import os

    from vcrdt import porcelain
    from vcrdt.cli.base import STATE, split_at_dashdash
    from vcrdt.errors import BadRevisionError

    revs, raw_paths = split_at_dashdash(given)
    kept: list[str] = []
    for rev in revs:
        try:
            porcelain.split_range(repo, [rev])
        except BadRevisionError:
            if not os.path.lexists(os.path.join(STATE.cwd, rev)):
                raise
            raw_paths.append(rev)
            continue
        kept.append(rev)
    return kept, [porcelain.repo_path(repo, STATE.cwd, p) for p in raw_paths]


def _write_plain(con: render.DataOut, entries: Iterator[LogEntry], clock: bool, *, oneline: bool = False) -> None:
    """Write uncoloured commit headers (a blank line between two) or `--oneline` lines, a few hundred per write.

    What was gathered is written before an error from the walk (a corrupt commit) goes up.
    """
    header, line = views.commit_header_text, views.oneline_text
    joiner = "" if oneline else "\n"  # a header ends with its newline, and a blank line parts two
    chunk: list[str] = []
    sep = ""
    try:
        for e in entries:
            if oneline:
                text = line(e.oid, e.info, e.refs)
                if clock:
                    text += render.plain_text(f"  [{views.clock_text(e.commit)}]")
                chunk.append(text + "\n")
            else:
                chunk.append(header(e.oid, e.commit if clock else e.info, e.refs, clock=clock))
            if len(chunk) == 256:
                con.write_text(sep + joiner.join(chunk))
                chunk.clear()
                sep = joiner
    finally:
        if chunk:
            con.write_text(sep + joiner.join(chunk))


def _write_plain_graph(con: render.DataOut, entries: Iterator[LogEntry], clock: bool, *, oneline: bool) -> None:
    """Write the uncoloured `--graph` lines (with `--oneline`, one per commit) in one write, as their Texts print.

    Each line is what a `Text` of it prints: its control codes dropped (`render.plain_text`).
    """
    listed = list(entries)
    strip = render.plain_text
    out: list[str] = []
    for e, (before, first, rest, extra) in zip(listed, graph_prefixes(listed), strict=True):
        out += [strip(b) + "\n" for b in before]
        if oneline:
            text = f"{first} " + views.oneline_text(e.oid, e.info, e.refs)
            if clock:
                text += strip(f"  [{views.clock_text(e.commit)}]")
            out.append(text + "\n")
        else:
            refs = f" ({', '.join(map(views.decoration, e.refs))})" if e.refs else ""
            out.append(strip(f"{first} commit {e.oid.hex()}{refs}") + "\n")
            out += [strip(f"{rest} {text}".rstrip()) + "\n" for text in _body_lines(e, clock)]
        out += [strip(x) + "\n" for x in extra]
    if out:
        con.write_text("".join(out))


def _label(refs: list[str]) -> str:
    """A commit's decorations as log shows them between parentheses."""
    return ", ".join(map(views.decoration, refs))


def _refs(refs: list[str]) -> Text:
    return Text(f" ({', '.join(map(views.decoration, refs))})", style="ref") if refs else Text("")


def _body_lines(e: LogEntry, clock: bool = False) -> list[str]:
    c = e.info
    lines = [f"Author: {c.author.name} <{c.author.email}>"]
    lines.append(f"Date:   {render.format_date(c.author.timestamp, c.author.tz_offset)}")
    if clock:
        lines.append(f"Clock:  {views.clock_text(e.commit)}")
    lines.append("")
    lines += [f"    {m}" for m in c.message.rstrip("\n").split("\n")]
    lines.append("")
    return lines


@app.command()
def show(
    revision: Annotated[str, typer.Argument(help="The commit to show, or REV:PATH for a file or directory.")] = "HEAD",
    stat: Annotated[bool, typer.Option("--stat", help="Show a diffstat instead of the patch.")] = False,
    name_only: Annotated[bool, typer.Option("--name-only", help="Show only the changed paths.")] = False,
    json: JsonOption = False,
) -> None:
    """Show a commit: its header, message, and its diff against its first parent.

    A merge commit is shown against its first parent (what the merge brought in), with the paths
    that CRDT rules settled automatically (`vcrdt conflicts --auto` has the details). Paged on
    a terminal, as `log` is. `show REV:PATH` prints the file's content (a directory's names), as
    git does.
    """
    from vcrdt import porcelain

    repo = open_repo()
    if ":" in revision and not json:
        _show_path(repo, revision)
        return
    result = porcelain.show(repo, revision)
    settled = porcelain.auto_resolutions(repo, result.oid.hex()).resolutions if result.commit.resolutions else []
    if json:
        doc = views.commit_json(result.oid, result.commit, result.refs)
        doc["diff"] = [views.diff_json(d) for d in result.diffs]
        doc["auto"] = settled
        render.emit_json(doc)
        return
    with paged(repo):
        _print_show(result, settled, stat=stat, name_only=name_only)


def _show_path(repo: Repository, spec: str) -> None:
    """Print the file REV:PATH names, or a directory's entries as git lists them (``tree SPEC``, then names)."""
    from vcrdt import porcelain
    from vcrdt.objects import EntryKind, Tree

    found = porcelain.cat(repo, spec)
    if isinstance(found.value, Tree):
        names = [e.name + ("/" if e.kind is EntryKind.TREE else "") for e in found.value.entries]
        render.data().write_text(f"tree {spec}\n\n" + "".join(n + "\n" for n in names))
        return
    render.write_bytes(found.body)


def _print_show(result: ShowResult, settled: list[dict[str, object]], *, stat: bool, name_only: bool) -> None:
    from vcrdt.diff.lines import stat_from

    views.print_commit_header(result.oid, result.commit, result.refs)
    con = render.data()
    if settled:
        con.print()
        con.print(Text(f"    Settled automatically ({len(settled)} path{'s' if len(settled) != 1 else ''}):"))
        for r in settled:
            hunks = r.get("hunks")
            count = len(hunks) if isinstance(hunks, list) else 0
            path = render.quote(str(r.get("path")))
            con.print(Text(f"      {path}: {r.get('rule')}, {count} decision{'s' if count != 1 else ''}"))
        con.print(Text("    (details: vcrdt conflicts --auto; hand one back: vcrdt reopen PATH)"))
    if not result.diffs:
        return
    con.print()
    if name_only:
        for d in result.diffs:
            con.print(Text(render.quote(d.path)))
    elif stat:
        views.print_stats([stat_from(d) for d in result.diffs])
    else:
        views.print_diffs(result.diffs)
