"""Kill a real `vcrdt init` with SIGKILL at random moments, in a directory that already holds files.

`init` lays `.vcrdt` out under a scratch name beside it and renames it into place
(`vcrdt.scratch`). After each kill the directory holds a whole repository (`fsck` clean, `status`
lists the files, a second `init` says it exists) or none at all (no `.vcrdt`, and the next `init`
makes one and leaves no scratch directory behind); the files already there are untouched either
way. Each run is logged as one crash run over ``init``.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from tests.reliability.checks import KillClock, Run, kill_after, report, timed, write_files

RUNS = 24

FILES = {"README": b"readme\n", "src/a.txt": b"a\n" * 50, "src/deep/b.bin": bytes(range(256)) * 8}


@pytest.mark.slow
def test_sigkill_during_init(tmp_path: Path) -> None:
    rng = random.Random("init")
    probe = tmp_path / "probe"
    probe.mkdir()
    startup = timed(probe, "--version")
    duration = timed(probe, "init")
    clock = KillClock(rng, startup, duration)
    failures = []
    for n in range(1, RUNS + 1):
        root = tmp_path / f"repo{n}"
        root.mkdir()
        write_files(root, FILES)
        run = Run(f"init/{n}", root)
        with run.checking("init", failures):
            kill_after(root, ["init", "-q"], clock, run.env)
            scratch = sorted(p.name for p in root.iterdir() if ".vcrdt-init-" in p.name)
            if (root / ".vcrdt").exists():
                run.fsck()
                doc = run.status()
                if doc is not None:
                    run.check(doc.get("head") is None, f"a new repository has a head: {doc.get('head')}")
                run.cli("init", codes=(1,))  # "repository already exists"
            else:
                run.check(len(scratch) <= 1, f"more than one scratch directory: {scratch}")
                run.cli("init", "-q")
                run.fsck()
                left = sorted(p.name for p in root.iterdir() if ".vcrdt-init-" in p.name)
                run.check(left == [], f"the redone init left scratch directories: {left}")
            run.disk_is(FILES, "as it was before the init (no scratch directory left either)")
        shutil.rmtree(root, ignore_errors=True)
    assert not failures, report(failures)
    assert clock.landed >= RUNS // 3, f"only {clock.landed} of {RUNS} kills landed before the init ended"
