"""Large objects through a clone over HTTP and a fetch over stdio (real processes on 127.0.0.1).

Bodies over the 1 MiB wire piece (sent as chunk frames) and over the 8 MiB `LARGE_OBJECT`
(stored in chunks), incompressible (media-like) and compressible (text): each arrives
intact, both stores pass `fsck`, and a damaged chunk is still refused by a later checkout.
"""

from __future__ import annotations

import random
import shlex
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.helpers.http_serve import http_served
from vcrdt.hashing import object_id
from vcrdt.ids import ObjectId
from vcrdt.store import CHUNK_SIZE, LARGE_OBJECT
from vcrdt.store.zstd import raw_frame

SERVE = shlex.join([sys.executable, "-m", "vcrdt", "serve", "--stdio"])


def _text(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words = b"alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    lines = [b" ".join(rng.choices(words, k=rng.randint(3, 12))) for _ in range(512)]
    out = b"".join(b"%07d %s\n" % (i, lines[i % 512]) for i in range(size // 40 + 1))
    return out[:size]


FILES = {
    "media/clip.bin": random.Random(1).randbytes(LARGE_OBJECT + CHUNK_SIZE // 2 + 17),  # chunked
    "media/photo.jpg": random.Random(2).randbytes(3 * CHUNK_SIZE + 5),  # over a piece, stored whole
    "text/log.txt": _text(LARGE_OBJECT + 2 * CHUNK_SIZE + 3, 3),  # chunked
    "text/notes.txt": _text(CHUNK_SIZE + CHUNK_SIZE // 3, 4),  # over a piece, stored whole
    "small.txt": b"small\n",
}


@pytest.fixture
def source(cli: CliRunner) -> CliRunner:
    cli.ok("init", "src")
    src = CliRunner(cli.cwd / "src")
    for rel, body in FILES.items():
        src.write(rel, body)
    src.ok("commit", "-A", "-m", "large files")
    return src


def _chunks(root: Path, oid: ObjectId) -> list[bytes]:
    conn = sqlite3.connect(f"file:{root / '.vcrdt' / 'store.db'}?mode=ro", uri=True)
    try:
        return [bytes(d) for (d,) in conn.execute("SELECT data FROM chunks WHERE id = ? ORDER BY seq", (oid,))]
    finally:
        conn.close()


def _same_files(root: Path) -> None:
    for rel, body in FILES.items():
        assert (root / rel).read_bytes() == body, rel


def test_large_objects_round_trip_over_http(cli: CliRunner, source: CliRunner) -> None:
    with http_served(source.cwd, public=True) as urls:
        cli.ok("clone", urls["src"], "c")
    c = CliRunner(cli.cwd / "c")
    _same_files(c.cwd)
    c.ok("fsck")
    source.ok("fsck")
    for rel in ("media/clip.bin", "text/log.txt"):
        oid = object_id("blob", FILES[rel])
        # The sender forwards its stored chunk frames and the receiver keeps them: the same rows.
        assert _chunks(c.cwd, oid) == _chunks(source.cwd, oid) != []


def test_large_objects_round_trip_over_stdio(cli: CliRunner, source: CliRunner) -> None:
    cli.ok("init", "d")
    d = CliRunner(cli.cwd / "d")
    d.ok("fetch", "--exec", f"{SERVE} {source.cwd}")
    _same_files(d.cwd)
    d.ok("fsck")
    # And back: a push of a new large file over the same stdio transport.
    body = random.Random(5).randbytes(LARGE_OBJECT + 1)
    d.write("media/more.bin", body)
    d.ok("commit", "-A", "-m", "more")
    source.ok("switch", "-c", "elsewhere")  # the pushed branch is not the one checked out there
    d.ok("push", "--exec", f"{SERVE} {source.cwd}")
    source.ok("switch", "main")
    assert (source.cwd / "media" / "more.bin").read_bytes() == body
    source.ok("fsck")


def test_a_damaged_chunk_is_refused_by_a_later_checkout_and_fsck(cli: CliRunner, source: CliRunner) -> None:
    with http_served(source.cwd, public=True) as urls:
        cli.ok("clone", urls["src"], "c")
    c = CliRunner(cli.cwd / "c")
    oid = object_id("blob", FILES["media/clip.bin"])
    conn = sqlite3.connect(c.cwd / ".vcrdt" / "store.db")
    try:
        # A well-formed chunk of the right size holding other bytes.
        bad = raw_frame(random.Random(9).randbytes(CHUNK_SIZE))
        conn.execute("UPDATE chunks SET data = ? WHERE id = ? AND seq = 1", (bad, oid))
        conn.commit()
    finally:
        conn.close()
    (c.cwd / "media" / "clip.bin").unlink()
    r = c("restore", "media/clip.bin")
    assert r.code == 1
    assert f"object {oid.hex()} hashes to" in r.err
    r = c("fsck")
    assert r.code == 1 and oid.hex() in r.out + r.err
