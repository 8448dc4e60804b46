"""`vcrdt gc`: what it removes, what it keeps, its expiry, and its bad inputs."""

from __future__ import annotations

import json
import time

import pytest

from tests.helpers.cli import CliRunner
from vcrdt.ids import ObjectId, from_hex
from vcrdt.porcelain.gc import gc, parse_expiry, roots
from vcrdt.repo import Repository, Settings

DAY = 86400.0


def _commits(repo: CliRunner, n: int) -> list[str]:
    ids = []
    for i in range(n):
        repo.write("f.txt", f"version {i}\n" * 20)
        if i == 0:
            repo.ok("add", "f.txt")
        ids.append(json.loads(repo.ok("commit", "-m", f"c{i}", "--json").out)["id"])
    return ids


def _fsck(repo: CliRunner) -> dict[str, int]:
    doc = json.loads(repo.ok("fsck", "--json").out)
    assert doc["problems"] == []
    return doc


def test_gc_in_a_fresh_repository_removes_nothing(repo: CliRunner) -> None:
    r = repo("gc")
    assert r.code == 0, r.err
    assert "removed 0 objects (0 bytes) of 0 unreachable; expired 0 operations" in r.err
    _fsck(repo)


def test_reset_commits_stay_until_the_undo_log_expires_then_prune_now_removes_them(repo: CliRunner) -> None:
    c0, _c1, c2 = _commits(repo, 3)
    repo.ok("reset", "--hard", c0)
    r = repo.ok("gc")
    assert "removed 0 objects" in r.err
    assert repo("cat", c2).code == 0  # the undo log keeps it
    before = _fsck(repo)
    r = repo.ok("gc", "--prune=now")
    assert "removed 6 objects" in r.err  # two commits, their trees and their blobs
    assert "expired 4 operations" in r.err
    gone = repo("cat", c2)
    assert gone.code == 1
    assert "error:" in gone.err
    after = _fsck(repo)
    assert after["unreachable"] == 0
    assert after["objects"] < before["objects"]
    assert repo.ok("cat", f"{c0}:f.txt").out == "version 0\n" * 20
    assert repo.ok("log", "--oneline").out.count("\n") == 1


def test_dry_run_lists_and_changes_nothing(repo: CliRunner) -> None:
    c0, c1 = _commits(repo, 2)
    repo.ok("reset", "--hard", c0)
    before = _fsck(repo)
    r = repo.ok("gc", "--prune=now", "--dry-run")
    assert f"would remove {c1}" in r.out
    assert "would remove" in r.err and "would expire 3 operations" in r.err
    assert _fsck(repo) == before
    assert repo.ok("cat", c1).code == 0
    assert repo.ok("oplog", "--json").out.count('"seq"') == 3


def test_json_report(repo: CliRunner) -> None:
    c0, c1 = _commits(repo, 2)
    repo.ok("reset", "--hard", c0)
    doc = json.loads(repo.ok("gc", "--prune=now", "--json").out)
    assert doc["schema"] == 1
    assert doc["dry_run"] is False
    assert c1 in doc["removed_ids"]
    assert doc["removed"] == len(doc["removed_ids"]) > 0
    assert doc["removed_bytes"] > 0
    assert doc["expired_operations"] == 3
    assert doc["objects"] - doc["removed"] == _fsck(repo)["objects"]


@pytest.mark.parametrize("expiry", ["soon", "2.fortnights.ago", "-3.days.ago", "2026-13-45", ""])
def test_bad_expiry_is_a_one_line_error_and_nothing_changes(repo: CliRunner, expiry: str) -> None:
    c0, c1 = _commits(repo, 2)
    repo.ok("reset", "--hard", c0)
    before = _fsck(repo)
    r = repo("gc", f"--prune={expiry}")
    assert r.code == 1
    assert r.err.splitlines()[0] == (
        f"error: invalid expiry {expiry!r}: expected now, never, N.UNIT.ago (UNIT: second .. year) or a date"
    )
    assert "Traceback" not in r.err
    assert _fsck(repo) == before
    assert repo.ok("cat", c1).code == 0


def test_gc_outside_a_repository(cli: CliRunner) -> None:
    r = cli("gc")
    assert r.code == 1
    assert r.err.startswith("error: ")
    assert len(r.err.strip().splitlines()) <= 2


def test_prune_never_keeps_everything(repo: CliRunner) -> None:
    c0, c1 = _commits(repo, 2)
    repo.ok("reset", "--hard", c0)
    r = repo.ok("gc", "--prune=never")
    assert "removed 0 objects" in r.err and "expired 0 operations" in r.err
    assert repo.ok("cat", c1).code == 0


def _open(repo: CliRunner) -> Repository:
    return Repository.discover(repo.cwd, Settings())


def test_an_unreachable_object_goes_once_seen_unreachable_for_the_expiry(repo: CliRunner) -> None:
    """Operations expire by their time; the objects only they kept go one expiry after gc first saw them so."""
    c0, c1 = _commits(repo, 2)
    repo.ok("reset", "--hard", c0)
    t0 = time.time()
    r = _open(repo)
    try:
        expiry = "2.weeks.ago"
        first = gc(r, parse_expiry(expiry, t0), now=t0)
        assert (first.removed, first.expired_ops) == (0, 0)
        # 15 days on: the operations expired, the objects they kept are unreachable but just seen so.
        second = gc(r, parse_expiry(expiry, t0 + 15 * DAY), now=t0 + 15 * DAY)
        assert second.expired_ops == 3
        assert second.removed == 0 and second.kept_recent > 0
        assert r.store.has(from_hex(c1))
        # 16 days later again: seen unreachable for more than two weeks.
        third = gc(r, parse_expiry(expiry, t0 + 31 * DAY), now=t0 + 31 * DAY)
        assert third.removed == second.kept_recent
        assert third.kept_recent == 0
        assert not r.store.has(from_hex(c1))
        assert r.store.has(from_hex(c0))
    finally:
        r.close()
    assert _fsck(repo)["unreachable"] == 0


def test_an_object_reachable_again_is_forgotten_by_the_seen_notes(repo: CliRunner) -> None:
    c0, c1 = _commits(repo, 2)
    repo.ok("reset", "--hard", c0)
    t0 = time.time()
    r = _open(repo)
    try:
        seen = gc(r, parse_expiry("2.weeks.ago", t0 + 15 * DAY), now=t0 + 15 * DAY)
        assert seen.kept_recent > 0
    finally:
        r.close()
    repo.ok("branch", "keep", c1)  # reachable again
    r = _open(repo)
    try:
        later = gc(r, parse_expiry("2.weeks.ago", t0 + 31 * DAY), now=t0 + 31 * DAY)
        assert later.removed == 0 and later.kept_recent == 0
    finally:
        r.close()
    repo.ok("branch", "-D", "keep")
    r = _open(repo)
    try:
        # Unreachable again: first seen now, not 31 days ago.
        again = gc(r, parse_expiry("2.weeks.ago", t0 + 32 * DAY), now=t0 + 32 * DAY)
        assert again.removed == 0 and again.kept_recent > 0
    finally:
        r.close()


def test_a_kept_delta_of_a_removed_object_is_stored_whole(repo: CliRunner) -> None:
    v1 = ("line %d of the first version\n" * 50) % tuple(range(50))
    v2 = v1.replace("line 7 ", "LINE 7 ")
    r = _open(repo)
    try:
        with r.db.write():
            b1 = r.store.put("blob", v1.encode())
            b2 = r.store.put("blob", v2.encode(), delta_base=b1)
        assert dict((o, b) for o, b, _ in r.store.storage_rows())[b2] == b1  # stored as a delta
    finally:
        r.close()
    repo.write("f.txt", v2)
    repo.ok("add", "f.txt")
    repo.ok("commit", "-m", "v2")
    doc = json.loads(repo.ok("gc", "--prune=now", "--json").out)
    assert doc["rewritten_deltas"] == 1
    assert b1.hex() in doc["removed_ids"]
    assert repo.ok("cat", "HEAD:f.txt").out == v2
    assert _fsck(repo)["unreachable"] == 0
    r = _open(repo)
    try:
        assert dict((o, b) for o, b, _ in r.store.storage_rows())[b2] is None
    finally:
        r.close()


def test_a_merge_in_progress_keeps_the_other_side(repo: CliRunner) -> None:
    repo.write("f.txt", "base\n")
    repo.ok("add", "f.txt")
    repo.ok("commit", "-m", "base")
    repo.ok("branch", "other")
    repo.write("f.txt", "ours\n")
    repo.ok("commit", "-m", "ours")
    repo.ok("switch", "other")
    repo.write("f.txt", "theirs\n")
    theirs = json.loads(repo.ok("commit", "-m", "theirs", "--json").out)["id"]
    repo.ok("switch", "main")
    assert repo("merge", "other").code == 1  # conflict: the merge waits
    repo.ok("branch", "-D", "other")
    r = _open(repo)
    try:
        origins = {root.origin for root in roots(r, parse_expiry("now", time.time())) if root.oid == from_hex(theirs)}
    finally:
        r.close()
    assert "merge state (theirs)" in origins
    repo.ok("gc", "--prune=now")
    assert repo.ok("cat", theirs).code == 0
    repo.write("f.txt", "both\n")
    repo.ok("resolve", "f.txt")
    repo.ok("commit", "-m", "merged")
    _fsck(repo)
    assert isinstance(ObjectId(from_hex(theirs)), bytes)


def test_a_stopped_cherry_pick_keeps_the_commits_it_has_still_to_pick(repo: CliRunner) -> None:
    repo.write("f.txt", "base\n")
    repo.write("g.txt", "g\n")
    repo.ok("add", "f.txt", "g.txt")
    repo.ok("commit", "-m", "base")
    repo.ok("switch", "-c", "other")
    repo.write("f.txt", "theirs\n")
    first = json.loads(repo.ok("commit", "-m", "conflicting", "--json").out)["id"]
    repo.write("g.txt", "g, later\n")
    later = json.loads(repo.ok("commit", "-m", "later", "--json").out)["id"]
    repo.ok("switch", "main")
    repo.write("f.txt", "ours\n")
    repo.ok("commit", "-m", "ours")
    assert repo("cherry-pick", first, later).code == 1  # stops on the first: `later` waits in the todo list
    repo.ok("branch", "-D", "other")
    repo.ok("gc", "--prune=now")
    assert repo.ok("cat", later).code == 0
    repo.write("f.txt", "both\n")
    repo.ok("resolve", "f.txt")
    repo.ok("cherry-pick", "--continue")
    assert (repo.cwd / "g.txt").read_text() == "g, later\n"
    _fsck(repo)
