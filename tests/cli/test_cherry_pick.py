"""`vcrdt cherry-pick` (issue 14): diff3 of each commit against its parent onto HEAD, through the CLI.

Clean picks, -x, -n, -m for merges, the merge policy, conflicts stopping with git's hint and
finished by --continue, --skip or --abort, empty picks, bad inputs refused with one line and
the repository unchanged (`fsck` clean), and undo.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


def _log(r: CliRunner, *args: str) -> list[dict[str, object]]:
    return json.loads(r.ok("log", "--json", *args).out)  # type: ignore[no-any-return]


def _head(r: CliRunner, rev: str = "HEAD") -> str:
    return str(_log(r, "-n", "1", rev)[0]["id"])


def _status(r: CliRunner) -> dict[str, list[str]]:
    return json.loads(r.ok("status", "--json").out)  # type: ignore[no-any-return]


def _fsck_clean(r: CliRunner) -> None:
    out = r.ok("fsck").err
    assert "0 problems" in out, out


def _state(r: CliRunner) -> tuple[str, str, str]:
    return r.ok("branch", "--json").out, r.ok("log", "--json").out, r.ok("status", "--json").out


@pytest.fixture
def forked(repo: CliRunner) -> CliRunner:
    """main: base then "main" (f.txt's first line); side: base then s1 (f.txt's last line), s2 (adds g.txt)."""
    repo.write("f.txt", "a\nb\nc\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("switch", "-c", "side")
    repo.write("f.txt", "a\nb\nSIDE\n")
    repo.ok("commit", "-m", "s1")
    repo.write("g.txt", "gee\n")
    repo.ok("commit", "-A", "-m", "s2")
    repo.ok("switch", "main")
    repo.write("f.txt", "MAIN\nb\nc\n")
    repo.ok("commit", "-m", "main")
    return repo


def test_pick_applies_the_change_as_a_new_commit(forked: CliRunner) -> None:
    s1 = _head(forked, "side~1")
    main = _head(forked)
    r = forked.ok("cherry-pick", "side~1")
    new = _head(forked)
    assert r.out.startswith(f"[main {new[:12]}] s1\n")
    assert (forked.cwd / "f.txt").read_text() == "MAIN\nb\nSIDE\n"
    (entry,) = _log(forked, "-n", "1")
    assert entry["parents"] == [main] and entry["message"] == "s1\n" and new != s1
    assert not (forked.cwd / "g.txt").exists()
    assert _status(forked)["modified"] == []
    op = json.loads(forked.ok("oplog", "--json").out)[0]
    assert op["kind"] == "cherry-pick"
    _fsck_clean(forked)
    forked.ok("undo")
    assert _head(forked) == main
    assert (forked.cwd / "f.txt").read_text() == "MAIN\nb\nc\n"


def test_several_commits_in_order_with_x(forked: CliRunner) -> None:
    s1, s2 = _head(forked, "side~1"), _head(forked, "side")
    forked.ok("cherry-pick", "-x", s1[:12], "side")
    picked = _log(forked, "-n", "2")
    assert [str(e["message"]).splitlines()[0] for e in picked] == ["s2", "s1"]
    assert f"(cherry picked from commit {s2})" in str(picked[0]["message"])
    assert f"(cherry picked from commit {s1})" in str(picked[1]["message"])
    assert (forked.cwd / "g.txt").read_text() == "gee\n"


def test_no_commit_leaves_the_changes_in_the_work_tree(forked: CliRunner) -> None:
    main = _head(forked)
    r = forked.ok("cherry-pick", "-n", "side~1", "side")
    assert "applied 2 commit(s) to the work tree (2 files)" in r.err
    assert _head(forked) == main
    st = _status(forked)
    assert st["modified"] == ["f.txt"] and st["added"] == ["g.txt"]
    assert (forked.cwd / "f.txt").read_text() == "MAIN\nb\nSIDE\n"


def test_conflict_stops_with_gits_hint_then_continue(forked: CliRunner) -> None:
    forked.write("f.txt", "MAIN\nb\nmain-end\n")
    forked.ok("commit", "-m", "main end")
    s1 = _head(forked, "side~1")
    r = forked("cherry-pick", "side~1", "side")
    assert r.code == 1
    assert "CONFLICT (content): f.txt" in r.out
    assert f"error: could not apply {s1[:12]}... s1" in r.err
    assert 'hint: run "vcrdt cherry-pick --abort".' in r.err
    text = (forked.cwd / "f.txt").read_text()
    assert "<<<<<<< main\n" in text and f">>>>>>> {s1[:12]} (s1)\n" in text
    # Refused while it is stopped: another cherry-pick, a continue with the conflict open.
    r = forked("cherry-pick", "side")
    assert (r.code, r.err.splitlines()[0]) == (1, "error: cherry-pick is already in progress")
    r = forked("cherry-pick", "--continue")
    assert (r.code, r.err.splitlines()[0]) == (1, "error: 1 path still in conflict: f.txt")
    forked.write("f.txt", "MAIN\nb\nboth\n")
    forked.ok("resolve", "f.txt")
    r = forked.ok("cherry-pick", "--continue")
    picked = _log(forked, "-n", "2")
    assert [str(e["message"]).splitlines()[0] for e in picked] == ["s2", "s1"]
    assert picked[1]["author"] == _log(forked, "-n", "1", s1)[0]["author"]
    assert (forked.cwd / "f.txt").read_text() == "MAIN\nb\nboth\n"
    assert (forked.cwd / "g.txt").read_text() == "gee\n"
    assert _status(forked)["modified"] == []
    _fsck_clean(forked)


def test_skip_drops_the_stopped_commit(forked: CliRunner) -> None:
    forked.write("f.txt", "MAIN\nb\nmain-end\n")
    forked.ok("commit", "-m", "main end")
    head = _head(forked)
    assert forked("cherry-pick", "side~1", "side").code == 1
    forked.ok("cherry-pick", "--skip")
    (entry,) = _log(forked, "-n", "1")
    assert entry["parents"] == [head] and entry["message"] == "s2\n"
    assert (forked.cwd / "f.txt").read_text() == "MAIN\nb\nmain-end\n"
    _fsck_clean(forked)


def test_abort_restores_head_and_the_work_tree(forked: CliRunner) -> None:
    forked.write("f.txt", "MAIN\nb\nmain-end\n")
    forked.ok("commit", "-m", "main end")
    before = _state(forked)
    head = _head(forked)
    # s2 applies cleanly and is committed, then s1 stops: --abort undoes both.
    assert forked("cherry-pick", "side", "side~1").code == 1
    assert _head(forked) != head
    r = forked.ok("cherry-pick", "--abort")
    assert r.err.strip() == f"HEAD is now at {head[:12]}"
    assert _head(forked) == head
    assert (forked.cwd / "f.txt").read_text() == "MAIN\nb\nmain-end\n"
    assert not (forked.cwd / "g.txt").exists()
    assert _state(forked)[2] == before[2]
    _fsck_clean(forked)


def test_already_applied_change_stops_as_empty(forked: CliRunner) -> None:
    forked.ok("cherry-pick", "side~1")
    head = _head(forked)
    r = forked("cherry-pick", "side~1")
    assert r.code == 1
    assert "The previous cherry-pick is now empty" in r.err
    r = forked("cherry-pick", "--continue")
    assert r.code == 1 and "is empty" in r.err.splitlines()[0]
    forked.ok("cherry-pick", "--skip")
    assert _head(forked) == head
    forked.ok("cherry-pick", "--allow-empty", "side~1")
    (entry,) = _log(forked, "-n", "1")
    assert entry["parents"] == [head] and entry["message"] == "s1\n"
    _fsck_clean(forked)


def test_merge_commit_needs_a_mainline(forked: CliRunner) -> None:
    forked.ok("branch", "topic", "side")
    forked.ok("switch", "topic")
    forked.ok("merge", "main", "-m", "merge main into topic")
    forked.ok("switch", "main")
    forked.ok("branch", "other", "HEAD~1")
    forked.ok("switch", "other")
    before = _state(forked)
    r = forked("cherry-pick", "topic")
    assert r.code == 1
    assert r.err.splitlines()[0].startswith("error: commit ") and "is a merge but no -m option was given" in r.err
    assert _state(forked) == before
    r = forked("cherry-pick", "-m", "1", "side")
    assert r.code == 1 and "is not a merge" in r.err.splitlines()[0]
    # Against parent 1 (side), the merge's change is main's first-line edit.
    forked.ok("cherry-pick", "-m", "1", "topic")
    assert (forked.cwd / "f.txt").read_text() == "MAIN\nb\nc\n"


def test_merge_policy_settles_a_pick(forked: CliRunner) -> None:
    forked.write(".vcrdtattributes", "*.txt union\n")
    forked.write("f.txt", "MAIN\nb\nmain-end\n")
    forked.ok("commit", "-A", "-m", "policy")
    forked.ok("cherry-pick", "side~1")
    assert sorted((forked.cwd / "f.txt").read_text().splitlines()) == ["MAIN", "SIDE", "b", "main-end"]


@pytest.mark.parametrize(
    ("args", "first"),
    [
        (["nope"], "error: unknown revision: nope"),
        (["side", "nope"], "error: unknown revision: nope"),
        (["--continue"], "error: no cherry-pick in progress"),
        (["--skip"], "error: no cherry-pick in progress"),
        (["--abort"], "error: no cherry-pick in progress"),
    ],
)
def test_bad_inputs_change_nothing(forked: CliRunner, args: list[str], first: str) -> None:
    before = _state(forked)
    r = forked("cherry-pick", *args)
    assert r.code == 1
    assert r.err.splitlines()[0] == first
    assert _state(forked) == before
    _fsck_clean(forked)


@pytest.mark.parametrize("args", [[], ["--continue", "--abort"], ["--skip", "side"]])
def test_usage_errors(forked: CliRunner, args: list[str]) -> None:
    assert forked("cherry-pick", *args).code == 2


def test_dirty_tree_and_merge_in_progress_are_refused(forked: CliRunner) -> None:
    forked.write("f.txt", "local\n")
    before = _state(forked)
    r = forked("cherry-pick", "side")
    assert r.code == 1
    assert r.err.splitlines()[0] == "error: local changes would be mixed into the merge: f.txt"
    assert _state(forked) == before
    forked.ok("restore", "f.txt")
    forked.write("f.txt", "MAIN\nb\nmain-end\n")
    forked.ok("commit", "-m", "main end")
    assert forked("merge", "side").code == 1
    before = _state(forked)
    r = forked("cherry-pick", "side")
    assert r.code == 1
    assert r.err.splitlines()[0] == "error: a merge is in progress"
    assert _state(forked) == before
    forked.ok("merge", "--abort")
    _fsck_clean(forked)


def test_no_commit_conflict_then_continue_keeps_everything_uncommitted(forked: CliRunner) -> None:
    forked.write("f.txt", "MAIN\nb\nmain-end\n")
    forked.ok("commit", "-m", "main end")
    head = _head(forked)
    r = forked("cherry-pick", "-n", "side", "side~1")
    assert r.code == 1 and "CONFLICT (content): f.txt" in r.out
    assert (forked.cwd / "g.txt").read_text() == "gee\n"  # s2, applied before s1 stopped
    forked.write("f.txt", "MAIN\nb\nboth\n")
    forked.ok("resolve", "f.txt")
    forked.ok("cherry-pick", "--continue")
    assert _head(forked) == head
    st = _status(forked)
    assert st["modified"] == ["f.txt"] and st["added"] == ["g.txt"]
    assert "Merging" not in forked.ok("status").out
    _fsck_clean(forked)


def test_edit_opens_the_editor_on_each_message(
    forked: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\ncp "$1" "$1.seen"\nprintf "edited s1\\n" > "$1"\n', encoding="utf-8")
    editor.chmod(0o755)
    monkeypatch.setenv("VCRDT_EDITOR", str(editor))
    forked.ok("cherry-pick", "-e", "-x", "side~1")
    (entry,) = _log(forked, "-n", "1")
    assert entry["message"] == "edited s1\n"
    seen = (forked.cwd / ".vcrdt" / "COMMIT_EDITMSG.seen").read_text(encoding="utf-8")
    assert seen.startswith("s1\n\n(cherry picked from commit ")


def test_a_range_picks_what_it_reaches_oldest_first(forked: CliRunner) -> None:
    repo = forked
    r = repo.ok("cherry-pick", "main..side")
    messages = [str(e["message"]).strip() for e in _log(repo, "-n", "3")]
    assert messages == ["s2", "s1", "main"], r.err
    assert (repo.cwd / "g.txt").exists()
    _fsck_clean(repo)


def test_a_range_with_a_negation_is_a_walk_too(forked: CliRunner) -> None:
    repo = forked
    repo.ok("cherry-pick", "^side~1", "side")
    assert [str(e["message"]).strip() for e in _log(repo, "-n", "2")] == ["s2", "main"]


def test_an_empty_range_is_refused_and_changes_nothing(forked: CliRunner) -> None:
    repo = forked
    before = _state(repo)
    r = repo("cherry-pick", "side..side")
    assert r.code == 1 and "no commit to pick" in r.err
    assert _state(repo) == before
