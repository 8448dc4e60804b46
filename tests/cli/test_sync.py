"""sync, push, fetch, pull, clone and remote over a local path, over stdio (--exec) and over "ssh" (VCRDT_SSH)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner

SERVE = shlex.join([sys.executable, "-m", "vcrdt", "serve", "--stdio"])


@pytest.fixture
def pair(cli: CliRunner) -> tuple[CliRunner, CliRunner]:
    """Replica `a` with one commit, and `b` cloned from it."""
    a = CliRunner(cli.cwd / "a")
    cli.ok("init", "a")
    a.write("f.txt", "one\n")
    a.ok("commit", "-A", "-m", "one")
    cli.ok("clone", "a", "b")
    return a, CliRunner(cli.cwd / "b")


def _heads(r: CliRunner, branch: str = "main") -> list[str]:
    for e in json.loads(r.ok("branch", "--json").out):
        if e["name"] == branch:
            return sorted(e["heads"])
    return []


def _log(r: CliRunner) -> list[str]:
    """The messages of HEAD's history, newest first."""
    return [c["message"].strip() for c in json.loads(r.ok("log", "--json").out)]


def _remote(how: str, peer: CliRunner) -> list[str]:
    """The arguments that name `peer` over a transport."""
    if how == "path":
        return [str(peer.cwd)]
    return ["--exec", f"{SERVE} {shlex.quote(str(peer.cwd))}"]


def test_clone_copies_branches_and_tags_records_origin_and_checks_out(cli: CliRunner) -> None:
    a = CliRunner(cli.cwd / "a")
    cli.ok("init", "a")
    a.write("f.txt", "one\n")
    a.ok("commit", "-A", "-m", "one")
    a.ok("branch", "dev")
    a.ok("tag", "v1")
    r = cli.ok("clone", "a", "b", "--json")
    doc = json.loads(r.out)
    assert doc["branch"] == "main" and doc["received"]["objects"] == 3
    b = CliRunner(cli.cwd / "b")
    assert (b.cwd / "f.txt").read_text() == "one\n"
    assert b.ok("remote", "list", "-v").out.split() == ["origin", str((cli.cwd / "a").resolve())]
    assert "dev" in b.ok("branch").out
    assert "v1" in b.ok("tag").out
    # A fresh replica id.
    ida = (a.cwd / ".vcrdt").resolve()
    assert ida != (b.cwd / ".vcrdt").resolve()
    b.ok("fsck")


def test_clone_into_a_non_empty_directory_is_refused_and_leaves_it(cli: CliRunner) -> None:
    cli.ok("init", "a")
    (cli.cwd / "b").mkdir()
    (cli.cwd / "b" / "keep.txt").write_text("mine\n")
    r = cli("clone", "a", "b")
    assert r.code == 1 and "is not empty" in r.err
    assert sorted(p.name for p in (cli.cwd / "b").iterdir()) == ["keep.txt"]


def test_clone_of_a_missing_source_leaves_nothing(cli: CliRunner) -> None:
    r = cli("clone", "nowhere", "b")
    assert r.code == 1 and r.err.startswith("error: cannot fetch from") and "does not exist" in r.err
    assert not (cli.cwd / "b").exists()


@pytest.mark.parametrize("how", ["path", "stdio"])
def test_sync_exchanges_both_ways_and_converges(how: str, pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    a.write("a.txt", "from a\n")
    a.ok("commit", "-A", "-m", "a2")
    b.write("b.txt", "from b\n")
    b.ok("commit", "-A", "-m", "b2")
    doc = json.loads(b.ok("sync", *_remote(how, a), "--json", "--stats", "--verify").out)
    assert doc["received"]["objects"] == 3 and doc["sent"]["objects"] == 3
    assert doc["verify"] == {"equal": True, "differs": None}
    assert _heads(a) == _heads(b) and len(_heads(a)) == 2
    a.ok("fsck")
    b.ok("fsck")


@pytest.mark.parametrize("how", ["path", "stdio"])
def test_noop_sync_is_one_round_trip(how: str, pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    doc = json.loads(b.ok("sync", *_remote(how, a), "--json", "--stats").out)
    assert doc["noop"] is True
    assert doc["stats"]["round_trips"] == 1
    assert doc["stats"]["bytes_sent"] + doc["stats"]["bytes_received"] <= 512


@pytest.mark.parametrize("how", ["path", "stdio"])
def test_equal_refs_with_different_objects_are_reconciled(how: str, pair: tuple[CliRunner, CliRunner]) -> None:
    """A branch made and deleted before the peer ever saw it leaves commits under no ref: the ref
    states join to the same digest, yet the object sets differ; sync sends them, then verify agrees."""
    a, b = pair
    a.ok("switch", "-c", "gone")
    a.write("g.txt", "on a branch deleted before any sync\n")
    a.ok("commit", "-A", "-m", "gone")
    a.ok("switch", "main")
    a.ok("branch", "-D", "gone")
    b.ok("fetch", *_remote(how, a))  # the tombstone arrives; the commit it names does not
    r = b("sync", *_remote(how, a), "--verify")
    assert r.code == 0, r.err
    assert "same Merkle roots" in r.err
    doc = json.loads(b.ok("sync", *_remote(how, a), "--json", "--stats").out)
    assert doc["noop"] is True and doc["stats"]["round_trips"] == 1
    b.ok("fsck")


@pytest.mark.parametrize("how", ["path", "stdio"])
def test_push_moves_the_peer_and_fetch_brings_back(how: str, pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    b.write("f.txt", "two\n")
    b.ok("commit", "-A", "-m", "two")
    r = b.ok("push", *_remote(how, a))
    assert "main (there): now at" in r.out
    # The peer's checked-out branch moved forward and its clean work tree followed.
    assert (a.cwd / "f.txt").read_text() == "two\n"
    assert _log(a) == ["two", "one"]
    a.write("f.txt", "three\n")
    a.ok("commit", "-A", "-m", "three")
    r = b.ok("fetch", *_remote(how, a))
    assert "main: now at" in r.out
    assert (b.cwd / "f.txt").read_text() == "three\n"
    a.ok("fsck")
    b.ok("fsck")


def test_push_never_loses_a_concurrent_head(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    a.write("a.txt", "a\n")
    a.ok("commit", "-A", "-m", "a2")
    b.write("b.txt", "b\n")
    b.ok("commit", "-A", "-m", "b2")
    doc = json.loads(b.ok("push", str(a.cwd), "--json").out)
    assert doc["sent"]["objects"] == 3  # b2's commit, tree and blob: not the history a already has
    heads = _heads(a)
    assert len(heads) == 2  # siblings there, nothing overwritten
    assert (a.cwd / "a.txt").exists()


def test_push_to_a_dirty_checked_out_branch_is_refused(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    a.write("f.txt", "local edit\n")
    b.write("f.txt", "two\n")
    b.ok("commit", "-A", "-m", "two")
    r = b("push", str(a.cwd))
    assert r.code == 1 and "local changes" in r.err
    assert (a.cwd / "f.txt").read_text() == "local edit\n"
    assert _log(a) == ["one"]


@pytest.mark.parametrize("how", ["path", "stdio"])
def test_pull_joins_the_siblings(how: str, pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    a.write("a.txt", "a\n")
    a.ok("commit", "-A", "-m", "a2")
    b.write("b.txt", "b\n")
    b.ok("commit", "-A", "-m", "b2")
    b.ok("pull", *_remote(how, a))
    assert len(_heads(b)) == 1
    assert (b.cwd / "a.txt").read_text() == "a\n" and (b.cwd / "b.txt").read_text() == "b\n"
    b.ok("fsck")


def test_sync_auto_merge_converges_without_ping_pong(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    a.write("a.txt", "a\n")
    a.ok("commit", "-A", "-m", "a2")
    b.write("b.txt", "b\n")
    b.ok("commit", "-A", "-m", "b2")
    b.ok("sync", str(a.cwd), "--auto-merge")
    a.ok("sync", str(b.cwd), "--auto-merge")
    assert _heads(a) == _heads(b) and len(_heads(a)) == 1
    n = len(_log(a))
    b.ok("sync", str(a.cwd), "--auto-merge")
    a.ok("sync", str(b.cwd), "--auto-merge")
    assert len(_log(a)) == n == len(_log(b))


def test_dry_run_changes_nothing(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    a.write("a.txt", "a\n")
    a.ok("commit", "-A", "-m", "a2")
    b.write("b.txt", "b\n")
    b.ok("commit", "-A", "-m", "b2")
    before_a, before_b = _heads(a), _heads(b)
    doc = json.loads(b.ok("sync", str(a.cwd), "--dry-run", "--json").out)
    assert doc["dry_run"] is True
    assert [x["name"] for x in doc["received"]["branches"]] == ["main"]
    assert _heads(a) == before_a and _heads(b) == before_b
    assert not (b.cwd / "a.txt").exists()
    assert _log(b) == ["b2", "one"]


def test_remote_add_list_remove_and_default_origin(pair: tuple[CliRunner, CliRunner], cli: CliRunner) -> None:
    a, b = pair
    b.ok("remote", "add", "up", str(a.cwd))
    assert b.ok("remote", "list").out.split() == ["origin", "up"]
    assert json.loads(b.ok("remote", "list", "--json").out)["remotes"][1] == {"name": "up", "url": str(a.cwd)}
    r = b("remote", "add", "up", "x")
    assert r.code == 1 and "already exists" in r.err
    r = b("remote", "add", "bad name", "x")
    assert r.code == 1 and "invalid remote name" in r.err
    b.ok("remote", "remove", "up")
    assert b.ok("remote", "list").out.split() == ["origin"]
    r = b("remote", "remove", "up")
    assert r.code == 1 and "no remote named 'up'" in r.err
    a.write("n.txt", "n\n")
    a.ok("commit", "-A", "-m", "n")
    b.ok("sync")  # origin
    assert _log(b)[0] == "n"
    # The checked-out branch's upstream comes before origin.
    b.ok("config", "upstream.main", "nowhere")
    r = b("sync")
    assert r.code == 1 and "cannot sync with" in r.err and "nowhere" in r.err
    b.ok("config", "--unset", "upstream.main")
    b.ok("remote", "remove", "origin")
    r = b("sync")
    assert r.code == 1 and "no remote given" in r.err


def test_ssh_url_runs_the_ssh_command_from_vcrdt_ssh(
    pair: tuple[CliRunner, CliRunner], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VCRDT_SSH names a script that runs the remote command here, as `ssh HOST CMD` would there."""
    a, b = pair
    log = tmp_path / "ssh.log"
    script = tmp_path / "fake-ssh"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "vcrdt").write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m vcrdt "$@"\n')
    (bindir / "vcrdt").chmod(0o755)
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {shlex.quote(str(log))}\n'
        'while [ "$#" -gt 1 ]; do shift; done\n'
        f'PATH={shlex.quote(str(bindir))}:$PATH exec sh -c "$1"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("VCRDT_SSH", str(script))
    a.write("s.txt", "over ssh\n")
    a.ok("commit", "-A", "-m", "ssh")
    b.ok("fetch", f"ssh://ada@example.org:2222{a.cwd}")
    assert _log(b)[0] == "ssh"
    a.write("s.txt", "again\n")
    a.ok("commit", "-A", "-m", "scp")
    b.ok("sync", f"ada@example.org:{a.cwd}")
    assert _log(b)[0] == "scp"
    calls = log.read_text().splitlines()
    assert calls[0].startswith("-p 2222 ada@example.org vcrdt serve --stdio ")
    assert calls[1].startswith("ada@example.org vcrdt serve --stdio ")


def test_exec_command_that_fails_is_one_error(pair: tuple[CliRunner, CliRunner]) -> None:
    _, b = pair
    r = b("sync", "--exec", "exit 3")
    assert r.code == 1 and "Traceback" not in r.err
    assert len([x for x in r.err.splitlines() if x.startswith("error:")]) == 1
    # The command ended before reading the request, or before answering it.
    assert (
        "the connection closed while sending (it exited with status 3)" in r.err
        or "the command ended before answering (it exited with status 3)" in r.err
    )


def test_serve_needs_a_repository_and_stdio_takes_one(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    r = a("serve")
    assert r.code == 2 and "PATHS" in r.err
    r = a("serve", "--stdio", ".", str(b.cwd))
    assert r.code == 2 and "--stdio" in r.err


def test_help_of_every_verb(cli: CliRunner) -> None:
    for verb in (["sync"], ["push"], ["pull"], ["clone"], ["fetch"], ["serve"], ["remote"], ["remote", "add"]):
        r = cli.ok(*verb, "--help")
        assert "Usage" in r.out


def _orphan(root: Path, body: bytes) -> str:
    """Store a blob no commit names (as an interrupted add leaves), straight through the store."""
    from vcrdt.repo import Repository, Settings

    with Repository(root, Settings()) as r, r.transaction():
        return r.store.put("blob", body).hex()


def _has(root: Path, oid: str) -> bool:
    from vcrdt.ids import ObjectId
    from vcrdt.repo import Repository, Settings

    with Repository(root, Settings(), read_only=True) as r:
        return r.store.has(ObjectId(bytes.fromhex(oid)))


@pytest.mark.parametrize("how", ["path", "stdio"])
def test_sync_reconciles_what_the_dag_cannot_express(how: str, pair: tuple[CliRunner, CliRunner]) -> None:
    """Objects no ref reaches, on both sides: the Merkle descent finds them; --verify then sees equal roots."""
    a, b = pair
    in_a = [_orphan(a.cwd, f"only in a {i}\n".encode()) for i in range(40)]
    in_b = _orphan(b.cwd, b"only in b\n")
    b.write("n.txt", "new\n")
    b.ok("commit", "-A", "-m", "new")
    doc = json.loads(b.ok("sync", *_remote(how, a), "--json", "--stats", "--verify").out)
    assert doc["verify"] == {"equal": True, "differs": None}
    assert all(_has(b.cwd, o) for o in in_a) and _has(a.cwd, in_b)
    assert doc["received"]["objects"] == 40
    a.ok("fsck")
    b.ok("fsck")
    # Now equal: the next sync is a no-op of one round trip.
    doc = json.loads(b.ok("sync", *_remote(how, a), "--json", "--stats").out)
    assert doc["noop"] and doc["stats"]["round_trips"] == 1


def test_verify_names_the_first_differing_bucket(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    oid = _orphan(a.cwd, b"extra\n")
    r = b("fetch", str(a.cwd), "--verify")
    assert r.code == 1
    assert f"error: verify: the Merkle roots differ, first at bucket objects/{oid[:2]}" in r.err


def test_clone_over_stdio(cli: CliRunner) -> None:
    a = CliRunner(cli.cwd / "a")
    cli.ok("init", "a")
    a.write("f.txt", "one\n")
    a.ok("commit", "-A", "-m", "one")
    cli.ok("clone", "--exec", f"{SERVE} {shlex.quote(str(a.cwd))}", "b")
    assert (cli.cwd / "b" / "f.txt").read_text() == "one\n"
    cli.ok("fsck", cwd=cli.cwd / "b")
