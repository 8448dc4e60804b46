"""`vcrdt stash` (issue 14): push, list, show, pop, apply, drop, clear, through the CLI.

git's words and exit codes where git has them; bad inputs refused with one line and the
repository unchanged (`fsck` clean); conflicts on pop left as a merge leaves them, the entry
kept; every push, pop, drop and clear undone by `vcrdt undo`; entries never synced.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.cli import CliRunner


def _status(r: CliRunner) -> dict[str, list[str]]:
    return json.loads(r.ok("status", "--json").out)  # type: ignore[no-any-return]


def _entries(r: CliRunner) -> list[dict[str, object]]:
    return json.loads(r.ok("stash", "list", "--json").out)["entries"]  # type: ignore[no-any-return]


def _head(r: CliRunner) -> str:
    return str(json.loads(r.ok("log", "--json", "-n", "1").out)[0]["id"])


def _fsck_clean(r: CliRunner) -> None:
    out = r.ok("fsck").err
    assert "0 problems" in out, out


def _state(r: CliRunner) -> tuple[str, str, str, str]:
    """Everything a refused command must leave as it was: refs, log, status, stash list."""
    return (
        r.ok("branch", "--json").out,
        r.ok("log", "--json").out,
        r.ok("status", "--json").out,
        r.ok("stash", "list", "--json").out,
    )


@pytest.fixture
def based(repo: CliRunner) -> CliRunner:
    """A repository with one commit: a.txt (three lines) and b.txt."""
    repo.write("a.txt", "one\ntwo\nthree\n")
    repo.write("b.txt", "bee\n")
    repo.ok("commit", "-A", "-m", "base")
    return repo


def test_stash_without_changes_says_so_and_exits_0(based: CliRunner) -> None:
    r = based("stash")
    assert r.code == 0
    assert r.err.strip() == "No local changes to save"
    assert _entries(based) == []


def test_push_then_pop_restores_the_changes(based: CliRunner) -> None:
    head = _head(based)
    based.write("a.txt", "one\ntwo\nTHREE\n")
    based.write("new.txt", "new\n")
    based.ok("add", "new.txt")
    (based.cwd / "b.txt").unlink()
    r = based.ok("stash")
    assert r.err.strip() == f"Saved working directory state WIP on main: {head[:12]} base"
    # The tracked files are back at HEAD: modified, added and deleted files alike.
    assert (based.cwd / "a.txt").read_text() == "one\ntwo\nthree\n"
    assert (based.cwd / "b.txt").read_text() == "bee\n"
    assert not (based.cwd / "new.txt").exists()
    st = _status(based)
    assert st["modified"] == st["added"] == st["deleted"] == []
    assert based.ok("stash", "list").out == f"stash@{{0}}: WIP on main: {head[:12]} base\n"
    (entry,) = _entries(based)
    assert entry["parent"] == head and entry["name"] == "stash@{0}" and entry["untracked"] is None
    _fsck_clean(based)

    r = based.ok("stash", "pop")
    assert "Applied stash@{0} (3 files changed)" in r.err
    assert f"Dropped stash@{{0}} ({str(entry['commit'])[:12]})" in r.err
    assert (based.cwd / "a.txt").read_text() == "one\ntwo\nTHREE\n"
    assert (based.cwd / "new.txt").read_text() == "new\n"
    assert not (based.cwd / "b.txt").exists()
    st = _status(based)
    # No staging area: a stashed deletion comes back as a removal (the next commit deletes the file).
    assert (st["modified"], st["added"], st["removed"]) == (["a.txt"], ["new.txt"], ["b.txt"])
    assert _entries(based) == []
    assert _head(based) == head
    _fsck_clean(based)


def test_message_names_and_order(based: CliRunner) -> None:
    based.write("a.txt", "first\n")
    based.ok("stash", "push", "-m", "first try")
    based.write("b.txt", "second\n")
    based.ok("stash", "-m", "second try")
    assert based.ok("stash", "list").out == "stash@{0}: On main: second try\nstash@{1}: On main: first try\n"
    # N and stash@{N} name the same entry; show defaults to a diffstat.
    for spec in ("1", "stash@{1}"):
        r = based.ok("stash", "show", spec)
        assert "a.txt" in r.out and "b.txt" not in r.out and "1 file changed" in r.out
    patch = based.ok("stash", "show", "-p", "stash@{1}").out
    assert "-one\n" in patch and "+first\n" in patch
    shown = json.loads(based.ok("stash", "show", "--json", "0").out)
    assert shown["entry"]["message"] == "On main: second try"
    assert [f["path"] for f in shown["files"]] == ["b.txt"]
    # Applying the older one keeps both; dropping renumbers.
    based.ok("stash", "apply", "stash@{1}")
    assert (based.cwd / "a.txt").read_text() == "first\n"
    assert len(_entries(based)) == 2
    r = based.ok("stash", "drop", "stash@{1}")
    assert r.err.startswith("Dropped stash@{1} (")
    assert based.ok("stash", "list").out == "stash@{0}: On main: second try\n"
    assert based.ok("stash", "clear").out == ""
    assert _entries(based) == []
    _fsck_clean(based)


@pytest.mark.parametrize("verb", ["pop", "apply", "drop", "show"])
def test_no_entries_is_an_error_in_gits_words(based: CliRunner, verb: str) -> None:
    before = _state(based)
    r = based("stash", verb)
    assert r.code == 1
    assert r.err.splitlines()[0] == "error: No stash entries found."
    assert _state(based) == before


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("stash@{3}", "error: stash@{3} is not a valid reference"),
        ("3", "error: stash@{3} is not a valid reference"),
        ("main", "error: main is not a valid reference"),
        ("stash@{-1}", "error: stash@{-1} is not a valid reference"),
    ],
)
@pytest.mark.parametrize("verb", ["pop", "apply", "drop", "show"])
def test_unknown_entry_is_refused_and_changes_nothing(based: CliRunner, verb: str, spec: str, message: str) -> None:
    based.write("a.txt", "changed\n")
    based.ok("stash")
    before = _state(based)
    r = based("stash", verb, spec)
    assert r.code == 1
    assert r.err.splitlines()[0] == message
    assert _state(based) == before
    _fsck_clean(based)


def test_include_untracked_stashes_and_restores_untracked_files(based: CliRunner) -> None:
    based.write("notes.txt", "scratch\n")
    based.write("a.txt", "edited\n")
    assert based.ok("stash").err.startswith("Saved")
    assert (based.cwd / "notes.txt").exists()  # without -u untracked files stay
    based.ok("stash", "pop")
    based.ok("stash", "-u")
    assert not (based.cwd / "notes.txt").exists()
    assert (based.cwd / "a.txt").read_text() == "one\ntwo\nthree\n"
    (entry,) = _entries(based)
    assert entry["untracked"] is not None
    _fsck_clean(based)
    based.ok("stash", "pop")
    assert (based.cwd / "notes.txt").read_text() == "scratch\n"
    st = _status(based)
    assert st["untracked"] == ["notes.txt"] and st["modified"] == ["a.txt"]


def test_untracked_file_in_the_way_of_a_pop_is_refused(based: CliRunner) -> None:
    based.write("notes.txt", "scratch\n")
    based.ok("stash", "-u")
    based.write("notes.txt", "other\n")
    before = _state(based)
    r = based("stash", "pop")
    assert r.code == 1
    assert r.err.splitlines()[0] == "error: notes.txt: already exists, no checkout"
    assert _state(based) == before
    assert (based.cwd / "notes.txt").read_text() == "other\n"


def test_push_with_paths_stashes_only_those(based: CliRunner) -> None:
    based.write("a.txt", "A\n")
    based.write("b.txt", "B\n")
    based.ok("stash", "push", "a.txt")
    assert (based.cwd / "a.txt").read_text() == "one\ntwo\nthree\n"
    assert (based.cwd / "b.txt").read_text() == "B\n"
    assert _status(based)["modified"] == ["b.txt"]
    # The entry holds a.txt only, and applies beside the local change to b.txt.
    assert [f["path"] for f in json.loads(based.ok("stash", "show", "--json").out)["files"]] == ["a.txt"]
    based.ok("stash", "pop")
    assert _status(based)["modified"] == ["a.txt", "b.txt"]
    r = based("stash", "push", "nothere.txt")
    assert r.code == 1
    assert r.err.splitlines()[0] == "error: nothere.txt: did not match any file known to vcrdt"


def test_apply_refuses_local_changes_to_the_files_it_changes(based: CliRunner) -> None:
    based.write("a.txt", "stashed\n")
    based.ok("stash")
    based.write("a.txt", "local\n")
    before = _state(based)
    r = based("stash", "apply")
    assert r.code == 1
    assert r.err.splitlines()[0] == (
        "error: your local changes to the following files would be overwritten by merge: a.txt"
    )
    assert _state(based) == before
    assert (based.cwd / "a.txt").read_text() == "local\n"
    _fsck_clean(based)


def test_pop_merges_onto_a_moved_head(based: CliRunner) -> None:
    based.write("a.txt", "one\ntwo\nTHREE\n")
    based.ok("stash")
    based.write("a.txt", "ONE\ntwo\nthree\n")
    based.ok("commit", "-m", "upstream")
    based.ok("stash", "pop")
    assert (based.cwd / "a.txt").read_text() == "ONE\ntwo\nTHREE\n"
    assert _status(based)["modified"] == ["a.txt"]


def test_pop_with_conflicts_keeps_the_entry_and_resolve_ends_it(based: CliRunner) -> None:
    based.write("a.txt", "one\ntwo\nstashed\n")
    based.ok("stash")
    based.write("a.txt", "one\ntwo\nupstream\n")
    based.ok("commit", "-m", "upstream")
    based.write("b.txt", "local edit\n")  # a local change the pop does not touch stays
    r = based("stash", "pop")
    assert r.code == 1
    assert "CONFLICT (content): a.txt" in r.out
    assert "The stash entry is kept in case you need it again." in r.err
    assert len(_entries(based)) == 1
    text = (based.cwd / "a.txt").read_text()
    assert "<<<<<<< Updated upstream\n" in text and ">>>>>>> Stashed changes\n" in text
    assert (based.cwd / "b.txt").read_text() == "local edit\n"
    listed = json.loads(based.ok("conflicts", "--json").out)
    assert "a.txt" in json.dumps(listed)
    # While the conflict is open, another pop (and a push) is refused.
    r = based("stash", "pop")
    assert r.code == 1
    assert r.err.splitlines()[0] == "error: cannot apply a stash while a merge is in progress"
    r = based("stash")
    assert r.code == 1
    assert r.err.splitlines()[0] == "error: cannot stash while a merge is in progress"
    based.write("a.txt", "one\ntwo\nboth\n")
    based.ok("resolve", "a.txt")
    # Resolving the last conflict ends it: no merge to commit, the changes are local edits.
    assert "Merging" not in based.ok("status").out
    st = _status(based)
    assert st["modified"] == ["a.txt", "b.txt"]
    based.ok("stash", "drop")
    _fsck_clean(based)


def test_merge_policy_settles_a_pop(based: CliRunner) -> None:
    based.write(".vcrdtattributes", "*.txt union\n")
    based.ok("commit", "-A", "-m", "policy")
    based.write("a.txt", "one\ntwo\nstashed\n")
    based.ok("stash")
    based.write("a.txt", "one\ntwo\nupstream\n")
    based.ok("commit", "-m", "upstream")
    based.ok("stash", "pop")
    assert sorted((based.cwd / "a.txt").read_text().splitlines()) == ["one", "stashed", "two", "upstream"]
    assert _entries(based) == []


def test_undo_reverts_push_pop_and_drop(based: CliRunner) -> None:
    based.write("a.txt", "mine\n")
    based.ok("stash")
    based.ok("undo")  # the push: the change is back and the entry gone
    assert (based.cwd / "a.txt").read_text() == "mine\n"
    assert _entries(based) == []
    based.ok("stash")
    based.ok("stash", "pop")
    based.ok("undo")  # the pop: the entry is back and the file at HEAD
    assert (based.cwd / "a.txt").read_text() == "one\ntwo\nthree\n"
    assert len(_entries(based)) == 1
    based.ok("stash", "drop")
    assert _entries(based) == []
    based.ok("undo")  # the drop
    assert len(_entries(based)) == 1
    kinds = [op["kind"] for op in json.loads(based.ok("oplog", "--json").out)]
    assert kinds[:2] == ["undo", "stash"]
    _fsck_clean(based)


def test_stash_on_an_unborn_branch_is_refused(repo: CliRunner) -> None:
    repo.write("a.txt", "x\n")
    repo.ok("add", "a.txt")
    r = repo("stash")
    assert r.code == 1
    assert r.err.splitlines()[0] == "error: you do not have the initial commit yet"
    assert (repo.cwd / "a.txt").read_text() == "x\n"


def test_stash_options_belong_to_push(based: CliRunner) -> None:
    r = based("stash", "-m", "x", "list")
    assert r.code == 2


def test_entries_stay_local(based: CliRunner) -> None:
    based.write("a.txt", "secret draft\n")
    based.ok("stash")
    other = based.cwd.parent / "other"
    based.ok("clone", str(based.cwd), str(other))
    copy = CliRunner(other)
    assert _entries(copy) == []
    assert "stash" not in copy.ok("branch", "--json").out
    assert copy("cat", str(_entries(based)[0]["commit"])).code == 1  # nor its commit
    _fsck_clean(copy)


def test_a_removed_file_written_again_is_not_overwritten(based: CliRunner) -> None:
    based.ok("rm", "a.txt")
    based.write("a.txt", "new content, untracked\n")
    before = _state(based)
    r = based("stash")
    assert r.code == 1
    assert r.err.splitlines()[0] == (
        "error: a.txt: is removed from tracking but still here: stashing would overwrite it"
    )
    assert _state(based) == before
    assert (based.cwd / "a.txt").read_text() == "new content, untracked\n"
    based.ok("stash", "-u")
    assert (based.cwd / "a.txt").read_text() == "one\ntwo\nthree\n"
    assert _status(based)["removed"] == []
    based.ok("stash", "pop")
    assert (based.cwd / "a.txt").read_text() == "new content, untracked\n"
    assert _status(based)["removed"] == ["a.txt"]
    _fsck_clean(based)
