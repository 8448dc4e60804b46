"""`vcrdt log` without colour writes its headers in chunks: the same bytes as one header at a time."""

from __future__ import annotations

from tests.helpers.cli import CliRunner
from tests.unit.test_render_dates import reference as format_date_reference
from vcrdt import porcelain
from vcrdt.ids import short
from vcrdt.objects import Commit
from vcrdt.repo import Repository, Settings


def reference_header(oid: bytes, c: Commit, refs: list[str], clock: bool) -> str:
    """The plain lines `print_commit_header` wrote one commit at a time, before log wrote them in chunks."""
    lines = [f"commit {oid.hex()} ({', '.join(refs)})" if refs else f"commit {oid.hex()}"]
    if len(c.parents) > 1:
        lines.append("Merge: " + " ".join(short(p) for p in c.parents))
    lines.append(f"Author: {c.author.name} <{c.author.email}>")
    lines.append(f"Date:   {format_date_reference(c.author.timestamp, c.author.tz_offset)}")
    if clock:
        gaps = {r: ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in g) for r, g in c.gaps}
        counts = ", ".join(f"{r[:8]}:{n}" + (f" except {gaps[r]}" if r in gaps else "") for r, n in c.clock)
        lines.append(f"Clock:  lamport {c.lamport}, clock {{{counts}}}")
    # The message as git prints it: blank lines around it dropped, each line right-stripped of
    # spaces, tabs and carriage returns, its tabs expanded and indented, a blank one too; no blank
    # line when empty.
    text = [m.rstrip(" \t\r") for m in c.message.split("\n")]
    while text and not text[0]:
        text.pop(0)
    while text and not text[-1]:
        text.pop()
    if text:
        lines.append("")
        lines += ["    " + m.expandtabs(8) for m in text]  # tab stops counted from the text (ASCII here)
    return "\n".join(lines) + "\n"


MESSAGES = [
    "plain",
    "two\n\nparagraphs  \n",
    "trailing spaces   ",
    "tab\there",
    "\n\nstarts blank",
    "x\n\n\n",
    "a\n \t\nb\r",
]


def test_log_of_more_commits_than_one_chunk(repo: CliRunner) -> None:
    repo.ok("commit", "--allow-empty", "-m", "root")
    repo.ok("branch", "side")
    repo.ok("switch", "side")
    repo.write("side.txt", "s\n")
    repo.ok("commit", "-A", "-m", "on side")
    repo.ok("switch", "main")
    repo.write("main.txt", "m\n")
    repo.ok("commit", "-A", "-m", "on main")
    repo.ok("merge", "side", "-m", "merge side")
    repo.ok("tag", "v1")
    r = Repository(repo.cwd, Settings(author_name="Ada Lovelace", author_email="ada@example.com"))
    for i in range(600):
        porcelain.commit(r, MESSAGES[i % len(MESSAGES)] + f" {i}", allow_empty=True)
    r.close()
    for clock in (False, True):
        args = ["log", "--clock"] if clock else ["log"]
        out = repo.ok(*args).out
        r = Repository(repo.cwd, Settings())
        entries = list(porcelain.log(r))
        r.close()
        assert len(entries) == 604
        assert out == "\n".join(reference_header(e.oid, e.commit, e.refs, clock) for e in entries)
    assert repo.ok("log", "-n", "300").out == "\n".join(
        reference_header(e.oid, e.commit, e.refs, False) for e in entries[:300]
    )


def test_log_oneline_writes_what_the_styled_lines_wrote(repo: CliRunner) -> None:
    """`--oneline` without colour is written as plain text: the same bytes as its Text lines (control codes dropped)."""
    from vcrdt.cli import views
    from vcrdt.cli.render import Text

    repo.ok("commit", "--allow-empty", "-m", "root")
    repo.ok("branch", "side")
    repo.ok("switch", "side")
    repo.ok("commit", "--allow-empty", "-m", "on side\rwith a CR")
    repo.ok("switch", "main")
    repo.ok("commit", "--allow-empty", "-m", "bell\x07 and\ttab\n\nbody")
    repo.ok("merge", "side", "-m", "merge side")
    repo.ok("tag", "v1")
    repo.ok("tag", "caf\u00e9")
    r = Repository(repo.cwd, Settings(author_name="Ada Lovelace", author_email="ada@example.com"))
    for i in range(600):
        porcelain.commit(r, MESSAGES[i % len(MESSAGES)] + f" \x0b{i}", allow_empty=True)
    r.close()
    r = Repository(repo.cwd, Settings())
    entries = list(porcelain.log(r))
    r.close()
    for clock in (False, True):
        want = []
        for e in entries:
            line = Text("")
            line.append_text(views.oneline(e))
            if clock:
                line.append(f"  [{views.clock_text(e.commit)}]", style="meta")
            want.append(line.plain + "\n")
        args = ["log", "--oneline", *(["--clock"] if clock else [])]
        assert repo.ok(*args).out == "".join(want)
        assert repo.ok(*args, "-n", "300").out == "".join(want[:300])
