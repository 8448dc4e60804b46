"""Kill a real `vcrdt commit` with SIGKILL at random moments; the repository must survive.

After every kill, `fsck` is clean and HEAD is either the commit before or the
commit being made, never anything else. The tree is big enough that a commit
takes a noticeable time, so kills land in the middle of the work.
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

RUNS = 20
FILES = 600
FILE_SIZE = 24_000


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(VCRDT_AUTHOR_NAME="Crash Test", VCRDT_AUTHOR_EMAIL="crash@example.com")
    return env


def _fill(root: Path, rng: random.Random, generation: int) -> None:
    words = [f"w{i}" for i in range(500)]
    for i in range(FILES):
        d = root / f"d{i % 12}"
        d.mkdir(exist_ok=True)
        line = " ".join(rng.choice(words) for _ in range(12))
        body = (f"gen {generation} file {i}\n" + (line + "\n") * (FILE_SIZE // (len(line) + 1))).encode()
        (d / f"f{i}.txt").write_bytes(body)


def _head(root: Path) -> str | None:
    r = vcrdt_subprocess("log", "--json", "-n", "1", cwd=root, env=_env())
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)
    return entries[0]["id"] if entries else None


def _fsck(root: Path) -> None:
    r = vcrdt_subprocess("fsck", cwd=root, env=_env())
    assert r.returncode == 0, (r.stdout, r.stderr)


@pytest.mark.slow
def test_sigkill_during_commit_leaves_old_or_new_head(tmp_path: Path) -> None:
    rng = random.Random(1234)
    root = tmp_path / "repo"
    root.mkdir()
    assert vcrdt_subprocess("init", cwd=root, env=_env()).returncode == 0
    _fill(root, rng, 0)
    # Measure one full commit to pick kill times across its whole duration.
    start = time.monotonic()
    r = vcrdt_subprocess("commit", "-A", "-m", "generation 0", cwd=root, env=_env())
    duration = time.monotonic() - start
    assert r.returncode == 0, r.stderr
    killed_mid_way = 0
    for run in range(1, RUNS + 1):
        before = _head(root)
        _fill(root, rng, run)
        proc = subprocess.Popen(
            [sys.executable, "-m", "vcrdt", "commit", "-A", "-m", f"generation {run}"],
            cwd=root,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.05, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        code = proc.wait()
        if code == -signal.SIGKILL:
            killed_mid_way += 1
        _fsck(root)
        after = _head(root)
        if after != before:
            # The new commit landed whole: it is a child of the old head.
            r = vcrdt_subprocess("log", "--json", "-n", "1", cwd=root, env=_env())
            assert json.loads(r.stdout)[0]["parents"] == [before]
        # Whatever happened, the repository still works.
        r = vcrdt_subprocess("commit", "-A", "-m", f"settle {run}", "--allow-empty", cwd=root, env=_env())
        assert r.returncode == 0, r.stderr
    assert killed_mid_way >= RUNS // 2, f"only {killed_mid_way} kills landed during a commit"
