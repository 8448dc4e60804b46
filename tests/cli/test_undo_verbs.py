"""Undo verbs (issue 14): reset, revert, commit --amend, branch -f, and the operation log with undo.

Each verb through the CLI: exit code and output, bad inputs refused with one line and the
repository unchanged, `fsck` clean, and rewrites that stick across fetches (the replaced head
is tombstoned for the branch, so no sibling comes back).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


def _head(r: CliRunner) -> str:
    return str(json.loads(r.ok("log", "--json", "-n", "1").out)[0]["id"])


def _ids(r: CliRunner) -> list[str]:
    return [e["id"] for e in json.loads(r.ok("log", "--json").out)]


def _heads(r: CliRunner, branch: str = "main") -> list[str]:
    for b in json.loads(r.ok("branch", "--json").out):
        if b["name"] == branch:
            return sorted(b["heads"])
    return []


def _status(r: CliRunner) -> dict[str, list[str]]:
    return json.loads(r.ok("status", "--json").out)  # type: ignore[no-any-return]


def _fsck_clean(r: CliRunner) -> str:
    cli_fsck = r.ok("fsck")
    assert "0 problems" in cli_fsck.err, cli_fsck.err
    return cli_fsck.err


def _state(r: CliRunner) -> tuple[str, str, str]:
    """Everything a refused command must leave as it was: refs, log, work-tree status."""
    return r.ok("branch", "--json").out, r.ok("log", "--json").out, r.ok("status", "--json").out


@pytest.fixture
def three(repo: CliRunner) -> tuple[CliRunner, list[str]]:
    """A repository with three commits of a.txt (one, two, three); returns the ids oldest first."""
    ids = []
    for word in ("one", "two", "three"):
        repo.write("a.txt", f"{word}\n")
        repo.ok("commit", "-A", "-m", word)
        ids.append(_head(repo))
    return repo, ids


# --- reset ---------------------------------------------------------------------------------


def test_reset_hard_moves_the_branch_and_the_files_back(three: tuple[CliRunner, list[str]]) -> None:
    repo, ids = three
    repo.write("a.txt", "uncommitted\n")
    r = repo.ok("reset", "--hard", "HEAD~2")
    assert f"HEAD is now at {ids[0][:12]}" in r.err
    assert _ids(repo) == [ids[0]]
    assert (repo.cwd / "a.txt").read_text() == "one\n"
    assert _status(repo)["modified"] == []
    out = _fsck_clean(repo)
    assert "0 unreachable" in out  # the commits it left are kept by the operation log


def test_reset_soft_and_mixed_keep_the_files(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "one")
    first = _head(repo)
    repo.write("a.txt", "two\n")
    repo.write("new.txt", "new\n")
    repo.ok("commit", "-A", "-m", "two")
    repo.ok("reset", "--soft", first)
    assert _head(repo) == first
    assert (repo.cwd / "a.txt").read_text() == "two\n"
    st = _status(repo)
    assert st["modified"] == ["a.txt"] and st["added"] == ["new.txt"]
    repo.ok("commit", "-m", "again")
    repo.ok("reset", first)  # --mixed is the default: what `first` lacks is untracked
    st = _status(repo)
    assert st["modified"] == ["a.txt"] and st["added"] == [] and "new.txt" in st["untracked"]
    assert (repo.cwd / "new.txt").read_text() == "new\n"
    _fsck_clean(repo)


def test_reset_bad_inputs_change_nothing(three: tuple[CliRunner, list[str]]) -> None:
    repo, _ = three
    repo.write("a.txt", "edited\n")
    before = _state(repo)
    r = repo("reset", "--hard", "nosuchrev")
    assert r.code == 1 and r.err.startswith("error:") and "nosuchrev" in r.err
    assert len(r.err.strip().splitlines()) <= 2  # the error, and at most a hint
    r = repo("reset", "--soft", "--hard", "HEAD~1")
    assert r.code == 2 and "at most one of --soft, --mixed and --hard" in r.err
    r = repo("reset", "HEAD~9")
    assert r.code == 1 and "past the root commit" in r.err
    assert _state(repo) == before
    assert (repo.cwd / "a.txt").read_text() == "edited\n"
    _fsck_clean(repo)


def test_reset_hard_refuses_to_overwrite_an_untracked_file(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "one")
    repo.write("b.txt", "b\n")
    repo.ok("commit", "-A", "-m", "two")
    two = _head(repo)
    repo.ok("reset", "--hard", "HEAD~1")
    repo.write("b.txt", "mine, untracked\n")
    before = _state(repo)
    r = repo("reset", "--hard", two)
    assert r.code == 1 and "b.txt" in r.err and "untracked" in r.err
    assert (repo.cwd / "b.txt").read_text() == "mine, untracked\n"
    assert _state(repo) == before
    _fsck_clean(repo)


@pytest.fixture
def pair(cli: CliRunner) -> tuple[CliRunner, CliRunner]:
    """Replicas a and b; a has commits c1 and c2 of f, and b fetched them (b is on main at c2)."""
    a, b = CliRunner(cli.cwd / "a"), CliRunner(cli.cwd / "b")
    for r in (a, b):
        r.cwd.mkdir()
        r.ok("init")
    a.write("f", "1\n")
    a.ok("commit", "-A", "-m", "c1")
    a.write("f", "2\n")
    a.ok("commit", "-m", "c2")
    b.ok("fetch", "../a")
    return a, b


def test_a_reset_sticks_across_fetches_both_ways(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    c1 = _ids(a)[1]
    a.ok("reset", "--hard", "HEAD~1")
    r = b.ok("fetch", "../a")
    assert "kept this replica's head as a sibling" not in r.err
    assert _heads(b) == [c1] and _head(b) == c1
    assert (b.cwd / "f").read_text() == "1\n"
    a.ok("fetch", "../b")
    assert _heads(a) == [c1]
    b.ok("fetch", "../a")
    assert _heads(b) == [c1]
    _fsck_clean(a)
    _fsck_clean(b)


def test_a_reset_sticks_when_the_other_replica_is_on_another_branch(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    b.ok("switch", "-c", "side")
    c1 = _ids(a)[1]
    a.ok("reset", "--hard", "HEAD~1")
    b.ok("fetch", "../a")
    assert _heads(b) == [c1]
    a.ok("fetch", "../b")
    assert _heads(a) == [c1]


# --- commit --amend --------------------------------------------------------------------------


def test_amend_replaces_head_with_its_changes_and_message(three: tuple[CliRunner, list[str]]) -> None:
    repo, ids = three
    repo.write("b.txt", "added\n")
    repo.ok("add", "b.txt")
    r = repo.ok("commit", "--amend", "-m", "three, amended")
    assert "three, amended" in r.out
    log = json.loads(repo.ok("log", "--json").out)
    assert [e["id"] for e in log[1:]] == [ids[1], ids[0]]
    assert log[0]["id"] != ids[2] and log[0]["parents"] == [ids[1]]
    assert log[0]["message"].startswith("three, amended")
    files = repo.ok("show", "--name-only").out
    assert "a.txt" in files and "b.txt" in files  # against the parent: both changes
    assert _status(repo)["added"] == []
    _fsck_clean(repo)


def test_amend_without_a_message_and_no_edit_keeps_it(three: tuple[CliRunner, list[str]]) -> None:
    repo, ids = three
    repo.ok("commit", "--amend", "--no-edit")
    log = json.loads(repo.ok("log", "--json", "-n", "1").out)
    assert log[0]["message"].strip() == "three" and log[0]["id"] != ids[2]


def test_amend_bad_inputs(repo: CliRunner) -> None:
    r = repo("commit", "--amend", "-m", "x")
    assert r.code == 1 and "nothing to amend" in r.err
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "one")
    before = _state(repo)
    r = repo("commit", "--amend", "-m", "   ")
    assert r.code == 1 and "empty commit message" in r.err
    assert _state(repo) == before
    _fsck_clean(repo)


def test_an_amend_sticks_across_fetches_when_the_other_is_not_on_the_branch(
    pair: tuple[CliRunner, CliRunner],
) -> None:
    a, b = pair
    b.ok("switch", "-c", "side")
    old = _head(a)
    a.ok("commit", "--amend", "-m", "c2 amended")
    new = _head(a)
    b.ok("fetch", "../a")
    assert _heads(b) == [new]
    a.ok("fetch", "../b")
    assert _heads(a) == [new] and old not in _heads(a)


# --- branch -f --------------------------------------------------------------------------------


def test_branch_force_moves_a_branch_and_sticks(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    c2, c1 = _ids(a)
    a.ok("branch", "topic")
    b.ok("fetch", "../a")
    assert _heads(b, "topic") == [c2]
    r = a.ok("branch", "-f", "topic", "HEAD~1")
    assert f"Reset branch 'topic' to {c1[:12]} (was {c2[:12]})" in r.err or "Reset branch topic" in r.err
    assert _heads(a, "topic") == [c1]
    a.ok("fetch", "../b")
    assert _heads(a, "topic") == [c1]  # b's entry for c2 is tombstoned here
    b.ok("fetch", "../a")
    assert _heads(b, "topic") == [c1]
    r = a.ok("branch", "-f", "fresh", c1)
    assert "Created branch" in r.err and _heads(a, "fresh") == [c1]
    _fsck_clean(a)


def test_branch_force_refuses_the_checked_out_branch(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "one")
    repo.write("a.txt", "two\n")
    repo.ok("commit", "-m", "two")
    before = _state(repo)
    r = repo("branch", "-f", "main", "HEAD~1")
    assert r.code == 1 and "checked-out branch" in r.err and "vcrdt reset" in r.err
    r = repo("branch", "-f", "bad..name", "HEAD")
    assert r.code == 1 and "bad..name" in r.err
    r = repo("branch", "-f", "x", "nosuchrev")
    assert r.code == 1 and "nosuchrev" in r.err
    assert _state(repo) == before
    _fsck_clean(repo)


# --- revert --------------------------------------------------------------------------------------


def test_revert_makes_a_commit_undoing_one(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.write("b.txt", "b1\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.write("a.txt", "two\n")
    repo.ok("commit", "-m", "change a")
    bad = _head(repo)
    repo.write("b.txt", "b2\n")
    repo.ok("commit", "-m", "change b")
    r = repo.ok("revert", "--no-edit", bad)
    assert 'Revert "change a"' in r.out and "1 file changed" in r.out
    assert (repo.cwd / "a.txt").read_text() == "one\n" and (repo.cwd / "b.txt").read_text() == "b2\n"
    log = json.loads(repo.ok("log", "--json", "-n", "1").out)[0]
    assert f"This reverts commit {bad}." in log["message"] and len(log["parents"]) == 1
    assert _status(repo)["modified"] == []
    _fsck_clean(repo)


def test_revert_with_conflicts_is_finished_by_resolve_and_commit(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.write("a.txt", "two\n")
    repo.ok("commit", "-m", "two")
    two = _head(repo)
    repo.write("a.txt", "three\n")
    repo.ok("commit", "-m", "three")
    head = _head(repo)
    r = repo("revert", "--no-edit", two)
    assert r.code == 1 and "CONFLICT (content): a.txt" in r.out
    assert "<<<<<<<" in (repo.cwd / "a.txt").read_text()
    assert _head(repo) == head
    repo.write("a.txt", "one and three\n")
    repo.ok("resolve", "a.txt")
    repo.ok("commit", "-m", "revert two by hand")
    log = json.loads(repo.ok("log", "--json", "-n", "1").out)[0]
    assert log["parents"] == [head]  # an ordinary commit, not a merge
    _fsck_clean(repo)


def test_revert_of_a_merge_needs_a_mainline(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("switch", "-c", "side")
    repo.write("b.txt", "side\n")
    repo.ok("commit", "-A", "-m", "side")
    repo.ok("switch", "main")
    repo.write("a.txt", "main\n")
    repo.ok("commit", "-m", "main")
    repo.ok("merge", "--no-edit", "side")
    merge = _head(repo)
    before = _state(repo)
    r = repo("revert", "--no-edit", merge)
    assert r.code == 1 and "is a merge but no -m option was given" in r.err
    r = repo("revert", "--no-edit", "-m", "3", merge)
    assert r.code == 1 and "no parent number 3" in r.err
    assert _state(repo) == before
    repo.ok("revert", "--no-edit", "-m", "1", merge)
    assert not (repo.cwd / "b.txt").exists() and (repo.cwd / "a.txt").read_text() == "main\n"
    _fsck_clean(repo)


def test_revert_bad_inputs_change_nothing(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "base")
    root = _head(repo)
    repo.write("a.txt", "two\n")
    repo.ok("commit", "-m", "two")
    before = _state(repo)
    r = repo("revert", "--no-edit", root)
    assert r.code == 1 and "root commit" in r.err
    r = repo("revert", "--no-edit", "nosuchrev")
    assert r.code == 1 and "nosuchrev" in r.err
    repo.write("a.txt", "dirty\n")
    r = repo("revert", "--no-edit", "HEAD")
    assert r.code == 1 and "local changes" in r.err
    assert (repo.cwd / "a.txt").read_text() == "dirty\n"
    repo.ok("restore", "a.txt")
    assert _state(repo)[:2] == before[:2]
    _fsck_clean(repo)


# --- the operation log and undo ---------------------------------------------------------------------


def test_oplog_lists_operations_newest_first(three: tuple[CliRunner, list[str]]) -> None:
    repo, ids = three
    repo.ok("branch", "topic")
    repo.ok("reset", "--hard", "HEAD~1")
    ops = json.loads(repo.ok("oplog", "--json").out)
    assert [op["kind"] for op in ops] == ["reset", "branch", "commit", "commit", "commit"]
    assert ops[0]["refs"]["refs/heads/main"] == {"before": [ids[2]], "after": [ids[1]]}
    assert ops[1]["refs"]["refs/heads/topic"] == {"before": [], "after": [ids[2]]}
    assert ops[0]["worktree_before"] and ops[0]["worktree_after"]
    text = repo.ok("oplog").out
    assert "reset --hard HEAD~1" in text and f"main: {ids[2][:12]} -> {ids[1][:12]}" in text
    assert len(json.loads(repo.ok("oplog", "--json", "-n", "2").out)) == 2


def test_undo_a_hard_reset_brings_back_the_uncommitted_edit(three: tuple[CliRunner, list[str]]) -> None:
    repo, ids = three
    repo.write("a.txt", "precious, uncommitted\n")
    repo.ok("reset", "--hard", "HEAD~2")
    assert (repo.cwd / "a.txt").read_text() == "one\n"
    r = repo.ok("undo")
    assert "Undid operation" in r.err and "reset" in r.err
    assert _head(repo) == ids[2]
    assert (repo.cwd / "a.txt").read_text() == "precious, uncommitted\n"
    assert _status(repo)["modified"] == ["a.txt"]
    repo.ok("undo")  # the undo is an operation: undoing it redoes the reset
    assert _head(repo) == ids[0] and (repo.cwd / "a.txt").read_text() == "one\n"
    _fsck_clean(repo)


def test_undo_a_commit_keeps_its_changes_in_the_work_tree(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "one")
    one = _head(repo)
    repo.write("a.txt", "two\n")
    repo.write("new.txt", "new\n")
    repo.ok("commit", "-A", "-m", "two")
    two = _head(repo)
    repo.ok("undo")
    assert _head(repo) == one
    st = _status(repo)
    assert st["modified"] == ["a.txt"] and st["added"] == ["new.txt"]
    repo.ok("undo")
    assert _head(repo) == two and _status(repo)["modified"] == []
    _fsck_clean(repo)


def test_undo_an_amend_and_a_branch_deletion(three: tuple[CliRunner, list[str]]) -> None:
    repo, ids = three
    repo.ok("commit", "--amend", "-m", "rewritten")
    repo.ok("undo")
    assert _head(repo) == ids[2]
    repo.ok("branch", "gone", "HEAD~1")
    repo.ok("branch", "-D", "gone")
    repo.ok("undo")
    assert _heads(repo, "gone") == [ids[1]]
    _fsck_clean(repo)


def test_undo_a_switch(repo: CliRunner) -> None:
    repo.write("a.txt", "main\n")
    repo.ok("commit", "-A", "-m", "main")
    repo.ok("switch", "-c", "side")
    repo.write("a.txt", "side\n")
    repo.ok("commit", "-m", "side")
    repo.ok("switch", "main")
    assert (repo.cwd / "a.txt").read_text() == "main\n"
    repo.ok("undo")
    assert json.loads(repo.ok("status", "--json").out)["branch"] == "side"
    assert (repo.cwd / "a.txt").read_text() == "side\n"
    _fsck_clean(repo)


def test_undo_refuses_when_the_files_changed_since(three: tuple[CliRunner, list[str]]) -> None:
    repo, _ = three
    repo.ok("reset", "--hard", "HEAD~1")
    repo.write("a.txt", "edited after the reset\n")
    before = _state(repo)
    r = repo("undo")
    assert r.code == 1 and "a.txt" in r.err and "changed since" in r.err
    assert _state(repo) == before
    assert (repo.cwd / "a.txt").read_text() == "edited after the reset\n"
    _fsck_clean(repo)


def test_undo_with_nothing_to_undo(repo: CliRunner) -> None:
    r = repo("undo")
    assert r.code == 1 and "nothing to undo" in r.err
    assert json.loads(repo.ok("oplog", "--json").out) == []


def test_undo_of_a_reset_elsewhere_sticks_across_fetches(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    c2, _ = _ids(a)
    a.ok("reset", "--hard", "HEAD~1")
    b.ok("fetch", "../a")
    a.ok("undo")  # main back at c2, as a new entry: the fetches keep it
    assert _heads(a) == [c2]
    b.ok("fetch", "../a")
    assert _heads(b) == [c2] and (b.cwd / "f").read_text() == "2\n"
    a.ok("fetch", "../b")
    assert _heads(a) == [c2]


def test_fetches_are_recorded_and_undone(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    a.write("f", "3\n")
    a.ok("commit", "-m", "c3")
    c3 = _head(a)
    b.ok("fetch", "../a")
    assert _head(b) == c3 and (b.cwd / "f").read_text() == "3\n"
    ops = json.loads(b.ok("oplog", "--json").out)
    assert ops[0]["kind"] == "fetch"
    b.ok("undo")
    assert _head(b) != c3 and (b.cwd / "f").read_text() == "2\n"
    assert _status(b)["modified"] == []
    _fsck_clean(b)


def test_the_log_is_in_the_database_schema(repo: CliRunner) -> None:
    import sqlite3

    conn = sqlite3.connect(Path(repo.cwd, ".vcrdt", "store.db"))
    try:
        cols = [row[1] for row in conn.execute("PRAGMA table_info(oplog)")]
    finally:
        conn.close()
    assert cols[:4] == ["seq", "time", "kind", "summary"]


def test_reset_hard_deletes_files_the_target_lacks(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "one")
    repo.write("b.txt", "b\n")
    repo.write("c.txt", "c\n")
    repo.ok("commit", "-A", "-m", "two")
    for name in ("a.txt", "b.txt", "c.txt"):  # old enough for the stat cache to trust
        os.utime(repo.cwd / name, (1_600_000_000, 1_600_000_000))
    repo.ok("status")  # the stat cache settles: unchanged files are not even looked at
    repo.ok("reset", "--hard", "HEAD~1")
    assert not (repo.cwd / "b.txt").exists() and not (repo.cwd / "c.txt").exists()
    assert json.loads(repo.ok("status", "--json").out)["untracked"] == []
    repo.ok("undo")
    assert (repo.cwd / "b.txt").read_text() == "b\n" and (repo.cwd / "c.txt").read_text() == "c\n"
    _fsck_clean(repo)


def test_an_amend_sticks_when_the_other_replica_has_the_old_head_checked_out(
    pair: tuple[CliRunner, CliRunner],
) -> None:
    a, b = pair
    old = _head(a)
    a.write("f", "2, amended\n")
    a.ok("commit", "--amend", "-m", "c2 amended")
    new = _head(a)
    r = b.ok("fetch", "../a")
    assert "sibling" not in r.err
    assert _heads(b) == [new] and _head(b) == new
    assert (b.cwd / "f").read_text() == "2, amended\n"
    assert old[:12] in b.ok("oplog").out  # the replaced head stays findable
    a.ok("fetch", "../b")
    assert _heads(a) == [new] and old not in _heads(a)
    _fsck_clean(a)
    _fsck_clean(b)


def test_branch_force_sideways_sticks_when_the_other_replica_is_on_the_branch(
    pair: tuple[CliRunner, CliRunner],
) -> None:
    a, b = pair
    c2, c1 = _ids(a)
    a.ok("switch", "-c", "side", c1)
    assert (a.cwd / "f").read_text() == "1\n"
    a.write("g", "side\n")
    a.ok("commit", "-A", "-m", "side")
    side = _head(a)
    a.ok("branch", "-f", "main", side)
    b.ok("fetch", "../a")
    assert _heads(b) == [side] and _head(b) == side
    assert (b.cwd / "g").read_text() == "side\n"
    a.ok("fetch", "../b")
    assert _heads(a) == [side] and c2 not in _heads(a)


def test_switch_takes_a_start_point_only_with_create(repo: CliRunner) -> None:
    repo.write("a.txt", "one\n")
    repo.ok("commit", "-A", "-m", "one")
    r = repo("switch", "main", "HEAD")
    assert r.code == 2 and "only taken with -c" in r.err
    r = repo("switch", "-c", "x", "nosuchrev")
    assert r.code == 1 and "nosuchrev" in r.err
    assert "x" not in [b["name"] for b in json.loads(repo.ok("branch", "--json").out)]


def test_a_rewrite_elsewhere_does_not_move_a_dirty_work_tree(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    a.ok("commit", "--amend", "-m", "c2 amended")
    b.write("f", "local edit\n")
    before = _state(b)
    r = b("fetch", "../a")
    assert r.code == 1 and "local changes" in r.err
    assert _state(b) == before and (b.cwd / "f").read_text() == "local edit\n"
    _fsck_clean(b)
