"""Two processes committing to one repository at once.

Both commits land one after the other, or one fails with the busy error;
never a lost or corrupt commit.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import vcrdt_subprocess


def _env(timeout: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(VCRDT_AUTHOR_NAME="Race", VCRDT_AUTHOR_EMAIL="race@example.com", VCRDT_BUSY_TIMEOUT=timeout)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("timeout", ["30", "0.05"])
def test_two_committers(tmp_path: Path, timeout: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    env = _env(timeout)
    assert vcrdt_subprocess("init", cwd=root, env=env).returncode == 0
    for i in range(300):
        (root / f"f{i}.txt").write_text(f"file {i}\n" * 400)
    assert vcrdt_subprocess("commit", "-A", "-m", "base", cwd=root, env=env).returncode == 0
    landed = 1
    for rnd in range(4):
        for i in range(300):
            (root / f"f{i}.txt").write_text(f"round {rnd} file {i}\n" * 400)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "vcrdt", "commit", "--allow-empty", "-m", f"r{rnd} p{n}"],
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for n in range(2)
        ]
        for p in procs:
            _, err = p.communicate(timeout=120)
            if p.returncode == 0:
                landed += 1
            else:
                assert p.returncode == 1, err
                assert err.decode().startswith("error: repository is busy"), err
    log = json.loads(vcrdt_subprocess("log", "--json", cwd=root, env=env).stdout)
    assert len(log) == landed
    # A straight line: every commit's parent is the next one down.
    for child, parent in itertools.pairwise(log):
        assert child["parents"] == [parent["id"]]
    r = vcrdt_subprocess("fsck", cwd=root, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    if timeout == "30":
        assert landed == 9


def test_fsck_reads_one_snapshot_while_another_process_commits(tmp_path: Path) -> None:
    """A commit landing in the middle of fsck is not mistaken for a ref naming missing objects."""
    from collections.abc import Callable, Iterator

    from vcrdt import porcelain
    from vcrdt.errors import VcrdtError
    from vcrdt.ids import ObjectId
    from vcrdt.repo import Repository, Settings

    settings = Settings(author_name="Ada", author_email="ada@example.com")
    root = tmp_path / "r"
    porcelain.init(root, settings)
    (root / "f.txt").write_text("one\n")
    with Repository.discover(root, settings) as a, Repository.discover(root, settings) as b:
        porcelain.commit(a, "one", addremove=True)
        real = a.store.verify_all

        def during(on_progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[ObjectId, VcrdtError]]:
            (root / "g.txt").write_text("two\n")
            porcelain.commit(b, "two", addremove=True)  # the other writer, on its own connection
            yield from real(on_progress)

        a.store.verify_all = during  # type: ignore[method-assign]
        result = porcelain.fsck(a)
        assert result.problems == []
        a.store.verify_all = real  # type: ignore[method-assign]
        after = porcelain.fsck(a)  # and afterwards the new commit checks out too
        assert after.problems == [] and after.reachable > result.reachable
