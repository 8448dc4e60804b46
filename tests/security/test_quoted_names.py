"""Names in human output are quoted as git's core.quotePath does; JSON keeps them exact.

A file, branch or tag name with a control character (ESC, a newline, a tab) or
a byte that is not UTF-8 is shown in double quotes with C escapes (octal for
the rest), so it can neither drive the terminal nor split a line-per-path
listing into forged lines. Plain names, non-ASCII letters included, are shown
as they are. Non-UTF-8 names also work through the line differ (`diff
--name-only`, `log --stat` used to fail with a UnicodeEncodeError).
"""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from tests.helpers.cli import CliRunner

ESC = "a\x1b[2Jb.txt"
NEWLINE = "line\nbreak.txt"
TAB = "tab\there.txt"
LATIN1 = os.fsdecode(b"caf\xe9.txt")  # the bytes b"caf\xe9.txt": not UTF-8
PLAIN = "café.txt"

# In the order vcrdt lists paths (by their bytes), with how human output shows each.
SHOWN = [
    (ESC, '"a\\033[2Jb.txt"'),
    (PLAIN, "café.txt"),
    (LATIN1, '"caf\\351.txt"'),
    (NEWLINE, '"line\\nbreak.txt"'),
    (TAB, '"tab\\there.txt"'),
]
QUOTED = [shown for _, shown in SHOWN]


def _no_raw_controls(text: str) -> None:
    for raw in ("\x1b", "\t", "\ufffd"):
        assert raw not in text


@pytest.fixture
def named(repo: CliRunner) -> CliRunner:
    """A repository whose work tree holds one file of each kind of name, untracked."""
    for name, _ in SHOWN:
        repo.write(name, "one\n")
    return repo


@pytest.fixture
def committed(named: CliRunner) -> CliRunner:
    """The same files committed, then each given a second line."""
    named.ok("commit", "-A", "-m", "add")
    for name, _ in SHOWN:
        named.write(name, "one\ntwo\n")
    return named


def test_status_short_quotes_each_name_on_its_own_line(named: CliRunner) -> None:
    r = named.ok("status", "--short")
    assert r.out.splitlines() == [f"?? {q}" for q in QUOTED]
    _no_raw_controls(r.out)


def test_status_long_quotes_names(named: CliRunner) -> None:
    r = named.ok("status")
    assert r.out.splitlines() == ["On branch main (no commits yet)", "", "Untracked:"] + [f"  {q}" for q in QUOTED]
    _no_raw_controls(r.out)


def test_status_json_keeps_the_exact_names(named: CliRunner) -> None:
    doc = json.loads(named.ok("status", "--json").out)
    # Names are exact; a byte that is not UTF-8 is written as \xNN (JSON holds text only).
    assert doc["untracked"] == [ESC, PLAIN, "caf\\xe9.txt", NEWLINE, TAB]


def test_diff_name_only_and_stat_quote_names(committed: CliRunner) -> None:
    r = committed.ok("diff", "--name-only")
    assert r.out.splitlines() == QUOTED
    r = committed.ok("diff", "--stat")
    width = max(map(len, QUOTED))
    assert r.out.splitlines() == [f" {q.ljust(width)} | 1 +" for q in QUOTED] + [" 5 files changed, 5 insertions(+)"]
    _no_raw_controls(r.out)


def test_non_utf8_name_through_the_line_differ(committed: CliRunner) -> None:
    """Item 8: `diff --name-only`, `diff` and `log --stat` on b'caf\\xe9.txt' no longer exit 255."""
    r = committed.ok("diff", "--name-only", "--path", LATIN1)
    assert r.out == '"caf\\351.txt"\n'
    r = committed.ok("diff", "--path", LATIN1)
    assert r.out_bytes.splitlines()[:3] == [
        b'diff --git "a/caf\\351.txt" "b/caf\\351.txt"',
        b'--- "a/caf\\351.txt"',
        b'+++ "b/caf\\351.txt"',
    ]
    assert r.out_bytes.endswith(b"@@ -1 +1,2 @@\n one\n+two\n")
    committed.ok("commit", "-m", "second")
    r = committed.ok("log", "--stat", "-n", "1")
    assert ' "caf\\351.txt"     | 1 +' in r.out.splitlines()
    stats = json.loads(committed.ok("log", "--stat", "--json", "-n", "1").out)[0]["stats"]
    assert {s["path"] for s in stats} == {ESC, PLAIN, "caf\\xe9.txt", NEWLINE, TAB}


def test_log_and_show_stat_quote_names(committed: CliRunner) -> None:
    committed.ok("commit", "-m", "second")
    width = max(map(len, QUOTED))
    block = [f" {q.ljust(width)} | 1 +" for q in QUOTED] + [" 5 files changed, 5 insertions(+)"]
    log = committed.ok("log", "--stat", "-n", "1").out.splitlines()
    assert log[-6:] == block
    show = committed.ok("show", "--stat").out.splitlines()
    assert show[-6:] == block
    assert committed.ok("show", "--name-only").out.splitlines()[-5:] == QUOTED
    _no_raw_controls("\n".join(log + show))


def test_rm_add_mv_restore_report_quoted_names(committed: CliRunner) -> None:
    committed.write("new\x1b]0;owned\x07.txt", "x\n")
    r = committed.ok("add", "-v", "new\x1b]0;owned\x07.txt")
    assert r.err == 'add "new\\033]0;owned\\a.txt"\n'
    r = committed.ok("restore", ESC, NEWLINE)
    assert r.err.splitlines() == ['restored "a\\033[2Jb.txt"', 'restored "line\\nbreak.txt"']
    r = committed.ok("mv", TAB, "tab\tthere.txt")
    assert r.err == 'rename "tab\\there.txt" -> "tab\\tthere.txt"\n'
    r = committed.ok("rm", ESC, LATIN1)
    assert r.err.splitlines() == ['rm "a\\033[2Jb.txt"', 'rm "caf\\351.txt"']


def test_errors_escape_names(committed: CliRunner) -> None:
    r = committed("restore", "gone\x1b[2J\nfake")
    assert r.code == 1
    assert len(r.err.splitlines()) == 1
    assert r.err.startswith("error: ")
    _no_raw_controls(r.err)
    assert "\\n" in r.err


@pytest.mark.parametrize("name", ["a\x1b[31mb", "a\nb", "tab\tx", "a\x07", "x\u009b2J", "a\u202eb"])
def test_local_branch_and_tag_refuse_control_characters(committed: CliRunner, name: str) -> None:
    for command in ("branch", "tag"):
        r = committed(command, name)
        assert r.code == 1
        assert r.err == f"error: invalid ref name {name!r}: contains a control character\n"
    r = committed("switch", "-c", name)
    assert r.code == 1
    assert r.err == f"error: invalid ref name {name!r}: contains a control character\n"
    assert [b["name"] for b in json.loads(committed.ok("branch", "--json").out)] == ["main"]
    assert json.loads(committed.ok("tag", "--json").out) == []


def test_branch_and_tag_names_are_quoted(committed: CliRunner) -> None:
    r = committed.ok("branch", 'say"hi')
    assert r.err.startswith('Created branch "say\\"hi" at ')
    r = committed.ok("tag", 'v"1')
    assert r.err.startswith("Tagged ") and r.err.endswith(' as "v\\"1"\n')
    lines = committed.ok("branch").out.splitlines()
    assert lines[0].startswith("* main ")
    assert lines[1].startswith('  "say\\"hi" ')
    assert committed.ok("tag").out == '"v\\"1"\n'
    assert committed.ok("log", "--oneline").out.split(" ", 1)[1].startswith('(HEAD -> main, tag: "v\\"1", "say\\"hi") ')
    assert json.loads(committed.ok("branch", "--json").out)[1]["name"] == 'say"hi'


def test_hostile_refs_already_stored_are_quoted(committed: CliRunner) -> None:
    """A repository that took bad names before fetch checked them still shows them safely."""
    head = json.loads(committed.ok("log", "--json", "-n", "1").out)[0]["id"]
    db = sqlite3.connect(committed.cwd / ".vcrdt" / "store.db")
    with db:
        for name in ("refs/heads/\x1b[2J\x1b]0;owned\x07evil\nfake-line", "refs/tags/\x1b[31mRED"):
            db.execute("INSERT INTO refs(name, head) VALUES (?, ?)", (name, bytes.fromhex(head)))
    db.close()
    assert committed.ok("branch").out.splitlines()[0].startswith('  "\\033[2J\\033]0;owned\\aevil\\nfake-line" ')
    assert committed.ok("tag").out == '"\\033[31mRED"\n'
    log = committed.ok("log", "-n", "1").out.splitlines()[0]
    assert log.endswith('(HEAD -> main, tag: "\\033[31mRED", "\\033[2J\\033]0;owned\\aevil\\nfake-line")')
    for args in (("log", "--oneline"), ("log", "--graph"), ("show", "--stat")):
        out = committed.ok(*args).out
        assert "\x1b" not in out and "\x07" not in out and "fake-line\n" not in out
    # fsck names each one, quoted, with the rule it breaks.
    r = committed("fsck")
    assert r.code == 1
    bad = [line for line in r.out.splitlines() + r.err.splitlines() if "invalid ref name" in line]
    assert len(bad) == 2, r.out + r.err
    assert all("\x1b" not in line and "\x07" not in line for line in bad)
    assert "contains a control character" in bad[0]


def test_merge_and_conflicts_quote_paths_and_never_read_markup(repo: CliRunner) -> None:
    names = [ESC, "[bold]x[/bold].txt"]
    for name in names:
        repo.write(name, "base\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("branch", "side")
    for name in names:
        repo.write(name, "ours\n")
    repo.ok("commit", "-m", "ours")
    repo.ok("switch", "side")
    for name in names:
        repo.write(name, "theirs\n")
    repo.ok("commit", "-m", "theirs")
    repo.ok("switch", "main")
    r = repo("--color", "always", "merge", "side")
    assert r.code == 1
    assert "CONFLICT (content): [bold]x[/bold].txt" in r.out
    assert '"a\\033[2Jb.txt"' in r.out
    assert "\x1b[2J" not in r.out
    lines = repo("conflicts").out.splitlines()
    assert '"a\\033[2Jb.txt": content conflict (unresolved)' in lines
    assert "[bold]x[/bold].txt: content conflict (unresolved)" in lines
    r = repo.ok("resolve", "--ours", ESC)
    assert r.err == 'resolved "a\\033[2Jb.txt"\n'
