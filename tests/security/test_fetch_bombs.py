"""Decompression bombs from a replica: refused by size limits before anything is allocated or stored.

Each bomb is a few kilobytes on disk that declares gigabytes. The fetch runs in a child process
whose address space is capped at 1 GiB: allocating what the bomb declares would die with
MemoryError there, so passing proves the bomb was refused before the allocation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.security.hostile_source import (
    CHUNKED,
    GIB,
    MIB,
    ZEROS_3GIB,
    ZSTD,
    HostileSource,
    assert_refused,
    rle_frame,
    run_limited,
    victim_state,
)
from vcrdt.hashing import object_id
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind


@pytest.fixture
def source(repo: CliRunner) -> HostileSource:
    """A hostile replica beside the victim, with one ordinary commit."""
    root = repo.cwd.parent / "src"
    repo.ok("init", str(root))
    src = HostileSource(root)
    src.branch("main", src.commit(src.tree(("ok.txt", EntryKind.FILE, src.put("blob", b"fine\n")))))
    return src


@pytest.fixture
def victim(repo: CliRunner) -> CliRunner:
    """The victim repository, with one commit of its own."""
    repo.write("mine.txt", "mine\n")
    repo.ok("commit", "-A", "-m", "mine")
    return repo


def _whole_zeros(src: HostileSource) -> ObjectId:
    """3 GiB of zeros, stored whole: a 98 KB frame with the object's true id."""
    return src.row(ZEROS_3GIB, "blob", 3 * GIB, ZSTD, rle_frame(3 * GIB))


def _tiny_id_huge_size(src: HostileSource) -> ObjectId:
    """A five-byte blob's id on a row declaring 3 GiB, with a frame of that size."""
    return src.row(object_id("blob", b"tiny\n"), "blob", 3 * GIB, ZSTD, rle_frame(3 * GIB))


def _chunk_of_4gib(src: HostileSource) -> ObjectId:
    """A chunked 5 GiB object whose first chunk declares 4 GiB (chunks hold 1 MiB)."""
    oid = src.row(ObjectId(b"\x42" * 32), "blob", 5 * GIB, CHUNKED, None)
    src.chunk(oid, 0, rle_frame(4 * GIB))
    return oid


BOMBS: dict[str, tuple[Callable[[HostileSource], ObjectId], dict[str, str], tuple[str, ...]]] = {
    # name: (the bomb, the victim's config, what the error names)
    "whole-frame-3gib": (_whole_zeros, {}, ("limits.max_object_size", "3221225472")),
    "tiny-id-3gib": (_tiny_id_huge_size, {}, ("limits.max_object_size", "3221225472")),
    "chunk-4gib": (_chunk_of_4gib, {}, ("limits.max_object_size", "5368709120")),
    # With the per-object limit raised, the storage rules still refuse before allocating.
    "whole-frame-3gib-limit-raised": (
        _whole_zeros,
        {"limits.max_object_size": "8G"},
        ("stored whole", "must be chunked"),
    ),
    "tiny-id-3gib-limit-raised": (
        _tiny_id_huge_size,
        {"limits.max_object_size": "8G"},
        ("stored whole", "must be chunked"),
    ),
    "chunk-4gib-limit-raised": (
        _chunk_of_4gib,
        {"limits.max_object_size": "8G"},
        ("chunk 0", "4294967296", f"at most {MIB}"),
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bomb_is_refused_before_allocating(name: str, source: HostileSource, victim: CliRunner) -> None:
    make, config, needles = BOMBS[name]
    for key, value in config.items():
        victim.ok("config", key, value)
    oid = make(source)
    source.branch("bomb", source.commit(source.tree(("big.bin", EntryKind.FILE, oid))))
    before = victim_state(victim.cwd)
    r = run_limited("fetch", str(source.root), cwd=victim.cwd)
    assert_refused(r.returncode, r.stderr, oid.hex(), *needles)
    assert victim_state(victim.cwd) == before
    victim.ok("fsck")


@pytest.mark.hostile
def test_commit_too_large_to_read_is_refused(source: HostileSource, victim: CliRunner) -> None:
    """A branch head declaring a 1000 MiB chunked commit: read whole, it would take 2 GB."""
    oid = source.row(ObjectId(b"\x43" * 32), "commit", 1000 * MIB, CHUNKED, None)
    piece = rle_frame(MIB, ord("x"))
    source.sql(*[("INSERT INTO chunks(id, seq, data) VALUES (?,?,?)", (oid, i, piece)) for i in range(1000)])
    source.branch("huge", oid)
    before = victim_state(victim.cwd)
    r = run_limited("fetch", str(source.root), cwd=victim.cwd)
    assert_refused(r.returncode, r.stderr, oid.hex(), "limits.max_tree_size")
    assert victim_state(victim.cwd) == before
    victim.ok("fsck")


@pytest.mark.hostile
def test_fetch_over_the_total_limit_is_refused(source: HostileSource, victim: CliRunner) -> None:
    """Three 40 KB blobs against a 64 KiB limit on the whole fetch: refused, nothing stored."""
    blobs = [source.put("blob", os.urandom(40_000)) for _ in range(3)]
    source.branch("many", source.commit(source.tree(*((f"b{i}", EntryKind.FILE, b) for i, b in enumerate(blobs)))))
    victim.ok("config", "limits.max_fetch_size", "64K")
    before = victim_state(victim.cwd)
    r = victim("fetch", str(source.root))
    assert_refused(r.code, r.err, "limits.max_fetch_size", "65536")
    assert victim_state(victim.cwd) == before
    victim.ok("fsck")


def test_fetch_under_the_limits_succeeds(source: HostileSource, victim: CliRunner) -> None:
    blobs = [source.put("blob", os.urandom(40_000)) for _ in range(3)]
    source.branch("many", source.commit(source.tree(*((f"b{i}", EntryKind.FILE, b) for i, b in enumerate(blobs)))))
    victim.ok("config", "limits.max_fetch_size", "1M")
    victim.ok("config", "limits.max_object_size", "64k")
    victim.ok("fetch", str(source.root))
    objects, _, refs, _ = victim_state(victim.cwd)
    assert any(name == "refs/heads/many" for name, _ in refs)
    assert objects == 3 + 3 + 5  # the victim's own three, main's three, many's tree, commit and blobs
    victim.ok("fsck")


@pytest.mark.parametrize(
    ("value", "rule"),
    [("lots", "not a size"), ("-5", "not a size"), ("0", "at least 1"), ("12Q", "not a size")],
)
def test_bad_limit_value_is_a_config_error(value: str, rule: str, source: HostileSource, victim: CliRunner) -> None:
    victim.ok("config", "--", "limits.max_fetch_size", value)
    before = victim_state(victim.cwd)
    r = victim("fetch", str(source.root))
    assert_refused(r.code, r.err, "limits.max_fetch_size", rule)
    assert victim_state(victim.cwd) == before


def test_large_blob_streams_within_the_address_limit(source: HostileSource, victim: CliRunner) -> None:
    """A real 40 MiB chunked blob (incompressible) is copied chunk by chunk under the 1 GiB cap."""
    src_work = Path(source.root)
    (src_work / "big.bin").write_bytes(os.urandom(40 * MIB))
    victim.ok("commit", "-A", "-m", "big", cwd=src_work)
    r = run_limited("fetch", str(source.root), cwd=victim.cwd)
    assert r.returncode == 0, r.stderr
    victim.ok("fsck")
