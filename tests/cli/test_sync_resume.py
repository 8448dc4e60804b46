"""A sync broken off half-way keeps what it verified; running it again sends only what is still missing."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from tests.helpers.cli import CliRunner
from tests.security.hostile_source import victim_state

PEER = Path(__file__).parents[1] / "helpers" / "sync_peer.py"
MIB = 1 << 20


def _source(cli: CliRunner) -> Path:
    """Six commits of two incompressible 1 MiB files each: about 12 MiB of object payload."""
    root = cli.cwd / "src"
    cli.ok("init", str(root))
    for i in range(6):
        for j in range(2):
            (root / f"f{i}-{j}.bin").write_bytes(os.urandom(MIB))
        cli.ok("commit", "-A", "-m", f"c{i}", cwd=root)
    return root


def test_broken_off_fetch_resumes_paying_only_for_what_is_missing(cli: CliRunner) -> None:
    src = _source(cli)
    # The whole transfer, measured on a fresh replica.
    cli.ok("init", "full")
    full = json.loads(cli.ok("fetch", str(src), "--json", "--stats", cwd=cli.cwd / "full").out)["stats"]
    assert full["payload_received"] > 12 * MIB

    cli.ok("init", "victim")
    victim = cli.cwd / "victim"
    cut = int(full["bytes_received"] * 0.7)
    peer = shlex.join([sys.executable, str(PEER), f"cut:{cut}", str(src)])
    r = cli("fetch", "--exec", peer, cwd=victim)
    assert r.code == 1 and "truncated" in r.err
    objects, _, refs, _ = victim_state(victim)
    assert refs == []  # no ref moved
    assert objects > 0  # but the verified batches were kept
    cli.ok("fsck", cwd=victim)

    again = json.loads(cli.ok("fetch", str(src), "--json", "--stats", cwd=victim).out)["stats"]
    # Only what the first run did not keep crosses again, plus at most the commit that was in flight
    # (its two files, 2 MiB): never the whole history.
    assert again["objects_received"] + objects <= full["objects_received"] + 3
    assert again["payload_received"] <= full["payload_received"] - cut // 2
    assert victim_state(victim)[2] == victim_state(cli.cwd / "full")[2]
    cli.ok("fsck", cwd=victim)


def test_broken_off_push_resumes_paying_only_for_what_is_missing(cli: CliRunner) -> None:
    src = _source(cli)
    cli.ok("init", "target")
    target = cli.cwd / "target"
    # Push the whole history into an empty replica through a connection cut at about 70%.
    cli.ok("init", "probe")
    full = json.loads(cli.ok("push", str(cli.cwd / "probe"), "--json", "--stats", cwd=src).out)["stats"]
    cut = int(full["bytes_sent"] * 0.7)
    relay = shlex.join(
        [sys.executable, "-c", _CUT_REQUEST, str(cut), sys.executable, "-m", "vcrdt", "serve", "--stdio", str(target)]
    )
    r = cli("push", "--exec", relay, cwd=src)
    assert r.code == 1
    objects, _, refs, _ = victim_state(target)
    assert refs == [] and objects > 0
    cli.ok("fsck", cwd=target)
    again = json.loads(cli.ok("push", str(target), "--json", "--stats", cwd=src).out)["stats"]
    assert again["objects_sent"] + objects <= full["objects_sent"] + 3
    assert again["payload_sent"] <= full["payload_sent"] - cut // 2
    cli.ok("fsck", cwd=target)


# A relay that passes at most N bytes of requests to the server, then ends both directions.
_CUT_REQUEST = r"""
import os, subprocess, sys, threading
limit = int(sys.argv[1])
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def back():
    while True:
        d = p.stdout.read1(65536)
        if not d:
            return
        sys.stdout.buffer.write(d); sys.stdout.buffer.flush()
threading.Thread(target=back, daemon=True).start()
sent = 0
while True:
    d = sys.stdin.buffer.read1(65536)
    if not d:
        break
    d = d[: limit - sent]
    p.stdin.write(d); p.stdin.flush()
    sent += len(d)
    if sent >= limit:
        break
p.stdin.close()
p.wait()
os._exit(0)
"""
