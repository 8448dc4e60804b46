"""Rendering of core values: JSON shapes and coloured text for commits and diffs.

JSON documents carry ``"schema": 1``; ids are full hex strings; paths are
text, with bytes that are not UTF-8 shown as ``\\xNN`` escapes. Human output
shows every file, branch and tag name through `render.quote`.
"""

from __future__ import annotations

import os
import sys

from vcrdt.cli import render
from vcrdt.cli.render import Text
from vcrdt.ids import ObjectId, short, to_hex

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    from vcrdt.diff.lines import DiffStat, FileDiff
    from vcrdt.objects import Commit
    from vcrdt.porcelain import LogEntry
    from vcrdt.repo import Repository
    from vcrdt.store.commits import CommitInfo

SCHEMA = 1


def jpath(path: str) -> str:
    """Return a path as JSON-safe text.

    >>> jpath("caf\\udce9")
    'caf\\\\xe9'
    """
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def relative(repo: Repository, path: str) -> str:
    """Return a repository path as seen from the current directory, as git's status and messages show it.

    From ``d/e``: ``d/e/c`` is ``c``, ``d/b`` is ``../b`` and ``a`` is ``../../a``.

    Args:
        repo: The repository (its root).
        path: A repository path (``/``-separated, from the root).

    Returns:
        The path from the current directory; `path` itself when that is the root or outside.
    """
    import os

    from vcrdt.cli.base import STATE

    root, cwd = repo.root_dir, STATE.cwd
    if not cwd.startswith(root + os.sep):
        return path
    here = cwd[len(root) + 1 :].replace(os.sep, "/").split("/")
    parts = path.split("/") if path != "." else []
    n = 0
    while n < len(here) and n < len(parts) - 1 and here[n] == parts[n]:
        n += 1
    return "/".join([".."] * (len(here) - n) + parts[n:]) or "."


def decoration(label: str) -> str:
    """Return a log decoration (``main``, ``HEAD -> main``, ``tag: v1``) with its ref name quoted.

    >>> decoration("HEAD -> a\\nb"), decoration("tag: v\\"1")
    ('HEAD -> "a\\\\nb"', 'tag: "v\\\\"1"')
    """
    for prefix in ("HEAD -> ", "tag: "):
        if label.startswith(prefix):
            return prefix + render.quote(label[len(prefix) :])
    return render.quote(label)


def commit_json(oid: bytes, c: Commit, refs: list[str] | None = None) -> dict[str, Any]:
    """Return the JSON shape of a commit."""
    return {
        "id": oid.hex(),
        "tree": to_hex(c.tree),
        "parents": [p.hex() for p in c.parents],
        "author": {"name": c.author.name, "email": c.author.email},
        "date": render.iso_date(c.author.timestamp, c.author.tz_offset),
        "timestamp": c.author.timestamp,
        "message": c.message,
        "replica": c.replica,
        "lamport": c.lamport,
        "clock": dict(c.clock),
        "gaps": {r: [list(g) for g in gaps] for r, gaps in c.gaps},
        "refs": refs or [],
        "tags": [r.removeprefix("tag: ") for r in refs or [] if r.startswith("tag: ")],
    }


def stat_json(s: DiffStat) -> dict[str, Any]:
    """Return the JSON shape of a per-file diff stat."""
    return {"path": jpath(s.path), "added": s.added, "deleted": s.deleted, "binary": s.binary}


def diff_json(d: FileDiff) -> dict[str, Any]:
    """Return the JSON shape of a file diff, with its hunks."""
    return {
        "path": jpath(d.path),
        "old_path": jpath(d.old_path) if d.old_path else None,
        "status": d.status,
        "binary": d.binary,
        "added": d.added,
        "deleted": d.deleted,
        "hunks": [
            {
                "old_start": h.old_start,
                "old_lines": h.old_lines,
                "new_start": h.new_start,
                "new_lines": h.new_lines,
                "lines": [ln.origin + ln.text.decode("utf-8", "backslashreplace") for ln in h.lines],
            }
            for h in d.hunks
        ],
    }


def clock_text(c: Commit) -> str:
    """Return a commit's Lamport clock and vector clock (replica ids shortened to 8 digits).

    Each replica's count is followed by the counters below it not in the commit's history,
    if any: ``0123abcd:9 except 3-5,7``.
    """
    from vcrdt.objects import format_gaps

    gaps = dict(c.gaps)
    counts = ", ".join(f"{r[:8]}:{n}" + (f" except {format_gaps(gaps[r])}" if r in gaps else "") for r, n in c.clock)
    return f"lamport {c.lamport}, clock {{{counts}}}"


def commit_header_text(oid: bytes, c: Commit | CommitInfo, refs: list[str], *, clock: bool = False) -> str:
    """Return the uncoloured lines of `print_commit_header`, each ending with a newline.

    Plain text, without rich Texts: `log` prints thousands of these. `c` may be the commit's
    `CommitInfo` (what the commit table holds) unless `clock` is asked for.

    >>> from vcrdt.objects import Commit, Signature
    >>> c = Commit(bytes(32), (), Signature("A", "a@x", 0, 0), "fix\\n", "0" * 32, 1, ())
    >>> print(commit_header_text(b"\\1" * 32, c, ["main"]), end="")  # doctest: +ELLIPSIS
    commit 0101...0101 (main)
    Author: A <a@x>
    Date:   Thu Jan 1 00:00:00 1970 +0000
    <BLANKLINE>
        fix
    """
    head = f"commit {oid.hex()} ({', '.join(map(decoration, refs))})\n" if refs else f"commit {oid.hex()}\n"
    if len(c.parents) > 1:
        head += "Merge: " + " ".join(short(p) for p in c.parents) + "\n"
    a = c.author
    date = render.format_date(a.timestamp, a.tz_offset)
    if clock:
        from vcrdt.objects import Commit

        if not isinstance(c, Commit):
            raise TypeError("the clock needs the whole commit, not its CommitInfo")
        date += f"\nClock:  {clock_text(c)}"
    from vcrdt.messages import body  # not on the plain log's path, which writes messages in C

    text = body(c.message)
    return f"{head}Author: {a.name} <{a.email}>\nDate:   {date}\n" + (f"\n{text}\n" if text else "")


def print_commit_header(
    oid: bytes, c: Commit | CommitInfo, refs: list[str], *, clock: bool = False, con: render.DataOut | None = None
) -> None:
    """Print a commit the way `git log` does (header and indented message), to `con` or stdout.

    `c` may be the commit's `CommitInfo` unless `clock` is asked for.
    """
    con = con or render.data()
    if con.is_plain:
        con.write_text(commit_header_text(oid, c, refs, clock=clock))
        return
    line = Text("commit ", style="oid")
    line.append(oid.hex(), style="oid")
    if refs:
        line.append(" (", style="oid")
        for i, r in enumerate(refs):
            if i:
                line.append(", ", style="oid")
            line.append(decoration(r), style="head" if r.startswith("HEAD") else "ref")
        line.append(")", style="oid")
    con.print(line)
    if len(c.parents) > 1:
        con.print(Text("Merge: " + " ".join(short(p) for p in c.parents)))
    con.print(Text(f"Author: {c.author.name} <{c.author.email}>"))
    con.print(Text(f"Date:   {render.format_date(c.author.timestamp, c.author.tz_offset)}"))
    if clock:
        from vcrdt.objects import Commit

        if not isinstance(c, Commit):
            raise TypeError("the clock needs the whole commit, not its CommitInfo")
        con.print(Text(f"Clock:  {clock_text(c)}"))
    from vcrdt.messages import body

    text = body(c.message)
    if text:
        con.print()
        for msg_line in text.split("\n"):
            con.print(Text(msg_line))


def oneline(entry: LogEntry) -> Text:
    """Return the `--oneline` form of a log entry."""
    t = Text(short(entry.oid), style="oid")
    if entry.refs:
        t.append(" (", style="oid")
        t.append(", ".join(map(decoration, entry.refs)), style="ref")
        t.append(")", style="oid")
    t.append(" " + entry.info.summary)
    return t


def oneline_text(oid: ObjectId, c: Commit | CommitInfo, refs: list[str]) -> str:
    """Return the uncoloured `oneline` line of a commit, without its newline: what printing `oneline` writes.

    Plain text, without rich Texts (`log --oneline` prints thousands); the control codes a
    Text drops are dropped here too (`render.plain_text`).

    >>> from vcrdt.objects import Commit, Signature
    >>> c = Commit(bytes(32), (), Signature("A", "a@x", 0, 0), "fix\\r it\\n\\nmore\\n", "0" * 32, 1, ())
    >>> oneline_text(b"\\1" * 32, c, ["HEAD -> main", "tag: v1"])
    '010101010101 (HEAD -> main, tag: v1) fix it'
    """
    if refs:
        return render.plain_text(f"{short(oid)} ({', '.join(map(decoration, refs))}) {c.summary}")
    return render.plain_text(f"{short(oid)} {c.summary}")


def print_stats(stats: list[DiffStat], width: int | None = None) -> None:
    """Print a `--stat` block as git lays it out: one line per file and a summary line.

    `width` is the terminal's (default: ``COLUMNS``, else the terminal on stdout, else 80). The
    names take what they need and the bars the rest, as git's ``show_stats`` shares a line:
    the bars at most three eighths of it when both do not fit, a name too long cut from the
    left after ``...`` (at a slash when there is one); a bar is scaled down when the largest
    change does not fit, every changed file keeping at least one ``+`` or ``-``.
    """
    from vcrdt.messages import width as columns

    con = render.data()
    if not stats:
        return
    names = [render.quote(s.path) for s in stats]
    shown = [_display_width(name) for name in names]
    max_len = max(shown)
    max_change = max((s.added + s.deleted for s in stats if not s.binary), default=0)
    binaries = [s.sizes or (0, 0) for s in stats if s.binary]
    number_width = max(len(str(max_change)), 3 if binaries else 0)
    # "Bin OLD -> NEW bytes" is as wide as this.
    bin_width = max((14 + len(str(old)) + len(str(new)) for old, new in binaries), default=0)
    total_width = max(width if width is not None else _columns(), 16 + 6 + number_width)
    graph_width = max_change if max_change + 4 > bin_width else bin_width - 4
    name_width = max_len
    if name_width + number_width + 6 + graph_width > total_width:
        if graph_width > total_width * 3 // 8 - number_width - 6:
            graph_width = max(total_width * 3 // 8 - number_width - 6, 6)
        if name_width > total_width - number_width - 6 - graph_width:
            name_width = total_width - number_width - 6 - graph_width
        else:
            graph_width = total_width - number_width - 6 - name_width
    for s, name, name_len in zip(stats, names, shown, strict=True):
        prefix = ""
        room = name_width
        if name_width < name_len:
            prefix = "..."
            room = max(name_width - 3, 0)
            while name_len > room:
                name_len -= columns(name[0]) or 0
                name = name[1:]
            slash = name.find("/")
            if slash >= 0:
                name = name[slash:]
                name_len = _display_width(name)
        t = Text(f" {prefix}{name}{' ' * max(room - name_len, 0)} | ")
        if s.binary:
            t.append("Bin".rjust(number_width))
            old, new = s.sizes or (0, 0)
            if old or new:
                t.append(" ")
                t.append(str(old), style="deleted")
                t.append(" -> ")
                t.append(str(new), style="added")
                t.append(" bytes")
            con.print(t)
            continue
        total = s.added + s.deleted
        plus, minus = s.added, s.deleted
        if graph_width <= max_change:
            scaled = _scale(total, graph_width, max_change)
            if scaled < 2 and plus and minus:
                scaled = 2
            if plus < minus:
                plus = _scale(plus, graph_width, max_change)
                minus = scaled - plus
            else:
                minus = _scale(minus, graph_width, max_change)
                plus = scaled - minus
        t.append(f"{total:>{number_width}}" + (" " if total else ""))
        t.append("+" * plus, style="added")
        t.append("-" * minus, style="deleted")
        con.print(t)
    files = len(stats)
    ins = sum(s.added for s in stats)
    dels = sum(s.deleted for s in stats)
    summary = f" {files} file{'s' if files != 1 else ''} changed"
    if ins or not dels:
        summary += f", {ins} insertion{'s' if ins != 1 else ''}(+)"
    if dels or not ins:
        summary += f", {dels} deletion{'s' if dels != 1 else ''}(-)"
    con.print(Text(summary))


def _display_width(name: str) -> int:
    """The columns a quoted name takes (`vcrdt.messages.width`; a zero-width one takes none)."""
    from vcrdt.messages import width

    columns = width(name)
    return len(name) if columns is None else columns  # None: a control code, which `quote` escapes


def _scale(count: int, width: int, most: int) -> int:
    """Scale [1, most] onto [1, width], as git scales a bar: any change keeps at least one column."""
    return 0 if not count else 1 + count * (width - 1) // most


def _columns() -> int:
    """The terminal's width as git takes it: ``COLUMNS``, else the terminal on stdout, else 80."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


def print_diffs(diffs: list[FileDiff]) -> None:
    """Print unified diffs: raw bytes when not a terminal, coloured text on one."""
    from vcrdt.diff.lines import format_unified

    if not render.color_enabled():
        for d in diffs:
            render.write_bytes(format_unified(d))
        return
    con = render.data()
    for d in diffs:
        for raw in format_unified(d).split(b"\n")[:-1]:
            line = raw.decode("utf-8", "replace")
            if raw.startswith((b"diff ", b"--- ", b"+++ ", b"new file", b"deleted file", b"index ", b"old mode")):
                style = "meta"
            elif raw.startswith(b"@@"):
                style = "hunk"
            elif raw.startswith(b"+"):
                style = "added"
            elif raw.startswith(b"-"):
                style = "deleted"
            else:
                style = ""
            con.print(Text(line, style=style))
    sys.stdout.flush()
