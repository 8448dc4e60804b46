"""A hostile sync peer (a real process over --exec, lying on purpose): one error, nothing stored, no ref moves."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.reliability.checks import commit_parents, read_disk
from tests.security.hostile_source import assert_refused, victim_state

PEER = Path(__file__).parents[1] / "helpers" / "sync_peer.py"


def _peer(mode: str, root: Path) -> str:
    return shlex.join([sys.executable, str(PEER), mode, str(root)])


@pytest.fixture
def source(repo: CliRunner) -> Path:
    """A replica beside the victim with two commits on main and a branch."""
    root = repo.cwd.parent / "src"
    repo.ok("init", str(root))
    (root / "a.txt").write_text("from the source\n")
    repo.ok("commit", "-A", "-m", "one", cwd=root)
    (root / "b.txt").write_text("more\n")
    repo.ok("commit", "-A", "-m", "two", cwd=root)
    repo.ok("branch", "side", cwd=root)
    return root


@pytest.fixture
def victim(repo: CliRunner) -> CliRunner:
    repo.write("mine.txt", "mine\n")
    repo.ok("commit", "-A", "-m", "mine")
    return repo


CASES = {
    # mode: what the error line names
    "wrong-id": ("hashes to",),
    "truncate": ("truncated",),
    "no-objects": ("names commit", "which was not sent"),
    "oversized": ("more than limits.max_frame_size",),
    "garbage": ("frame",),
    "bomb": ("does not decompress to at most 10 bytes",),
    "head-blob": ("branch 'main' names", "a blob, not a commit"),
}


@pytest.mark.hostile
@pytest.mark.parametrize("verb", ["fetch", "sync"])
@pytest.mark.parametrize("mode", sorted(CASES))
def test_hostile_peer_is_refused(mode: str, verb: str, source: Path, victim: CliRunner) -> None:
    before = victim_state(victim.cwd)
    r = victim(verb, "--exec", _peer(mode, source))
    assert_refused(r.code, r.err, *CASES[mode])
    assert victim_state(victim.cwd) == before
    victim.ok("fsck")


# Packed objects and deltas (protocol version 2): each refused with one line naming the rule.
PACKED_CASES = {
    "packed-bomb": ("declares 104857600 bytes, not the 10",),
    "packed-delta-bomb": ("a delta on", "declares 104857600 bytes, not the 10"),
    "packed-missing-base": ("a delta on 000102", "neither here nor earlier in the stream"),
    "packed-far-base": ("the object 5 back, but only 0 came before",),
    "packed-truncate": ("truncated",),
    "packed-trailing": ("packed", "does not decompress", "unused data"),
}


@pytest.mark.hostile
@pytest.mark.parametrize("verb", ["fetch", "sync"])
@pytest.mark.parametrize("mode", sorted(PACKED_CASES))
def test_hostile_packed_objects_are_refused(mode: str, verb: str, source: Path, victim: CliRunner) -> None:
    before = victim_state(victim.cwd)
    r = victim(verb, "--exec", _peer(mode, source))
    assert_refused(r.code, r.err, *PACKED_CASES[mode])
    assert victim_state(victim.cwd) == before
    victim.ok("fsck")


# Tree deltas (protocol version 4): each refused with one line naming the rule, nothing stored.
TREE_DELTA_CASES = {
    "tdelta-range": ("tree delta #", "removes entry 1000 of a base of 1 entries"),
    "tdelta-unsorted": ("tree delta #", "not sorted by name and unique after applying it"),
    "tdelta-duplicate": ("tree delta #", "not sorted by name and unique after applying it"),
    "tdelta-zero": ("entry b'b.txt' names the zero id",),
    "tdelta-missing-base": ("on tree 000102", "neither here nor earlier in the stream"),
    "tdelta-blob-base": ("tree delta #", "its base is a blob, not a tree"),
    "tdelta-huge-insert": ("announces 1000000000 inserted entries",),
    "tdelta-size": ("tree delta #", "not the", "it declares"),
}


@pytest.mark.hostile
@pytest.mark.parametrize("verb", ["fetch", "sync"])
@pytest.mark.parametrize("mode", sorted(TREE_DELTA_CASES))
def test_hostile_tree_deltas_are_refused(mode: str, verb: str, source: Path, victim: CliRunner) -> None:
    before = victim_state(victim.cwd)
    r = victim(verb, "--exec", _peer(mode, source))
    assert_refused(r.code, r.err, *TREE_DELTA_CASES[mode])
    assert victim_state(victim.cwd) == before
    victim.ok("fsck")


@pytest.mark.hostile
def test_replayed_response_is_refused(source: Path, victim: CliRunner) -> None:
    """A second copy of an answer arriving where the next request's answer is due: refused, nothing kept."""
    victim.ok("fetch", "--exec", _peer("honest", source))  # victim now has main
    (source / "c.txt").write_text("c\n")
    victim.ok("commit", "-A", "-m", "three", cwd=source)
    victim.write("mine.txt", "mine 2\n")
    victim.ok("commit", "-A", "-m", "mine 2")
    before = victim_state(victim.cwd)
    r = victim("sync", "--exec", _peer("replay", source))
    assert r.code == 1 and "Traceback" not in r.err, r.err
    assert len([x for x in r.err.splitlines() if x.startswith("error:")]) == 1, r.err
    # The first answer was sound and may have been taken; the replayed one moved nothing on the peer.
    assert victim_state(victim.cwd)[2] != [] and before is not None
    victim.ok("fsck")


def test_honest_peer_over_exec_works(source: Path, victim: CliRunner) -> None:
    victim.ok("fetch", "--exec", _peer("honest", source))
    refs = victim_state(victim.cwd)[2]
    assert any(name == "refs/heads/side" for name, _ in refs)
    victim.ok("fsck")


@pytest.mark.hostile
def test_stalled_peer_is_given_up(source: Path, victim: CliRunner) -> None:
    """A peer that never answers: refused after limits.stall_timeout, nothing changed."""
    victim.ok("config", "limits.stall_timeout", "1")
    before = victim_state(victim.cwd)
    r = victim("sync", "--exec", "exec sleep 60")
    assert_refused(r.code, r.err, "sent nothing for 1 s", "limits.stall_timeout")
    assert victim_state(victim.cwd) == before


# --- forged history, over stdio and over HTTP (a lying server in a child process) ---

FORGED_CASES = {
    # mode: what the error line names
    "tree-dotdot": ("invalid path '..'", "'..' component not allowed"),
    "tree-abs": ("slash inside an entry name",),
    "tree-meta": ("invalid path '.vcrdt'", "reserved for repository metadata"),
    "tree-case": ("invalid path '.VCRDT'", "reserved for repository metadata"),
    "bad-clock": ("refusing a commit whose lamport clock",),
    "ghost-ref": ("branch 'ghost' names commit 4242", "which was not sent"),
}


@contextmanager
def _lying_http(mode: str, root: Path) -> Iterator[str]:
    """The peer's lies served over HTTP by a child process; yield the repository's URL."""
    proc = subprocess.Popen([sys.executable, str(PEER), "--http", mode, str(root)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()  # printed once it listens
        assert line.startswith("serving "), line
        yield line.split()[-1]
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _remote(how: str, mode: str, root: Path, stack: ExitStack) -> list[str]:
    if how == "http":
        return [stack.enter_context(_lying_http(mode, root))]
    return ["--exec", _peer(mode, root)]


@pytest.mark.hostile
@pytest.mark.parametrize("how", ["stdio", "http"])
@pytest.mark.parametrize("verb", ["fetch", "sync"])
@pytest.mark.parametrize("mode", sorted(FORGED_CASES))
def test_forged_history_is_refused(mode: str, verb: str, how: str, source: Path, victim: CliRunner) -> None:
    before = victim_state(victim.cwd)
    with ExitStack() as stack:
        r = victim(verb, *_remote(how, mode, source, stack))
    assert_refused(r.code, r.err, *FORGED_CASES[mode])
    assert victim_state(victim.cwd) == before
    victim.ok("fsck")


@pytest.mark.hostile
@pytest.mark.parametrize("how", ["stdio", "http"])
def test_symlink_out_then_a_file_beneath_it_writes_nothing_outside(
    how: str, source: Path, repo: CliRunner, outside: Path
) -> None:
    """``link`` -> the directory beside the work tree, then ``link/evil.txt``: fetched, switched to, merged.

    Nothing may land under `outside` (the fixture fails the test otherwise): switching to the
    commit with the link is refused with one line, the child with the file beneath it and the
    merge write only inside the work tree, and the repository stays sound.
    """
    victim = repo
    victim.ok("fetch", "--exec", _peer("honest", source))  # a replica of the source, one commit ahead
    victim.write("mine.txt", "mine\n")
    victim.ok("commit", "-A", "-m", "mine")
    target = os.path.relpath(outside, victim.cwd)
    with ExitStack() as stack:
        victim.ok("fetch", *_remote(how, f"link-escape:{target}", source, stack))
    heads = [h for b in json.loads(victim.ok("branch", "--json").out) if b["name"] == "main" for h in b["heads"]]
    second = next(h for h in heads if json.loads(victim.ok("show", h, "--json").out)["message"] == "forged 2\n")
    (first,) = commit_parents(victim.cwd, second)
    # The history is stored (a link is data); writing the escaping link is refused, whole.
    before = read_disk(victim.cwd)
    r = victim("switch", "--detach", first)
    assert_refused(r.code, r.err, "invalid path 'link'", "points outside the work tree")
    assert read_disk(victim.cwd) == before
    r = victim("switch", "--detach", second)
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert (victim.cwd / "link" / "evil.txt").is_file() and not (victim.cwd / "link").is_symlink()
    victim.ok("switch", "main")
    r = victim("merge")
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert (victim.cwd / "link" / "evil.txt").is_file() and (victim.cwd / "mine.txt").is_file()
    victim.ok("fsck")


@pytest.mark.hostile
@pytest.mark.parametrize("mode", ["stall-head", "stall-body"])
def test_stalled_http_server_is_given_up(mode: str, source: Path, victim: CliRunner) -> None:
    """A server that never answers, or stops half-way through its answer: refused after limits.stall_timeout."""
    victim.ok("config", "limits.stall_timeout", "1")
    before = victim_state(victim.cwd)
    with _lying_http(mode, source) as url:
        r = victim("sync", url)
    assert_refused(r.code, r.err, "sent nothing for 1 s", "limits.stall_timeout")
    assert victim_state(victim.cwd) == before
    victim.ok("fsck")


@pytest.mark.hostile
@pytest.mark.parametrize("mode", sorted(CASES))
def test_hostile_http_server_is_refused(mode: str, source: Path, victim: CliRunner) -> None:
    """The same lies as `test_hostile_peer_is_refused`, from an HTTP server."""
    before = victim_state(victim.cwd)
    with _lying_http(mode, source) as url:
        r = victim("sync", url)
    assert_refused(r.code, r.err, *CASES[mode])
    assert victim_state(victim.cwd) == before
    victim.ok("fsck")
