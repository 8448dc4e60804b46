"""A scratch directory a killed `init` left in a work tree is never listed, added or committed.

`init` lays `.vcrdt` out as ``.vcrdt.vcrdt-init-HOST-PID-RANDOM`` beside it and renames it into
place (`vcrdt.scratch`); the next `init` removes such directories once their process is gone.
One whose pid a live process has taken since stays; the scan (and the command server's monitor)
treat it as they treat `.vcrdt`.
"""

from __future__ import annotations

import json

from tests.helpers.cli import CliRunner
from vcrdt.paths import META_DIR, META_SCRATCH
from vcrdt.scratch import scratch_prefix


def test_the_scan_skips_init_scratch_directories_at_the_root(repo: CliRunner) -> None:
    repo.write("a.txt", "a\n")
    repo.ok("commit", "-A", "-m", "a")
    repo.write(".vcrdt.vcrdt-init-somehost-1-0123abcd/store.db", b"SQLite format 3\0")
    repo.write(".vcrdt.vcrdt-init-somehost-1-0123abcd/format", "vcrdt repository format 2\n")
    repo.write("sub/.vcrdt.vcrdt-init-x/kept.txt", "only at the root is the name reserved\n")
    doc = json.loads(repo.ok("status", "--json", "-uall").out)
    listed = json.dumps(doc)
    assert ".vcrdt.vcrdt-init-somehost" not in listed
    assert "sub/.vcrdt.vcrdt-init-x/kept.txt" in listed
    repo.ok("commit", "-A", "-m", "sub")
    files = repo.ok("ls-files").out.split()
    assert files == ["a.txt", "sub/.vcrdt.vcrdt-init-x/kept.txt"]
    assert repo.ok("status", "--short").out == ""


def test_the_reserved_prefix_is_the_one_init_uses() -> None:
    assert scratch_prefix(META_DIR) == META_SCRATCH
