"""Branches as a CRDT between replicas: fetch joins branches, siblings, merge with no argument, tombstones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner, corrupt_stored_object


def _replica(root: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    r = CliRunner(root / name)
    r.cwd.mkdir()
    r.ok("init")
    return r


def _heads(r: CliRunner, branch: str = "main") -> list[str]:
    for b in json.loads(r.ok("branch", "--json").out):
        if b["name"] == branch:
            return sorted(b["heads"])
    return []


def _head(r: CliRunner) -> str:
    return str(json.loads(r.ok("log", "--json", "-n", "1").out)[0]["id"])


@pytest.fixture
def pair(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, CliRunner]:
    """Two replicas, anna and bill, sharing one base commit (bill fetched it)."""
    anna = _replica(cli.cwd, "anna", monkeypatch)
    bill = _replica(cli.cwd, "bill", monkeypatch)
    anna.write("notes.txt", "one\ntwo\nthree\n")
    anna.write("other.txt", "x\n")
    anna.ok("commit", "-A", "-m", "base")
    r = bill.ok("fetch", "../anna")
    assert "main: new at" in r.out
    assert (bill.cwd / "notes.txt").read_text() == "one\ntwo\nthree\n"
    return anna, bill


def _concurrent(anna: CliRunner, bill: CliRunner, *, conflict: bool = True) -> None:
    anna.write("notes.txt", "one\ntwo by anna\nthree\n")
    anna.ok("commit", "-m", "anna")
    if conflict:
        bill.write("notes.txt", "one\ntwo by bill\nthree\n")
    else:
        bill.write("other.txt", "x by bill\n")
    bill.ok("commit", "-m", "bill")


def test_fetch_makes_siblings_that_branch_and_status_show(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    _concurrent(anna, bill)
    mine = _head(anna)
    r = anna.ok("fetch", "../bill")
    assert "main: 2 concurrent heads" in r.out
    assert len(_heads(anna)) == 2
    assert _head(anna) == mine  # the work tree stays on this replica's head
    assert "(2 concurrent heads)" in anna.ok("branch").out
    status = anna.ok("status")
    assert "2 concurrent heads" in status.out


def test_commit_on_a_sibling_keeps_the_other(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    _concurrent(anna, bill)
    anna.ok("fetch", "../bill")
    bill_head = next(h for h in _heads(anna) if h != _head(anna))
    anna.write("other.txt", "more\n")
    anna.ok("commit", "-m", "more on anna's head")
    heads = _heads(anna)
    assert len(heads) == 2 and bill_head in heads and _head(anna) in heads


def test_merge_without_argument_joins_siblings(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    _concurrent(anna, bill, conflict=False)
    anna.ok("fetch", "../bill")
    r = anna.ok("merge")
    assert "Merged the concurrent heads" in r.out
    assert _heads(anna) == [_head(anna)]
    assert (anna.cwd / "other.txt").read_text() == "x by bill\n"
    assert (anna.cwd / "notes.txt").read_text() == "one\ntwo by anna\nthree\n"
    anna.ok("fsck")


def test_conflicting_siblings_resolve_then_commit_joins_them(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    _concurrent(anna, bill)
    anna.ok("fetch", "../bill")
    assert anna("merge").code == 1
    anna.ok("resolve", "--union", "notes.txt")
    anna.ok("commit", "-m", "joined by hand")
    assert _heads(anna) == [_head(anna)]
    assert len(json.loads(anna.ok("log", "--json", "-n", "1").out)[0]["parents"]) == 2


def test_merge_without_argument_and_no_siblings_is_an_error(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, _ = pair
    r = anna("merge")
    assert r.code == 1 and r.err.startswith("error: nothing to merge: the branch has no concurrent heads")


def test_both_replicas_auto_merge_to_the_same_commit(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    _concurrent(anna, bill)
    anna.ok("fetch", "../bill")
    bill.ok("fetch", "../anna")
    anna.ok("merge", "--auto")
    bill.ok("merge", "--auto")
    assert _head(anna) == _head(bill)
    assert (anna.cwd / "notes.txt").read_bytes() == (bill.cwd / "notes.txt").read_bytes()
    # Syncing again adds nothing: the same commit on both sides.
    assert "fetched 0 objects" in anna.ok("fetch", "../bill").out
    assert _heads(anna) == _heads(bill) == [_head(anna)]


def test_three_replicas_fold_to_the_same_commit(
    pair: tuple[CliRunner, CliRunner], monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, bill = pair
    carl = _replica(anna.cwd.parent, "carl", monkeypatch)
    carl.ok("fetch", "../anna")
    _concurrent(anna, bill)
    carl.write("notes.txt", "one\ntwo by carl\nthree\n")
    carl.ok("commit", "-m", "carl")
    for r, others in ((anna, ("bill", "carl")), (bill, ("carl", "anna")), (carl, ("anna", "bill"))):
        for o in others:
            r.ok("fetch", f"../{o}")
        assert len(_heads(r)) == 3
    anna.ok("merge", "--auto")
    carl.ok("merge", "--auto")
    assert _head(anna) == _head(carl)
    text = (anna.cwd / "notes.txt").read_text()
    assert all(f"two by {n}" in text for n in ("anna", "bill", "carl"))


def test_a_deleted_branch_stays_deleted_against_old_heads(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    anna.ok("branch", "feature")
    bill.ok("fetch", "../anna")
    assert _heads(bill, "feature")
    anna.ok("branch", "-d", "feature")
    anna.ok("fetch", "../bill")  # bill still has feature at the old head: it does not come back
    assert _heads(anna, "feature") == []
    bill.ok("fetch", "../anna")  # and bill learns of the deletion
    assert _heads(bill, "feature") == []


def test_a_head_the_deletion_never_saw_brings_the_branch_back(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    anna.ok("branch", "feature")
    bill.ok("fetch", "../anna")
    bill.ok("switch", "feature")
    bill.write("f.txt", "new work\n")
    bill.ok("commit", "-A", "-m", "work on feature")
    anna.ok("branch", "-D", "feature")
    anna.ok("fetch", "../bill")
    assert _heads(anna, "feature") == _heads(bill, "feature") != []


def test_fetch_never_deletes_the_checked_out_branch(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    anna.ok("branch", "feature")
    bill.ok("fetch", "../anna")
    bill.ok("switch", "feature")
    anna.ok("branch", "-d", "feature")
    r = bill.ok("fetch", "../anna")
    assert "deleted the checked-out branch" in r.err
    assert _heads(bill, "feature") != []


def test_fetch_moves_a_clean_checked_out_branch_forward(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    anna.write("notes.txt", "newer\n")
    anna.ok("commit", "-m", "newer")
    bill.ok("fetch", "../anna")
    assert (bill.cwd / "notes.txt").read_text() == "newer\n"
    assert _head(bill) == _head(anna)
    assert json.loads(bill.ok("status", "--json").out)["modified"] == []


def test_fetch_refuses_to_move_a_dirty_work_tree(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    anna.write("notes.txt", "newer\n")
    anna.ok("commit", "-m", "newer")
    before = _head(bill)
    bill.write("other.txt", "local edit\n")
    r = bill("fetch", "../anna")
    assert r.code == 1 and "work tree has local changes" in r.err
    assert _head(bill) == before and _heads(bill) == [before]
    assert (bill.cwd / "other.txt").read_text() == "local edit\n"
    bill.ok("fsck")


def test_fetch_from_a_non_repository(pair: tuple[CliRunner, CliRunner], tmp_path: Path) -> None:
    _, bill = pair
    empty = tmp_path / "empty"
    empty.mkdir()
    r = bill("fetch", str(empty))
    assert r.code == 1
    assert r.err == (
        f"error: cannot fetch from {empty}: it is not a vcrdt repository\n"
        "hint: name the other replica's work-tree directory (the one holding .vcrdt)\n"
    )
    r = bill("fetch", str(tmp_path / "nonexistent"))
    assert r.code == 1
    assert r.err.startswith(f"error: cannot fetch from {tmp_path / 'nonexistent'}: it does not exist\n")
    assert "vcrdt init" not in r.err


def test_fetch_json(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    _concurrent(anna, bill)
    doc = json.loads(anna.ok("fetch", "--json", "../bill").out)
    assert doc["schema"] == 1 and doc["objects"] == 3
    (b,) = doc["branches"]
    assert b["name"] == "main" and len(b["before"]) == 1 and len(b["after"]) == 2


def test_fetch_of_a_corrupt_object_writes_nothing(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    anna.write("big.txt", "precious data\n" * 50)
    anna.ok("commit", "-A", "-m", "more")
    blob = next(e for e in json.loads(anna.ok("cat", "HEAD:", "--json").out)["entries"] if e["name"] == "big.txt")["id"]
    corrupt_stored_object(anna.cwd, blob)
    before = _heads(bill)
    r = bill("fetch", "../anna")
    assert r.code == 1 and blob in r.err.splitlines()[0]
    assert _heads(bill) == before
    assert not (bill.cwd / "big.txt").exists()
    fsck = bill.ok("fsck")
    assert "0 unreachable" in fsck.err or "0 problems" in fsck.err


def test_fetch_refuses_itself(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, _ = pair
    r = anna("fetch", ".")
    assert r.code == 1 and "cannot fetch from the repository itself" in r.err


def _forge(repo_root: Path) -> str:
    """Commit, through the store, a child of main whose Lamport clock breaks the history rules."""
    from vcrdt.dag import read_commit
    from vcrdt.objects import Commit
    from vcrdt.refs import BRANCH_PREFIX
    from vcrdt.repo import Repository, Settings

    with Repository.discover(repo_root, Settings()) as r:
        head = r.refs.get(BRANCH_PREFIX + "main")
        assert head is not None
        parent = read_commit(r.store, head)
        bad = Commit(parent.tree, (head,), parent.author, "forged\n", parent.replica, 99, parent.clock)
        with r.transaction():
            oid = r.store.put("commit", bad.to_bytes())
            r.refs.update(BRANCH_PREFIX + "forged", oid, expected=None)
        return oid.hex()


def test_fsck_names_a_commit_with_broken_clocks(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, _ = pair
    oid = _forge(anna.cwd)
    r = anna("fsck")
    assert r.code == 1
    assert f"error: {oid}: lamport clock 99, but its parents make it 2" in r.out


def test_fetch_refuses_a_commit_with_broken_clocks(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    oid = _forge(anna.cwd)
    r = bill("fetch", "../anna")
    assert r.code == 1 and r.err.startswith(f"error: corrupt object {oid}: refusing a commit whose lamport clock")
    assert _heads(bill, "forged") == []
    bill.ok("fsck")


def test_log_of_both_siblings_marks_only_the_checked_out_one_as_head(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    _concurrent(anna, bill)
    anna.ok("fetch", "../bill")
    other = next(h for h in _heads(anna) if h != _head(anna))
    lines = anna.ok("log", "--oneline", "HEAD", other).out.splitlines()
    assert len(lines) == 3
    assert sum("(HEAD -> main)" in ln for ln in lines) == 1
    assert sum("(main)" in ln for ln in lines) == 1
    assert {ln.rsplit(" ", 1)[-1] for ln in lines} == {"anna", "bill", "base"}


def test_a_renamed_branch_does_not_inherit_an_old_deletion(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    anna.ok("branch", "feat")
    anna.ok("branch", "-d", "feat")
    anna.ok("branch", "tmp")
    anna.ok("branch", "-m", "tmp", "feat")
    anna.ok("fetch", "../bill")
    assert _heads(anna, "feat") != []
    bill.ok("fetch", "../anna")
    assert _heads(bill, "feat") != [] and _heads(bill, "tmp") == []


def test_fetch_follows_a_deletion_and_re_creation_elsewhere_that_saw_the_checked_out_head(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """b saw a's head c1, deleted main and made it again at an unrelated X: a rewrite a follows.

    Keeping c1 as a sibling would send it back to b with the next sync and undo b's rewrite; c1
    stays in a's operation log.
    """
    a, b, d = (_replica(cli.cwd, n, monkeypatch) for n in ("a", "b", "d"))
    a.write("f", "zero\n")
    a.ok("commit", "-A", "-m", "c0")
    c0 = _head(a)
    a.write("f", "one\n")
    a.ok("commit", "-m", "c1")
    c1 = _head(a)
    b.ok("fetch", "../a")
    b.ok("switch", "-c", "tmp")
    b.ok("branch", "-D", "main")  # b's tombstone for main: {c1}
    d.ok("fetch", "../b")
    b.ok("branch", "x", c0)
    b.ok("switch", "x")
    b.write("g", "g\n")
    b.ok("commit", "-A", "-m", "X")
    b.ok("branch", "main")  # main again, at X, unrelated to c1
    x = _head(b)
    d.ok("fetch", "../b")
    r = a.ok("fetch", "../d")
    assert "sibling" not in r.err
    assert _heads(a) == [x] and _head(a) == x
    assert (a.cwd / "f").read_text() == "zero\n" and (a.cwd / "g").read_text() == "g\n"
    assert json.loads(a.ok("status", "--json").out)["modified"] == []
    assert c1[:12] in a.ok("oplog").out
    b.ok("fetch", "../a")
    assert _heads(b) == [x]
    a.ok("fsck")


def test_auto_dry_run_of_three_siblings_previews_the_real_merge(
    pair: tuple[CliRunner, CliRunner], monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, bill = pair
    carl = _replica(anna.cwd.parent, "carl", monkeypatch)
    carl.ok("fetch", "../anna")
    anna.write("notes.txt", "one\ntwo by anna\nthree\n")
    anna.ok("commit", "-m", "anna")
    bill.write("b.txt", "b\n")
    bill.ok("commit", "-A", "-m", "bill")
    carl.write("c.txt", "c\n")
    carl.ok("commit", "-A", "-m", "carl")
    anna.ok("fetch", "../bill")
    anna.ok("fetch", "../carl")
    before = _heads(anna)
    preview = json.loads(anna.ok("merge", "--auto", "--dry-run", "--json").out)
    assert preview["dry_run"] is True and sorted(preview["changed"]) == ["b.txt", "c.txt"]
    assert _heads(anna) == before
    r = anna.ok("merge", "--auto", "--json")
    assert sorted(json.loads(r.out)["changed"]) == ["b.txt", "c.txt"]


def test_a_later_commit_on_one_input_does_not_reverse_an_auto_merge_decision(pair: tuple[CliRunner, CliRunner]) -> None:
    anna, bill = pair
    anna.write(".vcrdtattributes", "* lww\n")
    anna.write("f", "L0\n")
    anna.ok("commit", "-A", "-m", "policy")
    bill.ok("fetch", "../anna")
    anna.write("f", "La\n")
    anna.ok("commit", "-m", "a")
    anna.write("h", "h\n")
    anna.ok("commit", "-A", "-m", "a again: anna's head is later than bill's")
    bill.write("f", "Lb\n")
    bill.ok("commit", "-m", "b")
    anna.ok("fetch", "../bill")
    anna.ok("merge", "--auto")
    decided = (anna.cwd / "f").read_text()
    assert decided == "La\n"
    for n in (1, 2, 3):  # bill's head ends later than anna's, without touching f again
        bill.write("g", f"only g {n}\n")
        bill.ok("commit", "-A", "-m", f"d{n} touches only g")
    anna.ok("fetch", "../bill")
    anna.ok("merge", "--auto")
    assert (anna.cwd / "f").read_text() == decided
    assert (anna.cwd / "g").read_text() == "only g 3\n"


def test_merge_auto_with_nothing_to_join_is_already_up_to_date(pair: tuple[CliRunner, CliRunner]) -> None:
    """--auto aims for one head per branch; a branch that has one is where it would end: exit 0, as git's merge."""
    anna, _ = pair
    before = _head(anna)
    r = anna("merge", "--auto")
    assert (r.code, r.out, r.err) == (0, "Already up to date.\n", "")
    assert _head(anna) == before
    assert json.loads(anna.ok("merge", "--auto", "--json").out)["status"] == "up-to-date"
