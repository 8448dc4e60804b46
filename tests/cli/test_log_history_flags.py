"""`log --all`, `log -p` and `log --follow` (issue 14), and `show --stat`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


def _summaries(r: CliRunner, *args: str) -> list[str]:
    return [e["message"].splitlines()[0] for e in json.loads(r.ok("log", "--json", *args).out)]


@pytest.fixture
def renamed(repo: CliRunner) -> CliRunner:
    repo.write("old.txt", "one\ntwo\nthree\nfour\n")
    repo.write("other.txt", "x\n")
    repo.ok("commit", "-A", "-m", "create")
    repo.write("old.txt", "one\ntwo\nthree\nfour\nfive\n")
    repo.ok("commit", "-m", "grow")
    repo.ok("mv", "old.txt", "new.txt")
    repo.write("new.txt", "one\ntwo\nTHREE\nfour\nfive\n")
    repo.ok("commit", "-m", "rename and edit")
    repo.write("other.txt", "y\n")
    repo.ok("commit", "-m", "unrelated")
    repo.write("new.txt", "one\ntwo\nTHREE\nfour\nfive\nsix\n")
    repo.ok("commit", "-m", "grow again")
    return repo


def test_log_follow_goes_back_through_a_rename(renamed: CliRunner) -> None:
    assert _summaries(renamed, "--", "new.txt") == ["grow again", "rename and edit"]
    assert _summaries(renamed, "--follow", "--", "new.txt") == ["grow again", "rename and edit", "grow", "create"]
    assert _summaries(renamed, "--follow", "new.txt") == ["grow again", "rename and edit", "grow", "create"]
    assert _summaries(renamed, "--follow", "-n", "2", "--", "new.txt") == ["grow again", "rename and edit"]
    # The rename commit's patch shows the rename and the edit, and only that file.
    entry = json.loads(renamed.ok("log", "--json", "-p", "--follow", "-n", "2", "--", "new.txt").out)[1]
    assert [(d["path"], d["old_path"], d["status"]) for d in entry["diff"]] == [("new.txt", "old.txt", "modified")]
    out = renamed.ok("log", "--follow", "-p", "--oneline", "-n", "2", "--", "new.txt").out
    assert "rename from old.txt\nrename to new.txt\n" in out and "-three\n+THREE\n" in out
    assert "other.txt" not in out


def test_log_follow_bad_inputs(renamed: CliRunner) -> None:
    for args in (["--follow"], ["--follow", "--", "new.txt", "other.txt"], ["--follow", "--", "."]):
        r = renamed("log", *args)
        assert (r.code, r.out, r.err.strip()) == (1, "", "error: --follow needs exactly one path"), args


def test_log_patch(renamed: CliRunner) -> None:
    out = renamed.ok("log", "-p", "-n", "2").out
    assert out.startswith("commit ")
    first, second = out.split("\ncommit ")
    assert "    grow again\n\ndiff --git a/new.txt b/new.txt\n" in first
    assert first.endswith("+six\n\n") or first.endswith("+six\n")
    assert "diff --git a/other.txt b/other.txt\n--- a/other.txt\n+++ b/other.txt\n@@ -1 +1 @@\n-x\n+y\n" in second
    assert renamed.ok("log", "--patch", "-n", "2").out == out
    # Limited to paths, the patch shows only those paths, as git's does.
    only = renamed.ok("log", "-p", "--", "other.txt").out
    assert "new.txt" not in only and "old.txt" not in only and "+y" in only
    # --stat and -p together: the stat, then the patch.
    both = renamed.ok("log", "--stat", "-p", "-n", "1").out
    assert both.index("1 file changed") < both.index("diff --git")
    graph = renamed.ok("log", "--graph", "--oneline", "-p", "-n", "1").out.splitlines()
    assert graph[0].startswith("* ") and graph[1] == "| diff --git a/new.txt b/new.txt"  # as git draws it


def test_log_all_shows_every_ref_and_siblings(cli: CliRunner) -> None:
    anna, bill = CliRunner(cli.cwd / "anna"), CliRunner(cli.cwd / "bill")
    for r in (anna, bill):
        r.cwd.mkdir()
        r.ok("init")
    anna.write("n.txt", "one\n")
    anna.ok("commit", "-A", "-m", "base")
    anna.ok("tag", "v1")
    bill.ok("fetch", "../anna")
    bill.write("b.txt", "bill\n")
    bill.ok("commit", "-A", "-m", "bill")
    anna.write("n.txt", "anna\n")
    anna.ok("commit", "-m", "anna")
    anna.ok("switch", "-c", "topic")
    anna.write("t.txt", "t\n")
    anna.ok("commit", "-A", "-m", "topic")
    anna.ok("switch", "main")
    anna.ok("fetch", "../bill")  # main now has two heads: anna's and bill's
    assert _summaries(anna) == ["anna", "base"]
    assert sorted(_summaries(anna, "--all")) == ["anna", "base", "bill", "topic"]
    assert sorted(_summaries(anna, "--all", "^v1")) == ["anna", "bill", "topic"]
    lines = anna.ok("log", "--all", "--graph", "--oneline").out.splitlines()
    # topic is newest; anna and bill (main's two heads) tie on the clock, so either may come
    # first, but bill's head is drawn in a column of its own that joins anna's at the base.
    shape = [re.sub(r"[0-9a-f]{12} .*", "C", line) for line in lines]
    assert shape in (["* C", "* C", "| * C", "|/", "* C"], ["* C", "| * C", "* | C", "|/", "* C"]), lines
    assert lines[0].endswith(" (topic) topic") and lines[4].endswith(" (tag: v1) base")
    assert next(line for line in lines if line.endswith(" bill")).startswith("| * ")


def test_show_stat(renamed: CliRunner) -> None:
    out = renamed.ok("show", "--stat", "HEAD~1").out
    assert "    unrelated\n\n other.txt | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)\n" in out
    assert "diff --git" not in out


def test_log_all_in_an_empty_repository(repo: CliRunner, tmp_path: Path) -> None:
    assert repo.ok("log", "--all").out == ""


def test_stat_of_binary_files_names_their_sizes(repo: CliRunner) -> None:
    # As git's: "Bin OLD -> NEW bytes", a large object's own size too (its content is not read).
    from vcrdt.store import LARGE_OBJECT

    repo.write("small.bin", b"a\0b")
    repo.write("large.bin", b"\0" * (LARGE_OBJECT + 1))
    repo.ok("commit", "-A", "-m", "base")
    repo.write("small.bin", b"a\0bcdefgh")
    repo.write("large.bin", b"\0" * (LARGE_OBJECT + 5))
    width = len(str(LARGE_OBJECT + 5))
    expected = [
        f" large.bin | Bin {LARGE_OBJECT + 1} -> {LARGE_OBJECT + 5} bytes",
        " small.bin | Bin 3 -> 9 bytes",
        " 2 files changed, 0 insertions(+), 0 deletions(-)",
    ]
    assert width > 3
    assert repo.ok("diff", "--stat").out.splitlines() == expected
    repo.ok("commit", "-m", "grow")
    assert repo.ok("log", "--stat", "-n", "1").out.splitlines()[-3:] == expected
