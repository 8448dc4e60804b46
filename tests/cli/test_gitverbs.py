"""The git verbs for habit and scripts: `rev-parse`, `ls-files`, `clean`, `checkout`, `commit -a`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


def _head(r: CliRunner) -> str:
    return str(json.loads(r.ok("log", "--json", "-n", "1").out)[0]["id"])


@pytest.fixture
def two(repo: CliRunner) -> tuple[CliRunner, str, str]:
    """A repository with commits `one` and `two` of a.txt, and sub/b.txt tracked."""
    repo.write("a.txt", "one\n")
    repo.write("sub/b.txt", "b\n")
    repo.ok("commit", "-A", "-m", "one")
    one = _head(repo)
    repo.write("a.txt", "two\n")
    repo.ok("commit", "-m", "two")
    return repo, one, _head(repo)


def test_commit_all_is_accepted_for_the_habit(two: tuple[CliRunner, str, str]) -> None:
    repo, _, two_id = two
    repo.write("a.txt", "three\n")
    r = repo.ok("commit", "-am", "three")
    assert "1 file changed" in r.out + r.err
    assert _head(repo) != two_id
    assert (repo.cwd / "a.txt").read_text() == "three\n"


def test_rev_parse_prints_ids_branches_and_the_top(two: tuple[CliRunner, str, str]) -> None:
    repo, one, two_id = two
    assert repo.ok("rev-parse", "HEAD").out == two_id + "\n"
    assert repo.ok("rev-parse", "HEAD~1", "main").out == f"{one}\n{two_id}\n"
    assert repo.ok("rev-parse", "--short", "HEAD").out == two_id[:12] + "\n"
    assert repo.ok("rev-parse", "--abbrev-ref", "HEAD").out == "main\n"
    assert repo.ok("rev-parse", "--show-toplevel", cwd=repo.cwd / "sub").out == f"{repo.cwd}\n"
    assert repo.ok("rev-parse", "--is-inside-work-tree").out == "true\n"
    repo.ok("switch", "--detach", "HEAD~1")
    assert repo.ok("rev-parse", "--abbrev-ref", "HEAD").out == "HEAD\n"


def test_rev_parse_bad_revisions(two: tuple[CliRunner, str, str]) -> None:
    repo, _, _ = two
    r = repo("rev-parse", "nosuch")
    assert r.code == 1 and r.out == "" and "nosuch" in r.err
    r = repo("rev-parse", "--verify", "HEAD", "main")
    assert r.code == 1 and "needed a single revision" in r.err
    r = repo("rev-parse", "HEAD~5")
    assert r.code == 1 and "past the root commit" in r.err


def test_ls_files_lists_each_kind_relative_to_the_current_directory(two: tuple[CliRunner, str, str]) -> None:
    repo, _, _ = two
    repo.write(".vcrdtignore", "*.log\n")
    repo.write("new.txt", "n\n")
    repo.write("sub/x.log", "log\n")
    repo.write("sub/c.txt", "c\n")
    (repo.cwd / "a.txt").write_text("edited\n")
    assert repo.ok("ls-files").out == "a.txt\nsub/b.txt\n"
    assert repo.ok("ls-files", "-o").out == ".vcrdtignore\nnew.txt\nsub/c.txt\n"
    assert repo.ok("ls-files", "-i").out == "sub/x.log\n"
    assert repo.ok("ls-files", "-m").out == "a.txt\n"
    os.unlink(repo.cwd / "sub" / "b.txt")
    assert repo.ok("ls-files", "-d").out == "sub/b.txt\n"
    assert repo.ok("ls-files", "-m").out == "a.txt\nsub/b.txt\n"
    sub = repo.cwd / "sub"
    assert repo.ok("ls-files", "-c", "-o", cwd=sub).out == "b.txt\nc.txt\n"
    assert repo.ok("ls-files", "..", cwd=sub).out == "../a.txt\nb.txt\n"
    assert repo.ok("ls-files", "-z").out == "a.txt\0sub/b.txt\0"
    assert json.loads(repo.ok("ls-files", "--json", "-o").out)["files"] == [".vcrdtignore", "new.txt", "sub/c.txt"]
    r = repo("ls-files", "../elsewhere")
    assert r.code == 1 and "outside the repository" in r.err


def test_clean_needs_force_and_follows_git(two: tuple[CliRunner, str, str]) -> None:
    repo, _, _ = two
    repo.write(".vcrdtignore", "*.log\n")
    repo.ok("commit", "-A", "-m", "ignore")
    repo.write("u.txt", "u\n")
    repo.write("sub/u.txt", "u\n")
    repo.write("junk/deep/j.txt", "j\n")
    repo.write("build.log", "log\n")
    r = repo("clean")
    assert r.code == 2 and "-f" in r.err
    assert (repo.cwd / "u.txt").exists()
    r = repo.ok("clean", "-n")
    assert r.out.splitlines() == [
        "Would remove sub/u.txt",
        "Would remove u.txt",
        "Would skip directory junk/ (-d removes it)",
    ]
    assert (repo.cwd / "u.txt").exists()
    r = repo.ok("clean", "-f", "sub")
    assert r.out == "Removing sub/u.txt\n"
    assert not (repo.cwd / "sub" / "u.txt").exists() and (repo.cwd / "sub" / "b.txt").exists()
    r = repo.ok("clean", "-fd")
    assert r.out.splitlines() == ["Removing junk/", "Removing u.txt"]
    assert not (repo.cwd / "junk").exists() and (repo.cwd / "build.log").exists()
    r = repo.ok("clean", "-fX")
    assert r.out == "Removing build.log\n"
    assert repo.ok("status", "--json").out.count("untracked") == 1
    assert json.loads(repo.ok("status", "--json").out)["untracked"] == []
    assert (repo.cwd / "a.txt").read_text() == "two\n"
    repo.ok("fsck")


def test_clean_in_a_subdirectory_cleans_only_there(two: tuple[CliRunner, str, str]) -> None:
    repo, _, _ = two
    repo.write("u.txt", "u\n")
    repo.write("sub/u.txt", "u\n")
    r = repo.ok("clean", "-f", cwd=repo.cwd / "sub")
    assert r.out == "Removing u.txt\n"
    assert (repo.cwd / "u.txt").exists() and not (repo.cwd / "sub" / "u.txt").exists()
    assert json.loads(repo.ok("clean", "-n", "--json").out)["removed"] == ["u.txt"]


@pytest.mark.hostile
def test_clean_removes_an_untracked_symlink_not_what_it_points_at(
    two: tuple[CliRunner, str, str], outside: Path
) -> None:
    repo, _, _ = two
    os.symlink(outside, repo.cwd / "link")
    os.symlink(outside / "deep", repo.cwd / "sub" / "deeplink")
    r = repo.ok("clean", "-fdx")
    assert "Removing link" in r.out and "Removing sub/deeplink" in r.out
    assert not os.path.lexists(repo.cwd / "link")
    assert (outside / "SENTINEL").exists() and (outside / "deep" / "SENTINEL").exists()


def test_checkout_switches_creates_detaches_and_restores(two: tuple[CliRunner, str, str]) -> None:
    repo, one, two_id = two
    r = repo.ok("checkout", "-b", "topic")
    assert "Switched to a new branch 'topic'" in r.err
    repo.ok("checkout", "-b", "old", one)
    assert _head(repo) == one and (repo.cwd / "a.txt").read_text() == "one\n"
    r = repo.ok("checkout", "main")
    assert "Switched to branch 'main'" in r.err and _head(repo) == two_id
    r = repo.ok("checkout", one)
    assert "HEAD is now at" in r.err
    assert repo.ok("rev-parse", "--abbrev-ref", "HEAD").out == "HEAD\n"
    repo.ok("checkout", "main")
    (repo.cwd / "a.txt").write_text("edited\n")
    repo.ok("checkout", "--", "a.txt")
    assert (repo.cwd / "a.txt").read_text() == "two\n"
    repo.ok("checkout", "HEAD~1", "--", "a.txt")
    assert (repo.cwd / "a.txt").read_text() == "one\n"
    (repo.cwd / "a.txt").write_text("edited\n")
    repo.ok("checkout", "a.txt")  # no revision of that name, an existing path: a path
    assert (repo.cwd / "a.txt").read_text() == "two\n"


def test_checkout_bad_inputs(two: tuple[CliRunner, str, str]) -> None:
    repo, _, two_id = two
    r = repo("checkout", "nosuch")
    assert r.code == 1 and "nosuch" in r.err
    r = repo("checkout")
    assert r.code == 2
    r = repo("checkout", "-b", "main")
    assert r.code == 1 and "main" in r.err
    (repo.cwd / "a.txt").write_text("edited\n")
    r = repo("checkout", "HEAD~1")
    assert r.code == 1 and "a.txt" in r.err
    assert (repo.cwd / "a.txt").read_text() == "edited\n" and _head(repo) == two_id
    repo.ok("fsck")


def test_log_takes_git_count_shorthand(two: tuple[CliRunner, str, str]) -> None:
    repo, _, two_id = two
    assert repo.ok("log", "-1", "--oneline").out.startswith(two_id[:12])
    assert len(repo.ok("log", "--oneline", "-1").out.splitlines()) == 1
    assert len(repo.ok("-C", str(repo.cwd), "log", "-2", "--oneline").out.splitlines()) == 2
    assert repo.ok("log", "-1", "--json", "HEAD~1").out.count('"id"') == 1
    r = repo("log", "--oneline", "--", "-1")  # after --, a path
    assert r.code == 0 and r.out == ""


def test_diff_staged_is_the_diff_the_next_commit_records(two: tuple[CliRunner, str, str]) -> None:
    repo, _, _ = two
    repo.write("a.txt", "three\n")
    plain = repo.ok("diff").out
    assert "+three" in plain
    assert repo.ok("diff", "--staged").out == plain == repo.ok("diff", "--cached").out


def test_show_rev_path_prints_the_file_or_the_directory(two: tuple[CliRunner, str, str]) -> None:
    repo, _, _ = two
    assert repo.ok("show", "HEAD:a.txt").out == "two\n"
    assert repo.ok("show", "HEAD~1:a.txt").out == "one\n"
    assert repo.ok("show", "HEAD:sub").out == "tree HEAD:sub\n\nb.txt\n"
    assert repo.ok("show", "HEAD:").out == "tree HEAD:\n\na.txt\nsub/\n"
    r = repo("show", "HEAD:nosuch.txt")
    assert r.code == 1 and "nosuch.txt" in r.err
