"""git's conventions where a git user reads vcrdt's output: status letters, relative paths, decorations, rm/mv of
directories, unknown commands, restore's report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


@pytest.fixture
def tree(repo: CliRunner) -> CliRunner:
    """One commit with a, d/b, d/e/c (tagged v1)."""
    repo.write("a", "alpha\nbeta\ngamma\n")
    repo.write("d/b", "b\n")
    repo.write("d/e/c", "c\n")
    repo.ok("commit", "-A", "-m", "one")
    return repo


def _changed(repo: CliRunner) -> None:
    """A rename (by mv), an edit, a file missing from disk, one added and one untracked."""
    repo.ok("mv", "a", "a2")
    repo.write("d/b", "b\nmore\n")
    (repo.cwd / "d" / "e" / "c").unlink()
    repo.write("d/new", "new\n")
    repo.ok("add", "d/new")
    repo.write("d/junk", "junk\n")


def test_status_short_uses_gits_letters(tree: CliRunner) -> None:
    _changed(tree)
    assert tree.ok("status", "--short").out == "R  a -> a2\nM  d/b\nD  d/e/c\nA  d/new\n?? d/junk\n"


def test_status_porcelain_is_gits_v1_with_root_relative_paths(tree: CliRunner) -> None:
    _changed(tree)
    expected = "R  a -> a2\nM  d/b\nD  d/e/c\nA  d/new\n?? d/junk\n"
    assert tree.ok("status", "--porcelain").out == expected
    assert tree.ok("status", "--porcelain", cwd=tree.cwd / "d").out == expected


def test_status_finds_a_rename_with_an_edit(tree: CliRunner) -> None:
    tree.ok("mv", "a", "renamed")
    tree.write("renamed", "alpha\nbeta\nGAMMA\n")
    assert tree.ok("status", "-s").out == "R  a -> renamed\n"
    assert "Renamed:\n  a -> renamed\n" in tree.ok("status").out


def test_status_json_keeps_its_groups_and_adds_renames(tree: CliRunner) -> None:
    _changed(tree)
    doc = json.loads(tree.ok("status", "--json").out)
    assert doc["removed"] == ["a"] and doc["added"] == ["a2", "d/new"]
    assert doc["modified"] == ["d/b"] and doc["deleted"] == ["d/e/c"] and doc["untracked"] == ["d/junk"]
    assert doc["renamed"] == [{"from": "a", "to": "a2"}]


def test_conflicted_path_shows_once_as_uu(tree: CliRunner) -> None:
    tree.ok("branch", "side")
    tree.write("a", "alpha\nOURS\ngamma\n")
    tree.ok("commit", "-m", "ours")
    tree.ok("switch", "side")
    tree.write("a", "alpha\nTHEIRS\ngamma\n")
    tree.ok("commit", "-m", "theirs")
    tree.ok("switch", "main")
    assert tree("merge", "side").code == 1
    assert tree.ok("status", "--short").out == "UU a\n"
    assert tree.ok("status", "--porcelain").out == "UU a\n"


def test_status_paths_are_relative_to_the_current_directory(tree: CliRunner) -> None:
    _changed(tree)
    sub = tree.cwd / "d"
    assert tree.ok("status", "-s", cwd=sub).out == "R  ../a -> ../a2\nM  b\nD  e/c\nA  new\n?? junk\n"
    long = tree.ok("status", cwd=sub).out
    assert "Modified:\n  b\n" in long and "Renamed:\n  ../a -> ../a2\n" in long and "Untracked:\n  junk\n" in long


def test_tags_decorate_the_log_as_git_does(tree: CliRunner) -> None:
    tree.ok("tag", "v1")
    tree.ok("branch", "other")
    assert tree.ok("log", "--oneline").out.split(" ", 1)[1] == "(HEAD -> main, tag: v1, other) one\n"
    assert tree.ok("log").out.splitlines()[0].endswith(" (HEAD -> main, tag: v1, other)")
    assert "(HEAD -> main, tag: v1, other)" in tree.ok("log", "--graph").out
    (entry,) = json.loads(tree.ok("log", "--json").out)
    assert entry["tags"] == ["v1"] and entry["refs"] == ["HEAD -> main", "tag: v1", "other"]


def test_unknown_command_suggests_once(cli: CliRunner) -> None:
    r = cli("swich")
    assert r.code == 2
    assert r.err == (
        "vcrdt: 'swich' is not a vcrdt command. See 'vcrdt --help'.\n\nThe most similar command is\n\tswitch\n"
    )
    r = cli("qqqqqq")
    assert r.code == 2 and r.err == "vcrdt: 'qqqqqq' is not a vcrdt command. See 'vcrdt --help'.\n"
    r = cli("daemon", "stat")
    assert r.code == 2 and r.err.startswith("vcrdt daemon: 'stat' is not a vcrdt daemon command.")


def test_restore_reports_only_what_it_rewrote(tree: CliRunner) -> None:
    tree.write("d/b", "changed\n")
    assert tree.ok("restore", ".").err == "restored d/b\n"
    assert (tree.cwd / "d" / "b").read_text() == "b\n"
    assert tree.ok("restore", ".").err == ""
    tree.ok("rm", "--cached", "a")
    assert tree.ok("restore", "a").err == "restored a\n"
    assert tree.ok("status", "-s").out == ""


def test_rm_of_a_directory_needs_r(tree: CliRunner) -> None:
    for target in ("d", "d/e", "."):
        r = tree("rm", target)
        assert r.code == 1
        assert r.err.startswith(f"error: not removing '{target}' recursively without -r\n")
    r = tree("rm", "e", cwd=tree.cwd / "d")
    assert r.code == 1 and r.err.startswith("error: not removing 'e' recursively without -r\n")
    assert (tree.cwd / "d" / "b").exists() and tree.ok("status", "-s").out == ""
    assert tree.ok("rm", "-r", "d").err == "rm d/b\nrm d/e/c\n"
    assert not (tree.cwd / "d" / "b").exists() and not (tree.cwd / "d" / "e" / "c").exists()
    assert tree.ok("status", "-s").out == "D  d/b\nD  d/e/c\n"
    tree.ok("commit", "-m", "no d")
    tree.ok("fsck")


def test_rm_cached_keeps_the_file(tree: CliRunner) -> None:
    tree.ok("rm", "--cached", "a")
    assert (tree.cwd / "a").read_text() == "alpha\nbeta\ngamma\n"
    assert tree.ok("status", "-s").out == "D  a\n?? a\n"


def test_mv_of_a_directory_moves_every_tracked_file(tree: CliRunner) -> None:
    tree.write("d/e/untracked", "u\n")
    r = tree.ok("mv", "d", "z")
    assert r.err == "rename d/b -> z/b\nrename d/e/c -> z/e/c\n"
    assert (tree.cwd / "z" / "e" / "c").read_text() == "c\n" and (tree.cwd / "z" / "b").read_text() == "b\n"
    assert sorted(p.name for p in (tree.cwd / "d").rglob("*")) == ["e", "untracked"]
    assert tree.ok("status", "-s").out == "R  d/b -> z/b\nR  d/e/c -> z/e/c\n?? d/\n"  # d holds no tracked file
    tree.ok("commit", "-m", "moved")
    assert tree.ok("cat", "HEAD:z/e/c").out == "c\n"
    tree.ok("fsck")


def test_mv_of_a_directory_leaves_no_empty_directories(tree: CliRunner) -> None:
    tree.ok("mv", "d", "z")
    assert not (tree.cwd / "d").exists()


def test_mv_into_an_existing_directory(tree: CliRunner) -> None:
    (tree.cwd / "into").mkdir()
    tree.ok("mv", "d", "into")
    assert (tree.cwd / "into" / "d" / "b").read_text() == "b\n"
    tree.ok("mv", "a", "into")
    assert tree.ok("status", "-s").out == "R  a -> into/a\nR  d/b -> into/d/b\nR  d/e/c -> into/d/e/c\n"


def test_mv_refuses_to_overwrite_without_f(tree: CliRunner) -> None:
    r = tree("mv", "a", "d/b")
    assert r.code == 1 and r.err.startswith("error: d/b: already exists\nhint: use -f")
    (tree.cwd / "y").mkdir()
    tree.write("y/d/b", "untracked\n")
    r = tree("mv", "d", "y")
    assert r.code == 1 and r.err.startswith("error: y/d/b: already exists\n")
    assert (tree.cwd / "a").exists() and (tree.cwd / "d" / "b").read_text() == "b\n"
    assert tree.ok("status", "-s").out == "?? y/\n"
    tree.ok("mv", "-f", "a", "d/b")
    assert not (tree.cwd / "a").exists() and (tree.cwd / "d" / "b").read_text() == "alpha\nbeta\ngamma\n"
    assert tree.ok("status", "-s").out == "D  a\nM  d/b\n?? y/\n"
    tree.ok("fsck")


def test_mv_of_a_directory_into_itself_is_refused(tree: CliRunner) -> None:
    r = tree("mv", "d", "d/e")
    assert r.code == 1 and "cannot move a directory into itself" in r.err
    assert tree.ok("status", "-s").out == ""


def test_mv_of_a_directory_checks_every_file_before_moving_any(tree: CliRunner) -> None:
    (tree.cwd / "d" / "e" / "c").unlink()
    r = tree("mv", "d", "z")
    assert r.code == 1 and r.err.startswith("error: d/e/c: cannot move: missing")
    assert (tree.cwd / "d" / "b").exists() and not (tree.cwd / "z").exists()
    assert tree.ok("status", "-s").out == "D  d/e/c\n"


def test_file_messages_name_paths_as_git_does(tree: CliRunner) -> None:
    """add, mv and rm name paths from the root, as git's do; restore (a status-like list) from here."""
    sub = tree.cwd / "d"
    tree.write("d/x", "x\n")
    assert tree.ok("add", "-v", "x", cwd=sub).err == "add d/x\n"
    assert tree.ok("mv", "x", "e/y", cwd=sub).err == "rename d/x -> d/e/y\n"
    tree.write("d/b", "changed\n")
    tree.write("a", "changed\n")
    assert tree.ok("restore", "b", "../a", cwd=sub).err == "restored ../a\nrestored b\n"
    assert tree.ok("rm", "e/y", "../a", cwd=sub).err == "rm a\nrm d/e/y\n"


def test_conflict_lists_name_paths_from_the_current_directory(tree: CliRunner) -> None:
    tree.ok("branch", "side")
    tree.write("d/b", "ours\n")
    tree.ok("commit", "-m", "ours")
    tree.ok("switch", "side")
    tree.write("d/b", "theirs\n")
    tree.ok("commit", "-m", "theirs")
    tree.ok("switch", "main")
    sub = tree.cwd / "d" / "e"
    r = tree("merge", "side", cwd=sub)
    assert r.code == 1 and r.out == "CONFLICT (content): d/b\n"  # from the root, as git's merge
    assert tree.ok("conflicts", cwd=sub).out.startswith("../b: content conflict (unresolved)\n")
    assert tree.ok("status", "-s", cwd=sub).out == "UU ../b\n"
    assert tree.ok("resolve", "--ours", "../b", cwd=sub).err == "resolved ../b\n"


def test_annotated_tag_with_a_message(tree: CliRunner, tmp_path: Path) -> None:
    head = json.loads(tree.ok("log", "--json", "-n", "1").out)[0]
    r = tree.ok("tag", "-a", "v2", "-m", "release two")
    assert r.err.startswith(f"Tagged {head['id'][:12]} as v2")
    (tag,) = json.loads(tree.ok("log", "--json", "-n", "1", "v2").out)
    assert tag["message"] == "release two\n" and tag["parents"] == [head["id"]] and tag["tree"] == head["tree"]
    # Decorated on the commit it tags, as git peels an annotated tag.
    assert tree.ok("log", "--oneline", "-n", "1").out.split(" ", 1)[1] == "(HEAD -> main, tag: v2) one\n"
    tree.ok("fsck")
    tree.ok("git", "export", str(tmp_path / "out.git"), "-q")
    import pygit2

    git = pygit2.Repository(str(tmp_path / "out.git"))
    obj = git.revparse_single("refs/tags/v2")
    assert obj.type == pygit2.enums.ObjectType.TAG and obj.message == "release two\n" and obj.name == "v2"
    assert str(obj.target) == str(git.revparse_single("refs/heads/main").id)


def test_annotated_tag_opens_the_editor_without_m(
    tree: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen"
    script = tmp_path / "ed.sh"
    script.write_text(f"#!/bin/sh\ncp \"$1\" '{seen}'\nprintf 'from the editor\\n# dropped\\n' > \"$1\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("VCRDT_EDITOR", str(script))
    tree.ok("tag", "-a", "v3")
    assert "# Write a message for tag:\n#   v3\n" in seen.read_text()
    (tag,) = json.loads(tree.ok("log", "--json", "-n", "1", "v3").out)
    assert tag["message"] == "from the editor\n"
    script.write_text("#!/bin/sh\nprintf '# only a comment\\n' > \"$1\"\n")
    r = tree("tag", "-a", "v4")
    assert r.code == 1 and r.err == "error: no tag message\n"
    assert tree.ok("tag").out == "v3\n"
