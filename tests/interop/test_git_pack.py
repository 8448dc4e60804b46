"""Exports write one pack (with its index) once they have more than a handful of objects.

The pack must be one git accepts as its own: `git verify-pack`, `git fsck --strict`, the same
ids a loose export gives, and readable by libgit2 (a second, incremental export and an import
of the export read it back).
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from tests.interop.gitbuild import every_object, git, init, refs
from vcrdt.gitio.exporter import GitWriter
from vcrdt.gitio.pack import PackWriter

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")


def _history(root: Path, files: int, commits: int, object_format: str = "sha1") -> Path:
    g = init(root / "src", object_format=object_format)
    for c in range(commits):
        for i in range(files):
            if c == 0 or i % (c + 2) == 0:
                (g / f"d{i % 7}").mkdir(exist_ok=True)
                (g / f"d{i % 7}" / f"f{i}.txt").write_text(f"file {i} at {c}\n" * (1 + i % 5))
        git(g, "add", "-A")
        git(g, "commit", "-q", "-m", f"commit {c}")
    git(g, "tag", "-a", "v1", "-m", "tagged")
    return g


def _packs(gitdir: Path) -> list[Path]:
    return sorted((gitdir / "objects" / "pack").glob("*.pack"))


@pytest.mark.parametrize("fmt", ["sha1", "sha256"])
def test_large_export_is_one_pack_git_accepts(cli, tmp_path: Path, fmt: str) -> None:
    src = _history(tmp_path, 160, 4, fmt)
    work = tmp_path / "work"
    cli.ok("init", "--from-git", str(src), str(work))
    out = tmp_path / "out.git"
    cli.ok("-C", str(work), "git", "export", str(out))
    packs = _packs(out)
    assert len(packs) == 1
    assert not list((out / "objects").glob("[0-9a-f][0-9a-f]/*")), "no loose objects beside the pack"
    assert not list((out / "objects" / "pack").glob("tmp_*"))
    git(out, "verify-pack", str(packs[0].with_suffix(".idx")))
    git(out, "fsck", "--strict", "--no-dangling")
    assert refs(out) == refs(src)
    assert every_object(out) == every_object(src)
    assert git(out, "rev-parse", "--show-object-format").strip() == fmt.encode()


def test_pack_and_loose_exports_agree(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    cli.ok("init", str(work))
    for c in range(3):
        for i in range(60):
            (work / f"n{i}.txt").write_text(f"native {i} {c}\n" * (c + 1))
        cli.ok("-C", str(work), "commit", "-A", "-m", f"native {c}")
    packed = tmp_path / "packed.git"
    cli.ok("-C", str(work), "git", "export", str(packed))
    assert len(_packs(packed)) == 1
    monkeypatch.setattr(GitWriter, "LOOSE_LIMIT", 10**9)
    loose = tmp_path / "loose.git"
    cli.ok("-C", str(work), "git", "export", str(loose))
    assert _packs(loose) == []
    assert refs(packed) == refs(loose)
    git(packed, "fsck", "--strict", "--no-dangling")
    # Incremental: a new commit on top of the packed history goes loose, next to the pack.
    (work / "n0.txt").write_text("one more\n")
    cli.ok("-C", str(work), "commit", "-A", "-m", "one more")
    cli.ok("-C", str(work), "git", "export", str(packed))
    cli.ok("-C", str(work), "git", "export", str(loose))
    assert refs(packed) == refs(loose)
    git(packed, "fsck", "--strict", "--no-dangling")
    # And back: importing the packed export gives the same vcrdt history.
    again = tmp_path / "again"
    cli.ok("init", "--from-git", str(packed), str(again))
    ours = [c["id"] for c in json.loads(cli.ok("-C", str(work), "log", "--json", "main").out)]
    theirs = [c["id"] for c in json.loads(cli.ok("-C", str(again), "log", "--json", "main").out)]
    assert len(ours) == 4
    assert ours == theirs


def test_pack_index_large_offsets(tmp_path: Path) -> None:
    """Offsets past 2 GiB go to the index's 64-bit table (checked on the index layout, not by writing 2 GiB)."""
    w = PackWriter(tmp_path)
    try:
        a = w.add("blob", b"a")
        b = w.add("blob", b"b")
        w.entries[b] = (0x1_2345_6789, w.entries[b][1])
        idx = w._index(b"\0" * 20)
    finally:
        w.abort()
    n = 2
    ids = sorted([a, b])
    base = 8 + 256 * 4 + n * 20 + n * 4
    offsets = struct.unpack(">2I", idx[base : base + 8])
    large = struct.unpack(">Q", idx[base + 8 : base + 16])[0]
    assert offsets[ids.index(b)] == 0x80000000
    assert large == 0x1_2345_6789
    assert not list(tmp_path.iterdir())
