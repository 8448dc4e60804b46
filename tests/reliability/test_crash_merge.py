"""Kill a real `vcrdt merge` with SIGKILL at random moments.

The merge's objects, branch move and work-tree rows are one transaction: afterwards fsck is
clean and HEAD is either the commit before or the merge commit. Files the killed merge had
already written are recoverable with `vcrdt restore .` (both versions are committed).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import vcrdt_subprocess

RUNS = 10
FILES = 300


def _env() -> dict[str, str]:
    return dict(os.environ, VCRDT_AUTHOR_NAME="Crash", VCRDT_AUTHOR_EMAIL="crash@example.com")


def _ok(root: Path, *args: str) -> str:
    r = vcrdt_subprocess(*args, cwd=root, env=_env())
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout.decode()


@pytest.mark.slow
def test_sigkill_during_merge(tmp_path: Path) -> None:
    rng = random.Random(99)
    root = tmp_path / "repo"
    root.mkdir()
    _ok(root, "init")
    for i in range(FILES):
        (root / f"f{i}.txt").write_text("".join(f"line {k}\n" for k in range(200)))
    _ok(root, "commit", "-A", "-m", "base")
    for run in range(RUNS):
        side, main = f"side{run}", "main"
        _ok(root, "switch", "-c", side)
        for i in range(FILES):
            with open(root / f"f{i}.txt", "a") as fh:
                fh.write(f"side {run}\n")
        _ok(root, "commit", "-m", f"side {run}")
        _ok(root, "switch", main)
        for i in range(0, FILES, 2):
            text = (root / f"f{i}.txt").read_text()
            (root / f"f{i}.txt").write_text(f"main {run}\n" + text)
        _ok(root, "commit", "-m", f"main {run}")
        before = json.loads(_ok(root, "log", "--json", "-n", "1"))[0]["id"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "vcrdt", "merge", side],
            cwd=root,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.1, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        r = vcrdt_subprocess("fsck", cwd=root, env=_env())
        assert r.returncode == 0, r.stdout + r.stderr
        head = json.loads(_ok(root, "log", "--json", "-n", "1"))[0]
        if head["id"] == before:
            _ok(root, "restore", ".")
            assert _ok(root, "status", "--short") == ""
            _ok(root, "merge", side)
        else:
            assert head["parents"][0] == before
        assert _ok(root, "status", "--short") == ""
        assert (root / "f0.txt").read_text().startswith(f"main {run}\n")
        assert (root / "f0.txt").read_text().endswith(f"side {run}\n")
