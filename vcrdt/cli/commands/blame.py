"""`vcrdt blame`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

from vcrdt.cli import render, views
from vcrdt.cli.base import STATE, JsonOption, app, open_repo, typer
from vcrdt.cli.pager import paged
from vcrdt.cli.render import Text
from vcrdt.ids import short

if TYPE_CHECKING:
    from vcrdt.porcelain import BlameResult


@app.command()
def blame(
    path: Annotated[str, typer.Argument(help="The file to blame.")],
    revision: Annotated[str, typer.Argument(help="The commit whose version of the file is blamed.")] = "HEAD",
    line_range: Annotated[
        str | None,
        typer.Option(
            "-L", help="Only lines START,END (also START,+COUNT, START, and ,END), numbered from 1.", metavar="RANGE"
        ),
    ] = None,
    all_parents: Annotated[
        bool, typer.Option("--all-parents", help="Follow every parent of a merge, not only the first.")
    ] = False,
    porcelain_format: Annotated[
        bool, typer.Option("--porcelain", help="git's machine format: a header per line, commit details once.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Show, for each line of a file, the commit that last changed it: id, author, date, line number, text.

    The layout is `git blame`'s: `ID (AUTHOR DATE LINE) TEXT`, where an ID marked `^` is a root
    commit. Lines pass from a commit to its parent through the line diff `vcrdt diff` shows,
    so without merges each line names the commit git would name. A merge passes lines only to
    its first parent (what the branch itself did): a line the merge brought in from the other
    branch is the merge's. `--all-parents` asks every parent in turn, each taking the lines it
    has, as `git blame` does. A file renamed whole is followed to its old name, as git does.

    `--json` prints one object per line: line, commit, author, email, time, text (and the line
    number and path in that commit). Paged on a terminal, as `log` is.
    """
    from vcrdt import porcelain

    repo = open_repo()
    result = porcelain.blame(
        repo,
        porcelain.repo_path(repo, STATE.cwd, path),
        revision,
        all_parents=all_parents,
        line_range=line_range,
    )
    if json:
        render.emit_json(_json(result))
        return
    with paged(repo):
        if porcelain_format:
            render.write_bytes(_porcelain(result))
        else:
            _print(result)


def blame_date(timestamp: int, tz_minutes: int) -> str:
    """Format a date as git blame does (its default ``iso`` form).

    >>> blame_date(0, 90)
    '1970-01-01 01:30:00 +0130'
    """
    shifted = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp + tz_minutes * 60))
    m = abs(tz_minutes)
    return f"{shifted} {'-' if tz_minutes < 0 else '+'}{m // 60:02d}{m % 60:02d}"


def _json(result: BlameResult) -> dict[str, Any]:
    lines = []
    for ln in result.lines:
        a = result.commits[ln.commit].author
        lines.append(
            {
                "line": ln.line,
                "commit": ln.commit.hex(),
                "author": a.name,
                "email": a.email,
                "time": render.iso_date(a.timestamp, a.tz_offset),
                "timestamp": a.timestamp,
                "orig_line": ln.orig_line,
                "path": views.jpath(ln.path),
                "boundary": ln.commit in result.boundary,
                "text": ln.text.decode("utf-8", "backslashreplace"),
            }
        )
    return {"schema": 1, "path": views.jpath(result.path), "revision": result.revision.hex(), "lines": lines}


def _print(result: BlameResult) -> None:
    """Write git blame's layout: raw bytes for the text when plain, coloured ids on a terminal."""
    if not result.lines:
        return
    show_path = any(ln.path != result.path for ln in result.lines)
    paths = {ln.commit: render.quote(ln.path) for ln in result.lines}
    path_w = max(map(len, paths.values())) if show_path else 0
    authors = {o: render.escape_text(c.author.name) for o, c in result.commits.items()}
    author_w = max(map(len, authors.values()))
    line_w = len(str(result.lines[-1].line))
    dates = {o: blame_date(c.author.timestamp, c.author.tz_offset) for o, c in result.commits.items()}
    heads = []
    for ln in result.lines:
        oid = short(ln.commit)
        head = f"^{oid[:-1]}" if ln.commit in result.boundary else oid
        if show_path:
            head += f" {render.quote(ln.path).ljust(path_w)}"
        heads.append((head, f" ({authors[ln.commit].ljust(author_w)} {dates[ln.commit]} {ln.line:>{line_w}}) "))
    if not render.color_enabled():
        out = b"".join(
            (h + meta).encode("utf-8", "surrogateescape") + ln.text + b"\n"
            for (h, meta), ln in zip(heads, result.lines, strict=True)
        )
        render.write_bytes(out)
        return
    con = render.data()
    for (h, meta), ln in zip(heads, result.lines, strict=True):
        t = Text().append(h, style="oid").append(meta).append(ln.text.decode("utf-8", "replace"))
        con.print(t)


def _porcelain(result: BlameResult) -> bytes:
    """Git blame's ``--porcelain`` output: ``ID ORIG LINE [COUNT]``, details the first time an id appears, TAB TEXT."""
    out: list[bytes] = []
    seen: set[bytes] = set()
    prev: tuple[bytes, int, int] | None = None
    for n, ln in enumerate(result.lines):
        group = ln.commit, ln.orig_line - 1, ln.line - 1
        starts = prev is None or (prev[0], prev[1] + 1, prev[2] + 1) != group
        header = f"{ln.commit.hex()} {ln.orig_line} {ln.line}"
        if starts:
            count = 1
            while n + count < len(result.lines):
                nxt = result.lines[n + count]
                if (nxt.commit, nxt.orig_line, nxt.line) != (ln.commit, ln.orig_line + count, ln.line + count):
                    break
                count += 1
            header += f" {count}"
        out.append(header.encode())
        if ln.commit not in seen:
            seen.add(ln.commit)
            c = result.commits[ln.commit]
            a = c.author
            tz = f"{'-' if a.tz_offset < 0 else '+'}{abs(a.tz_offset) // 60:02d}{abs(a.tz_offset) % 60:02d}"
            for role in ("author", "committer"):
                out.append(f"{role} {a.name}".encode("utf-8", "surrogateescape"))
                out.append(f"{role}-mail <{a.email}>".encode("utf-8", "surrogateescape"))
                out.append(f"{role}-time {a.timestamp}".encode())
                out.append(f"{role}-tz {tz}".encode())
            out.append(f"summary {c.summary}".encode("utf-8", "surrogateescape"))
            if ln.commit in result.boundary:
                out.append(b"boundary")
            out.append(b"filename " + ln.path.encode("utf-8", "surrogateescape"))
        out.append(b"\t" + ln.text)
        prev = group
    return b"".join(line + b"\n" for line in out)
