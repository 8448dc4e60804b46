"""CRDT resolution in merges: the policy file, --on-conflict, --auto, the audit trail and reopen."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


def _head(repo: CliRunner, rev: str = "HEAD") -> str:
    return str(json.loads(repo.ok("log", "--json", "-n", "1", rev).out)[0]["id"])


@pytest.fixture
def forked(repo: CliRunner) -> CliRunner:
    """main and side share a base; each then edits line 2 of f.txt (a conflict for diff3)."""
    _diverge(repo, {"f.txt": "a\nb\nc\n", "g.txt": "g\n"}, {"f.txt": "a\nside\nc\n"}, {"f.txt": "a\nmain\nc\n"})
    return repo


def _diverge(
    repo: CliRunner, base: dict[str, str | bytes], side: dict[str, str | bytes], main: dict[str, str | bytes]
) -> None:
    """Commit `base` on main, then `side`'s files on branch side and `main`'s on main (concurrent edits)."""
    for name, text in base.items():
        repo.write(name, text)
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("branch", "side")
    for branch, files in (("side", side), ("main", main)):
        repo.ok("switch", branch)
        for name, text in files.items():
            repo.write(name, text)
        repo.ok("commit", "-A", "-m", branch)


def _policy(repo: CliRunner, text: str) -> None:
    repo.write(".vcrdtattributes", text)
    repo.ok("commit", "-A", "-m", "policy")


def test_policy_union_settles_the_conflict_and_records_it(forked: CliRunner) -> None:
    _policy(forked, "# text files keep both sides\n*.txt union\n")
    r = forked("merge", "side")
    assert r.code == 0, r.err
    assert "auto-resolved (union): f.txt (1 decision)" in r.out
    text = (forked.cwd / "f.txt").read_text()
    assert sorted(text.splitlines()) == ["a", "c", "main", "side"]
    head = json.loads(forked.ok("log", "--json", "-n", "1").out)[0]
    assert len(head["parents"]) == 2
    listed = json.loads(forked.ok("conflicts", "--auto", "--json").out)
    assert listed["schema"] == 1 and listed["commit"] == head["id"]
    (res,) = listed["resolutions"]
    assert (res["path"], res["rule"]) == ("f.txt", "union")
    (hunk,) = res["hunks"]
    assert hunk["where"] == "L2+1" and hunk["outcome"] == "both"
    assert res["ours"]["commit"] == head["parents"][0] and res["theirs"]["commit"] == head["parents"][1]
    assert "f.txt: settled by union" in forked.ok("conflicts", "--auto").out
    assert forked.ok("fsck").code == 0


def test_union_orders_by_the_tie_break_not_by_side(forked: CliRunner) -> None:
    """Both directions of the same merge give the same bytes."""
    _policy(forked, "*.txt union\n")
    forked.ok("branch", "main-copy")
    forked.ok("merge", "side")
    one = (forked.cwd / "f.txt").read_text()
    forked.ok("switch", "side")
    forked.ok("merge", "main-copy")
    assert (forked.cwd / "f.txt").read_text() == one


def test_lww_takes_the_later_side_and_records_the_loser(forked: CliRunner) -> None:
    _policy(forked, "f.txt lww\n")
    forked.ok("merge", "side")
    later = (forked.cwd / "f.txt").read_text()
    assert later in ("a\nmain\nc\n", "a\nside\nc\n")
    (res,) = json.loads(forked.ok("conflicts", "--auto", "--json").out)["resolutions"]
    (hunk,) = res["hunks"]
    lost = hunk["alternatives"][0]["text"]
    assert {lost, hunk["chosen"]} == {"main\n", "side\n"}


def test_malformed_policy_names_the_line_and_changes_nothing(forked: CliRunner) -> None:
    _policy(forked, "*.txt union\n*.md sometimes\n")
    before = _head(forked)
    r = forked("merge", "side")
    assert r.code == 1
    assert r.err.splitlines()[0] == "error: .vcrdtattributes:2: unknown action 'sometimes'"
    assert _head(forked) == before
    assert json.loads(forked.ok("status", "--json").out)["conflicted"] == []
    assert (forked.cwd / "f.txt").read_text() == "a\nmain\nc\n"
    forked.ok("fsck")


def test_on_conflict_markers_overrides_the_policy(forked: CliRunner) -> None:
    _policy(forked, "*.txt union\n")
    r = forked("merge", "--on-conflict", "markers", "side")
    assert r.code == 1
    assert "CONFLICT (content): f.txt" in r.out
    assert "<<<<<<<" in (forked.cwd / "f.txt").read_text()


def test_on_conflict_fail_changes_nothing(forked: CliRunner) -> None:
    before = _head(forked)
    r = forked("merge", "--on-conflict=fail", "side")
    assert r.code == 1
    assert r.err.startswith("error: merge left 1 path in conflict: f.txt; nothing was changed")
    assert _head(forked) == before
    status = json.loads(forked.ok("status", "--json").out)
    assert status["conflicted"] == [] and status["modified"] == []
    r = forked("merge", "side", "--on-conflict", "markers")  # no merge was left in progress
    assert r.code == 1 and "CONFLICT (content): f.txt" in r.out


def test_on_conflict_fail_still_applies_the_policy_rules(forked: CliRunner) -> None:
    _policy(forked, "*.txt union\n")
    assert forked("merge", "--on-conflict=fail", "side").code == 0


def test_on_conflict_crdt_defaults_to_union_for_text(forked: CliRunner) -> None:
    r = forked("merge", "--on-conflict=crdt", "side")
    assert r.code == 0 and "auto-resolved (union): f.txt" in r.out


def test_on_conflict_crdt_binary_goes_to_lww(repo: CliRunner) -> None:
    _diverge(repo, {"b.bin": b"\0base"}, {"b.bin": b"\0side"}, {"b.bin": b"\0main"})
    repo.ok("merge", "--on-conflict=crdt", "side")
    (res,) = json.loads(repo.ok("conflicts", "--auto", "--json").out)["resolutions"]
    assert res["rule"] == "lww" and res["hunks"][0]["where"] == "*"
    assert (repo.cwd / "b.bin").read_bytes() in (b"\0side", b"\0main")


def test_bad_on_conflict_value_is_a_usage_error(forked: CliRunner) -> None:
    r = forked("merge", "--on-conflict", "maybe", "side")
    assert r.code == 2 and "must be one of ask, markers, crdt, fail" in r.err


def test_invalid_json_falls_back_to_markers_with_a_reason(repo: CliRunner) -> None:
    _diverge(
        repo,
        {"d.json": '{"a": 1}\n', ".vcrdtattributes": "*.json json\n"},
        {"d.json": '{"a": 2,}\n'},
        {"d.json": '{"a": 3}\n'},
    )
    r = repo("merge", "side")
    assert r.code == 1
    assert "warning: d.json:" in r.err and "not valid JSON" in r.err
    assert "<<<<<<<" in (repo.cwd / "d.json").read_text()


def test_json_rule_merges_keys(repo: CliRunner) -> None:
    _diverge(
        repo,
        {"d.json": '{\n  "a": 1,\n  "b": 1\n}\n', ".vcrdtattributes": "*.json json\n"},
        {"d.json": '{\n  "a": 2,\n  "b": 1\n}\n'},
        {"d.json": '{\n  "a": 1,\n  "b": 3,\n  "c": 4\n}\n'},
    )
    repo.ok("merge", "side")
    assert json.loads((repo.cwd / "d.json").read_text()) == {"a": 2, "b": 3, "c": 4}


def test_modify_delete_under_a_rule_keeps_the_modification(forked: CliRunner) -> None:
    forked.ok("switch", "side")
    forked.ok("rm", "g.txt")
    forked.ok("commit", "-m", "drop g")
    forked.ok("switch", "main")
    forked.write("g.txt", "g changed\n")
    forked.ok("commit", "-m", "change g")
    forked.ok("merge", "--on-conflict=crdt", "side")
    assert (forked.cwd / "g.txt").read_text() == "g changed\n"
    paths = [r["path"] for r in json.loads(forked.ok("conflicts", "--auto", "--json").out)["resolutions"]]
    assert paths == ["f.txt", "g.txt"]


def test_reopen_puts_a_settled_path_back_in_conflict(forked: CliRunner) -> None:
    forked.ok("merge", "--on-conflict=crdt", "side")
    merge_id = _head(forked)
    r = forked("reopen", "f.txt")
    assert r.code == 0 and "CONFLICT (content): f.txt" in r.out
    text = (forked.cwd / "f.txt").read_text()
    assert "<<<<<<< ours\nmain\n=======\nside\n>>>>>>> theirs\n" in text
    assert json.loads(forked.ok("status", "--json").out)["conflicted"] == ["f.txt"]
    assert forked("commit", "-m", "too early").code == 1
    forked.ok("resolve", "--theirs", "f.txt")
    forked.ok("commit", "-m", "side wins after all")
    head = json.loads(forked.ok("log", "--json", "-n", "1").out)[0]
    assert head["parents"] == [merge_id]
    assert (forked.cwd / "f.txt").read_text() == "a\nside\nc\n"
    forked.ok("fsck")


def test_reopen_can_be_aborted(forked: CliRunner) -> None:
    forked.ok("merge", "--on-conflict=crdt", "side")
    settled = (forked.cwd / "f.txt").read_text()
    forked.ok("reopen", "f.txt")
    forked.ok("merge", "--abort")
    assert (forked.cwd / "f.txt").read_text() == settled
    assert json.loads(forked.ok("status", "--json").out)["conflicted"] == []


def test_reopen_refuses_a_path_no_rule_settled(forked: CliRunner) -> None:
    forked.ok("merge", "--on-conflict=crdt", "side")
    r = forked("reopen", "g.txt")
    assert r.code == 1 and r.err.startswith("error: g.txt: no automatic resolution in ")


def test_conflicts_auto_on_a_commit_without_resolutions(forked: CliRunner) -> None:
    r = forked.ok("conflicts", "--auto")
    assert r.out.endswith(": no automatic resolutions\n")


# --- convergent merges across two independent repositories ---------------------------------------


def _transfer(src: Path, dst: Path, branch: str, as_branch: str) -> None:
    """Copy a branch's history from one repository into another (what sync will do), by the store API."""
    from vcrdt.dag import iter_reachable
    from vcrdt.refs import BRANCH_PREFIX
    from vcrdt.repo import Repository, Settings

    a = Repository.discover(src, Settings())
    b = Repository.discover(dst, Settings())
    head = a.refs.get(BRANCH_PREFIX + branch)
    assert head is not None
    with b.transaction():
        for oid in sorted(iter_reachable(a.store, [head])):
            kind, body = a.store.get(oid)
            b.store.put(kind, body)
        b.refs.update(BRANCH_PREFIX + as_branch, head, expected=b.refs.get(BRANCH_PREFIX + as_branch))


def test_auto_merge_in_opposite_directions_makes_the_same_commit(cli: CliRunner, tmp_path: Path) -> None:
    anna = CliRunner(cli.cwd / "anna")
    bill = CliRunner(cli.cwd / "bill")
    for r in (anna, bill):
        r.cwd.mkdir()
        r.ok("init")
    anna.write("notes.txt", "one\ntwo\nthree\n")
    anna.write("cfg.json", '{"x": 1, "y": 1}\n')
    anna.write(".vcrdtattributes", "*.json json\n")
    anna.ok("commit", "-A", "-m", "base")
    _transfer(anna.cwd, bill.cwd, "main", "anna")
    bill.ok("switch", "anna")
    bill.ok("branch", "work")
    bill.ok("switch", "work")
    anna.write("notes.txt", "one\ntwo by anna\nthree\n")
    anna.write("cfg.json", '{"x": 2, "y": 1}\n')
    anna.ok("commit", "-m", "anna")
    bill.write("notes.txt", "one\ntwo by bill\nthree\n")
    bill.write("cfg.json", '{"x": 3, "y": 5}\n')
    bill.ok("commit", "-m", "bill")
    _transfer(anna.cwd, bill.cwd, "main", "anna")
    _transfer(bill.cwd, anna.cwd, "work", "bill")
    ra = anna("merge", "--auto", "bill")
    rb = bill("merge", "--auto", "anna")
    assert ra.code == 0 and rb.code == 0, (ra.err, rb.err)
    assert _head(anna) == _head(bill)
    assert (anna.cwd / "notes.txt").read_bytes() == (bill.cwd / "notes.txt").read_bytes()
    assert json.loads((anna.cwd / "cfg.json").read_text())["y"] == 5
    head = json.loads(anna.ok("log", "--json", "-n", "1").out)[0]
    assert head["message"] == "Merge concurrent heads (automatic)\n"
    assert sorted(head["parents"]) == head["parents"]
    assert anna.ok("conflicts", "--auto", "--json").out == bill.ok("conflicts", "--auto", "--json").out
    anna.ok("fsck")
    bill.ok("fsck")


def test_auto_refuses_to_mix_with_markers(forked: CliRunner) -> None:
    assert forked("merge", "--auto", "--on-conflict=markers", "side").code == 2


def test_ask_policy_prompts_on_a_terminal(forked: CliRunner) -> None:
    import pexpect

    _policy(forked, "f.txt ask\n")
    child = pexpect.spawn(sys.executable, ["-m", "vcrdt", "merge", "side"], cwd=str(forked.cwd), timeout=60)
    child.expect("Hunk 1/1 of f.txt:")
    child.expect(r"\[o\]urs, \[t\]heirs")
    child.sendline("t")
    child.expect("resolved f.txt")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (forked.cwd / "f.txt").read_text() == "a\nside\nc\n"
    forked.ok("commit", "-m", "merged after asking")


# --- merge-file --rule ---------------------------------------------------------------------------


def _files(tmp: Path, base: str, ours: str, theirs: str) -> tuple[Path, Path, Path]:
    paths = (tmp / "ours.txt", tmp / "base.txt", tmp / "theirs.txt")
    for p, text in zip(paths, (ours, base, theirs), strict=True):
        p.write_text(text)
    return paths


def test_merge_file_rule_union_is_symmetric(cli: CliRunner) -> None:
    ours, base, theirs = _files(cli.cwd, "a\nb\nc\n", "a\nours\nc\n", "a\ntheirs\nc\n")
    one = cli("merge-file", "--rule", "union", "-p", str(ours), str(base), str(theirs))
    two = cli("merge-file", "--rule", "union", "-p", str(theirs), str(base), str(ours))
    assert one.code == two.code == 0
    assert one.out == two.out
    assert sorted(one.out.splitlines()) == ["a", "c", "ours", "theirs"]


def test_merge_file_rule_writes_current(cli: CliRunner) -> None:
    ours, base, theirs = _files(cli.cwd, "x\n", "x\nours\n", "x\ntheirs\n")
    assert cli("merge-file", "--rule", "set", str(ours), str(base), str(theirs)).code == 0
    assert sorted(ours.read_text().splitlines()) == ["ours", "theirs", "x"]


def test_merge_file_rule_json_fallback_exits_with_conflicts(cli: CliRunner) -> None:
    ours, base, theirs = _files(cli.cwd, '{"a": 1}\n', '{"a": 2}\n', "{nope\n")
    r = cli("merge-file", "--rule", "json", "-p", str(ours), str(base), str(theirs))
    assert r.code == 1
    assert "not valid JSON" in r.err and "<<<<<<<" in r.out


@pytest.mark.parametrize("to_stdout", [False, True], ids=["in-place", "stdout"])
def test_merge_file_rule_json_fallback_that_merges_cleanly_writes_no_markers(cli: CliRunner, to_stdout: bool) -> None:
    """Not JSON, but the line merge is clean: the warning must not claim conflict markers."""
    ours, base, theirs = _files(cli.cwd, "a\nb\nc\nd\ne\n", "A\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n")
    r = cli("merge-file", "--rule", "json", *(["-p"] if to_stdout else []), str(ours), str(base), str(theirs))
    assert r.code == 0
    merged = r.out if to_stdout else ours.read_text()
    assert merged == "A\nb\nc\nd\nE\n"
    assert r.err == f"warning: {ours}: base: not valid JSON: Expecting value (line 1 column 1); merged line by line\n"
    assert "conflict markers" not in r.err


def test_merge_file_unknown_rule_is_a_usage_error(cli: CliRunner) -> None:
    ours, base, theirs = _files(cli.cwd, "a\n", "b\n", "c\n")
    r = cli("merge-file", "--rule", "vote", str(ours), str(base), str(theirs))
    assert r.code == 2 and "must be one of union, lww, set, json, ours, theirs" in r.err


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_merge_file_rule_as_a_git_merge_driver(tmp_path: Path) -> None:
    """Real git calls `vcrdt merge-file --rule union` for *.txt and the merge is clean."""
    work = tmp_path / "g"
    work.mkdir()
    vcrdt = f"{sys.executable} -m vcrdt"

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=work, check=True, capture_output=True, text=True, env=dict(os.environ)
        ).stdout

    git("init", "-q", "-b", "main")
    git("config", "merge.vcrdt-union.name", "vcrdt union")
    git("config", "merge.vcrdt-union.driver", f"{vcrdt} merge-file --rule union %A %O %B")
    (work / ".gitattributes").write_text("*.txt merge=vcrdt-union\n")
    (work / "list.txt").write_text("start\nend\n")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "side")
    (work / "list.txt").write_text("start\nfrom side\nend\n")
    git("commit", "-q", "-am", "side")
    git("checkout", "-q", "main")
    (work / "list.txt").write_text("start\nfrom main\nend\n")
    git("commit", "-q", "-am", "main")
    git("merge", "-q", "--no-edit", "side")
    lines = (work / "list.txt").read_text().splitlines()
    assert lines[0] == "start" and lines[-1] == "end"
    assert sorted(lines[1:3]) == ["from main", "from side"]


def test_show_lists_what_rules_settled(forked: CliRunner) -> None:
    forked.ok("merge", "--on-conflict=crdt", "side")
    out = forked.ok("show", "--stat").out
    assert "Settled automatically (1 path):\n      f.txt: union, 1 decision\n" in out
    doc = json.loads(forked.ok("show", "--json").out)
    assert [a["path"] for a in doc["auto"]] == ["f.txt"]
    assert json.loads(forked.ok("show", "--json", "HEAD~1").out)["auto"] == []


def test_resolve_by_rule_settles_and_records(forked: CliRunner) -> None:
    assert forked("merge", "side").code == 1
    forked.ok("resolve", "--rule", "union", "f.txt")
    assert sorted((forked.cwd / "f.txt").read_text().splitlines()) == ["a", "c", "main", "side"]
    forked.ok("commit", "-m", "merged with a rule")
    (res,) = json.loads(forked.ok("conflicts", "--auto", "--json").out)["resolutions"]
    assert (res["path"], res["rule"]) == ("f.txt", "union")
    forked.ok("fsck")


def test_resolve_by_rule_that_does_not_apply_keeps_the_conflict(repo: CliRunner) -> None:
    _diverge(repo, {"d.json": '{"a": 1}\n'}, {"d.json": '{"a": 2,}\n'}, {"d.json": '{"a": 3}\n'})
    assert repo("merge", "side").code == 1
    r = repo("resolve", "--rule", "json", "d.json")
    assert r.code == 1 and "not valid JSON" in r.err and "nothing was changed" in r.err
    assert json.loads(repo.ok("status", "--json").out)["conflicted"] == ["d.json"]


def test_auto_that_cannot_settle_changes_nothing(repo: CliRunner) -> None:
    _diverge(
        repo,
        {".vcrdtattributes": "*.json json\n", "d.json": '{"a": 1,}\n'},
        {"d.json": '{"a": 2,}\n'},
        {"d.json": '{"a": 3,}\n'},
    )
    before = _head(repo)
    r = repo("merge", "--auto", "side")
    assert r.code == 1
    assert r.err.startswith("error: d.json: content conflict that no rule settles (base: not valid JSON")
    assert "nothing was changed" in r.err
    assert _head(repo) == before
    assert (repo.cwd / "d.json").read_text() == '{"a": 3,}\n'
    status = json.loads(repo.ok("status", "--json").out)
    assert status["conflicted"] == [] and status["untracked"] == [] and status["modified"] == []
    repo.ok("fsck")


def _file_meets_directory(repo: CliRunner) -> None:
    _diverge(repo, {"keep.txt": "k\n"}, {"x/inner.txt": "a directory here\n"}, {"x": "a file here\n"})


def test_auto_settles_a_file_directory_collision_alike_from_either_side(repo: CliRunner) -> None:
    _file_meets_directory(repo)
    repo.ok("branch", "main-before")
    repo.ok("merge", "--auto", "side")
    merged = _head(repo)
    (aside,) = [p.name for p in repo.cwd.iterdir() if p.name.startswith("x~")]
    assert len(aside) == len("x~") + 12
    assert (repo.cwd / aside).read_text() == "a file here\n"
    assert (repo.cwd / "x" / "inner.txt").read_text() == "a directory here\n"
    (res,) = json.loads(repo.ok("conflicts", "--auto", "--json").out)["resolutions"]
    assert res["path"] == "x"
    repo.ok("fsck")
    # The other branch merging this one makes the same commit: the name does not depend on the side.
    repo.ok("switch", "side")
    repo.ok("merge", "--auto", "main-before")
    assert _head(repo) == merged


def test_a_settled_file_directory_collision_reopens_and_resolves(repo: CliRunner) -> None:
    _file_meets_directory(repo)
    repo.ok("merge", "--auto", "side")
    (aside,) = [p.name for p in repo.cwd.iterdir() if p.name.startswith("x~")]
    (conflict,) = json.loads(repo.ok("reopen", "x", "--json").out)["conflicts"]
    assert conflict["kind"] == "file/directory"
    assert json.loads(repo.ok("status", "--json").out)["conflicted"] == ["x"]
    # One replica made both sides, so they keep the record's tie-break order: take the file's side.
    repo.ok("resolve", "--ours" if conflict["ours"] else "--theirs", "x")  # the file takes the path back
    repo.ok("commit", "-m", "the file wins")
    assert (repo.cwd / "x").read_text() == "a file here\n"
    assert not (repo.cwd / aside).exists()
    status = json.loads(repo.ok("status", "--json").out)
    assert status["conflicted"] == [] and status["untracked"] == [] and status["modified"] == []
    repo.ok("fsck")


def test_auto_merges_a_conflicting_policy_file_as_a_set_of_lines(repo: CliRunner) -> None:
    _diverge(
        repo,
        {".vcrdtattributes": "*.txt union\n", "d.json": '{"a": 1, "b": 1}\n'},
        {".vcrdtattributes": "*.txt union\n*.json json\n", "d.json": '{"a": 2, "b": 1}\n'},
        {".vcrdtattributes": "*.txt union\n*.bin lww\n", "d.json": '{"a": 1, "b": 3}\n'},
    )
    repo.ok("merge", "--auto", "side")
    policy = (repo.cwd / ".vcrdtattributes").read_text().splitlines()
    assert sorted(policy) == ["*.bin lww", "*.json json", "*.txt union"]
    # The merged policy applied: the JSON rule merged the document key by key.
    assert json.loads((repo.cwd / "d.json").read_text()) == {"a": 2, "b": 3}
    repo.ok("fsck")


def test_auto_dry_run_writes_nothing_and_lists_decisions(forked: CliRunner) -> None:
    before = _head(forked)
    r = forked("merge", "--auto", "--dry-run", "--json", "side")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["dry_run"] is True and doc["commit"] is None and doc["status"] == "merged"
    assert [a["path"] for a in doc["auto"]] == ["f.txt"]
    assert _head(forked) == before
    assert (forked.cwd / "f.txt").read_text() == "a\nmain\nc\n"
    forked.ok("merge", "--auto", "side")
    assert sorted((forked.cwd / "f.txt").read_text().splitlines()) == ["a", "c", "main", "side"]


def test_invalid_json_that_diff3_merges_cleanly_is_no_conflict(repo: CliRunner) -> None:
    _diverge(
        repo,
        {"d.json": "{\n  'a': 1,\n  'b': 1,\n  'c': 1\n}\n", ".vcrdtattributes": "*.json json\n"},
        {"d.json": "{\n  'a': 2,\n  'b': 1,\n  'c': 1\n}\n"},
        {"d.json": "{\n  'a': 1,\n  'b': 1,\n  'c': 3\n}\n"},
    )
    r = repo.ok("merge", "side")
    assert "warning" not in r.err
    assert (repo.cwd / "d.json").read_text() == "{\n  'a': 2,\n  'b': 1,\n  'c': 3\n}\n"


def test_reopen_json(forked: CliRunner) -> None:
    forked.ok("merge", "--on-conflict=crdt", "side")
    doc = json.loads(forked.ok("reopen", "--json", "f.txt").out)
    assert doc["schema"] == 1
    (c,) = doc["conflicts"]
    assert (c["path"], c["kind"], c["hunks"], c["resolved"]) == ("f.txt", "content", 1, False)


def test_resolve_by_rule_on_several_paths_is_all_or_nothing(repo: CliRunner) -> None:
    _diverge(
        repo,
        {"j.json": '{"a": 1}\n', "f.txt": "a\nb\nc\n"},
        {"j.json": '{"a": 2}\n', "f.txt": "a\nside\nc\n"},
        {"j.json": '{"a": 3}\n', "f.txt": "a\nmain\nc\n"},
    )
    assert repo("merge", "side").code == 1
    before = (repo.cwd / "j.json").read_text()
    r = repo("resolve", "--rule", "json", "j.json", "f.txt")  # f.txt is not JSON: nothing may change
    assert r.code == 1 and r.err.startswith("error: f.txt: ")
    assert (repo.cwd / "j.json").read_text() == before
    assert json.loads(repo.ok("status", "--json").out)["conflicted"] == ["f.txt", "j.json"]
    r = repo("resolve", "--ours", "j.json", "nope.txt")
    assert r.code == 1 and (repo.cwd / "j.json").read_text() == before


def test_reopen_refuses_a_path_a_later_step_changed(cli: CliRunner) -> None:
    """Joining three heads: a path settled by the first step and changed by a later one is not reopened."""
    from tests.cli.test_siblings import _replica

    root = cli.cwd
    mp = pytest.MonkeyPatch()
    a, b, c = (_replica(root, n, mp) for n in ("a", "b", "c"))
    a.write("f", "l1\nl2\nl3\nl4\nl5\n")
    a.ok("commit", "-A", "-m", "base")
    b.ok("fetch", "../a")
    c.ok("fetch", "../a")
    a.write("f", "A\nl2\nl3\nl4\nl5\n")
    a.ok("commit", "-m", "a")
    b.write("f", "B\nl2\nl3\nl4\nl5\n")
    b.ok("commit", "-m", "b")
    c.write("f", "l1\nl2\nl3\nl4\nC5\n")
    c.ok("commit", "-m", "c5")
    c.write("f", "l1\nl2\nl3\nC4\nC5\n")
    c.ok("commit", "-m", "c4")
    a.ok("fetch", "../b")
    a.ok("fetch", "../c")
    a.ok("merge", "--auto")
    merged = (a.cwd / "f").read_text()
    assert "C4\nC5\n" in merged
    r = a("reopen", "f")
    if r.code == 0:  # the last step settled f: reopening keeps every side's edit in the markers
        text = (a.cwd / "f").read_text()
        assert "C4" in text and "C5" in text
    else:
        assert "changed after the rule settled it" in r.err
        assert (a.cwd / "f").read_text() == merged
