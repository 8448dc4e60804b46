"""The project's own git history (as found at test time) goes through vcrdt and back with the same ids."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.interop.gitbuild import every_object, git, refs

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")
HERE = Path(__file__).resolve().parent


def _own_repository() -> Path | None:
    proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=HERE, capture_output=True, check=False)
    return Path(proc.stdout.decode().strip()) if proc.returncode == 0 else None


@pytest.mark.slow
def test_own_history_round_trips(cli: CliRunner, tmp_path: Path) -> None:
    own = _own_repository()
    if own is None:
        pytest.skip("not run from a git checkout")
    src = tmp_path / "own.git"
    git(tmp_path, "clone", "-q", "--bare", "--no-local", str(own), str(src))
    cli.ok("init", str(tmp_path / "v"))
    cli.ok("git", "import", str(src), "-q", cwd=tmp_path / "v")
    cli.ok("git", "export", str(tmp_path / "out.git"), "-q", cwd=tmp_path / "v")
    out = tmp_path / "out.git"
    objects = every_object(src)
    check = git(out, "cat-file", "--batch-check", stdin="\n".join(sorted(objects)).encode() + b"\n").decode()
    assert "missing" not in check
    assert refs(out) == refs(src)
    git(out, "fsck", "--strict", "--no-dangling")
