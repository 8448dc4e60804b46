"""A hostile sync peer (a real process over --exec, lying on purpose): one error, nothing stored, no ref moves."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
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
