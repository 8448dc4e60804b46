"""What `merge --auto` and `conflicts --auto` say about binary files a rule settled."""

from __future__ import annotations

import json
import os

from tests.helpers.cli import CliRunner


def _diverge(
    repo: CliRunner, base: dict[str, bytes], side: dict[str, bytes | None], main: dict[str, bytes | None]
) -> None:
    """Commit `base` on main, then `side`'s changes on branch side and `main`'s on main (None deletes)."""
    for name, data in base.items():
        repo.write(name, data)
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("branch", "side")
    for branch, files in (("side", side), ("main", main)):
        repo.ok("switch", branch)
        for name, data in files.items():
            if data is None:
                os.unlink(repo.cwd / name)
            else:
                repo.write(name, data)
        repo.ok("commit", "-A", "-m", branch)


def test_conflicts_auto_names_the_losing_binary_version_by_id(repo: CliRunner) -> None:
    _diverge(repo, {"b.bin": b"\0base"}, {"b.bin": b"\0side"}, {"b.bin": b"\0main"})
    repo.ok("merge", "--auto", "side")
    kept = (repo.cwd / "b.bin").read_bytes()
    lost = b"\0main" if kept == b"\0side" else b"\0side"
    (res,) = json.loads(repo.ok("conflicts", "--auto", "--json").out)["resolutions"]
    (hunk,) = res["hunks"]
    (alt,) = hunk["alternatives"]
    loser = res[alt["side"]]
    assert loser["id"] is not None and alt["id"] == loser["id"] and alt["kind"] == "file"
    assert repo.ok("cat", alt["id"]).out.encode() == lost
    text = repo.ok("conflicts", "--auto").out
    assert "(deleted)" not in text
    assert alt["id"][:12] in text


def test_binary_modify_delete_is_reported_by_its_own_rule(repo: CliRunner) -> None:
    _diverge(repo, {"b.bin": b"\0base", "keep": b"k\n"}, {"b.bin": b"\0side"}, {"b.bin": None})
    r = repo("merge", "--auto", "side")
    assert r.code == 0, r.err
    assert "auto-resolved (union)" not in r.out
    assert "auto-resolved (lww): b.bin" in r.out
    assert (repo.cwd / "b.bin").read_bytes() == b"\0side"
    (res,) = json.loads(repo.ok("conflicts", "--auto", "--json").out)["resolutions"]
    assert res["rule"] == "lww"
    (hunk,) = res["hunks"]
    (alt,) = hunk["alternatives"]
    assert alt["id"] is None  # the deletion lost: no version
    assert "(deleted)" in repo.ok("conflicts", "--auto").out
